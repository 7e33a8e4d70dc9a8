"""Assets: what the two asset systems share (which assets a product owns, their codes, dates and order,
the products' collections); :mod:`~pim_sandbox.catalog.asset_manager` and :mod:`~pim_sandbox.catalog.pam`
build each system's resources and files.

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
pinned, without touching the images of the pinned products (:mod:`~pim_sandbox.catalog.products`):

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
"""

from __future__ import annotations

import bisect
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from types import MappingProxyType
from typing import Any, ClassVar

from pim_sandbox.catalog.common import (
    _COLLECTIONS,
    _ECOMMERCE_LOCALES,
    _FAMILY_COLLECTIONS,
    _UPDATED_FROM,
    _UPDATED_SPAN,
    AssetSystem,
    _Dice,
)
from pim_sandbox.catalog.media import MediaRenderer, _AssetFile
from pim_sandbox.catalog.products import Products

_PACKSHOT_VIEWS = (("back", 0.55), ("front", 0.92), ("side", 0.2))
#: How many lifestyle assets a product owns (Asset Manager; the PAM has one at most): weights of 0, 1, 2...
LIFESTYLE_WEIGHTS = (("0", 60), ("1", 28), ("2", 12))
#: The same for a catalog with many assets (``generate_catalog(many_assets=True)``): some 3.1 assets a
#: product instead of 2.4, as catalogs whose lifestyle pictures are assets of their own.
MANY_LIFESTYLE_WEIGHTS = (("0", 25), ("1", 35), ("2", 25), ("3", 10), ("4", 5))
_ASSET_IMAGE_WEIGHTS = (("JPEG", 80), ("PNG", 15), ("GIF", 5))
_PACKSHOT_STEMS = ("{sku}-{view}", "{sku} {view} packshot", "{sku}_{view}_détouré")
_LIFESTYLE_ASSET_STEMS = {
    "de_DE": "{sku} Stimmung {n} grün",
    "en_US": "{sku} lifestyle {n}",
    "fr_FR": "{sku} ambiance {n} été",
}
_GUIDE_STEMS = ("{sku} user guide", "Bedienungsanleitung {sku}", "Guide d'utilisation {sku}")
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


class Assets(ABC):
    """The assets of one asset system, derived from the products; a subclass builds the resources.

    :param seed: seed of everything random.
    :param products: the catalog's products, which own the assets.
    :param renderer: renders and caches the asset binaries.
    """

    #: the asset system the subclass serves
    system: ClassVar[AssetSystem]

    def __init__(
        self, seed: int, products: Products, renderer: MediaRenderer, *, many_assets: bool = False
    ) -> None:
        self.seed = seed
        self._lifestyle_weights = MANY_LIFESTYLE_WEIGHTS if many_assets else LIFESTYLE_WEIGHTS
        self._products = products
        self._renderer = renderer
        #: product index -> its asset collections, kept once made (:meth:`product_asset_codes`)
        self.collections: dict[int, dict[str, list[str]]] = {}
        self._ends: list[int] | None = None
        #: every asset header in code order per group (asset family or PAM kind), and all of them in
        #: :meth:`iter_asset_headers` order (``None``); made by :meth:`index_headers` (a warmed
        #: catalog), else the lists walk the products
        self._index: dict[str | None, list[AssetHeader]] | None = None
        #: Asset Manager families by code, as ``GET /asset-families/{code}`` shows them (empty for the PAM)
        self.families: Mapping[str, dict[str, Any]] = MappingProxyType({})

    def attributes(self, family: str) -> list[dict[str, Any]]:
        """Return an Asset Manager family's attributes (see :meth:`SandboxCatalog.asset_attributes`).

        :raises KeyError: if the family does not exist (always, for the PAM).
        """
        raise KeyError(family)

    @abstractmethod
    def resource(self, header: AssetHeader, base_url: str) -> dict[str, Any]:
        """Return the asset as the API shows it, without its own ``_links``."""

    @abstractmethod
    def files(self, header: AssetHeader) -> list[_AssetFile]:
        """Return the specs of every binary of the asset, in the order :meth:`SandboxCatalog.asset_files`
        gives them."""

    def product_asset_codes(self, index: int) -> dict[str, list[str]]:
        """Return product ``index``'s asset collections: product attribute code -> asset codes, in order.

        The order is the product's own (products.md, "Asset collection": ``data`` is an ordered list of
        codes), mostly not code order: ``front`` comes before ``back``. A few codes name assets that do not
        exist (an asset deleted from the PIM), a few name another product's asset, and a few assets are in no
        collection. Empty collections are left out: Akeneo does not return empty values.

        Made once, then kept (about 0.3 kB a product).

        :raises IndexError: if ``index`` is outside the catalog.
        """
        collections = self.collections.get(index)
        if collections is None:
            collections = self.collections[index] = self._make_collections(index)
        return {attribute: list(codes) for attribute, codes in collections.items()}

    def _make_collections(self, index: int) -> dict[str, list[str]]:
        header = self._products.header(index)
        if index >= self._products.simple_products_count:
            return {}  # variant products hold images only (see "Product models and variants")
        plan = self._asset_plan(index)
        pin = _ASSET_PINNED.get(index)
        dice = _Dice(self.seed, "collections", index)
        stem = self._asset_stem(index)
        collections: dict[str, list[str]] = {}
        for attribute, group in _COLLECTIONS[self.system]:
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
        if family is None and self.system == "new":
            for code in self.families:
                yield from self.iter_asset_headers(code, after=after)
            return
        if family is not None and family not in self._groups():
            raise KeyError(family)
        if self._index is not None:
            headers = self._index[family]
            start = 0 if after is None else bisect.bisect_right(headers, after, key=_code)
            yield from map(headers.__getitem__, range(start, len(headers)))
            return
        start = 0 if after is None else self._first_asset_owner(after)
        for index in range(start, self._products.simple_products_count):
            stem = self._asset_stem(index)
            plan = self._asset_plan(index)
            pairs = sorted(
                (role, group) for group, roles in plan.items() if family in (None, group) for role in roles
            )
            for role, group in pairs:
                if after is None or f"{stem}_{role}" > after:
                    yield self._asset_header(group, index, role)

    def iter_headers_from(self, position: int) -> Iterator[AssetHeader]:
        """Yield every asset header in :meth:`iter_asset_headers` order (``family`` ``None``) from the
        one at ``position`` (0: the first), without making the headers before it: a page of the PAM's
        ``page`` pagination costs the same at the end of the list as at its start.

        The Asset Manager lists family after family: it is walked from the start (unless indexed).
        """
        if self._index is not None:
            headers = self._index[None]
            yield from map(headers.__getitem__, range(max(position, 0), len(headers)))
            return
        if self.system == "new":
            yield from islice(self.iter_asset_headers(), max(position, 0), None)
            return
        ends = self._owner_ends()
        owner = bisect.bisect_right(ends, max(position, 0))
        skip = max(position, 0) - (ends[owner - 1] if owner else 0)
        for index in range(owner, self._products.simple_products_count):
            plan = self._asset_plan(index)
            pairs = sorted((role, group) for group, roles in plan.items() for role in roles)
            for role, group in pairs[skip:]:
                yield self._asset_header(group, index, role)
            skip = 0

    def _owner_ends(self) -> list[int]:
        """For each product, how many assets it and the products before it own (made once)."""
        if self._ends is None:
            ends, total = [], 0
            for index in range(self._products.simple_products_count):
                total += sum(len(roles) for roles in self._asset_plan(index).values())
                ends.append(total)
            self._ends = ends
        return self._ends

    def index_headers(self) -> None:
        """Make every asset header once and keep them in code order per asset family (or PAM kind),
        so that a ``search_after`` page starts at a bisection and scans headers already made,
        instead of walking the products before it and drawing their plans and dates again: a page
        of a family filtered on ``updated`` windows cost some 10 ms of CPU. The lists answer the
        same (their order is the walk's). Some 0.3 s and 7 MB at 10,000 products, 3 s and 60 MB
        at 100,000; used by :meth:`SandboxCatalog.warm <pim_sandbox.catalog.SandboxCatalog.warm>`."""
        groups: dict[str | None, list[AssetHeader]] = {group: [] for group in self._groups()}
        walk: list[AssetHeader] = []
        for index in range(self._products.simple_products_count):
            for header in sorted(self.owned_headers(index), key=_code):
                groups[header.group].append(header)
                walk.append(header)
        if self.system == "new":  # family after family, as iter_asset_headers() lists them
            walk = [header for family in self.families for header in groups[family]]
        groups[None] = walk
        self._index = groups

    def owned_headers(self, index: int) -> list[AssetHeader]:
        """Return the headers of the assets product ``index`` owns, every family (or PAM kind) alike."""
        if index >= self._products.simple_products_count:
            return []
        plan = self._asset_plan(index)
        return [self._asset_header(group, index, role) for group, roles in plan.items() for role in roles]

    def asset_header(self, family: str | None, code: str) -> AssetHeader:
        """Return the header of the asset ``code``, without rendering anything.

        :param family: the asset family (or PAM kind) it must belong to; ``None``: any (codes are unique
            across the families of this catalog, and the PAM has no families).
        :raises KeyError: if there is no such asset.
        """
        if self._index is not None:  # indexed: a bisection in the family's headers
            for group in self._groups() if family is None else (family,):
                headers = self._index.get(group, [])
                at = bisect.bisect_left(headers, code, key=_code)
                if at < len(headers) and headers[at].code == code:
                    return headers[at]
            raise KeyError(code)
        match = _ASSET_CODE_RE.match(code)
        if match is None:
            raise KeyError(code)
        index = int(match.group(1)) - 1
        if (
            not 0 <= index < self._products.simple_products_count
            or self._asset_stem(index) != f"sku_{match.group(1)}"
        ):
            raise KeyError(code)
        role = match.group(2)
        for group, roles in self._asset_plan(index).items():
            if role in roles and family in (None, group):
                return self._asset_header(group, index, role)
        raise KeyError(code)

    def _groups(self) -> tuple[str, ...]:
        return tuple(group for _, group in _COLLECTIONS[self.system])

    def _asset_stem(self, index: int) -> str:
        """The code prefix of product ``index``'s assets: its identifier in lower case, ``-`` made ``_``
        (asset codes allow letters, digits and underscores only)."""
        return f"sku_{index + 1:0{self._products.width}d}"

    def _first_asset_owner(self, after: str) -> int:
        """Return the first product that may own an asset whose code sorts after ``after``.

        Stems grow with the index and all have the same length, so every product before the last one whose
        stem sorts at or before ``after`` only owns codes that sort before it.
        """
        low, high = 0, self._products.simple_products_count
        while low < high:
            middle = (low + high) // 2
            if self._asset_stem(middle) <= after:
                low = middle + 1
            else:
                high = middle
        return max(low - 1, 0)

    def _asset_plan(self, index: int) -> dict[str, tuple[str, ...]]:
        """Return the assets product ``index`` owns: group -> roles, each tuple in code order."""
        header = self._products.header(index)
        pin = _ASSET_PINNED.get(index)
        dice = _Dice(self.seed, "asset-plan", index)
        if pin == "none" or (pin is None and dice.chance(0.08)):
            return {}
        groups = {
            group
            for attribute, group in _COLLECTIONS[self.system]
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
            lifestyle = int(dice.weighted(self._lifestyle_weights))
        if lifestyle:
            new = self.system == "new"
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


def _code(header: AssetHeader) -> str:
    return header.code


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
