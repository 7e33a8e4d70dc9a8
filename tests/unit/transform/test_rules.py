"""The transform rules of spec §3, on tiny inputs."""

from __future__ import annotations

import pytest

from pim_images.media import MediaRecord
from pim_images.transform import camelize, content_path, locale_view_type, order_values, product_images


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("packshot_images", "packshotImages"),
        ("url_large", "urlLarge"),
        ("image_2", "image2"),
        ("main", "main"),
        ("Main_Image", "mainImage"),
        ("url__large", "urlLarge"),
        ("_leading__and_trailing_", "leadingAndTrailing"),
        ("already_camelCase_part", "alreadyCamelCasePart"),
        ("a_b_c", "aBC"),
        ("2d_view", "2dView"),
        ("___", ""),
    ],
)
def test_camelize(code: str, expected: str) -> None:
    assert camelize(code) == expected


@pytest.mark.parametrize(
    ("view_type", "locale", "expected"),
    [("large", "fr_FR", "large_fr-FR"), ("large", None, "large"), ("swatch", "en_US", "swatch_en-US")],
)
def test_locale_view_type(view_type: str, locale: str | None, expected: str) -> None:
    assert locale_view_type(view_type, locale) == expected


def test_content_path_is_ascii_and_changes_with_content() -> None:
    a = content_path("ab" + "0" * 62, "jpg")
    b = content_path("ab" + "1" * 62, "jpg")
    assert a == "images/ab/ab" + "0" * 62 + ".jpg"
    assert a != b
    assert a.isascii()


def test_order_values_puts_unlocalized_first_then_configured_locale_order() -> None:
    values = [{"locale": "fr_FR"}, {"locale": "de_DE"}, {"locale": None}, {"locale": "en_US"}]
    ordered = order_values(values, ("en_US", "fr_FR", "de_DE"))
    assert [v["locale"] for v in ordered] == [None, "en_US", "fr_FR", "de_DE"]


def _media(code: str, sha: str, fmt: str | None = "JPEG", error: str | None = None) -> MediaRecord:
    return MediaRecord(code=code, sha256=sha, size=1, format=fmt, error=error)


def test_product_images_follow_attribute_order_and_skip_broken_media() -> None:
    product = {
        "identifier": "SKU-1",
        "values": {
            "back": [{"locale": None, "scope": None, "data": "m/back.jpg"}],
            "main": [{"locale": None, "scope": None, "data": "m/main.png"}],
            "life": [
                {"locale": "fr_FR", "scope": None, "data": "m/life-fr.jpg"},
                {"locale": "en_US", "scope": None, "data": "m/broken.jpg"},
            ],
        },
    }
    media = {
        "m/back.jpg": _media("m/back.jpg", "b" * 64),
        "m/main.png": _media("m/main.png", "a" * 64, "PNG"),
        "m/life-fr.jpg": _media("m/life-fr.jpg", "c" * 64),
        "m/broken.jpg": _media("m/broken.jpg", "d" * 64, None, "not a decodable image (OSError)"),
    }
    warnings: list[str] = []
    images = product_images(product, ["main", "back", "life"], media, ("en_US", "fr_FR"), warnings)
    assert [(i.attribute, i.locale, i.path) for i in images] == [
        ("main", None, f"images/aa/{'a' * 64}.png"),
        ("back", None, f"images/bb/{'b' * 64}.jpg"),
        ("life", "fr_FR", f"images/cc/{'c' * 64}.jpg"),
    ]
    assert len(warnings) == 1
    assert "SKU-1" in warnings[0] and "m/broken.jpg" in warnings[0] and "life" in warnings[0]
