"""Transform stage and its rules (spec §3): from Akeneo values to each product's image list.

The rules are pure functions (camelize, locale-suffixed view types, content-addressed paths,
value order) so they can be tested on tiny inputs; :func:`transform_catalog` applies them to a
run's staging files, one product at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from pim_images import staging
from pim_images.assets import asset_key, iter_assets
from pim_images.config import PipelineConfig
from pim_images.extract import iter_products
from pim_images.media import MediaRecord, media_file_key, read_media_index
from pim_images.models import axis_values, own_values, read_models, root_of
from pim_images.report import StageSummary
from pim_images.staging import StagingPath

#: Image files SFCC shows in image groups (spec §4, SFCC).
SFCC_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})
#: Image files BSPK accepts (PRODUCT-IMAGES V2: "JPG and PNG images are supported").
BSPK_FORMATS = frozenset({"JPEG", "PNG"})


def camelize(code: str) -> str:
    """Akeneo code to camelCase, as the SFCC connector names custom attributes (spec §3).

    Split on ``_``; drop empty parts (double underscores); lower-case the first letter of the
    first part and upper-case the first letter of the others; keep the rest of each part.

    >>> camelize("packshot_images"), camelize("image_2"), camelize("URL__Large")
    ('packshotImages', 'image2', 'uRLLarge')
    """
    parts = [p for p in code.split("_") if p]
    if not parts:
        return ""
    first, rest = parts[0], parts[1:]
    return first[:1].lower() + first[1:] + "".join(p[:1].upper() + p[1:] for p in rest)


def locale_view_type(view_type: str, locale: str | None) -> str:
    """``large`` + ``fr_FR`` -> ``large_fr-FR``; a non-localized value keeps ``large`` (spec §3)."""
    return f"{view_type}_{locale.replace('_', '-')}" if locale else view_type


def content_path(sha256: str, extension: str) -> str:
    """Where a binary is delivered: named by its content, so a changed image gets a new path.

    Caches keyed by URL (SFCC, BSPK, CDNs) then never serve a stale image, and names are plain
    ASCII whatever the PIM file was called (SFCC's site import rejects special characters).
    """
    return f"images/{sha256[:2]}/{sha256}.{extension}"


def order_values(values: list[dict[str, Any]], locales: tuple[str, ...]) -> list[dict[str, Any]]:
    """Non-localized value first, then the configured locales in their configured order."""
    rank = {None: -1, **{locale: i for i, locale in enumerate(locales)}}
    return sorted(values, key=lambda v: rank.get(v.get("locale"), len(rank)))


@dataclass(frozen=True)
class ProductImage:
    """One image of one product, as the renderers need it.

    :ivar kind: ``file`` (a delivered binary, ``path`` is content-addressed) or ``link`` (an
        asset link, ``url`` as Akeneo gives it, ``path`` relative to the external location).
    :ivar view_types: the base view types it goes to; ``None`` means the configured image
        view types (``akeneoImageViewTypes``); links read through the mapping carry theirs.
    :ivar format: the image format, from the bytes for files and from the URL's extension for
        links (``None`` when it says nothing).
    """

    attribute: str
    locale: str | None
    format: str | None
    path: str
    kind: str = "file"
    sha256: str | None = None
    url: str | None = None
    asset: str | None = None
    view_types: tuple[str, ...] | None = None
    variation: tuple[tuple[str, str], ...] = ()
    skus: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def link_format(url: str) -> str | None:
    """The image format a link's path names (links are not downloaded)."""
    suffix = urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(url).path else ""
    return _LINK_FORMATS.get(suffix)


_LINK_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}


def declared_view_types(config: PipelineConfig) -> list[str]:
    """Base view types in declaration order: image files' view types, then the mapping's."""
    names: list[str] = []
    if config.reads_images or (config.reads_assets and config.asset_files):
        names += config.image_view_types
    if config.reads_assets and config.asset_links_as_images:
        mapping = config.link_view_types_mapping
        names += [v for vts in mapping.values() for v in vts] if mapping else list(config.image_view_types)
    return list(dict.fromkeys(names))


class ProductTransformer:
    """Builds one product's images and custom attributes from staged values, media and assets."""

    def __init__(
        self,
        config: PipelineConfig,
        image_attributes: list[str],
        collections: list[dict[str, Any]],
        media: dict[str, MediaRecord],
        assets: dict[str, dict[str, Any]],
        warnings: list[str],
    ) -> None:
        self.config = config
        self.image_attributes = image_attributes
        self.collections = collections
        self.media = media
        self.assets = assets
        self.warnings = warnings
        self.link_families: set[str] = set()  # families already reported as link-only

    def images_and_attributes(
        self, product: dict[str, Any]
    ) -> tuple[list[ProductImage], list[dict[str, Any]]]:
        """Images in delivery order (image attributes, then assets in collection order; spec §3)
        and the product's custom attributes."""
        images = [i for a in self.image_attributes for i in self._attribute_images(product, a)]
        custom: dict[tuple[str, str | None], list[str]] = {}
        for collection in self.collections:
            images += self._collection(product, collection, custom)
        attributes = [{"id": k[0], "locale": k[1], "values": v} for k, v in custom.items()]
        return images, attributes

    def _attribute_images(self, product: dict[str, Any], attribute: str) -> Iterator[ProductImage]:
        for value in order_values(product["values"].get(attribute, []), self.config.akeneoLocales):
            where = f"product {product['identifier']!r} attribute {attribute!r}"
            image = self._file(media_file_key(value["data"]), attribute, value.get("locale"), None, where)
            if image:
                yield image

    def _file(
        self, key: str, attribute: str, locale: str | None, asset: str | None, where: str
    ) -> ProductImage | None:
        record = self.media.get(key)
        if record is None or record.sha256 is None or record.extension is None:
            reason = record.error if record else "not resolved by the media stage"
            self.warnings.append(f"{where}: media {key!r} {reason}; skipped")
            return None
        return ProductImage(
            attribute=attribute,
            locale=locale,
            format=record.format,
            path=content_path(record.sha256, record.extension),
            sha256=record.sha256,
            asset=asset,
        )

    def _link(
        self,
        url: str,
        attribute: str,
        locale: str | None,
        asset: str,
        view_types: tuple[str, ...] | None,
        where: str,
    ) -> ProductImage | None:
        location = self.config.akeneoExternalImageLocation
        if not url.startswith(location):
            self.warnings.append(
                f"{where}: link {url!r} is not under akeneoExternalImageLocation {location!r}; skipped"
            )
            return None
        return ProductImage(
            attribute=attribute,
            locale=locale,
            format=link_format(url),
            path=url[len(location) :],
            kind="link",
            url=url,
            asset=asset,
            view_types=view_types,
        )

    def _collection(
        self,
        product: dict[str, Any],
        collection: dict[str, Any],
        custom: dict[tuple[str, str | None], list[str]],
    ) -> list[ProductImage]:
        code = collection["code"]
        codes = [c for v in product["values"].get(code, []) for c in (v.get("data") or [])]
        found = []
        for asset_code in codes:
            asset = self.assets.get(asset_key(collection["family"], asset_code))
            if asset is None:
                self.warnings.append(
                    f"product {product['identifier']!r} collection {code!r}: "
                    f"asset {asset_code!r} does not exist; skipped"
                )
                continue
            found.append(asset)
        custom[(f"akeneo_{camelize(code)}", None)] = [a["code"] for a in found]
        images: list[ProductImage] = []
        for asset in found:
            where = f"product {product['identifier']!r} collection {code!r} asset {asset['code']!r}"
            images += self._asset_images(asset, code, where)
            if self.config.asset_links_as_attributes:
                for attribute, values in asset["links"].items():
                    for value in order_values(values, self.config.akeneoLocales):
                        url = value["url"]
                        if self._link(url, code, value["locale"], asset["code"], None, where) is None:
                            continue
                        key = (f"akeneo_{camelize(code)}_{camelize(attribute)}", value["locale"])
                        custom.setdefault(key, []).append(url)
        return images

    def _asset_images(self, asset: dict[str, Any], collection: str, where: str) -> list[ProductImage]:
        images: list[ProductImage] = []
        if self.config.asset_files and asset["main_is_link"] and asset["family"] not in self.link_families:
            self.link_families.add(asset["family"])
            self.warnings.append(
                f"asset family {asset['family']!r}: its main media {asset['main']!r} is a link, which "
                f"akeneoImageImportType {self.config.akeneoImageImportType!r} does not deliver as an image"
            )
        if self.config.asset_files:
            for file in order_values(asset["files"], self.config.akeneoLocales):
                image = self._file(file["media"], collection, file["locale"], asset["code"], where)
                if image:
                    images.append(image)
        if self.config.asset_links_as_images:
            mapping = self.config.link_view_types_mapping or (
                {asset["main"]: None} if asset["main_is_link"] else {}
            )
            for attribute, view_types in mapping.items():
                for value in order_values(asset["links"].get(attribute, []), self.config.akeneoLocales):
                    image = self._link(
                        value["url"], collection, value["locale"], asset["code"], view_types, where
                    )
                    if image:
                        images.append(image)
        return images


def master_images(
    root: str,
    variants: list[dict[str, Any]],
    models: dict[str, dict[str, Any]],
    family_variants: dict[str, list[dict[str, Any]]],
    transformer: ProductTransformer,
) -> tuple[list[ProductImage], list[dict[str, Any]]]:
    """A master's images (spec §3, variation images): the root model's own images with no
    variation, then per sub-model (code order) its own images filtered by its axis values,
    each followed by its variants' (identifier order) filtered by all their axis values.

    ``skus`` names the variants each image applies to (BSPK): none for the root's, the
    sub-model's variants for a sub-model's, the variant itself for a variant's. The master's
    custom attributes are the root's collections.
    """
    model = models[root]
    sets = family_variants.get(f"{model['family']}/{model['family_variant']}", [])
    images, custom = _entity_images(transformer, root, model["values"], sets, 0, ())
    by_parent: dict[str, list[dict[str, Any]]] = {}
    for variant in sorted(variants, key=lambda v: v["identifier"]):
        by_parent.setdefault(variant["parent"], []).append(variant)
    for parent in sorted(by_parent):
        children = by_parent[parent]
        if parent != root:  # a sub-model: its own images apply to all its variants
            skus = tuple(v["identifier"] for v in children)
            images += _entity_images(transformer, parent, models[parent]["values"], sets, 1, skus)[0]
        for variant in children:
            level = len(sets)
            images += _entity_images(
                transformer, variant["identifier"], variant["values"], sets, level, (variant["identifier"],)
            )[0]
    return images, custom


def _entity_images(
    transformer: ProductTransformer,
    name: str,
    values: dict[str, Any],
    sets: list[dict[str, Any]],
    level: int,
    skus: tuple[str, ...],
) -> tuple[list[ProductImage], list[dict[str, Any]]]:
    own = own_values(values, sets, level)
    variation = tuple(axis_values(values, sets, level))
    images, custom = transformer.images_and_attributes({"identifier": name, "values": own})
    if level:
        custom = [c for c in custom if c["values"]]  # a level without a collection adds none
    return [replace(i, variation=variation, skus=skus) for i in images], custom


@dataclass(frozen=True)
class TransformSummary(StageSummary):
    products: int
    products_with_images: int
    images: int
    locales_used: list[str]
    skipped_images: int
    view_types: list[str] = field(default_factory=list)
    custom_attributes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def transform_catalog(config: PipelineConfig, run_dir: StagingPath) -> TransformSummary:
    """Write ``images.jsonl`` (one line per product: its images in order, its custom
    attributes) and ``image_summary.json`` (view types and custom attributes used).

    Every extracted product gets a line, even with no image: its image list is canonical
    downstream (spec §4), so an empty list clears images a product no longer has.
    """
    structure = staging.read_json(run_dir / staging.ATTRIBUTES)
    image_attributes = [a["code"] for a in structure["image_attributes"]]
    collections = structure.get("asset_collections") or []
    assets = (
        {asset_key(a["family"], a["code"]): a for a in iter_assets(run_dir)}
        if collections and (run_dir / staging.ASSETS).exists()
        else {}
    )
    warnings: list[str] = []
    transformer = ProductTransformer(
        config, image_attributes, collections, read_media_index(run_dir), assets, warnings
    )
    totals = {"with_images": 0, "images": 0}
    used: set[tuple[str, str | None]] = set()
    custom_ids: dict[str, bool] = {}

    first_axes: dict[str, int] = {}
    models, family_variants = read_models(run_dir)
    variants_by_root: dict[str, list[dict[str, Any]]] = {}

    def record(product_ref: str, images: list[ProductImage], custom: list[dict[str, Any]]) -> dict[str, Any]:
        totals["with_images"] += bool(images)
        totals["images"] += len(images)
        for image in images:
            used.update((vt, image.locale) for vt in image.view_types or config.image_view_types)
            if image.variation:
                first_axes[image.variation[0][0]] = first_axes.get(image.variation[0][0], 0) + 1
        for attribute in custom:
            custom_ids[attribute["id"]] = custom_ids.get(attribute["id"], False) or bool(attribute["locale"])
        return {"product_ref": product_ref, "images": [i.to_dict() for i in images], "custom": custom}

    def records() -> Iterator[dict[str, Any]]:
        for product in iter_products(run_dir):
            parent = product.get("parent")
            if parent and parent in models:
                variants_by_root.setdefault(root_of(parent, models), []).append(product)
                continue
            yield record(product["identifier"], *transformer.images_and_attributes(product))
        # masters after simple products, each whole (all its rows together), in code order
        for root in sorted(variants_by_root):
            images, custom = master_images(root, variants_by_root[root], models, family_variants, transformer)
            yield record(root, images, custom)

    count = staging.write_jsonl(run_dir / staging.IMAGES, records())
    locales_used = [loc for loc in config.akeneoLocales if any(locale == loc for _, locale in used)]
    view_types = [
        locale_view_type(base, locale)
        for base in declared_view_types(config)
        for locale in (None, *config.akeneoLocales)
        if (base, locale) in used
    ]
    custom_attributes = [{"id": k, "localizable": v} for k, v in sorted(custom_ids.items())]
    staging.write_json(
        run_dir / staging.IMAGE_SUMMARY,
        {
            "locales_used": locales_used,
            "view_types": view_types,
            "custom_attributes": custom_attributes,
            # the header's single variation attribute (catalog.xsd): the axis most groups lead with
            "variation_attribute_id": min(first_axes, key=lambda a: (-first_axes[a], a))
            if first_axes
            else None,
        },
    )
    return TransformSummary(
        products=count,
        products_with_images=totals["with_images"],
        images=totals["images"],
        locales_used=locales_used,
        skipped_images=len(warnings),
        view_types=view_types,
        custom_attributes=[c["id"] for c in custom_attributes],
        warnings=warnings,
    )
