"""Validate rules (issue: every offender named, errors stop the run before any download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pim_images import records
from pim_images.config import load_config
from pim_images.errors import CatalogError
from pim_images.records import AssetAttribute, AssetFamily, Channel, Collection, ImageAttribute, Structure
from pim_images.validate import (
    asset_families_exist,
    asset_system_exists,
    collections_not_localizable,
    file_mapping,
    link_mapping,
    metadata_mapping,
    scope_and_locales,
    something_to_read,
    validate_catalog,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"
CHANNEL = Channel(code="ecommerce", locales=["de_DE", "en_US", "fr_FR"])


def _structure(**overrides) -> Structure:
    fields = {
        "identifier": "sku",
        "image_attributes": [],
        "asset_collections": [
            Collection(code="packshots", family="packshots", localizable=False, scopable=False),
            Collection(code="gallery", family="packshots", localizable=True, scopable=False),
            Collection(code="videos", family="packshots", localizable=True, scopable=True),
        ],
        "channel": CHANNEL,
        "enabled_locales": ["de_DE", "en_US", "es_ES", "fr_FR"],
        "family_variants": {},
        **overrides,
    }
    return Structure(**fields)


def test_every_localizable_or_scopable_collection_is_named() -> None:
    assert collections_not_localizable(_structure()) == [
        "asset collection attribute 'gallery' is localizable; it must be neither "
        "(the locale and channel are read from the asset values)",
        "asset collection attribute 'videos' is localizable and scopable; it must be neither "
        "(the locale and channel are read from the asset values)",
    ]


def test_unknown_channel_and_locales_are_named() -> None:
    config = load_config(CONFIG, {"akeneoLocales": ["en_US", "es_ES", "xx_XX"]})
    assert scope_and_locales(_structure(), config) == [
        "akeneoLocales: locale 'es_ES' is not a locale of channel 'ecommerce' "
        "(its locales: de_DE, en_US, fr_FR)",
        "akeneoLocales: locale 'xx_XX' is not an enabled locale of Akeneo",
    ]
    assert scope_and_locales(_structure(channel=None), config) == [
        "akeneoScope: channel 'ecommerce' does not exist in Akeneo"
    ]


def test_mapping_attributes_must_be_links_of_every_family() -> None:
    def family(**types: str) -> AssetFamily:
        return AssetFamily(
            main="picture", attributes=[AssetAttribute(code, kind) for code, kind in types.items()]
        )

    families = {
        "packshots": family(picture="media_file", url_large="media_link"),
        "lifestyle": family(picture="media_file", url_thumb="text"),
        "gone": None,
    }
    config = load_config(
        CONFIG,
        {
            "akeneoImageType": "assets",
            "akeneoImageImportType": "media_link",
            "akeneoImageLinkViewTypesMapping": '{"url_large": ["large"], "url_thumb": ["small"]}',
        },
    )
    assert link_mapping(families, config) == [
        "akeneoImageLinkViewTypesMapping: asset family 'lifestyle' has no attribute 'url_large'",
        "akeneoImageLinkViewTypesMapping: attribute 'url_thumb' of asset family 'lifestyle' "
        "is of type 'text', not media_link",
        "akeneoImageLinkViewTypesMapping: asset family 'packshots' has no attribute 'url_thumb'",
    ]
    assert link_mapping(families, load_config(CONFIG)) == []  # no links imported: the mapping is unused
    # the connector's form names the same attributes, and is checked the same way
    connector_form = load_config(
        CONFIG,
        {
            "akeneoImageType": "assets",
            "akeneoImageImportType": "media_link",
            "akeneoImageLinkViewTypesMapping": '{"matching": {"large": "url_large", "small": "url_thumb"}}',
        },
    )
    assert link_mapping(families, connector_form) == link_mapping(families, config)


def test_file_and_metadata_mapping_attributes_must_exist_somewhere_with_their_type_everywhere() -> None:
    families = {
        "packshots": AssetFamily(
            main="picture",
            attributes=[
                AssetAttribute("picture", "media_file"),
                AssetAttribute("thumbnail", "media_file"),
                AssetAttribute("alt_text", "text"),
            ],
        ),
        "lifestyle": AssetFamily(
            main="picture",
            attributes=[AssetAttribute("picture", "media_file"), AssetAttribute("thumbnail", "media_link")],
        ),
    }
    config = load_config(
        CONFIG,
        {
            "akeneoImageType": "assets",
            "akeneoImageFileViewTypesMapping": '{"matching": {"large": "picture", "small": "thumbnail"}}',
            "akeneoImageMetadataMapping": '{"matching": {"alt": "alt_text", "title": "picture"}}',
        },
    )
    # lifestyle has no alt_text: as the connector, its images simply get no alt (not an error)
    assert file_mapping(families, config) == [
        "akeneoImageFileViewTypesMapping: attribute 'thumbnail' of asset family 'lifestyle' "
        "is of type 'media_link', not media_file",
    ]
    assert metadata_mapping(families, config) == [
        "akeneoImageMetadataMapping: attribute 'picture' of asset family 'lifestyle' "
        "is of type 'media_file', not text",
        "akeneoImageMetadataMapping: attribute 'picture' of asset family 'packshots' "
        "is of type 'media_file', not text",
    ]
    caption = config.model_validate(
        {**config.to_dict(), "akeneoImageMetadataMapping": '{"matching": {"alt": "caption"}}'}
    )
    assert metadata_mapping(families, caption) == [
        "akeneoImageMetadataMapping: no asset family has an attribute 'caption'"
    ]


def test_a_collection_naming_a_missing_family_is_named() -> None:
    structure = _structure()
    assert asset_families_exist(structure, {"packshots": None}) == [
        f"asset collection attribute {code!r}: asset family 'packshots' does not exist in Akeneo"
        for code in ("packshots", "gallery", "videos")
    ]
    assert asset_families_exist(structure, {"packshots": AssetFamily(main="picture", attributes=[])}) == []


def test_a_missing_asset_system_is_named_with_the_setting_to_change() -> None:
    new = load_config(CONFIG, {"akeneoImageType": "assets", "akeneoAssetSystem": "new"})
    old = load_config(CONFIG, {"akeneoImageType": "assets", "akeneoAssetSystem": "old"})
    assert asset_system_exists(_structure(asset_system_available=False), new) == [
        "akeneoAssetSystem 'new': this PIM has no Asset Manager "
        "(GET /api/rest/v1/asset-families answered 404); it exists on PIM >= 4.0; "
        "a 3.x PIM's PAM is akeneoAssetSystem 'old'"
    ]
    assert asset_system_exists(_structure(asset_system_available=False), old) == [
        "akeneoAssetSystem 'old': this PIM has no PAM (GET /api/rest/v1/assets answered 404); "
        "it exists on PIM < 4.0 only; the Asset Manager is akeneoAssetSystem 'new'"
    ]
    assert asset_system_exists(_structure(asset_system_available=True), new) == []
    assert asset_system_exists(_structure(asset_system_available=None), new) == []  # assets not read


def test_validate_catalog_reports_every_error_of_every_rule(tmp_path: Path) -> None:
    records.STRUCTURE.write(tmp_path, _structure(asset_system_available=False))
    records.ASSET_FAMILIES.write(tmp_path, {})
    with pytest.raises(CatalogError) as err:
        validate_catalog(load_config(CONFIG, {"akeneoLocales": ["en_US", "xx_XX"]}), tmp_path)
    assert len(err.value.problems) == 5
    assert err.value.problems[0].startswith("akeneoAssetSystem 'new': this PIM has no Asset Manager")
    assert err.value.problems[1].startswith("akeneoImageType 'images': this PIM has no image attribute")


def test_an_image_type_with_nothing_to_read_is_named_with_what_to_change() -> None:
    image = [ImageAttribute(code="main_image")]
    none: list = []

    def problems(image_type: str, system: str = "new", **structure) -> list[str]:
        config = load_config(CONFIG, {"akeneoImageType": image_type, "akeneoAssetSystem": system})
        return something_to_read(_structure(**structure), config)

    assert problems("images", image_attributes=image, asset_collections=none) == []
    assert problems("images", image_attributes=none)[0].endswith("set akeneoImageType 'assets'")
    assert problems("assets", image_attributes=image) == []
    (old,) = problems("assets", "old", image_attributes=image, asset_collections=none)
    assert "(type pim_assets_collection, akeneoAssetSystem 'old')" in old
    assert "akeneoAssetSystem 'new' if the PIM has the other asset system" in old
    assert problems("both", image_attributes=none) == []  # collections only
    assert problems("both", image_attributes=image, asset_collections=none) == []
    assert problems("both", image_attributes=none, asset_collections=none)[0].startswith(
        "akeneoImageType 'both': this PIM has neither"
    )
    # a missing asset system is named by asset_system_exists alone
    assert problems("assets", asset_collections=none, asset_system_available=False) == []


def test_a_valid_catalog_passes(tmp_path: Path) -> None:
    records.STRUCTURE.write(
        tmp_path, _structure(asset_collections=[], image_attributes=[ImageAttribute(code="main_image")])
    )
    assert validate_catalog(load_config(CONFIG), tmp_path).errors == []
