"""Products: the ``products-uuid`` resources, simple products and (through
:class:`~pim_sandbox.catalog.models.ProductModels`) variant products, and the media files they own.

Nothing is stored per product. Each product is derived from ``(seed, index)`` when asked for, so memory stays
flat whether the catalog has 300 or 100,000 products.

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
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pim_sandbox.catalog.common import (
    _ASSOCIATION_TYPES,
    _ECOMMERCE_LOCALES,
    _NAMES,
    _PRINT_LOCALES,
    _UPDATED_FROM,
    _UPDATED_SPAN,
    _Dice,
    _iso,
    _weighted,
)
from pim_sandbox.catalog.media import (
    _CODE_RE,
    MediaFile,
    MediaRenderer,
    _extension,
    _MediaSpec,
    _Slot,
    sanitize_filename,
)

if TYPE_CHECKING:
    from pim_sandbox.catalog.models import ProductModels

_MAX_PRODUCTS = 2_000_000
# uuid prefixes are base + index * stride with base < 2**31: a fixed stride keeps product i the same whatever
# the catalog size, and 2**31 + 2,000,000 * 1021 still fits in 32 bits.
_UUID_STRIDE = 1021

_FAMILY_WEIGHTS = (("shoes", 40), ("shirts", 35), ("accessories", 25))
_IMAGE_FORMAT_WEIGHTS = (("JPEG", 78), ("PNG", 14), ("GIF", 3), ("TIFF", 3), ("BMP", 2))

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

_COLOURS = (
    {"en_US": "black", "fr_FR": "noir", "de_DE": "schwarz"},
    {"en_US": "green", "fr_FR": "vert", "de_DE": "grün"},
    {"en_US": "sand", "fr_FR": "sable", "de_DE": "sandfarben"},
    {"en_US": "navy", "fr_FR": "bleu marine", "de_DE": "marineblau"},
)

_OWNER_RE = re.compile(r"SKU_(\d+)")
_SIX_U32 = struct.Struct(">6I")


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


class Products:
    """The products of a catalog (simple ones, then variants), their values and their media files.

    Variant products are derived from their product models: :attr:`variants` answers for them. Asset
    collections come from the assets: :attr:`collections`. Both are set by the catalog once its parts exist
    (they need the products too).

    :param seed: seed of everything random.
    :param simple_products_count: number of simple products, indexes ``[0, simple_products_count)``.
    :param products_count: simple products and variant products.
    :param families: the catalog's families (which image attributes a product may have).
    :param renderer: renders and caches media files.
    """

    def __init__(
        self,
        seed: int,
        simple_products_count: int,
        products_count: int,
        families: Mapping[str, dict[str, Any]],
        renderer: MediaRenderer,
    ) -> None:
        self.seed = seed
        self.simple_products_count = simple_products_count
        self.products_count = products_count
        #: digits of a simple product's identifier (and asset codes), at least 5
        self.width = max(5, len(str(simple_products_count)))
        self._uuid_base = _Dice(seed, "uuid-base").below(2**31)
        self._families = families
        self._renderer = renderer
        # Generated headers, kept once made (a pointer a product until then): a filtered list scans
        # many more headers than it serves, partition after partition (see :meth:`header`).
        self._headers: list[ProductHeader | None] = [None] * products_count
        # Media plans, kept once made (:meth:`plan`), or given by :meth:`SandboxCatalog.warm`.
        self.plans: dict[int, list[_Slot]] = {}
        #: the product models, which derive the variant products (set by the catalog)
        self.variants: ProductModels
        #: product index -> its asset collections (set by the catalog)
        self.collections: Callable[[int], dict[str, list[str]]]

    def header(self, index: int) -> ProductHeader:
        """Return the cheap header of product ``index`` (uuid, identifier, family, status, dates).

        Filters and both paginations scan headers, so one BLAKE2 digest feeds every field: a header costs a
        few tens of microseconds to make, and is kept once made (about 0.5 kB: 50 MB at 100,000
        products), since a list partitioned by family scans every header once per partition.

        :raises IndexError: if ``index`` is outside ``[0, products_count)``.
        """
        self._check_index(index)
        header = self._headers[index]
        if header is None:
            header = self._headers[index] = self._make_header(index)
        return header

    def _make_header(self, index: int) -> ProductHeader:
        if index >= self.simple_products_count:
            return self.variants.variant_header(index)
        digest = self.digest(index)
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
            uuid=self.uuid(index, digest),
            identifier=f"SKU-{index + 1:0{self.width}d}",
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
            "values": self.values(header, base_url),
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
            if self.uuid(middle) <= uuid:
                low = middle + 1
            else:
                high = middle
        return low

    def media(self, code: str) -> MediaFile:
        """Return the media file with this code, rendering it if it is not cached.

        :raises KeyError: if no product value of the catalog points at ``code``.
        """
        match = _CODE_RE.match(code)
        owner = _OWNER_RE.search(match.group(6)) if match else None
        if match is not None and owner is None:
            return self.variants.model_media(code, match.group(6))
        if match is None or owner is None or "".join(match.group(1, 2, 3, 4)) != match.group(5)[:4]:
            raise KeyError(code)
        index = int(owner.group(1)) - 1
        if not 0 <= index < self.products_count:
            raise KeyError(code)
        for slot in self.plan(index):
            spec = slot.spec
            if spec.owner == index and sanitize_filename(spec.original_filename) == match.group(6):
                media = self._renderer.render(spec)
                if media.code == code:
                    return media
        raise KeyError(code)

    def product_media(self, index: int) -> list[MediaFile]:
        """Return the media files product ``index`` points at, in value order (shared files included)."""
        return [self._renderer.render(slot.spec) for slot in self.plan(index)]

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.products_count:
            raise IndexError(f"product index {index} outside [0, {self.products_count})")

    def digest(self, index: int) -> bytes:
        return hashlib.blake2b(b"%d|product|%d" % (self.seed, index), digest_size=40).digest()

    def uuid(self, index: int, digest: bytes | None = None) -> str:
        # The first 32 bits grow with the index so that uuid order is identifier order (Akeneo sorts
        # search_after pages by uuid); the other bits are seeded noise with the RFC 4122 v4 markers.
        prefix = self._uuid_base + index * _UUID_STRIDE
        tail = bytearray((digest or self.digest(index))[24:36])
        tail[2] = 0x40 | (tail[2] & 0x0F)
        tail[4] = 0x80 | (tail[4] & 0x3F)
        hex_ = f"{prefix:08x}{tail.hex()}"
        return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"

    def values(self, header: ProductHeader, base_url: str) -> dict[str, list[dict[str, Any]]]:
        if header.ancestors:
            return self.variants.variant_values(header, base_url)
        values: dict[str, list[dict[str, Any]]] = {
            "sku": [{"locale": None, "scope": None, "data": header.identifier}],
            "name": self._names(header),
        }
        self._renderer.add_media_values(values, self.plan(header.index), base_url)
        # Asset collections come after the media values, so the image values keep their place; both kinds of
        # collection are neither localizable nor scopable and hold asset codes in order (products.md).
        for attribute, codes in self.collections(header.index).items():
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

    def plan(self, index: int) -> list[_Slot]:
        """Return the media slots of product ``index``, in the order values list them (made once,
        then kept: about 0.3 kB a product)."""
        plan = self.plans.get(index)
        if plan is None:
            plan = self.plans[index] = self._make_plan(index)
        return list(plan)

    def _make_plan(self, index: int) -> list[_Slot]:
        header = self.header(index)
        if header.ancestors:
            return self.variants.variant_plan(header)
        pinned = _PINNED.get(index, {})
        full = pinned.get("full", False)
        dice = _Dice(self.seed, "plan", index)
        attributes = set(self._families[header.family]["attributes"])
        slots: list[_Slot] = []

        def add(attribute: str, locale: str | None, scope: str | None, probability: float) -> None:
            if attribute in attributes and (full or dice.chance(probability)):
                spec = self.spec(header, attribute, locale, scope)
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
                return _Slot("main_image", None, None, self.spec(previous, "main_image", None, None))
        return _Slot("main_image", None, None, self.spec(header, "main_image", None, None))

    def _wants_to_share(self, index: int) -> bool:
        pinned = _PINNED.get(index)
        if pinned is not None:
            return bool(pinned.get("share_main"))
        return _Dice(self.seed, "share", index).chance(0.04)

    def _has_own_main(self, header: ProductHeader) -> bool:
        plan = self.plan(header.index)
        return bool(plan) and plan[0].attribute == "main_image" and plan[0].spec.owner == header.index

    def spec(
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
