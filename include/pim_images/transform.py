"""Transform stage and its rules (docs/transform.md): from Akeneo values to each product's image list.

Target-neutral: it decides which images a product has, in which order, at which variation,
for which variants, and which assets its collections hold; how each target names, filters and
writes them is the target's (``pim_images.targets``). The rules are pure functions (value
order, content-addressed paths, link formats) tested on tiny inputs; :func:`transform_catalog`
applies them to a run's staging records, one product at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import msgspec

from pim_images import records
from pim_images.config import PipelineConfig
from pim_images.media import media_file_key
from pim_images.models import axis_values, own_values, read_models, root_of
from pim_images.records import (
    Asset,
    AssetFile,
    AssetLink,
    AttributeSet,
    Collection,
    CollectionLink,
    CollectionValue,
    Image,
    MediaRecord,
    Product,
    ProductImages,
    ProductModel,
    Value,
    Values,
)
from pim_images.report import StageSummary
from pim_images.staging import StagingPath


def content_path(sha256: str, extension: str) -> str:
    """Where a binary is delivered: named by its content, so a changed image gets a new path.

    Caches keyed by URL (SFCC, BSPK, CDNs) then never serve a stale image, and names are plain
    ASCII whatever the PIM file was called (SFCC's site import rejects special characters).
    """
    return f"images/{sha256[:2]}/{sha256}.{extension}"


Localized = TypeVar("Localized", Value, AssetFile, AssetLink)


def order_values(values: list[Localized], locales: tuple[str, ...]) -> list[Localized]:
    """Non-localized value first, then the configured locales in their configured order."""
    rank = {None: -1, **{locale: i for i, locale in enumerate(locales)}}
    return sorted(values, key=lambda v: rank.get(v.locale, len(rank)))


def link_format(url: str) -> str | None:
    """The image format a link's path names (links are not downloaded)."""
    suffix = urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(url).path else ""
    return _LINK_FORMATS.get(suffix)


_LINK_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}


class ProductTransformer:
    """Builds one product's images and collections from staged values, media and assets."""

    def __init__(
        self,
        config: PipelineConfig,
        image_attributes: list[str],
        collections: list[Collection],
        media: dict[str, MediaRecord],
        assets: dict[str, Asset],
        warnings: list[str],
    ) -> None:
        self.config = config
        self.image_attributes = image_attributes
        self.collections = collections
        self.media = media
        self.assets = assets
        self.warnings = warnings
        self.link_families: set[str | None] = set()  # families already reported as link-only

    def images_and_collections(self, name: str, values: Values) -> tuple[list[Image], list[CollectionValue]]:
        """Images in delivery order (image attributes, then assets in collection order;
        docs/transform.md#ordering) and the collections' asset codes and links.

        :param name: the product's identifier or model's code, for warnings.
        """
        images = [i for a in self.image_attributes for i in self._attribute_images(name, values, a)]
        collections = []
        for collection in self.collections:
            found, value = self._collection(name, values, collection)
            images += found
            collections.append(value)
        return images, collections

    def _attribute_images(self, name: str, values: Values, attribute: str) -> Iterator[Image]:
        for value in order_values(values.get(attribute, []), self.config.akeneoLocales):
            where = f"product {name!r} attribute {attribute!r}"
            image = self._file(media_file_key(value.data), attribute, value.locale, None, where)
            if image:
                yield image

    def _file(
        self, key: str, attribute: str, locale: str | None, asset: str | None, where: str
    ) -> Image | None:
        record = self.media.get(key)
        if record is None or record.sha256 is None or record.extension is None:
            reason = record.error if record else "not resolved by the media stage"
            self.warnings.append(f"{where}: media {key!r} {reason}; skipped")
            return None
        return Image(
            attribute=attribute,
            locale=locale,
            format=record.format,
            path=content_path(record.sha256, record.extension),
            sha256=record.sha256,
            asset=asset,
        )

    def _under_location(self, url: str, where: str) -> bool:
        location = self.config.akeneoExternalImageLocation
        if under_location(url, location):
            return True
        self.warnings.append(
            f"{where}: link {url!r} is not under akeneoExternalImageLocation {location!r}; skipped"
        )
        return False

    def _collection(
        self, name: str, values: Values, collection: Collection
    ) -> tuple[list[Image], CollectionValue]:
        code = collection.code
        codes = [c for v in values.get(code, []) for c in (v.data or [])]
        found = []
        for asset_code in codes:
            asset = self.assets.get(records.asset_key(collection.family, asset_code))
            if asset is None:
                self.warnings.append(
                    f"product {name!r} collection {code!r}: asset {asset_code!r} does not exist; skipped"
                )
                continue
            found.append(asset)
        images: list[Image] = []
        links: list[CollectionLink] = []
        for asset in found:
            where = f"product {name!r} collection {code!r} asset {asset.code!r}"
            images += self._asset_images(asset, code, where)
            if self.config.asset_links_as_attributes:
                for attribute, link_values in asset.links.items():
                    for link in order_values(link_values, self.config.akeneoLocales):
                        if self._under_location(link.url, where):
                            links.append(CollectionLink(asset.code, attribute, link.locale, link.url))
        return images, CollectionValue(code=code, assets=[a.code for a in found], links=links)

    def _asset_images(self, asset: Asset, collection: str, where: str) -> list[Image]:
        images: list[Image] = []
        if self.config.asset_files and asset.main_is_link and asset.family not in self.link_families:
            self.link_families.add(asset.family)
            self.warnings.append(
                f"asset family {asset.family!r}: its main media {asset.main!r} is a link, which "
                f"akeneoImageImportType {self.config.akeneoImageImportType!r} does not deliver as an image"
            )
        if self.config.asset_files:
            for file in order_values(asset.files, self.config.akeneoLocales):
                image = self._file(file.media, collection, file.locale, asset.code, where)
                if image:
                    images.append(image)
        if self.config.asset_links_as_images:
            attributes = list(self.config.link_view_types_mapping) or (
                [asset.main] if asset.main_is_link and asset.main else []
            )
            for attribute in attributes:
                for link in order_values(asset.links.get(attribute, []), self.config.akeneoLocales):
                    if not self._under_location(link.url, where):
                        continue
                    location = self.config.akeneoExternalImageLocation
                    images.append(
                        Image(
                            attribute=collection,
                            locale=link.locale,
                            format=link_format(link.url),
                            path=link.url[len(location) :],
                            kind="link",
                            url=link.url,
                            asset=asset.code,
                            link_attribute=attribute,
                        )
                    )
        return images


def master_images(
    root: str,
    variants: list[Product],
    models: dict[str, ProductModel],
    family_variants: dict[str, list[AttributeSet]],
    transformer: ProductTransformer,
) -> ProductImages:
    """A master's images (docs/transform.md#variation-images): the root model's own images with no
    variation, then per sub-model (code order) its own images filtered by its axis values,
    each followed by its variants' (identifier order) filtered by all their axis values.

    ``variants`` of an image names the variant products it applies to: none for the root's,
    the sub-model's variants for a sub-model's, the variant itself for a variant's. The
    master's collections are the root's.
    """
    model = models[root]
    sets = family_variants.get(f"{model.family}/{model.family_variant}", [])
    images, collections = _level_images(transformer, root, model.values, sets, 0, [])
    by_parent: dict[str, list[Product]] = {}
    for variant in sorted(variants, key=lambda v: v.identifier):
        by_parent.setdefault(variant.parent or "", []).append(variant)
    for parent in sorted(by_parent):
        children = by_parent[parent]
        if parent != root:  # a sub-model: its own images apply to all its variants
            skus = [v.identifier for v in children]
            images += _level_images(transformer, parent, models[parent].values, sets, 1, skus)[0]
        for variant in children:
            images += _level_images(
                transformer, variant.identifier, variant.values, sets, len(sets), [variant.identifier]
            )[0]
    return ProductImages(product_ref=root, images=images, collections=collections)


def _level_images(
    transformer: ProductTransformer,
    name: str,
    values: Values,
    sets: list[AttributeSet],
    level: int,
    variants: list[str],
) -> tuple[list[Image], list[CollectionValue]]:
    own = own_values(values, sets, level)
    variation = axis_values(values, sets, level)
    images, collections = transformer.images_and_collections(name, own)
    return [msgspec.structs.replace(i, variation=variation, variants=variants) for i in images], collections


@dataclass(frozen=True)
class TransformSummary(StageSummary):
    products: int
    products_with_images: int
    images: int
    locales_used: list[str]
    skipped_images: int
    warnings: list[str] = field(default_factory=list)


def transform_catalog(config: PipelineConfig, run_dir: StagingPath) -> TransformSummary:
    """Write ``images.jsonl``: one :class:`~pim_images.records.ProductImages` per simple
    product and per master, its images in order and its collections.

    Every extracted product gets a line, even with no image: its image list is canonical
    downstream (docs/transform.md#canonical-image-lists), so an empty list clears images a product no longer
    has.

    :raises StagingFileMissing: a file of an earlier stage is not there.
    """
    structure = records.STRUCTURE.read(run_dir)
    collections = structure.asset_collections
    assets = (
        {asset.key: asset for asset in records.ASSETS.read(run_dir)}
        if collections and records.ASSETS.exists(run_dir)
        else {}
    )
    warnings: list[str] = []
    media = {m.key: m for m in records.MEDIA.read(run_dir)}
    transformer = ProductTransformer(
        config, structure.image_attribute_codes, collections, media, assets, warnings
    )
    totals = {"with_images": 0, "images": 0}
    locales: set[str | None] = set()
    models = read_models(run_dir)
    variants_by_root: dict[str, list[Product]] = {}

    def counted(product: ProductImages) -> ProductImages:
        totals["with_images"] += bool(product.images)
        totals["images"] += len(product.images)
        locales.update(i.locale for i in product.images)
        return product

    def lines() -> Iterator[ProductImages]:
        for product in records.iter_products(run_dir):
            parent = product.parent
            if parent and parent in models:
                variants_by_root.setdefault(root_of(parent, models), []).append(product)
                continue
            images, product_collections = transformer.images_and_collections(
                product.identifier, product.values
            )
            yield counted(ProductImages(product.identifier, images, product_collections))
        # masters after simple products, each whole (all its rows together), in code order
        for root in sorted(variants_by_root):
            yield counted(
                master_images(root, variants_by_root[root], models, structure.family_variants, transformer)
            )

    count = records.IMAGES.write(run_dir, lines())
    return TransformSummary(
        products=count,
        products_with_images=totals["with_images"],
        images=totals["images"],
        locales_used=[loc for loc in config.akeneoLocales if loc in locales],
        skipped_images=len(warnings),
        warnings=warnings,
    )


def under_location(url: str, location: str) -> bool:
    """Whether ``url`` lies under ``location``: it starts with it, and what follows has no ``.``
    or ``..`` segment, spelt plainly or percent-encoded (``images/../../x`` would leave it once
    a browser or CDN normalizes the path; docs/transform.md#links)."""
    if not url.startswith(location):
        return False
    rest = url[len(location) :].split("?", 1)[0].split("#", 1)[0]
    return not any(unquote(part) in (".", "..") for part in rest.split("/"))
