"""The sandbox Akeneo server, over real HTTP: auth, pagination, filters, media, faults and the Swagger file.

One server per module (uvicorn in a thread on a free port) serves the default catalog (300 products, seed 7);
each test gets a fresh access token. JSON responses go through :func:`checked`, which validates them against
the official Swagger file for their path, method and status, corrected as ``swagger.py`` explains; only
the later pages of filtered walks and routes the file does not know skip it. No conftest: the fixtures
live here.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest
from PIL import Image

from pim_sandbox.akeneo_app import TokenStore, create_app
from pim_sandbox.catalog import ProductHeader, SandboxCatalog, generate_catalog, sanitize_filename
from pim_sandbox.http_server import serve_in_thread

try:  # tests/integration is a plain folder today; keep working if it becomes a package
    from . import swagger
    from .sandbox_api import CLIENT, TOKEN, USER, assert_error, checked, search_param
except ImportError:
    import swagger  # type: ignore[no-redef]
    from sandbox_api import CLIENT, TOKEN, USER, assert_error, checked, search_param  # type: ignore[no-redef]

PRODUCTS = "/api/rest/v1/products-uuid"
PRODUCT = "/api/rest/v1/products-uuid/{uuid}"
MEDIA = "/api/rest/v1/media-files/{code}"
MEDIA_DOWNLOAD = "/api/rest/v1/media-files/{code}/download"


@dataclass(frozen=True)
class Sandbox:
    """The running server: its app (for ``state.faults`` and ``state.requests``) and base URL."""

    app: Any
    url: str


@pytest.fixture(scope="module")
def catalog() -> SandboxCatalog:
    return generate_catalog()


@pytest.fixture(scope="module")
def sandbox(catalog: SandboxCatalog) -> Iterator[Sandbox]:
    app = create_app(catalog)
    with serve_in_thread(app) as url:
        yield Sandbox(app, url)


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").app.state.faults.clear()


@pytest.fixture(scope="module")
def anonymous(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A client without token (clients are module-scoped: building one costs tens of milliseconds)."""
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def _authorised(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


@pytest.fixture
def api(anonymous: httpx.Client, _authorised: httpx.Client) -> httpx.Client:
    """A client holding a fresh access token (tests may expire every token)."""
    token = _token(anonymous, json={"grant_type": "password", **USER}).json()["access_token"]
    _authorised.headers["Authorization"] = f"Bearer {token}"
    return _authorised


def _token(client: httpx.Client, *, auth: tuple[str, str] = CLIENT, **body: Any) -> httpx.Response:
    response = client.post(TOKEN, auth=auth, **body)
    checked(response, TOKEN, "post")
    return response


def _walk(
    client: httpx.Client, path: str, params: dict[str, Any], *, check_all: bool = True
) -> list[dict[str, Any]]:
    """Follow ``_links.next`` from the first page; return every page body.

    Every page is validated against the Swagger file unless ``check_all`` is false; then only the first
    one is (schema validation costs more than serving, and whole-catalog walks validate every product).
    """
    pages = [checked(client.get(path, params=params), path)]
    while "next" in pages[-1]["_links"]:
        assert len(pages) < 1000, "pagination does not end"
        response = client.get(pages[-1]["_links"]["next"]["href"])
        assert response.status_code == 200, response.text
        pages.append(checked(response, path) if check_all else response.json())
    return pages


def _uuids(pages: list[dict[str, Any]]) -> list[str]:
    return [item["uuid"] for page in pages for item in page["_embedded"]["items"]]


def _headers(catalog: SandboxCatalog) -> list[ProductHeader]:
    return list(catalog.iter_headers())


# -- authentication (authentication.md) ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["json", "data"])
def test_password_grant_returns_a_bearer_token(anonymous: httpx.Client, kind: str) -> None:
    response = _token(anonymous, **{kind: {"grant_type": "password", **USER}})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope", "refresh_token"}
    assert (body["expires_in"], body["token_type"], body["scope"]) == (3600, "bearer", None)
    authorised = anonymous.get(
        "/api/rest/v1/channels", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert authorised.status_code == 200


def test_refresh_grant_rotates_the_refresh_token(anonymous: httpx.Client) -> None:
    first = _token(anonymous, json={"grant_type": "password", **USER}).json()

    refreshed = _token(
        anonymous, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    reused = _token(anonymous, json={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})

    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != first["access_token"]
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert anonymous.get("/api/rest/v1/locales", headers=headers).status_code == 200
    assert reused.status_code == 422
    assert reused.json() == {"code": 422, "message": "Refresh token is invalid or has expired"}


@pytest.mark.parametrize(
    ("auth", "body", "message"),
    [
        (
            ("sandbox-client", "wrong"),
            {"grant_type": "password", **USER},
            'Parameter "client_id" is missing or does not match any client, or secret is invalid',
        ),
        (
            ("someone-else", "sandbox-secret"),
            {"grant_type": "password", **USER},
            'Parameter "client_id" is missing or does not match any client, or secret is invalid',
        ),
        (
            CLIENT,
            {"grant_type": "password", "username": "admin", "password": "nope"},
            "No user found for the given username and password",
        ),
        (
            CLIENT,
            {"grant_type": "password", "username": "admin"},
            'Parameter "grant_type", "username" or "password" is missing, empty or invalid',
        ),
        (
            CLIENT,
            {"grant_type": "passwordd", **USER},
            'Parameter "grant_type", "username" or "password" is missing, empty or invalid',
        ),
        (CLIENT, {"grant_type": "client_credentials"}, "This grant type is not authorized for this client"),
        (
            CLIENT,
            {"grant_type": "refresh_token", "refresh_token": "made-up"},
            "Refresh token is invalid or has expired",
        ),
    ],
)
def test_bad_token_requests_get_akeneo_422(
    anonymous: httpx.Client, auth: tuple[str, str], body: dict[str, str], message: str
) -> None:
    response = _token(anonymous, auth=auth, json=body)

    assert response.status_code == 422
    assert response.json() == {"code": 422, "message": message}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Authentication is required"),
        ({"Authorization": "Basic c2FuZGJveDpzYW5kYm94"}, "Authentication is required"),
        ({"Authorization": "Bearer not-a-token"}, "The access token provided is invalid."),
    ],
)
def test_missing_or_unknown_token_gets_401(
    anonymous: httpx.Client, headers: dict[str, str], message: str
) -> None:
    assert_error(anonymous.get(PRODUCTS, headers=headers), PRODUCTS, 401, message)


def test_expired_token_gets_401_then_refresh_works(sandbox: Sandbox, anonymous: httpx.Client) -> None:
    pair = _token(anonymous, json={"grant_type": "password", **USER}).json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert anonymous.get(PRODUCTS, headers=headers).status_code == 200

    sandbox.app.state.faults.expire_tokens()

    assert_error(
        anonymous.get(PRODUCTS, headers=headers), PRODUCTS, 401, "The access token provided has expired."
    )
    refreshed = _token(
        anonymous, json={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )
    new_headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert anonymous.get(PRODUCTS, headers=new_headers).status_code == 200


def test_token_lifetime_is_token_ttl() -> None:
    now = [1_000.0]
    tokens = TokenStore(ttl=60, clock=lambda: now[0])
    access = tokens.issue()["access_token"]

    now[0] += 59
    assert tokens.status(access) == "valid"
    now[0] += 2
    assert tokens.status(access) == "expired"
    assert tokens.status("unknown") == "invalid"


# -- pagination (pagination.md) ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [100, 7])
def test_page_pagination_walks_the_whole_catalog(
    sandbox: Sandbox, api: httpx.Client, catalog: SandboxCatalog, limit: int
) -> None:
    pages = _walk(api, PRODUCTS, {"limit": limit})

    assert _uuids(pages) == [header.uuid for header in _headers(catalog)]
    assert [page["current_page"] for page in pages] == list(range(1, len(pages) + 1))
    assert all(("previous" in page["_links"]) == (page["current_page"] > 1) for page in pages)
    assert all(len(page["_embedded"]["items"]) == limit for page in pages[:-1])
    # OffsetHalPaginator: "next" only on full pages, so 300 items by 100 end on an empty fourth page.
    assert len(pages[-1]["_embedded"]["items"]) == catalog.products_count % limit
    links = [link["href"] for page in pages for link in page["_links"].values()]
    assert all(href.startswith(f"{sandbox.url}{PRODUCTS}?") for href in links)


@pytest.mark.parametrize("limit", [100, 7])
def test_search_after_pagination_walks_the_whole_catalog(
    sandbox: Sandbox, api: httpx.Client, catalog: SandboxCatalog, limit: int
) -> None:
    pages = _walk(api, PRODUCTS, {"pagination_type": "search_after", "limit": limit})

    uuids = _uuids(pages)
    assert uuids == [header.uuid for header in _headers(catalog)]
    assert uuids == sorted(uuids), "search_after pages are sorted by uuid"
    assert all("current_page" not in page for page in pages)
    cursors = [re.search(r"search_after=([^&]+)", page["_links"]["next"]["href"]) for page in pages[:-1]]
    assert all(cursor and cursor.group(1) not in uuids for cursor in cursors), "the cursor is opaque"
    assert (
        pages[0]["_links"]["first"]["href"]
        == f"{sandbox.url}{PRODUCTS}?pagination_type=search_after&limit={limit}"
    )


def test_with_count_gives_items_count(api: httpx.Client, catalog: SandboxCatalog) -> None:
    body = checked(api.get(PRODUCTS, params={"with_count": "true", "limit": 1}), PRODUCTS)

    assert body["items_count"] == catalog.products_count
    assert "items_count" not in checked(api.get(PRODUCTS, params={"limit": 1}), PRODUCTS)


@pytest.mark.parametrize(("limit", "expected"), [(None, 10), ("1", 1), ("100", 100)])
def test_limit_within_bounds(api: httpx.Client, limit: str | None, expected: int) -> None:
    params = {} if limit is None else {"limit": limit}

    assert len(checked(api.get(PRODUCTS, params=params), PRODUCTS)["_embedded"]["items"]) == expected


@pytest.mark.parametrize("path", [PRODUCTS, "/api/rest/v1/attributes", "/api/rest/v1/locales"])
@pytest.mark.parametrize("pagination_type", ["page", "search_after"])
@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", '"0" is not a valid limit number.'),
        ("-3", '"-3" is not a valid limit number.'),
        ("1.5", '"1.5" is not a valid limit number.'),
        ("ten", '"ten" is not a valid limit number.'),
        ("101", "You cannot request more than 100 items."),
    ],
)
def test_limit_out_of_bounds_gets_422(
    api: httpx.Client, path: str, pagination_type: str, limit: str, message: str
) -> None:
    if pagination_type == "search_after" and path != PRODUCTS:
        message = "Pagination type is not supported."
    response = api.get(path, params={"limit": limit, "pagination_type": pagination_type})

    assert_error(response, path, 422, message)


def test_offset_pagination_stops_at_ten_thousand_items(api: httpx.Client) -> None:
    response = api.get(PRODUCTS, params={"page": 101, "limit": 100})

    assert response.status_code == 422
    assert checked(response, PRODUCTS) == {
        "code": 422,
        "message": 'You have reached the maximum number of pages you can retrieve with the "page" pagination '
        "type. Please use the search after pagination type instead",
        "_links": {
            "documentation": {
                "href": "http://api.akeneo.com/documentation/pagination.html#the-search-after-method"
            }
        },
    }
    assert api.get(PRODUCTS, params={"page": 100, "limit": 100}).status_code == 200


# -- filters (filter.md) -------------------------------------------------------------------------------

_SINCE = datetime(2026, 6, 1, tzinfo=UTC)
_UNTIL = datetime(2026, 3, 1, 12, tzinfo=UTC)
_FROM, _TO = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)

FILTERS: dict[str, tuple[dict[str, list[dict[str, Any]]], Callable[[ProductHeader], bool]]] = {
    "updated >": (
        {"updated": [{"operator": ">", "value": "2026-06-01 00:00:00"}]},
        lambda h: h.updated > _SINCE,
    ),
    "updated <": (
        {"updated": [{"operator": "<", "value": "2026-03-01 12:00:00"}]},
        lambda h: h.updated < _UNTIL,
    ),
    "updated BETWEEN": (
        {"updated": [{"operator": "BETWEEN", "value": ["2026-04-01 00:00:00", "2026-05-01 00:00:00"]}]},
        lambda h: _FROM <= h.updated <= _TO,
    ),
    "family IN": (
        {"family": [{"operator": "IN", "value": ["shoes", "accessories"]}]},
        lambda h: h.family in ("shoes", "accessories"),
    ),
    "family NOT IN": (
        {"family": [{"operator": "NOT IN", "value": ["shoes"]}]},
        lambda h: h.family != "shoes",
    ),
    "enabled =": ({"enabled": [{"operator": "=", "value": False}]}, lambda h: not h.enabled),
    "enabled !=": ({"enabled": [{"operator": "!=", "value": False}]}, lambda h: h.enabled),
    "combined": (
        {
            "enabled": [{"operator": "=", "value": True}],
            "family": [{"operator": "IN", "value": ["shirts"]}],
            "updated": [{"operator": ">", "value": "2026-06-01 00:00:00"}],
        },
        lambda h: h.enabled and h.family == "shirts" and h.updated > _SINCE,
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("pagination_type", ["page", "search_after"])
def test_search_filters_select_exactly_the_matching_products(
    api: httpx.Client, catalog: SandboxCatalog, name: str, pagination_type: str
) -> None:
    search, predicate = FILTERS[name]
    expected = [header.uuid for header in _headers(catalog) if predicate(header)]
    assert 0 < len(expected) < catalog.products_count, "the filter must split the catalog"

    params = {"search": search_param(**search), "limit": 50, "pagination_type": pagination_type}
    pages = _walk(api, PRODUCTS, params, check_all=False)

    assert _uuids(pages) == expected


def test_uuid_filter_and_count(api: httpx.Client, catalog: SandboxCatalog) -> None:
    wanted = [catalog.header(index).uuid for index in (3, 150, 299)]
    search = search_param(uuid=[{"operator": "IN", "value": wanted}])

    body = checked(api.get(PRODUCTS, params={"search": search, "with_count": "true"}), PRODUCTS)

    assert _uuids([body]) == wanted
    assert body["items_count"] == 3


@pytest.mark.parametrize(
    ("search", "status", "message"),
    [
        ("not json", 400, "Search query parameter should be valid JSON."),
        (
            '{"family": "shoes"}',
            422,
            'Structure of filter "family" should respect this structure: '
            '{"family":[{"operator": "my_operator", "value": "my_value"}]}',
        ),
        ('{"family": [{"value": ["shoes"]}]}', 422, 'Operator is missing for the property "family".'),
        (
            '{"colour": [{"operator": "IN", "value": ["red"]}]}',
            422,
            'Filter on property "colour" is not supported or does not support operator "IN"',
        ),
        (
            '{"updated": [{"operator": ">", "value": "2026-13-01"}]}',
            422,
            'Property "updated" expects a string with the format "yyyy-mm-dd H:i:s" as data, '
            '"2026-13-01" given.',
        ),
        (
            '{"enabled": [{"operator": "=", "value": "yes"}]}',
            422,
            'Property "enabled" expects a boolean as data, "string" given.',
        ),
    ],
)
def test_bad_search_gets_akeneo_errors(api: httpx.Client, search: str, status: int, message: str) -> None:
    assert_error(api.get(PRODUCTS, params={"search": search}), PRODUCTS, status, message)


def test_scope_keeps_the_channel_values_only(api: httpx.Client) -> None:
    product = checked(api.get(PRODUCTS, params={"scope": "print", "limit": 1}), PRODUCTS)["_embedded"][
        "items"
    ][0]

    values = [value for values in product["values"].values() for value in values]
    assert {value["scope"] for value in values} == {None, "print"}
    # Without "locales", a scope keeps the channel's locales: print is en_US only.
    assert {value["locale"] for value in values} == {None, "en_US"}
    assert {"sku", "main_image", "zoom_image", "detail_image"} <= set(product["values"])


def test_locales_and_attributes_narrow_the_values(api: httpx.Client) -> None:
    params = {"locales": "fr_FR", "attributes": "sku,name,lifestyle_image,main_image", "limit": 1}

    product = checked(api.get(PRODUCTS, params=params), PRODUCTS)["_embedded"]["items"][0]

    assert list(product["values"]) == ["sku", "name", "main_image", "lifestyle_image"]
    assert [value["locale"] for value in product["values"]["lifestyle_image"]] == ["fr_FR"]
    assert [value["locale"] for value in product["values"]["name"]] == ["fr_FR"]
    assert product["values"]["main_image"][0]["locale"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"scope": "web"}, 'Scope "web" does not exist.'),
        ({"locales": "xx_XX"}, 'Locale "xx_XX" does not exist or is not activated.'),
        ({"locales": "es_ES,xx_XX"}, 'Locales "es_ES, xx_XX" do not exist or are not activated.'),
        ({"scope": "print", "locales": "fr_FR"}, 'Locale "fr_FR" is not activated for the scope "print".'),
        ({"attributes": "colour"}, 'Attribute "colour" does not exist.'),
    ],
)
def test_bad_value_filters_get_422(api: httpx.Client, params: dict[str, str], message: str) -> None:
    assert_error(api.get(PRODUCTS, params=params), PRODUCTS, 422, message)


# -- products ------------------------------------------------------------------------------------------


def test_get_one_product(sandbox: Sandbox, api: httpx.Client, catalog: SandboxCatalog) -> None:
    uuid = catalog.header(0).uuid

    product = checked(api.get(PRODUCT.format(uuid=uuid)), PRODUCT)

    assert product == catalog.product(0, sandbox.url)
    assert product["values"]["sku"] == [{"locale": None, "scope": None, "data": "SKU-00001"}]


def test_media_values_link_to_their_download(
    sandbox: Sandbox, api: httpx.Client, catalog: SandboxCatalog
) -> None:
    product = checked(api.get(PRODUCT.format(uuid=catalog.header(0).uuid)), PRODUCT)
    media_types = {
        code
        for code, attribute in catalog.attributes.items()
        if attribute["type"] in ("pim_catalog_image", "pim_catalog_file")
    }

    values = [value for code, values in product["values"].items() if code in media_types for value in values]

    # main, back, 3 lifestyle (locales), 2 zoom (channels), 4 detail (channel x locale), user manual.
    assert len(values) == 12, "product 0 fills every media attribute for every locale and scope"
    for value in values:
        assert (
            value["_links"]["download"]["href"] == f"{sandbox.url}{MEDIA_DOWNLOAD.format(code=value['data'])}"
        )


# -- structure -----------------------------------------------------------------------------------------


def test_image_attributes_by_type(api: httpx.Client) -> None:
    search = search_param(type=[{"operator": "IN", "value": ["pim_catalog_image"]}])

    body = checked(api.get("/api/rest/v1/attributes", params={"search": search}), "/api/rest/v1/attributes")

    items = body["_embedded"]["items"]
    assert [item["code"] for item in items] == [
        "back_image",
        "detail_image",
        "lifestyle_image",
        "main_image",
        "zoom_image",
    ]
    by_code = {item["code"]: item for item in items}
    assert [code for code in sorted(by_code, key=lambda code: by_code[code]["sort_order"])] == [
        "main_image",
        "lifestyle_image",
        "back_image",
        "detail_image",
        "zoom_image",
    ]
    flags = {code: (item["localizable"], item["scopable"]) for code, item in by_code.items()}
    assert flags == {
        "main_image": (False, False),
        "back_image": (False, False),
        "lifestyle_image": (True, False),
        "zoom_image": (False, True),
        "detail_image": (True, True),
    }


def test_attributes_by_code_and_pages(api: httpx.Client) -> None:
    search = search_param(code=[{"operator": "IN", "value": ["sku", "user_manual", "nope"]}])
    found = checked(api.get("/api/rest/v1/attributes", params={"search": search}), "/api/rest/v1/attributes")
    pages = _walk(api, "/api/rest/v1/attributes", {"limit": 3})

    assert [(item["code"], item["type"]) for item in found["_embedded"]["items"]] == [
        ("sku", "pim_catalog_identifier"),
        ("user_manual", "pim_catalog_file"),
    ]
    # 8 attributes plus the 4 asset collections of the default asset system ("new"): 12, so the walk ends on
    # an empty page (OffsetHalPaginator gives "next" on every full page).
    assert [len(page["_embedded"]["items"]) for page in pages] == [3, 3, 3, 3, 0]


@pytest.mark.parametrize(
    ("path", "code", "expected"),
    [
        ("/api/rest/v1/attributes", "main_image", {"type": "pim_catalog_image", "localizable": False}),
        (
            "/api/rest/v1/families",
            "shoes",
            {"attribute_as_image": "main_image", "attribute_as_label": "name"},
        ),
        (
            "/api/rest/v1/channels",
            "ecommerce",
            {"locales": ["de_DE", "en_US", "fr_FR"], "category_tree": "master"},
        ),
        ("/api/rest/v1/channels", "print", {"locales": ["en_US"]}),
        ("/api/rest/v1/locales", "fr_FR", {"enabled": True}),
        ("/api/rest/v1/locales", "es_ES", {"enabled": False}),
    ],
)
def test_structure_lists_and_items(
    sandbox: Sandbox, api: httpx.Client, path: str, code: str, expected: dict[str, Any]
) -> None:
    listed = {
        item["code"]: item for page in _walk(api, path, {"limit": 100}) for item in page["_embedded"]["items"]
    }
    item = checked(api.get(f"{path}/{code}"), f"{path}/{{code}}")

    assert item.items() >= expected.items()
    assert listed[code] == {"_links": {"self": {"href": f"{sandbox.url}{path}/{code}"}}, **item}


def test_enabled_locales(api: httpx.Client) -> None:
    search = search_param(enabled=[{"operator": "=", "value": True}])

    body = checked(api.get("/api/rest/v1/locales", params={"search": search}), "/api/rest/v1/locales")

    assert [item["code"] for item in body["_embedded"]["items"]] == ["de_DE", "en_US", "fr_FR"]


def test_families_list_their_image_attributes(api: httpx.Client) -> None:
    body = checked(api.get("/api/rest/v1/families"), "/api/rest/v1/families")

    attributes = {item["code"]: set(item["attributes"]) for item in body["_embedded"]["items"]}
    assert set(attributes) == {"accessories", "shirts", "shoes"}
    assert all({"sku", "name", "main_image"} <= codes for codes in attributes.values())
    assert attributes["shirts"] != attributes["accessories"]


# -- not found (responses.md) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "template", "message"),
    [
        (
            PRODUCT.format(uuid="00000000-0000-4000-8000-000000000000"),
            PRODUCT,
            'Product "00000000-0000-4000-8000-000000000000" does not exist or you do not have permission '
            "to access it.",
        ),
        (
            "/api/rest/v1/attributes/colour",
            "/api/rest/v1/attributes/{code}",
            'Attribute "colour" does not exist.',
        ),
        ("/api/rest/v1/families/hats", "/api/rest/v1/families/{code}", 'Family "hats" does not exist.'),
        ("/api/rest/v1/channels/web", "/api/rest/v1/channels/{code}", 'Channel "web" does not exist.'),
        ("/api/rest/v1/locales/xx_XX", "/api/rest/v1/locales/{code}", 'Locale "xx_XX" does not exist.'),
        ("/api/rest/v1/media-files/a/b/c/d/nope.jpg", MEDIA, 'Media file "a/b/c/d/nope.jpg" does not exist.'),
        (
            "/api/rest/v1/media-files/a/b/c/d/nope.jpg/download",
            MEDIA_DOWNLOAD,
            'Media file "a/b/c/d/nope.jpg" does not exist.',
        ),
    ],
)
def test_unknown_resources_get_404(api: httpx.Client, url: str, template: str, message: str) -> None:
    assert_error(api.get(url), template, 404, message)


def test_unknown_route_gets_404(api: httpx.Client) -> None:
    response = api.get("/api/rest/v1/products-by-magic")

    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "message": 'No route found for "GET /api/rest/v1/products-by-magic"',
    }


# -- media ---------------------------------------------------------------------------------------------


def _first_media(catalog: SandboxCatalog, mime_type: str, *, non_ascii: bool = False) -> Any:
    for index in range(catalog.products_count):
        for media in catalog.product_media(index):
            if media.mime_type == mime_type and (not non_ascii or not media.original_filename.isascii()):
                return media
    raise AssertionError(f"no {mime_type} media in the catalog")


@pytest.mark.parametrize(
    ("mime_type", "pillow_format", "non_ascii"),
    [
        ("image/jpeg", "JPEG", False),
        ("image/jpeg", "JPEG", True),
        ("image/png", "PNG", False),
        ("image/gif", "GIF", False),
        ("image/tiff", "TIFF", False),
        ("image/bmp", "BMP", False),
    ],
)
def test_media_download_gives_the_real_image(
    api: httpx.Client, catalog: SandboxCatalog, mime_type: str, pillow_format: str, non_ascii: bool
) -> None:
    media = _first_media(catalog, mime_type, non_ascii=non_ascii)

    meta = checked(api.get(f"/api/rest/v1/media-files/{media.code}"), MEDIA)
    download = api.get(meta["_links"]["download"]["href"])

    assert download.status_code == 200
    assert download.headers["content-type"] == meta["mime_type"] == mime_type
    assert len(download.content) == int(download.headers["content-length"]) == meta["size"]
    disposition = download.headers["content-disposition"]
    assert disposition == f'attachment; filename="{meta["original_filename"]}"'
    digest = hashlib.sha1(download.content + meta["original_filename"].encode()).hexdigest()
    assert meta["code"] == f"{'/'.join(digest[:4])}/{digest}_{sanitize_filename(meta['original_filename'])}"
    assert meta["extension"] == meta["original_filename"].rsplit(".", 1)[1]
    with Image.open(io.BytesIO(download.content)) as image:
        assert image.format == pillow_format
        assert all(24 <= side <= 96 for side in image.size)
        image.load()


def test_user_manual_is_a_pdf(api: httpx.Client, catalog: SandboxCatalog) -> None:
    media = _first_media(catalog, "application/pdf")

    download = api.get(MEDIA_DOWNLOAD.format(code=media.code))

    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-1.4\n") and download.content.endswith(b"%%EOF\n")


def test_products_share_a_media_file(api: httpx.Client, catalog: SandboxCatalog) -> None:
    first, second = (checked(api.get(PRODUCT.format(uuid=catalog.header(i).uuid)), PRODUCT) for i in (0, 1))

    shared = first["values"]["main_image"][0]["data"]
    assert second["values"]["main_image"][0]["data"] == shared
    assert api.get(MEDIA_DOWNLOAD.format(code=shared)).status_code == 200


def test_catalog_holds_the_documented_edge_cases(catalog: SandboxCatalog) -> None:
    products = list(catalog.iter_products())
    media = [m for index in range(catalog.products_count) for m in catalog.product_media(index)]
    image_attributes = [code for code, a in catalog.attributes.items() if a["type"] == "pim_catalog_image"]

    without_images = [p for p in products if not set(p["values"]).intersection(image_attributes)]
    codes = [m.code for m in media]
    kinds = {m.mime_type for m in media}
    assert len(without_images) > 3
    assert len(codes) - len(set(codes)) > 3, "several products share media files"
    assert {"image/jpeg", "image/png", "image/gif", "image/tiff", "image/bmp", "application/pdf"} == kinds
    assert sum(m.mime_type == "image/jpeg" for m in media) > len(media) / 2
    assert any(" " in m.original_filename for m in media)
    assert any(not p["enabled"] for p in products)
    updated = sorted(p["updated"] for p in products)
    assert "2026-01-01" <= updated[0] < "2026-02-01" and "2026-10-01" <= updated[-1] < "2026-11-01"


# -- determinism and memory ----------------------------------------------------------------------------


def _fingerprint(catalog: SandboxCatalog) -> str:
    digest = hashlib.sha256(json.dumps(list(catalog.iter_products()), sort_keys=True).encode())
    for index in range(catalog.products_count):
        for media in catalog.product_media(index):
            digest.update(media.content)
    return digest.hexdigest()


def test_same_seed_same_bytes_other_seed_other_catalog() -> None:
    assert _fingerprint(generate_catalog(40, seed=7)) == _fingerprint(generate_catalog(40, seed=7))
    assert _fingerprint(generate_catalog(40, seed=7)) != _fingerprint(generate_catalog(40, seed=8))
    assert generate_catalog(40, seed=7).header(9).uuid != generate_catalog(40, seed=8).header(9).uuid


def test_products_do_not_depend_on_catalog_size() -> None:
    assert generate_catalog(20).product(12) == generate_catalog(5_000).product(12)


def test_a_large_catalog_costs_no_memory() -> None:
    tracemalloc.start()
    try:
        started = time.process_time()  # CPU: other processes share the cores (pytest -n)
        catalog = generate_catalog(100_000)
        last = catalog.product(99_999)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert time.process_time() - started < 2
    assert peak < 2_000_000
    assert last["values"]["sku"][0]["data"] == "SKU-100000"
    assert catalog.index_of_uuid(last["uuid"]) == 99_999
    assert catalog.first_index_after_uuid(catalog.header(41_999).uuid) == 42_000


# -- fault injection -----------------------------------------------------------------------------------


def _statuses(sandbox: Sandbox, since: int, path_regex: str) -> list[int]:
    records = list(sandbox.app.state.requests)[since:]
    return [record.status for record in records if re.search(path_regex, record.path)]


def test_429_with_retry_after_then_success(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.app.state.faults.add(r"/products-uuid$", 429, retry_after=7)
    since = len(sandbox.app.state.requests)

    limited = api.get(PRODUCTS, params={"limit": 2})
    retried = api.get(PRODUCTS, params={"limit": 2})

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert checked(limited, PRODUCTS) == {
        "code": 429,
        "message": "You have exceeded the limit of API requests per second.",
    }
    assert retried.status_code == 200
    assert _statuses(sandbox, since, r"/products-uuid$") == [429, 200]
    assert sandbox.app.state.requests[-1].query == "limit=2"


def test_503_twice_on_downloads(sandbox: Sandbox, api: httpx.Client, catalog: SandboxCatalog) -> None:
    code = catalog.product_media(0)[0].code
    rule = sandbox.app.state.faults.add(r"/download$", 503, times=2)
    since = len(sandbox.app.state.requests)

    responses = [api.get(MEDIA_DOWNLOAD.format(code=code)) for _ in range(3)]

    assert [response.status_code for response in responses] == [503, 503, 200]
    assert responses[0].json() == {"code": 503, "message": "Service Unavailable"}
    assert "retry-after" not in responses[0].headers
    assert rule.hits == 2
    assert _statuses(sandbox, since, r"/download$") == [503, 503, 200]


def test_gateway_error_with_html_body_until_cleared(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.app.state.faults.add(r"/channels", 502, times=None, body="<html>Bad Gateway</html>", method="GET")

    first, second = api.get("/api/rest/v1/channels"), api.get("/api/rest/v1/channels")
    sandbox.app.state.faults.clear()

    assert (first.status_code, second.status_code) == (502, 502)
    assert first.headers["content-type"].startswith("text/html") and first.text == "<html>Bad Gateway</html>"
    assert api.get("/api/rest/v1/channels").status_code == 200


def test_faults_come_before_authentication(sandbox: Sandbox, anonymous: httpx.Client) -> None:
    sandbox.app.state.faults.add(TOKEN, 500)

    assert anonymous.post(TOKEN, auth=CLIENT, json={"grant_type": "password", **USER}).status_code == 500
    assert _token(anonymous, json={"grant_type": "password", **USER}).status_code == 200


def test_latency(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.app.state.faults.latency(0.2, r"/locales$")

    started = time.perf_counter()
    response = api.get("/api/rest/v1/locales")

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.19  # an undelayed call takes a few milliseconds


# -- the Swagger file and its corrections --------------------------------------------------------------


def test_validation_catches_a_broken_response(api: httpx.Client) -> None:
    body = checked(api.get(PRODUCTS, params={"limit": 1}), PRODUCTS)
    body["_embedded"]["items"][0]["enabled"] = "yes"

    with pytest.raises(jsonschema.ValidationError, match="is not of type 'boolean'"):
        swagger.validate(body, PRODUCTS, "get", 200)


def _samples(api: httpx.Client, sandbox: Sandbox) -> dict[str, tuple[Any, str, str, int]]:
    """One real response per correction that, validated without that correction, must fail."""
    product = api.get(PRODUCT.format(uuid=sandbox.app.state.catalog.header(0).uuid)).json()
    attribute = api.get("/api/rest/v1/attributes/main_image").json()
    token = api.post(TOKEN, auth=CLIENT, json={"grant_type": "password", **USER}).json()
    bad_labels = {**attribute, "labels": {"en_US": 42}}
    sandbox.app.state.faults.add(r"/families$", 429, retry_after=1)
    return {
        "value-locale-scope-nullable": (
            {**product, "values": {"sku": product["values"]["sku"]}},
            PRODUCT,
            "get",
            200,
        ),
        "value-data-any-type": (
            {**product, "values": {"x": [{"locale": "en_US", "scope": "print", "data": "a string"}]}},
            PRODUCT,
            "get",
            200,
        ),
        "product-parent-nullable": ({**product, "values": {}}, PRODUCT, "get", 200),
        "token-scope-nullable": (token, TOKEN, "post", 200),
        "attribute-nulls": (attribute, "/api/rest/v1/attributes/{code}", "get", 200),
        # Tightening: without it, a label that is not a string passes unnoticed.
        "code-placeholders": (bad_labels, "/api/rest/v1/attributes/{code}", "get", 200),
        "list-400-422": (
            api.get("/api/rest/v1/attributes", params={"limit": 0}).json(),
            "/api/rest/v1/attributes",
            "get",
            422,
        ),
        "429-everywhere": (api.get("/api/rest/v1/families").json(), "/api/rest/v1/families", "get", 429),
    }


@pytest.mark.parametrize("name", [correction.name for correction in swagger.CORRECTIONS])
def test_each_correction_is_still_needed(api: httpx.Client, sandbox: Sandbox, name: str) -> None:
    if name == "asset-items-erratum":
        # ERRATA.md: the published file still says "_items" for the Asset Manager list.
        path = "/api/rest/v1/asset-families/{asset_family_code}/assets"
        assert "_items" in json.dumps(swagger.response_schema(swagger.raw_spec(), path, "get", 200))
        assert "_items" not in json.dumps(swagger.response_schema(swagger.corrected_spec(), path, "get", 200))
        return
    body, path, method, status = _samples(api, sandbox)[name]
    tightening = name == "code-placeholders"

    without = _fails(body, path, method, status, skip=frozenset({name}))
    with_all = _fails(body, path, method, status, skip=frozenset())

    assert (without, with_all) == ((False, True) if tightening else (True, False))


def _fails(body: Any, path: str, method: str, status: int, *, skip: frozenset[str]) -> bool:
    try:
        swagger.validate(body, path, method, status, skip=skip)
    except (jsonschema.ValidationError, AssertionError):
        return True
    return False
