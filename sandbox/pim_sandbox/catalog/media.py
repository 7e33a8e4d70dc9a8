"""Media: the binaries of the catalog, rendered on demand, and the bounded cache that keeps memory flat.

Media codes follow Akeneo's layout (``PathGenerator``): ``a/b/c/d/<40 hex>_<sanitized filename>``, where the
filename is sanitized byte by byte (every byte outside ``[A-Za-z0-9.]`` becomes ``_``, so ``ü`` gives ``__``)
and the first four path parts are the first four hex characters. Real Akeneo hashes a random value; here the
hex is ``sha1(content + original filename)`` so codes are stable. Every original filename contains the
identifier of the product (or product model) that owns the file, which is how
:meth:`SandboxCatalog.media <pim_sandbox.catalog.SandboxCatalog.media>` finds a file from its code without any
index.

Asset binaries (Asset Manager media files, PAM reference and variation files) are rendered the same way and
share the cache; a derived file (a thumbnail, a PAM variation) is rendered from its source's bytes.

Pictures are small drawings (24 to 96 px a side) unless the catalog is made with ``photo_side``: then each
is a product photo of that side (a textured object on a white background), drawn from a pool of
:data:`PHOTO_POOL` photos per format, as a real PIM's megapixel files are: what decoding them costs the
media stage is then a real PIM's (a benchmark's option, ``--photo-side``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from pim_sandbox.catalog.common import _Dice

#: Path (below the base URL) of the download route of a media file; ``{code}`` keeps its slashes.
MEDIA_DOWNLOAD_PATH = "/api/rest/v1/media-files/{code}/download"

_MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "PDF": "application/pdf",
}

_CODE_RE = re.compile(r"^([0-9a-f])/([0-9a-f])/([0-9a-f])/([0-9a-f])/([0-9a-f]{40})_(.+)$")
_SANITIZE_RE = re.compile(rb"[^A-Za-z0-9.]")


def sanitize_filename(original_filename: str) -> str:
    """Sanitize a filename the way Akeneo's ``PathGenerator`` does for media codes.

    Every byte of the UTF-8 name outside ``[A-Za-z0-9.]`` becomes ``_`` (``ü`` is two bytes, so two
    underscores); names longer than 100 characters are cut to 95 plus the extension.

    :param original_filename: the file name as uploaded.
    :return: the sanitized name used in the code.
    """
    sanitized = _SANITIZE_RE.sub(b"_", original_filename.encode("utf-8")).decode("ascii")
    if len(sanitized) > 100:
        extension = original_filename.rsplit(".", 1)[-1] if "." in original_filename else ""
        sanitized = f"{sanitized[:95]}.{extension}"
    return sanitized


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A product media file: Akeneo's media-file resource plus its bytes.

    :ivar code: Akeneo media code, ``a/b/c/d/<sha1>_<sanitized filename>``.
    :ivar extension: the original file's extension as uploaded (case kept, as Akeneo does).
    :ivar content: the file bytes served by the download route.
    """

    code: str
    original_filename: str
    mime_type: str
    size: int
    extension: str
    content: bytes

    def to_resource(self) -> dict[str, Any]:
        """Return the resource as ``GET /api/rest/v1/media-files/{code}`` shows it, without ``_links``."""
        return {
            "code": self.code,
            "original_filename": self.original_filename,
            "mime_type": self.mime_type,
            "size": self.size,
            "extension": self.extension,
        }


@dataclass(frozen=True, slots=True)
class _MediaSpec:
    """Everything needed to render one media file; the owner is the product whose identifier it carries (its
    index), or the product model whose code it carries (the code)."""

    owner: int | str
    attribute: str
    locale: str | None
    scope: str | None
    kind: str
    original_filename: str


@dataclass(frozen=True, slots=True)
class _Slot:
    """One product value pointing at a media file."""

    attribute: str
    locale: str | None
    scope: str | None
    spec: _MediaSpec


@dataclass(frozen=True, slots=True)
class _AssetFile:
    """Everything needed to render one asset binary: an Asset Manager media file or a PAM reference/variation.

    A derived file (a transformation's thumbnail, a PAM variation) is rendered from its ``source``'s bytes, as
    the PIM generates it from the uploaded file; ``max_side`` is its size bound (``None``: re-encoded only).
    """

    group: str
    owner: int
    role: str
    attribute: str
    locale: str | None
    channel: str | None
    kind: str
    original_filename: str
    source: _AssetFile | None = None
    max_side: int | None = None


class _MediaCache:
    """Thread-safe LRU of rendered media, bounded by total bytes so memory stays flat.

    Keys are the frozen specs media are rendered from (product media and asset files alike).
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[Hashable, MediaFile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, spec: Hashable) -> MediaFile | None:
        with self._lock:
            media = self._items.get(spec)
            if media is not None:
                self._items.move_to_end(spec)
            return media

    def put(self, spec: Hashable, media: MediaFile) -> None:
        with self._lock:
            if spec in self._items:
                return
            self._items[spec] = media
            self._bytes += media.size
            while self._bytes > self._max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.size


class MediaRenderer:
    """Renders media files from their specs, through one cache bounded in bytes.

    :param seed: seed of the pixels.
    :param max_bytes: bound of the cache of rendered media; a miss only costs rendering again.
    :param photo_side: pictures are product photos of this side, in px (module docstring);
        ``None``: small drawings.
    """

    def __init__(
        self, seed: int, max_bytes: int, max_descriptions: int = 2_000_000, photo_side: int | None = None
    ) -> None:
        self.seed = seed
        self.photo_side = photo_side
        self._media = _MediaCache(max_bytes)
        # spec -> the media file without its bytes: what a resource shows of it (code, size, type)
        self._descriptions: dict[Hashable, MediaFile] = {}
        self._max_descriptions = max_descriptions
        self._lock = threading.Lock()

    def describe(self, spec: _MediaSpec | _AssetFile) -> MediaFile:
        """Return the media file of ``spec`` without its bytes (``content`` empty): what a resource
        shows of it. Its code is the SHA-1 of the bytes (module docstring), so the file is rendered
        the first time; the description is then kept (about 0.4 kB; at most ``max_descriptions``,
        the oldest forgotten first), so that listing a resource again renders nothing."""
        described = self._descriptions.get(spec)
        if described is not None:
            return described
        media = self.render(spec) if isinstance(spec, _MediaSpec) else self.render_asset_file(spec)
        described = dataclasses.replace(media, content=b"")
        self.remember([(spec, described)])
        return described

    def remember(self, descriptions: Iterable[tuple[Hashable, MediaFile]]) -> None:
        """Keep descriptions made elsewhere (:meth:`describe`; another process warming the catalog)."""
        with self._lock:
            for spec, described in descriptions:
                if len(self._descriptions) >= self._max_descriptions:
                    del self._descriptions[next(iter(self._descriptions))]
                self._descriptions[spec] = described

    def render(self, spec: _MediaSpec) -> MediaFile:
        cached = self._media.get(spec)
        if cached is not None:
            return cached
        dice = _Dice(self.seed, "pixels", spec.owner, spec.attribute, spec.locale, spec.scope)
        content = _pdf(spec.original_filename) if spec.kind == "PDF" else self._picture(spec.kind, dice)
        media = _media_file(content, spec.original_filename, spec.kind)
        self._media.put(spec, media)
        return media

    def render_asset_file(self, spec: _AssetFile) -> MediaFile:
        cached = self._media.get(spec)
        if cached is not None:
            return cached
        if spec.source is not None:
            source = self.render_asset_file(spec.source).content
            derive = _derived_photo if self.photo_side else _derived_image
            content = derive(source, spec.kind, spec.max_side)
        elif spec.kind == "PDF":
            content = _pdf(spec.original_filename)
        else:
            dice = _Dice(
                self.seed,
                "asset-pixels",
                spec.group,
                spec.owner,
                spec.role,
                spec.attribute,
                spec.locale,
                spec.channel,
            )
            content = self._picture(spec.kind, dice)
        media = _media_file(content, spec.original_filename, spec.kind)
        self._media.put(spec, media)
        return media

    def _picture(self, kind: str, dice: _Dice) -> bytes:
        """A small drawing, or a photo of the pool when the catalog has a ``photo_side``."""
        if self.photo_side:
            return _photo(kind, dice.below(PHOTO_POOL), self.photo_side)
        return _image(kind, dice)

    def add_media_values(
        self, values: dict[str, list[dict[str, Any]]], slots: list[_Slot], base_url: str
    ) -> None:
        for slot in slots:
            media = self.describe(slot.spec)
            href = base_url + MEDIA_DOWNLOAD_PATH.format(code=media.code)
            values.setdefault(slot.attribute, []).append(
                {
                    "locale": slot.locale,
                    "scope": slot.scope,
                    "data": media.code,
                    "_links": {"download": {"href": href}},
                }
            )


def _extension(kind: str, stem: str, dice: _Dice) -> str:
    if kind == "JPEG":
        # Camera exports keep their upper-case extension; Akeneo keeps the extension as uploaded.
        return "JPG" if stem.startswith("IMG ") else dice.pick(("jpg", "jpg", "jpg", "jpeg"))
    if kind == "TIFF":
        return dice.pick(("tif", "tiff"))
    return kind.lower()


def _media_file(content: bytes, original_filename: str, kind: str) -> MediaFile:
    """Wrap rendered bytes as a media file, coded as Akeneo's ``PathGenerator`` does (module docstring)."""
    digest = hashlib.sha1(content + original_filename.encode("utf-8")).hexdigest()
    return MediaFile(
        code=f"{'/'.join(digest[:4])}/{digest}_{sanitize_filename(original_filename)}",
        original_filename=original_filename,
        mime_type=_MIME_TYPES[kind],
        size=len(content),
        extension=original_filename.rsplit(".", 1)[-1],
        content=content,
    )


def _derived_image(content: bytes, kind: str, max_side: int | None) -> bytes:
    """Render a file the PIM derives from another (a transformation's thumbnail, a PAM variation).

    The picture is shrunk to ``max_side`` (never enlarged), or only re-encoded when ``max_side`` is ``None``,
    in the source's format.
    """
    with Image.open(io.BytesIO(content)) as source:
        picture = source.copy()
    if max_side is not None:
        picture.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    options = {"quality": 95 if max_side is None else 85} if kind == "JPEG" else {}
    picture.save(buffer, format=kind, **options)
    return buffer.getvalue()


#: Photos per format a catalog with ``photo_side`` draws its pictures from (each rendered once).
PHOTO_POOL = 4


@functools.lru_cache(maxsize=64)
def _photo(kind: str, number: int, side: int) -> bytes:
    """Photo ``number`` of the pool (:func:`photo_picture`) in format ``kind``; JPEG at quality
    88, as product photos are exported."""
    picture = photo_picture(number, side)
    if kind == "GIF":
        picture = picture.quantize(colors=256)
    buffer = io.BytesIO()
    picture.save(buffer, format=kind, **({"quality": 88} if kind == "JPEG" else {}))
    return buffer.getvalue()


def photo_picture(number: int, side: int) -> Image.Image:
    """Photo ``number`` of the pool: a shaded, textured object (its texture from a SHAKE-256
    stream, so the same pixels in every process) on a white background, ``side`` px a side
    (tests/benchmarks/bench_identify.py measures the media check on it)."""
    width, height = side * 3 // 5, side * 7 // 10
    noise = hashlib.shake_256(f"photo|{number}".encode()).digest(width * height)
    texture = Image.frombytes("L", (width, height), noise).filter(ImageFilter.GaussianBlur(1))
    tint = ((120 + 40 * number) % 256, (60 + 70 * number) % 256, (30 + 90 * number) % 256)
    product = Image.blend(Image.merge("RGB", (texture,) * 3), Image.new("RGB", (width, height), tint), 0.6)
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, width, height), fill=255)
    picture = Image.new("RGB", (side, side), "white")
    picture.paste(product, (side // 5, side * 3 // 20), mask)
    return picture


@functools.lru_cache(maxsize=64)
def _derived_photo(content: bytes, kind: str, max_side: int | None) -> bytes:
    """:func:`_derived_image` of a photo of the pool, made once per photo, format and size."""
    return _derived_image(content, kind, max_side)


def _image(kind: str, dice: _Dice) -> bytes:
    """Render a small picture (24..96 px a side) whose size, colours and shapes come from ``dice``."""
    width, height = dice.between(24, 96), dice.between(24, 96)
    alpha = kind == "PNG" and dice.chance(0.3)
    mode = "RGBA" if alpha else "RGB"

    def colour() -> tuple[int, ...]:
        rgb = (dice.below(256), dice.below(256), dice.below(256))
        return (*rgb, dice.between(96, 255)) if alpha else rgb

    picture = Image.new(mode, (width, height), colour())
    draw = ImageDraw.Draw(picture)
    for _ in range(3):
        x0, y0 = dice.below(width), dice.below(height)
        box = (x0, y0, x0 + dice.between(4, width), y0 + dice.between(4, height))
        (draw.ellipse if dice.chance(0.5) else draw.rectangle)(box, fill=colour())
    if kind == "GIF":
        picture = picture.quantize(colors=16)
    buffer = io.BytesIO()
    picture.save(buffer, format=kind, **({"quality": 85} if kind == "JPEG" else {}))
    return buffer.getvalue()


def _pdf(title: str) -> bytes:
    """Return a minimal, valid one-page PDF showing ``title`` (ASCII-folded), with a correct xref table."""
    text = (
        title.encode("ascii", "replace")
        .decode("ascii")
        .replace("\\", "/")
        .replace("(", "[")
        .replace(")", "]")
    )
    stream = f"BT /F1 12 Tf 36 760 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
