"""BSPK's rules on ``skus`` cells (docs/bspk.md), on tiny inputs."""

from __future__ import annotations

import pytest

from pim_images.targets.bspk.render import split_skus


@pytest.mark.parametrize("limit", [255, 20, 9])
def test_split_skus_never_truncates_and_respects_the_limit(limit: int) -> None:
    skus = [f"SKU-{i:04d}" for i in range(80)]
    cells = split_skus(skus, limit)
    assert [s for cell in cells for s in cell.split(";")] == skus
    assert all(len(cell) <= limit for cell in cells)


def test_split_skus_keeps_a_short_list_in_one_cell() -> None:
    assert split_skus(["A", "B"]) == ["A;B"]
