"""BSPK's rules: formats, limits, and what a PRODUCT-IMAGES V2 cell can carry (docs/bspk.md).

Pure functions on text, tested on tiny inputs; the renderer applies them. Each ``*_problem``
function returns why a value cannot be written, or ``None`` when it can.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Image files BSPK accepts (PRODUCT-IMAGES V2: "JPG and PNG images are supported").
FORMATS = frozenset({"JPEG", "PNG"})
#: BSPK's limit on product_ref and on each ``skus`` cell (PRODUCT-IMAGES V2: 1-255).
MAX_REF = 255
#: BSPK's limit on ``image_url`` (PRODUCT-IMAGES V2: 1-65535).
MAX_URL = 65535
#: ``skus`` separates SKUs with it, so a SKU cannot hold it.
SKU_SEPARATOR = ";"

#: What a CSV cell must not hold: control characters (C0, DEL, C1: a line break would split a
#: row for any reader that does not honour quoting), lone surrogates (not UTF-8) and the
#: non-characters U+FFFE and U+FFFF.
_NOT_CSV_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: What RFC 3986 allows in a URL (unreserved, reserved, and ``%`` of an escape).
_NOT_URL = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]|%(?![0-9A-Fa-f]{2})")


def text_problem(text: str) -> str | None:
    """Why a CSV cell cannot carry ``text``: a control character, a lone surrogate or a non-character."""
    bad = _NOT_CSV_TEXT.search(text)
    if bad:
        return f"holds {bad.group()!r} at position {bad.start()}, which the CSV cannot carry"
    return None


def ref_problem(text: str, limit: int = MAX_REF) -> str | None:
    """Why ``text`` is not a ``product_ref`` or a single SKU: text a cell carries, 1 to
    ``limit`` characters, no whitespace at either end (readers trim it, and the identifier
    would name another product)."""
    problem = text_problem(text)
    if problem:
        return problem
    if not text:
        return "empty"
    if len(text) > limit:
        return f"longer than {limit} characters"
    if text != text.strip():
        return "starts or ends with whitespace"
    return None


def sku_problem(sku: str) -> str | None:
    """Why ``sku`` cannot be an entry of a ``skus`` cell: :func:`ref_problem`, or it holds ``;``."""
    problem = ref_problem(sku)
    if problem:
        return problem
    if SKU_SEPARATOR in sku:
        return f"holds {SKU_SEPARATOR!r}, the skus separator"
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an ``image_url``: an absolute http(s) URL with a host, of RFC 3986's
    characters only (links are percent-encoded before: docs/transform.md#links), 1-65535 characters."""
    problem = text_problem(url)
    if problem:
        return problem
    if len(url) > MAX_URL:
        return f"longer than {MAX_URL} characters"
    bad = _NOT_URL.search(url)
    if bad:
        return f"holds {bad.group()!r} at position {bad.start()}, not a URL character"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an absolute http(s) URL"
    return None
