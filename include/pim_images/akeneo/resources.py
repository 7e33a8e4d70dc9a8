"""Every Akeneo path and query the pipeline uses, one small function each (dlt's resource shape).

Lists are generators of items over pages (the client follows ``_links.next``); single
resources return the JSON object. Stages call these and never spell a path or a query
parameter themselves, so what the pipeline asks of a PIM is read in one place. Paths and
parameters follow Akeneo's API reference (products.md, catalog-structure.md, asset-manager.md,
pam.md, filter.md, pagination.md).

Every function raises what the client raises: :class:`~pim_images.akeneo.errors.AkeneoNotFoundError`
on a 404 (a missing resource, or an endpoint this PIM version does not serve), else
:class:`~pim_images.akeneo.errors.AkeneoError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pim_images.akeneo.client import PAGE_LIMIT, search_param

if TYPE_CHECKING:
    from pim_images.akeneo.client import AkeneoClient

#: Akeneo search filters (filter.md): property or attribute -> list of ``{operator, value}``.
Filters = dict[str, list[dict[str, Any]]]

API = "/api/rest/v1"
ATTRIBUTES = f"{API}/attributes"
CHANNELS = f"{API}/channels"
LOCALES = f"{API}/locales"
FAMILIES = f"{API}/families"
#: Products by uuid: PIM 7.0 and SaaS (docs/akeneo.md#versions).
PRODUCTS_UUID = f"{API}/products-uuid"
#: Products by identifier: PIM 1.7 to 7.0, not SaaS.
PRODUCTS_BY_IDENTIFIER = f"{API}/products"
#: The products endpoints in the order the probe tries them: the newest first.
PRODUCTS_ENDPOINTS = (PRODUCTS_UUID, PRODUCTS_BY_IDENTIFIER)
#: The PIM's version and edition: PIM >= 6.0 and SaaS; no token needed.
SYSTEM_INFORMATION = f"{API}/system-information"
PRODUCT_MODELS = f"{API}/product-models"
ASSET_FAMILIES = f"{API}/asset-families"
PAM_ASSETS = f"{API}/assets"
#: Where each asset system (``akeneoAssetSystem``) is listed: the probe of its presence. The
#: Asset Manager exists on PIM >= 4.0, the PAM on PIM < 4.0 only.
ASSET_SYSTEM_PATHS = {"new": ASSET_FAMILIES, "old": PAM_ASSETS}


# -- catalog structure ----------------------------------------------------------------------


def iter_attributes(client: AkeneoClient, types: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The attributes of the given types (``pim_catalog_image``, ...), all pages."""
    search = search_param({"type": [{"operator": "IN", "value": list(types)}]})
    return client.iter_items(ATTRIBUTES, {"search": search, "limit": PAGE_LIMIT})


def get_attribute(client: AkeneoClient, code: str) -> dict[str, Any]:
    """One attribute by code."""
    return client.get_json(f"{ATTRIBUTES}/{quote(code)}")


def iter_attributes_by_code(client: AkeneoClient, codes: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The attributes ``codes`` (e.g. the variant axes, to read their types), all pages; unknown
    codes are not listed."""
    for start in range(0, len(codes), PAGE_LIMIT):
        chunk = list(codes[start : start + PAGE_LIMIT])
        search = search_param({"code": [{"operator": "IN", "value": chunk}]})
        yield from client.iter_items(ATTRIBUTES, {"search": search, "limit": PAGE_LIMIT})


def probe_attributes(client: AkeneoClient) -> dict[str, Any]:
    """The first page of one attribute: the cheapest call that needs a token and a permission."""
    return client.get_json(ATTRIBUTES, {"limit": 1})


def get_channel(client: AkeneoClient, code: str) -> dict[str, Any]:
    """One channel by code (its ``locales``)."""
    return client.get_json(f"{CHANNELS}/{quote(code)}")


def iter_enabled_locales(client: AkeneoClient) -> Iterator[dict[str, Any]]:
    """The locales enabled in the PIM (activated on some channel)."""
    search = search_param({"enabled": [{"operator": "=", "value": True}]})
    return client.iter_items(LOCALES, {"search": search, "limit": PAGE_LIMIT})


def iter_families(client: AkeneoClient) -> Iterator[dict[str, Any]]:
    """Every family."""
    return client.iter_items(FAMILIES, {"limit": PAGE_LIMIT})


def iter_family_variants(client: AkeneoClient, family: str) -> Iterator[dict[str, Any]]:
    """The family variants of ``family`` (404 on a PIM before 2.0, which has none)."""
    return client.iter_items(f"{FAMILIES}/{quote(family)}/variants", {"limit": PAGE_LIMIT})


# -- products and product models ----------------------------------------------------------------


def get_system_information(client: AkeneoClient) -> dict[str, Any]:
    """The PIM's ``version`` and ``edition``; :class:`~pim_images.akeneo.errors.AkeneoNotFoundError`
    on a PIM before 6.0, which does not serve it."""
    return client.get_json(SYSTEM_INFORMATION)


def probe_products(client: AkeneoClient, endpoint: str) -> dict[str, Any]:
    """The first page of one product of ``endpoint`` (one of :data:`PRODUCTS_ENDPOINTS`);
    :class:`~pim_images.akeneo.errors.AkeneoNotFoundError` when this PIM does not serve it."""
    return client.get_json(endpoint, {"limit": 1})


def iter_products(
    client: AkeneoClient,
    *,
    endpoint: str,
    scope: str,
    locales: Sequence[str],
    attributes: Sequence[str],
    filters: Filters | None = None,
) -> Iterator[dict[str, Any]]:
    """Enabled products with the values of ``attributes`` in ``scope`` and ``locales``.

    Uses ``search_after`` pagination (pagination.md recommends it for large catalogs: its cost
    does not grow with the page number; both products endpoints take it).

    :param endpoint: :data:`PRODUCTS_UUID` or :data:`PRODUCTS_BY_IDENTIFIER`, as the probe found.

    :param filters: search filters added to ``enabled = true``, e.g. :func:`updated_between`
        or :func:`parent_in`.
    """
    search: Filters = {"enabled": [{"operator": "=", "value": True}], **(filters or {})}
    params = {
        "search": search_param(search),
        "pagination_type": "search_after",
        "limit": PAGE_LIMIT,
        "scope": scope,
        "locales": ",".join(locales),
        "attributes": ",".join(attributes),
    }
    return client.iter_items(endpoint, params)


def updated_between(start: datetime, end: datetime) -> Filters:
    """Products updated within ``[start, end]``; Akeneo takes ``Y-m-d H:i:s`` in UTC (filter.md)."""
    window = [_akeneo_datetime(start), _akeneo_datetime(end)]
    return {"updated": [{"operator": "BETWEEN", "value": window}]}


def identifier_in(attribute: str, identifiers: Sequence[str]) -> Filters:
    """Products whose identifier (the main identifier attribute ``attribute``) is one of
    ``identifiers``, at most 100 (filter.md, the ``pim_catalog_identifier`` attribute type); both
    products endpoints and every version take it."""
    return {attribute: [{"operator": "IN", "value": list(identifiers)}]}


#: Variant products only (filter.md, "On their parent": 7.0 and SaaS, see :func:`takes_parent_lists`).
VARIANTS_ONLY: Filters = {"parent": [{"operator": "NOT EMPTY"}]}


def parent_in(codes: Sequence[str]) -> Filters:
    """Products whose parent is one of the product models ``codes`` (at most a page of them;
    filter.md, "On their parent": 7.0 and SaaS, see :func:`takes_parent_lists`)."""
    return {"parent": [{"operator": "IN", "value": list(codes)}]}


def takes_parent_lists(endpoint: str) -> bool:
    """Whether the PIM whose products endpoint is ``endpoint`` (the probe's) filters products on
    ``parent`` with ``IN``, ``EMPTY`` and ``NOT EMPTY`` (:data:`VARIANTS_ONLY`, :func:`parent_in`):
    7.0 and SaaS, the PIMs that serve :data:`PRODUCTS_UUID`. A PIM from 3.2 to 6.x takes ``=`` only,
    one before 3.2 no ``parent`` filter; either answers 422 to the others
    (docs/akeneo.md#search-filters-per-version)."""
    return endpoint == PRODUCTS_UUID


def family_in(codes: Sequence[str]) -> Filters:
    """Products, or product models, of one of the families ``codes`` (filter.md, "On their
    family": products on every version, product models from 2.3)."""
    return {"family": [{"operator": "IN", "value": list(codes)}]}


#: Products without a family (filter.md, "On their family": every version).
FAMILY_EMPTY: Filters = {"family": [{"operator": "EMPTY"}]}


def iter_product_models(
    client: AkeneoClient, *, scope: str, locales: Sequence[str], filters: Filters | None = None
) -> Iterator[dict[str, Any]]:
    """Every product model with its values in ``scope`` and ``locales`` (``search_after``, in
    code order).

    :param filters: search filters, e.g. :func:`family_in`.
    """
    params = {
        "pagination_type": "search_after",
        "limit": PAGE_LIMIT,
        "scope": scope,
        "locales": ",".join(locales),
    }
    if filters:
        params["search"] = search_param(filters)
    return client.iter_items(PRODUCT_MODELS, params)


def media_file_download(code: str) -> str:
    """The download path of a product media file (products.md, media files); ``code`` keeps its
    slashes (``a/b/c/d/<sha1>_<name>``), each part quoted as a path segment."""
    return f"{API}/media-files/{code_path(code)}/download"


def code_path(code: str) -> str:
    """A media code as path segments: each part between slashes percent-quoted, and a part of
    dots only (``.``, ``..``) spelled ``%2E``, so that no URL normalization makes it climb; the
    client refuses such a path (docs/akeneo.md#the-pims-origin-only)."""
    return "/".join(
        "%2E" * len(part) if set(part) == {"."} else quote(part, safe="") for part in code.split("/")
    )


# -- assets -------------------------------------------------------------------------------------


def probe_asset_system(client: AkeneoClient, system: str) -> dict[str, Any]:
    """The first page of the asset system ``system`` (``new`` or ``old``);
    :class:`~pim_images.akeneo.errors.AkeneoNotFoundError` when this PIM does not serve it."""
    return client.get_json(ASSET_SYSTEM_PATHS[system], {"limit": 1})


def get_asset_family(client: AkeneoClient, family: str) -> dict[str, Any]:
    """One asset family (its ``attribute_as_main_media``)."""
    return client.get_json(f"{ASSET_FAMILIES}/{quote(family)}")


def get_asset_family_attributes(client: AkeneoClient, family: str) -> list[Any]:
    """The attributes of an asset family (a plain array: this list is not paginated)."""
    return client.get_list(f"{ASSET_FAMILIES}/{quote(family)}/attributes")


def iter_assets(
    client: AkeneoClient,
    family: str,
    *,
    channel: str,
    locales: Sequence[str],
    filters: Filters | None = None,
) -> Iterator[dict[str, Any]]:
    """The assets of an asset family, with their values in ``channel`` and ``locales``.

    :param filters: search filters, e.g. :func:`assets_updated_after` or :func:`asset_codes_in`.
    """
    params = {"channel": channel, "locales": ",".join(locales)}
    if filters:
        params["search"] = search_param(filters)
    return client.iter_items(f"{ASSET_FAMILIES}/{quote(family)}/assets", params)


def first_assets_page(
    client: AkeneoClient, family: str, *, channel: str, locales: Sequence[str]
) -> dict[str, Any]:
    """The first page of an asset family's assets (up to 100, in code order, with ``next`` when
    there are more): a sample of the family, to cut it in ``updated`` windows."""
    return client.get_json(
        f"{ASSET_FAMILIES}/{quote(family)}/assets", {"channel": channel, "locales": ",".join(locales)}
    )


def assets_updated_window(low: datetime | None, high: datetime | None) -> Filters:
    """Asset Manager assets updated in a window (filter.md, assets "By update date"; PIM 6.0 and
    SaaS): before ``high`` (``<``), after ``low`` (``>``), or between both, ends included
    (``BETWEEN``); ISO 8601 in UTC, to the second."""
    if low is None and high is None:
        return {}
    if low is None:
        return {"updated": [{"operator": "<", "value": _iso(high)}]}
    if high is None:
        return {"updated": [{"operator": ">", "value": _iso(low)}]}
    return {"updated": [{"operator": "BETWEEN", "value": [_iso(low), _iso(high)]}]}


def _iso(value: datetime | None) -> str:
    assert value is not None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assets_updated_after(start: datetime) -> Filters:
    """Asset Manager assets updated after ``start`` (filter.md, assets "By update date"): ``>``,
    the one operator every Asset Manager version takes (``<`` and ``BETWEEN`` need 6.0); dates
    in ISO 8601, UTC."""
    return {"updated": [{"operator": ">", "value": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}]}


def asset_codes_in(codes: Sequence[str]) -> Filters:
    """Asset Manager assets of the given codes (filter.md, assets "By asset codes": PIM 7.0 and
    SaaS only); at most a page of them."""
    return {"code": [{"operator": "IN", "value": list(codes)}]}


def asset_media_file(code: str) -> str:
    """The download path of an Asset Manager media file, when its value has no download link."""
    return f"{API}/asset-media-files/{code_path(code)}"


def iter_pam_assets(client: AkeneoClient) -> Iterator[dict[str, Any]]:
    """Every PAM asset (PIM < 4.0), with its reference and variation files."""
    return client.iter_items(PAM_ASSETS, {"limit": PAGE_LIMIT})


def get_pam_assets_page(client: AkeneoClient, page: int) -> dict[str, Any]:
    """Page ``page`` (from 1) of the PAM assets, 100 a page (``page`` pagination, pam.md: the
    PAM list takes no ``search``, so its pages are the only way to split it); the page has a
    ``next`` link unless it is the last."""
    return client.get_json(PAM_ASSETS, {"limit": PAGE_LIMIT, "page": page})


def _akeneo_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
