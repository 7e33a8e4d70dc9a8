"""The sandbox Akeneo's usage limits and latency (good-practices.md), over real HTTP.

Off by default; when set, a call beyond the per-connection concurrency or the per-second rate
gets a 429 with ``Retry-After``, as the real service's protection answers, and every response
waits the set latency. These tests check what is answered, not how fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import AkeneoClient
from pim_images.config import load_config
from pim_images.extract import extract_catalog, extract_structure
from pim_images.media import MediaCache, download_media
from pim_sandbox.catalog import generate_catalog
from pim_sandbox.credentials import AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_PASSWORD, AKENEO_USER
from pim_sandbox.environment import create_sandbox_app
from pim_sandbox.http_server import serve_in_thread

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"
CHANNELS = "/api/rest/v1/channels"


@contextmanager
def served(**limits: Any) -> Iterator[str]:
    app = create_sandbox_app(generate_catalog(products=8, seed=3), **limits)
    with serve_in_thread(app) as url:
        yield url


def token(http: httpx.Client) -> str:
    body = {"grant_type": "password", "username": AKENEO_USER, "password": AKENEO_PASSWORD}
    response = http.post("/api/oauth/v1/token", json=body, auth=(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET))
    response.raise_for_status()
    return response.json()["access_token"]


def concurrent_gets(url: str, tokens: list[str], stagger: float) -> list[httpx.Response]:
    """One GET per token in ``tokens``, each from its own connection, started ``stagger`` s apart."""

    def get(index: int) -> httpx.Response:
        time.sleep(index * stagger)
        with httpx.Client(base_url=url, timeout=10) as http:
            return http.get(CHANNELS, headers={"Authorization": f"Bearer {tokens[index]}"})

    with ThreadPoolExecutor(len(tokens)) as pool:
        return list(pool.map(get, range(len(tokens))))


def test_a_fifth_call_in_flight_on_one_connection_gets_429_with_retry_after() -> None:
    with served(latency=0.6, concurrency_limit=4) as url, httpx.Client(base_url=url, timeout=10) as http:
        answers = concurrent_gets(url, [token(http)] * 5, stagger=0.05)
    # which of the five is refused depends on when each thread got the CPU (the last, alone)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 429]
    (refused,) = (a for a in answers if a.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    assert refused.json() == {
        "code": 429,
        "message": "You have exceeded the limit of API requests per second.",
    }


def test_the_concurrency_limit_is_per_connection() -> None:
    with served(latency=0.6, concurrency_limit=4) as url, httpx.Client(base_url=url, timeout=10) as http:
        first, second = token(http), token(http)
        answers = concurrent_gets(url, [first] * 4 + [second], stagger=0.05)
    assert [a.status_code for a in answers] == [200] * 5


def test_a_call_after_the_others_ended_is_admitted_again() -> None:
    with served(latency=0.3, concurrency_limit=1) as url, httpx.Client(base_url=url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {token(http)}"}
        statuses = [http.get(CHANNELS, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]


def test_requests_beyond_the_rate_per_second_get_429_until_the_second_has_passed() -> None:
    with served(rate_limit=3) as url, httpx.Client(base_url=url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {token(http)}"}  # the token request counts too
        burst = [http.get(CHANNELS, headers=headers) for _ in range(3)]
        time.sleep(1.1)
        later = http.get(CHANNELS, headers=headers)
    assert [a.status_code for a in burst] == [200, 200, 429]
    assert burst[2].headers["Retry-After"] == "1"
    assert later.status_code == 200


def test_every_response_waits_the_latency() -> None:
    with served(latency=0.25) as url, httpx.Client(base_url=url, timeout=10) as http:
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {token(http)}"}
        http.get(CHANNELS, headers=headers).raise_for_status()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.5


def test_without_settings_the_sandbox_has_no_limits() -> None:
    with served() as url, httpx.Client(base_url=url, timeout=10) as http:
        answers = concurrent_gets(url, [token(http)] * 12, stagger=0)
    assert [a.status_code for a in answers] == [200] * 12


def test_the_pipelines_client_stays_within_akeneos_limits(tmp_path: Path) -> None:
    config = load_config(CONFIG, {"akeneoImageType": "both"})
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    with (
        served(latency=0.02, concurrency_limit=4, rate_limit=100) as url,
        AkeneoClient(url, credentials) as client,
    ):
        extract_structure(client, config, tmp_path)
        extract_catalog(client, config, tmp_path)
        summary = download_media(client, tmp_path, MediaCache(tmp_path / "cache"))
    assert summary.downloaded > 0
    assert client.statuses[429] == 0


def test_a_response_is_made_when_admitted_and_sent_when_the_latency_has_passed() -> None:
    """The latency is the PIM's time and the network's: the sandbox works inside it (a call takes
    the latency, not the latency plus the sandbox's own CPU), so the body is the catalog as it was
    when the call came, not as it is when the latency ends."""
    catalog = generate_catalog(products=8, seed=3)
    app = create_sandbox_app(catalog)
    latency = app.state.faults.latency(2.0, r"/products-uuid/")
    uuid = catalog.product(3)["uuid"]
    changed = datetime(2031, 1, 1, tzinfo=UTC)
    with (
        serve_in_thread(app) as url,
        httpx.Client(base_url=url, timeout=10) as http,
        ThreadPoolExecutor(1) as pool,
    ):
        headers = {"Authorization": f"Bearer {token(http)}"}
        answer = pool.submit(http.get, f"/api/rest/v1/products-uuid/{uuid}", headers=headers)
        while not latency.hits:  # admitted
            time.sleep(0.01)
        time.sleep(0.5)  # made long since (a few milliseconds), 1.5 s before it is sent
        assert not answer.done()
        catalog.changes.change_product(3, changed)
        before = answer.result()
        after = http.get(f"/api/rest/v1/products-uuid/{uuid}", headers=headers)
    assert before.status_code == after.status_code == 200
    assert not before.json()["updated"].startswith("2031")
    assert after.json()["updated"].startswith("2031-01-01")
