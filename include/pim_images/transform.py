"""Transform stage and its rules (spec §3): from Akeneo values to each product's image list.

The rules are pure functions (camelize, locale-suffixed view types, content-addressed paths,
value order) so they can be tested on tiny inputs; :func:`transform_catalog` applies them to a
run's staging files, one product at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from pim_images import staging
from pim_images.config import PipelineConfig
from pim_images.extract import MAX_WARNINGS
from pim_images.media import MediaRecord, read_media_index
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
    """One image of one product, as the renderers need it."""

    attribute: str
    locale: str | None
    sha256: str
    format: str
    path: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def product_images(
    product: dict[str, Any],
    image_attributes: list[str],
    media: dict[str, MediaRecord],
    locales: tuple[str, ...],
    warnings: list[str],
) -> list[ProductImage]:
    """A product's images in delivery order: attribute order, then value order (spec §3).

    A value whose media is missing or not an image is reported in ``warnings`` and skipped.
    """
    images: list[ProductImage] = []
    for attribute in image_attributes:
        for value in order_values(product["values"].get(attribute, []), locales):
            record = media.get(value["data"])
            if record is None or record.sha256 is None or record.extension is None:
                reason = record.error if record else "not resolved by the media stage"
                warnings.append(
                    f"product {product['identifier']!r} attribute {attribute!r}: "
                    f"media {value['data']!r} {reason}; skipped"
                )
                continue
            images.append(
                ProductImage(
                    attribute=attribute,
                    locale=value.get("locale"),
                    sha256=record.sha256,
                    format=record.format or "",
                    path=content_path(record.sha256, record.extension),
                )
            )
    return images


@dataclass(frozen=True)
class TransformSummary:
    products: int
    products_with_images: int
    images: int
    locales_used: list[str]
    skipped_images: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def transform_catalog(config: PipelineConfig, run_dir: StagingPath) -> TransformSummary:
    """Write ``images.jsonl`` (one line per product, its images in order) and a summary file.

    Every extracted product gets a line, even with no image: its image list is canonical
    downstream (spec §4), so an empty list clears images a product no longer has.
    """
    image_attributes = [
        a["code"] for a in staging.read_json(run_dir / staging.ATTRIBUTES)["image_attributes"]
    ]
    media = read_media_index(run_dir)
    warnings: list[str] = []
    totals = {"with_images": 0, "images": 0}
    locales_used: set[str] = set()

    def records() -> Iterator[dict[str, Any]]:
        for product in staging.iter_jsonl(run_dir / staging.PRODUCTS):
            images = product_images(product, image_attributes, media, config.akeneoLocales, warnings)
            totals["with_images"] += bool(images)
            totals["images"] += len(images)
            locales_used.update(i.locale for i in images if i.locale)
            yield {"product_ref": product["identifier"], "images": [i.to_dict() for i in images]}

    count = staging.write_jsonl(run_dir / staging.IMAGES, records())
    ordered_locales = [loc for loc in config.akeneoLocales if loc in locales_used]
    staging.write_json(run_dir / staging.IMAGE_SUMMARY, {"locales_used": ordered_locales})
    return TransformSummary(
        products=count,
        products_with_images=totals["with_images"],
        images=totals["images"],
        locales_used=ordered_locales,
        skipped_images=len(warnings),
        warnings=warnings[:MAX_WARNINGS],
    )
