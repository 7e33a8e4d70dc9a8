"""Rules of variation images (spec §3) and of BSPK's skus lists (spec §4), on tiny inputs."""

from __future__ import annotations

import pytest

from pim_images.models import axis_values, own_values, root_of, split_skus

TWO_LEVELS = [
    {"level": 1, "axes": ["color"], "attributes": ["color", "lifestyle_image"]},
    {"level": 2, "axes": ["size"], "attributes": ["size", "sku", "main_image"]},
]
VALUES = {
    "zoom_image": [{"locale": None, "scope": None, "data": "z.jpg"}],
    "lifestyle_image": [{"locale": None, "scope": None, "data": "l.jpg"}],
    "main_image": [{"locale": None, "scope": None, "data": "m.jpg"}],
    "color": [{"locale": None, "scope": None, "data": "red"}],
    "size": [{"locale": None, "scope": None, "data": "m"}],
}


def test_each_level_owns_only_its_attributes() -> None:
    assert set(own_values(VALUES, TWO_LEVELS, 0)) == {"zoom_image"}
    assert set(own_values(VALUES, TWO_LEVELS, 1)) == {"lifestyle_image", "color"}
    assert set(own_values(VALUES, TWO_LEVELS, 2)) == {"main_image", "size"}


def test_axis_values_list_every_axis_down_to_the_level_in_order() -> None:
    assert axis_values(VALUES, TWO_LEVELS, 0) == []
    assert axis_values(VALUES, TWO_LEVELS, 1) == [("color", "red")]
    assert axis_values(VALUES, TWO_LEVELS, 2) == [("color", "red"), ("size", "m")]
    two_axes = [{"level": 1, "axes": ["color", "material"], "attributes": []}]
    assert axis_values({**VALUES, "material": [{"data": "leather"}]}, two_axes, 1) == [
        ("color", "red"),
        ("material", "leather"),
    ]


def test_root_of_follows_parents() -> None:
    models = {"root": {"parent": None}, "root_red": {"parent": "root"}}
    assert root_of("root_red", models) == "root"
    assert root_of("root", models) == "root"


@pytest.mark.parametrize("limit", [255, 20, 9])
def test_split_skus_never_truncates_and_respects_the_limit(limit: int) -> None:
    skus = [f"SKU-{i:04d}" for i in range(80)]
    cells = split_skus(skus, limit)
    assert [s for cell in cells for s in cell.split(";")] == skus
    assert all(len(cell) <= limit for cell in cells)


def test_split_skus_keeps_a_short_list_in_one_cell() -> None:
    assert split_skus(["A", "B"]) == ["A;B"]
