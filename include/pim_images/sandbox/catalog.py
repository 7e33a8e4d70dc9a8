"""Deterministic, lazily generated Akeneo catalog for the sandbox server.

The catalog is what a real Akeneo 7 PIM would hold for the parts the pipeline reads: channels, locales,
attributes, families, products (``products-uuid`` resources) and product media files with real image bytes.

Nothing is stored per product. Each product is derived from ``(seed, index)`` when asked for, and media
bytes are rendered with Pillow on demand and kept in a small LRU cache bounded in bytes, so memory stays flat
whether the catalog has 300 or 100,000 products. The same ``(products, seed)`` always gives byte-identical
products and media (with the same Pillow build).

Edge cases the pipeline must meet are both spread at random (by the seed) and pinned to the first products,
so even a tiny catalog has them:

=====  ==========================================================================================
index  pinned case
=====  ==========================================================================================
0      family ``shoes``, every image attribute filled for every locale and scope, a user manual
1      shares the ``main_image`` media file of product 0 (same media code)
2      no image at all
3      ``main_image`` is a GIF
4      disabled product whose ``main_image`` is a TIFF
5      ``main_image`` is a BMP
6      ``main_image`` is a PNG
=====  ==========================================================================================

Media codes follow Akeneo's layout (``PathGenerator``): ``a/b/c/d/<40 hex>_<sanitized filename>``, where the
filename is sanitized byte by byte (every byte outside ``[A-Za-z0-9.]`` becomes ``_``, so ``ü`` gives ``__``)
and the first four path parts are the first four hex characters. Real Akeneo hashes a random value; here the
hex is ``sha1(content + original filename)`` so codes are stable. Every original filename contains the
identifier of the product that owns the file, which is how :meth:`SandboxCatalog.media` finds a file from its
code without any index.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from PIL import Image, ImageDraw

__all__ = [
    "MEDIA_DOWNLOAD_PATH",
    "MediaFile",
    "ProductHeader",
    "SandboxCatalog",
    "generate_catalog",
    "sanitize_filename",
]

#: Path (below the base URL) of the download route of a media file; ``{code}`` keeps its slashes.
MEDIA_DOWNLOAD_PATH = "/api/rest/v1/media-files/{code}/download"

_UPDATED_FROM = datetime(2026, 1, 1, tzinfo=UTC)
_UPDATED_TO = datetime(2026, 11, 1, tzinfo=UTC)
_UPDATED_SPAN = int((_UPDATED_TO - _UPDATED_FROM).total_seconds())
_MAX_PRODUCTS = 2_000_000
# uuid prefixes are base + index * stride with base < 2**31: a fixed stride keeps product i the same whatever
# the catalog size, and 2**31 + 2,000,000 * 1021 still fits in 32 bits.
_UUID_STRIDE = 1021

_ECOMMERCE_LOCALES = ("de_DE", "en_US", "fr_FR")
_PRINT_LOCALES = ("en_US",)
_FAMILY_WEIGHTS = (("shoes", 40), ("shirts", 35), ("accessories", 25))
_IMAGE_FORMAT_WEIGHTS = (("JPEG", 78), ("PNG", 14), ("GIF", 3), ("TIFF", 3), ("BMP", 2))
_ASSOCIATION_TYPES = ("PACK", "SUBSTITUTION", "UPSELL", "X_SELL")

_MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "PDF": "application/pdf",
}

# Pinned edge cases, see the module docstring.
_PINNED: dict[int, dict[str, Any]] = {
    0: {"family": "shoes", "full": True},
    1: {"family": "shoes", "share_main": True},
    2: {"no_image": True},
    3: {"main_format": "GIF"},
    4: {"enabled": False, "main_format": "TIFF"},
    5: {"main_format": "BMP"},
    6: {"main_format": "PNG"},
}

# Original filenames. Each holds {sku} so that a media code leads back to its owner; some hold spaces,
# apostrophes and non-ASCII letters, as files uploaded by merchandisers do.
_MAIN_STEMS = ("{sku}", "{sku} front", "{sku}_packshot", "IMG {sku}")
_BACK_STEMS = ("{sku} back", "{sku}_rückseite")
_LIFESTYLE_STEMS = {
    "shoes": {
        "en_US": "Trail shoe {sku} lifestyle",
        "fr_FR": "Chaussure été {sku}",
        "de_DE": "Schuh grün {sku}",
    },
    "shirts": {
        "en_US": "Shirt {sku} on model",
        "fr_FR": "Chemise à carreaux {sku}",
        "de_DE": "Hemd weiß {sku}",
    },
    "accessories": {
        "en_US": "Belt {sku} styled",
        "fr_FR": "Ceinture cuir {sku}",
        "de_DE": "Gürtel braun {sku}",
    },
}
_ZOOM_STEM = "{sku} zoom {scope}"
_DETAIL_STEM = "{sku} détail {locale} {scope}"
_MANUAL_STEMS = ("{sku} user manual", "Bedienungsanleitung {sku}", "Notice d'utilisation {sku}")

_NAMES = {
    "shoes": {"en_US": "Trail running shoe", "fr_FR": "Chaussure de trail", "de_DE": "Traillaufschuh"},
    "shirts": {"en_US": "Oxford shirt", "fr_FR": "Chemise Oxford", "de_DE": "Oxford-Hemd"},
    "accessories": {"en_US": "Leather belt", "fr_FR": "Ceinture en cuir", "de_DE": "Ledergürtel"},
}
_COLOURS = (
    {"en_US": "black", "fr_FR": "noir", "de_DE": "schwarz"},
    {"en_US": "green", "fr_FR": "vert", "de_DE": "grün"},
    {"en_US": "sand", "fr_FR": "sable", "de_DE": "sandfarben"},
    {"en_US": "navy", "fr_FR": "bleu marine", "de_DE": "marineblau"},
)

_CODE_RE = re.compile(r"^([0-9a-f])/([0-9a-f])/([0-9a-f])/([0-9a-f])/([0-9a-f]{40})_(.+)$")
_OWNER_RE = re.compile(r"SKU_(\d+)")
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


_SIX_U32 = struct.Struct(">6I")


def _weighted(weights: tuple[tuple[str, int], ...], roll: int) -> str:
    """Return the key of ``weights`` that the 32-bit ``roll`` falls on, proportionally to the weights."""
    roll %= sum(weight for _, weight in weights)
    for key, weight in weights:
        if roll < weight:
            return key
        roll -= weight
    raise AssertionError("unreachable")


class _Dice:
    """Deterministic stream of numbers keyed by a tuple, independent of Python's ``random`` algorithms.

    ``random`` only promises a stable ``random()`` sequence across versions; a keyed BLAKE2 stream is stable
    everywhere and cheap enough to derive a product header in a few microseconds.
    """

    __slots__ = ("_buffer", "_counter", "_key", "_pos")

    def __init__(self, *parts: object) -> None:
        self._key = "|".join(map(str, parts)).encode("utf-8")
        self._counter = 0
        self._buffer = b""
        self._pos = 0

    def _u32(self) -> int:
        if self._pos + 4 > len(self._buffer):
            self._buffer = hashlib.blake2b(
                self._key + self._counter.to_bytes(4, "big"), digest_size=64
            ).digest()
            self._counter += 1
            self._pos = 0
        value = int.from_bytes(self._buffer[self._pos : self._pos + 4], "big")
        self._pos += 4
        return value

    def below(self, bound: int) -> int:
        """Return an integer in ``[0, bound)``."""
        return self._u32() % bound

    def between(self, low: int, high: int) -> int:
        """Return an integer in ``[low, high]``."""
        return low + self.below(high - low + 1)

    def chance(self, probability: float) -> bool:
        """Return ``True`` with the given probability."""
        return self._u32() < probability * 2**32

    def pick(self, options: tuple[Any, ...]) -> Any:
        """Return one of ``options``."""
        return options[self.below(len(options))]

    def weighted(self, weights: tuple[tuple[str, int], ...]) -> str:
        """Return a key of ``weights`` with probability proportional to its weight."""
        return _weighted(weights, self._u32())


@dataclass(frozen=True, slots=True)
class ProductHeader:
    """The cheap part of a product, enough to filter and sort without building values or media.

    :ivar index: position in identifier (and uuid) order, from 0.
    :ivar uuid: Akeneo 7 product uuid; uuids sort like indexes, as ``search_after`` needs.
    :ivar identifier: the ``sku`` value, e.g. ``SKU-00001``.
    """

    index: int
    uuid: str
    identifier: str
    family: str
    enabled: bool
    categories: tuple[str, ...]
    created: datetime
    updated: datetime


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
    """Everything needed to render one media file; the owner is the product whose identifier it carries."""

    owner: int
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


class _MediaCache:
    """Thread-safe LRU of rendered media, bounded by total bytes so memory stays flat."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[_MediaSpec, MediaFile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, spec: _MediaSpec) -> MediaFile | None:
        with self._lock:
            media = self._items.get(spec)
            if media is not None:
                self._items.move_to_end(spec)
            return media

    def put(self, spec: _MediaSpec, media: MediaFile) -> None:
        with self._lock:
            if spec in self._items:
                return
            self._items[spec] = media
            self._bytes += media.size
            while self._bytes > self._max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.size


class SandboxCatalog:
    """A generated Akeneo catalog; build it with :func:`generate_catalog`.

    Structure resources (:attr:`channels`, :attr:`locales`, :attr:`attributes`, :attr:`families`,
    :attr:`categories`) are read-only mappings from code to the resource as the Akeneo API returns it
    (without ``_links``), ordered by code as Akeneo lists them; treat them as read-only. Products and media
    are computed on demand.

    :param products: number of products.
    :param seed: seed of everything random.
    :param media_cache_bytes: bound of the cache of rendered media; a miss only costs rendering again.
    :raises ValueError: if ``products`` is negative or above 2,000,000 (the uuid scheme's room).
    """

    def __init__(self, products: int, seed: int, *, media_cache_bytes: int = 32 * 1024 * 1024) -> None:
        if not 0 <= products <= _MAX_PRODUCTS:
            raise ValueError(f"products must be between 0 and {_MAX_PRODUCTS}, got {products}")
        self.seed = seed
        self.products_count = products
        self._width = max(5, len(str(products)))
        self._uuid_base = _Dice(seed, "uuid-base").below(2**31)
        self._media = _MediaCache(media_cache_bytes)
        self.channels: Mapping[str, dict[str, Any]] = _freeze(_channels())
        self.locales: Mapping[str, dict[str, Any]] = _freeze(_locales())
        self.attributes: Mapping[str, dict[str, Any]] = _freeze(_attributes())
        self.families: Mapping[str, dict[str, Any]] = _freeze(_families())
        self.categories: Mapping[str, dict[str, Any]] = _freeze(_categories())

    # -- products -------------------------------------------------------------------------------------

    def header(self, index: int) -> ProductHeader:
        """Return the cheap header of product ``index`` (uuid, identifier, family, status, dates).

        Filters and both paginations scan headers, so one BLAKE2 digest feeds every field: a header costs a
        few microseconds, and a filtered walk over 100,000 products stays around a second.

        :raises IndexError: if ``index`` is outside ``[0, products_count)``.
        """
        self._check_index(index)
        digest = self._digest(index)
        family_roll, enabled_roll, updated_s, created_s, sale_roll, new_roll = _SIX_U32.unpack_from(digest)
        pinned = _PINNED.get(index, {})
        family = pinned.get("family") or _weighted(_FAMILY_WEIGHTS, family_roll)
        updated = _UPDATED_FROM + timedelta(seconds=updated_s % _UPDATED_SPAN)
        categories = [family]
        if sale_roll < 0.2 * 2**32:
            categories.append("summer_sale")
        if new_roll < 0.15 * 2**32:
            categories.append("new_arrivals")
        return ProductHeader(
            index=index,
            uuid=self._uuid(index, digest),
            identifier=f"SKU-{index + 1:0{self._width}d}",
            family=family,
            enabled=pinned.get("enabled", enabled_roll >= 0.05 * 2**32),
            categories=tuple(sorted(categories)),
            created=updated - timedelta(seconds=created_s % (400 * 86_400)),
            updated=updated,
        )

    def iter_headers(self, start: int = 0) -> Iterator[ProductHeader]:
        """Yield product headers in identifier order, from ``start``."""
        for index in range(max(start, 0), self.products_count):
            yield self.header(index)

    def product(self, index: int, base_url: str = "") -> dict[str, Any]:
        """Return product ``index`` as the ``products-uuid`` resource, without its own ``_links``.

        Like Akeneo 7 (``ConnectorProductWithUuidNormalizer``) the identifier is not a root key: it is the
        ``sku`` value. Media values carry ``_links.download.href``; it is absolute when ``base_url`` is given.

        :param index: product position, from 0.
        :param base_url: scheme, host and port of the server, e.g. ``http://127.0.0.1:8080``.
        :raises IndexError: if ``index`` is outside the catalog.
        """
        header = self.header(index)
        return {
            "uuid": header.uuid,
            "enabled": header.enabled,
            "family": header.family,
            "categories": list(header.categories),
            "groups": [],
            "parent": None,
            "values": self._values(header, base_url),
            "created": _iso(header.created),
            "updated": _iso(header.updated),
            "associations": {
                code: {"products": [], "product_models": [], "groups": []} for code in _ASSOCIATION_TYPES
            },
            "quantified_associations": {},
        }

    def iter_products(self, base_url: str = "") -> Iterator[dict[str, Any]]:
        """Yield every product resource in identifier (and uuid) order."""
        for index in range(self.products_count):
            yield self.product(index, base_url)

    def index_of_uuid(self, uuid: str) -> int | None:
        """Return the index of the product with this uuid, or ``None``; O(1), no lookup table."""
        try:
            prefix = int(uuid[:8], 16)
        except ValueError:
            return None
        offset = prefix - self._uuid_base
        if offset < 0 or offset % _UUID_STRIDE:
            return None
        index = offset // _UUID_STRIDE
        if index >= self.products_count or self.header(index).uuid != uuid:
            return None
        return index

    def first_index_after_uuid(self, uuid: str) -> int:
        """Return the index of the first product whose uuid sorts after ``uuid`` (``search_after`` order)."""
        low, high = 0, self.products_count
        while low < high:
            middle = (low + high) // 2
            if self._uuid(middle) <= uuid:
                low = middle + 1
            else:
                high = middle
        return low

    # -- media ----------------------------------------------------------------------------------------

    def media(self, code: str) -> MediaFile:
        """Return the media file with this code, rendering it if it is not cached.

        :raises KeyError: if no product value of the catalog points at ``code``.
        """
        match = _CODE_RE.match(code)
        owner = _OWNER_RE.search(match.group(6)) if match else None
        if match is None or owner is None or "".join(match.group(1, 2, 3, 4)) != match.group(5)[:4]:
            raise KeyError(code)
        index = int(owner.group(1)) - 1
        if not 0 <= index < self.products_count:
            raise KeyError(code)
        for slot in self._plan(index):
            spec = slot.spec
            if spec.owner == index and sanitize_filename(spec.original_filename) == match.group(6):
                media = self._render(spec)
                if media.code == code:
                    return media
        raise KeyError(code)

    def product_media(self, index: int) -> list[MediaFile]:
        """Return the media files product ``index`` points at, in value order (shared files included)."""
        return [self._render(slot.spec) for slot in self._plan(index)]

    # -- internals ------------------------------------------------------------------------------------

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.products_count:
            raise IndexError(f"product index {index} outside [0, {self.products_count})")

    def _digest(self, index: int) -> bytes:
        return hashlib.blake2b(b"%d|product|%d" % (self.seed, index), digest_size=40).digest()

    def _uuid(self, index: int, digest: bytes | None = None) -> str:
        # The first 32 bits grow with the index so that uuid order is identifier order (Akeneo sorts
        # search_after pages by uuid); the other bits are seeded noise with the RFC 4122 v4 markers.
        prefix = self._uuid_base + index * _UUID_STRIDE
        tail = bytearray((digest or self._digest(index))[24:36])
        tail[2] = 0x40 | (tail[2] & 0x0F)
        tail[4] = 0x80 | (tail[4] & 0x3F)
        hex_ = f"{prefix:08x}{tail.hex()}"
        return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"

    def _values(self, header: ProductHeader, base_url: str) -> dict[str, list[dict[str, Any]]]:
        values: dict[str, list[dict[str, Any]]] = {
            "sku": [{"locale": None, "scope": None, "data": header.identifier}],
            "name": self._names(header),
        }
        for slot in self._plan(header.index):
            media = self._render(slot.spec)
            href = base_url + MEDIA_DOWNLOAD_PATH.format(code=media.code)
            values.setdefault(slot.attribute, []).append(
                {
                    "locale": slot.locale,
                    "scope": slot.scope,
                    "data": media.code,
                    "_links": {"download": {"href": href}},
                }
            )
        return values

    def _names(self, header: ProductHeader) -> list[dict[str, Any]]:
        dice = _Dice(self.seed, "name", header.index)
        colour = dice.pick(_COLOURS)
        number = header.identifier.removeprefix("SKU-").lstrip("0") or "0"
        names = []
        for locale in _ECOMMERCE_LOCALES:
            # de_DE names are sometimes missing: translations lag behind in real catalogs.
            if locale == "de_DE" and header.index not in _PINNED and dice.chance(0.15):
                continue
            text = f"{_NAMES[header.family][locale]} {colour[locale]} {number}"
            names.append({"locale": locale, "scope": None, "data": text})
        return names

    def _plan(self, index: int) -> list[_Slot]:
        """Return the media slots of product ``index``, in the order values list them."""
        header = self.header(index)
        pinned = _PINNED.get(index, {})
        full = pinned.get("full", False)
        dice = _Dice(self.seed, "plan", index)
        attributes = set(self.families[header.family]["attributes"])
        slots: list[_Slot] = []

        def add(attribute: str, locale: str | None, scope: str | None, probability: float) -> None:
            if attribute in attributes and (full or dice.chance(probability)):
                spec = self._spec(header, attribute, locale, scope)
                slots.append(_Slot(attribute, locale, scope, spec))

        no_image = pinned.get("no_image", False) or (not pinned and dice.chance(0.07))
        if not no_image:
            if "main_image" in attributes and (pinned or dice.chance(0.96)):
                slots.append(self._main_slot(header))
            add("back_image", None, None, 0.5)
            if full or dice.chance(0.4):
                for locale in _ECOMMERCE_LOCALES:
                    add("lifestyle_image", locale, None, 0.75)
            if full or dice.chance(0.3):
                for scope in ("ecommerce", "print"):
                    add("zoom_image", None, scope, 0.8)
            if full or dice.chance(0.25):
                for scope, locales in (("ecommerce", _ECOMMERCE_LOCALES), ("print", _PRINT_LOCALES)):
                    for locale in locales:
                        add("detail_image", locale, scope, 0.6)
        add("user_manual", None, None, 0.25)
        return slots

    def _main_slot(self, header: ProductHeader) -> _Slot:
        # A product borrows the main image of the previous one when it wants to and the previous one owns
        # its own: no chains, so a shared file is always owned by the product its filename names.
        index = header.index
        if index > 0 and self._wants_to_share(index) and not self._wants_to_share(index - 1):
            previous = self.header(index - 1)
            if self._has_own_main(previous):
                return _Slot("main_image", None, None, self._spec(previous, "main_image", None, None))
        return _Slot("main_image", None, None, self._spec(header, "main_image", None, None))

    def _wants_to_share(self, index: int) -> bool:
        pinned = _PINNED.get(index)
        if pinned is not None:
            return bool(pinned.get("share_main"))
        return _Dice(self.seed, "share", index).chance(0.04)

    def _has_own_main(self, header: ProductHeader) -> bool:
        plan = self._plan(header.index)
        return bool(plan) and plan[0].attribute == "main_image" and plan[0].spec.owner == header.index

    def _spec(
        self, header: ProductHeader, attribute: str, locale: str | None, scope: str | None
    ) -> _MediaSpec:
        dice = _Dice(self.seed, "media", header.index, attribute, locale, scope)
        sku = header.identifier
        if attribute == "user_manual":
            filename = f"{dice.pick(_MANUAL_STEMS).format(sku=sku)}.pdf"
            return _MediaSpec(header.index, attribute, locale, scope, "PDF", filename)
        kind = dice.weighted(_IMAGE_FORMAT_WEIGHTS)
        if attribute == "main_image" and "main_format" in _PINNED.get(header.index, {}):
            kind = _PINNED[header.index]["main_format"]
        if attribute == "main_image":
            stem = dice.pick(_MAIN_STEMS)
        elif attribute == "back_image":
            stem = dice.pick(_BACK_STEMS)
        elif attribute == "lifestyle_image":
            stem = _LIFESTYLE_STEMS[header.family][locale or "en_US"]
        elif attribute == "zoom_image":
            stem = _ZOOM_STEM
        else:
            stem = _DETAIL_STEM
        extension = _extension(kind, stem, dice)
        filename = f"{stem.format(sku=sku, locale=locale, scope=scope)}.{extension}"
        return _MediaSpec(header.index, attribute, locale, scope, kind, filename)

    def _render(self, spec: _MediaSpec) -> MediaFile:
        cached = self._media.get(spec)
        if cached is not None:
            return cached
        dice = _Dice(self.seed, "pixels", spec.owner, spec.attribute, spec.locale, spec.scope)
        content = _pdf(spec.original_filename) if spec.kind == "PDF" else _image(spec.kind, dice)
        digest = hashlib.sha1(content + spec.original_filename.encode("utf-8")).hexdigest()
        media = MediaFile(
            code=f"{'/'.join(digest[:4])}/{digest}_{sanitize_filename(spec.original_filename)}",
            original_filename=spec.original_filename,
            mime_type=_MIME_TYPES[spec.kind],
            size=len(content),
            extension=spec.original_filename.rsplit(".", 1)[-1],
            content=content,
        )
        self._media.put(spec, media)
        return media


def generate_catalog(products: int = 300, seed: int = 7) -> SandboxCatalog:
    """Return the sandbox catalog for ``products`` products derived from ``seed``.

    Generation is lazy: this call costs the same for 300 or 100,000 products, and the same arguments always
    give byte-identical resources and media.

    :param products: number of products, identifiers ``SKU-00001`` upwards.
    :param seed: any integer; another seed gives other uuids, dates, families, filenames and pixels.
    :raises ValueError: if ``products`` is negative or above 2,000,000.
    """
    return SandboxCatalog(products, seed)


# -- structure -----------------------------------------------------------------------------------------


def _freeze(resources: list[dict[str, Any]]) -> Mapping[str, dict[str, Any]]:
    return MappingProxyType({resource["code"]: resource for resource in sorted(resources, key=_code)})


def _code(resource: dict[str, Any]) -> str:
    return str(resource["code"])


def _labels(en: str, fr: str, de: str) -> dict[str, str]:
    return {"de_DE": de, "en_US": en, "fr_FR": fr}


def _channels() -> list[dict[str, Any]]:
    return [
        {
            "code": "ecommerce",
            "currencies": ["EUR", "USD"],
            "locales": list(_ECOMMERCE_LOCALES),
            "category_tree": "master",
            "conversion_units": {},
            "labels": _labels("Ecommerce", "E-commerce", "E-Commerce"),
        },
        {
            "code": "print",
            "currencies": ["USD"],
            "locales": list(_PRINT_LOCALES),
            "category_tree": "master",
            "conversion_units": {},
            "labels": _labels("Print", "Impression", "Druck"),
        },
    ]


def _locales() -> list[dict[str, Any]]:
    enabled = set(_ECOMMERCE_LOCALES) | set(_PRINT_LOCALES)
    codes = ("de_DE", "en_GB", "en_US", "es_ES", "fr_FR", "it_IT")
    return [{"code": code, "enabled": code in enabled} for code in codes]


_GROUP_LABELS = {
    "general": _labels("General", "Général", "Allgemein"),
    "media": _labels("Media", "Médias", "Medien"),
    "documents": _labels("Documents", "Documents", "Dokumente"),
}


def _attribute(
    code: str, type_: str, group: str, sort_order: int, labels: dict[str, str], **extra: Any
) -> dict:
    """Return an attribute in the full Akeneo format (keys and nulls as the Swagger example shows)."""
    resource: dict[str, Any] = {
        "code": code,
        "type": type_,
        "group": group,
        "group_labels": _GROUP_LABELS[group],
        "unique": type_ == "pim_catalog_identifier",
        "useable_as_grid_filter": type_ in ("pim_catalog_identifier", "pim_catalog_text"),
        "allowed_extensions": [],
        "metric_family": None,
        "default_metric_unit": None,
        "reference_data_name": None,
        "available_locales": [],
        "max_characters": None,
        "validation_rule": None,
        "validation_regexp": None,
        "wysiwyg_enabled": None,
        "number_min": None,
        "number_max": None,
        "decimals_allowed": None,
        "negative_allowed": None,
        "date_min": None,
        "date_max": None,
        "max_file_size": None,
        "minimum_input_length": None,
        "sort_order": sort_order,
        "localizable": False,
        "scopable": False,
        "default_value": None,
        "labels": labels,
    }
    resource.update(extra)
    return resource


def _attributes() -> list[dict[str, Any]]:
    # BMP is not in Akeneo's default list for image attributes; on-premise PIMs can extend the list, and
    # the pipeline must cope with what it finds.
    images = ["bmp", "gif", "jpeg", "jpg", "png", "tif", "tiff"]
    image = {"allowed_extensions": images, "max_file_size": "10.00"}
    return [
        _attribute(
            "sku",
            "pim_catalog_identifier",
            "general",
            0,
            _labels("SKU", "SKU", "SKU"),
            max_characters=255,
            validation_rule="regexp",
            validation_regexp=r"^SKU-\d+$",
        ),
        _attribute(
            "name",
            "pim_catalog_text",
            "general",
            1,
            _labels("Name", "Nom", "Name"),
            localizable=True,
            max_characters=255,
        ),
        # sort_order deliberately differs from code order and from the order of this list.
        _attribute(
            "main_image",
            "pim_catalog_image",
            "media",
            10,
            _labels("Main image", "Image principale", "Hauptbild"),
            **image,
        ),
        _attribute(
            "lifestyle_image",
            "pim_catalog_image",
            "media",
            20,
            _labels("Lifestyle", "Ambiance", "Lifestyle"),
            localizable=True,
            **image,
        ),
        _attribute(
            "back_image",
            "pim_catalog_image",
            "media",
            30,
            _labels("Back view", "Vue de dos", "Rückansicht"),
            **image,
        ),
        _attribute(
            "detail_image",
            "pim_catalog_image",
            "media",
            40,
            _labels("Detail", "Détail", "Detail"),
            localizable=True,
            scopable=True,
            **image,
        ),
        _attribute(
            "zoom_image",
            "pim_catalog_image",
            "media",
            50,
            _labels("Zoom", "Zoom", "Zoom"),
            scopable=True,
            **image,
        ),
        _attribute(
            "user_manual",
            "pim_catalog_file",
            "documents",
            60,
            _labels("User manual", "Notice d'utilisation", "Bedienungsanleitung"),
            allowed_extensions=["pdf"],
            max_file_size="20.00",
        ),
    ]


def _families() -> list[dict[str, Any]]:
    def family(code: str, attributes: list[str], labels: dict[str, str]) -> dict[str, Any]:
        required = ["main_image", "name", "sku"]
        return {
            "code": code,
            "attributes": sorted(attributes),
            "attribute_as_label": "name",
            "attribute_as_image": "main_image",
            "attribute_requirements": {"ecommerce": required, "print": ["name", "sku"]},
            "labels": labels,
        }

    base = ["sku", "name", "main_image"]
    return [
        family(
            "shoes",
            [*base, "back_image", "lifestyle_image", "zoom_image", "detail_image", "user_manual"],
            _labels("Shoes", "Chaussures", "Schuhe"),
        ),
        family(
            "shirts",
            [*base, "back_image", "lifestyle_image", "zoom_image"],
            _labels("Shirts", "Chemises", "Hemden"),
        ),
        family(
            "accessories",
            [*base, "lifestyle_image", "detail_image", "user_manual"],
            _labels("Accessories", "Accessoires", "Accessoires"),
        ),
    ]


def _categories() -> list[dict[str, Any]]:
    def category(code: str, parent: str | None, labels: dict[str, str]) -> dict[str, Any]:
        return {"code": code, "parent": parent, "labels": labels}

    return [
        category("master", None, _labels("Master catalog", "Catalogue principal", "Hauptkatalog")),
        category("shoes", "master", _labels("Shoes", "Chaussures", "Schuhe")),
        category("shirts", "master", _labels("Shirts", "Chemises", "Hemden")),
        category("accessories", "master", _labels("Accessories", "Accessoires", "Accessoires")),
        category("summer_sale", "master", _labels("Summer sale", "Soldes d'été", "Sommerschlussverkauf")),
        category("new_arrivals", "master", _labels("New arrivals", "Nouveautés", "Neuheiten")),
    ]


# -- bytes ---------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    """Format a date as Akeneo's ``DateTimeNormalizer`` does (ISO 8601 with offset; SaaS runs in UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _extension(kind: str, stem: str, dice: _Dice) -> str:
    if kind == "JPEG":
        # Camera exports keep their upper-case extension; Akeneo keeps the extension as uploaded.
        return "JPG" if stem.startswith("IMG ") else dice.pick(("jpg", "jpg", "jpg", "jpeg"))
    if kind == "TIFF":
        return dice.pick(("tif", "tiff"))
    return kind.lower()


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
