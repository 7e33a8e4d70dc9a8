"""akeneoImageFileViewTypesMapping's gaps, as the connector fills them
(docs/transform.md#image-metadata-and-file-view-types): a view type the mapping does not name,
and an asset without a mapped rendition, get no asset image; each is named."""

from __future__ import annotations

from pathlib import Path

from pim_images.config import PipelineConfig, load_config
from pim_images.media import media_file_key
from pim_images.records import Asset, AssetFile, Collection, MediaRecord, Value
from pim_images.targets.sfcc.render import image_groups
from pim_images.targets.sfcc.rules import unmapped_file_view_types
from pim_images.transform import ProductTransformer

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"
COLLECTIONS = [Collection(code="gallery", family="packshots")]
MAIN = MediaRecord(key=media_file_key("m/main.jpg"), sha256="a" * 64, size=1, format="JPEG")


def _config(mapping: str, image_type: str = "assets") -> PipelineConfig:
    return load_config(
        CONFIG,
        {
            "akeneoImageType": image_type,
            "akeneoImageImportType": "media_file",
            "akeneoImageViewTypes": '{"view-types": ["large", "medium"]}',
            "akeneoImageFileViewTypesMapping": mapping,
        },
    )


def _asset(code: str, *files: tuple[str | None, str]) -> Asset:
    """An asset of ``packshots`` (main media ``picture``) with ``(attribute, media)`` files,
    ``None`` for the main media's."""
    return Asset(
        family="packshots",
        code=code,
        files=[AssetFile(media=f"/asset-media-files/{m}", attribute=a) for a, m in files],
        main="picture",
    )


def _media(*keys: str) -> dict[str, MediaRecord]:
    found = {MAIN.key: MAIN}
    for n, key in enumerate(keys):
        found[f"/asset-media-files/{key}"] = MediaRecord(
            key=f"/asset-media-files/{key}", sha256=str(n) * 64, size=1, format="JPEG"
        )
    return found


def test_a_view_type_the_mapping_does_not_name_gets_image_attributes_only() -> None:
    """As the connector: with the mapping set, an asset's images are its mapped renditions only;
    ``medium``, not mapped, keeps the image attribute's image and gets none of the asset."""
    config = _config('{"matching": {"large": "picture"}}', image_type="both")
    transformer = ProductTransformer(
        config, ["main"], COLLECTIONS, _media("z"), {"packshots/z": _asset("z", (None, "z"))}, []
    )
    images, _ = transformer.images_and_collections(
        "SKU-1", {"main": [Value("m/main.jpg")], "gallery": [Value(["z"])]}
    )
    groups = {g.view_type: g.paths for g in image_groups(images, config)}
    asset_path, main_path = images[1].path, images[0].path
    assert groups == {"large": [main_path, asset_path], "medium": [main_path]}
    assert unmapped_file_view_types(config) == ["medium"]
    assert transformer.notes == []


def test_every_view_type_mapped_leaves_none_unmapped() -> None:
    config = _config('{"matching": {"large": "picture", "medium": "picture"}}')
    assert unmapped_file_view_types(config) == []
    assert unmapped_file_view_types(_config("{ }")) == []


def test_an_asset_without_a_mapped_rendition_gets_no_image_there_and_is_named_once() -> None:
    """As the connector: ``z`` has no ``thumbnail``, so ``medium`` gets nothing of it (not its
    main media); named once, with the first product using it."""
    config = _config('{"matching": {"large": "picture", "medium": "thumbnail"}}')
    assets = {
        "packshots/z": _asset("z", (None, "z")),
        "packshots/y": _asset("y", (None, "y"), ("thumbnail", "yt")),
    }
    transformer = ProductTransformer(config, [], COLLECTIONS, _media("z", "y", "yt"), assets, [])
    for product in ("SKU-1", "SKU-2"):
        images, _ = transformer.images_and_collections(product, {"gallery": [Value(["z", "y"])]})
        groups = {g.view_type: g.paths for g in image_groups(images, config)}
        assert groups == {"large": [images[0].path, images[1].path], "medium": [images[2].path]}
        assert images[2].asset == "y"
    assert transformer.notes == [
        "product 'SKU-1' asset collection attribute 'gallery' asset 'z': no value for the media file "
        "attribute 'thumbnail' (akeneoImageFileViewTypesMapping) in channel 'ecommerce' and locales "
        "en_US, fr_FR, so this asset has no image in view type 'medium', as in the connector; "
        "named once per asset"
    ]


def test_a_family_without_the_mapped_attribute_is_named_once() -> None:
    config = _config('{"matching": {"large": "picture", "medium": "thumbnail"}}')
    assets = {"packshots/z": _asset("z", (None, "z")), "packshots/y": _asset("y", (None, "y"))}
    transformer = ProductTransformer(
        config, [], COLLECTIONS, _media("z", "y"), assets, [], {"packshots": ["picture", "label"]}
    )
    images, _ = transformer.images_and_collections("SKU-1", {"gallery": [Value(["z", "y"])]})
    assert [i.asset for i in images] == ["z", "y"]
    assert transformer.notes == [
        "product 'SKU-1' asset collection attribute 'gallery' asset 'z': asset family 'packshots' has "
        "no media file attribute 'thumbnail' (akeneoImageFileViewTypesMapping), so no asset of that "
        "family has an image in view type 'medium', as in the connector; named once per asset family"
    ]


def test_a_link_family_is_named_as_such_not_per_missing_rendition() -> None:
    """A family whose main media is a link gives no file image in media_file (named once as
    such): its assets are not named again for each rendition they lack."""
    config = _config('{"matching": {"large": "picture", "medium": "thumbnail"}}')
    link = Asset(family="packshots", code="l", main="url_large", main_is_link=True)
    warnings: list[str] = []
    transformer = ProductTransformer(config, [], COLLECTIONS, {}, {"packshots/l": link}, warnings)
    assert transformer.images_and_collections("SKU-1", {"gallery": [Value(["l"])]})[0] == []
    assert transformer.notes == [] and len(warnings) == 1 and "is a link" in warnings[0]
