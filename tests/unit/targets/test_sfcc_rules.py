"""SFCC's id rules (docs/transform.md), on tiny inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pim_images.config import load_config
from pim_images.records import CollectionAttribute, CollectionLink, CollectionValue
from pim_images.targets.sfcc.rules import (
    CustomAttribute,
    asset_attribute_id,
    attribute_id,
    camelize,
    custom_attributes,
    external_location,
    locale_view_type,
)

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # the connector's examples (docs/transform.md#camelize)
        ("packshot_images", "packshotImages"),
        ("url_large", "urlLarge"),
        ("image_2", "image2"),
        ("packshotURL", "packshoturl"),
        ("main-image", "mainImage"),
        ("Front View", "frontView"),
        # digits, capitals, repeated, mixed, leading and trailing separators, blanks around
        ("2d_view", "2dView"),
        ("view_3d_360", "view3d360"),
        ("Main_Image", "mainImage"),
        ("url__large", "urlLarge"),
        ("a-_ b", "aB"),
        ("_leading", "Leading"),
        ("trailing_", "trailing"),
        ("  spaced code  ", "spacedCode"),
        ("tab\tseparated", "tabSeparated"),
        ("main", "main"),
        ("___", ""),
    ],
)
def test_camelize(code: str, expected: str) -> None:
    assert camelize(code) == expected


@pytest.mark.parametrize(
    ("asset", "attribute", "expected"),
    [
        ("sku_00001_front", "url_large", "akeneo_sku00001Front_urlLarge"),
        ("SKU-00001-Guide", "pdf", "akeneo_sku00001Guide_pdf"),
        ("video 12", "youtube_ID", "akeneo_video12_youtubeId"),
    ],
)
def test_asset_attribute_ids(asset: str, attribute: str, expected: str) -> None:
    assert asset_attribute_id(asset, attribute) == expected


@pytest.mark.parametrize(
    ("axis", "mapping", "expected"),
    [
        ("color", "{ }", "akeneo_color"),
        ("shoe_size", "{ }", "akeneo_shoeSize"),
        ("color", '{"matching": {"akeneo_color": "color"}}', "color"),
        ("shoe_size", '{"shoe_size": "size"}', "size"),
        ("shoe_size", '{"matching": {"akeneo_color": "color"}}', "akeneo_shoeSize"),
    ],
)
def test_variation_attribute_ids(axis: str, mapping: str, expected: str) -> None:
    assert attribute_id(axis, load_config(CONFIG, {"akeneoCustomAttrMapping": mapping})) == expected


COLLECTIONS = [
    CollectionValue(
        code="user_guides",
        assets=["guide_1", "video_2"],
        links=[CollectionLink("guide_1", "url_large", None, "https://cdn.example.com/images/g.pdf")],
        attributes=[
            CollectionAttribute("guide_1", "pdf", "media_file", None, ["files/ab/ab12.pdf"], "ab12"),
            CollectionAttribute("guide_1", "product_ref", "text", None, ["SKU-1"]),
            CollectionAttribute("video_2", "tags", "multiple_options", None, ["a", "b"]),
            CollectionAttribute("video_2", "caption", "text", "fr_FR", ["Bonjour"]),
        ],
    )
]


def test_custom_attributes_per_asset() -> None:
    config = load_config(CONFIG)
    guide = ("AkeneoAssetGuide1Attributes", 'Akeneo Asset "guide_1" Attributes')
    video = ("AkeneoAssetVideo2Attributes", 'Akeneo Asset "video_2" Attributes')
    assert custom_attributes(COLLECTIONS, config) == [
        CustomAttribute("akeneo_userGuides", None, ["guide_1", "video_2"]),
        CustomAttribute("akeneo_guide1_pdf", None, ["files/ab/ab12.pdf?$staticlink$"], "html", guide),
        CustomAttribute("akeneo_guide1_productRef", None, ["SKU-1"], "string", guide),
        CustomAttribute("akeneo_video2_tags", None, ["a", "b"], "set-of-string", video),
        CustomAttribute("akeneo_video2_caption", "fr_FR", ["Bonjour"], "string", video),
    ]


def test_custom_attributes_per_collection_keep_the_earlier_naming() -> None:
    config = load_config(CONFIG, {"sfccCustomAttributeNaming": "per_collection"})
    assert custom_attributes(COLLECTIONS, config) == [
        CustomAttribute("akeneo_userGuides", None, ["guide_1", "video_2"]),
        CustomAttribute("akeneo_userGuides_urlLarge", None, ["https://cdn.example.com/images/g.pdf"]),
    ]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"akeneoImageImportType": "media_link"},
            ("http://cdn.example.com/images/", "https://cdn.example.com/images/"),
        ),
        (
            {"akeneoImageImportType": "media_link", "akeneoImageType": "images"},
            None,
        ),
        (
            {"akeneoImageImportType": "media_link", "akeneoAssetSystem": "old"},
            ("http://cdn.example.com/images/", "https://cdn.example.com/images/"),
        ),
        ({"akeneoImageImportType": "both"}, None),
        ({"akeneoImageImportType": "media_file"}, None),
    ],
)
def test_external_location_whenever_the_import_type_is_media_link(overrides: dict, expected) -> None:
    config = load_config(CONFIG, {"akeneoImageType": "assets"} | overrides)
    assert external_location(config) == expected


@pytest.mark.parametrize(
    ("view_type", "locale", "expected"),
    [("large", "fr_FR", "large_fr-FR"), ("large", None, "large"), ("swatch", "en_US", "swatch_en-US")],
)
def test_locale_view_type(view_type: str, locale: str | None, expected: str) -> None:
    assert locale_view_type(view_type, locale) == expected
