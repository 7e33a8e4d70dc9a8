"""Configuration model (docs/configuration.md): defaults, overrides, and every problem named at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from pim_images.config import (
    DEFAULT_VIEW_TYPE,
    PipelineConfig,
    build_config,
    load_config,
    param_specs,
    read_config_file,
    run_overrides,
)
from pim_images.errors import ConfigError

PROJECT_CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"


@pytest.fixture
def raw() -> dict:
    return read_config_file(PROJECT_CONFIG)


def test_project_file_is_valid() -> None:
    config = load_config(PROJECT_CONFIG)
    assert config.image_view_types == ("large", "medium", "small")
    assert config.akeneoExternalImageLocation.endswith("/")


def test_overrides_win_and_none_keeps_file_value() -> None:
    config = load_config(PROJECT_CONFIG, {"akeneoScope": "print", "sfccCatalogId": None})
    assert config.akeneoScope == "print"
    assert config.sfccCatalogId == read_config_file(PROJECT_CONFIG)["sfccCatalogId"]


def test_empty_view_types_turn_the_feature_off(raw: dict) -> None:
    raw["akeneoImageViewTypes"] = "{ }"
    config = build_config(raw)
    assert config.view_types == ()
    assert config.image_view_types == (DEFAULT_VIEW_TYPE,)


def test_invalid_json_says_where_it_breaks(raw: dict) -> None:
    raw["akeneoImageViewTypes"] = '{"view-types": ["large",]}'
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    message = str(err.value)
    assert "akeneoImageViewTypes" in message and "line 1 column" in message


def test_every_problem_is_reported_at_once(raw: dict) -> None:
    raw.update(
        akeneoImageImportType="binary",
        akeneoImageLinkViewTypesMapping='{"url_large": "large"}',
        akeneoExternalImageLocation="ftp://cdn",
        targets=["sfcc", "amazon"],
        sfccCatalogId="",
        bogus=1,
    )
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    problems = "\n".join(err.value.problems)
    assert "akeneoImageImportType: 'binary'" in problems
    assert "'url_large' must map to a non-empty list" in problems
    assert "'ftp://cdn' is not an absolute http(s) URL" in problems
    assert "targets: 'amazon'" in problems
    assert "sfccCatalogId" in problems
    assert "unknown parameter 'bogus'" in problems
    assert len(err.value.problems) == 6


def test_view_types_shape_is_checked(raw: dict) -> None:
    raw["akeneoImageViewTypes"] = '{"viewtypes": ["large"]}'
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    assert err.value.problems == [
        "akeneoImageViewTypes: unknown key(s) 'viewtypes'; expected only 'view-types'",
        'akeneoImageViewTypes: "view-types" is missing (e.g. {"view-types": ["large", "small"]})',
    ]
    raw["akeneoImageViewTypes"] = '{"view-types": "large"}'
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    assert err.value.problems == [
        'akeneoImageViewTypes: "view-types" must be a non-empty list of texts, got "large"'
    ]


def test_a_channel_that_is_not_a_code_is_named(raw: dict) -> None:
    raw["akeneoScope"] = "e-commerce"
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    assert err.value.problems == [
        "akeneoScope: 'e-commerce' is not an Akeneo code (letters, digits, underscores)"
    ]


def test_links_without_an_external_location_are_refused(raw: dict) -> None:
    raw.update(
        akeneoImageType="assets",
        akeneoImageImportType="media_link",
        akeneoImageLinkViewTypesMapping='{"url_large": ["large"]}',
        akeneoExternalImageLocation="",
        targets=["sfcc"],
    )
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    assert err.value.problems == [
        "akeneoExternalImageLocation: required when links are imported (akeneoImageImportType 'media_link')"
    ]


def test_fingerprint_changes_with_image_parameters_only(raw: dict) -> None:
    base = build_config(raw)
    assert build_config({**raw, "bspkRemoteDir": "/elsewhere"}).fingerprint() == base.fingerprint()
    assert build_config({**raw, "akeneoScope": "print"}).fingerprint() != base.fingerprint()


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


#: A second configuration (links, no view types, normalised values) for the pinned fingerprint.
LINKS_OVERRIDES = {
    "akeneoImageType": "assets",
    "akeneoImageImportType": "media_link",
    "akeneoImageLinkViewTypesMapping": '{"url_large": ["large"], "url_thumb": ["small"]}',
    "akeneoImageViewTypes": "{ }",
    "akeneoLocales": "en_US, de_DE",
    "akeneoImageAttributes": ["main_image", "back"],
    "akeneoExternalImageLocation": "https://cdn.example.com/img",
    "akeneoScope": " print ",
    "sfccCatalogId": "other-cat",
    "targets": ["sfcc"],
}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "a05181ac339db6fb11b57b733e52204b07420de05de65318de245b21c44687a4"),
        (LINKS_OVERRIDES, "c0c2683885eb0b8c74403ceb70f4c0ed304b2e0096f1e7a3f7df59a9543b37e9"),
    ],
    ids=["project-file", "links"],
)
def test_fingerprint_is_stable_across_releases(overrides: dict, expected: str) -> None:
    """The stored fingerprint of the last successful run is compared with this run's
    (docs/runs.md#configuration-fingerprint): a hash that changed with the code would turn every user's next
    run into a full import. The values were computed by the dataclass configuration of commit ba8e60f."""
    assert load_config(PROJECT_CONFIG, overrides).fingerprint() == expected


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        LINKS_OVERRIDES,
        {"akeneoImageType": "both", "akeneoImageImportType": "both", "importMode": "differential"},
        {"akeneoAssetSystem": "old", "akeneoImageType": "assets", "targets": "bspk", "sfccRemoteDir": "/x//"},
        {"akeneoImageViewTypes": {"view-types": ["zoom"]}, "akeneoImageAttributes": None},
    ],
    ids=["project-file", "links", "both", "pam", "view-types-as-yaml-mapping"],
)
def test_a_configuration_rebuilds_from_its_dict(raw: dict, overrides: dict) -> None:
    """The DAG's first task passes ``to_dict()`` through XCom and the other tasks rebuild the
    configuration from it, without the YAML file."""
    config = build_config({**raw, **overrides})
    rebuilt = build_config(config.to_dict())
    assert rebuilt == config
    assert rebuilt.fingerprint() == config.fingerprint()
    assert rebuilt.view_types == config.view_types
    assert rebuilt.link_view_types_mapping == config.link_view_types_mapping
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()


def test_a_yaml_mapping_of_view_types_is_kept_as_its_json_text(raw: dict) -> None:
    config = build_config({**raw, "akeneoImageViewTypes": {"view-types": ["zoom"]}})
    assert config.akeneoImageViewTypes == '{"view-types": ["zoom"]}'
    assert config.view_types == ("zoom",)


def test_the_configuration_is_frozen(raw: dict) -> None:
    config = build_config(raw)
    with pytest.raises(ValidationError, match="frozen"):
        config.akeneoScope = "print"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "problems"),
    [
        ({"importMode": "sometimes"}, ["importMode: 'sometimes' is not one of full, differential"]),
        (
            {"akeneoImageViewTypes": '{"view-types": ["large",]}'},
            [
                "akeneoImageViewTypes: not valid JSON at line 1 column 25 (Expecting value): "
                """'{"view-types": ["large",]}'"""
            ],
        ),
        (
            {**LINKS_OVERRIDES, "akeneoExternalImageLocation": ""},
            [
                "akeneoExternalImageLocation: required when links are imported "
                "(akeneoImageImportType 'media_link')"
            ],
        ),
        (
            {"akeneoExternalImageLocation": None},
            ["akeneoExternalImageLocation: required to give BSPK public image URLs"],
        ),
        (
            {"targets": ["sfcc", "amazon"], "akeneoLocales": "en_US, x-y", "akeneoImageAttributes": []},
            [
                "targets: 'amazon' is not one of sfcc, bspk",
                "akeneoLocales: 'x-y' is not an Akeneo code (letters, digits, underscores)",
            ],
        ),
        (
            {"targets": [], "akeneoLocales": []},
            ["targets: at least one value is required", "akeneoLocales: at least one value is required"],
        ),
        ({"targets": ["bspk", "bspk"]}, ["targets: 'bspk' given more than once"]),
        (
            {"sfccCatalogId": "a b", "sfccRemoteDir": "catalog", "bspkRemoteDir": "/in/../out"},
            [
                "sfccCatalogId: 'a b' may hold only letters, digits, '.', '_' and '-'",
                "sfccRemoteDir: an absolute remote folder is required, got 'catalog'",
                "bspkRemoteDir: '/in/../out' must not contain '..'",
            ],
        ),
        (
            {"sfccCatalogId": "..", "maxImagePixels": 0},
            [
                "sfccCatalogId: '..' is not a catalog id (a folder name in the site-import archive)",
                "maxImagePixels: 0 is below the minimum, 1",
            ],
        ),
    ],
    ids=[
        "enum",
        "json",
        "links-location",
        "bspk-location",
        "list-items",
        "empty-lists",
        "repeated",
        "sfcc",
        "traversal-and-limits",
    ],
)
def test_each_problem_is_one_line_naming_the_parameter_and_value(
    raw: dict, overrides: dict, problems: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        build_config({**raw, **overrides})
    assert err.value.problems == problems


def test_unknown_and_missing_parameters_are_named_in_a_stable_order(raw: dict) -> None:
    del raw["akeneoScope"], raw["akeneoImageType"]
    with pytest.raises(ConfigError) as err:
        build_config({"zz": 1, **raw, "x": 2})
    known = ", ".join(sorted(PipelineConfig.model_fields))
    assert err.value.problems == [
        f"unknown parameter 'x' (known: {known})",
        f"unknown parameter 'zz' (known: {known})",
        "akeneoImageType: None is not one of images, assets, both",
        "akeneoScope: a non-empty text is required, got None",
    ]


def test_the_model_itself_refuses_with_the_same_lines(raw: dict) -> None:
    """Validating the model directly (not through build_config) gives the same messages."""
    with pytest.raises(ValidationError) as err:
        PipelineConfig.model_validate({**raw, "importMode": "sometimes"})
    assert [e["msg"] for e in err.value.errors()] == [
        "importMode: 'sometimes' is not one of full, differential"
    ]


# -- the trigger form's params ----------------------------------------------------------------


def test_every_parameter_has_a_param_spec_in_form_order(raw: dict) -> None:
    specs = param_specs(raw)
    assert list(specs) == list(PipelineConfig.model_fields)
    assert [s["section"] for s in specs.values()] == ["Run"] * 3 + ["Akeneo"] * 6 + ["SFCC"] * 8 + [
        "Delivery"
    ] * 2 + ["Limits"] * 2
    for name, spec in specs.items():
        assert spec["default"] == raw[name]
        assert spec["title"] and spec["description"], name


def test_enumerated_parameters_are_drop_downs_and_targets_a_multi_select(raw: dict) -> None:
    specs = param_specs(raw)
    assert specs["importMode"]["enum"] == ["full", "differential"]
    assert specs["akeneoImageType"]["enum"] == ["images", "assets", "both"]
    assert specs["akeneoAssetSystem"]["enum"] == ["new", "old"]
    assert specs["akeneoImageImportType"]["enum"] == ["media_file", "media_link", "both"]
    assert specs["targets"] == {
        "default": ["sfcc", "bspk"],
        "type": "array",
        "items": {"type": "string", "enum": ["sfcc", "bspk"]},
        "examples": ["sfcc", "bspk"],
        "minItems": 1,
        "uniqueItems": True,
        "title": "Targets",
        "description": "Where files are delivered.",
        "section": "Run",
    }


def test_image_attributes_may_be_empty_and_json_parameters_stay_text(raw: dict) -> None:
    specs = param_specs(raw)
    assert specs["akeneoImageAttributes"]["type"] == ["array", "null"]
    assert "minItems" not in specs["akeneoImageAttributes"]
    assert specs["akeneoLocales"]["minItems"] == 1
    for name in ("akeneoImageViewTypes", "akeneoImageLinkViewTypesMapping", "akeneoExternalImageLocation"):
        assert specs[name]["type"] == ["string", "null"]
    # the form leaves codes to validate_config, whose messages name the value
    assert "pattern" not in specs["akeneoScope"] and "pattern" not in specs["akeneoLocales"]["items"]


def test_json_parameters_are_multi_line_text_areas(raw: dict) -> None:
    """Airflow's form draws a text area for a string with ``"format": "multiline"``."""
    specs = param_specs(raw)
    multiline = sorted(name for name, spec in specs.items() if spec.get("format") == "multiline")
    assert multiline == [
        "akeneoCustomAttrMapping",
        "akeneoImageFileViewTypesMapping",
        "akeneoImageLinkViewTypesMapping",
        "akeneoImageMetadataMapping",
        "akeneoImageViewTypes",
    ]


def test_only_parameters_without_a_default_are_required_fields_of_the_form(raw: dict) -> None:
    """The form marks a field required unless its type allows null; an emptied optional field
    keeps the file's value."""
    specs = param_specs(raw)
    required = [name for name, spec in specs.items() if "null" not in spec["type"]]
    assert required == [
        "importMode",
        "targets",
        "akeneoImageType",
        "akeneoAssetSystem",
        "akeneoImageImportType",
        "akeneoScope",
        "akeneoLocales",
        "sfccCustomAttributeNaming",
        "sfccCatalogId",
        "sfccRemoteDir",
        "bspkRemoteDir",
    ]
    overrides = {name: None for name in specs if name not in required}
    assert load_config(PROJECT_CONFIG, overrides=overrides) == load_config(PROJECT_CONFIG)


def test_import_modes_description_says_what_a_differential_import_reads(raw: dict) -> None:
    assert "reads what changed in the run's data interval" in param_specs(raw)["importMode"]["description"]


def test_a_parameter_missing_from_the_file_defaults_to_the_model(raw: dict) -> None:
    del raw["akeneoImageLinkViewTypesMapping"]
    assert param_specs(raw)["akeneoImageLinkViewTypesMapping"]["default"] == "{ }"


def test_a_conf_key_that_is_no_parameter_is_named_not_dropped() -> None:
    """A typo in a triggered run's conf reaches the checks (docs/configuration.md#checks)."""
    params = {"importMode": "full", "akeneoLocales": ["en_US"]}
    overrides = run_overrides(params, {"akeneoImagetype": "assets", "importMode": "full"})
    assert overrides["akeneoImagetype"] == "assets" and overrides["akeneoLocales"] == ["en_US"]
    with pytest.raises(ConfigError) as err:
        load_config(PROJECT_CONFIG, overrides)
    assert any(p.startswith("unknown parameter 'akeneoImagetype'") for p in err.value.problems)
    assert run_overrides(params, None).keys() == PipelineConfig.model_fields.keys()


def test_a_limit_below_its_minimum_is_named_with_the_minimum() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(PROJECT_CONFIG, {"maxImagePixels": 0})
    assert err.value.problems == ["maxImagePixels: 0 is below the minimum, 1"]
