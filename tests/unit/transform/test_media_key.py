"""A media key built without quoting (plain codes) is the text the quoting path gives."""

from __future__ import annotations

import pytest

from pim_images.akeneo import resources
from pim_images.media import media_file_key


@pytest.mark.parametrize(
    "code",
    [
        "6/e/e/e/6eee005d649e18c94fe864f4145b2d2e5337fbea_SKU_00001_front.jpg",
        "a/../b",
        "..",
        "a/./b",
        ".hidden/x.jpg",
        "x..y/z~1-2_3.png",
        "a//b",
        "",
        "a/b/",
        "a/.../b",
        "a/..",
        "./a",
        "...",
        "a b/c.jpg",
        "grün/ä.jpg",
        "a%20b/c",
        "a?b#c",
    ],
)
def test_the_key_of_a_code_is_its_quoted_download_path(code: str) -> None:
    assert media_file_key(code) == resources.media_file_download(code)
