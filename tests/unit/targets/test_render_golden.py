"""Renderers on a small fixed catalog: golden files, schema validity, archive layout."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from pim_images import records
from pim_images.config import load_config
from pim_images.media import MediaCache
from pim_images.records import Image as ImageRecord
from pim_images.records import ProductImages
from pim_images.targets.bspk.render import render_bspk
from pim_images.targets.sfcc.render import CATALOG_NS, render_sfcc
from pim_images.transform import content_path

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"
STAMP = "20260301T000000Z"
NS = {"c": CATALOG_NS}


def _image(fmt: str, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, MediaCache]:
    """A run folder as the transform stage leaves it, with three binaries in the cache."""
    cache = MediaCache(tmp_path / "cache")
    jpeg = cache.store("a/b/c/d/abcd_Schuh grün.jpg", _image("JPEG", (200, 10, 10)))
    png = cache.store("e/f/0/1/ef01_back.png", _image("PNG", (10, 200, 10)))
    gif = cache.store("9/9/9/9/9999_anim.gif", _image("GIF", (10, 10, 200)))
    tiff = cache.store("7/7/7/7/7777_scan.tif", _image("TIFF", (1, 2, 3)))

    def img(attribute: str, locale: str | None, record) -> ImageRecord:
        return ImageRecord(
            attribute=attribute,
            locale=locale,
            sha256=record.sha256,
            format=record.format,
            path=content_path(record.sha256, record.extension),
        )

    run_dir = tmp_path / "run"
    records.IMAGES.write(
        run_dir,
        [
            ProductImages(
                "SKU-1",
                [
                    img("main_image", None, jpeg),
                    img("back_image", None, png),
                    img("lifestyle_image", "fr_FR", gif),
                    img("zoom_image", None, tiff),
                ],
            ),
            ProductImages('SKU-2, "quoted"', [img("main_image", None, jpeg)]),
            ProductImages("SKU-3", []),
        ],
    )
    return run_dir, cache


def test_sfcc_outputs_match_golden_and_validate(run, golden, validate_catalog, validate_metadata) -> None:
    run_dir, cache = run
    config = load_config(CONFIG)
    result = render_sfcc(config, run_dir, cache, STAMP)
    xml_name = f"catalog_{config.sfccCatalogId}_{STAMP}.xml"
    archive = f"pim-images_{config.sfccCatalogId}_{STAMP}"
    assert result.files == [f"{archive}.zip", xml_name]
    xml = (run_dir / "sfcc" / xml_name).read_bytes()
    golden("simple_images", "catalog.xml", xml)
    root = validate_catalog(xml)
    assert root.xpath("c:header/c:image-settings/c:internal-location/@base-path", namespaces=NS) == ["/"]
    assert root.xpath("c:header/c:image-settings/c:view-types/c:view-type/text()", namespaces=NS) == [
        "large",
        "large_fr-FR",
        "medium",
        "medium_fr-FR",
        "small",
        "small_fr-FR",
    ]
    sku1 = root.xpath("c:product[@product-id='SKU-1']/c:images", namespaces=NS)[0]
    assert sku1.get("merge-mode") == "replace"
    groups = [(g.get("view-type"), len(g)) for g in sku1]
    # JPEG + PNG unlocalized, GIF in the fr-FR group, TIFF left out (not an SFCC image file)
    assert groups == [
        ("large", 2),
        ("large_fr-FR", 1),
        ("medium", 2),
        ("medium_fr-FR", 1),
        ("small", 2),
        ("small_fr-FR", 1),
    ]
    assert root.xpath("count(c:product[@product-id='SKU-3']/c:images/*)", namespaces=NS) == 0
    assert any("TIFF" in w and "SKU-1" in w for w in result.warnings)

    with zipfile.ZipFile(run_dir / "sfcc" / f"{archive}.zip") as z:
        names = z.namelist()
        assert names[0] == f"{archive}/meta/system-objecttype-extensions.xml"
        assert names[1] == f"{archive}/catalogs/{config.sfccCatalogId}/catalog.xml"
        assert all(n.startswith(f"{archive}/") and n.isascii() for n in names)
        binaries = sorted(n for n in names if "/static/default/" in n)
        paths = sorted(root.xpath("//c:image/@path", namespaces=NS))
        assert binaries == sorted(
            {f"{archive}/catalogs/{config.sfccCatalogId}/static/default/{p}" for p in paths}
        )
        assert z.read(names[1]) == xml
        validate_metadata(z.read(names[0]))
    golden(
        "simple_images",
        "system-objecttype-extensions.xml",
        (run_dir / "sfcc" / "system-objecttype-extensions.xml").read_bytes(),
    )


def test_sfcc_render_is_deterministic(run, tmp_path: Path) -> None:
    run_dir, cache = run
    config = load_config(CONFIG)
    render_sfcc(config, run_dir, cache, STAMP)
    first = {p.name: p.read_bytes() for p in (run_dir / "sfcc").iterdir()}
    render_sfcc(config, run_dir, cache, STAMP)
    second = {p.name: p.read_bytes() for p in (run_dir / "sfcc").iterdir()}
    assert first == second


def test_bspk_csv_matches_golden_and_spec(run, golden) -> None:
    run_dir, _ = run
    config = load_config(CONFIG)
    result = render_bspk(config, run_dir, STAMP)
    assert result.files == [f"PRODUCT-IMAGES_V2_{STAMP}.csv"]
    data = (run_dir / "bspk" / result.files[0]).read_bytes()
    golden("simple_images", "product-images.csv", data)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == ["product_ref", "skus", "image_url", "position"]
    body = rows[1:]
    # SKU-1: JPEG and PNG only (GIF and TIFF are not taken by BSPK), positions 1..n
    assert [(r[0], r[3]) for r in body] == [("SKU-1", "1"), ("SKU-1", "2"), ('SKU-2, "quoted"', "1")]
    assert all(r[1] == "" and r[2].startswith(config.akeneoExternalImageLocation + "images/") for r in body)
    assert b'"SKU-2, ""quoted"""' in data and data.endswith(b"\r\n")
    assert sum("not taken by BSPK" in w for w in result.warnings) == 2
