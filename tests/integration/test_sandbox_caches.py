"""The sandbox's caches (encoded list items, media descriptions, a warmed catalog) change nothing
the API answers: the same bytes as a cold catalog's, and every change to the catalog shows at once.

Over real HTTP (uvicorn in a thread), one small catalog per test.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest
from PIL import Image

from pim_sandbox.catalog import SandboxCatalog, generate_catalog

try:  # tests/integration is a plain folder today; keep working if it becomes a package
    from .sandbox_api import authorised_client
except ImportError:
    from sandbox_api import authorised_client  # type: ignore[no-redef]

API = "/api/rest/v1"


def _pages(client: httpx.Client, path: str, params: dict[str, str | int]) -> list[bytes]:
    """Every page of a list, as raw bytes, following ``next``."""
    pages, url, query = [], path, params
    while url:
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.content)
        url, query = response.json()["_links"].get("next", {}).get("href"), None
    return pages


def _lists(catalog: SandboxCatalog) -> dict[str, list[bytes]]:
    """The lists a pipeline reads, each walked twice (the second walk served from the cache),
    with the base URL taken out (each server has its own port)."""
    search = json.dumps({"enabled": [{"operator": "=", "value": True}]})
    values = {"scope": "ecommerce", "locales": "en_US,de_DE"}
    lists = {
        "products-sa": (f"{API}/products", {"pagination_type": "search_after", "limit": 7}),
        "products-page": (f"{API}/products", {"limit": 8, "with_count": "true", **values}),
        "models": (f"{API}/product-models", {"pagination_type": "search_after", "limit": 5, **values}),
    }
    if catalog.profile.products_uuid:
        lists["products-uuid"] = (
            f"{API}/products-uuid",
            {"pagination_type": "search_after", "limit": 9, "search": search, **values},
        )
    if catalog.asset_system == "new":
        for family in catalog.asset_families:
            lists[family] = (f"{API}/asset-families/{family}/assets", {"channel": "ecommerce"})
    else:
        lists["pam-page"] = (f"{API}/assets", {"limit": 6})
        lists["pam"] = (f"{API}/assets", {"pagination_type": "search_after", "limit": 6})
    walked = {}
    with authorised_client(catalog) as client:
        base = str(client.base_url).rstrip("/").encode()
        for name, (path, params) in lists.items():
            first, second = _pages(client, path, params), _pages(client, path, params)
            assert first == second, name
            walked[name] = [page.replace(base, b"BASE") for page in first]
    return walked


@pytest.mark.parametrize("version", ["7.0", "3.2"])
def test_a_warmed_catalog_answers_the_same_bytes(version: str) -> None:
    cold = generate_catalog(40, akeneo_version=version, models=3)
    warmed = generate_catalog(40, akeneo_version=version, models=3)

    described = warmed.warm(processes=2, chunk=16)

    assert described > 40
    assert _lists(warmed) == _lists(cold)


def test_a_warmed_photo_catalog_answers_the_same_bytes_and_photos() -> None:
    """Photos (``photo_side``) come from a pool drawn in every process alike: a catalog warmed
    in forked workers lists the same media codes (their SHA-1) and serves the same bytes."""
    cold = generate_catalog(12, photo_side=256)
    warmed = generate_catalog(12, photo_side=256)

    warmed.warm(processes=2, chunk=4)

    assert _lists(warmed) == _lists(cold)
    media = [m for i in range(12) for m in warmed.product_media(i)]
    assert [m.content for m in media] == [m.content for i in range(12) for m in cold.product_media(i)]
    pictures = [m for m in media if m.mime_type.startswith("image/")]
    with Image.open(io.BytesIO(pictures[0].content)) as first:
        assert first.size == (256, 256)


def test_a_change_shows_in_the_next_page_and_its_undoing_too() -> None:
    catalog = generate_catalog(30)
    path = f"{API}/products-uuid"
    params = {"pagination_type": "search_after", "limit": 10}
    with authorised_client(catalog) as client:
        before = _pages(client, path, params)
        name = catalog.product(3)["values"]["name"]
        renamed = [{**name[0], "data": "Renamed"}]
        saved = dict(catalog.changes.products)
        catalog.changes.change_product(3, datetime(2031, 1, 1, tzinfo=UTC), values={"name": renamed})
        changed = _pages(client, path, params)
        catalog.changes.products.clear()  # undone as a test does it: the dict edited directly
        catalog.changes.products.update(saved)
        after = _pages(client, path, params)

    items = json.loads(changed[0])["_embedded"]["items"]
    assert items[3]["values"]["name"] == renamed
    assert items[3]["updated"].startswith("2031-01-01")
    assert changed[1:] == before[1:] and changed[0] != before[0]
    assert after == before


@pytest.mark.parametrize("version", ["3.2", "7.0"])
def test_an_offset_page_of_assets_starts_where_the_whole_walk_is(version: str) -> None:
    """The PAM's ``page`` pagination starts at its offset without walking there: the same assets."""
    catalog = generate_catalog(60, akeneo_version=version)
    walk = list(catalog.iter_asset_headers())

    for position in range(len(walk) + 2):
        assert list(catalog.iter_asset_headers_from(position)) == walk[position:]


@pytest.mark.parametrize("version", ["3.2", "7.0"])
def test_a_warmed_catalogs_asset_index_walks_as_the_products_do(version: str) -> None:
    """A warmed catalog keeps its asset headers indexed per family (pages start at a bisection):
    every walk, from any cursor or offset, is the cold catalog's, and a changed asset shows."""
    cold = generate_catalog(60, akeneo_version=version)
    warmed = generate_catalog(60, akeneo_version=version)
    warmed.warm(processes=1)
    groups = [*warmed.asset_families] if version == "7.0" else ["packshots", "lifestyle", "user_guides"]
    walk = list(cold.iter_asset_headers())
    cursors = [None, "", "a", "sku_0001", "sku_00012_c", "sku_00060_z", "zzz", *(h.code for h in walk)]

    for family in [None, *groups]:
        for after in cursors:
            assert list(warmed.iter_asset_headers(family, after=after)) == list(
                cold.iter_asset_headers(family, after=after)
            ), (family, after)
    for position in range(len(walk) + 2):
        assert list(warmed.iter_asset_headers_from(position)) == walk[position:]
    with pytest.raises(KeyError):
        next(warmed.iter_asset_headers("no_such_family"))
    for header in walk:
        for family in (None, header.group):
            assert warmed.asset_header(family, header.code) == header
        assert warmed.asset(header.group, header.code) == cold.asset(header.group, header.code)
    # no such asset, or one of another family
    unknown = [(None, code) for code in ("sku_00001", "sku_00001_nothing", "sku_00099_front", "zzz")]
    unknown += [(group, next(h.code for h in walk if h.group != group)) for group in groups]
    for family, code in unknown:
        for catalog in (cold, warmed):
            with pytest.raises(KeyError):
                catalog.asset_header(family, code)

    changed = walk[5]
    for catalog in (cold, warmed):
        catalog.changes.change_asset(changed.group, changed.code, datetime(2031, 1, 1, tzinfo=UTC), {})
    updated = [h.updated for h in warmed.iter_asset_headers(changed.group) if h.code == changed.code]
    assert updated == [datetime(2031, 1, 1, tzinfo=UTC)]
    assert list(warmed.iter_asset_headers()) == list(cold.iter_asset_headers())


def test_a_warmed_catalog_answers_asset_windows_the_same_bytes() -> None:
    """The pipeline's asset lists of a 6.0+ PIM: each family in ``updated`` windows, page by page."""
    cold, warmed = generate_catalog(300), generate_catalog(300)
    warmed.warm(processes=1)
    windows = [
        [{"operator": "<", "value": "2026-04-01T00:00:00Z"}],
        [{"operator": "BETWEEN", "value": ["2026-04-01T00:00:00Z", "2026-08-01T00:00:00+00:00"]}],
        [{"operator": ">", "value": "2026-08-01T00:00:00Z"}],
    ]

    def lists(catalog: SandboxCatalog) -> list[list[bytes]]:
        walked = []
        with authorised_client(catalog) as client:
            base = str(client.base_url).rstrip("/").encode()
            for family in catalog.asset_families:
                for window in windows:
                    search = json.dumps({"updated": window})
                    params = {"channel": "ecommerce", "locales": "en_US", "search": search}
                    pages = _pages(client, f"{API}/asset-families/{family}/assets", params)
                    walked.append([page.replace(base, b"BASE") for page in pages])
        return walked

    walked = lists(warmed)
    assert walked == lists(cold)
    assert max(len(pages) for pages in walked) > 1  # windows of several pages: cursors inside them


def test_a_sandbox_told_to_stop_while_warming_stops_at_once(tmp_path: Path) -> None:
    """``python -m pim_sandbox --warm`` makes every binary before serving: minutes at 100,000
    products. SIGTERM then ends it (and its pool's workers) at once, exit 143, rather than once
    the warm-up is done: a benchmark stopped meanwhile waited for it, then left it running."""
    command = [
        sys.executable, "-m", "pim_sandbox", "--products=100000", "--many-assets", "--warm",
        "--akeneo-port=0", "--sftp-port=0", f"--root={tmp_path / 'sftp'}", f"--host-key={tmp_path / 'key'}",
    ]  # fmt: skip
    sandbox = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process, deadline = psutil.Process(sandbox.pid), time.monotonic() + 60

        def pool() -> list[psutil.Process]:
            """The warm-up's pool: forked, its workers have the sandbox's command line (its
            imports run commands of their own, ``ldconfig``, ``gcc``: those are not it)."""
            found = []
            for child in process.children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    if child.cmdline() == process.cmdline():
                        found.append(child)
            return found

        while not pool() and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = pool()
        assert workers and sandbox.poll() is None, "the warm-up's pool never started"
        sandbox.send_signal(signal.SIGTERM)
        assert sandbox.wait(timeout=20) == 128 + signal.SIGTERM
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive
    finally:
        sandbox.kill()
        sandbox.communicate()
