"""Media are identified by their bytes; broken files are reported, not delivered."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from pim_images.media import MediaCache, identify_image


def test_format_comes_from_the_bytes_not_the_name() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    assert identify_image(buffer.getvalue()) == ("PNG", None)


def test_broken_and_non_image_bytes_are_named_as_such() -> None:
    fmt, error = identify_image(b"%PDF-1.4 not an image")
    assert fmt is None and "not a decodable image" in error
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "JPEG")
    fmt, error = identify_image(buffer.getvalue()[:40])  # truncated upload
    assert fmt is None and error


def test_cache_stores_bytes_once_under_their_hash(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path)
    first = cache.store("a/b/c/d/1_x.jpg", b"not an image")
    second = cache.store("e/f/0/1/2_y.jpg", b"not an image")
    assert first.sha256 == second.sha256
    assert cache.blob(first.sha256).read_bytes() == b"not an image"
    assert cache.lookup("a/b/c/d/1_x.jpg") == first
    assert cache.lookup("unknown") is None
    cache.blob(first.sha256).unlink()
    assert cache.lookup("a/b/c/d/1_x.jpg") is None  # a lost blob is downloaded again
