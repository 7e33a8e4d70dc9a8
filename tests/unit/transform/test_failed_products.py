"""A product whose image failed is left out, and too many such products fail the run
(docs/bad-input.md#broken-images)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pim_images import records
from pim_images.config import load_config
from pim_images.errors import FailedProductsError
from pim_images.media import media_file_key
from pim_images.records import ImageAttribute, MediaRecord, Product, ProductModel, Structure, Value
from pim_images.transform import failed_share_exceeded, transform_catalog

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"
GOOD = MediaRecord(key=media_file_key("m/good.jpg"), sha256="a" * 64, size=1, format="JPEG")
BROKEN = MediaRecord(
    key=media_file_key("m/bad.jpg"),
    sha256="b" * 64,
    size=1,
    format=None,
    error="not a decodable image (OSError)",
    broken=True,
)


def _stage(run_dir: Path, images: dict[str, str], variants: dict[str, str] | None = None) -> None:
    """Products (identifier -> media code of their main image), and variants of root model ``M``."""
    records.STRUCTURE.write(run_dir, Structure("sku", [ImageAttribute("main")], [], None, [], {"fam/fv": []}))
    products = [Product(None, sku, None, None, {"main": [Value(code)]}) for sku, code in images.items()]
    products += [
        Product(None, sku, "fam", "M", {"main": [Value(code)]}) for sku, code in (variants or {}).items()
    ]
    records.PRODUCTS.write(run_dir, products)
    records.MODELS.write(run_dir, [ProductModel("M", None, "fam", "fv", None, {})] if variants else [])
    records.MEDIA.write(run_dir, [GOOD, BROKEN])


def test_a_product_whose_image_failed_is_left_out_whole(tmp_path: Path) -> None:
    _stage(tmp_path, {"OK-1": "m/good.jpg", "BAD-1": "m/bad.jpg"}, {"V-1": "m/good.jpg", "V-2": "m/bad.jpg"})
    summary = transform_catalog(load_config(CONFIG, {"maxFailedProductsPercent": 100}), tmp_path)
    assert [p.product_ref for p in records.IMAGES.read(tmp_path)] == ["OK-1"]
    assert summary.failed_products == 2
    assert summary.warnings == [
        f"product 'BAD-1' left out of every target, its old images stay downstream: product 'BAD-1' "
        f"image attribute 'main': media {BROKEN.key!r} not a decodable image (OSError)",
        f"product 'M' left out of every target, its old images stay downstream: product 'V-2' "
        f"image attribute 'main': media {BROKEN.key!r} not a decodable image (OSError)",
    ]


def test_above_the_share_of_failed_products_the_run_fails(tmp_path: Path) -> None:
    _stage(tmp_path, {"OK-1": "m/good.jpg", "OK-2": "m/good.jpg", "BAD-1": "m/bad.jpg"})
    with pytest.raises(
        FailedProductsError, match=r"1 of 3 products \(33\.3 %\) .* maxFailedProductsPercent 30 %"
    ):
        transform_catalog(load_config(CONFIG, {"maxFailedProductsPercent": 30}), tmp_path)
    assert (
        transform_catalog(load_config(CONFIG, {"maxFailedProductsPercent": 34}), tmp_path).failed_products
        == 1
    )


@pytest.mark.parametrize(
    ("failed", "products", "max_percent", "exceeded"),
    [
        (0, 0, 0, False),
        (0, 10, 0, False),
        (1, 10, 0, True),
        (1, 10, 10, False),
        (2, 10, 10, True),
        (9, 9, 100, False),
    ],
)
def test_failed_share(failed: int, products: int, max_percent: float, exceeded: bool) -> None:
    assert failed_share_exceeded(failed, products, max_percent) is exceeded
