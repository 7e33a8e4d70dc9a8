"""Rules of variation images (docs/transform.md#variation-images), on tiny inputs."""

from __future__ import annotations

from pim_images.models import axis_values, own_values, root_of
from pim_images.records import AttributeSet, ProductModel, Value

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
