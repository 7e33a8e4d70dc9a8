"""Media are identified by their bytes (docs/transform.md#image-formats); a file that is no
image is skipped, a failed media is told apart (docs/bad-input.md#broken-images)."""

from __future__ import annotations

import hashlib
import io
import random
import tempfile
import zlib
from pathlib import Path
from typing import Any

import msgspec
import pytest
from PIL import Image

from pim_images.akeneo.client import Download
from pim_images.media import MediaCache, identify_image
from pim_images.records import EXTENSIONS, MediaRecord


def _image(fmt: str, mode: str = "RGB", **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 8), "red" if mode != "CMYK" else (0, 255, 255, 0)).save(buffer, fmt, **save)
    return buffer.getvalue()


def _mpo() -> bytes:
    """A multi-picture JPEG, as cameras write them (two frames)."""
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (8, 8), "red"), Image.new("RGB", (8, 8), "blue")
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()


def _exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    return _image("JPEG", exif=exif.tobytes())


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        pytest.param(_image("JPEG"), "JPEG", id="jfif"),
        pytest.param(_exif_jpeg(), "JPEG", id="exif"),
        pytest.param(_mpo(), "JPEG", id="mpo"),
        pytest.param(_image("JPEG", progressive=True), "JPEG", id="progressive"),
        pytest.param(_image("JPEG", mode="CMYK"), "JPEG", id="cmyk"),
        pytest.param(_image("PNG"), "PNG", id="png"),
        pytest.param(_image("GIF"), "GIF", id="gif"),
        pytest.param(_image("WEBP"), "WEBP", id="webp"),
    ],
)
def test_every_variant_of_an_image_format_is_that_format(content: bytes, fmt: str) -> None:
    identified = identify_image(content, "/api/rest/v1/media-files/a/b/c/d/x_photo.bin/download")
    assert (identified.format, identified.error, identified.broken) == (fmt, None, False)
    assert EXTENSIONS[identified.format]


def test_a_camera_jpeg_is_a_jpg() -> None:
    assert MediaRecord("k", "a" * 64, 1, identify_image(_mpo()).format).extension == "jpg"


def test_a_file_that_is_no_image_is_skipped_not_failed() -> None:
    fmt, error, broken = identify_image(
        b"%PDF-1.4 not an image", "/api/rest/v1/media-files/a/x_guide.pdf/download"
    )
    assert fmt is None and error == "not a decodable image (UnidentifiedImageError)" and not broken


def test_bytes_that_are_no_image_under_an_image_name_are_a_failure() -> None:
    fmt, error, broken = identify_image(
        b"<html>error page</html>", "/api/rest/v1/media-files/a/x_front.jpg/download"
    )
    assert fmt is None and broken and "UnidentifiedImageError" in error


def test_an_image_that_does_not_decode_is_a_failure() -> None:
    fmt, error, broken = identify_image(_image("PNG")[:60])  # truncated upload
    assert fmt is None and broken and error.startswith("not a decodable image (")


def _photo(**save: Any) -> bytes:
    """A JPEG large enough to be decoded at an eighth of its size (noise: every block coded)."""
    buffer = io.BytesIO()
    Image.effect_noise((256, 192), 50).convert("RGB").save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


@pytest.mark.parametrize("save", [{}, {"progressive": True}], ids=["baseline", "progressive"])
@pytest.mark.parametrize("kept", [0.3, 0.9, -1], ids=["cut-early", "cut-late", "one-byte-short"])
def test_a_cut_jpeg_fails_though_its_check_decodes_it_scaled_down(save: dict[str, Any], kept: float) -> None:
    whole = _photo(**save)
    assert identify_image(whole, "x_front.jpg") == ("JPEG", None, False)
    cut = whole[:kept] if kept < 0 else whole[: int(len(whole) * kept)]
    fmt, error, broken = identify_image(cut, "x_front.jpg")
    assert fmt is None and broken and error.startswith("not a decodable image (")


def _decodes_whole(content: bytes) -> bool:
    """The check before JPEGs were decoded scaled down: ``verify``, then ``load`` at full size."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
        with Image.open(io.BytesIO(content)) as image:
            image.load()
    except Exception:
        return False
    return True


@pytest.mark.parametrize("mode", ["RGB", "CMYK", "L"])
@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_the_scaled_check_agrees_with_a_whole_decode_on_damaged_jpegs(mode: str, progressive: bool) -> None:
    """Every cut (some 100 places) and 50 bit flips of a JPEG: the same verdict as decoding it
    whole at full size."""
    buffer = io.BytesIO()
    picture = Image.effect_noise((256, 192), 50).convert("RGB").convert(mode)
    picture.save(buffer, "JPEG", quality=90, progressive=progressive)
    whole = buffer.getvalue()
    damaged = [whole[:cut] for cut in range(100, len(whole), max(1, len(whole) // 100))]
    dice = random.Random(f"{mode}{progressive}")
    for _ in range(50):
        flipped = bytearray(whole)
        flipped[dice.randrange(600, len(whole) - 10)] ^= 1 << dice.randrange(8)
        damaged.append(bytes(flipped))
    disagree = [
        i for i, c in enumerate(damaged) if (identify_image(c).format is not None) != _decodes_whole(c)
    ]
    assert disagree == []


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


def test_a_record_cached_by_an_older_release_is_identified_again(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path)
    stored = cache.store("k/photo.jpg", _mpo())
    entry = next((tmp_path / "keys").iterdir())
    entry.write_bytes(entry.read_bytes().replace(b'"format":"JPEG"', b'"format":"MPO"'))
    assert cache.lookup("k/photo.jpg") == stored


def test_a_record_cached_without_a_crc_gets_it_from_its_blob_once(tmp_path: Path) -> None:
    """Key entries written before the CRC-32 was kept (docs/akeneo.md#media-cache): the blob
    is read for it at the next lookup, and the entry written again with it."""
    content = _image("PNG")
    cache = MediaCache(tmp_path)
    stored = cache.store("k/photo.png", content)
    assert stored.crc32 == zlib.crc32(content)
    entry = next((tmp_path / "keys").iterdir())
    old = msgspec.json.encode(msgspec.structs.replace(stored, crc32=None))
    assert b"crc32" not in old
    entry.write_bytes(old)
    assert cache.lookup("k/photo.png") == stored
    assert entry.read_bytes() == msgspec.json.encode(stored)  # remembered: read once


def test_a_download_is_identified_and_kept_from_its_open_file(tmp_path: Path) -> None:
    """The media stage's download waits in an unnamed file, left at its end by the writer: both
    the check and the cache read it from its start."""
    content = _photo()
    cache = MediaCache(tmp_path)
    with tempfile.TemporaryFile() as local:
        local.write(content)
        identified = identify_image(local, "x_front.jpg")
        download = Download(
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content_type="image/jpeg",
            framed=True,
            crc32=zlib.crc32(content),
        )
        record = cache.store_download("a/b/c/d/x_front.jpg", local, download, identified)
    assert identified == ("JPEG", None, False)
    assert cache.blob(record.sha256).read_bytes() == content
