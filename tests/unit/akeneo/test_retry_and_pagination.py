"""Pure pieces of the Akeneo client: retry predicates, waits, the next-link paginator."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from tenacity import RetryCallState

from pim_images.akeneo.paginate import NextLinkPaginator, Request
from pim_images.akeneo.retry import (
    RetryPolicy,
    parse_retry_after,
    retry_if_exception,
    retry_if_status,
    wait_retry_after_or_backoff,
)


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


def _state(attempt: int, response: httpx.Response | None = None, error: BaseException | None = None):
    """The state tenacity hands a wait after attempt number ``attempt``."""
    state = RetryCallState(RetryPolicy().retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    if error is not None:
        state.set_exception((type(error), error, None))
    else:
        state.set_result(response)
    return state


def test_wait_honours_retry_after_capped() -> None:
    wait = wait_retry_after_or_backoff(base=1.0, cap=10.0, jitter=lambda: 1.0)
    assert wait(_state(1, httpx.Response(429, headers={"Retry-After": "3"}))) == 3.0
    assert wait(_state(4, httpx.Response(503, headers={"Retry-After": "3"}))) == 3.0  # not the backoff
    assert wait(_state(1, httpx.Response(429, headers={"Retry-After": "3600"}))) == 10.0
    assert wait(_state(1, httpx.Response(429, headers={"Retry-After": "soon"}))) == 1.0  # unreadable: backoff


def test_wait_backs_off_exponentially_with_jitter_up_to_the_cap() -> None:
    wait = wait_retry_after_or_backoff(base=1.0, cap=10.0, jitter=lambda: 1.0)
    assert [wait(_state(n, httpx.Response(503))) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert wait(_state(2, error=httpx.ConnectError("refused"))) == 2.0  # no response, no header
    half = wait_retry_after_or_backoff(base=1.0, cap=10.0, jitter=lambda: 0.5)
    assert half(_state(3, httpx.Response(503))) == 2.0


def _run(policy: RetryPolicy, outcomes: list[httpx.Response | Exception]) -> tuple[object, list[float], int]:
    """Run the policy's ``Retrying`` over a call that yields ``outcomes`` in turn; the result
    (the last outcome when attempts run out), the waits asked for, and the attempts made."""
    waits: list[float] = []
    calls = iter(outcomes)
    made = 0

    def call() -> httpx.Response:
        nonlocal made
        made += 1
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    retrying = policy.retrying(sleep=waits.append, give_up=lambda s: s.outcome.result())
    try:
        result: object = retrying(call)
    except Exception as exc:
        result = exc
    return result, waits, made


def test_retrying_retries_statuses_and_transport_errors_then_stops() -> None:
    policy = RetryPolicy(max_attempts=3, base=1.0, cap=10.0, jitter=lambda: 1.0)
    ok = httpx.Response(200)
    result, waits, made = _run(policy, [httpx.Response(503), httpx.ConnectError("refused"), ok])
    assert (result, waits, made) == (ok, [1.0, 2.0], 3)
    result, waits, made = _run(policy, [httpx.Response(503)] * 5)
    assert isinstance(result, httpx.Response) and result.status_code == 503 and made == 3
    result, _, made = _run(policy, [httpx.ReadTimeout("slow")] * 5)
    assert isinstance(result, httpx.ReadTimeout) and made == 3


def test_retrying_does_not_retry_a_final_answer_or_a_bug() -> None:
    policy = RetryPolicy(max_attempts=3)
    result, waits, made = _run(policy, [httpx.Response(404), httpx.Response(200)])
    assert isinstance(result, httpx.Response) and result.status_code == 404 and (waits, made) == ([], 1)
    bug = KeyError("x")
    assert _run(policy, [bug, httpx.Response(200)]) == (bug, [], 1)


def test_paginator_follows_next_until_absent() -> None:
    paginator = NextLinkPaginator()
    request = paginator.init_request(Request("/api/rest/v1/products-uuid", {"limit": 100}))
    assert request.params == {"limit": 100}
    paginator.update_state({"_links": {"next": {"href": "http://pim/api/rest/v1/products-uuid?page=2"}}})
    assert paginator.has_next
    assert paginator.update_request(request) == Request("http://pim/api/rest/v1/products-uuid?page=2", {})
    paginator.update_state({"_links": {"self": {"href": "x"}}})
    assert not paginator.has_next
