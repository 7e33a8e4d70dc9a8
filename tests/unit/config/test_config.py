"""Configuration model (spec §1): defaults, overrides, and every problem named at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pim_images.config import DEFAULT_VIEW_TYPE, build_config, load_config, read_config_file
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
