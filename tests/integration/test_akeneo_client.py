"""The Akeneo client and the extract/media/transform stages against the sandbox, over real HTTP.

Retry settings wait no time: the waits the client asked for are recorded instead, and what
went over the wire is read from the sandbox's request log.
"""

from __future__ import annotations

import functools
import gc
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pim_images import records
from pim_images.akeneo.auth import TOKEN_PATH, AkeneoAuth, Credentials, TokenManager
from pim_images.akeneo.client import AkeneoClient
from pim_images.akeneo.errors import AkeneoAuthError, AkeneoError, AkeneoNotFoundError
from pim_images.akeneo.retry import NO_WAIT, RetryPolicy
from pim_images.config import load_config
from pim_images.errors import CatalogError
from pim_images.extract import asset_system_available, extract_catalog, extract_structure
from pim_images.media import MediaCache, download_media
from pim_images.store import StateStore, sqlite_url
from pim_images.transform import transform_catalog
from pim_sandbox.catalog import generate_catalog
from pim_sandbox.credentials import (
    AKENEO_CLIENT_ID,
    AKENEO_CLIENT_SECRET,
    AKENEO_PASSWORD,
    AKENEO_USER,
)
from pim_sandbox.environment import create_sandbox_app
from pim_sandbox.http_server import serve_in_thread

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"
PRODUCTS = 45


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, object]]:
    catalog = generate_catalog(products=PRODUCTS, seed=11)
    app = create_sandbox_app(catalog)
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def app(sandbox):
    _, app = sandbox
    app.state.faults.clear()
    app.state.requests.clear()
    yield app
    app.state.faults.clear()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(sandbox, waits: list[float]) -> Iterator[AkeneoClient]:
    url, _ = sandbox
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    policy = RetryPolicy(max_attempts=4, base=0.5, cap=30.0, jitter=lambda: 1.0)
    with AkeneoClient(url, credentials, retry=policy, sleep=waits.append) as c:
        yield c


def test_search_after_walks_the_whole_catalog_once(client: AkeneoClient, app) -> None:
    params = {"pagination_type": "search_after", "limit": 10}
    uuids = [p["uuid"] for p in client.iter_items("/api/rest/v1/products-uuid", params)]
    assert len(uuids) == PRODUCTS == len(set(uuids))
    assert len(app.state.requests.matching(r"/products-uuid$", method="GET")) == 5  # 45 items / 10 per page
    assert client.tokens.tokens_fetched == 1


#: a products list of 10 a page: 5 pages of the 45 products
PAGED = {"pagination_type": "search_after", "limit": 10}


def _listed(app) -> int:
    return len(app.state.requests.matching(r"/products-uuid$", method="GET"))


def test_a_page_read_is_freed_without_the_cyclic_collector(client: AkeneoClient) -> None:
    """A page's response (its body) goes as soon as the walk has done with it: httpx binds a
    response and its stream in a cycle, which kept some 180 pages in memory at 100,000 products
    until the collector ran."""
    responses: list[weakref.ref[httpx.Response]] = []
    client._http.event_hooks["response"].append(lambda response: responses.append(weakref.ref(response)))
    gc.collect()
    gc.disable()
    try:
        assert len(list(client.iter_items("/api/rest/v1/products-uuid", PAGED))) == PRODUCTS
        assert len(client.get_json("/api/rest/v1/channels")["_embedded"]["items"]) >= 1
        assert len(responses) >= 6
        assert [r for r in responses if r() is not None] == []
    finally:
        gc.enable()


def test_a_list_asks_for_its_next_page_while_the_caller_works_on_one(client: AkeneoClient, app) -> None:
    pages = client.iter_pages("/api/rest/v1/products-uuid", PAGED)
    next(pages)  # the caller now works on page 1
    deadline = time.monotonic() + 5
    while _listed(app) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # time enough to ask for page 3 too, were it read further ahead
    assert _listed(app) == 2
    assert len(list(pages)) == 4 and _listed(app) == 5


def test_a_list_never_has_two_calls_in_flight(client: AkeneoClient, app) -> None:
    app.state.faults.latency(0.05, r"/products-uuid$")
    for _ in client.iter_pages("/api/rest/v1/products-uuid", PAGED):
        time.sleep(0.1)  # a caller slower than the PIM
    assert client.peak_in_flight == 1


def test_calls_from_more_threads_than_slots_wait_their_turn_without_timing_out(sandbox, app) -> None:
    """12 calls from 6 threads on a client of 2 slots, each answered in 0.15 s, with a timeout
    of 0.1 s: a call waiting for a slot is neither timed out nor retried, and the PIM never has
    more than 2 calls of the client at once."""
    url, _ = sandbox
    app.state.faults.latency(0.15, r"/families$")
    app.state.limits.peak_in_flight = 0
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    with AkeneoClient(url, credentials, concurrency=2, timeout=1.0) as client:
        client.get_json("/api/rest/v1/families")  # the token, before the calls race
        client._http.timeout = httpx.Timeout(1.0, pool=0.1)
        with ThreadPoolExecutor(6) as pool:
            pages = list(pool.map(lambda _: client.get_json("/api/rest/v1/families"), range(12)))
        assert all("_embedded" in page for page in pages)
        assert client.attempts == 1 + 1 + 12  # the token, the first call, the 12: no retry
        assert client.peak_in_flight == 2
    assert app.state.limits.peak_in_flight == 2


def test_a_lister_runs_twice_as_many_walks_as_calls_in_flight(client: AkeneoClient) -> None:
    """A walk between two calls leaves its slot to another: the lister of a client of 4 slots
    runs 8 walks at once (docs/akeneo.md#concurrent-listing)."""
    met = threading.Barrier(2 * client.concurrency, timeout=5)

    def walk(n: int):
        met.wait()  # every walk started before any ends
        yield n, n

    with client.lister() as lister:
        items = lister.submit([functools.partial(walk, n) for n in range(2 * client.concurrency)])
        assert list(items()) == list(range(2 * client.concurrency))


def test_a_list_left_early_stops_asking(client: AkeneoClient, app) -> None:
    pages = client.iter_pages("/api/rest/v1/products-uuid", PAGED)
    next(pages)
    pages.close()
    time.sleep(0.3)
    assert _listed(app) <= 2  # page 1, and page 2 if it was already asked for


def test_429_waits_for_retry_after_then_succeeds(client: AkeneoClient, app, waits: list[float]) -> None:
    app.state.faults.add(r"/attributes$", 429, times=2, retry_after=3)
    page = client.get_json("/api/rest/v1/attributes", {"limit": 5})
    assert page["_embedded"]["items"]
    assert waits == [3.0, 3.0]
    assert [r.status for r in app.state.requests.matching(r"/attributes$")] == [429, 429, 200]


def test_5xx_backs_off_then_fails_naming_the_endpoint(client: AkeneoClient, app, waits: list[float]) -> None:
    app.state.faults.add(r"/families$", 503, times=None)
    with pytest.raises(AkeneoError) as err:
        client.get_json("/api/rest/v1/families")
    assert err.value.status == 503
    assert "GET /api/rest/v1/families" in str(err.value)
    assert waits == [0.5, 1.0, 2.0]  # 4 attempts, exponential backoff between them
    assert len(app.state.requests.matching(r"/families$")) == 4


def test_expired_token_is_renewed_once(client: AkeneoClient, app) -> None:
    client.get_json("/api/rest/v1/channels")
    app.state.faults.expire_tokens()
    client.get_json("/api/rest/v1/channels")
    assert client.tokens.tokens_fetched == 2
    assert [r.status for r in app.state.requests.matching(r"/channels$")] == [200, 401, 200]


@pytest.fixture
def auth(sandbox) -> Iterator[tuple[httpx.Client, TokenManager]]:
    """The auth flow on its own: a plain httpx client with :class:`AkeneoAuth`, no retries."""
    url, _ = sandbox
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    with httpx.Client(base_url=url) as http:
        tokens = TokenManager(credentials, lambda body, basic: http.post(TOKEN_PATH, json=body, auth=basic))
        http.auth = AkeneoAuth(tokens)
        yield http, tokens


def test_auth_flow_renews_a_refused_token_once_and_resends(auth, app) -> None:
    http, tokens = auth
    assert http.get("/api/rest/v1/channels").status_code == 200
    app.state.faults.expire_tokens()
    assert http.get("/api/rest/v1/channels").status_code == 200
    assert tokens.tokens_fetched == 2
    assert [r.status for r in app.state.requests.matching(r"/channels$")] == [200, 401, 200]


def test_auth_flow_hands_a_second_401_back(auth, app) -> None:
    http, tokens = auth
    app.state.faults.add(r"/channels$", 401, times=None)
    assert http.get("/api/rest/v1/channels").status_code == 401
    assert tokens.tokens_fetched == 2  # the first token, and one renewal: no loop
    assert len(app.state.requests.matching(r"/channels$")) == 2


def test_callers_refused_together_renew_the_token_once(client: AkeneoClient, app) -> None:
    client.get_json("/api/rest/v1/channels")
    app.state.faults.expire_tokens()
    app.state.faults.latency(0.2, r"/channels$")  # the four calls are in flight together
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: client.get_json("/api/rest/v1/channels"), range(4)))
    assert client.tokens.tokens_fetched == 2


def test_calls_in_flight_stay_within_the_concurrency(sandbox, app) -> None:
    url, _ = sandbox
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    app.state.faults.latency(0.3, r"/channels$")
    with AkeneoClient(url, credentials, concurrency=2) as c, ThreadPoolExecutor(6) as pool:
        c.get_json("/api/rest/v1/channels")  # the token first, so only the six calls below overlap
        start = time.monotonic()
        list(pool.map(lambda _: c.get_json("/api/rest/v1/channels"), range(6)))
        assert time.monotonic() - start >= 0.85  # 6 calls of 0.3 s, 2 at a time: 3 rounds at least


def test_a_token_renewal_with_every_connection_taken_still_gets_one(sandbox, app) -> None:
    url, _ = sandbox
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    # one connection, and a short pool timeout: were the refused call's connection still held
    # during the renewal, the token request would time out waiting for it
    with AkeneoClient(url, credentials, concurrency=1, timeout=2.0, retry=NO_WAIT) as c:
        c.get_json("/api/rest/v1/channels")
        app.state.faults.expire_tokens()
        assert c.get_json("/api/rest/v1/channels")
        assert c.tokens.tokens_fetched == 2


def test_a_transport_error_left_after_the_last_attempt_is_named(waits: list[float]) -> None:
    with socket.socket() as probe:  # a port nothing listens on: every connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    policy = RetryPolicy(max_attempts=3, base=0.5, cap=30.0, jitter=lambda: 1.0)
    with AkeneoClient(f"http://127.0.0.1:{port}", credentials, retry=policy, sleep=waits.append) as c:
        refused = (
            rf"POST /api/oauth/v1/token: ConnectError: .*\(at http://127\.0\.0\.1:{port}, after 3 attempts\)"
        )
        with pytest.raises(AkeneoError, match=refused):
            c.get_json("/api/rest/v1/channels")
        assert c.attempts == 3
    assert waits == [0.5, 1.0]


def test_bad_credentials_fail_without_retry(sandbox, waits: list[float]) -> None:
    url, _ = sandbox
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, "wrong")
    with AkeneoClient(url, credentials, sleep=waits.append) as c, pytest.raises(AkeneoAuthError) as err:
        c.get_json("/api/rest/v1/channels")
    assert "POST /api/oauth/v1/token" in str(err.value) and "login/password" in str(err.value)
    assert waits == []


def test_a_missing_permission_fails_without_retry_and_says_what_to_check(
    client: AkeneoClient, app, waits: list[float]
) -> None:
    app.state.faults.add(r"/asset-families$", 403, times=None)
    with pytest.raises(AkeneoAuthError) as err:
        client.get_json("/api/rest/v1/asset-families")
    assert err.value.status == 403
    assert str(err.value).startswith("Akeneo GET /api/rest/v1/asset-families answered 403: ")
    assert "Web API permissions" in str(err.value)
    assert waits == []


def test_a_token_refused_after_renewal_names_the_credentials(client: AkeneoClient, app) -> None:
    app.state.faults.add(r"/channels$", 401, times=None)
    with pytest.raises(AkeneoAuthError, match=r"answered 401: .*check the connection's credentials"):
        client.get_json("/api/rest/v1/channels")


def test_the_asset_system_probe_finds_the_asset_manager_only(client: AkeneoClient) -> None:
    config = load_config(CONFIG, {"akeneoImageType": "assets"})
    assert asset_system_available(client, config) is True
    pam = load_config(CONFIG, {"akeneoImageType": "assets", "akeneoAssetSystem": "old"})
    assert asset_system_available(client, pam) is False


def test_unknown_resource_is_a_not_found_error(client: AkeneoClient) -> None:
    with pytest.raises(AkeneoNotFoundError, match="/api/rest/v1/products-uuid/"):
        client.get_json("/api/rest/v1/products-uuid/00000000-0000-0000-0000-000000000000")


def test_extract_media_transform_on_the_sandbox(client: AkeneoClient, app, tmp_path: Path) -> None:
    config = load_config(CONFIG)
    run_dir = tmp_path / "run"
    extract_structure(client, config, run_dir)
    extracted = extract_catalog(client, config, run_dir)
    products = list(records.PRODUCTS.read(run_dir))
    assert extracted.products == len(products) > 0
    assert extracted.image_attributes[0] == "main_image"
    for product in products:
        for values in product.values.values():
            for value in values:
                assert value.scope in (None, config.akeneoScope)
                assert value.locale in (None, *config.akeneoLocales)

    cache = MediaCache(tmp_path / "cache")
    first = download_media(client, run_dir, cache)
    assert first.downloaded == first.media > 0 and first.from_cache == 0
    downloads = len(app.state.requests.matching(r"/download$"))
    second = download_media(client, run_dir, cache)
    assert second.downloaded == 0 and second.from_cache == first.media
    assert len(app.state.requests.matching(r"/download$")) == downloads  # nothing fetched twice

    summary = transform_catalog(config, run_dir)
    assert summary.products == extracted.products
    assert summary.images > 0


def test_configured_image_attributes_must_exist_and_be_images(client: AkeneoClient, tmp_path: Path) -> None:
    config = load_config(CONFIG, {"akeneoImageAttributes": ["main_image", "nope", "name"]})
    with pytest.raises(CatalogError) as err:
        extract_structure(client, config, tmp_path)
    assert err.value.problems == [
        "akeneoImageAttributes: attribute 'nope' does not exist in Akeneo",
        "akeneoImageAttributes: attribute 'name' is of type 'pim_catalog_text', not pim_catalog_image",
    ]


def test_differential_extract_reads_the_data_interval_only(
    client: AkeneoClient, sandbox, tmp_path: Path
) -> None:
    _, app = sandbox
    catalog = app.state.catalog
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    extract_structure(client, load_config(CONFIG), tmp_path)
    store = StateStore(sqlite_url(str(tmp_path / "state.sqlite")))
    store.record_run("earlier", [], full=True)
    summary = extract_catalog(
        client, load_config(CONFIG), tmp_path, updated_from=start, updated_to=end, store=store
    )
    expected = [h.identifier for h in catalog.iter_headers() if h.enabled and start <= h.updated <= end]
    assert 0 < len(expected) < PRODUCTS
    assert summary.differential
    assert [p.identifier for p in records.PRODUCTS.read(tmp_path)] == expected


def test_a_list_without_items_is_named(client: AkeneoClient, app) -> None:
    app.state.faults.add(r"/families$", 200, body={"_links": {}})
    with pytest.raises(AkeneoError, match=r"GET /api/rest/v1/families.*'_embedded.items'"):
        list(client.iter_items("/api/rest/v1/families"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"_embedded": {"items": [{"code": "a"}, 7, None, {"code": "b", "x": [1.5, "é"]}]}}, None),
        ({"_embedded": {"_items": [{"code": "a"}]}}, None),  # Swagger's spelling (ERRATA.md)
        ({"_embedded": {"items": {"code": "a"}}}, r"'_embedded\.items'"),
        ({"_embedded": [{"code": "a"}]}, r"'_embedded\.items'"),
        ({"_embedded": None}, r"'_embedded\.items'"),
        ([{"code": "a"}], "not a JSON object"),
    ],
)
def test_a_pages_items_are_its_items_decoded_one_by_one(client: AkeneoClient, app, body, expected) -> None:
    """Items decoded one at a time are those of the page decoded whole; a page without an item
    list is named as before."""
    app.state.faults.add(r"/families$", 200, body=body)
    if expected is None:
        embedded = body["_embedded"]
        items = embedded.get("items", embedded.get("_items"))
        assert list(client.iter_items("/api/rest/v1/families")) == items
        return
    with pytest.raises(AkeneoError, match=expected):
        list(client.iter_items("/api/rest/v1/families"))


def test_a_non_json_answer_is_named(client: AkeneoClient, app) -> None:
    app.state.faults.add(r"/channels$", 200, body="<html>maintenance</html>")
    with pytest.raises(AkeneoError, match=r"GET /api/rest/v1/channels.*not JSON"):
        client.get_json("/api/rest/v1/channels")


def test_missing_media_leaves_its_product_out(client: AkeneoClient, app, tmp_path: Path) -> None:
    config = load_config(CONFIG)
    extract_structure(client, config, tmp_path)
    extract_catalog(client, config, tmp_path)
    app.state.faults.add(r"/media-files/.*/download$", 404, times=1)
    summary = download_media(client, tmp_path, MediaCache(tmp_path / "cache"))
    assert summary.unusable == 1
    assert "missing in Akeneo" in summary.warnings[0]
    failed = [r for r in records.MEDIA.read(tmp_path) if r.error]
    assert len(failed) == 1 and failed[0].sha256 is None
    transformed = transform_catalog(config, tmp_path)
    # its product is left out whole, never delivered with a shortened list (docs/bad-input.md#broken-images)
    assert transformed.failed_products == 1
    (left_out,) = [w for w in transformed.warnings if failed[0].key in w]
    assert " left out of every target, its old images stay downstream: " in left_out
    ref = left_out.split("'")[1]
    assert ref not in {p.product_ref for p in records.IMAGES.read(tmp_path)}


def test_a_product_answered_twice_is_extracted_once_and_named(
    client: AkeneoClient, app, tmp_path: Path
) -> None:
    """A page shifted under the walk (or a PIM bug) repeats a product: it must not become two
    products of one id downstream."""
    config = load_config(CONFIG)
    extract_structure(client, config, tmp_path)
    page = client.get_json("/api/rest/v1/products-uuid", {"limit": 10, "pagination_type": "search_after"})
    items = page["_embedded"]["items"]
    page["_embedded"]["items"] = [items[0], items[0], *items[1:]]
    app.state.faults.add(r"/products-uuid$", 200, body=page)
    summary = extract_catalog(client, config, tmp_path)
    identifiers = [p.identifier for p in records.PRODUCTS.read(tmp_path)]
    assert len(identifiers) == len(set(identifiers)) == summary.products
    twice = items[0]["values"]["sku"][0]["data"]
    assert any(f"product {twice!r} was answered twice by Akeneo" in w for w in summary.warnings)
