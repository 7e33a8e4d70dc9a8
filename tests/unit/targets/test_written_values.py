"""What each target's files can carry (docs/bad-input.md#products-that-cannot-be-written), one
rule kind at a time, on the smallest inputs."""

from __future__ import annotations

import pytest

from pim_images.targets.bspk.rules import ref_problem, sku_problem, text_problem, url_problem
from pim_images.targets.sfcc.rules import attribute_definition_id_problem, xml_id_problem, xml_text_problem


@pytest.mark.parametrize("text", ["\x00", "a\x01", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_xml_cannot_carry_controls_noncharacters_and_lone_surrogates(text: str) -> None:
    assert "which XML cannot carry" in xml_text_problem(text)


@pytest.mark.parametrize("text", ["", "tab\tline\nreturn\r", "\x7f\x85", "grün 😀", "\ue000\ufffd"])
def test_xml_carries_text_with_tabs_line_breaks_and_any_plane(text: str) -> None:
    assert xml_text_problem(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        (" ", "starts or ends with whitespace"),
        (" A", "starts or ends with whitespace"),
        ("A\t", "starts or ends with whitespace"),
        ("A\nB", "holds a line break"),
        ("A\rB", "holds a line break"),
        ("X" * 101, "longer than 100 characters"),
        ("A\x00", "holds '\\x00' at position 1, which XML cannot carry"),
    ],
)
def test_an_sfcc_id_is_a_non_empty_string_of_the_schema(text: str, problem: str) -> None:
    assert xml_id_problem(text, 100) == problem


@pytest.mark.parametrize("text", ["A", "SKU 1", "X" * 100, "a\tb", "😀" * 100])
def test_an_sfcc_id_may_hold_inner_spaces_and_tabs(text: str) -> None:
    assert xml_id_problem(text, 100) is None


def test_a_custom_attribute_id_has_no_bar() -> None:
    assert attribute_definition_id_problem("akeneo_a|b") == "holds '|'"
    assert attribute_definition_id_problem("akeneo_packshots") is None


@pytest.mark.parametrize("text", ["\x00", "a\nb", "\r", "\x7f", "\x85", "\ud800", "\uffff"])
def test_a_csv_cell_carries_no_control_character(text: str) -> None:
    assert "which the CSV cannot carry" in text_problem(text)


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("", "empty"),
        ("  ", "starts or ends with whitespace"),
        ("A ", "starts or ends with whitespace"),
        ("Y" * 256, "longer than 255 characters"),
    ],
)
def test_a_product_ref_is_not_empty_padded_or_too_long(ref: str, problem: str) -> None:
    assert ref_problem(ref) == problem


def test_a_sku_holds_no_separator() -> None:
    assert sku_problem("A;B") == "holds ';', the skus separator"
    assert sku_problem('SKU-1, "quoted"') is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://cdn.example.com/a b.jpg", "holds ' ' at position 25, not a URL character"),
        ("https://cdn.example.com/grün.jpg", "holds 'ü' at position 26, not a URL character"),
        ("https://cdn.example.com/100%.jpg", "holds '%' at position 27, not a URL character"),
        ("https://cdn.example.com/\x01.jpg", "holds '\\x01' at position 24, which the CSV cannot carry"),
        ("/images/a.jpg", "is not an absolute http(s) URL"),
        ("ftp://cdn.example.com/a.jpg", "is not an absolute http(s) URL"),
        ("https://[cdn/a.jpg", "is not a URL (Invalid IPv6 URL)"),
    ],
)
def test_an_image_url_is_an_absolute_http_url_of_rfc_3986_characters(url: str, problem: str) -> None:
    assert url_problem(url) == problem


def test_an_encoded_url_is_an_image_url() -> None:
    assert url_problem("https://cdn.example.com/Red%20Shoe%20gr%C3%BCn.jpg?w=1&h=2#x") is None
