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

Assets
------

A PIM has one asset system or the other (``generate_catalog(asset_system=...)``):

- ``"new"``, the Asset Manager of PIM 4.0 and later (asset-manager.md): four asset families,
  ``packshots`` (main media a ``media_file`` picture, plus a generated thumbnail, ``media_link`` attributes
  ``url_large`` and ``url_thumb``, a localizable ``alt_text``), ``lifestyle`` (a picture per locale),
  ``cdn_images`` (main media a scopable ``media_link`` holding whole URLs, no binary at all) and
  ``user_guides`` (PDFs). Products get ``pim_catalog_asset_collection`` attributes ``packshots``,
  ``lifestyle_assets``, ``cdn_images`` and ``user_guides`` whose ``reference_data_name`` is the asset family.
- ``"old"``, the PAM of PIM 1.7 to 3.2 (pam.md): assets with reference files (one, or one per locale) and
  variation files per channel (and locale), and ``pim_assets_collection`` product attributes ``packshots``,
  ``lifestyle_assets`` and ``user_guides``.

Assets are derived from the products as everything else is: product ``i`` owns the assets whose codes start
with its identifier in lower case, ``sku_00012_front``, ``sku_00012_back``, ``sku_00012_lifestyle_1``,
``sku_00012_cdn``, ``sku_00012_user_guide`` (PAM: ``sku_00012_lifestyle``). Identifiers have a fixed width,
so walking the products in order and each product's assets in code order lists the assets in code order,
which is the order of ``search_after`` pages, without any index. Asset binaries are named after the
identifier too, which is how :meth:`SandboxCatalog.asset_media` finds one from its code.

Product collections keep their own order (products.md, "Asset collection": the order of the codes is the order
shown), which is rarely the code order: ``front`` comes before ``back``. Edge cases are spread at random and
pinned, without touching the images of the pinned products above:

=====  ==========================================================================================
index  pinned asset case (both systems unless said)
=====  ==========================================================================================
0      every asset family filled, every locale and channel (goes with "every image attribute")
2      no asset at all (goes with "no image at all")
7      collections in an order that is neither code order nor its reverse: side, front, back;
       Asset Manager: lifestyle 2 before lifestyle 1
8      the ``packshots`` collection names an asset that does not exist (``sku_00009_deleted``)
9      no asset at all, whatever its images
10     ``cdn_images`` links outside ``https://cdn.example.com/images/`` (another host for
       ``ecommerce``, another path for ``print``); lifestyle picture in ``fr_FR`` only; PAM: no
       ``print`` variation of its front packshot, lifestyle reference file in ``fr_FR`` only
11     its ``lifestyle_assets`` collection starts with an asset of product 10 (one asset, two
       products); front packshot is a PNG, back packshot a GIF
=====  ==========================================================================================

Product models and variants
---------------------------

With ``generate_catalog(models=N)`` (default 0: nothing below exists, and every resource is as without the
keyword) the catalog also has N root product models and their sub-models and variant products. The
attributes gain the simple-select axes ``color`` (black, blue, green, red, white), ``size`` (xs to xxl) and
``material`` (canvas, leather, suede); each family gains its axes; the ``sku`` rule widens to
``^SKU-\\d+(-[A-Z0-9]+)*$``. Each family has one family variant (catalog-structure.md); attributes in no
set are the root model's:

=============================  =====================  ==========================================
family variant                 level: axes            images owned per level
=============================  =====================  ==========================================
shoes_by_size                  root                   lifestyle, zoom, detail images, user manual
                               1: size                main_image, back_image (and sku)
shirts_by_color_size           root                   zoom_image
                               1: color (sub-model)   lifestyle_image
                               2: size                main_image, back_image (and sku)
accessories_by_color_material  root                   lifestyle, detail images, user manual
                               1: color + material    main_image (and sku)
=============================  =====================  ==========================================

Root model ``i`` (code ``MODEL-00001`` upwards) is a shoe (5 sizes), a shirt (3 colour sub-models
``MODEL-00002-blue``..., 4 sizes each) or an accessory (4 colour/material pairs) as ``i % 3`` says, so its
variants' indexes are computed, never stored. Variant products are products after the simple ones
(identifiers continue the ``SKU-`` numbering), with ``parent`` set, the root's family and categories, and,
as the API returns them (products.md), their ancestors' values merged in; a sub-model holds its root's
values too. Models and variants have no asset collections. Model files are named after the model code.

=====  ==========================================================================================
model  pinned case (index of the root model)
=====  ==========================================================================================
0      every image attribute filled at every level, every locale and scope
1      variant identifiers of about 75 characters: each sub-model's ``;``-joined SKUs exceed 255
2      no variant has an image of its own
3      the root model has no image of its own
4      its first sub-model (in code order) has no image of its own
=====  ==========================================================================================
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

from PIL import Image, ImageDraw

__all__ = [
    "ASSET_LINK_PREFIX",
    "ASSET_MEDIA_PATH",
    "ASSET_SYSTEMS",
    "MEDIA_DOWNLOAD_PATH",
    "PAM_NO_LOCALE",
    "PAM_REFERENCE_PATH",
    "PAM_VARIATION_PATH",
    "AssetHeader",
    "AssetSystem",
    "MediaFile",
    "ModelHeader",
    "ProductHeader",
    "SandboxCatalog",
    "generate_catalog",
    "sanitize_filename",
]

#: Path (below the base URL) of the download route of a media file; ``{code}`` keeps its slashes.
MEDIA_DOWNLOAD_PATH = "/api/rest/v1/media-files/{code}/download"
#: Download route of an Asset Manager media file (asset-manager.md, "The _links format"); ``{code}`` keeps
#: its slashes.
ASSET_MEDIA_PATH = "/api/rest/v1/asset-media-files/{code}"
#: PAM reference file and variation file routes (pam.md); ``{locale}`` is ``no_locale`` for a non-localizable
#: asset, as the links of pam.md's example show.
PAM_REFERENCE_PATH = "/api/rest/v1/assets/{asset}/reference-files/{locale}"
PAM_VARIATION_PATH = "/api/rest/v1/assets/{asset}/variation-files/{channel}/{locale}"
PAM_NO_LOCALE = "no_locale"
#: Prefix of the ``url_large``/``url_thumb`` media link attributes: the CDN that hosts the images.
ASSET_LINK_PREFIX = "https://cdn.example.com/images/assets/"

AssetSystem = Literal["new", "old"]
#: ``new``: the Asset Manager (PIM >= 4.0); ``old``: the PAM (PIM <= 3.2). A PIM has one or the other.
ASSET_SYSTEMS: tuple[AssetSystem, ...] = ("new", "old")
#: Catalogs that break a rule of the connector, for the validate stage's tests
#: (``generate_catalog(defects=...)``); none by default. Only the attributes change: the
#: validate stage stops a run before any product is read.
DEFECTS = {
    "localizable_collection": "collection attribute packshots is localizable and lifestyle_assets scopable",
    "missing_asset_family": "collection attribute retired_assets names asset family retired_media, "
    "which does not exist (Asset Manager only)",
}

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

# Products 0-11 carry the pinned image and asset cases (module docstring): never disabled at
# random, or a pinned case would vanish from the pipeline's view for some seeds.
_PINNED_SPAN = 12
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

# -- asset constants (see "Assets" in the module docstring) -------------------------------------------

# Product asset collection attribute -> asset group. A group is the asset family (new system) or the kind of
# PAM asset (the PAM has no families); both systems use the same product attribute codes where they can.
_COLLECTIONS: dict[AssetSystem, tuple[tuple[str, str], ...]] = {
    "new": (
        ("packshots", "packshots"),
        ("lifestyle_assets", "lifestyle"),
        ("cdn_images", "cdn_images"),
        ("user_guides", "user_guides"),
    ),
    "old": (("packshots", "packshots"), ("lifestyle_assets", "lifestyle"), ("user_guides", "user_guides")),
}
# Collection attributes of each product family (shirts come without a user guide).
_FAMILY_COLLECTIONS = {
    "shoes": ("packshots", "lifestyle_assets", "cdn_images", "user_guides"),
    "shirts": ("packshots", "lifestyle_assets", "cdn_images"),
    "accessories": ("packshots", "lifestyle_assets", "cdn_images", "user_guides"),
}
_PACKSHOT_VIEWS = (("back", 0.55), ("front", 0.92), ("side", 0.2))
_ASSET_IMAGE_WEIGHTS = (("JPEG", 80), ("PNG", 15), ("GIF", 5))
_LINK_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}
_PACKSHOT_STEMS = ("{sku}-{view}", "{sku} {view} packshot", "{sku}_{view}_détouré")
_LIFESTYLE_ASSET_STEMS = {
    "de_DE": "{sku} Stimmung {n} grün",
    "en_US": "{sku} lifestyle {n}",
    "fr_FR": "{sku} ambiance {n} été",
}
_GUIDE_STEMS = ("{sku} user guide", "Bedienungsanleitung {sku}", "Guide d'utilisation {sku}")
_VIEW_LABELS = {
    "back": {"de_DE": "Rückansicht", "en_US": "back view", "fr_FR": "vue de dos"},
    "front": {"de_DE": "Vorderansicht", "en_US": "front view", "fr_FR": "vue de face"},
    "side": {"de_DE": "Seitenansicht", "en_US": "side view", "fr_FR": "vue de côté"},
}
# Hosts and paths of cdn_images links: under the external image location, or (a few) outside it.
_CDN_INSIDE = "https://cdn.example.com/images/cdn/{sku}-{channel}.{ext}"
_CDN_OTHER_HOST = "https://media.partner-cdn.net/{sku}/{channel}.{ext}"
_CDN_OTHER_PATH = "https://cdn.example.com/static/cdn/{sku}-{channel}.{ext}"
_THUMBNAIL_SIDE = 32  # the packshots family's transformation makes 32 px thumbnails
_PAM_VARIATION_SIDES = {"ecommerce": 48, "print": None}  # None: same size, re-encoded
_PAM_END_OF_USE = "2027-06-30T00:00:00+0000"  # pam.md's example writes the offset without a colon
# Pinned asset edge cases, see the module docstring; kept apart from _PINNED so that the images of products
# 7 to 11 stay as they were.
_ASSET_PINNED: dict[int, str] = {
    0: "full",
    2: "none",
    7: "unsorted",
    8: "unknown_code",
    9: "none",
    10: "outside_link",
    11: "shared",
}
_ASSET_CODE_RE = re.compile(r"^sku_(\d+)_([a-z0-9_]+)$")


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
    :ivar ancestors: for a variant product, its parent model's code then (two levels) the root model's;
        empty for a simple product.
    :ivar ancestors_updated: the ``updated`` dates of ``ancestors``, in the same order (the ``updated``
        filter also returns a variant whose ancestor matches, filter.md).
    """

    index: int
    uuid: str
    identifier: str
    family: str
    enabled: bool
    categories: tuple[str, ...]
    created: datetime
    updated: datetime
    ancestors: tuple[str, ...] = ()
    ancestors_updated: tuple[datetime, ...] = ()

    @property
    def parent(self) -> str | None:
        """The parent product model's code (``parent`` of the resource), ``None`` for a simple product."""
        return self.ancestors[0] if self.ancestors else None


@dataclass(frozen=True, slots=True)
class ModelHeader:
    """The cheap part of a product model: enough to list, filter and page without building values.

    :ivar index: the root model's position, from 0 (a sub-model has its root's index).
    :ivar code: e.g. ``MODEL-00002`` (root) or ``MODEL-00002-blue`` (sub-model: root code and colour).
    :ivar level: 0 for a root model, 1 for a sub-model.
    :ivar parent: the root model's code for a sub-model, ``None`` for a root model.
    :ivar axes: the axis values this level owns, e.g. ``(("color", "blue"),)``; empty for a root model.
    """

    index: int
    code: str
    family: str
    family_variant: str
    level: int
    parent: str | None
    axes: tuple[tuple[str, str], ...]
    categories: tuple[str, ...]
    created: datetime
    updated: datetime


@dataclass(frozen=True, slots=True)
class _ModelLayout:
    """The axis options a root model's variants use: sizes (shoes, shirts), colours of its sub-models
    (shirts), (colour, material) pairs (accessories)."""

    family: str
    sizes: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()


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
class AssetHeader:
    """The cheap part of an asset: enough to list, filter and page without rendering any binary.

    :ivar group: the asset family code (new system), or the kind of PAM asset (``packshots``, ``lifestyle``,
        ``user_guides``), since the PAM has no families.
    :ivar code: the asset code, e.g. ``sku_00012_front``.
    :ivar owner: index of the product whose identifier the code carries.
    :ivar role: the code's tail, e.g. ``front`` or ``lifestyle_1``.
    :ivar created: creation date (Asset Manager resources show it since 6.0; the PAM API never did).
    :ivar updated: last update, what the ``updated`` filter of the asset list reads (filter.md).
    """

    group: str
    code: str
    owner: int
    role: str
    created: datetime
    updated: datetime


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


@dataclass(frozen=True, slots=True)
class _AssetSlot:
    """One Asset Manager value before formatting: text or link data, or the spec of a media file."""

    attribute: str
    locale: str | None
    channel: str | None
    data: str | _AssetFile


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


class SandboxCatalog:
    """A generated Akeneo catalog; build it with :func:`generate_catalog`.

    Structure resources (:attr:`channels`, :attr:`locales`, :attr:`attributes`, :attr:`families`,
    :attr:`categories`) are read-only mappings from code to the resource as the Akeneo API returns it
    (without ``_links``), ordered by code as Akeneo lists them; treat them as read-only. Products and media
    are computed on demand.

    Assets (see "Assets" in the module docstring) are computed on demand too: :attr:`asset_system` says which
    system the PIM has, :attr:`asset_families` and :meth:`asset_attributes` give the Asset Manager structure,
    :meth:`iter_asset_headers`, :meth:`iter_assets` and :meth:`asset` the assets, :meth:`asset_media`,
    :meth:`pam_file` and :meth:`asset_files` their binaries, :meth:`product_asset_codes` the collections.

    Product models (see "Product models and variants" in the module docstring) only exist with ``models > 0``:
    :attr:`models_count` root models, :attr:`family_variants`, :meth:`iter_model_headers`,
    :meth:`iter_product_models`, :meth:`model_header`, :meth:`product_model` and :meth:`variants_of`. Their
    variant products are products too, after the simple ones: :attr:`products_count` counts both,
    :attr:`simple_products_count` and :attr:`variants_count` each kind.

    :param products: number of simple products.
    :param seed: seed of everything random.
    :param asset_system: ``"new"`` (Asset Manager) or ``"old"`` (PAM).
    :param models: number of root product models (their sub-models and variant products come with them).
    :param media_cache_bytes: bound of the cache of rendered media; a miss only costs rendering again.
    :raises ValueError: if ``products`` or ``models`` is negative, products and variants together exceed
        2,000,000 (the uuid scheme's room), or ``asset_system`` is neither ``"new"`` nor ``"old"``.
    """

    def __init__(
        self,
        products: int,
        seed: int,
        *,
        asset_system: AssetSystem = "new",
        models: int = 0,
        defects: Collection[str] = (),
        media_cache_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        if not 0 <= products <= _MAX_PRODUCTS:
            raise ValueError(f"products must be between 0 and {_MAX_PRODUCTS}, got {products}")
        if models < 0 or products + _variants_before(models) > _MAX_PRODUCTS:
            raise ValueError(
                f"models must be at least 0 and products and variants at most {_MAX_PRODUCTS}, got {models}"
            )
        if asset_system not in ASSET_SYSTEMS:
            raise ValueError(f"asset_system must be one of {', '.join(ASSET_SYSTEMS)}, got {asset_system!r}")
        unknown = sorted(set(defects) - set(DEFECTS))
        if unknown:
            raise ValueError(f"unknown defects {', '.join(unknown)}; known: {', '.join(DEFECTS)}")
        self.seed = seed
        #: Root product models; each brings its sub-models (two-level family variants) and variant products.
        self.models_count = models
        #: Simple products, indexes ``[0, simple_products_count)``.
        self.simple_products_count = products
        #: Variant products, indexes ``[simple_products_count, products_count)``.
        self.variants_count = _variants_before(models)
        #: Every product served by ``products-uuid``: the simple ones, then the variants.
        self.products_count = products + self.variants_count
        self.asset_system: AssetSystem = asset_system
        self._width = max(5, len(str(products)))
        self._variant_width = max(5, len(str(self.products_count)))
        self._model_width = max(5, len(str(models)))
        self._uuid_base = _Dice(seed, "uuid-base").below(2**31)
        self._media = _MediaCache(media_cache_bytes)
        self.channels: Mapping[str, dict[str, Any]] = _freeze(_channels())
        self.locales: Mapping[str, dict[str, Any]] = _freeze(_locales())
        self.attributes: Mapping[str, dict[str, Any]] = _freeze(
            _with_defects(_attributes(asset_system, variation=models > 0), asset_system, frozenset(defects))
        )
        self.families: Mapping[str, dict[str, Any]] = _freeze(_families(asset_system, variation=models > 0))
        #: Family variants of each family (family code -> resources in code order, as
        #: ``GET /families/{family}/variants`` lists them); every list is empty without models.
        self.family_variants: Mapping[str, tuple[dict[str, Any], ...]] = MappingProxyType(
            {code: tuple(_family_variants(code) if models else ()) for code in self.families}
        )
        self.categories: Mapping[str, dict[str, Any]] = _freeze(_categories())
        #: Asset Manager families by code (empty for the PAM, which has none), as
        #: ``GET /asset-families/{code}`` shows them; treat them as read-only.
        self.asset_families: Mapping[str, dict[str, Any]] = _freeze(
            _asset_families() if asset_system == "new" else []
        )
        self._asset_attributes: Mapping[str, tuple[dict[str, Any], ...]] = MappingProxyType(
            _asset_family_attributes() if asset_system == "new" else {}
        )

    # -- products -------------------------------------------------------------------------------------

    def header(self, index: int) -> ProductHeader:
        """Return the cheap header of product ``index`` (uuid, identifier, family, status, dates).

        Filters and both paginations scan headers, so one BLAKE2 digest feeds every field: a header costs a
        few microseconds, and a filtered walk over 100,000 products stays around a second.

        :raises IndexError: if ``index`` is outside ``[0, products_count)``.
        """
        self._check_index(index)
        if index >= self.simple_products_count:
            return self._variant_header(index)
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
            enabled=pinned.get("enabled", index < _PINNED_SPAN or enabled_roll >= 0.05 * 2**32),
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
            "parent": header.parent,
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

    # -- product models and variants ----------------------------------------------------------------------

    def iter_model_headers(self, *, after: str | None = None) -> Iterator[ModelHeader]:
        """Yield product model headers in code order (the order of ``search_after`` pages): each root model,
        then its sub-models in colour code order.

        :param after: only models whose code sorts after this one (a ``search_after`` cursor); any string
            works.
        """
        start = 0
        if after is not None:  # root codes have a fixed width, so they sort like their indexes
            low, high = 0, self.models_count
            while low < high:
                middle = (low + high) // 2
                if self._model_code(middle) <= after:
                    low = middle + 1
                else:
                    high = middle
            start = max(low - 1, 0)
        for index in range(start, self.models_count):
            for header in self._model_family_tree(index):
                if after is None or header.code > after:
                    yield header

    def iter_product_models(self, base_url: str = "") -> Iterator[dict[str, Any]]:
        """Yield every product model resource in code order, as :meth:`iter_model_headers` lists them."""
        for header in self.iter_model_headers():
            yield self._model_resource(header, base_url)

    def model_header(self, code: str) -> ModelHeader:
        """Return the header of the product model ``code`` (root or sub-model), without building values.

        :raises KeyError: if there is no such product model.
        """
        match = _MODEL_CODE_RE.match(code)
        if match is None:
            raise KeyError(code)
        index = int(match.group(1)) - 1
        if not 0 <= index < self.models_count or self._model_code(index) != f"MODEL-{match.group(1)}":
            raise KeyError(code)
        for header in self._model_family_tree(index):
            if header.code == code:
                return header
        raise KeyError(code)

    def product_model(self, code: str, base_url: str = "") -> dict[str, Any]:
        """Return a product model as ``GET /api/rest/v1/product-models/{code}`` shows it, without ``_links``.

        Its values hold its ancestors' values merged in, as the API returns them (products.md); media values
        carry ``_links.download.href``, absolute when ``base_url`` is given.

        :raises KeyError: if there is no such product model.
        """
        return self._model_resource(self.model_header(code), base_url)

    def variants_of(self, code: str) -> list[ProductHeader]:
        """Return the headers of the variant products below a product model, in index (and uuid) order.

        For a root model of a two-level family variant, these are the variants of all its sub-models.

        :raises KeyError: if there is no such product model.
        """
        header = self.model_header(code)
        first = self.simple_products_count + _variants_before(header.index)
        count = _SHAPE_VARIANTS[header.index % len(_MODEL_SHAPES)]
        variants = [self.header(index) for index in range(first, first + count)]
        return [variant for variant in variants if code in variant.ancestors]

    # -- product model internals ------------------------------------------------------------------------

    def _model_code(self, index: int) -> str:
        return f"MODEL-{index + 1:0{self._model_width}d}"

    def _layout(self, index: int) -> _ModelLayout:
        """Return root model ``index``'s family and the axis options its variants use."""
        family = _MODEL_SHAPES[index % len(_MODEL_SHAPES)]
        dice = _Dice(self.seed, "model-layout", index)
        sizes, colours = _AXIS_OPTIONS["size"], _AXIS_OPTIONS["color"]
        if family == "shoes":
            start = dice.below(len(sizes) - 4)
            return _ModelLayout(family, sizes=sizes[start : start + 5])
        if family == "shirts":
            start = dice.below(len(sizes) - 3)
            return _ModelLayout(
                family, colours=tuple(sorted(_distinct(colours, 3, dice))), sizes=sizes[start : start + 4]
            )
        pairs = tuple((colour, material) for colour in colours for material in _AXIS_OPTIONS["material"])
        return _ModelLayout(family, pairs=tuple(sorted(_distinct(pairs, 4, dice))))

    def _model_family_tree(self, index: int) -> list[ModelHeader]:
        """Return root model ``index`` and its sub-models, in code order."""
        root = self._root_header(index)
        return [root, *(self._sub_header(root, colour) for colour in self._layout(index).colours)]

    def _root_header(self, index: int) -> ModelHeader:
        layout = self._layout(index)
        dice = _Dice(self.seed, "model-header", index)
        updated = _UPDATED_FROM + timedelta(seconds=dice.below(_UPDATED_SPAN))
        categories = [layout.family]
        if dice.chance(0.2):
            categories.append("summer_sale")
        if dice.chance(0.15):
            categories.append("new_arrivals")
        return ModelHeader(
            index=index,
            code=self._model_code(index),
            family=layout.family,
            family_variant=_FAMILY_VARIANT_SETS[layout.family][0],
            level=0,
            parent=None,
            axes=(),
            categories=tuple(sorted(categories)),
            created=updated - timedelta(seconds=dice.below(400 * 86_400)),
            updated=updated,
        )

    def _sub_header(self, root: ModelHeader, colour: str) -> ModelHeader:
        dice = _Dice(self.seed, "sub-model-header", root.index, colour)
        updated = _UPDATED_FROM + timedelta(seconds=dice.below(_UPDATED_SPAN))
        return ModelHeader(
            index=root.index,
            code=f"{root.code}-{colour}",
            family=root.family,
            family_variant=root.family_variant,
            level=1,
            parent=root.code,
            axes=(("color", colour),),
            categories=root.categories,  # the API merges the ancestors' categories in
            created=min(root.created, updated),
            updated=updated,
        )

    def _variant_position(self, index: int) -> tuple[int, int]:
        """Return (root model index, variant position in the model) of variant product ``index``."""
        cycle, rest = divmod(index - self.simple_products_count, _CYCLE_VARIANTS)
        shape = sum(1 for offset in _SHAPE_OFFSETS[1:] if rest >= offset)
        return cycle * len(_MODEL_SHAPES) + shape, rest - _SHAPE_OFFSETS[shape]

    def _variant_axes(self, layout: _ModelLayout, position: int) -> tuple[tuple[str, str], ...]:
        """Return the axis values a variant owns (the last level's axes)."""
        if layout.family == "shoes":
            return (("size", layout.sizes[position]),)
        if layout.family == "shirts":
            return (("size", layout.sizes[position % len(layout.sizes)]),)
        colour, material = layout.pairs[position]
        return (("color", colour), ("material", material))

    def _variant_header(self, index: int) -> ProductHeader:
        model, position = self._variant_position(index)
        layout = self._layout(model)
        root = self._root_header(model)
        ancestors: tuple[ModelHeader, ...] = (root,)
        if layout.colours:
            ancestors = (self._sub_header(root, layout.colours[position // len(layout.sizes)]), root)
        digest = self._digest(index)
        enabled_roll, updated_s, created_s = struct.unpack_from(">3I", digest, 4)
        identifier = f"SKU-{index + 1:0{self._variant_width}d}"
        if _MODEL_PINNED.get(model) == "long_identifiers":
            axes = dict(ancestors[0].axes) | dict(self._variant_axes(layout, position))
            identifier = _LONG_SKU.format(
                sku=identifier, color=axes["color"].upper(), size=axes["size"].upper()
            )
        updated = _UPDATED_FROM + timedelta(seconds=updated_s % _UPDATED_SPAN)
        return ProductHeader(
            index=index,
            uuid=self._uuid(index, digest),
            identifier=identifier,
            family=layout.family,
            enabled=enabled_roll >= 0.03 * 2**32,
            categories=root.categories,
            created=updated - timedelta(seconds=created_s % (400 * 86_400)),
            updated=updated,
            ancestors=tuple(ancestor.code for ancestor in ancestors),
            ancestors_updated=tuple(ancestor.updated for ancestor in ancestors),
        )

    def _model_resource(self, header: ModelHeader, base_url: str) -> dict[str, Any]:
        return {
            "code": header.code,
            "family": header.family,
            "family_variant": header.family_variant,
            "parent": header.parent,
            "categories": list(header.categories),
            "values": self._model_values(header, base_url),
            "created": _iso(header.created),
            "updated": _iso(header.updated),
            "associations": {
                code: {"products": [], "product_models": [], "groups": []} for code in _ASSOCIATION_TYPES
            },
            "quantified_associations": {},
        }

    def _model_values(self, header: ModelHeader, base_url: str) -> dict[str, list[dict[str, Any]]]:
        """Return a model's values with its parent's merged in (products.md: the API returns inherited
        values); the root's first."""
        values = (
            {} if header.parent is None else self._model_values(self.model_header(header.parent), base_url)
        )
        if header.level == 0:
            values["name"] = [
                {
                    "locale": locale,
                    "scope": None,
                    "data": f"{_NAMES[header.family][locale]} {header.index + 1}",
                }
                for locale in _ECOMMERCE_LOCALES
            ]
        for axis, option in header.axes:
            values[axis] = [_axis_value(axis, option)]
        self._add_media_values(values, self._model_plan(header), base_url)
        return values

    def _variant_values(self, header: ProductHeader, base_url: str) -> dict[str, list[dict[str, Any]]]:
        """Return a variant's values: its identifier, its ancestors' values merged in (root first), then its
        own axes and images."""
        model, position = self._variant_position(header.index)
        values: dict[str, list[dict[str, Any]]] = {
            "sku": [{"locale": None, "scope": None, "data": header.identifier}]
        }
        values.update(self._model_values(self.model_header(header.ancestors[0]), base_url))
        for axis, option in self._variant_axes(self._layout(model), position):
            values[axis] = [_axis_value(axis, option)]
        self._add_media_values(values, self._plan(header.index), base_url)
        return values

    def _add_media_values(
        self, values: dict[str, list[dict[str, Any]]], slots: list[_Slot], base_url: str
    ) -> None:
        for slot in slots:
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

    def _model_plan(self, header: ModelHeader) -> list[_Slot]:
        """Return the media slots a product model owns (its level's image attributes; not inherited ones)."""
        pin = _MODEL_PINNED.get(header.index)
        dice = _Dice(self.seed, "model-plan", header.code)
        if pin == "bare_root" and header.level == 0:
            return []
        if (
            pin == "bare_sub_model"
            and header.level == 1
            and header.axes[0][1] == self._layout(header.index).colours[0]
        ):
            return []
        if pin is None and dice.chance(0.05 if header.level == 0 else 0.1):
            return []

        def spec(attribute: str, locale: str | None, scope: str | None) -> _MediaSpec:
            return self._model_spec(header, attribute, locale, scope)

        return _level_slots(_level_attributes(header.family, header.level), pin == "full", dice, spec)

    def _variant_plan(self, header: ProductHeader) -> list[_Slot]:
        """Return the media slots a variant product owns (the last level's image attributes)."""
        model, _ = self._variant_position(header.index)
        pin = _MODEL_PINNED.get(model)
        dice = _Dice(self.seed, "variant-plan", header.index)
        if pin == "bare_variants" or (pin is None and dice.chance(0.12)):
            return []
        attributes = _level_attributes(header.family, len(_FAMILY_VARIANT_SETS[header.family][2]))

        def spec(attribute: str, locale: str | None, scope: str | None) -> _MediaSpec:
            return self._spec(header, attribute, locale, scope)

        return _level_slots(attributes, pin == "full", dice, spec)

    def _model_spec(
        self, header: ModelHeader, attribute: str, locale: str | None, scope: str | None
    ) -> _MediaSpec:
        """Like :meth:`_spec`, for a file a product model owns: its name carries the model's code."""
        dice = _Dice(self.seed, "model-media", header.code, attribute, locale, scope)
        if attribute == "user_manual":
            filename = f"{dice.pick(_MANUAL_STEMS).format(sku=header.code)}.pdf"
            return _MediaSpec(header.code, attribute, locale, scope, "PDF", filename)
        kind = dice.weighted(_IMAGE_FORMAT_WEIGHTS)
        stems = {
            "main_image": lambda: dice.pick(_MAIN_STEMS),
            "back_image": lambda: dice.pick(_BACK_STEMS),
            "lifestyle_image": lambda: _LIFESTYLE_STEMS[header.family][locale or "en_US"],
            "zoom_image": lambda: _ZOOM_STEM,
        }
        stem = stems.get(attribute, lambda: _DETAIL_STEM)()
        extension = _extension(kind, stem, dice)
        filename = f"{stem.format(sku=header.code, locale=locale, scope=scope)}.{extension}"
        return _MediaSpec(header.code, attribute, locale, scope, kind, filename)

    def _model_media(self, code: str, sanitized: str) -> MediaFile:
        """Find a media file a product model owns from its code (its name carries the root model's code)."""
        match = _CODE_RE.match(code)
        owner = _MODEL_OWNER_RE.search(sanitized)
        if match is None or owner is None or "".join(match.group(1, 2, 3, 4)) != match.group(5)[:4]:
            raise KeyError(code)
        index = int(owner.group(1)) - 1
        if not 0 <= index < self.models_count:
            raise KeyError(code)
        for header in self._model_family_tree(index):
            for slot in self._model_plan(header):
                if sanitize_filename(slot.spec.original_filename) == sanitized:
                    media = self._render(slot.spec)
                    if media.code == code:
                        return media
        raise KeyError(code)

    # -- media ----------------------------------------------------------------------------------------

    def media(self, code: str) -> MediaFile:
        """Return the media file with this code, rendering it if it is not cached.

        :raises KeyError: if no product value of the catalog points at ``code``.
        """
        match = _CODE_RE.match(code)
        owner = _OWNER_RE.search(match.group(6)) if match else None
        if match is not None and owner is None:
            return self._model_media(code, match.group(6))
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

    # -- assets ---------------------------------------------------------------------------------------

    def asset_attributes(self, family: str) -> list[dict[str, Any]]:
        """Return an Asset Manager family's attributes, as ``GET /asset-families/{f}/attributes`` lists them.

        The list is in the family's attribute order (the order they were created in), not paginated: a family
        has at most 100 attributes (asset-manager.md, "Asset attribute").

        :raises KeyError: if the family does not exist (always, for the PAM).
        """
        return [dict(attribute) for attribute in self._asset_attributes[family]]

    def product_asset_codes(self, index: int) -> dict[str, list[str]]:
        """Return product ``index``'s asset collections: product attribute code -> asset codes, in order.

        The order is the product's own (products.md, "Asset collection": ``data`` is an ordered list of
        codes), mostly not code order: ``front`` comes before ``back``. A few codes name assets that do not
        exist (an asset deleted from the PIM), a few name another product's asset, and a few assets are in no
        collection. Empty collections are left out: Akeneo does not return empty values.

        :raises IndexError: if ``index`` is outside the catalog.
        """
        header = self.header(index)
        if index >= self.simple_products_count:
            return {}  # variant products hold images only (see "Product models and variants")
        plan = self._asset_plan(index)
        pin = _ASSET_PINNED.get(index)
        dice = _Dice(self.seed, "collections", index)
        stem = self._asset_stem(index)
        collections: dict[str, list[str]] = {}
        for attribute, group in _COLLECTIONS[self.asset_system]:
            if attribute not in _FAMILY_COLLECTIONS[header.family]:
                continue
            codes = [f"{stem}_{role}" for role in _collection_roles(group, plan.get(group, ()), pin, dice)]
            if (
                group == "lifestyle"
                and index > 0
                and (pin == "shared" or (pin is None and dice.chance(0.06)))
            ):
                borrowed = self._asset_plan(index - 1).get("lifestyle", ())
                if borrowed:
                    codes.insert(0, f"{self._asset_stem(index - 1)}_{borrowed[0]}")
            if (
                group == "packshots"
                and codes
                and (pin == "unknown_code" or (pin is None and dice.chance(0.03)))
            ):
                codes.insert(1 if pin else dice.below(len(codes) + 1), f"{stem}_deleted")
            if codes:
                collections[attribute] = codes
        return collections

    def iter_asset_headers(
        self, family: str | None = None, *, after: str | None = None
    ) -> Iterator[AssetHeader]:
        """Yield asset headers in code order, the order of the ``search_after`` pages.

        :param family: an Asset Manager family, or for the PAM one of its kinds (``packshots``,
            ``lifestyle``, ``user_guides``); ``None``: every asset (Asset Manager: family after family, in
            family code order).
        :param after: only assets whose code sorts after this one (a ``search_after`` cursor); any string
            works, it need not be an existing code.
        :raises KeyError: if ``family`` is not a family (or PAM kind) of this catalog.
        """
        if family is None and self.asset_system == "new":
            for code in self.asset_families:
                yield from self.iter_asset_headers(code, after=after)
            return
        if family is not None and family not in self._asset_groups():
            raise KeyError(family)
        start = 0 if after is None else self._first_asset_owner(after)
        for index in range(start, self.simple_products_count):
            stem = self._asset_stem(index)
            plan = self._asset_plan(index)
            pairs = sorted(
                (role, group) for group, roles in plan.items() if family in (None, group) for role in roles
            )
            for role, group in pairs:
                if after is None or f"{stem}_{role}" > after:
                    yield self._asset_header(group, index, role)

    def iter_assets(self, family: str | None = None, base_url: str = "") -> Iterator[dict[str, Any]]:
        """Yield asset resources (without their own ``_links``) in code order, as
        :meth:`iter_asset_headers` lists them."""
        for header in self.iter_asset_headers(family):
            yield self._asset_resource(header, base_url)

    def asset_header(self, family: str | None, code: str) -> AssetHeader:
        """Return the header of the asset ``code``, without rendering anything.

        :param family: the asset family (or PAM kind) it must belong to; ``None``: any (codes are unique
            across the families of this catalog, and the PAM has no families).
        :raises KeyError: if there is no such asset.
        """
        match = _ASSET_CODE_RE.match(code)
        if match is None:
            raise KeyError(code)
        index = int(match.group(1)) - 1
        if not 0 <= index < self.simple_products_count or self._asset_stem(index) != f"sku_{match.group(1)}":
            raise KeyError(code)
        role = match.group(2)
        for group, roles in self._asset_plan(index).items():
            if role in roles and family in (None, group):
                return self._asset_header(group, index, role)
        raise KeyError(code)

    def asset(self, family: str | None, code: str, base_url: str = "") -> dict[str, Any]:
        """Return an asset as ``GET /asset-families/{family}/assets/{code}`` (Asset Manager) or
        ``GET /assets/{code}`` (PAM) shows it, without its own ``_links``.

        Binary links (``_links.download`` of media files, ``_link`` of PAM files) are absolute when
        ``base_url`` is given.

        :raises KeyError: if there is no such asset (see :meth:`asset_header`).
        """
        return self._asset_resource(self.asset_header(family, code), base_url)

    def asset_media(self, code: str) -> MediaFile:
        """Return the Asset Manager media file with this code (``GET /asset-media-files/{code}``).

        Like product media, the file's original name carries the identifier of the product that owns the
        asset, so the file is found from its code alone.

        :raises KeyError: if no asset value points at ``code``, or the PIM has the PAM.
        """
        match = _CODE_RE.match(code)
        owner = _OWNER_RE.search(match.group(6)) if match else None
        if self.asset_system != "new" or match is None or owner is None:
            raise KeyError(code)
        index = int(owner.group(1)) - 1
        if not 0 <= index < self.simple_products_count:
            raise KeyError(code)
        for group, roles in self._asset_plan(index).items():
            for role in roles:
                for slot in self._manager_slots(self._asset_header(group, index, role)):
                    spec = slot.data
                    if isinstance(spec, _AssetFile) and sanitize_filename(
                        spec.original_filename
                    ) == match.group(6):
                        media = self._render_asset_file(spec)
                        if media.code == code:
                            return media
        raise KeyError(code)

    def pam_file(
        self,
        asset_code: str,
        kind: Literal["reference", "variation"],
        channel: str | None,
        locale: str | None,
    ) -> MediaFile:
        """Return a PAM reference file (``channel`` ``None``) or variation file with its bytes.

        :param locale: the file's locale, ``None`` for a non-localizable asset (``no_locale`` in the routes).
        :raises KeyError: if the asset or the file does not exist, or the PIM has the Asset Manager.
        """
        if self.asset_system != "old":
            raise KeyError(asset_code)
        references, variations, _ = self._pam_files(self.asset_header(None, asset_code))
        for spec in references if kind == "reference" else variations:
            if spec.locale == locale and spec.channel == (channel if kind == "variation" else None):
                return self._render_asset_file(spec)
        raise KeyError((asset_code, kind, channel, locale))

    def asset_files(self, family: str | None, code: str) -> list[MediaFile]:
        """Return every binary of an asset: its media files in value order (Asset Manager), or its reference
        files then variation files (PAM).

        :raises KeyError: if there is no such asset.
        """
        header = self.asset_header(family, code)
        if self.asset_system == "old":
            references, variations, _ = self._pam_files(header)
            specs = [*references, *variations]
        else:
            specs = [slot.data for slot in self._manager_slots(header) if isinstance(slot.data, _AssetFile)]
        return [self._render_asset_file(spec) for spec in specs]

    # -- asset internals ------------------------------------------------------------------------------

    def _asset_groups(self) -> tuple[str, ...]:
        return tuple(group for _, group in _COLLECTIONS[self.asset_system])

    def _asset_stem(self, index: int) -> str:
        """The code prefix of product ``index``'s assets: its identifier in lower case, ``-`` made ``_``
        (asset codes allow letters, digits and underscores only)."""
        return f"sku_{index + 1:0{self._width}d}"

    def _first_asset_owner(self, after: str) -> int:
        """Return the first product that may own an asset whose code sorts after ``after``.

        Stems grow with the index and all have the same length, so every product before the last one whose
        stem sorts at or before ``after`` only owns codes that sort before it.
        """
        low, high = 0, self.simple_products_count
        while low < high:
            middle = (low + high) // 2
            if self._asset_stem(middle) <= after:
                low = middle + 1
            else:
                high = middle
        return max(low - 1, 0)

    def _asset_plan(self, index: int) -> dict[str, tuple[str, ...]]:
        """Return the assets product ``index`` owns: group -> roles, each tuple in code order."""
        header = self.header(index)
        pin = _ASSET_PINNED.get(index)
        dice = _Dice(self.seed, "asset-plan", index)
        if pin == "none" or (pin is None and dice.chance(0.08)):
            return {}
        groups = {
            group
            for attribute, group in _COLLECTIONS[self.asset_system]
            if attribute in _FAMILY_COLLECTIONS[header.family]
        }
        plan: dict[str, tuple[str, ...]] = {}
        # Pinned products have every view, which their collections' order and unknown codes need.
        views = tuple(view for view, probability in _PACKSHOT_VIEWS if pin or dice.chance(probability))
        if views:
            plan["packshots"] = views
        if pin in ("full", "unsorted"):
            lifestyle = 2
        elif pin in ("outside_link", "shared"):
            lifestyle = 1
        else:
            lifestyle = int(dice.weighted((("0", 60), ("1", 28), ("2", 12))))
        if lifestyle:
            new = self.asset_system == "new"
            plan["lifestyle"] = (
                tuple(f"lifestyle_{n}" for n in range(1, lifestyle + 1)) if new else ("lifestyle",)
            )
        if "cdn_images" in groups and (pin in ("full", "outside_link") or dice.chance(0.18)):
            plan["cdn_images"] = ("cdn",)
        if "user_guides" in groups and (pin == "full" or dice.chance(0.3)):
            plan["user_guides"] = ("user_guide",)
        return plan

    def _asset_header(self, group: str, index: int, role: str) -> AssetHeader:
        # Dates are spread over 2026 like the products' (and independent of them), so a differential run sees
        # assets that changed without their products.
        dice = _Dice(self.seed, "asset-dates", group, index, role)
        updated = _UPDATED_FROM + timedelta(seconds=dice.below(_UPDATED_SPAN))
        return AssetHeader(
            group=group,
            code=f"{self._asset_stem(index)}_{role}",
            owner=index,
            role=role,
            created=updated - timedelta(seconds=dice.below(200 * 86_400)),
            updated=updated,
        )

    def _asset_resource(self, header: AssetHeader, base_url: str) -> dict[str, Any]:
        if self.asset_system == "new":
            return self._manager_asset(header, base_url)
        return self._pam_asset(header, base_url)

    # Asset Manager ------------------------------------------------------------------------------------

    def _manager_asset(self, header: AssetHeader, base_url: str) -> dict[str, Any]:
        """Build the asset as the Asset Manager's connector shows it (asset-manager.md, "Asset")."""
        attributes = {attribute["code"]: attribute for attribute in self._asset_attributes[header.group]}
        slots = self._manager_slots(header)
        values: dict[str, list[dict[str, Any]]] = {}
        for code, attribute in attributes.items():  # values in the family's attribute order
            for slot in slots:
                if slot.attribute == code:
                    values.setdefault(code, []).append(self._manager_value(attribute, slot, header, base_url))
        return {
            "code": header.code,
            "asset_family_code": header.group,
            "values": values,
            "created": _iso(header.created),
            "updated": _iso(header.updated),
        }

    def _manager_value(
        self, attribute: dict[str, Any], slot: _AssetSlot, header: AssetHeader, base_url: str
    ) -> dict[str, Any]:
        """Format one asset value (asset-manager.md, "Focus on the asset values").

        ``channel``, not ``scope``; ``attribute_type`` on every value; media files carry
        ``_links.download`` (their binary route) and ``linked_data`` (file facts), media links
        ``linked_data`` with the full URL, as "The _links format" and "The linked_data format" show.
        """
        value: dict[str, Any] = {"locale": slot.locale, "channel": slot.channel, "data": slot.data}
        kind = attribute["type"]
        if isinstance(slot.data, _AssetFile):
            media = self._render_asset_file(slot.data)
            value["data"] = media.code
            value["attribute_type"] = kind
            value["_links"] = {"download": {"href": base_url + ASSET_MEDIA_PATH.format(code=media.code)}}
            value["linked_data"] = {
                "size": media.size,
                "mime_type": media.mime_type,
                "extension": media.extension,
                "original_filename": media.original_filename,
                # The file was uploaded with the asset: its date, written as the doc's example writes it.
                "updated_at": header.created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
            return value
        if kind == "media_link":
            prefix, suffix = attribute["prefix"], attribute["suffix"]
            value["linked_data"] = {
                "full_url": f"{prefix or ''}{slot.data}{suffix or ''}",
                "prefix": prefix,
                "suffix": suffix,
            }
        value["attribute_type"] = kind
        return value

    def _manager_slots(self, header: AssetHeader) -> list[_AssetSlot]:
        """Return the values of an Asset Manager asset, unformatted, media files as specs."""
        product = self.header(header.owner)
        pin = _ASSET_PINNED.get(header.owner)
        dice = _Dice(self.seed, "asset", header.group, header.owner, header.role)
        builders = {
            "packshots": _packshot_slots,
            "lifestyle": _lifestyle_slots,
            "cdn_images": _cdn_slots,
            "user_guides": _guide_slots,
        }
        slots = builders[header.group](header, product, pin, dice)
        slots.append(_AssetSlot("product_ref", None, None, product.identifier))
        return slots

    # PAM ----------------------------------------------------------------------------------------------

    def _pam_asset(self, header: AssetHeader, base_url: str) -> dict[str, Any]:
        """Build a PAM asset as PIM 3.x's API shows it: key names of the Swagger file (see the errata)."""
        references, variations, localizable = self._pam_files(header)
        dice = _Dice(self.seed, "pam-properties", header.group, header.owner, header.role)
        product = self.header(header.owner)
        return {
            "code": header.code,
            "categories": [header.group],
            "description": f"{_PAM_DESCRIPTIONS[header.group]} {product.identifier}",
            "localizable": localizable,
            "tags": sorted({header.group, product.family}),
            "end_of_use": _PAM_END_OF_USE if dice.chance(0.1) else None,
            "variation_files": [self._pam_file_entry(header, spec, base_url) for spec in variations],
            "reference_files": [self._pam_file_entry(header, spec, base_url) for spec in references],
        }

    def _pam_file_entry(self, header: AssetHeader, spec: _AssetFile, base_url: str) -> dict[str, Any]:
        locale = spec.locale or PAM_NO_LOCALE
        if spec.channel is None:
            path = PAM_REFERENCE_PATH.format(asset=header.code, locale=locale)
        else:
            path = PAM_VARIATION_PATH.format(asset=header.code, channel=spec.channel, locale=locale)
        entry: dict[str, Any] = {
            "_link": {"download": {"href": f"{base_url}{path}/download"}, "self": {"href": base_url + path}},
            "locale": spec.locale,
        }
        if spec.channel is not None:
            entry["scope"] = spec.channel
        entry["code"] = self._render_asset_file(spec).code
        return entry

    def _pam_files(self, header: AssetHeader) -> tuple[list[_AssetFile], list[_AssetFile], bool]:
        """Return a PAM asset's reference files, variation files and whether it is localizable (pam.md).

        A localizable asset has a reference file per locale (not always every locale); the PIM generates a
        variation file per channel (and locale of the channel) from each image reference file, and none from a
        PDF. A few image variations are missing, as when a generation failed.
        """
        index, role, group = header.owner, header.role, header.group
        sku = self.header(index).identifier
        pin = _ASSET_PINNED.get(index)
        full = pin == "full"
        dice = _Dice(self.seed, "pam", group, index, role)
        if group == "packshots":
            localizable, locales = False, [None]
        elif group == "lifestyle":
            localizable = True
            locales = _asset_locales(pin, dice)
        else:
            localizable = full or dice.chance(0.5)
            locales = list(_ECOMMERCE_LOCALES) if localizable else [None]
        references = [self._pam_reference(group, index, role, sku, locale, dice) for locale in locales]
        variations: list[_AssetFile] = []
        for channel, channel_locales in (("ecommerce", _ECOMMERCE_LOCALES), ("print", _PRINT_LOCALES)):
            for reference in references:
                if reference.kind == "PDF" or reference.locale not in (None, *channel_locales):
                    continue
                failed = channel == "print" and (
                    (pin == "outside_link" and role == "front") or (not full and dice.chance(0.1))
                )
                if not failed:
                    stem, extension = reference.original_filename.rsplit(".", 1)
                    variations.append(
                        _AssetFile(
                            group,
                            index,
                            role,
                            "variation",
                            reference.locale,
                            channel,
                            reference.kind,
                            f"{stem}-{channel}.{extension}",
                            reference,
                            _PAM_VARIATION_SIDES[channel],
                        )
                    )
        return references, variations, localizable

    def _pam_reference(
        self, group: str, index: int, role: str, sku: str, locale: str | None, dice: _Dice
    ) -> _AssetFile:
        if group == "user_guides":
            stem = dice.pick(_GUIDE_STEMS).format(sku=sku)
            filename = f"{stem} {locale}.pdf" if locale else f"{stem}.pdf"
            return _AssetFile(group, index, role, "reference", locale, None, "PDF", filename)
        kind = dice.weighted(_ASSET_IMAGE_WEIGHTS)
        if group == "packshots":
            stem = dice.pick(_PACKSHOT_STEMS).format(sku=sku, view=role)
        else:
            stem = _LIFESTYLE_ASSET_STEMS[locale or "en_US"].format(sku=sku, n=1)
        filename = f"{stem}.{_extension(kind, stem, dice)}"
        return _AssetFile(group, index, role, "reference", locale, None, kind, filename)

    # binaries -----------------------------------------------------------------------------------------

    def _render_asset_file(self, spec: _AssetFile) -> MediaFile:
        cached = self._media.get(spec)
        if cached is not None:
            return cached
        if spec.source is not None:
            content = _derived_image(self._render_asset_file(spec.source).content, spec.kind, spec.max_side)
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
            content = _image(spec.kind, dice)
        media = _media_file(content, spec.original_filename, spec.kind)
        self._media.put(spec, media)
        return media

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
        if header.ancestors:
            return self._variant_values(header, base_url)
        values: dict[str, list[dict[str, Any]]] = {
            "sku": [{"locale": None, "scope": None, "data": header.identifier}],
            "name": self._names(header),
        }
        self._add_media_values(values, self._plan(header.index), base_url)
        # Asset collections come after the media values, so the image values keep their place; both kinds of
        # collection are neither localizable nor scopable and hold asset codes in order (products.md).
        for attribute, codes in self.product_asset_codes(header.index).items():
            values[attribute] = [{"locale": None, "scope": None, "data": codes}]
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
        if header.ancestors:
            return self._variant_plan(header)
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
        if (
            attribute == "main_image"
            and header.index < self.simple_products_count
            and "main_format" in _PINNED.get(header.index, {})
        ):
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
        media = _media_file(content, spec.original_filename, spec.kind)
        self._media.put(spec, media)
        return media


def generate_catalog(
    products: int = 300,
    seed: int = 7,
    *,
    asset_system: AssetSystem = "new",
    models: int = 0,
    defects: Collection[str] = (),
) -> SandboxCatalog:
    """Return the sandbox catalog for ``products`` products derived from ``seed``.

    Generation is lazy: this call costs the same for 300 or 100,000 products, and the same arguments always
    give byte-identical resources and media. The asset system only adds (asset collection attributes and
    values, assets): the image attributes and values are the same with either.

    :param products: number of products, identifiers ``SKU-00001`` upwards.
    :param seed: any integer; another seed gives other uuids, dates, families, filenames and pixels.
    :param asset_system: ``"new"``, the Asset Manager (PIM >= 4.0), or ``"old"``, the PAM (PIM <= 3.2); a PIM
        has one or the other (asset-manager.md, pam.md).
    :param models: number of root product models, with their sub-models and variant products (module
        docstring, "Product models and variants"); ``0``, the default, changes nothing at all.
    :param defects: names from :data:`DEFECTS`: rules of the connector the catalog breaks.
    :raises ValueError: if ``products`` or ``models`` is negative, there would be more than 2,000,000
        products, or the asset system or a defect is unknown.
    """
    return SandboxCatalog(products, seed, asset_system=asset_system, models=models, defects=defects)


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
    "variation": _labels("Variation", "Variation", "Variante"),
    "general": _labels("General", "Général", "Allgemein"),
    "media": _labels("Media", "Médias", "Medien"),
    "documents": _labels("Documents", "Documents", "Dokumente"),
    "assets": _labels("Assets", "Assets", "Assets"),
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


def _attributes(asset_system: AssetSystem, *, variation: bool = False) -> list[dict[str, Any]]:
    """Return the product attributes: the image attributes, then the asset collections of the asset system,
    then (with product models) the variant axes."""
    attributes = [*_image_attributes(), *_asset_collection_attributes(asset_system)]
    if variation:
        # Variant identifiers add their axis values to the SKU, upper-case (one pinned model spells out its
        # whole name): the identifier's rule widens to take them.
        attributes[0] = {**attributes[0], "validation_regexp": _VARIANT_SKU_REGEXP}
        attributes.extend(_axis_attributes())
    return attributes


def _with_defects(
    attributes: list[dict[str, Any]], asset_system: AssetSystem, defects: frozenset[str]
) -> list[dict[str, Any]]:
    """Return the attributes broken as :data:`DEFECTS` says (unchanged without defects)."""
    broken = {"packshots": "localizable", "lifestyle_assets": "scopable"}
    if "localizable_collection" in defects:
        attributes = [{**a, broken[a["code"]]: True} if a["code"] in broken else a for a in attributes]
    if "missing_asset_family" in defects and asset_system == "new":
        attributes.append(
            _attribute(
                "retired_assets",
                "pim_catalog_asset_collection",
                "assets",
                200,
                _labels("Retired assets", "Ressources retirées", "Ausgemusterte Assets"),
                reference_data_name="retired_media",
            )
        )
    return attributes


def _axis_attributes() -> list[dict[str, Any]]:
    """Return the simple selects used as variant axes: never localizable nor scopable (the Swagger file's
    rule for axes)."""
    return [
        _attribute(
            code,
            "pim_catalog_simpleselect",
            "variation",
            sort_order,
            _AXIS_LABELS[code],
            useable_as_grid_filter=True,
        )
        for sort_order, code in enumerate(_AXIS_OPTIONS, start=2)
    ]


def _asset_collection_attributes(asset_system: AssetSystem) -> list[dict[str, Any]]:
    """Return the asset collection attributes, never localizable nor scopable (spec §2).

    Asset Manager collections are ``pim_catalog_asset_collection`` whose ``reference_data_name`` is the asset
    family (products.md, catalog-structure.md); PAM collections are ``pim_assets_collection``, whose
    ``reference_data_name`` was ``assets`` in PIM 3.x.
    """
    labels = {
        "packshots": _labels("Packshots", "Packshots", "Packshots"),
        "lifestyle_assets": _labels("Lifestyle assets", "Images d'ambiance", "Stimmungsbilder"),
        "cdn_images": _labels("CDN images", "Images CDN", "CDN-Bilder"),
        "user_guides": _labels("User guides", "Guides d'utilisation", "Bedienungsanleitungen"),
    }
    new = asset_system == "new"
    return [
        _attribute(
            attribute,
            "pim_catalog_asset_collection" if new else "pim_assets_collection",
            "assets",
            70 + 10 * position,
            labels[attribute],
            reference_data_name=group if new else "assets",
        )
        for position, (attribute, group) in enumerate(_COLLECTIONS[asset_system])
    ]


def _image_attributes() -> list[dict[str, Any]]:
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


def _families(asset_system: AssetSystem, *, variation: bool = False) -> list[dict[str, Any]]:
    collections = {attribute for attribute, _ in _COLLECTIONS[asset_system]}

    def family(code: str, attributes: list[str], labels: dict[str, str]) -> dict[str, Any]:
        required = ["main_image", "name", "sku"]
        assets = [attribute for attribute in _FAMILY_COLLECTIONS[code] if attribute in collections]
        if variation:  # a family variant's axes must be attributes of its family
            assets = [*assets, *_FAMILY_AXES[code]]
        return {
            "code": code,
            "attributes": sorted([*attributes, *assets]),
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


# -- product models (see "Product models and variants" in the module docstring) ------------------------

_AXIS_OPTIONS: dict[str, tuple[str, ...]] = {
    "color": ("black", "blue", "green", "red", "white"),
    "size": ("xs", "s", "m", "l", "xl", "xxl"),
    "material": ("canvas", "leather", "suede"),
}
_AXIS_LABELS = {
    "color": _labels("Color", "Couleur", "Farbe"),
    "size": _labels("Size", "Taille", "Größe"),
    "material": _labels("Material", "Matière", "Material"),
}
_OPTION_LABELS = {
    "black": _labels("Black", "Noir", "Schwarz"),
    "blue": _labels("Blue", "Bleu", "Blau"),
    "green": _labels("Green", "Vert", "Grün"),
    "red": _labels("Red", "Rouge", "Rot"),
    "white": _labels("White", "Blanc", "Weiß"),
    **{size: _labels(size.upper(), size.upper(), size.upper()) for size in _AXIS_OPTIONS["size"]},
    "canvas": _labels("Canvas", "Toile", "Segeltuch"),
    "leather": _labels("Leather", "Cuir", "Leder"),
    "suede": _labels("Suede", "Daim", "Wildleder"),
}
_FAMILY_AXES = {"shoes": ("size",), "shirts": ("color", "size"), "accessories": ("color", "material")}
_VARIANT_SKU_REGEXP = r"^SKU-\d+(-[A-Z0-9]+)*$"
# family -> (family variant code, labels, variant attribute sets as (axes, other attributes of the level)).
# Attributes in no set belong to the root model. The identifier goes to the last level (the Swagger file:
# "identifier [is] automatically distributed to the lower level").
_FAMILY_VARIANT_SETS: dict[
    str, tuple[str, dict[str, str], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]
] = {
    "shoes": (
        "shoes_by_size",
        _labels("Shoes by size", "Chaussures par pointure", "Schuhe nach Größe"),
        ((("size",), ("back_image", "main_image", "sku")),),
    ),
    "shirts": (
        "shirts_by_color_size",
        _labels("Shirts by color and size", "Chemises par couleur et taille", "Hemden nach Farbe und Größe"),
        ((("color",), ("lifestyle_image",)), (("size",), ("back_image", "main_image", "sku"))),
    ),
    "accessories": (
        "accessories_by_color_material",
        _labels(
            "Accessories by color and material",
            "Accessoires par couleur et matière",
            "Accessoires nach Farbe und Material",
        ),
        ((("color", "material"), ("main_image", "sku")),),
    ),
}
# Root model i has family _MODEL_SHAPES[i % 3] and _SHAPE_VARIANTS[i % 3] variant products, so the variant
# products of model i start at a computed offset: no table.
_MODEL_SHAPES = ("shoes", "shirts", "accessories")
_SHAPE_VARIANTS = (5, 12, 4)  # 5 sizes; 3 colours x 4 sizes; 4 (colour, material) pairs
_SHAPE_OFFSETS = (0, 5, 17)
_CYCLE_VARIANTS = sum(_SHAPE_VARIANTS)
_MODEL_PINNED: dict[int, str] = {
    0: "full",
    1: "long_identifiers",
    2: "bare_variants",
    3: "bare_root",
    4: "bare_sub_model",
}
_LONG_SKU = "{sku}-OXFORD-SHIRT-SLIM-FIT-ORGANIC-COTTON-BUTTON-DOWN-COLLAR-{color}-{size}"
_MODEL_CODE_RE = re.compile(r"^MODEL-(\d+)(?:-[a-z]+)?$")
_MODEL_OWNER_RE = re.compile(r"MODEL_(\d+)")


def _variants_before(models: int) -> int:
    """Return how many variant products the root models ``[0, models)`` have."""
    cycles, rest = divmod(models, len(_MODEL_SHAPES))
    return cycles * _CYCLE_VARIANTS + _SHAPE_OFFSETS[rest]


def _distinct(options: tuple[Any, ...], count: int, dice: _Dice) -> list[Any]:
    pool = list(options)
    return [pool.pop(dice.below(len(pool))) for _ in range(count)]


def _family_variants(family: str) -> list[dict[str, Any]]:
    """Return a family's variants as ``GET /families/{family}/variants/{code}`` shows them
    (catalog-structure.md: a level's ``attributes`` list its axes too)."""
    code, labels, sets = _FAMILY_VARIANT_SETS[family]
    return [
        {
            "code": code,
            "labels": labels,
            "variant_attribute_sets": [
                {"level": level, "axes": list(axes), "attributes": sorted({*axes, *others})}
                for level, (axes, others) in enumerate(sets, start=1)
            ],
        }
    ]


def _level_attributes(family: str, level: int) -> frozenset[str]:
    """Return the attributes a level of the family's variant owns; level 0 (root) owns those in no set."""
    sets = _FAMILY_VARIANT_SETS[family][2]
    if level:
        axes, others = sets[level - 1]
        return frozenset((*axes, *others))
    owned = {attribute for axes, others in sets for attribute in (*axes, *others)}
    attributes = {*_IMAGE_ATTRIBUTE_CODES[family]}
    return frozenset(attributes - owned)


# Image and file attributes of each family (its "attributes" in _families, without sku, name and assets).
_IMAGE_ATTRIBUTE_CODES = {
    "shoes": ("main_image", "back_image", "lifestyle_image", "zoom_image", "detail_image", "user_manual"),
    "shirts": ("main_image", "back_image", "lifestyle_image", "zoom_image"),
    "accessories": ("main_image", "lifestyle_image", "detail_image", "user_manual"),
}


def _level_slots(
    attributes: frozenset[str],
    full: bool,
    dice: _Dice,
    spec: Callable[[str, str | None, str | None], _MediaSpec],
) -> list[_Slot]:
    """Return the media slots of one level: each image attribute it owns, at random (all if ``full``)."""
    slots: list[_Slot] = []

    def add(attribute: str, locale: str | None, scope: str | None, probability: float) -> None:
        if attribute in attributes and (full or dice.chance(probability)):
            slots.append(_Slot(attribute, locale, scope, spec(attribute, locale, scope)))

    add("main_image", None, None, 0.9)
    add("back_image", None, None, 0.5)
    for locale in _ECOMMERCE_LOCALES:
        add("lifestyle_image", locale, None, 0.75)
    for scope in ("ecommerce", "print"):
        add("zoom_image", None, scope, 0.8)
    for scope, locales in (("ecommerce", _ECOMMERCE_LOCALES), ("print", _PRINT_LOCALES)):
        for locale in locales:
            add("detail_image", locale, scope, 0.5)
    add("user_manual", None, None, 0.3)
    return slots


def _axis_value(axis: str, option: str) -> dict[str, Any]:
    """Format a simple select value with its ``linked_data`` (products.md, "The linked_data format")."""
    return {
        "locale": None,
        "scope": None,
        "data": option,
        "linked_data": {"attribute": axis, "code": option, "labels": _OPTION_LABELS[option]},
    }


def _asset_attribute(
    code: str,
    type_: str,
    labels: dict[str, str],
    *,
    per_locale: bool = False,
    per_channel: bool = False,
    required: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """Return an asset attribute with the keys of its type, as asset-manager.md's examples show them."""
    resource: dict[str, Any] = {
        "code": code,
        "labels": labels,
        "type": type_,
        "value_per_locale": per_locale,
        "value_per_channel": per_channel,
        "is_required_for_completeness": required,
        "is_read_only": False,
    }
    if type_ == "text":
        resource.update(
            max_characters=255,
            is_textarea=False,
            is_rich_text_editor=None,  # null when is_textarea is false (the doc's text attribute example)
            validation_rule="none",
            validation_regexp=None,
        )
    elif type_ == "media_file":
        resource.update(
            media_type="image", allowed_extensions=["gif", "jpeg", "jpg", "png"], max_file_size="10"
        )
    elif type_ == "media_link":
        resource.update(prefix=ASSET_LINK_PREFIX, suffix=None, media_type="image")
    resource.update(extra)
    return resource


def _asset_family_attributes() -> dict[str, tuple[dict[str, Any], ...]]:
    """Return each asset family's attributes in creation order.

    ``url_large`` and ``url_thumb`` have the same codes in every family that has them, so that one
    link-attribute -> view-type mapping serves all families (spec §1). ``cdn_images`` holds whole URLs
    (``prefix`` null), as a DAM or CDN integration does.
    """

    def picture(**extra: Any) -> dict[str, Any]:
        return _asset_attribute("picture", "media_file", _labels("Picture", "Photo", "Bild"), **extra)

    def url_large(suffix: str | None, **extra: Any) -> dict[str, Any]:
        labels = _labels("Large image URL", "URL grande image", "URL großes Bild")
        return _asset_attribute("url_large", "media_link", labels, suffix=suffix, **extra)

    url_thumb = _asset_attribute(
        "url_thumb",
        "media_link",
        _labels("Thumbnail URL", "URL vignette", "URL Vorschaubild"),
        suffix="?w=200",
    )
    product_ref = _asset_attribute(
        "product_ref", "text", _labels("Product reference", "Référence produit", "Produktreferenz")
    )
    alt_text = _asset_attribute(
        "alt_text", "text", _labels("Alternative text", "Texte alternatif", "Alternativtext"), per_locale=True
    )
    thumbnail = _asset_attribute("thumbnail", "media_file", _labels("Thumbnail", "Vignette", "Vorschaubild"))
    pdf = _asset_attribute(
        "pdf",
        "media_file",
        _labels("PDF", "PDF", "PDF"),
        required=True,
        media_type="pdf",
        allowed_extensions=["pdf"],
        max_file_size="20",
    )
    return {
        "cdn_images": (url_large(None, per_channel=True, required=True, prefix=None), url_thumb, product_ref),
        "lifestyle": (
            picture(per_locale=True, required=True),
            url_large("?w=1200", per_locale=True),
            url_thumb,
            product_ref,
        ),
        "packshots": (picture(required=True), thumbnail, url_large(None), url_thumb, alt_text, product_ref),
        # the link attributes exist here too (unused by the guides): the connector wants the
        # mapping's attributes in every family a collection uses, so a real PIM has them everywhere
        "user_guides": (pdf, url_large(None), url_thumb, product_ref),
    }


def _asset_families() -> list[dict[str, Any]]:
    """Return the Asset Manager families (asset-manager.md, "Asset family"; keys as in the Swagger file).

    ``packshots`` and ``user_guides`` read the product reference out of the main media's file name and link
    their assets with it; ``lifestyle`` and ``cdn_images`` are linked by hand (no naming convention, no rule).
    """

    def family(
        code: str, labels: dict[str, str], main_media: str, *, source: str | None = None, extra: Any = ()
    ) -> dict[str, Any]:
        naming: dict[str, Any] = {}
        rules: list[dict[str, Any]] = []
        if source is not None:
            naming = {
                "source": {"property": source, "channel": None, "locale": None},
                "pattern": "/(?P<product_ref>SKU-\\d+)/",
                "abort_asset_creation_on_error": False,
            }
            rules = [
                {
                    "product_selections": [
                        {
                            "field": "sku",
                            "operator": "=",
                            "value": "{{product_ref}}",
                            "locale": None,
                            "channel": None,
                        }
                    ],
                    "assign_assets_to": [{"mode": "add", "attribute": code, "locale": None, "channel": None}],
                }
            ]
        return {
            "code": code,
            "labels": labels,
            "attribute_as_main_media": main_media,
            "naming_convention": naming,
            "product_link_rules": rules,
            "transformations": list(extra),
        }

    thumbnail = {
        "label": "Thumbnail",
        "filename_suffix": "_thumbnail",
        "source": {"attribute": "picture", "channel": None, "locale": None},
        "target": {"attribute": "thumbnail", "channel": None, "locale": None},
        "operations": [
            {"type": "thumbnail", "parameters": {"width": _THUMBNAIL_SIDE, "height": _THUMBNAIL_SIDE}}
        ],
    }
    return [
        family(
            "packshots",
            _labels("Packshots", "Packshots", "Packshots"),
            "picture",
            source="picture",
            extra=[thumbnail],
        ),
        family("lifestyle", _labels("Lifestyle", "Ambiance", "Lifestyle"), "picture"),
        family("cdn_images", _labels("CDN images", "Images CDN", "CDN-Bilder"), "url_large"),
        family(
            "user_guides",
            _labels("User guides", "Guides d'utilisation", "Bedienungsanleitungen"),
            "pdf",
            source="pdf",
        ),
    ]


def _collection_roles(group: str, roles: tuple[str, ...], pin: str | None, dice: _Dice) -> list[str]:
    """Order a product's own assets in its collection as a merchandiser does: front first (products.md keeps
    the collection's order, so it is not the code order)."""
    if group == "packshots":
        if pin == "unsorted":
            return [role for role in ("side", "front", "back") if role in roles]
        rest = [role for role in roles if role != "front"]
        if len(rest) > 1 and dice.chance(0.3):
            rest.reverse()
        if "side" in rest and pin is None and dice.chance(0.1):
            rest.remove("side")  # the asset exists but is in no collection
        return (["front"] if "front" in roles else []) + rest
    ordered = list(roles)
    if len(ordered) > 1 and (pin == "unsorted" or (pin is None and dice.chance(0.3))):
        ordered.reverse()
    return ordered


def _asset_locales(pin: str | None, dice: _Dice) -> list[str]:
    """Return the locales a localizable asset has files in: the ecommerce channel's, though not always all."""
    if pin == "full":
        return list(_ECOMMERCE_LOCALES)
    if pin == "outside_link":
        return ["fr_FR"]
    return [locale for locale in _ECOMMERCE_LOCALES if dice.chance(0.7)] or [dice.pick(_ECOMMERCE_LOCALES)]


def _packshot_slots(
    header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice
) -> list[_AssetSlot]:
    """A packshot: a picture (JPEG, some PNG, a few GIF), its generated thumbnail, links to the CDN copy."""
    view, sku, full = header.role, product.identifier, pin == "full"
    kind = dice.weighted(_ASSET_IMAGE_WEIGHTS)
    if pin == "shared" and view in ("front", "back"):
        kind = "PNG" if view == "front" else "GIF"
    stem = dice.pick(_PACKSHOT_STEMS).format(sku=sku, view=view)
    extension = _extension(kind, stem, dice)
    picture = _AssetFile("packshots", header.owner, view, "picture", None, None, kind, f"{stem}.{extension}")
    thumbnail = _AssetFile(
        "packshots",
        header.owner,
        view,
        "thumbnail",
        None,
        None,
        kind,
        f"{stem}_thumbnail.{extension}",
        picture,
        _THUMBNAIL_SIDE,
    )
    link = f"packshots/{sku}-{view}.{_LINK_EXTENSIONS[kind]}"
    slots = [_AssetSlot("picture", None, None, picture), _AssetSlot("thumbnail", None, None, thumbnail)]
    if full or dice.chance(0.9):
        slots.append(_AssetSlot("url_large", None, None, link))
    if full or dice.chance(0.8):
        slots.append(_AssetSlot("url_thumb", None, None, link))
    for locale in _ECOMMERCE_LOCALES:
        if full or dice.chance(0.8):
            text = f"{_NAMES[product.family][locale]}, {_VIEW_LABELS[view][locale]}"
            slots.append(_AssetSlot("alt_text", locale, None, text))
    return slots


def _lifestyle_slots(
    header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice
) -> list[_AssetSlot]:
    """A lifestyle asset: a picture per locale (localizable main media) and a large link per locale."""
    sku, n = product.identifier, header.role.rsplit("_", 1)[1]
    pictures: list[_AssetSlot] = []
    links: list[_AssetSlot] = []
    for locale in _asset_locales(pin, dice):
        kind = dice.weighted((("JPEG", 85), ("PNG", 15)))
        stem = _LIFESTYLE_ASSET_STEMS[locale].format(sku=sku, n=n)
        filename = f"{stem}.{_extension(kind, stem, dice)}"
        spec = _AssetFile("lifestyle", header.owner, header.role, "picture", locale, None, kind, filename)
        pictures.append(_AssetSlot("picture", locale, None, spec))
        link = f"lifestyle/{sku}-lifestyle-{n}-{locale}.{_LINK_EXTENSIONS[kind]}"
        links.append(_AssetSlot("url_large", locale, None, link))
    slots = [*pictures, *links]
    if pin == "full" or dice.chance(0.8):
        slots.append(_AssetSlot("url_thumb", None, None, f"lifestyle/{sku}-lifestyle-{n}.jpg"))
    return slots


def _cdn_slots(header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice) -> list[_AssetSlot]:
    """A CDN image: whole URLs per channel (no binary); a few point outside the external image location."""
    sku = product.identifier
    extension = _LINK_EXTENSIONS[dice.weighted(_ASSET_IMAGE_WEIGHTS)]
    outside = pin == "outside_link" or (pin is None and dice.chance(0.12))
    slots = []
    for channel in ("ecommerce", "print"):
        if channel == "print" and pin is None and dice.chance(0.15):
            continue
        template = _CDN_INSIDE
        if outside and channel == "ecommerce":
            template = _CDN_OTHER_HOST
        elif pin == "outside_link":
            template = _CDN_OTHER_PATH
        slots.append(
            _AssetSlot("url_large", None, channel, template.format(sku=sku, channel=channel, ext=extension))
        )
    slots.append(_AssetSlot("url_thumb", None, None, f"cdn/{sku}.{extension}"))
    return slots


def _guide_slots(
    header: AssetHeader, product: ProductHeader, pin: str | None, dice: _Dice
) -> list[_AssetSlot]:
    """A user guide: one small PDF, not an image."""
    stem = dice.pick(_GUIDE_STEMS).format(sku=product.identifier)
    spec = _AssetFile("user_guides", header.owner, header.role, "pdf", None, None, "PDF", f"{stem}.pdf")
    return [_AssetSlot("pdf", None, None, spec)]


_PAM_DESCRIPTIONS = {
    "packshots": "Packshot of",
    "lifestyle": "Lifestyle picture of",
    "user_guides": "User guide of",
}


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
