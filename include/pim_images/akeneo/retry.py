"""Retry policy for Akeneo calls: tenacity composed from small parts (dlt's ``requests/retry.py`` shape).

Which failures retry, and why:

- 408, 429 and 5xx: Akeneo's answer to load (good-practices.md asks clients to honour 429's
  ``Retry-After``); a later attempt can succeed.
- timeouts, resets and refused or dropped connections: transient on a busy PIM or proxy. A
  certificate the client cannot verify is not transient (an expired or wrong certificate, or
  an interception): it fails at once.
- everything else (400, 401, 403, 404, 422): the request itself is wrong; retrying only delays
  the error. 401 is handled by the auth flow (:class:`~pim_images.akeneo.auth.AkeneoAuth`), not here.

The predicates are pure functions on a response or an exception; :meth:`RetryPolicy.retrying`
composes them with :class:`wait_retry_after_or_backoff` and ``stop_after_attempt`` into a
``tenacity.Retrying``.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
import tenacity

if TYPE_CHECKING:
    from tenacity import RetryCallState

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def retry_if_status(response: httpx.Response) -> bool:
    """True when the status says the same request may succeed later."""
    return response.status_code in RETRYABLE_STATUSES


def retry_if_exception(exc: BaseException) -> bool:
    """True for transport failures (timeouts, resets, dropped connections), but not for a TLS
    certificate that does not verify: the next attempt would meet the same certificate."""
    return isinstance(exc, httpx.TransportError) and not is_certificate_error(exc)


def is_certificate_error(exc: BaseException) -> bool:
    """True when ``exc`` was caused by a TLS certificate verification failure (httpx wraps
    httpcore's error, which wraps ``ssl.SSLCertVerificationError``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110).

    :return: ``None`` when absent or unreadable, so the caller falls back to backoff.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class wait_retry_after_or_backoff(tenacity.wait.wait_base):
    """Seconds before the next attempt: the response's ``Retry-After`` when it has one, capped
    at ``cap``; else ``base * 2 ** (attempt - 1)``, capped at ``cap``, times ``jitter()``.

    The cap also bounds ``Retry-After`` so a hostile header cannot park a task for hours (the
    task's execution timeout still bounds the whole). A failed attempt (transport error) has no
    header, so it backs off.

    :param base: first backoff, seconds.
    :param cap: longest wait, seconds.
    :param jitter: a factor (the default policy draws it in [0.5, 1.0]) so parallel workers do
        not retry in step.
    """

    def __init__(self, base: float, cap: float, jitter: Callable[[], float]) -> None:
        self.base = base
        self.cap = cap
        self.jitter = jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            response = outcome.result()
            if isinstance(response, httpx.Response):
                after = parse_retry_after(response.headers.get("Retry-After"))
                if after is not None:
                    return min(after, self.cap)
        return min(self.cap, self.base * 2 ** (retry_state.attempt_number - 1)) * self.jitter()


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them (the configuration of the retries).

    :param max_attempts: attempts in all, the first included.
    :param base: first backoff in seconds; doubles each attempt up to ``cap``.
    :param cap: longest wait, also applied to ``Retry-After``.
    :param jitter: returns a factor in [0.5, 1.0] so parallel workers do not retry in step.
    """

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 60.0
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))

    def retrying(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        give_up: Callable[[RetryCallState], Any] | None = None,
    ) -> tenacity.Retrying:
        """A ``tenacity.Retrying`` for calls that return an ``httpx.Response``.

        It retries a retryable status or a transport error, waits per
        :class:`wait_retry_after_or_backoff`, and stops after ``max_attempts``. Any other
        exception is raised at once, unchanged.

        :param sleep: how to wait (tests record the waits instead).
        :param give_up: called with the last attempt's state when attempts run out (tenacity's
            ``retry_error_callback``); its return value is the call's. ``None`` raises
            ``tenacity.RetryError``.
        """
        return tenacity.Retrying(
            retry=(
                tenacity.retry_if_result(_is_retryable_response)
                | tenacity.retry_if_exception(retry_if_exception)
            ),
            wait=wait_retry_after_or_backoff(self.base, self.cap, self.jitter),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            sleep=sleep,
            retry_error_callback=give_up,
        )


def _is_retryable_response(result: object) -> bool:
    return isinstance(result, httpx.Response) and retry_if_status(result)


#: A policy for tests: same decisions, no waiting.
NO_WAIT = RetryPolicy(base=0.0, cap=0.0)
