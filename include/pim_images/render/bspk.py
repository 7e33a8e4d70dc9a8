"""BSPK renderer (spec §4): the PRODUCT-IMAGES V2 CSV.

``product_ref,skus,image_url,position``, UTF-8, comma, RFC 4180 quoting and line ends. BSPK
deletes a product's images at its first row in a file, so each product's rows are its
complete image list, written together, positions 1..n. BSPK downloads each ``image_url`` and
caches it by URL: the content-addressed paths make a changed image a new URL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pim_images import staging
from pim_images.config import PipelineConfig
from pim_images.models import split_skus
from pim_images.report import StageSummary
from pim_images.staging import StagingPath
from pim_images.transform import BSPK_FORMATS

HEADER = ("product_ref", "skus", "image_url", "position")
#: BSPK's limit on product_ref (and on each skus cell).
MAX_REF = 255


@dataclass(frozen=True)
class BspkOutput(StageSummary):
    files: list[str]
    products: int
    rows: int
    warnings: list[str] = field(default_factory=list)


def output_name(stamp: str) -> str:
    """BSPK file names start with the feed's prefix and version (PRODUCT-IMAGES, V2)."""
    return f"PRODUCT-IMAGES_V2_{stamp}.csv"


def product_rows(
    product_ref: str, images: list[dict[str, Any]], base_url: str
) -> list[tuple[str, str, str, int]]:
    """A product's rows: each distinct JPG/PNG once per set of SKUs, in image order, positions 1..n.

    Delivered binaries go as public URLs under the external location, links as they are. An
    asset read through the view-type mapping has one link per view type (large, thumbnail...):
    BSPK takes images, not renditions, so only its first link (the first mapped attribute's)
    is sent, per locale. A sub-model's or variant's image names its variants in ``skus``; a
    list longer than 255 characters becomes several rows (spec §4), each with its position.
    """
    rows: list[tuple[str, str, str, int]] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    linked: set[tuple[str | None, str | None, tuple[str, ...]]] = set()
    for image in images:
        skus = tuple(image.get("skus") or ())
        if image["format"] not in BSPK_FORMATS:
            continue
        if image["kind"] == "link":
            if (image["asset"], image["locale"], skus) in linked:
                continue
            linked.add((image["asset"], image["locale"], skus))
        url = image["url"] or base_url + image["path"]
        if (url, skus) in seen:
            continue
        seen.add((url, skus))
        for cell in split_skus(list(skus)) if skus else [""]:
            rows.append((product_ref, cell, url, len(rows) + 1))
    return rows


def _without_long_skus(ref: str, images: list[dict[str, Any]], warnings: list[str]) -> list[dict[str, Any]]:
    """Drop the SKUs BSPK cannot take (over 255 characters, never truncated) from the images'
    ``skus``; an image left with none is skipped (an empty ``skus`` would mean every variant)."""
    kept = []
    for image in images:
        skus = list(image.get("skus") or ())
        long = [sku for sku in skus if len(sku) > MAX_REF]
        for sku in long:
            warnings.append(
                f"product {ref!r} sku {sku[:40]!r}...: longer than {MAX_REF} characters; "
                f"its image {image['path'] or image['url']!r} is skipped for it"
            )
        if not long:
            kept.append(image)
        elif len(long) < len(skus):
            kept.append({**image, "skus": [sku for sku in skus if len(sku) <= MAX_REF]})
    return kept


def render_bspk(config: PipelineConfig, run_dir: StagingPath, stamp: str) -> BspkOutput:
    """Write this run's PRODUCT-IMAGES CSV under ``run_dir/bspk``."""
    out = run_dir / staging.BSPK_DIR
    out.mkdir(parents=True, exist_ok=True)
    name = output_name(stamp)
    warnings: list[str] = []
    counts = {"products": 0, "rows": 0}

    def rows() -> Iterator[tuple[str, str, str, int]]:
        for record in staging.iter_jsonl(run_dir / staging.IMAGES):
            ref = record["product_ref"]
            if len(ref) > MAX_REF:
                warnings.append(f"product_ref {ref[:40]!r}...: longer than {MAX_REF} characters; skipped")
                continue
            images = _without_long_skus(ref, record["images"], warnings)
            for image in images:
                if image["format"] not in BSPK_FORMATS:
                    warnings.append(
                        f"product {ref!r} attribute {image['attribute']!r}: "
                        f"{image['url'] or image['format']} is not taken by BSPK (JPG and PNG only); skipped"
                    )
            product = product_rows(ref, images, config.akeneoExternalImageLocation)
            counts["products"] += bool(product)
            counts["rows"] += len(product)
            yield from product

    with (out / name).open("wb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows())
        text.flush()
        text.detach()
    return BspkOutput(files=[name], products=counts["products"], rows=counts["rows"], warnings=warnings)
