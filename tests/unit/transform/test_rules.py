"""The transform stage's target-neutral rules (docs/transform.md), on tiny inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pim_images.config import PipelineConfig, load_config
from pim_images.media import media_file_key
from pim_images.records import Asset, AssetFile, AssetLink, Collection, MediaRecord, Value
from pim_images.targets.sfcc.rules import CustomAttribute, custom_attributes, view_types_of
from pim_images.transform import ProductTransformer, content_path, order_values, under_location

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"


def test_content_path_is_ascii_and_changes_with_content() -> None:
    a = content_path("ab" + "0" * 62, "jpg")
    b = content_path("ab" + "1" * 62, "jpg")
    assert a == "images/ab/ab" + "0" * 62 + ".jpg"
    assert a != b
    assert a.isascii()


def test_order_values_puts_unlocalized_first_then_configured_locale_order() -> None:
    values = [Value(data=i, locale=loc) for i, loc in enumerate(("fr_FR", "de_DE", None, "en_US"))]
    ordered = order_values(values, ("en_US", "fr_FR", "de_DE"))
    assert [v.locale for v in ordered] == [None, "en_US", "fr_FR", "de_DE"]


def _media(code: str, sha: str, fmt: str | None = "JPEG", error: str | None = None) -> MediaRecord:
    return MediaRecord(key=media_file_key(code), sha256=sha, size=1, format=fmt, error=error)


def _config(**overrides) -> PipelineConfig:
    return load_config(CONFIG, overrides)


def test_product_images_follow_attribute_order_and_skip_broken_media() -> None:
    values = {
        "back": [Value("m/back.jpg")],
        "main": [Value("m/main.png")],
        "life": [Value("m/life-fr.jpg", locale="fr_FR"), Value("m/broken.jpg", locale="en_US")],
    }
    records = [
        _media("m/back.jpg", "b" * 64),
        _media("m/main.png", "a" * 64, "PNG"),
        _media("m/life-fr.jpg", "c" * 64),
        _media("m/broken.jpg", "d" * 64, None, "not a decodable image (OSError)"),
    ]
    warnings: list[str] = []
    transformer = ProductTransformer(
        _config(akeneoLocales=["en_US", "fr_FR"]),
        ["main", "back", "life"],
        [],
        {r.key: r for r in records},
        {},
        warnings,
    )
    images, collections = transformer.images_and_collections("SKU-1", values)
    assert [(i.attribute, i.locale, i.path) for i in images] == [
        ("main", None, f"images/aa/{'a' * 64}.png"),
        ("back", None, f"images/bb/{'b' * 64}.jpg"),
        ("life", "fr_FR", f"images/cc/{'c' * 64}.jpg"),
    ]
    assert collections == []
    assert len(warnings) == 1
    assert "SKU-1" in warnings[0] and "m/broken.jpg" in warnings[0] and "life" in warnings[0]


CDN = "https://cdn.example.com/images/"


def _asset(
    code: str, files: list[tuple[str | None, str]] = (), links: dict | None = None, main_link: bool = False
):
    return Asset(
        family="packshots",
        code=code,
        files=[AssetFile(media=f"/asset-media-files/{key}", locale=loc) for loc, key in files],
        links={
            attribute: [AssetLink(url, locale) for locale, url in urls]
            for attribute, urls in (links or {}).items()
        },
        main_is_link=main_link,
        main="url_large" if main_link else "picture",
    )


def _asset_media(key: str, sha: str) -> MediaRecord:
    return MediaRecord(key=f"/asset-media-files/{key}", sha256=sha, size=1, format="JPEG")


VALUES = {"product_assets": [Value(["z", "a", "gone", "m"])]}
COLLECTIONS = [Collection(code="product_assets", family="packshots")]
ASSETS = {
    "packshots/z": _asset(
        "z",
        [(None, "z1")],
        {"url_large": [(None, CDN + "z.jpg")], "url_thumb": [("fr_FR", CDN + "z-fr.png")]},
    ),
    "packshots/a": _asset(
        "a",
        [("fr_FR", "a-fr"), (None, "a1")],
        {"url_large": [(None, "https://elsewhere.example/a.jpg")]},
    ),
    "packshots/m": _asset("m", [], {"url_large": [(None, CDN + "m.gif")]}, main_link=True),
}
MEDIA = {
    r.key: r
    for r in (_asset_media("z1", "1" * 64), _asset_media("a-fr", "2" * 64), _asset_media("a1", "3" * 64))
}


def _transform(**overrides):
    warnings: list[str] = []
    config = _config(akeneoImageType="assets", akeneoLocales=["en_US", "fr_FR"], **overrides)
    images, collections = ProductTransformer(
        config, [], COLLECTIONS, MEDIA, ASSETS, warnings
    ).images_and_collections("SKU-9", VALUES)
    return images, collections, warnings, config


def test_media_file_assets_keep_collection_order_and_name_missing_assets() -> None:
    images, collections, warnings, _ = _transform(akeneoImageImportType="media_file")
    assert [(i.asset, i.locale, i.sha256[0]) for i in images] == [
        ("z", None, "1"),
        ("a", None, "3"),
        ("a", "fr_FR", "2"),
    ]
    assert [(c.code, c.assets, c.links) for c in collections] == [("product_assets", ["z", "a", "m"], [])]
    assert any("'gone' does not exist" in w and "SKU-9" in w for w in warnings)


def test_media_link_assets_use_the_mapping_view_types_and_stay_under_the_location() -> None:
    mapping = '{"url_large": ["large"], "url_thumb": ["small", "swatch"]}'
    images, _, warnings, config = _transform(
        akeneoImageImportType="media_link", akeneoImageLinkViewTypesMapping=mapping
    )
    assert [(i.asset, i.kind, i.path, view_types_of(i, config), i.locale) for i in images] == [
        ("z", "link", "z.jpg", ("large",), None),
        ("z", "link", "z-fr.png", ("small", "swatch"), "fr_FR"),
        ("m", "link", "m.gif", ("large",), None),
    ]
    assert any(
        "https://elsewhere.example/a.jpg" in w and "not under akeneoExternalImageLocation" in w
        for w in warnings
    )


def test_media_link_without_mapping_reads_the_main_media_link() -> None:
    images, _, _, config = _transform(akeneoImageImportType="media_link")
    assert [(i.asset, i.path, i.link_attribute) for i in images] == [("m", "m.gif", "url_large")]
    assert view_types_of(images[0], config) == config.image_view_types


def test_both_delivers_files_and_puts_links_in_custom_attributes() -> None:
    images, collections, _, _ = _transform(akeneoImageImportType="both")
    assert all(i.kind == "file" for i in images) and len(images) == 3
    assert custom_attributes(collections) == [
        CustomAttribute("akeneo_productAssets", None, ["z", "a", "m"]),
        CustomAttribute("akeneo_productAssets_urlLarge", None, [CDN + "z.jpg", CDN + "m.gif"]),
        CustomAttribute("akeneo_productAssets_urlThumb", "fr_FR", [CDN + "z-fr.png"]),
    ]


def test_a_link_only_family_is_reported_once_when_files_are_imported() -> None:
    _, _, warnings, _ = _transform(akeneoImageImportType="media_file")
    reported = [w for w in warnings if "main media 'url_large' is a link" in w]
    assert len(reported) == 1 and "'packshots'" in reported[0]


@pytest.mark.parametrize(
    ("url", "under"),
    [
        ("https://cdn.example.com/images/a/b.jpg", True),
        ("https://cdn.example.com/images/../../x.jpg", False),
        ("https://cdn.example.com/images/a/%2E%2E/%2e%2e/x.jpg", False),
        ("https://cdn.example.com/images/./x.jpg", False),
        ("https://cdn.example.com/images/a..b.jpg", True),
        ("https://cdn.example.com/other/x.jpg", False),
    ],
)
def test_a_link_under_the_location_cannot_climb_out_of_it(url: str, under: bool) -> None:
    assert under_location(url, "https://cdn.example.com/images/") is under
