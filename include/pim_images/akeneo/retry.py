"""Retry policy for Akeneo calls, built from small parts (dlt's ``requests/retry.py`` shape).

Which failures retry, and why:

- 408, 429 and 5xx: Akeneo's answer to load (good-practices.md asks clients to honour 429's
  ``Retry-After``); a later attempt can succeed.
- timeouts, resets and refused or dropped connections: transient on a busy PIM or proxy.
- everything else (400, 401, 403, 404, 422): the request itself is wrong; retrying only delays
  the error. 401 is handled by the auth flow, not here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def retry_if_status(response: httpx.Response) -> bool:
    """True when the status says the same request may succeed later."""
    return response.status_code in RETRYABLE_STATUSES


def retry_if_exception(exc: BaseException) -> bool:
    """True for transport failures (timeouts, resets, dropped connections)."""
    return isinstance(exc, httpx.TransportError)


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


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them.

    :param max_attempts: attempts in all, the first included.
    :param base: first backoff in seconds; doubles each attempt up to ``cap``.
    :param cap: longest wait, also applied to ``Retry-After`` so a hostile header cannot
        park a task for hours (the task's execution timeout still bounds the whole).
    :param jitter: returns a factor in [0.5, 1.0] so parallel workers do not retry in step.
    """

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 60.0
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))

    def should_retry(self, attempt: int, response: httpx.Response | None, exc: BaseException | None) -> bool:
        """Whether attempt number ``attempt`` (1-based) may be followed by another."""
        if attempt >= self.max_attempts:
            return False
        if exc is not None:
            return retry_if_exception(exc)
        return response is not None and retry_if_status(response)

    def wait(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before the next attempt: ``Retry-After`` when given, else backoff with jitter."""
        if response is not None:
            after = parse_retry_after(response.headers.get("Retry-After"))
            if after is not None:
                return min(after, self.cap)
        return min(self.cap, self.base * 2 ** (attempt - 1)) * self.jitter()


#: A policy for tests: same decisions, no waiting.
NO_WAIT = RetryPolicy(base=0.0, cap=0.0)
