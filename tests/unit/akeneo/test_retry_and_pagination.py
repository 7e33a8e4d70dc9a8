"""Pure pieces of the Akeneo client: retry predicates, waits, the next-link paginator."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from pim_images.akeneo.paginate import NextLinkPaginator, Request
from pim_images.akeneo.retry import RetryPolicy, parse_retry_after, retry_if_exception, retry_if_status


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (408, True),
        (429, True),
        (500, True),
        (503, True),
        (400, False),
        (401, False),
        (404, False),
        (422, False),
    ],
)
def test_retry_if_status(status: int, retry: bool) -> None:
    assert retry_if_status(httpx.Response(status)) is retry


def test_retry_if_exception_only_for_transport_errors() -> None:
    assert retry_if_exception(httpx.ReadTimeout("slow"))
    assert retry_if_exception(httpx.RemoteProtocolError("dropped"))
    assert not retry_if_exception(ValueError("bug"))


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_wait_honours_retry_after_then_backs_off_with_jitter() -> None:
    policy = RetryPolicy(base=1.0, cap=10.0, jitter=lambda: 1.0)
    assert policy.wait(1, httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    assert policy.wait(1, httpx.Response(429, headers={"Retry-After": "3600"})) == 10.0
    assert [policy.wait(n, None) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    half = RetryPolicy(base=1.0, cap=10.0, jitter=lambda: 0.5)
    assert half.wait(3, httpx.Response(503)) == 2.0


def test_should_retry_stops_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(1, httpx.Response(503), None)
    assert policy.should_retry(2, None, httpx.ConnectError("refused"))
    assert not policy.should_retry(3, httpx.Response(503), None)
    assert not policy.should_retry(1, httpx.Response(404), None)


def test_paginator_follows_next_until_absent() -> None:
    paginator = NextLinkPaginator()
    request = paginator.init_request(Request("/api/rest/v1/products-uuid", {"limit": 100}))
    assert request.params == {"limit": 100}
    paginator.update_state({"_links": {"next": {"href": "http://pim/api/rest/v1/products-uuid?page=2"}}})
    assert paginator.has_next
    assert paginator.update_request(request) == Request("http://pim/api/rest/v1/products-uuid?page=2", {})
    paginator.update_state({"_links": {"self": {"href": "x"}}})
    assert not paginator.has_next
