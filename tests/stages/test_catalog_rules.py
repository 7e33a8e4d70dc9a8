"""The catalog rules and the warnings, at stage level: the core stages (``tests/pipeline.py``)
against sandboxes whose catalog breaks a rule on purpose (``SandboxSettings.defects``).

An error stops the stages at ``validate`` (``CatalogError``, every problem naming the code at
fault); a warning skips an image and the stages go on to delivery. The rule functions on
hand-built structures are in ``tests/unit/test_validate.py``; that the DAG stops, reports and
delivers nothing on a failure is in ``tests/dags/test_import_dag.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline import Delivered, run_pipeline

from pim_images.errors import CatalogError
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

PRODUCTS = 24
LINKS = {
    "akeneoImageType": "assets",
    "akeneoImageImportType": "media_link",
    "akeneoImageLinkViewTypesMapping": '{"url_large": ["large"], "url_thumb": ["small"]}',
}


@pytest.fixture(scope="module")
def sandbox_of(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A function: settings -> a running sandbox (started once per settings, stopped at the end)."""
    running: dict[tuple, Sandbox] = {}
    stops = []

    def start(**settings: Any) -> Sandbox:
        key = tuple(sorted(settings.items()))
        if key not in running:
            root = tmp_path_factory.mktemp("sftp")
            context = run_sandbox(SandboxSettings(sftp_root=root, products=PRODUCTS, seed=7, **settings))
            running[key] = context.__enter__()
            stops.append(context)
        return running[key]

    yield start
    for context in reversed(stops):
        context.__exit__(None, None, None)


def _problems(sandbox: Sandbox, conf: dict[str, Any], run_dir: Path) -> list[str]:
    with pytest.raises(CatalogError) as err:
        run_pipeline(sandbox, conf, run_dir, until="validate")
    return err.value.problems


# -- errors: the stages stop at validate, before any product is read --------------------------


@pytest.fixture(scope="module")
def broken_catalog(sandbox_of, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    sandbox = sandbox_of(defects=("localizable_collection", "missing_asset_family"))
    conf = {
        **LINKS,
        "akeneoImageLinkViewTypesMapping": json.dumps(
            {"url_large": ["large"], "url_huge": ["huge"], "alt_text": ["alt"]}
        ),
        "akeneoScope": "webshop",
    }
    return _problems(sandbox, conf, tmp_path_factory.mktemp("run"))


def test_a_localizable_or_scopable_collection_is_named(broken_catalog: list[str]) -> None:
    suffix = "; it must be neither (the locale and channel are read from the asset values)"
    assert f"asset collection attribute 'packshots' is localizable{suffix}" in broken_catalog
    assert f"asset collection attribute 'lifestyle_assets' is scopable{suffix}" in broken_catalog


def test_a_collection_of_a_missing_asset_family_is_named(broken_catalog: list[str]) -> None:
    assert (
        "asset collection attribute 'retired_assets': asset family 'retired_media' does not exist in Akeneo"
        in broken_catalog
    )


def test_a_mapped_attribute_missing_from_an_asset_family_is_named(broken_catalog: list[str]) -> None:
    for family in ("cdn_images", "lifestyle", "packshots", "user_guides"):
        assert (
            f"akeneoImageLinkViewTypesMapping: asset family {family!r} has no attribute 'url_huge'"
            in broken_catalog
        )
    assert not any("'url_large'" in e for e in broken_catalog)  # in every family, and a media_link


def test_a_mapped_attribute_that_is_not_a_link_is_named(broken_catalog: list[str]) -> None:
    assert (
        "akeneoImageLinkViewTypesMapping: attribute 'alt_text' of asset family 'packshots' "
        "is of type 'text', not media_link"
    ) in broken_catalog


def test_an_unknown_channel_is_named(broken_catalog: list[str]) -> None:
    assert "akeneoScope: channel 'webshop' does not exist in Akeneo" in broken_catalog


@pytest.mark.parametrize(
    ("configured", "served", "version", "fix"),
    [("new", "old", "3.2", "akeneoAssetSystem 'old'"), ("old", "new", "7.0", "akeneoAssetSystem 'new'")],
    ids=["asset-manager-missing-on-3.2", "pam-missing-on-7.0"],
)
@pytest.mark.parametrize("image_type", ["assets", "both"])
def test_an_asset_system_missing_from_the_pim_is_the_only_problem(
    sandbox_of, tmp_path: Path, configured: str, served: str, version: str, fix: str, image_type: str
) -> None:
    """The probe against the sandbox answers 404; the problem names the setting to change."""
    conf = {"akeneoImageType": image_type, "akeneoAssetSystem": configured}
    (problem,) = _problems(sandbox_of(asset_system=served, akeneo_version=version), conf, tmp_path)
    assert problem.startswith(f"akeneoAssetSystem {configured!r}: this PIM has no ")
    assert fix in problem


@pytest.mark.parametrize(
    ("conf", "defects", "expected"),
    [
        (
            {"akeneoImageType": "images"},
            ("no_image_attributes",),
            "akeneoImageType 'images': this PIM has no image attribute (type pim_catalog_image) to read; "
            "if its product images are in asset collections, set akeneoImageType 'assets'",
        ),
        (
            {"akeneoImageType": "assets"},
            ("no_asset_collections",),
            "akeneoImageType 'assets': this PIM has no asset collection attribute (type "
            "pim_catalog_asset_collection, akeneoAssetSystem 'new') to read; set akeneoImageType 'images' "
            "for image attributes, or akeneoAssetSystem 'old' if the PIM has the other asset system",
        ),
        (
            {"akeneoImageType": "both"},
            ("no_image_attributes", "no_asset_collections"),
            "akeneoImageType 'both': this PIM has neither an image attribute (type pim_catalog_image) nor "
            "an asset collection attribute (type pim_catalog_asset_collection, akeneoAssetSystem 'new') "
            "to read; check akeneoAssetSystem ('old' for the other asset system) and the API user's "
            "permissions on attributes",
        ),
    ],
    ids=["images", "assets", "both"],
)
def test_an_image_type_with_nothing_to_read_is_a_validate_error(
    sandbox_of, tmp_path: Path, conf: dict[str, Any], defects: tuple[str, ...], expected: str
) -> None:
    """Delivering every product without images would clear them downstream (docs/bad-input.md)."""
    assert _problems(sandbox_of(defects=defects), conf, tmp_path) == [expected]


@pytest.mark.parametrize(
    ("conf", "defects"),
    [
        ({"akeneoImageType": "both"}, ("no_image_attributes",)),
        ({"akeneoImageType": "both"}, ("no_asset_collections",)),
    ],
    ids=["no-images", "no-collections"],
)
def test_both_with_one_side_to_read_passes_validate(
    sandbox_of, tmp_path: Path, conf: dict[str, Any], defects: tuple[str, ...]
) -> None:
    assert (
        run_pipeline(sandbox_of(defects=defects), conf, tmp_path, until="validate")
        .summaries["validate"]
        .errors
        == []
    )


# -- warnings: the image is skipped, the stages go on to delivery ------------------------------


@pytest.fixture(scope="module")
def warned(sandbox_of, tmp_path_factory: pytest.TempPathFactory) -> Delivered:
    conf = {**LINKS, "akeneoImageType": "both", "akeneoImageImportType": "both"}
    return run_pipeline(sandbox_of(), conf, tmp_path_factory.mktemp("run"))


def test_warnings_do_not_stop_the_stages(warned: Delivered) -> None:
    assert sum(len(w) for w in warned.warnings.values()) > 0
    assert {Path(n).suffix for files in warned.files.values() for n in files} == {".zip", ".xml", ".csv"}


def test_a_link_outside_the_external_location_is_a_warning(warned: Delivered) -> None:
    outside = [w for w in warned.warnings["transform"] if "is not under akeneoExternalImageLocation" in w]
    assert any("'https://" in w and "sku_00011_cdn" in w for w in outside), warned.warnings["transform"]


def test_bytes_that_are_not_an_image_are_a_warning_and_no_failure(warned: Delivered) -> None:
    """The sandbox's PDFs (user guides) are no images: skipped, their products delivered
    (docs/bad-input.md#broken-images)."""
    undecodable = [w for w in warned.warnings["download_media"] if "not" in w and "image" in w]
    assert undecodable, warned.warnings["download_media"][:20]
    assert all(
        w.endswith("no image made of it (a non-image asset file still goes to its custom attribute)")
        and ".pdf" in w
        for w in undecodable
    )
    assert warned.summaries["transform"].failed_products == 0


def test_an_image_type_bspk_does_not_take_is_a_warning(warned: Delivered) -> None:
    refused = [w for w in warned.warnings["render_bspk"] if "is not taken by BSPK (JPG and PNG only)" in w]
    assert any("'SKU-00004'" in w and "GIF" in w for w in refused), warned.warnings["render_bspk"]


def test_an_unknown_asset_code_is_a_warning(warned: Delivered) -> None:
    assert any(
        "asset collection attribute 'packshots': asset 'sku_00009_deleted' does not exist; skipped" in w
        for w in warned.warnings["transform"]
    ), warned.warnings["transform"]
