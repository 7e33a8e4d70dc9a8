"""The sandbox's Akeneo version profiles (``pim_sandbox.catalog.versions``), over real HTTP: what
each version serves, what it refuses (404 "No route found", as a real PIM), and its shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from pim_sandbox.catalog import generate_catalog

try:  # tests/integration is a plain folder today; keep working if it becomes a package
    from .sandbox_api import authorised_client, checked
except ImportError:
    from sandbox_api import authorised_client, checked  # type: ignore[no-redef]

API = "/api/rest/v1"
#: version -> (products-uuid, products, system-information, PAM assets, Asset Manager) served
SERVED = {
    "3.1": (False, True, False, True, False),
    "3.2": (False, True, False, True, False),
    "5.0": (False, True, False, False, True),
    "7.0": (True, True, True, False, True),
    "saas": (True, False, True, False, True),
}
PATHS = ("/products-uuid", "/products", "/system-information", "/assets", "/asset-families")


@pytest.fixture(scope="module", params=sorted(SERVED))
def pim(request: pytest.FixtureRequest) -> Iterator[tuple[str, httpx.Client]]:
    catalog = generate_catalog(8, seed=7, models=1, akeneo_version=request.param)
    with authorised_client(catalog) as client:
        yield request.param, client


def test_each_version_serves_its_endpoints_and_refuses_the_others(pim: tuple[str, httpx.Client]) -> None:
    version, client = pim
    served = tuple(client.get(f"{API}{path}", params={"limit": 1}).status_code == 200 for path in PATHS)
    assert served == SERVED[version]
    for path, ok in zip(PATHS, SERVED[version], strict=True):
        if not ok:
            response = client.get(f"{API}{path}")
            assert response.json() == {"code": 404, "message": f'No route found for "GET {API}{path}"'}


def _serving(index: int) -> list[str]:
    """The versions that serve ``PATHS[index]``."""
    return [version for version, served in sorted(SERVED.items()) if served[index]]


@contextmanager
def _client(version: str) -> Iterator[httpx.Client]:
    with authorised_client(generate_catalog(8, seed=7, models=1, akeneo_version=version)) as client:
        yield client


@pytest.mark.parametrize("version", _serving(1))
def test_products_by_identifier_lead_with_the_identifier_and_have_a_uuid_from_70(version: str) -> None:
    with _client(version) as client:
        body = checked(client.get(f"{API}/products", params={"limit": 2}), f"{API}/products")
    first = body["_embedded"]["items"][0]
    assert first["identifier"] == "SKU-00001"
    assert ("uuid" in first) is (version == "7.0")
    assert first["_links"]["self"]["href"].endswith(f"{API}/products/SKU-00001")


def test_product_models_carry_family_from_32(pim: tuple[str, httpx.Client]) -> None:
    version, client = pim
    (model,) = client.get(f"{API}/product-models", params={"limit": 1}).json()["_embedded"]["items"]
    assert ("family" in model) is (version != "3.1")
    assert model["family_variant"]


def test_empty_values_are_an_empty_list_before_40(pim: tuple[str, httpx.Client]) -> None:
    version, client = pim
    path = "/products-uuid" if SERVED[version][0] else "/products"
    # the third product has no image: asking for its main image leaves its values empty
    body = client.get(f"{API}{path}", params={"limit": 1, "page": 3, "attributes": "main_image"})
    (item,) = body.json()["_embedded"]["items"]
    assert item["values"] == ([] if version in ("3.1", "3.2") else {})


@pytest.mark.parametrize("version", _serving(2))
def test_system_information_needs_no_token(version: str) -> None:
    with _client(version) as client:
        body = httpx.get(f"{client.base_url}{API}/system-information").json()
    assert set(body) == {"version", "edition"}


def test_a_version_without_the_asked_asset_system_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Akeneo 7\.0 has the Asset Manager, not asset_system 'old'"):
        generate_catalog(5, asset_system="old", akeneo_version="7.0")
    assert generate_catalog(5, asset_system="old").profile.name == "3.2"
    assert generate_catalog(5).profile.name == "7.0"


def _status(client: httpx.Client, path: str, search: dict[str, Any]) -> int:
    return client.get(f"{API}{path}", params={"search": json.dumps(search)}).status_code


def test_each_version_takes_only_its_search_filters(pim: tuple[str, httpx.Client]) -> None:
    """filter.md's availability notes: the partitions of the extract (``family IN``/``EMPTY`` on
    products, ``family IN`` on models) everywhere; products on ``uuid`` and Asset Manager assets on
    ``code`` from 7.0; assets' ``updated`` other than ``>`` from 6.0; products on ``parent`` with
    ``=`` from 3.2, with ``IN``, ``EMPTY`` and ``NOT EMPTY`` from 7.0."""
    version, client = pim
    products = "/products" if SERVED[version][1] else "/products-uuid"
    family = [{"operator": "IN", "value": ["shoes"]}]
    assert _status(client, products, {"family": family}) == 200
    assert _status(client, products, {"family": [{"operator": "EMPTY"}]}) == 200
    assert _status(client, "/product-models", {"family": family}) == 200
    uuid = {"uuid": [{"operator": "IN", "value": ["00000000-0000-0000-0000-000000000000"]}]}
    assert _status(client, products, uuid) == (200 if version in ("7.0", "saas") else 422)
    descendants = {"parent": [{"operator": "=", "value": "MODEL-00001"}]}
    assert _status(client, products, descendants) == (422 if version == "3.1" else 200)
    lists = ({"operator": "IN", "value": ["MODEL-00001"]}, {"operator": "EMPTY"}, {"operator": "NOT EMPTY"})
    for item in lists:
        assert _status(client, products, {"parent": [item]}) == (200 if version in ("7.0", "saas") else 422)
    if SERVED[version][4]:
        assets = "/asset-families/packshots/assets"
        code = {"code": [{"operator": "IN", "value": ["sku_00001_front"]}]}
        after = {"updated": [{"operator": ">", "value": "2026-01-01T00:00:00Z"}]}
        before = {"updated": [{"operator": "<", "value": "2026-01-01T00:00:00Z"}]}
        assert _status(client, assets, code) == (200 if version in ("7.0", "saas") else 422)
        assert _status(client, assets, after) == 200
        assert _status(client, assets, before) == (200 if version in ("7.0", "saas") else 422)


@pytest.mark.parametrize(
    ("version", "field"), [("3.1", "parent"), ("3.2", "ancestor.code"), ("5.0", "ancestor.code")]
)
def test_a_parent_list_filter_before_70_gets_akeneos_422(version: str, field: str) -> None:
    """filter.md, "On their parent": ``IN``, ``EMPTY``, ``NOT EMPTY`` from 7.0, ``=`` from 3.2; from
    3.2 the API hands ``parent`` to the query builder as ``ancestor.code``, which its 422 names
    (docs/akeneo.md#search-filters-per-version)."""
    search = json.dumps({"parent": [{"operator": "NOT EMPTY"}]})
    with _client(version) as client:
        response = client.get(f"{API}/products", params={"search": search})
    assert response.status_code == 422
    assert response.json() == {
        "code": 422,
        "message": f'Filter on property "{field}" is not supported or does not support operator "NOT EMPTY"',
    }
