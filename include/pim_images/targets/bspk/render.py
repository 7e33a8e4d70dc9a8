"""BSPK renderer (docs/bspk.md): the PRODUCT-IMAGES V2 CSV.

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

import msgspec

from pim_images import records
from pim_images.config import PipelineConfig
from pim_images.heap import frozen_during
from pim_images.records import Image
from pim_images.report import StageSummary, shown
from pim_images.staging import StagingPath
from pim_images.targets.bspk.rules import FORMATS, MAX_REF, ref_problem, sku_problem, url_problem
from pim_images.transform import image_origin, normalize_url

HEADER = ("product_ref", "skus", "image_url", "position")


@dataclass(frozen=True)
class BspkOutput(StageSummary):
    files: list[str]
    products: int
    rows: int
    warnings: list[str] = field(default_factory=list)


def output_name(stamp: str) -> str:
    """BSPK file names start with the feed's prefix and version (PRODUCT-IMAGES, V2)."""
    return f"PRODUCT-IMAGES_V2_{stamp}.csv"


def split_skus(skus: list[str], limit: int = MAX_REF) -> list[str]:
    """``;``-joined SKU lists of at most ``limit`` characters each: a long list becomes several
    rows, never a truncated one (docs/bspk.md). A single SKU longer than the limit stands alone
    (and is reported by the caller)."""
    cells: list[str] = []
    current: list[str] = []
    for sku in skus:
        candidate = ";".join([*current, sku])
        if current and len(candidate) > limit:
            cells.append(";".join(current))
            current = [sku]
        else:
            current.append(sku)
    if current:
        cells.append(";".join(current))
    return cells


def product_rows(product_ref: str, images: list[Image], base_url: str) -> list[tuple[str, str, str, int]]:
    """A product's rows: each distinct JPG/PNG once per set of SKUs, in image order, positions 1..n.

    Delivered binaries go as public URLs under the external location, links as they are. An
    asset read through a view-type mapping (links, or files with akeneoImageFileViewTypesMapping)
    has one image per view type (large, thumbnail...): BSPK takes images, not renditions, so only
    its first (the first mapped attribute's) is sent, per locale. A sub-model's or variant's
    image names its variants in ``skus``; a list longer than 255 characters becomes several rows
    (docs/bspk.md), each with its position.
    """
    rows: list[tuple[str, str, str, int]] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    linked: set[tuple[str | None, str | None, tuple[str, ...]]] = set()
    for image in images:
        skus = tuple(image.variants)
        if image.format not in FORMATS:
            continue
        if image.kind == "link" or image.file_attribute:  # one of an asset's renditions
            if (image.asset, image.locale, skus) in linked:
                continue
            linked.add((image.asset, image.locale, skus))
        url = image.url or base_url + image.path
        if (url, skus) in seen:
            continue
        seen.add((url, skus))
        for cell in split_skus(list(skus)) if skus else [""]:
            rows.append((product_ref, cell, url, len(rows) + 1))
    return rows


def _without_bad_skus(ref: str, images: list[Image], warnings: list[str]) -> list[Image]:
    """Drop the SKUs BSPK cannot take (:func:`~pim_images.targets.bspk.rules.sku_problem`:
    over 255 characters, never truncated; characters a cell cannot carry; a ``;``) from the
    images' ``skus``; an image left with none is skipped (an empty ``skus`` would mean every
    variant). Such a variant cannot be named at BSPK at all."""
    kept = []
    for image in images:
        skus = list(image.variants)
        bad = [(sku, problem) for sku in skus if (problem := sku_problem(sku))]
        for sku, problem in bad:
            warnings.append(
                f"product {shown(ref)} sku {shown(sku)}: {problem}; "
                f"its image {image.path or image.url!r} is skipped for it"
            )
        if not bad:
            kept.append(image)
        elif len(bad) < len(skus):
            refused = {sku for sku, _ in bad}
            kept.append(msgspec.structs.replace(image, variants=[sku for sku in skus if sku not in refused]))
    return kept


@frozen_during
def render_bspk(config: PipelineConfig, run_dir: StagingPath, stamp: str) -> BspkOutput:
    """Write this run's PRODUCT-IMAGES CSV under ``target_dir(run_dir, "bspk")``.

    A product whose ``product_ref`` or an ``image_url`` a cell cannot carry is left out with a
    warning naming it and the value (docs/bad-input.md#products-that-cannot-be-written); a
    SKU BSPK cannot take is left out of its images' ``skus`` (docs/bspk.md#skus).

    :raises StagingFileMissing: the transform stage's ``images.jsonl`` is not there.
    """
    out = records.target_dir(run_dir, "bspk")
    out.mkdir(parents=True, exist_ok=True)
    name = output_name(stamp)
    warnings: list[str] = []
    counts = {"products": 0, "rows": 0}

    base_url = normalize_url(config.akeneoExternalImageLocation)

    def rows() -> Iterator[tuple[str, str, str, int]]:
        for record in records.IMAGES.read(run_dir):
            ref = record.product_ref
            problem = ref_problem(ref)
            if problem:
                warnings.append(f"product_ref {shown(ref)}: {problem}; skipped")
                continue
            images = _without_bad_skus(ref, record.images, warnings)
            for image in images:
                if image.format not in FORMATS:
                    warnings.append(
                        f"product {ref!r} {image_origin(image)}: "
                        f"{image.url or image.format} is not taken by BSPK (JPG and PNG only); skipped"
                    )
            product = product_rows(ref, images, base_url)
            bad = next(((url, p) for _, _, url, _ in product if (p := url_problem(url))), None)
            if bad:
                warnings.append(f"product_ref {shown(ref)}: image_url {shown(bad[0])}: {bad[1]}; skipped")
                continue
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
