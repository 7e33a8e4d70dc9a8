"""Rules of variation images (docs/transform.md#variation-images), on tiny inputs."""

from __future__ import annotations

from pathlib import Path

from pim_images import records
from pim_images.config import load_config
from pim_images.models import axis_text, axis_values, model_record, own_values, root_of, select_values
from pim_images.records import AttributeSet, Product, ProductModel, Structure, Value
from pim_images.transform import transform_catalog

CONFIG = Path(__file__).resolve().parents[3] / "config" / "pim_images.yaml"

TWO_LEVELS = [
    AttributeSet(level=1, axes=["color"], attributes=["color", "lifestyle_image"]),
    AttributeSet(level=2, axes=["size"], attributes=["size", "sku", "main_image"]),
]
VALUES = {
    "zoom_image": [Value("z.jpg")],
    "lifestyle_image": [Value("l.jpg")],
    "main_image": [Value("m.jpg")],
    "color": [Value("red")],
    "size": [Value("m")],
}


def test_each_level_owns_only_its_attributes() -> None:
    assert set(own_values(VALUES, TWO_LEVELS, 0)) == {"zoom_image"}
    assert set(own_values(VALUES, TWO_LEVELS, 1)) == {"lifestyle_image", "color"}
    assert set(own_values(VALUES, TWO_LEVELS, 2)) == {"main_image", "size"}


def test_axis_values_list_every_axis_down_to_the_level_in_order() -> None:
    assert axis_values(VALUES, TWO_LEVELS, 0) == []
    assert axis_values(VALUES, TWO_LEVELS, 1) == [("color", "red")]
    assert axis_values(VALUES, TWO_LEVELS, 2) == [("color", "red"), ("size", "m")]
    two_axes = [AttributeSet(level=1, axes=["color", "material"])]
    assert axis_values({**VALUES, "material": [Value("leather")]}, two_axes, 1) == [
        ("color", "red"),
        ("material", "leather"),
    ]


def test_root_of_follows_parents() -> None:
    def model(code: str, parent: str | None) -> ProductModel:
        return ProductModel(code, parent, "family", "variant", None, {})

    models = {"root": model("root", None), "root_red": model("root_red", "root")}
    assert root_of("root_red", models) == "root"
    assert root_of("root", models) == "root"


def test_axis_values_are_written_as_the_connectors_import_writes_them() -> None:
    metric = {"amount": "0.5000", "unit": "LITER", "symbol": "l"}
    assert axis_text(metric, "pim_catalog_metric") == "0.5000 LITER"
    assert axis_text(True, "pim_catalog_boolean") == "true"
    assert axis_text(False, "pim_catalog_boolean") == "false"
    assert axis_text("blue", "pim_catalog_simpleselect") == "blue"
    assert axis_text("bouroullec", "akeneo_reference_entity") == "bouroullec"
    assert axis_text({"amount": 10, "unit": "KILOWATT"}, None) == "10 KILOWATT"  # type not read
    assert axis_text(["a", "b"], "pim_catalog_simpleselect") is None  # never a repr


def test_a_false_axis_is_a_value_and_a_missing_one_is_named() -> None:
    sets = [AttributeSet(level=1, axes=["gift_wrap"])]
    problems: list[str] = []
    values = {"gift_wrap": [Value(False)]}
    assert axis_values(values, sets, 1, {"gift_wrap": "pim_catalog_boolean"}, problems) == [
        ("gift_wrap", "false")
    ]
    assert axis_values({}, sets, 1, {}, problems) == []
    assert problems == ["axis 'gift_wrap': no value"]


def test_false_and_zero_are_values_empty_data_is_not() -> None:
    raw = [{"data": False}, {"data": 0}, {"data": ""}, {"data": []}, {"data": None}]
    assert [v.data for v in select_values(raw, "ecommerce", ("en_US",))] == [False, 0]


def test_model_values_are_selected_by_channel_and_locale_like_product_values() -> None:
    model = {
        "code": "M",
        "family_variant": "fv",
        "values": {
            "zoom_image": [
                {"scope": "ecommerce", "locale": None, "data": "e.jpg"},
                {"scope": "print", "locale": None, "data": "p.jpg"},
                {"scope": None, "locale": "de_DE", "data": "d.jpg"},
            ]
        },
    }
    staged = model_record(model, ["zoom_image"], "ecommerce", ("en_US",))
    assert staged.values == {"zoom_image": [Value("e.jpg", None, "ecommerce")]}
    assert staged.family is None  # PIMs before 3.2 give no family


def _stage(run_dir: Path, products: list[Product], models: list[ProductModel]) -> None:
    sets = {"fv": [AttributeSet(level=1, axes=["size"], attributes=["size", "main_image"])]}
    records.STRUCTURE.write(run_dir, Structure("sku", [], [], None, [], sets))
    records.PRODUCTS.write(run_dir, products)
    records.MODELS.write(run_dir, models)
    records.MEDIA.write(run_dir, [])


def test_an_identifier_equal_to_a_masters_code_leaves_both_out_with_a_warning(tmp_path: Path) -> None:
    master = ProductModel("ABC", None, None, "fv", None, {})
    variant = Product(None, "ABC-S", None, "ABC", {"size": [Value("s")]})
    _stage(
        tmp_path,
        [Product(None, "ABC", None, None, {}), Product(None, "XYZ", None, None, {}), variant],
        [master],
    )
    summary = transform_catalog(load_config(CONFIG), tmp_path)
    assert [p.product_ref for p in records.IMAGES.read(tmp_path)] == ["XYZ"]
    assert summary.warnings[0].startswith(
        "product 'ABC': its identifier is also the code of product model 'ABC'"
    )


def test_a_variant_whose_parent_was_not_read_is_a_simple_product_named_in_a_warning(tmp_path: Path) -> None:
    _stage(tmp_path, [Product(None, "ABC-S", None, "ABC", {})], [])
    summary = transform_catalog(load_config(CONFIG), tmp_path)
    assert [p.product_ref for p in records.IMAGES.read(tmp_path)] == ["ABC-S"]
    assert summary.warnings == [
        "product 'ABC-S': its parent product model 'ABC' was not read (not in the channel's categories, "
        "or not visible to the API user); exported as a simple product"
    ]
