"""Identifiers longer than a target allows are skipped and reported, never truncated."""

from __future__ import annotations

from pathlib import Path

import msgspec

from pim_images import records
from pim_images.config import load_config
from pim_images.media import MediaCache
from pim_images.records import Image, ProductImages
from pim_images.targets.bspk.render import product_rows, render_bspk
from pim_images.targets.sfcc.render import render_sfcc

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"
IMAGE = Image(attribute="main_image", locale=None, sha256="a" * 64, format="JPEG", path="images/aa/x.jpg")


def _run(tmp_path: Path, refs: list[str]) -> Path:
    run_dir = tmp_path / "run"
    records.IMAGES.write(run_dir, [ProductImages(r, []) for r in refs])
    return run_dir


def test_sfcc_skips_product_ids_over_100_characters(tmp_path: Path) -> None:
    long_id = "X" * 101
    run_dir = _run(tmp_path, ["OK-1", long_id])
    result = render_sfcc(load_config(CONFIG), run_dir, MediaCache(tmp_path / "cache"), "20260101T000000Z")
    assert result.products == 1
    assert result.warnings == [
        f"product {long_id[:40]!r}...: product id {long_id[:40]!r}...: longer than 100 characters; skipped"
    ]
    assert long_id.encode() not in (run_dir / "sfcc" / result.files[1]).read_bytes()


def test_bspk_skips_product_refs_over_255_characters(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    long_ref = "Y" * 256
    records.IMAGES.write(run_dir, [ProductImages(long_ref, [IMAGE]), ProductImages("OK-1", [IMAGE])])
    result = render_bspk(load_config(CONFIG), run_dir, "20260101T000000Z")
    assert result.rows == 1
    assert any("longer than 255" in w for w in result.warnings)
    assert long_ref.encode() not in (run_dir / "bspk" / result.files[0]).read_bytes()


def test_bspk_skips_skus_over_255_characters_and_keeps_the_others(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    long_sku = "Z" * 256
    variant_images = [
        msgspec.structs.replace(IMAGE, path="images/aa/both.jpg", variants=["V-1", long_sku]),
        msgspec.structs.replace(IMAGE, path="images/aa/long-only.jpg", variants=[long_sku]),
    ]
    records.IMAGES.write(run_dir, [ProductImages("MASTER", variant_images)])
    result = render_bspk(load_config(CONFIG), run_dir, "20260101T000000Z")
    content = (run_dir / "bspk" / result.files[0]).read_text()
    assert long_sku not in content
    rows = content.splitlines()[1:]
    assert rows == ["MASTER,V-1,https://cdn.example.com/images/images/aa/both.jpg,1"]
    assert sum("longer than 255 characters" in w for w in result.warnings) == 2
    assert all(f"sku {long_sku[:40]!r}..." in w for w in result.warnings)


def test_bspk_takes_one_link_per_asset_and_locale() -> None:
    def link(asset: str, url: str, locale: str | None = None, fmt: str = "JPEG") -> Image:
        return msgspec.structs.replace(IMAGE, kind="link", asset=asset, url=url, locale=locale, format=fmt)

    images = [
        link("a", "https://cdn/a-large.jpg"),
        link("a", "https://cdn/a-thumb.jpg"),
        link("a", "https://cdn/a-fr.jpg", "fr_FR"),
        link("b", "https://cdn/b.gif", fmt="GIF"),
        link("b", "https://cdn/b-thumb.png", fmt="PNG"),
        IMAGE,
    ]
    rows = product_rows("P", images, "https://cdn/")
    assert rows == [
        ("P", "", "https://cdn/a-large.jpg", 1),
        ("P", "", "https://cdn/a-fr.jpg", 2),
        ("P", "", "https://cdn/b-thumb.png", 3),
        ("P", "", "https://cdn/images/aa/x.jpg", 4),
    ]


def test_bspk_takes_one_file_rendition_per_asset_and_locale() -> None:
    """akeneoImageFileViewTypesMapping gives an asset a file per view type (large, thumbnail):
    BSPK gets the first, as for links."""

    def rendition(asset: str, path: str, attribute: str) -> Image:
        return msgspec.structs.replace(IMAGE, asset=asset, path=path, file_attribute=attribute)

    images = [rendition("a", "a-large.jpg", "picture"), rendition("a", "a-thumb.jpg", "thumbnail"), IMAGE]
    rows = product_rows("P", images, "https://cdn/")
    assert [r[2] for r in rows] == ["https://cdn/a-large.jpg", "https://cdn/images/aa/x.jpg"]
