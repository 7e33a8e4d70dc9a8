"""The extract walks up to 4 lists at once, and writes what one walk at a time writes
(docs/akeneo.md#concurrent-listing), on an old PIM (3.2: ``/products``, product models, PAM
assets listed by page) and a new one (7.0: ``/products-uuid``, Asset Manager families).

The sandbox enforces Akeneo's allowance (a 5th call in flight gets a 429) and records the most
calls it had in flight at once. Correctness only: no timing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from pipeline import akeneo_client, run_pipeline

from pim_images import records
from pim_images.akeneo import resources
from pim_sandbox.environment import SandboxSettings, run_sandbox

VERSIONS = ("3.2", "7.0")
#: images and assets, of the asset system each version has
OVERRIDES = {
    "3.2": {"akeneoImageType": "both", "akeneoAssetSystem": "old"},
    "7.0": {"akeneoImageType": "both", "akeneoAssetSystem": "new"},
}
STAGED = ("products.jsonl", "models.jsonl", "assets.jsonl")


@pytest.fixture(scope="module", params=VERSIONS)
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same catalog extracted with 4 calls in flight and with 1, and its lists walked with one
    cursor each (no partition) for reference."""
    version = request.param
    settings = SandboxSettings(
        sftp_root=tmp_path_factory.mktemp("sftp"),
        products=450,
        models=6,
        akeneo_version=version,
        latency_ms=20,
        concurrency_limit=4,
    )
    found: dict[str, Any] = {"version": version}
    overrides = OVERRIDES[version]
    with run_sandbox(settings) as sandbox:
        limits = sandbox.app.state.limits
        four = tmp_path_factory.mktemp("four")
        found["concurrent"] = run_pipeline(sandbox, overrides, four, until="extract")
        found["sandbox_peak"], found["refused"] = limits.peak_in_flight, sum(limits.refused.values())
        lists = sandbox.app.state.requests.matching(r"/asset-families/\w+/assets$")
        found["asset_lists"] = [unquote(record.query) for record in lists]
        found["sequential"] = run_pipeline(
            sandbox, overrides, tmp_path_factory.mktemp("one"), until="extract", concurrency=1
        )
        found["sequential_peak"] = limits.peak_in_flight
        found["one_cursor"] = _one_cursor(sandbox, found["concurrent"].run_dir)
    return found


def _one_cursor(sandbox: Any, run_dir: Path) -> dict[str, list[str]]:
    """Product identifiers, model codes and asset codes as one walk per list gives them."""
    structure = records.STRUCTURE.read(run_dir)
    with akeneo_client(sandbox, concurrency=1) as client:
        endpoint = structure.products_endpoint
        products = resources.iter_products(
            client, endpoint=endpoint, scope="ecommerce", locales=["en_US"], attributes=[structure.identifier]
        )
        models = resources.iter_product_models(client, scope="ecommerce", locales=["en_US"])
        if structure.products_endpoint == resources.PRODUCTS_UUID:
            families = records.ASSET_FAMILIES.read(run_dir)
            assets = [
                f"{family}/{a['code']}"
                for family in families
                for a in resources.iter_assets(client, family, channel="ecommerce", locales=["en_US"])
            ]
        else:
            assets = [a["code"] for a in resources.iter_pam_assets(client)]
        return {
            "products": [_identifier(p, structure.identifier) for p in products],
            "models": [m["code"] for m in models],
            "assets": assets,
        }


def _identifier(product: dict[str, Any], attribute: str) -> str:
    values = product.get("values") or {}
    return product.get("identifier") or values[attribute][0]["data"]


def test_more_than_one_list_call_is_in_flight_and_none_beyond_the_allowance(runs: dict[str, Any]) -> None:
    concurrent = runs["concurrent"]
    assert runs["sandbox_peak"] > 1
    assert 1 < concurrent.peak_in_flight <= 4
    assert runs["refused"] == 0 and 429 not in concurrent.statuses


def test_the_staging_files_are_those_of_one_call_at_a_time(runs: dict[str, Any]) -> None:
    assert runs["sequential"].peak_in_flight == 1
    for name in STAGED:
        concurrent = (runs["concurrent"].run_dir / name).read_bytes()
        assert concurrent == (runs["sequential"].run_dir / name).read_bytes(), name
        assert concurrent.count(b"\n") > 0, name
    assert runs["concurrent"].warnings["extract"] == runs["sequential"].warnings["extract"]


def test_each_list_is_in_the_order_of_one_cursor_over_it(runs: dict[str, Any]) -> None:
    run_dir = runs["concurrent"].run_dir
    one = runs["one_cursor"]
    assert [p.identifier for p in records.PRODUCTS.read(run_dir)] == one["products"]
    assert [m.code for m in records.MODELS.read(run_dir)] == one["models"]
    assert [a.key.removeprefix("pam/") for a in records.ASSETS.read(run_dir)] == one["assets"]
    assert len(one["products"]) > 300 and len(one["assets"]) > 300  # several pages per list


def test_a_large_asset_family_is_walked_in_updated_windows_on_a_pim_that_takes_them(
    runs: dict[str, Any],
) -> None:
    """7.0 takes ``updated`` ranges on assets: a family of several pages is walked in windows
    (the order test above shows that nothing is lost or doubled); 3.2's PAM has no filter."""
    lists = runs["asset_lists"]
    windowed = [query for query in lists if '"updated"' in query and "search_after" not in query]
    if runs["version"] == "7.0":
        assert any('"operator":"<"' in query for query in windowed)
        assert any('"operator":">"' in query for query in windowed)
        assert any('"operator":"BETWEEN"' in query for query in windowed)
    else:
        assert runs["asset_lists"] == []
