"""Akeneo pagination (pagination.md) as a small paginator object, dlt's ``JSONLinkPaginator`` shape.

Both of Akeneo's methods, ``page`` and ``search_after``, announce the next page as an absolute
URL in ``_links.next.href`` that already carries every query parameter; the last page has no
``next`` link. So one paginator serves both: follow the link until there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """What the client sends next: a URL or path, and query parameters (first page only)."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)


class NextLinkPaginator:
    """Follows ``_links.next.href``; a fresh copy per loop, so no state leaks between loops."""

    def __init__(self) -> None:
        self._next: str | None = None
        self.has_next = True

    def init_request(self, request: Request) -> Request:
        """The first request is the caller's, unchanged."""
        return request

    def update_state(self, page: dict[str, Any]) -> None:
        """Read the next link from a page; its absence ends the loop."""
        links = page.get("_links") if isinstance(page, dict) else None
        nxt = links.get("next") if isinstance(links, dict) else None
        self._next = nxt.get("href") if isinstance(nxt, dict) else None
        self.has_next = bool(self._next)

    def update_request(self, request: Request) -> Request:
        """The next link replaces URL and parameters: Akeneo put them all in it."""
        assert self._next is not None
        return Request(url=self._next, params={})
