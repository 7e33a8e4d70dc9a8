"""SFCC's id rules (docs/transform.md), on tiny inputs."""

from __future__ import annotations

import pytest

from pim_images.targets.sfcc.rules import camelize, locale_view_type


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
