"""The sandbox Akeneo's assets, over real HTTP: the Asset Manager (PIM >= 4.0) and the PAM (PIM <= 3.2).

Two servers per module (uvicorn in threads on free ports): one serves the default catalog with the Asset
Manager (``asset_system="new"``), the other the same products with the PAM (``asset_system="old"``). JSON
responses go through :func:`checked`, which validates them against the official Swagger file, corrected as
``swagger.py`` explains (``ASSET_CORRECTIONS`` for the asset routes; each is shown to be still needed below).
No conftest: the fixtures live here.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest
from PIL import Image

from pim_sandbox.catalog import (
    ASSET_LINK_PREFIX,
    AssetHeader,
    SandboxCatalog,
    generate_catalog,
)

try:  # tests/integration is a plain folder today; keep working if it becomes a package
    from . import swagger
    from .sandbox_api import assert_error, authorised_client, checked, search_param
except ImportError:
    import swagger  # type: ignore[no-redef]
    from sandbox_api import assert_error, authorised_client, checked, search_param  # type: ignore[no-redef]

FAMILIES = "/api/rest/v1/asset-families"
FAMILY = "/api/rest/v1/asset-families/{code}"
ATTRIBUTES = "/api/rest/v1/asset-families/{asset_family_code}/attributes"
ATTRIBUTE = "/api/rest/v1/asset-families/{asset_family_code}/attributes/{code}"
ASSETS = "/api/rest/v1/asset-families/{asset_family_code}/assets"
ASSET = "/api/rest/v1/asset-families/{asset_family_code}/assets/{code}"
ASSET_MEDIA = "/api/rest/v1/asset-media-files/{code}"
PAM_ASSETS = "/api/rest/v1/assets"
PAM_ASSET = "/api/rest/v1/assets/{code}"
REFERENCE = "/api/rest/v1/assets/{asset_code}/reference-files/{locale_code}"
REFERENCE_DOWNLOAD = "/api/rest/v1/assets/{asset_code}/reference-files/{locale_code}/download"
VARIATION = "/api/rest/v1/assets/{asset_code}/variation-files/{channel_code}/{locale_code}"
VARIATION_DOWNLOAD = "/api/rest/v1/assets/{asset_code}/variation-files/{channel_code}/{locale_code}/download"
EXTERNAL_LOCATION = "https://cdn.example.com/images/"
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}


# -- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def new_catalog() -> SandboxCatalog:
    return generate_catalog(asset_system="new")


@pytest.fixture(scope="module")
def old_catalog() -> SandboxCatalog:
    return generate_catalog(asset_system="old")


@pytest.fixture(scope="module")
def new_api(new_catalog: SandboxCatalog) -> Iterator[httpx.Client]:
    """A client of the Asset Manager sandbox, holding a token (no test here expires tokens)."""
    with authorised_client(new_catalog) as client:
        yield client


@pytest.fixture(scope="module")
def old_api(old_catalog: SandboxCatalog) -> Iterator[httpx.Client]:
    """A client of the PAM sandbox, holding a token."""
    with authorised_client(old_catalog) as client:
        yield client


# -- helpers -------------------------------------------------------------------------------------------


def _no_route(response: httpx.Response) -> None:
    """The other asset system's routes do not exist: Symfony's 404 for an unknown route (responses.md)."""
    assert response.status_code == 404, response.text
    route = f"GET {response.request.url.path}"
    assert response.json() == {"code": 404, "message": f'No route found for "{route}"'}


def _walk(client: httpx.Client, url: str, template: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Follow ``_links.next`` from the first page, validating every page; return the pages."""
    pages = [checked(client.get(url, params=params), template)]
    while "next" in pages[-1]["_links"]:
        assert len(pages) < 100, "pagination does not end"
        pages.append(checked(client.get(pages[-1]["_links"]["next"]["href"]), template))
    return pages


def _codes(pages: list[Any]) -> list[str]:
    return [item["code"] for page in pages for item in page["_embedded"]["items"]]


def _family_codes(catalog: SandboxCatalog, family: str | None = None) -> list[str]:
    return [header.code for header in catalog.iter_asset_headers(family)]


def _open_image(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def _values(asset: dict[str, Any], attribute: str) -> list[dict[str, Any]]:
    return asset["values"].get(attribute, [])


# -- the system switch ---------------------------------------------------------------------------------


def test_unknown_asset_system_is_refused() -> None:
    with pytest.raises(ValueError, match="asset_system must be one of new, old, got 'both'"):
        generate_catalog(5, asset_system="both")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        PAM_ASSETS,
        PAM_ASSET.format(code="sku_00001_front"),
        REFERENCE.format(asset_code="sku_00001_front", locale_code="no_locale"),
        VARIATION_DOWNLOAD.format(
            asset_code="sku_00001_front", channel_code="print", locale_code="no_locale"
        ),
    ],
)
def test_pam_routes_do_not_exist_with_the_asset_manager(new_api: httpx.Client, url: str) -> None:
    # pam.md: the PAM endpoints are removed from the REST API since 4.0.
    _no_route(new_api.get(url))


@pytest.mark.parametrize(
    "url",
    [
        FAMILIES,
        FAMILY.format(code="packshots"),
        ASSETS.format(asset_family_code="packshots"),
        ATTRIBUTES.format(asset_family_code="packshots"),
        ASSET_MEDIA.format(code="a/b/c/d/abcd_x.jpg"),
    ],
)
def test_asset_manager_routes_do_not_exist_with_the_pam(old_api: httpx.Client, url: str) -> None:
    _no_route(old_api.get(url))


def test_image_attributes_and_values_do_not_depend_on_the_asset_system() -> None:
    new, old = generate_catalog(60, asset_system="new"), generate_catalog(60, asset_system="old")
    new_collections = {
        code for code, a in new.attributes.items() if a["type"] == "pim_catalog_asset_collection"
    }
    old_collections = {code for code, a in old.attributes.items() if a["type"] == "pim_assets_collection"}

    assert new_collections == {"packshots", "lifestyle_assets", "cdn_images", "user_guides"}
    assert old_collections == {"packshots", "lifestyle_assets", "user_guides"}
    assert {k: v for k, v in new.attributes.items() if k not in new_collections} == {
        k: v for k, v in old.attributes.items() if k not in old_collections
    }
    for index in range(new.products_count):
        new_product, old_product = new.product(index), old.product(index)
        for product, collections in ((new_product, new_collections), (old_product, old_collections)):
            # Collections come after every other value, so the image values keep their order too.
            codes = list(product["values"])
            assert codes == sorted(codes, key=lambda code: code in collections)
            product["values"] = {k: v for k, v in product["values"].items() if k not in collections}
        assert new_product == old_product


# -- Asset Manager: structure --------------------------------------------------------------------------


def test_asset_families_list_and_items(new_api: httpx.Client, new_catalog: SandboxCatalog) -> None:
    listed = checked(new_api.get(FAMILIES), FAMILIES)
    items = listed["_embedded"]["items"]
    base = str(new_api.base_url).rstrip("/")

    assert [item["code"] for item in items] == ["cdn_images", "lifestyle", "packshots", "user_guides"]
    assert "next" not in listed["_links"], "four families fit in one page of 100"
    main_media = {item["code"]: item["attribute_as_main_media"] for item in items}
    assert main_media == {
        "cdn_images": "url_large",
        "lifestyle": "picture",
        "packshots": "picture",
        "user_guides": "pdf",
    }
    for item in items:
        single = checked(new_api.get(FAMILY.format(code=item["code"])), FAMILY)
        assert item == {"_links": {"self": {"href": f"{base}{FAMILIES}/{item['code']}"}}, **single}
        assert single == new_catalog.asset_families[item["code"]]
        assert set(single) == {
            "code",
            "labels",
            "attribute_as_main_media",
            "naming_convention",
            "product_link_rules",
            "transformations",
        }
    after = checked(new_api.get(FAMILIES, params={"search_after": "lifestyle"}), FAMILIES)
    assert [item["code"] for item in after["_embedded"]["items"]] == ["packshots", "user_guides"]


def test_packshots_family_links_and_transforms(new_catalog: SandboxCatalog) -> None:
    packshots = new_catalog.asset_families["packshots"]

    assert packshots["naming_convention"]["source"] == {
        "property": "picture",
        "channel": None,
        "locale": None,
    }
    assert packshots["product_link_rules"][0]["assign_assets_to"][0]["attribute"] == "packshots"
    assert packshots["transformations"][0]["target"]["attribute"] == "thumbnail"
    assert new_catalog.asset_families["lifestyle"]["naming_convention"] == {}


def _attribute_flags(attributes: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        a["code"]: (a["type"], a.get("media_type"), a["value_per_locale"], a["value_per_channel"])
        for a in attributes
    }


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (
            "packshots",
            {
                "picture": ("media_file", "image", False, False),
                "thumbnail": ("media_file", "image", False, False),
                "url_large": ("media_link", "image", False, False),
                "url_thumb": ("media_link", "image", False, False),
                "alt_text": ("text", None, True, False),
                "product_ref": ("text", None, False, False),
            },
        ),
        (
            "lifestyle",
            {
                "picture": ("media_file", "image", True, False),
                "url_large": ("media_link", "image", True, False),
                "url_thumb": ("media_link", "image", False, False),
                "product_ref": ("text", None, False, False),
            },
        ),
        (
            "cdn_images",
            {
                "url_large": ("media_link", "image", False, True),
                "url_thumb": ("media_link", "image", False, False),
                "product_ref": ("text", None, False, False),
            },
        ),
        (
            "user_guides",
            {
                "pdf": ("media_file", "pdf", False, False),
                "url_large": ("media_link", "image", False, False),
                "url_thumb": ("media_link", "image", False, False),
                "product_ref": ("text", None, False, False),
            },
        ),
    ],
)
def test_asset_attributes(new_api: httpx.Client, family: str, expected: dict[str, tuple[Any, ...]]) -> None:
    # Not paginated: a plain JSON array (asset-manager.md, "Asset attribute").
    attributes = checked(new_api.get(ATTRIBUTES.format(asset_family_code=family)), ATTRIBUTES)

    assert isinstance(attributes, list)
    assert _attribute_flags(attributes) == expected
    assert list(_attribute_flags(attributes)) == list(expected), "attributes come in creation order"
    for attribute in attributes:
        url = ATTRIBUTE.format(asset_family_code=family, code=attribute["code"])
        assert checked(new_api.get(url), ATTRIBUTE) == attribute


def test_link_attributes_share_their_codes_and_prefix(new_catalog: SandboxCatalog) -> None:
    links = {
        family: {
            a["code"]: (a["prefix"], a["suffix"])
            for a in new_catalog.asset_attributes(family)
            if a["type"] == "media_link"
        }
        for family in new_catalog.asset_families
    }

    assert links == {
        "cdn_images": {"url_large": (None, None), "url_thumb": (ASSET_LINK_PREFIX, "?w=200")},
        "lifestyle": {
            "url_large": (ASSET_LINK_PREFIX, "?w=1200"),
            "url_thumb": (ASSET_LINK_PREFIX, "?w=200"),
        },
        "packshots": {"url_large": (ASSET_LINK_PREFIX, None), "url_thumb": (ASSET_LINK_PREFIX, "?w=200")},
        "user_guides": {"url_large": (ASSET_LINK_PREFIX, None), "url_thumb": (ASSET_LINK_PREFIX, "?w=200")},
    }
    assert ASSET_LINK_PREFIX.startswith(EXTERNAL_LOCATION)


# -- Asset Manager: lists, pagination and filters ------------------------------------------------------


@pytest.mark.parametrize("family", ["packshots", "lifestyle", "cdn_images", "user_guides"])
def test_search_after_walks_every_asset_once(
    new_api: httpx.Client, new_catalog: SandboxCatalog, family: str
) -> None:
    url = ASSETS.format(asset_family_code=family)

    pages = _walk(new_api, url, ASSETS)

    codes = _codes(pages)
    assert codes == _family_codes(new_catalog, family)
    assert len(codes) == len(set(codes)) and codes == sorted(codes)
    assert all(len(page["_embedded"]["items"]) == 100 for page in pages[:-1])
    assert all(page["_links"]["first"]["href"].endswith(url) for page in pages)
    assert all("current_page" not in page for page in pages)
    for page in pages[:-1]:
        assert page["_links"]["next"]["href"].endswith(
            f"?search_after={page['_embedded']['items'][-1]['code']}"
        )


def test_packshots_need_several_pages(new_catalog: SandboxCatalog) -> None:
    assert len(_family_codes(new_catalog, "packshots")) > 300
    assert 100 < len(_family_codes(new_catalog, "lifestyle")) < 200


def test_any_cursor_works(new_api: httpx.Client, new_catalog: SandboxCatalog) -> None:
    # The cursor is a code; one that is no asset's still cuts the list at its place.
    body = checked(
        new_api.get(ASSETS.format(asset_family_code="packshots"), params={"search_after": "sku_00050"}),
        ASSETS,
    )

    assert (
        _codes([body])
        == [code for code in _family_codes(new_catalog, "packshots") if code > "sku_00050"][:100]
    )
    assert _codes([body])[0].startswith("sku_00050_")


_FROM, _TO = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)

ASSET_FILTERS: dict[str, tuple[dict[str, list[dict[str, Any]]], Callable[[AssetHeader], bool]]] = {
    "updated >": (
        {"updated": [{"operator": ">", "value": "2026-06-01T00:00:00Z"}]},
        lambda h: h.updated > _TO,
    ),
    "updated <": (
        {"updated": [{"operator": "<", "value": "2026-04-01T00:00:00+00:00"}]},
        lambda h: h.updated < _FROM,
    ),
    "updated > and <": (
        {
            "updated": [
                {"operator": ">", "value": "2026-04-01T00:00:00Z"},
                {"operator": "<", "value": "2026-06-01T00:00:00Z"},
            ]
        },
        lambda h: _FROM < h.updated < _TO,
    ),
    "updated BETWEEN": (
        {"updated": [{"operator": "BETWEEN", "value": ["2026-04-01T00:00:00Z", "2026-06-01T00:00:00Z"]}]},
        lambda h: _FROM <= h.updated <= _TO,
    ),
    "updated NOT BETWEEN": (
        {"updated": [{"operator": "NOT BETWEEN", "value": ["2026-04-01T00:00:00Z", "2026-06-01T00:00:00Z"]}]},
        lambda h: not _FROM <= h.updated <= _TO,
    ),
    "code IN": (
        {"code": [{"operator": "IN", "value": ["sku_00001_front", "sku_00012_back", "nope"]}]},
        lambda h: h.code in ("sku_00001_front", "sku_00012_back"),
    ),
}


@pytest.mark.parametrize("name", list(ASSET_FILTERS))
def test_search_selects_exactly_the_matching_assets(
    new_api: httpx.Client, new_catalog: SandboxCatalog, name: str
) -> None:
    search, predicate = ASSET_FILTERS[name]
    expected = [h.code for h in new_catalog.iter_asset_headers("packshots") if predicate(h)]
    assert 0 < len(expected) < len(_family_codes(new_catalog, "packshots")), (
        "the filter must split the family"
    )

    pages = _walk(
        new_api, ASSETS.format(asset_family_code="packshots"), ASSETS, {"search": search_param(**search)}
    )

    assert _codes(pages) == expected
    assert all(
        item["updated"] == new_catalog.asset("packshots", item["code"])["updated"]
        for page in pages
        for item in page["_embedded"]["items"]
    )


def test_since_last_n_days(new_api: httpx.Client) -> None:
    # The sandbox's dates are in 2026; counted from today, the answer is all or nothing, but well-formed.
    search = search_param(updated=[{"operator": "SINCE LAST N DAYS", "value": 4}])

    checked(new_api.get(ASSETS.format(asset_family_code="user_guides"), params={"search": search}), ASSETS)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"search": "not json"}, 400, "Search query parameter should be valid JSON."),
        (
            {"search": '{"updated": [{"operator": ">", "value": "2026-06-01 00:00:00"}]}'},
            422,
            'Property "updated" expects a string with the ISO 8601 format as data, '
            '"2026-06-01 00:00:00" given.',
        ),
        (
            {"search": '{"updated": [{"operator": "=", "value": "2026-06-01T00:00:00Z"}]}'},
            422,
            'Filter on property "updated" is not supported or does not support operator "="',
        ),
        (
            {"search": '{"picture": [{"operator": "IN", "value": ["x"]}]}'},
            422,
            'Filter on property "picture" is not supported or does not support operator "IN"',
        ),
        ({"channel": "web"}, 422, 'Channel "web" does not exist.'),
        ({"locales": "xx_XX"}, 422, 'Locale "xx_XX" does not exist or is not activated.'),
    ],
)
def test_bad_asset_queries(new_api: httpx.Client, params: dict[str, str], status: int, message: str) -> None:
    assert_error(
        new_api.get(ASSETS.format(asset_family_code="packshots"), params=params), ASSETS, status, message
    )


def test_channel_keeps_that_channel_and_unscoped_values(
    new_api: httpx.Client, new_catalog: SandboxCatalog
) -> None:
    url = ASSETS.format(asset_family_code="cdn_images")

    filtered = _walk(new_api, url, ASSETS, {"channel": "print"})
    whole = list(new_catalog.iter_assets("cdn_images"))

    assert _codes(filtered) == [asset["code"] for asset in whole], "a value filter never drops an asset"
    for page in filtered:
        for item in page["_embedded"]["items"]:
            assert {value["channel"] for value in _values(item, "url_large")} <= {"print"}
            assert _values(item, "url_thumb") and _values(item, "product_ref"), "unscoped values stay"
    assert any(len(_values(asset, "url_large")) == 2 for asset in whole)


def test_locales_keep_those_locales_and_unlocalized_values(
    new_api: httpx.Client, new_catalog: SandboxCatalog
) -> None:
    url = ASSETS.format(asset_family_code="lifestyle")

    pages = _walk(new_api, url, ASSETS, {"locales": "fr_FR,de_DE"})

    items = [item for page in pages for item in page["_embedded"]["items"]]
    assert len(items) == len(_family_codes(new_catalog, "lifestyle"))
    for item in items:
        full = new_catalog.asset("lifestyle", item["code"])
        for attribute in ("picture", "url_large"):
            expected = [v["locale"] for v in _values(full, attribute) if v["locale"] in ("fr_FR", "de_DE")]
            assert [v["locale"] for v in _values(item, attribute)] == expected
        assert _values(item, "product_ref") == _values(full, "product_ref")


# -- Asset Manager: assets and their media -------------------------------------------------------------


def test_get_one_asset(new_api: httpx.Client, new_catalog: SandboxCatalog) -> None:
    base = str(new_api.base_url).rstrip("/")

    asset = checked(new_api.get(ASSET.format(asset_family_code="packshots", code="sku_00001_front")), ASSET)

    assert asset == new_catalog.asset("packshots", "sku_00001_front", base)
    assert list(asset) == ["code", "asset_family_code", "values", "created", "updated"]
    assert list(asset["values"]) == [
        "picture",
        "thumbnail",
        "url_large",
        "url_thumb",
        "alt_text",
        "product_ref",
    ]
    picture = asset["values"]["picture"][0]
    # asset-manager.md: "channel", not "scope"; attribute_type; _links.download to the asset media file.
    assert set(picture) == {"locale", "channel", "data", "attribute_type", "_links", "linked_data"}
    assert picture["attribute_type"] == "media_file"
    assert picture["_links"]["download"]["href"] == f"{base}{ASSET_MEDIA.format(code=picture['data'])}"
    assert asset["values"]["product_ref"] == [
        {"locale": None, "channel": None, "data": "SKU-00001", "attribute_type": "text"}
    ]


def _links_of(catalog: SandboxCatalog) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Yield (family, attribute, asset, media link value) for every link of the catalog."""
    for family in catalog.asset_families:
        for asset in catalog.iter_assets(family):
            for attribute in ("url_large", "url_thumb"):
                for value in _values(asset, attribute):
                    yield family, attribute, asset, value


def test_links_are_prefix_data_suffix(new_catalog: SandboxCatalog) -> None:
    attributes = {
        (family, a["code"]): a
        for family in new_catalog.asset_families
        for a in new_catalog.asset_attributes(family)
    }
    outside: list[str] = []

    for family, code, asset, value in _links_of(new_catalog):
        attribute = attributes[family, code]
        url = f"{attribute['prefix'] or ''}{value['data']}{attribute['suffix'] or ''}"
        assert value["linked_data"] == {
            "full_url": url,
            "prefix": attribute["prefix"],
            "suffix": attribute["suffix"],
        }
        assert url.startswith("https://") and value["attribute_type"] == "media_link"
        if attribute["prefix"]:
            assert not value["data"].startswith(("http:", "https:", "/")), "data is a relative path"
        if not url.startswith(EXTERNAL_LOCATION):
            outside.append(asset["code"])

    assert {"sku_00011_cdn"} <= set(outside), "pinned product 10 links outside the external location"
    assert 2 <= len(set(outside)) < 20
    assert all(code.endswith("_cdn") for code in outside)


def test_link_extensions_vary(new_catalog: SandboxCatalog) -> None:
    extensions = [value["data"].rsplit(".", 1)[1] for *_, value in _links_of(new_catalog)]

    assert extensions.count("jpg") > len(extensions) / 2
    assert extensions.count("png") > 10 and 0 < extensions.count("gif") < extensions.count("png")


def _media_values(catalog: SandboxCatalog, family: str) -> Iterator[dict[str, Any]]:
    for asset in catalog.iter_assets(family):
        for values in asset["values"].values():
            yield from (value for value in values if value["attribute_type"] == "media_file")


@pytest.mark.parametrize(
    ("family", "mime_type"),
    [
        ("packshots", "image/jpeg"),
        ("packshots", "image/png"),
        ("packshots", "image/gif"),
        ("lifestyle", "image/jpeg"),
        ("lifestyle", "image/png"),
    ],
)
def test_asset_media_files_are_real_images(
    new_api: httpx.Client, new_catalog: SandboxCatalog, family: str, mime_type: str
) -> None:
    value = next(v for v in _media_values(new_catalog, family) if v["linked_data"]["mime_type"] == mime_type)

    download = new_api.get(value["_links"]["download"]["href"])

    assert download.status_code == 200
    assert download.headers["content-type"] == mime_type
    assert len(download.content) == value["linked_data"]["size"]
    filename = value["linked_data"]["original_filename"]
    assert download.headers["content-disposition"] == f'attachment; filename="{filename}"'
    digest = hashlib.sha1(download.content + filename.encode()).hexdigest()
    assert value["data"].startswith(f"{'/'.join(digest[:4])}/{digest}_")
    with _open_image(download.content) as image:
        assert image.format == PILLOW_FORMATS[mime_type]


def test_thumbnails_are_smaller_copies(new_catalog: SandboxCatalog) -> None:
    for asset in list(new_catalog.iter_assets("packshots"))[:20]:
        picture, thumbnail = new_catalog.asset_files("packshots", asset["code"])
        with _open_image(picture.content) as big, _open_image(thumbnail.content) as small:
            assert small.format == big.format
            assert max(small.size) <= 32 and max(small.size) <= max(big.size)


def test_user_guides_are_pdfs(new_api: httpx.Client, new_catalog: SandboxCatalog) -> None:
    values = list(_media_values(new_catalog, "user_guides"))
    assert len(values) > 20

    download = new_api.get(ASSET_MEDIA.format(code=values[0]["data"]))

    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-1.4\n") and download.content.endswith(b"%%EOF\n")
    assert {value["linked_data"]["mime_type"] for value in values} == {"application/pdf"}


def test_cdn_images_have_no_binary(new_catalog: SandboxCatalog) -> None:
    assert not list(_media_values(new_catalog, "cdn_images"))
    assert new_catalog.asset_files("cdn_images", "sku_00001_cdn") == []


def test_lifestyle_pictures_per_locale_not_always_all(new_catalog: SandboxCatalog) -> None:
    locales = [
        tuple(value["locale"] for value in _values(asset, "picture"))
        for asset in new_catalog.iter_assets("lifestyle")
    ]

    assert ("de_DE", "en_US", "fr_FR") in locales
    assert any(len(codes) == 1 for codes in locales)
    assert all(codes and set(codes) <= {"de_DE", "en_US", "fr_FR"} for codes in locales)


@pytest.mark.parametrize(
    ("url", "template", "message"),
    [
        (FAMILY.format(code="hats"), FAMILY, 'Asset family "hats" does not exist.'),
        (ATTRIBUTES.format(asset_family_code="hats"), ATTRIBUTES, 'Asset family "hats" does not exist.'),
        (ASSETS.format(asset_family_code="hats"), ASSETS, 'Asset family "hats" does not exist.'),
        (
            ATTRIBUTE.format(asset_family_code="packshots", code="pdf"),
            ATTRIBUTE,
            'Attribute "pdf" does not exist for the asset family "packshots".',
        ),
        (
            ASSET.format(asset_family_code="packshots", code="sku_00009_deleted"),
            ASSET,
            'Asset "sku_00009_deleted" does not exist.',
        ),
        # Codes are per family: a lifestyle asset is not a packshot.
        (
            ASSET.format(asset_family_code="packshots", code="sku_00001_lifestyle_1"),
            ASSET,
            'Asset "sku_00001_lifestyle_1" does not exist.',
        ),
        (
            ASSET_MEDIA.format(code="a/b/c/d/abcd_SKU_00001_front.jpg"),
            ASSET_MEDIA,
            'Asset media file "a/b/c/d/abcd_SKU_00001_front.jpg" does not exist.',
        ),
    ],
)
def test_unknown_asset_resources_get_404(
    new_api: httpx.Client, url: str, template: str, message: str
) -> None:
    assert_error(new_api.get(url), template, 404, message)


def test_product_media_and_asset_media_are_apart(new_api: httpx.Client, new_catalog: SandboxCatalog) -> None:
    asset_media = new_catalog.asset_files("packshots", "sku_00001_front")[0]
    product_media = new_catalog.product_media(0)[0]

    assert new_api.get(f"/api/rest/v1/media-files/{asset_media.code}").status_code == 404
    assert new_api.get(ASSET_MEDIA.format(code=product_media.code)).status_code == 404


# -- Asset Manager: product collections ----------------------------------------------------------------

COLLECTION_FAMILIES = {
    "packshots": "packshots",
    "lifestyle_assets": "lifestyle",
    "cdn_images": "cdn_images",
    "user_guides": "user_guides",
}


def test_collection_attributes(new_api: httpx.Client, new_catalog: SandboxCatalog) -> None:
    search = search_param(type=[{"operator": "IN", "value": ["pim_catalog_asset_collection"]}])

    body = checked(
        new_api.get("/api/rest/v1/attributes", params={"search": search}), "/api/rest/v1/attributes"
    )

    items = {item["code"]: item for item in body["_embedded"]["items"]}
    assert {code: item["reference_data_name"] for code, item in items.items()} == COLLECTION_FAMILIES
    assert all(not item["localizable"] and not item["scopable"] for item in items.values())
    assert set(COLLECTION_FAMILIES) <= set(new_catalog.families["shoes"]["attributes"])
    assert "user_guides" not in new_catalog.families["shirts"]["attributes"]


def test_product_values_hold_asset_codes_in_order(new_api: httpx.Client, new_catalog: SandboxCatalog) -> None:
    uuid = new_catalog.header(7).uuid

    product = checked(new_api.get(f"/api/rest/v1/products-uuid/{uuid}"), "/api/rest/v1/products-uuid/{uuid}")

    assert product["values"]["packshots"] == [
        {"locale": None, "scope": None, "data": ["sku_00008_side", "sku_00008_front", "sku_00008_back"]}
    ]
    assert product["values"]["lifestyle_assets"][0]["data"] == [
        "sku_00008_lifestyle_2",
        "sku_00008_lifestyle_1",
    ]


def test_collections_cover_the_edge_cases(new_catalog: SandboxCatalog) -> None:
    collections = [new_catalog.product_asset_codes(index) for index in range(new_catalog.products_count)]
    existing = {family: set(_family_codes(new_catalog, family)) for family in new_catalog.asset_families}
    linked = {code for c in collections for codes in c.values() for code in codes}

    assert sum(not c for c in collections) > 10 and not collections[2] and not collections[9]
    assert set(collections[0]) == set(COLLECTION_FAMILIES), "product 0 has every collection"
    unsorted = [codes for c in collections for codes in c.values() if codes != sorted(codes)]
    assert len(unsorted) > 50
    unknown = [
        code
        for c in collections
        for a, codes in c.items()
        for code in codes
        if code not in existing[COLLECTION_FAMILIES[a]]
    ]
    assert "sku_00009_deleted" in unknown and 2 <= len(unknown) < 30
    assert collections[11]["lifestyle_assets"][0] == "sku_00011_lifestyle_1", (
        "product 11 uses product 10's asset"
    )
    assert any(code not in linked for codes in existing.values() for code in codes), (
        "some assets are in no collection"
    )
    for c in collections:
        for attribute, codes in c.items():
            family = COLLECTION_FAMILIES[attribute]
            assert len(codes) == len(set(codes))
            assert all(code in existing[family] or code.endswith("_deleted") for code in codes)


# -- PAM -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [100, 33])
def test_pam_page_pagination_walks_every_asset_once(
    old_api: httpx.Client, old_catalog: SandboxCatalog, limit: int
) -> None:
    pages = _walk(old_api, PAM_ASSETS, PAM_ASSETS, {"limit": limit})

    codes = _codes(pages)
    assert codes == _family_codes(old_catalog)
    assert len(codes) == len(set(codes)) and codes == sorted(codes)
    assert [page["current_page"] for page in pages] == list(range(1, len(pages) + 1))
    assert all(len(page["_embedded"]["items"]) == limit for page in pages[:-1])


def test_pam_search_after_and_count(old_api: httpx.Client, old_catalog: SandboxCatalog) -> None:
    pages = _walk(old_api, PAM_ASSETS, PAM_ASSETS, {"pagination_type": "search_after", "limit": 100})
    counted = checked(old_api.get(PAM_ASSETS, params={"with_count": "true", "limit": 1}), PAM_ASSETS)

    assert _codes(pages) == _family_codes(old_catalog)
    assert counted["items_count"] == len(_family_codes(old_catalog))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "101"}, "You cannot request more than 100 items."),
        ({"page": "0"}, '"0" is not a valid page number.'),
        ({"pagination_type": "cursor"}, "Pagination type does not exist."),
    ],
)
def test_pam_bad_pages(old_api: httpx.Client, params: dict[str, str], message: str) -> None:
    assert_error(old_api.get(PAM_ASSETS, params=params), PAM_ASSETS, 422, message)


def test_pam_asset_shapes(old_api: httpx.Client, old_catalog: SandboxCatalog) -> None:
    base = str(old_api.base_url).rstrip("/")
    front = checked(old_api.get(PAM_ASSET.format(code="sku_00001_front")), PAM_ASSET)
    lifestyle = checked(old_api.get(PAM_ASSET.format(code="sku_00001_lifestyle")), PAM_ASSET)
    guide = checked(old_api.get(PAM_ASSET.format(code="sku_00001_user_guide")), PAM_ASSET)

    assert front == old_catalog.asset(None, "sku_00001_front", base)
    # The Swagger file's key names: reference_files, variation_files, _link (pam.md says "variations").
    assert list(front) == [
        "code",
        "categories",
        "description",
        "localizable",
        "tags",
        "end_of_use",
        "variation_files",
        "reference_files",
    ]
    assert not front["localizable"]
    assert [(f["locale"], f["_link"]["download"]["href"]) for f in front["reference_files"]] == [
        (None, f"{base}{REFERENCE_DOWNLOAD.format(asset_code='sku_00001_front', locale_code='no_locale')}")
    ]
    assert [(f["scope"], f["locale"]) for f in front["variation_files"]] == [
        ("ecommerce", None),
        ("print", None),
    ]
    assert lifestyle["localizable"]
    assert [f["locale"] for f in lifestyle["reference_files"]] == ["de_DE", "en_US", "fr_FR"]
    assert [(f["scope"], f["locale"]) for f in lifestyle["variation_files"]] == [
        ("ecommerce", "de_DE"),
        ("ecommerce", "en_US"),
        ("ecommerce", "fr_FR"),
        ("print", "en_US"),
    ]
    assert guide["variation_files"] == [] and all(
        f["code"].endswith(".pdf") for f in guide["reference_files"]
    )


def test_pam_files_are_real_images_and_pdfs(old_api: httpx.Client, old_catalog: SandboxCatalog) -> None:
    kinds: set[str] = set()
    for asset in list(old_catalog.iter_assets(base_url=str(old_api.base_url).rstrip("/")))[:60]:
        for entry in asset["reference_files"] + asset["variation_files"]:
            locale = entry["locale"] or "no_locale"
            if "scope" in entry:
                meta = checked(
                    old_api.get(
                        VARIATION.format(
                            asset_code=asset["code"], channel_code=entry["scope"], locale_code=locale
                        )
                    ),
                    VARIATION,
                )
                kind, channel = "variation", entry["scope"]
            else:
                meta = checked(
                    old_api.get(REFERENCE.format(asset_code=asset["code"], locale_code=locale)), REFERENCE
                )
                kind, channel = "reference", None
            assert meta["code"] == entry["code"] and meta["_link"]["download"] == entry["_link"]["download"]
            download = old_api.get(entry["_link"]["download"]["href"])
            assert download.status_code == 200
            assert (
                download.content
                == old_catalog.pam_file(asset["code"], kind, channel, entry["locale"]).content
            )
            content_type = download.headers["content-type"]
            kinds.add(content_type)
            if content_type == "application/pdf":
                assert download.content.startswith(b"%PDF-")
            else:
                with _open_image(download.content) as image:
                    assert image.format == PILLOW_FORMATS[content_type]

    assert {"image/jpeg", "image/png", "application/pdf"} <= kinds


def test_pam_variations_are_derived_from_the_reference(old_catalog: SandboxCatalog) -> None:
    reference = old_catalog.pam_file("sku_00001_front", "reference", None, None)
    ecommerce = old_catalog.pam_file("sku_00001_front", "variation", "ecommerce", None)

    with _open_image(reference.content) as big, _open_image(ecommerce.content) as small:
        assert max(small.size) <= 48 and small.format == big.format


@pytest.mark.parametrize(
    ("url", "template", "status", "message"),
    [
        (
            PAM_ASSET.format(code="sku_00009_deleted"),
            PAM_ASSET,
            404,
            'Asset "sku_00009_deleted" does not exist.',
        ),
        (
            REFERENCE.format(asset_code="sku_00001_lifestyle", locale_code="no_locale"),
            REFERENCE,
            422,
            'The asset "sku_00001_lifestyle" is localizable, you must provide an existing locale code. '
            '"no_locale" is only allowed when the asset is not localizable.',
        ),
        (
            REFERENCE_DOWNLOAD.format(asset_code="sku_00001_front", locale_code="en_US"),
            REFERENCE_DOWNLOAD,
            422,
            'The asset "sku_00001_front" is not localizable, you must provide the string "no_locale" '
            "as a locale.",
        ),
        (
            REFERENCE.format(asset_code="sku_00001_lifestyle", locale_code="es_ES"),
            REFERENCE,
            404,
            'Locale "es_ES" does not exist or is not activated.',
        ),
        (
            REFERENCE.format(asset_code="sku_00011_lifestyle", locale_code="en_US"),
            REFERENCE,
            404,
            'Reference file for the asset "sku_00011_lifestyle" and the locale "en_US" does not exist.',
        ),
        (
            VARIATION.format(asset_code="sku_00001_front", channel_code="web", locale_code="no_locale"),
            VARIATION,
            404,
            'Channel "web" does not exist.',
        ),
        (
            VARIATION_DOWNLOAD.format(
                asset_code="sku_00011_front", channel_code="print", locale_code="no_locale"
            ),
            VARIATION_DOWNLOAD,
            404,
            'Variation file for the asset "sku_00011_front", the channel "print" and the locale "no_locale" '
            "does not exist.",
        ),
    ],
)
def test_pam_file_errors(old_api: httpx.Client, url: str, template: str, status: int, message: str) -> None:
    assert_error(old_api.get(url), template, status, message)


def test_pam_collections(old_api: httpx.Client, old_catalog: SandboxCatalog) -> None:
    search = search_param(type=[{"operator": "IN", "value": ["pim_assets_collection"]}])
    body = checked(
        old_api.get("/api/rest/v1/attributes", params={"search": search}), "/api/rest/v1/attributes"
    )
    collections = [old_catalog.product_asset_codes(index) for index in range(old_catalog.products_count)]
    existing = set(_family_codes(old_catalog))

    assert {item["code"]: item["reference_data_name"] for item in body["_embedded"]["items"]} == {
        "packshots": "assets",
        "lifestyle_assets": "assets",
        "user_guides": "assets",
    }
    codes = [code for c in collections for values in c.values() for code in values]
    assert {code for code in codes if code not in existing} >= {"sku_00009_deleted"}
    assert all(code in existing or code.endswith("_deleted") for code in codes)
    assert collections[7]["packshots"] == ["sku_00008_side", "sku_00008_front", "sku_00008_back"]
    assert collections[11]["lifestyle_assets"][0] == "sku_00011_lifestyle"
    localizable = [asset["localizable"] for asset in old_catalog.iter_assets()]
    assert any(localizable) and not all(localizable)
    assert old_catalog.asset(None, "sku_00011_front")["variation_files"][-1]["scope"] == "ecommerce"


# -- determinism and memory ----------------------------------------------------------------------------


def _fingerprint(catalog: SandboxCatalog) -> str:
    digest = hashlib.sha256(json.dumps(list(catalog.iter_assets()), sort_keys=True).encode())
    digest.update(
        json.dumps([catalog.product_asset_codes(i) for i in range(catalog.products_count)]).encode()
    )
    for header in catalog.iter_asset_headers():
        for media in catalog.asset_files(None, header.code):
            digest.update(media.content)
    return digest.hexdigest()


@pytest.mark.parametrize("system", ["new", "old"])
def test_same_seed_same_assets_other_seed_other_assets(system: str) -> None:
    first = _fingerprint(generate_catalog(30, seed=7, asset_system=system))  # type: ignore[arg-type]

    assert first == _fingerprint(generate_catalog(30, seed=7, asset_system=system))  # type: ignore[arg-type]
    assert first != _fingerprint(generate_catalog(30, seed=8, asset_system=system))  # type: ignore[arg-type]


def test_assets_do_not_depend_on_catalog_size() -> None:
    small, large = generate_catalog(20), generate_catalog(5_000)

    assert list(small.iter_assets()) == [
        large.asset(header.group, header.code) for header in large.iter_asset_headers() if header.owner < 20
    ]


def test_a_large_catalog_lists_assets_without_memory() -> None:
    tracemalloc.start()
    try:
        started = time.process_time()  # CPU: other processes share the cores (pytest -n)
        catalog = generate_catalog(100_000)
        tail = list(catalog.iter_asset_headers("packshots", after="sku_099990"))
        last = catalog.asset("packshots", tail[-1].code)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert time.process_time() - started < 2
    assert peak < 2_000_000
    assert tail[0].code.startswith("sku_09999") and last["values"]["product_ref"][0]["data"].startswith(
        "SKU-"
    )


# -- the Swagger file's asset corrections --------------------------------------------------------------


def test_validation_catches_a_broken_asset(new_api: httpx.Client) -> None:
    asset = checked(new_api.get(ASSET.format(asset_family_code="packshots", code="sku_00001_front")), ASSET)
    asset["values"]["picture"][0]["channel"] = 3

    with pytest.raises(jsonschema.ValidationError, match="3 is not of type 'string', 'null'"):
        swagger.validate(asset, ASSET, "get", 200)


def _asset_samples(new_api: httpx.Client, old_api: httpx.Client) -> dict[str, tuple[Any, str, int]]:
    """One real response per asset correction that, validated without that correction, must fail."""
    asset = new_api.get(ASSET.format(asset_family_code="packshots", code="sku_00001_front")).json()
    family = new_api.get(FAMILY.format(code="packshots")).json()
    pam = old_api.get(PAM_ASSET.format(code="sku_00002_front")).json()
    assert pam["end_of_use"] is None
    return {
        "asset-value-locale-channel-nullable": (
            {**asset, "values": {"x": [{"locale": None, "channel": None}]}},
            ASSET,
            200,
        ),
        "asset-value-data-any-type": (
            {**asset, "values": {"x": [{"locale": "en_US", "channel": "print", "data": "a"}]}},
            ASSET,
            200,
        ),
        "asset-attribute-media-type-required": (
            new_api.get(ATTRIBUTE.format(asset_family_code="packshots", code="product_ref")).json(),
            ATTRIBUTE,
            200,
        ),
        "asset-attribute-nulls": (
            new_api.get(ATTRIBUTE.format(asset_family_code="packshots", code="url_large")).json(),
            ATTRIBUTE,
            200,
        ),
        "asset-family-nulls": (family, FAMILY, 200),
        "asset-family-operations-array": (family, FAMILY, 200),
        "pam-locale-nullable": ({**pam, "end_of_use": "2027-06-30T00:00:00+0000"}, PAM_ASSET, 200),
        "pam-end-of-use-nullable": ({**pam, "reference_files": [], "variation_files": []}, PAM_ASSET, 200),
        "pam-collection-type": (
            old_api.get("/api/rest/v1/attributes/packshots").json(),
            "/api/rest/v1/attributes/{code}",
            200,
        ),
        "asset-errors": (new_api.get(ATTRIBUTES.format(asset_family_code="hats")).json(), ATTRIBUTES, 404),
    }


@pytest.mark.parametrize("name", [correction.name for correction in swagger.ASSET_CORRECTIONS])
def test_each_asset_correction_is_still_needed(
    new_api: httpx.Client, old_api: httpx.Client, name: str
) -> None:
    body, path, status = _asset_samples(new_api, old_api)[name]

    without = _fails(body, path, status, skip=frozenset({name}))
    with_all = _fails(body, path, status, skip=frozenset())

    assert (without, with_all) == (True, False)


def test_asset_items_erratum_applies_to_the_asset_list(new_api: httpx.Client) -> None:
    # ERRATA.md: real servers list assets under _embedded.items, the file says _embedded._items.
    body = new_api.get(ASSETS.format(asset_family_code="user_guides")).json()

    assert "items" in body["_embedded"] and "_items" not in body["_embedded"]
    assert _fails(body, ASSETS, 200, skip=frozenset()) is False


def _fails(body: Any, path: str, status: int, *, skip: frozenset[str]) -> bool:
    try:
        swagger.validate(body, path, "get", status, skip=skip)
    except (jsonschema.ValidationError, AssertionError):
        return True
    return False


# -- a catalog with many assets ------------------------------------------------------------------------


def test_many_assets_adds_lifestyle_assets_and_changes_nothing_else() -> None:
    """``many_assets`` (the benchmark's 300,000 assets at 100,000 products): only the lifestyle
    collections grow; every other resource is the default catalog's."""
    usual, many = generate_catalog(2_000, models=5), generate_catalog(2_000, models=5, many_assets=True)
    counts = {}
    for name, catalog in (("usual", usual), ("many", many)):
        headers = list(catalog.iter_asset_headers())
        counts[name] = {family: sum(h.group == family for h in headers) for family in catalog.asset_families}
    assert 2.2 < sum(counts["usual"].values()) / 2_000 < 2.5
    assert 2.9 < sum(counts["many"].values()) / 2_000 < 3.4
    assert {f: n for f, n in counts["many"].items() if f != "lifestyle"} == {
        f: n for f, n in counts["usual"].items() if f != "lifestyle"
    }
    assert counts["many"]["lifestyle"] > 2 * counts["usual"]["lifestyle"]
    for index in range(usual.products_count):
        kept, grown = usual.product(index), many.product(index)
        kept["values"].pop("lifestyle_assets", None)
        lifestyle = grown["values"].pop("lifestyle_assets", [])
        assert kept == grown
        for value in lifestyle:  # every code it names is an asset of the family
            for code in value["data"]:
                assert many.asset("lifestyle", code)["code"] == code
    fourth = next(h for h in many.iter_asset_headers("lifestyle") if h.role == "lifestyle_4")
    files = many.asset_files("lifestyle", fourth.code)
    assert files and all(f.content for f in files)
