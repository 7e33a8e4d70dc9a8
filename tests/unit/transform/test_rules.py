"""The transform stage's target-neutral rules (docs/transform.md), on tiny inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pim_images.config import PipelineConfig, load_config
from pim_images.media import media_file_key
from pim_images.records import (
    Asset,
    AssetFile,
    AssetLink,
    AssetValue,
    AttributeSet,
    Collection,
    ImageText,
    MediaRecord,
    Product,
    ProductModel,
    Value,
)
from pim_images.targets.sfcc.rules import CustomAttribute, custom_attributes, view_types_of
from pim_images.transform import (
    ProductTransformer,
    content_path,
    master_images,
    normalize_url,
    order_values,
    under_location,
)

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


def _media(
    code: str, sha: str, fmt: str | None = "JPEG", error: str | None = None, broken: bool = False
) -> MediaRecord:
    return MediaRecord(key=media_file_key(code), sha256=sha, size=1, format=fmt, error=error, broken=broken)


def _config(**overrides) -> PipelineConfig:
    return load_config(CONFIG, overrides)


def test_product_images_follow_attribute_order_and_skip_files_that_are_no_image() -> None:
    values = {
        "back": [Value("m/back.jpg")],
        "main": [Value("m/main.png")],
        "life": [Value("m/life-fr.jpg", locale="fr_FR"), Value("m/broken.jpg", locale="en_US")],
    }
    records = [
        _media("m/back.jpg", "b" * 64),
        _media("m/main.png", "a" * 64, "PNG"),
        _media("m/life-fr.jpg", "c" * 64),
        _media("m/broken.jpg", "d" * 64, None, "not a decodable image (UnidentifiedImageError)"),
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
    assert transformer.failures == []


def test_a_failed_media_is_a_failure_of_the_product_not_a_skipped_image() -> None:
    records = [
        _media("m/main.png", "a" * 64, "PNG"),
        _media("m/broken.jpg", "d" * 64, None, "not a decodable image (OSError)", broken=True),
        MediaRecord(key=media_file_key("m/gone.jpg"), sha256=None, size=0, format=None, error="missing"),
    ]
    warnings: list[str] = []
    transformer = ProductTransformer(_config(), ["main"], [], {r.key: r for r in records}, {}, warnings)
    values = {
        "main": [Value("m/main.png"), Value("m/broken.jpg"), Value("m/gone.jpg"), Value("m/unknown.jpg")]
    }
    transformer.images_and_collections("SKU-1", values)
    assert warnings == []
    assert [f.rsplit(": ", 1)[1] for f in transformer.failures] == [
        f"media {media_file_key('m/broken.jpg')!r} not a decodable image (OSError)",
        f"media {media_file_key('m/gone.jpg')!r} missing",
        f"media {media_file_key('m/unknown.jpg')!r} not resolved by the media stage",
    ]


def test_an_image_format_no_target_takes_is_skipped_with_its_reason() -> None:
    record = _media("m/a.psd", "a" * 64, "PSD")
    warnings: list[str] = []
    transformer = ProductTransformer(_config(), ["main"], [], {record.key: record}, {}, warnings)
    assert transformer.images_and_collections("SKU-1", {"main": [Value("m/a.psd")]}) == ([], [])
    assert warnings == [
        f"product 'SKU-1' image attribute 'main': media {record.key!r} is a PSD file, an image format "
        "no target takes; skipped"
    ]


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
        values={
            **{a: [AssetValue(url, loc) for loc, url in urls] for a, urls in (links or {}).items()},
            **({"alt_text": [AssetValue("Vue de face", "fr_FR")]} if main_link else {}),
        },
        types={**dict.fromkeys(links or {}, "media_link"), "alt_text": "text"},
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


def test_both_delivers_files_and_puts_link_assets_in_custom_attributes() -> None:
    images, collections, warnings, config = _transform(akeneoImageImportType="both")
    assert all(i.kind == "file" for i in images) and len(images) == 3
    # "m", whose main media is a link, is delivered as its attributes (one per attribute and locale)
    group = ("AkeneoAssetMAttributes", 'Akeneo Asset "m" Attributes')
    assert custom_attributes(collections, config) == [
        CustomAttribute("akeneo_productAssets", None, ["z", "a", "m"]),
        CustomAttribute("akeneo_m_urlLarge", None, [CDN + "m.gif"], "string", group),
        CustomAttribute("akeneo_m_altText", "fr_FR", ["Vue de face"], "string", group),
    ]
    assert not any("is a link" in w for w in warnings)


def test_both_with_the_per_collection_naming_keeps_the_earlier_ids() -> None:
    _, collections, _, config = _transform(
        akeneoImageImportType="both", sfccCustomAttributeNaming="per_collection"
    )
    assert custom_attributes(collections, config) == [
        CustomAttribute("akeneo_productAssets", None, ["z", "a", "m"]),
        CustomAttribute("akeneo_productAssets_urlLarge", None, [CDN + "z.jpg", CDN + "m.gif"]),
        CustomAttribute("akeneo_productAssets_urlThumb", "fr_FR", [CDN + "z-fr.png"]),
    ]


def test_non_image_main_media_goes_to_custom_attributes_in_every_import_type() -> None:
    pdf = Asset(
        family="guides",
        code="g",
        files=[AssetFile(media="/asset-media-files/g.pdf")],
        main="pdf",
        main_media_type="pdf",
        values={"pdf": [AssetValue("a/b/g_user guide.PDF")], "label": [AssetValue("Guide", "en_US")]},
        types={"pdf": "media_file", "label": "text"},
    )
    media = {
        "/asset-media-files/g.pdf": MediaRecord(
            key="/asset-media-files/g.pdf",
            sha256="e" * 64,
            size=9,
            format=None,
            error="not a decodable image",
        )
    }
    for import_type in ("media_file", "media_link", "both"):
        config = _config(akeneoImageType="assets", akeneoImageImportType=import_type, akeneoLocales=["en_US"])
        warnings: list[str] = []
        images, collections = ProductTransformer(
            config, [], [Collection(code="guides", family="guides")], media, {"guides/g": pdf}, warnings
        ).images_and_collections("SKU-1", {"guides": [Value(["g"])]})
        assert images == [] and warnings == []
        assert [(a.attribute, a.locale, a.values, a.file) for a in collections[0].attributes] == [
            ("pdf", None, [f"files/ee/{'e' * 64}.pdf"], "e" * 64),
            ("label", "en_US", ["Guide"], None),
        ]


def test_metadata_mapping_gives_asset_images_their_texts_and_file_mapping_their_renditions() -> None:
    asset = Asset(
        family="packshots",
        code="z",
        files=[
            AssetFile(media="/asset-media-files/z1"),
            AssetFile(media="/asset-media-files/z-thumb", attribute="thumbnail"),
        ],
        main="picture",
        values={"alt_text": [AssetValue("Front", "en_US"), AssetValue("Face", "fr_FR")]},
        types={"alt_text": "text"},
    )
    media = {**MEDIA, "/asset-media-files/z-thumb": _asset_media("z-thumb", "9" * 64)}
    config = _config(
        akeneoImageType="assets",
        akeneoLocales=["en_US", "fr_FR"],
        akeneoImageMetadataMapping='{"matching": {"alt": "alt_text"}}',
        akeneoImageFileViewTypesMapping='{"matching": {"large": "picture", "small": "thumbnail"}}',
    )
    images, _ = ProductTransformer(
        config, [], COLLECTIONS, media, {"packshots/z": asset}, []
    ).images_and_collections("SKU-1", {"product_assets": [Value(["z"])]})
    assert [(i.sha256[0], i.file_attribute, view_types_of(i, config)) for i in images] == [
        ("1", "picture", ("large",)),
        ("9", "thumbnail", ("small",)),
    ]
    assert images[0].texts == {"alt": [ImageText("Front", "en_US"), ImageText("Face", "fr_FR")]}


def test_a_link_only_family_is_reported_once_when_files_are_imported() -> None:
    _, _, warnings, _ = _transform(akeneoImageImportType="media_file")
    reported = [w for w in warnings if "main media 'url_large' is a link" in w]
    assert len(reported) == 1 and "'packshots'" in reported[0]


def test_a_file_only_family_is_reported_once_when_links_are_imported() -> None:
    """Without a link mapping, media_link reads each asset's main media: a family whose main
    media is a file gives no image, and says so (its products' image lists would be empty)."""
    _, _, warnings, _ = _transform(akeneoImageImportType="media_link")
    reported = [w for w in warnings if "main media 'picture' is a file" in w]
    assert (
        len(reported) == 1
        and "'packshots'" in reported[0]
        and "akeneoImageLinkViewTypesMapping" in reported[0]
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://cdn.example.com/images/SKU-1/Red Shoe grün.jpg",
            "https://cdn.example.com/images/SKU-1/Red%20Shoe%20gr%C3%BCn.jpg",
        ),
        ("https://cdn.example.com/a%20b%2Fc.jpg", "https://cdn.example.com/a%20b%2Fc.jpg"),
        ("https://cdn.example.com/100% a.jpg", "https://cdn.example.com/100%25%20a.jpg"),
        (
            "https://cdn.example.com/a b.jpg?w=1&t=x y#top z",
            "https://cdn.example.com/a%20b.jpg?w=1&t=x%20y#top%20z",
        ),
        ("https://cdn.example.com/(1);a=b,c@d:e!*.jpg", "https://cdn.example.com/(1);a=b,c@d:e!*.jpg"),
        (" https://cdn.example.com/a\tb\n.jpg\r\n", "https://cdn.example.com/ab.jpg"),
        ("https://cdn.example.com/a\x01.jpg", "https://cdn.example.com/a%01.jpg"),
        ("https://bücher.example/ä.jpg", "https://xn--bcher-kva.example/%C3%A4.jpg"),
        ("https://cdn.example.com/\ud800.jpg", "https://cdn.example.com/\ud800.jpg"),
    ],
)
def test_links_are_percent_encoded_once(url: str, expected: str) -> None:
    assert normalize_url(url) == expected
    assert normalize_url(expected) == expected  # never encoded twice


def test_a_link_is_under_the_location_once_both_are_normalized() -> None:
    asset = _asset(
        "s", [], {"url_large": [(None, "https://cdn.example.com/images/Red Shoe.jpg")]}, main_link=True
    )
    config = _config(
        akeneoImageType="assets",
        akeneoImageImportType="media_link",
        akeneoExternalImageLocation="https://cdn.example.com/images/",
    )
    warnings: list[str] = []
    images, _ = ProductTransformer(
        config, [], COLLECTIONS, {}, {"packshots/s": asset}, warnings
    ).images_and_collections("SKU-9", {"product_assets": [Value(["s"])]})
    assert warnings == []
    assert [(i.url, i.path, i.format) for i in images] == [
        ("https://cdn.example.com/images/Red%20Shoe.jpg", "Red%20Shoe.jpg", "JPEG")
    ]


@pytest.mark.parametrize(
    ("url", "under"),
    [
        ("https://cdn.example.com/images/a/b.jpg", True),
        ("https://cdn.example.com/images/../../x.jpg", False),
        ("https://cdn.example.com/images/a/%2E%2E/%2e%2e/x.jpg", False),
        ("https://cdn.example.com/images/./x.jpg", False),
        ("https://cdn.example.com/images/a..b.jpg", True),
        ("https://cdn.example.com/images/a/..", False),
        ("https://cdn.example.com/images/.?w=1", False),
        ("https://cdn.example.com/images/a/.../b.jpg?x=/../#/./", True),
        ("https://cdn.example.com/images/a/.%2e/x.jpg", False),
        ("https://cdn.example.com/other/x.jpg", False),
    ],
)
def test_a_link_under_the_location_cannot_climb_out_of_it(url: str, under: bool) -> None:
    assert under_location(url, "https://cdn.example.com/images/") is under


def test_a_variants_own_collection_is_its_member_entry_and_the_roots_stays_the_masters() -> None:
    """docs/transform.md#custom-attribute-ids: a level's collections are those its attributes own."""
    config = _config(akeneoImageType="assets", akeneoImageImportType="both", akeneoLocales=["en_US", "fr_FR"])
    collections = [*COLLECTIONS, Collection(code="variant_assets", family="packshots")]
    transformer = ProductTransformer(config, [], collections, MEDIA, ASSETS, [])
    sets = [AttributeSet(level=1, axes=["color"], attributes=["color", "variant_assets"])]
    root = ProductModel("ROOT", None, "bags", "bags_by_color", None, dict(VALUES))
    variant = Product(
        "u1", "V-1", "bags", "ROOT", {"color": [Value("red")], "variant_assets": [Value(["a"])]}
    )
    master = master_images("ROOT", [variant], {"ROOT": root}, {"bags_by_color": sets}, transformer)
    assert [c.code for c in master.collections] == ["product_assets"]
    assert [c.assets for c in master.collections] == [["z", "a", "m"]]
    (member,) = master.members
    assert member.product_id == "V-1"
    assert [(c.code, c.assets) for c in member.collections] == [("variant_assets", ["a"])]


def test_a_link_outside_the_location_is_not_delivered_as_an_asset_attribute_either() -> None:
    """The warning says "skipped": in custom attributes too (per asset as per collection)."""
    outside = "https://elsewhere.example/o.jpg"
    asset = _asset(
        "o", [], {"url_large": [(None, CDN + "o.jpg")], "url_thumb": [(None, outside)]}, main_link=True
    )
    config = _config(akeneoImageType="assets", akeneoImageImportType="both", akeneoLocales=["en_US", "fr_FR"])
    warnings: list[str] = []
    _, collections = ProductTransformer(
        config, [], COLLECTIONS, {}, {"packshots/o": asset}, warnings
    ).images_and_collections("SKU-1", {"product_assets": [Value(["o"])]})
    delivered = [v for a in custom_attributes(collections, config) for v in a.values]
    assert CDN + "o.jpg" in delivered and outside not in delivered
    assert any(outside in w and "skipped" in w for w in warnings)
