"""Akeneo-compatible HTTP server (FastAPI) over a :class:`~pim_sandbox.catalog.SandboxCatalog`.

It answers the read endpoints the pipeline uses with the paths, JSON shapes, status codes and error messages
of a real Akeneo PIM of the catalog's version (``catalog.profile``, :mod:`pim_sandbox.catalog.versions`:
7.0 by default; 3.1, 3.2, 5.0 and SaaS serve other endpoints and shapes), from the Swagger file and concept
pages in ``shared/specs/akeneo``, and where they are silent, the PIM's own source:

- ``POST /api/oauth/v1/token``: password and refresh-token grants (authentication.md);
- ``GET /api/rest/v1/{attributes,families,channels,locales}[/{code}]``: offset pagination (pagination.md);
- ``GET /api/rest/v1/products-uuid[/{uuid}]`` (7.0, SaaS) and ``GET /api/rest/v1/products[/{code}]``
  (before SaaS): ``search`` filters (filter.md), ``scope``/``locales``/``attributes`` value filters,
  ``page`` and ``search_after`` pagination;
- ``GET /api/rest/v1/system-information`` (7.0, SaaS): version and edition, without a token;
- ``GET /api/rest/v1/media-files/{code}[/download]``;
- with the Asset Manager (``asset_system="new"``, asset-manager.md):
  ``GET /api/rest/v1/asset-families[/{code}]``, ``/asset-families/{f}/attributes[/{code}]``,
  ``/asset-families/{f}/assets[/{code}]`` (``search`` on ``updated`` and ``code``, ``channel``/``locales``
  value filters, ``search_after`` pages of 100) and ``/asset-media-files/{code}`` (the binary);
- with the PAM (``asset_system="old"``, pam.md): ``GET /api/rest/v1/assets[/{code}]`` (page or
  ``search_after`` pagination), ``/assets/{code}/reference-files/{locale}[/download]`` and
  ``/assets/{code}/variation-files/{channel}/{locale}[/download]``, ``no_locale`` standing for no locale.

A PIM has one asset system: the other one's routes answer 404 "No route found", as on a real PIM.

Errors are ``{"code": <status>, "message": "..."}`` (responses.md). Tests steer the server through
``app.state``:

- ``app.state.faults`` (:class:`Faults`): inject error statuses with ``Retry-After``, latency, expired tokens;
- ``app.state.requests`` (:class:`RequestLog`): every request served, to count attempts;
- ``app.state.catalog`` and ``app.state.tokens``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import json
import random
import re
import secrets
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from pim_sandbox.catalog import PAM_NO_LOCALE

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from pim_sandbox.catalog import AssetHeader, MediaFile, ModelHeader, ProductHeader, SandboxCatalog
    from pim_sandbox.catalog.versions import AkeneoProfile

__all__ = [
    "AkeneoError",
    "FaultRule",
    "Faults",
    "Limits",
    "RequestLog",
    "RequestRecord",
    "TokenStore",
    "create_app",
]

_API = "/api/rest/v1"
_DEFAULT_LIMIT = 10
_MAX_LIMIT = 100
# Elasticsearch's result window: offset pagination stops at 10,000 items (pagination.md, "Limitation").
_MAX_OFFSET_WINDOW = 10_000
_REFRESH_TTL = 1_209_600  # 14 days, authentication.md
_DOC_SEARCH_AFTER = "http://api.akeneo.com/documentation/pagination.html#the-search-after-method"
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_GRANT_TYPE_RE = re.compile(
    r"^(authorization_code|token|password|client_credentials|refresh_token|https?://.+|urn:.+)$"
)

Predicate = Callable[["ProductHeader"], bool]
T = TypeVar("T")


# -- errors and responses ------------------------------------------------------------------------------


class AkeneoError(Exception):
    """An error answered as Akeneo does: ``{"code": status, "message": message}`` (responses.md).

    :param status: HTTP status.
    :param message: Akeneo's message, word for word where known.
    :param documentation: optional URL added as ``_links.documentation.href``, as Akeneo's documented
        errors do.
    :param headers: extra response headers.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        documentation: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.documentation = documentation
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """Return the JSON body."""
        body: dict[str, Any] = {"code": self.status, "message": self.message}
        if self.documentation:
            body["_links"] = {"documentation": {"href": self.documentation}}
        return body


def _json(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    # PHP's json_encode escapes non-ASCII by default; ensure_ascii does the same.
    payload = json.dumps(content, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return Response(payload, status_code=status, media_type="application/json", headers=dict(headers or {}))


def _encode(content: Any) -> bytes:
    """``content`` as :func:`_json` writes it: compact, non-ASCII escaped as PHP's ``json_encode``."""
    return json.dumps(content, separators=(",", ":"), ensure_ascii=True).encode("ascii")


#: How a list page made by :func:`_page_json` ends before its items are spliced in.
_NO_ITEMS_TAIL = b'"_embedded":{"items":[]}}'


def _page_json(page: dict[str, Any]) -> Response:
    """Answer a list page whose ``_embedded.items`` are already encoded (:class:`_ItemCache`): the
    bytes are those :func:`_json` would write for the page with the items decoded (``_embedded`` is
    the last key of every list page), without encoding the items again."""
    items: list[bytes] = page["_embedded"]["items"]
    head = _encode({**page, "_embedded": {"items": []}})
    assert head.endswith(_NO_ITEMS_TAIL)
    payload = b"".join((head[: -len(b"[]}}")], b"[", b",".join(items), b"]}}"))
    return Response(payload, media_type="application/json")


_ITEM_CACHES: weakref.WeakKeyDictionary[SandboxCatalog, _ItemCache] = weakref.WeakKeyDictionary()


def size_item_cache(catalog: SandboxCatalog, max_bytes: int) -> None:
    """Bound the cache of ``catalog``'s encoded list items (:class:`_ItemCache`) to ``max_bytes``
    (256 MiB unless told): a benchmark lists a catalog of 100,000 products, whose items weigh
    some 600 MB, a second time from the cache. Call it before serving."""
    _ITEM_CACHES[catalog] = _ItemCache(catalog, max_bytes)


def _item_cache(catalog: SandboxCatalog) -> _ItemCache:
    """The :class:`_ItemCache` of ``catalog`` (one per catalog, shared by the apps serving it)."""
    cache = _ITEM_CACHES.get(catalog)
    if cache is None:
        cache = _ITEM_CACHES.setdefault(catalog, _ItemCache(catalog))
    return cache


class _ItemCache:
    """The items of list pages, encoded (JSON bytes), by what makes them: the resource, the value filter
    and the base URL; an LRU bounded in bytes, emptied whenever the catalog's changes move
    (:attr:`CatalogChanges.revision <pim_sandbox.catalog.changes.CatalogChanges.revision>`), so a page
    is always the catalog as it is now.

    Building an item (its values, its media codes, which need the rendered binaries) costs about a
    millisecond of CPU; a cached one is a dict lookup, so a catalog listed again (another partition,
    a retried page, a second run) costs the sandbox next to nothing.

    :param catalog: the catalog served (its version is fixed; its changes are watched).
    :param max_bytes: bound of the encoded items kept.
    """

    def __init__(self, catalog: SandboxCatalog, max_bytes: int = 256 * 1024 * 1024) -> None:
        self._catalog = catalog
        self._max_bytes = max_bytes
        self._items: collections.OrderedDict[tuple[Any, ...], bytes] = collections.OrderedDict()
        self._bytes = 0
        self._version: tuple[Any, int] | None = None
        self._lock = threading.Lock()

    def _current(self) -> tuple[Any, int]:
        changes = self._catalog.changes
        return changes, changes.revision

    def get(self, key: tuple[Any, ...], build: Callable[[], dict[str, Any]]) -> bytes:
        """Return the encoded item of ``key``, built by ``build()`` when not cached."""
        version = self._current()
        with self._lock:
            if self._version is None or version[0] is not self._version[0] or version[1] != self._version[1]:
                self._items.clear()
                self._bytes = 0
                self._version = version
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        encoded = _encode(build())
        with self._lock:
            now = self._current()
            if (
                self._version is not None
                and now[0] is self._version[0]
                and now[1] == self._version[1] == version[1]
                and key not in self._items
            ):
                self._items[key] = encoded
                self._bytes += len(encoded)
                while self._bytes > self._max_bytes and self._items:
                    _, evicted = self._items.popitem(last=False)
                    self._bytes -= len(evicted)
        return encoded


def _php_type(value: Any) -> str:
    """Name a JSON value's type as PHP's ``gettype`` does, for Akeneo-style messages."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    return "array"


# -- tokens --------------------------------------------------------------------------------------------


class TokenStore:
    """Issued OAuth tokens; thread-safe, since tests expire tokens from another thread.

    :param ttl: access token lifetime in seconds (``expires_in``).
    :param clock: source of the current time in seconds, replaceable in tests.
    """

    def __init__(self, ttl: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._access: dict[str, float] = {}
        self._refresh: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> dict[str, Any]:
        """Create a token pair and return the token endpoint's response body (authentication.md)."""
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
        now = self._clock()
        with self._lock:
            self._access[access] = now + self.ttl
            self._refresh[refresh] = now + _REFRESH_TTL
        return {
            "access_token": access,
            "expires_in": self.ttl,
            "token_type": "bearer",
            "scope": None,
            "refresh_token": refresh,
        }

    def use_refresh(self, refresh: str) -> bool:
        """Consume a refresh token; FOSOAuthServer deletes it once used, so a second use fails."""
        with self._lock:
            expires_at = self._refresh.pop(refresh, None)
        return expires_at is not None and expires_at > self._clock()

    def status(self, access: str) -> str:
        """Return ``"valid"``, ``"expired"`` or ``"invalid"`` for an access token."""
        with self._lock:
            expires_at = self._access.get(access)
        if expires_at is None:
            return "invalid"
        return "valid" if expires_at > self._clock() else "expired"

    def expire_all(self) -> None:
        """Make every access token issued so far expired; refresh tokens stay usable."""
        with self._lock:
            past = self._clock() - 1
            self._access = dict.fromkeys(self._access, past)


# -- request log and faults ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request served: method, path (decoded), raw query string and response status."""

    method: str
    path: str
    query: str
    status: int


class RequestLog(list[RequestRecord]):
    """The list of requests served, oldest first, trimmed to its newest ``max_records`` half by half.

    A plain list for tests (``len``, indexing, ``clear``), bounded so that a 100k-product benchmark does not
    grow memory without end.
    """

    def __init__(self, max_records: int = 200_000) -> None:
        super().__init__()
        self.max_records = max_records

    def append(self, record: RequestRecord) -> None:
        """Add a record, dropping the oldest half when full."""
        super().append(record)
        if len(self) > self.max_records:
            del self[: len(self) // 2]

    def matching(
        self, path_regex: str = "", *, method: str | None = None, status: int | None = None
    ) -> list[RequestRecord]:
        """Return the records whose path matches ``path_regex`` (``re.search``) and method/status if given."""
        pattern = re.compile(path_regex)
        return [
            record
            for record in list(self)
            if pattern.search(record.path)
            and (method is None or record.method == method)
            and (status is None or record.status == status)
        ]


@dataclass(slots=True)
class FaultRule:
    """A pending fault: the next ``remaining`` requests whose path matches get ``status``.

    ``remaining`` is ``None`` for a fault that lasts until :meth:`Faults.clear`.
    """

    pattern: re.Pattern[str]
    status: int
    remaining: int | None
    retry_after: int | str | None
    body: Any
    method: str | None
    hits: int = 0
    headers: Mapping[str, str] | None = None
    content_type: str | None = None
    cut_at: int | None = None
    chunked: bool = False
    #: the body ends when the connection closes: neither ``Content-Length`` nor chunked encoding
    close_delimited: bool = False
    #: the share of matching requests answered (0 < rate <= 1); ``None``: every one, in turn
    rate: float | None = None

    def response(self) -> ASGIApp:
        """Build the fault's response: Akeneo-style JSON by default, or the given body; cut after
        ``cut_at`` bytes when set."""
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        headers.update(self.headers or {})
        if self.close_delimited:
            return _close_delimited_response(self.status, self.body, self.cut_at, self.content_type, headers)
        if self.cut_at is not None or self.chunked:
            return _raw_response(
                self.status, self.body, self.cut_at, self.content_type, headers, chunked=self.chunked
            )
        if isinstance(self.body, str):
            kind = self.content_type or "text/html"
            return Response(self.body, status_code=self.status, media_type=kind, headers=headers)
        if isinstance(self.body, bytes):
            return Response(self.body, status_code=self.status, media_type=self.content_type, headers=headers)
        body = (
            self.body
            if self.body is not None
            else {"code": self.status, "message": _fault_message(self.status)}
        )
        return _json(body, self.status, headers)


def _raw_response(
    status: int,
    body: bytes,
    cut_at: int | None,
    content_type: str | None,
    headers: Mapping[str, str],
    *,
    chunked: bool = False,
) -> ASGIApp:
    """A body sent in pieces: chunked (no ``Content-Length``, as Akeneo's streamed downloads),
    or, with ``cut_at``, cut after ``cut_at`` bytes with the connection dropped (a proxy or PIM
    worker that dies mid-transfer): announced whole in ``Content-Length``, or, ``chunked``,
    without its last chunk."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if content_type:
            raw.append((b"content-type", content_type.encode()))
        if cut_at is not None and not chunked:
            raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        sent = body if cut_at is None else body[:cut_at]
        for start in range(0, len(sent), 4096):
            await send({"type": "http.response.body", "body": sent[start : start + 4096], "more_body": True})
        if cut_at is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # else: returning without the last body message makes the server drop the connection

    return app


#: Where :class:`_SandboxApp` puts the server's connection in a request's ``scope["extensions"]``.
_CONNECTION = "pim_sandbox.connection"
#: The message :func:`_close_delimited_response` sends the request log instead of a response start.
_RAW_SENT = "pim_sandbox.raw_response.sent"


def _close_delimited_response(
    status: int, body: bytes, cut_at: int | None, content_type: str | None, headers: Mapping[str, str]
) -> ASGIApp:
    """A body whose end is the connection's close: no ``Content-Length``, no chunked encoding,
    ``Connection: close`` (RFC 9112 section 6.3, the last rule: "the number of octets received
    prior to the server closing the connection"), as an HTTP/1.0-style server or proxy answers.
    With ``cut_at``, only that many bytes are sent before the close: the client cannot tell a
    cut from the end.

    ASGI gives an app no way to send an unframed body (uvicorn frames every response), so this
    writes the response on the connection itself (:class:`_SandboxApp` hands it over).
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        cycle = scope.get("extensions", {}).get(_CONNECTION)
        if cycle is None:
            raise RuntimeError("a close-delimited response needs the connection (served by uvicorn)")
        lines = [f"HTTP/1.1 {status} {_reason(status)}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        await send({"type": _RAW_SENT, "status": status})  # the request log's record
        transport = cycle.transport
        transport.write(head + (body if cut_at is None else body[:cut_at]))
        while transport.get_write_buffer_size() and not transport.is_closing():
            await asyncio.sleep(0.01)
        cycle.disconnected = True  # uvicorn must not answer after us (it would send a 500)
        transport.close()

    return app


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def _fault_message(status: int) -> str:
    if status == 429:
        return "You have exceeded the limit of API requests per second."  # Swagger's 429Error example
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass(slots=True)
class _Latency:
    pattern: re.Pattern[str] | None
    seconds: float
    rate: float | None = None
    hits: int = 0


class Hold:
    """A gate in front of the next matching request (:meth:`Faults.hold`): the request waits,
    unanswered, until :meth:`release`; a test does something meanwhile (kills the client).

    :ivar reached: set when a request is being held.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.reached = threading.Event()
        self.released = threading.Event()

    def release(self) -> None:
        """Let the held request through (answered as it would have been)."""
        self.released.set()

    async def wait(self) -> None:
        self.reached.set()
        while not self.released.is_set():
            await asyncio.sleep(0.05)


class Faults:
    """Fault injection switches, available as ``app.state.faults``; thread-safe.

    Faults are checked before authentication and routing, as a rate limiter or load balancer in front of
    the PIM would answer. Typical use in a test::

        faults.add(r"/products-uuid$", 429, retry_after=1)   # next products list call gets a 429
        faults.add(r"/media-files/", 503, times=2)           # next two media calls get a 503
        faults.latency(0.2)                                   # every response waits 200 ms
        faults.expire_tokens()                                # access tokens issued so far now expire
        faults.add(r"^/api/", 503, times=None, rate=0.05)     # 5 % of all calls, at random (a soak)
        faults.clear()                                        # back to normal

    Rates draw from one random generator, seeded (:meth:`seed`) for a repeatable soak.
    """

    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens
        self._rules: list[FaultRule] = []
        self._latencies: list[_Latency] = []
        self._holds: list[Hold] = []
        self._lock = threading.Lock()
        self._random = random.Random(0)

    def seed(self, seed: int) -> None:
        """Seed the generator that draws which requests a rate-limited fault answers."""
        with self._lock:
            self._random.seed(seed)

    def add(
        self,
        path_regex: str,
        status: int,
        times: int | None = 1,
        retry_after: int | str | None = None,
        body: Any = None,
        *,
        method: str | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        cut_at: int | None = None,
        chunked: bool = False,
        close_delimited: bool = False,
        rate: float | None = None,
    ) -> FaultRule:
        """Answer the next ``times`` requests whose path matches ``path_regex`` with ``status``.

        :param path_regex: searched (``re.search``) in the request path, without the query string.
        :param status: HTTP status to answer, e.g. 429, 500, 503.
        :param times: how many matching requests fail; ``None`` means until :meth:`clear`.
        :param retry_after: value of the ``Retry-After`` header (seconds or an HTTP date), if any.
        :param body: JSON-able body; a ``str`` is sent as HTML (as a gateway would), ``bytes`` as is.
            Default: ``{"code": status, "message": ...}`` as Akeneo answers.
        :param method: only fail this HTTP method.
        :param headers: more response headers, e.g. ``{"Location": ...}`` for a redirect.
        :param content_type: the ``Content-Type`` of a ``str`` or ``bytes`` body.
        :param cut_at: send only this many bytes of ``body`` (bytes), after announcing all of
            them in ``Content-Length``, then drop the connection.
        :param chunked: send ``body`` (bytes) chunked, without ``Content-Length`` (with
            ``cut_at``: the connection dropped before the last chunk).
        :param close_delimited: send ``body`` (bytes) with neither ``Content-Length`` nor chunked
            encoding, ending it by closing the connection (HTTP/1.0 style; with ``cut_at``, closed
            after that many bytes: a cut the client cannot see).
        :param rate: answer only this share of the matching requests, drawn at random
            (0 < rate <= 1; the others go on to the next rule or the PIM); ``None``: every one.
        :return: the rule, whose ``hits`` counts the requests it answered.
        """
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 or None, got {times}")
        if rate is not None and not 0 < rate <= 1:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        rule = FaultRule(
            re.compile(path_regex),
            status,
            times,
            retry_after,
            body,
            method,
            0,
            headers,
            content_type,
            cut_at,
            chunked,
            close_delimited,
            rate,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def latency(
        self, seconds: float, path_regex: str | None = None, *, rate: float | None = None
    ) -> _Latency:
        """Delay every response (or those whose path matches ``path_regex``) by ``seconds``.

        :param rate: delay only this share of them, drawn at random (a slow response now and
            then; over the client's timeout, a timeout); ``None``: every one.
        :return: the latency, whose ``hits`` counts the requests it delayed.
        """
        latency = _Latency(re.compile(path_regex) if path_regex else None, seconds, rate)
        with self._lock:
            self._latencies.append(latency)
        return latency

    def hold(self, path_regex: str) -> Hold:
        """Hold the next request whose path matches, unanswered, until the returned
        :class:`Hold` is released (a test kills the client meanwhile)."""
        gate = Hold(re.compile(path_regex))
        with self._lock:
            self._holds.append(gate)
        return gate

    def take_hold(self, path: str) -> Hold | None:
        """The pending hold for a request on ``path``, removed (used by the middleware)."""
        with self._lock:
            for gate in self._holds:
                if gate.pattern.search(path):
                    self._holds.remove(gate)
                    return gate
        return None

    def expire_tokens(self) -> None:
        """Expire every access token issued so far: the next call with one gets a 401 "has expired"."""
        self._tokens.expire_all()

    def clear(self) -> None:
        """Remove every fault and latency (expired tokens stay expired)."""
        with self._lock:
            self._rules.clear()
            self._latencies.clear()
            for gate in self._holds:
                gate.release()
            self._holds.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """Return the first matching fault and count the request against it (used by the middleware)."""
        with self._lock:
            for rule in self._rules:
                if (rule.method is None or rule.method == method) and rule.pattern.search(path):
                    if rule.rate is not None and self._random.random() >= rule.rate:
                        continue
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def delay(self, path: str) -> float:
        """Return the latency to apply to a request on ``path`` (the largest matching one)."""
        delays = []
        with self._lock:
            for item in self._latencies:
                if item.pattern is not None and not item.pattern.search(path):
                    continue
                if item.rate is not None and self._random.random() >= item.rate:
                    continue
                item.hits += 1
                delays.append(item.seconds)
        return max(delays, default=0.0)


class Limits:
    """The service's usage limits (good-practices.md), available as ``app.state.limits``; off by default.

    - ``concurrency``: calls in flight at once per connection (Akeneo: 4); one more gets a 429.
      A connection is told apart by its credentials: the ``Authorization`` header (the bearer
      token, or the client's Basic credentials on the token endpoint).
    - ``per_second``: requests per second for the whole PIM (Akeneo: 100), over a sliding second;
      one more gets a 429.

    A refused call is answered at once with 429, ``Retry-After: 1`` and the Swagger file's message,
    and counts neither in flight nor against the second (the PIM's protection answers it in front of
    the application). Thread-safe. ``0`` turns a limit off.
    """

    def __init__(
        self, concurrency: int = 0, per_second: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.concurrency = concurrency
        self.per_second = per_second
        self._clock = clock
        self._in_flight: dict[str, int] = {}
        self._recent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        #: requests refused so far, by limit (``concurrency``, ``per_second``)
        self.refused: collections.Counter[str] = collections.Counter()
        #: the most calls one connection had in flight at once so far (admitted calls only)
        self.peak_in_flight = 0

    def enter(self, connection: str) -> str | None:
        """Admit a call of ``connection``, or return the name of the limit it breaks (not admitted).

        An admitted call must be ended with :meth:`leave`.
        """
        with self._lock:
            if self.per_second:
                now = self._clock()
                while self._recent and self._recent[0] <= now - 1.0:
                    self._recent.popleft()
                if len(self._recent) >= self.per_second:
                    self.refused["per_second"] += 1
                    return "per_second"
            if self.concurrency and self._in_flight.get(connection, 0) >= self.concurrency:
                self.refused["concurrency"] += 1
                return "concurrency"
            if self.per_second:
                self._recent.append(self._clock())
            self._in_flight[connection] = self._in_flight.get(connection, 0) + 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight[connection])
        return None

    def leave(self, connection: str) -> None:
        """End an admitted call of ``connection``."""
        with self._lock:
            left = self._in_flight.get(connection, 1) - 1
            if left:
                self._in_flight[connection] = left
            else:
                self._in_flight.pop(connection, None)


def _connection(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return value.decode("latin-1")
    return ""


class _SandboxApp(FastAPI):
    """The FastAPI app, handing a fault the server's connection (``scope["extensions"]``) for
    what ASGI cannot send: a body ended by closing the connection (:func:`_close_delimited_response`).

    uvicorn calls the app with its request cycle's ``send`` (``h11`` and ``httptools`` alike), whose
    object holds the connection (``transport``); another server hands nothing over.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = getattr(send, "__self__", None)
        if scope["type"] == "http" and hasattr(cycle, "transport"):
            scope["extensions"] = {**(scope.get("extensions") or {}), _CONNECTION: cycle}
        await super().__call__(scope, receive, send)


class _SandboxMiddleware:
    """Pure ASGI middleware: usage limits, latency, faults, then the app; records every request with
    its status.

    The latency runs from the request's admission (after a hold), and the app works inside it: the
    response is made at once and sent when the latency has passed (at once when making it took
    longer). A latency is the PIM's own time and the network's, so the sandbox's time (its CPU in
    one process, its calls queued behind each other) is not added on top of it: a call takes the
    latency, as the API ceiling of a benchmark counts.
    """

    def __init__(self, app: ASGIApp, *, faults: Faults, log: RequestLog, limits: Limits) -> None:
        self.app = app
        self.faults = faults
        self.log = log
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        recorded = False
        answer_at = 0.0  # time.monotonic() at which the response may start

        async def recording_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] in (_RAW_SENT, "http.response.start") and not recorded:
                await _until(answer_at)
            if message["type"] == _RAW_SENT:  # a response written on the connection itself
                self.log.append(RequestRecord(method, path, query, message["status"]))
                recorded = True
                return
            if message["type"] == "http.response.start" and not recorded:
                # Record before the client can see the response, so a test reading the log right after
                # its call always finds it.
                self.log.append(RequestRecord(method, path, query, message["status"]))
                recorded = True
            await send(message)

        connection = _connection(scope)
        if self.limits.enter(connection) is not None:
            await _TOO_MANY_REQUESTS(scope, receive, recording_send)
            return
        try:
            gate = self.faults.take_hold(path)
            if gate is not None:
                await gate.wait()
            answer_at = time.monotonic() + self.faults.delay(path)
            rule = self.faults.take(method, path)
            if rule is not None:
                await rule.response()(scope, receive, recording_send)
            else:
                await self.app(scope, receive, recording_send)
        except Exception:
            if not recorded:  # the server answers 500, after the latency too
                await _until(answer_at)
            raise
        finally:
            self.limits.leave(connection)
            if not recorded:  # the app raised before answering: the server sends a 500
                self.log.append(RequestRecord(method, path, query, 500))


async def _until(moment: float) -> None:
    """Wait until ``time.monotonic()`` reaches ``moment`` (at once if it has)."""
    wait = moment - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


#: The answer of the PIM's protection to a call beyond its limits (good-practices.md, "Handling
#: Over-Usage"; the Swagger file's 429 example).
_TOO_MANY_REQUESTS = FaultRule(re.compile(""), 429, None, 1, None, None).response()


# -- query parameters ----------------------------------------------------------------------------------


def _is_php_integer(raw: str) -> bool:
    # Akeneo's PaginationParametersValidator: strval($x) === strval(intval($x)).
    return re.fullmatch(r"-?[1-9]\d*|0", raw) is not None


def _limit(request: Request) -> int:
    """Return ``limit`` (default 10, 1..100), or raise Akeneo's 422 (pagination.md, "The limit parameter")."""
    raw = request.query_params.get("limit")
    if raw is None:
        return _DEFAULT_LIMIT
    if not _is_php_integer(raw) or int(raw) < 1:
        raise AkeneoError(422, f'"{raw}" is not a valid limit number.')
    if int(raw) > _MAX_LIMIT:
        raise AkeneoError(422, f"You cannot request more than {_MAX_LIMIT} items.")
    return int(raw)


def _page(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not _is_php_integer(raw) or int(raw) < 1:
        raise AkeneoError(422, f'"{raw}" is not a valid page number.')
    return int(raw)


def _with_count(request: Request) -> bool:
    raw = request.query_params.get("with_count", "false")
    if raw not in ("true", "false"):
        raise AkeneoError(
            422, f'Parameter "with_count" has to be a boolean. Only "true" or "false" allowed, "{raw}" given.'
        )
    return raw == "true"


def _pagination_type(request: Request, *, search_after: bool) -> str:
    raw = request.query_params.get("pagination_type", "page")
    if raw not in ("page", "search_after"):
        raise AkeneoError(422, "Pagination type does not exist.")
    if raw == "search_after" and not search_after:
        raise AkeneoError(422, "Pagination type is not supported.")
    return raw


def _search(request: Request) -> dict[str, list[dict[str, Any]]]:
    """Parse and check the structure of ``search`` as Akeneo's list-query validators do (filter.md)."""
    raw = request.query_params.get("search")
    if raw is None:
        return {}
    try:
        search = json.loads(raw)
    except ValueError:
        search = None
    if search == []:
        return {}  # PHP decodes [] as an empty array, which passes
    if not isinstance(search, dict):
        raise AkeneoError(400, "Search query parameter should be valid JSON.")
    for key, filters in search.items():
        if (
            not isinstance(filters, list)
            or not filters
            or not all(isinstance(item, dict) for item in filters)
        ):
            raise AkeneoError(
                422,
                f'Structure of filter "{key}" should respect this structure: '
                f'{{"{key}":[{{"operator": "my_operator", "value": "my_value"}}]}}',
            )
        for item in filters:
            if "operator" not in item:
                raise AkeneoError(422, f'Operator is missing for the property "{key}".')
            if not isinstance(item["operator"], str):
                raise AkeneoError(422, f'Operator has to be a string, "{_php_type(item["operator"])}" given.')
    return search


def _unsupported(prop: str, operator: str) -> AkeneoError:
    return AkeneoError(
        422, f'Filter on property "{prop}" is not supported or does not support operator "{operator}"'
    )


def _string_list(prop: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AkeneoError(422, f'Property "{prop}" expects an array as data, "{_php_type(value)}" given.')
    return value


# -- product filters (filter.md, "Filter on product properties") ---------------------------------------


def _parse_datetime(prop: str, value: Any) -> datetime:
    if isinstance(value, str) and _DATETIME_RE.match(value):
        try:
            # Dates are read in the server's time zone, UTC on SaaS (filter.md).
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            pass
    shown = value if isinstance(value, str) else _php_type(value)
    raise AkeneoError(
        422,
        f'Property "{prop}" expects a string with the format "yyyy-mm-dd H:i:s" as data, "{shown}" given.',
    )


def _date_predicate(prop: str, operator: str, value: Any) -> Predicate:
    """Filter on ``created``/``updated`` (filter.md, "On their creation or update date").

    ``=``/``!=`` compare the day, ``<``/``>`` are strict, ``BETWEEN`` includes both ends. On ``updated``, a
    variant product also matches when one of its parent models does (filter.md).
    """
    test = _date_test(prop, operator, value)
    if prop != "updated":
        return lambda header: test(header.created)
    return lambda header: test(header.updated) or any(map(test, getattr(header, "ancestors_updated", ())))


def _date_test(prop: str, operator: str, value: Any) -> Callable[[datetime], bool]:
    """Return the test of one date against a ``created``/``updated`` filter."""

    if operator in ("=", "!=", "<", ">"):
        bound = _parse_datetime(prop, value)
        if operator == "=":
            return lambda date: date.date() == bound.date()
        if operator == "!=":
            return lambda date: date.date() != bound.date()
        if operator == "<":
            return lambda date: date < bound
        return lambda date: date > bound
    if operator in ("BETWEEN", "NOT BETWEEN"):
        if not isinstance(value, list) or len(value) != 2:
            raise AkeneoError(
                422,
                f'Property "{prop}" expects an array with valid data, should contain 2 strings with '
                "the format "
                f'"yyyy-mm-dd H:i:s".',
            )
        low, high = (_parse_datetime(prop, item) for item in value)
        inside = operator == "BETWEEN"
        return lambda date: (low <= date <= high) is inside
    if operator == "SINCE LAST N DAYS":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise AkeneoError(
                422, f'Property "{prop}" expects a numeric as data, "{_php_type(value)}" given.'
            )
        since = datetime.now(UTC) - timedelta(days=value)
        return lambda date: date >= since
    raise _unsupported(prop, operator)


#: The catalog's identifier attribute (``pim_catalog_identifier``), which products can be filtered on.
_IDENTIFIER_ATTRIBUTE = "sku"


def _product_predicate(prop: str, item: dict[str, Any], profile: AkeneoProfile) -> Predicate:
    operator, value = item["operator"], item.get("value")
    if prop == "uuid" and not profile.since("7.0"):
        raise _unsupported(prop, operator)  # filter.md: on uuid from 7.0
    if prop in ("updated", "created"):
        return _date_predicate(prop, operator, value)
    if prop == "family" and operator in ("IN", "NOT IN"):
        families = set(_string_list(prop, value))
        inside = operator == "IN"
        return lambda header: (header.family in families) is inside
    if prop == "family" and operator in ("EMPTY", "NOT EMPTY"):
        return lambda header: (header.family is None) is (operator == "EMPTY")
    if prop == "enabled" and operator in ("=", "!="):
        if not isinstance(value, bool):
            raise AkeneoError(
                422, f'Property "enabled" expects a boolean as data, "{_php_type(value)}" given.'
            )
        return lambda header: (header.enabled == value) is (operator == "=")
    if prop == "uuid" and operator in ("IN", "NOT IN"):
        uuids = {uuid.lower() for uuid in _string_list(prop, value)}
        return lambda header: (header.uuid in uuids) is (operator == "IN")
    if prop == "categories" and operator in ("IN", "NOT IN"):
        codes = set(_string_list(prop, value))
        return lambda header: bool(codes.intersection(header.categories)) is (operator == "IN")
    if prop == "parent":
        _check_parent_operator(operator, profile)
        return _parent_predicate(operator, value)
    if prop == _IDENTIFIER_ATTRIBUTE and operator in ("IN", "NOT IN"):
        # the identifier attribute's filter (filter.md, pim_catalog_identifier): up to 100 identifiers
        identifiers = set(_string_list(prop, value))
        if len(identifiers) > 100:
            raise AkeneoError(422, f'Filter on property "{prop}" accepts at most 100 values.')
        return lambda header: (header.identifier in identifiers) is (operator == "IN")
    raise _unsupported(prop, operator)


def _check_parent_operator(operator: str, profile: AkeneoProfile) -> None:
    """Refuse a ``parent`` filter this version does not take (filter.md, "On their parent": from 3.2;
    ``IN``, ``EMPTY`` and ``NOT EMPTY`` from 7.0). Before 7.0 the API hands ``parent`` to the product
    query builder as ``ancestor.code``, which takes ``=`` only, so its 422 names that field
    (docs/akeneo.md#search-filters-per-version)."""
    if not profile.since("3.2"):
        raise _unsupported("parent", operator)
    if operator != "=" and not profile.since("7.0"):
        raise _unsupported("ancestor.code", operator)


def _parent_predicate(operator: str, value: Any) -> Predicate:
    """Filter products on their parent (filter.md, "On their parent"): ``=`` any descendant of a model,
    ``IN`` direct children, ``EMPTY`` simple products, ``NOT EMPTY`` variant products."""
    if operator == "=":
        if not isinstance(value, str):
            raise AkeneoError(422, f'Property "parent" expects a string as data, "{_php_type(value)}" given.')
        return lambda header: value in header.ancestors
    if operator == "IN":
        parents = set(_string_list("parent", value))
        return lambda header: header.parent in parents
    if operator in ("EMPTY", "NOT EMPTY"):
        return lambda header: (header.parent is None) is (operator == "EMPTY")
    raise _unsupported("parent", operator)


def _product_predicates(search: dict[str, list[dict[str, Any]]], profile: AkeneoProfile) -> list[Predicate]:
    return [_product_predicate(prop, item, profile) for prop, items in search.items() for item in items]


@dataclass(frozen=True, slots=True)
class _ValueFilter:
    """The ``scope``/``locales``/``attributes`` query parameters (filter.md, "Filter product values")."""

    scope: str | None = None
    locales: frozenset[str] | None = None
    attributes: frozenset[str] | None = None

    def apply(self, values: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        kept: dict[str, list[dict[str, Any]]] = {}
        for code, items in values.items():
            if self.attributes is not None and code not in self.attributes:
                continue
            chosen = [
                item
                for item in items
                if (self.locales is None or item["locale"] is None or item["locale"] in self.locales)
                and (self.scope is None or item["scope"] is None or item["scope"] == self.scope)
            ]
            if chosen:
                kept[code] = chosen
        return kept


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _value_filter(request: Request, catalog: SandboxCatalog) -> _ValueFilter:
    """Check ``scope``, ``locales`` and ``attributes``, then build the value filter.

    Messages are those of Akeneo's ``ValidateChannel``, ``ValidateLocales`` and ``ValidateAttributes``. With a
    ``scope`` and no ``locales``, values are limited to the channel's locales, as the PIM's
    ``ListProductsQueryHandler::getLocales`` does.
    """
    params = request.query_params
    scope = params.get("scope")
    if scope is not None and scope not in catalog.channels:
        raise AkeneoError(422, f'Scope "{scope}" does not exist.')
    locales = _enabled_locales(request, catalog)
    if locales is not None:
        if scope is not None:
            inactive = [code for code in locales if code not in catalog.channels[scope]["locales"]]
            _raise_unknown(
                inactive,
                f'Locale "{{}}" is not activated for the scope "{scope}".',
                f'Locales "{{}}" are not activated for the scope "{scope}".',
            )
    elif scope is not None:
        locales = list(catalog.channels[scope]["locales"])
    attributes: list[str] | None = None
    if "attributes" in params:
        attributes = _split(params["attributes"])
        unknown = [code for code in attributes if code not in catalog.attributes]
        _raise_unknown(unknown, 'Attribute "{}" does not exist.', 'Attributes "{}" do not exist.')
    return _ValueFilter(
        scope,
        frozenset(locales) if locales is not None else None,
        frozenset(attributes) if attributes is not None else None,
    )


def _raise_unknown(codes: list[str], singular: str, plural: str) -> None:
    if codes:
        raise AkeneoError(422, (plural if len(codes) > 1 else singular).format(", ".join(codes)))


def _encode_cursor(uuid: str) -> str:
    return base64.urlsafe_b64encode(uuid.encode("ascii")).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str) -> str:
    """Return the uuid inside a ``search_after`` cursor; the cursor is opaque to clients (pagination.md)."""
    try:
        uuid = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        uuid = ""
    if not _UUID_RE.match(uuid):
        raise AkeneoError(
            422, f'"{cursor}" is not a valid search_after cursor. Use the links of the previous page.'
        )
    return uuid


# -- links ---------------------------------------------------------------------------------------------


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _href(request: Request, path: str, **overrides: Any) -> dict[str, str]:
    """Return ``{"href": ...}`` for ``path`` with the request's query and ``overrides`` (``None`` removes)."""
    params = dict(request.query_params.items())
    for key, value in overrides.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params, quote_via=quote)
    return {"href": f"{_base_url(request)}{path}" + (f"?{query}" if query else "")}


def _with_self_link(request: Request, path: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"_links": {"self": {"href": f"{_base_url(request)}{path}"}}, **resource}


def _offset_page(
    request: Request, path: str, items: Sequence[Any], page: int, limit: int, count: int | None
) -> dict[str, Any]:
    """Wrap items as Akeneo's ``OffsetHalPaginator`` does.

    ``next`` is there whenever the page is full, so a catalog whose size is a multiple of ``limit`` ends with
    an empty page without ``next``; ``previous`` is there from page 2.
    """
    links = {
        "self": _href(request, path, page=page, limit=limit),
        "first": _href(request, path, page=1, limit=limit),
    }
    if page > 1:
        links["previous"] = _href(request, path, page=page - 1, limit=limit)
    if len(items) == limit:
        links["next"] = _href(request, path, page=page + 1, limit=limit)
    body: dict[str, Any] = {"_links": links, "current_page": page}
    if count is not None:
        body["items_count"] = count
    body["_embedded"] = {"items": items}
    return body


# -- structure resources -------------------------------------------------------------------------------


def _in_filter(key: str) -> Callable[[dict[str, Any], Any], bool]:
    def matches(resource: dict[str, Any], value: Any) -> bool:
        return resource[key] in _string_list(key, value)

    return matches


def _bool_filter(key: str) -> Callable[[dict[str, Any], Any], bool]:
    def matches(resource: dict[str, Any], value: Any) -> bool:
        if not isinstance(value, bool):
            raise AkeneoError(422, f'Property "{key}" expects a boolean as data, "{_php_type(value)}" given.')
        return resource[key] is value

    return matches


StructureFilters = dict[str, dict[str, Callable[[dict[str, Any], Any], bool]]]


@dataclass(frozen=True, slots=True)
class _StructureResource:
    """A structure resource served as ``GET /{kind}`` (offset pages in code order) and ``GET /{kind}/{code}``.

    :ivar kind: the path segment, also the :class:`SandboxCatalog` attribute holding the resources.
    :ivar label: the resource's name in the 404 message (``Family "x" does not exist.``).
    :ivar filters: the ``search`` filters the list takes: property -> operator -> test; none: ``search`` is
        ignored, as Akeneo ignores it on channels.
    """

    kind: str
    label: str
    filters: StructureFilters


#: The structure resources, in the order their routes are declared.
_STRUCTURE_RESOURCES = (
    _StructureResource(
        "attributes", "Attribute", {"code": {"IN": _in_filter("code")}, "type": {"IN": _in_filter("type")}}
    ),
    _StructureResource("families", "Family", {"code": {"IN": _in_filter("code")}}),
    _StructureResource("channels", "Channel", {}),
    _StructureResource("locales", "Locale", {"enabled": {"=": _bool_filter("enabled")}}),
)


def _add_structure_routes(router: APIRouter, catalog: SandboxCatalog) -> None:
    """Declare the list and get routes of every structure resource, one pair per row of the table."""
    for resource in _STRUCTURE_RESOURCES:
        resources: Mapping[str, dict[str, Any]] = getattr(catalog, resource.kind)
        router.add_api_route(f"/{resource.kind}", _structure_list(resource, resources), methods=["GET"])
        router.add_api_route(
            f"/{resource.kind}/{{code}}", _structure_get(resource, resources), methods=["GET"]
        )


def _structure_list(
    resource: _StructureResource, resources: Mapping[str, dict[str, Any]]
) -> Callable[[Request], Any]:
    async def list_resources(request: Request) -> Response:
        def chosen() -> list[dict[str, Any]]:
            search = _search(request) if resource.filters else {}
            return [item for item in resources.values() if _structure_matches(resource.filters, item, search)]

        return _offset_list(request, f"{_API}/{resource.kind}", chosen)

    return list_resources


def _structure_get(
    resource: _StructureResource, resources: Mapping[str, dict[str, Any]]
) -> Callable[[str], Any]:
    async def get_resource(code: str) -> Response:
        found = resources.get(code)
        if found is None:
            raise AkeneoError(404, f'{resource.label} "{code}" does not exist.')
        return _json(found)

    return get_resource


def _structure_matches(
    filters: StructureFilters, resource: dict[str, Any], search: dict[str, list[dict[str, Any]]]
) -> bool:
    for prop, items in search.items():
        for item in items:
            check = filters.get(prop, {}).get(item["operator"])
            if check is None:
                raise _unsupported(prop, item["operator"])
            if not check(resource, item.get("value")):
                return False
    return True


def _offset_list(request: Request, path: str, chosen: Callable[[], Sequence[dict[str, Any]]]) -> Response:
    """List resources that have no cursor pagination (structure, family variants).

    Checks ``pagination_type``, ``limit``, ``page`` and ``with_count`` (in Akeneo's order), then serves one
    offset page of ``chosen()`` (called after those checks, as Akeneo parses ``search`` after them), each
    item with its ``self`` link.
    """
    _pagination_type(request, search_after=False)
    limit, page, with_count = _limit(request), _page(request), _with_count(request)
    resources = chosen()
    offset = (page - 1) * limit
    items = [_with_self_link(request, f"{path}/{r['code']}", r) for r in resources[offset : offset + limit]]
    return _json(_offset_page(request, path, items, page, limit, len(resources) if with_count else None))


def _check_offset_window(page: int, limit: int) -> None:
    """Refuse an offset page beyond Elasticsearch's result window (pagination.md, "Limitation")."""
    if page * limit > _MAX_OFFSET_WINDOW:
        raise AkeneoError(
            422,
            'You have reached the maximum number of pages you can retrieve with the "page" pagination type. '
            "Please use the search after pagination type instead",
            documentation=_DOC_SEARCH_AFTER,
        )


def _channel_tree_predicate(catalog: SandboxCatalog, scope: str) -> Callable[[Any], bool]:
    """With a scope, only products (and product models) classified in the channel's category tree come back
    (filter.md)."""
    tree = catalog.channels[scope]["category_tree"]
    in_tree = {
        code for code, category in catalog.categories.items() if code == tree or category["parent"] == tree
    }
    return lambda header: bool(in_tree.intersection(header.categories))


def _cursor_links(
    request: Request, path: str, limit: int, cursor: str | None, next_cursor: str | None
) -> dict[str, dict[str, str]]:
    """Links of a ``search_after`` page of products or product models: ``next`` (``next_cursor``) only on a
    full page."""
    links = {
        "self": _href(request, path, limit=limit, search_after=cursor),
        "first": _href(request, path, limit=limit, search_after=None),
    }
    if next_cursor is not None:
        links["next"] = _href(request, path, limit=limit, search_after=next_cursor)
    return links


def _or_404(lookup: Callable[[], T], message: str) -> T:
    """Return ``lookup()``, answering Akeneo's 404 with ``message`` when the catalog has no such resource
    (``KeyError``)."""
    try:
        return lookup()
    except KeyError:
        raise AkeneoError(404, message) from None


# -- products ------------------------------------------------------------------------------------------


def _matching(headers: Iterator[ProductHeader], predicates: list[Predicate]) -> Iterator[ProductHeader]:
    return (header for header in headers if all(predicate(header) for predicate in predicates))


def _product_item(
    request: Request, catalog: SandboxCatalog, index: int, values: _ValueFilter, path: str
) -> bytes:
    """Product ``index`` as an item of the list ``path`` shows it, encoded (cached: :class:`_ItemCache`)."""

    def build() -> dict[str, Any]:
        product = _versioned_product(catalog, catalog.product(index, _base_url(request)), path)
        product["values"] = _versioned_values(catalog, values.apply(product["values"]))
        key = product["uuid"] if path.endswith("-uuid") else quote(product["identifier"])
        return _with_self_link(request, f"{path}/{key}", product)

    return _item_cache(catalog).get(("product", path, index, values, _base_url(request)), build)


def _versioned_product(catalog: SandboxCatalog, product: dict[str, Any], path: str) -> dict[str, Any]:
    """A product as the endpoint ``path`` of this version shows it: ``/products`` items lead with the
    ``identifier`` (the ``sku`` value), and have no ``uuid`` before 7.0 (catalog.versions)."""
    if path.endswith("-uuid"):
        return product
    identifier = product["values"]["sku"][0]["data"]
    uuid = product.pop("uuid")
    head = {"identifier": identifier, **({"uuid": uuid} if catalog.profile.product_uuids else {})}
    return {**head, **product}


def _versioned_values(catalog: SandboxCatalog, values: dict[str, Any]) -> Any:
    """``values`` as this version encodes them: PHP's empty array is ``[]`` before 4.0."""
    return [] if not values and catalog.profile.empty_values_as_list else values


def _list_products(request: Request, catalog: SandboxCatalog, path: str) -> Response:
    """``GET /products-uuid`` and ``GET /products``: filters, value filters and both pagination types
    (pagination.md, filter.md); ``path`` is the endpoint's."""
    pagination_type = _pagination_type(request, search_after=True)
    limit = _limit(request)
    predicates = _product_predicates(_search(request), catalog.profile)
    values = _value_filter(request, catalog)
    if values.scope is not None:
        predicates.append(_channel_tree_predicate(catalog, values.scope))
    if pagination_type == "search_after":
        return _page_json(_search_after_page(request, catalog, predicates, values, limit, path))
    page, with_count = _page(request), _with_count(request)
    _check_offset_window(page, limit)
    offset = (page - 1) * limit
    if predicates:
        headers = islice(_matching(catalog.iter_headers(), predicates), offset, offset + limit)
    else:
        headers = islice(catalog.iter_headers(offset), limit)
    items = [_product_item(request, catalog, header.index, values, path) for header in headers]
    count = None
    if with_count:
        count = (
            sum(1 for _ in _matching(catalog.iter_headers(), predicates))
            if predicates
            else catalog.products_count
        )
    return _page_json(_offset_page(request, path, items, page, limit, count))


def _search_after_page(
    request: Request,
    catalog: SandboxCatalog,
    predicates: list[Predicate],
    values: _ValueFilter,
    limit: int,
    path: str,
) -> dict[str, Any]:
    """Build a page as Akeneo's ``SearchAfterHalPaginator``: no ``current_page``, ``next`` on full pages."""
    cursor = request.query_params.get("search_after")
    start = catalog.first_index_after_uuid(_decode_cursor(cursor)) if cursor else 0
    headers = list(islice(_matching(catalog.iter_headers(start), predicates), limit))
    items = [_product_item(request, catalog, header.index, values, path) for header in headers]
    next_cursor = _encode_cursor(headers[-1].uuid) if len(headers) == limit else None
    return {"_links": _cursor_links(request, path, limit, cursor, next_cursor), "_embedded": {"items": items}}


# -- product models and family variants (products.md, catalog-structure.md) ----------------------------


def _family_or_404(catalog: SandboxCatalog, family: str) -> tuple[dict[str, Any], ...]:
    if family not in catalog.families:
        raise AkeneoError(404, f'Family "{family}" does not exist.')
    return catalog.family_variants[family]


def _list_family_variants(request: Request, catalog: SandboxCatalog, family: str) -> Response:
    """``GET /families/{family}/variants``: offset pagination in code order (the Swagger file lists no
    ``search`` nor ``search_after`` for it)."""
    variants = _family_or_404(catalog, family)
    return _offset_list(request, f"{_API}/families/{family}/variants", lambda: variants)


def _get_family_variant(catalog: SandboxCatalog, family: str, code: str) -> Response:
    for variant in _family_or_404(catalog, family):
        if variant["code"] == code:
            return _json(variant)
    raise AkeneoError(
        404, f'Family variant "{code}" does not exist or is not a variant of the family "{family}".'
    )


ModelPredicate = Callable[["ModelHeader"], bool]


def _model_predicate(prop: str, item: dict[str, Any]) -> ModelPredicate:
    """Filter product models (filter.md, "Filter on product model properties")."""
    operator, value = item["operator"], item.get("value")
    if prop in ("updated", "created"):
        return _date_predicate(prop, operator, value)  # type: ignore[return-value]
    if prop in ("identifier", "family", "categories") and operator in ("IN", "NOT IN"):
        codes = set(_string_list(prop, value))
        inside = operator == "IN"
        if prop == "categories":
            return lambda header: bool(codes.intersection(header.categories)) is inside
        key = "code" if prop == "identifier" else "family"
        return lambda header: (getattr(header, key) in codes) is inside
    if prop == "parent" and operator == "IN":
        parents = set(_string_list(prop, value))
        return lambda header: header.parent in parents
    if prop == "parent" and operator in ("EMPTY", "NOT EMPTY"):
        return lambda header: (header.parent is None) is (operator == "EMPTY")
    raise _unsupported(prop, operator)


def _model_item(request: Request, catalog: SandboxCatalog, code: str, values: _ValueFilter) -> bytes:
    """Product model ``code`` as a list item, encoded (cached: :class:`_ItemCache`)."""

    def build() -> dict[str, Any]:
        model = _versioned_model(catalog, catalog.product_model(code, _base_url(request)))
        model["values"] = _versioned_values(catalog, values.apply(model["values"]))
        return _with_self_link(request, f"{_API}/product-models/{quote(code)}", model)

    return _item_cache(catalog).get(("model", code, values, _base_url(request)), build)


def _versioned_model(catalog: SandboxCatalog, model: dict[str, Any]) -> dict[str, Any]:
    """A product model as this version shows it: no ``family`` before 3.2 (catalog.versions)."""
    if not catalog.profile.model_family:
        model.pop("family", None)
    return model


def _list_product_models(request: Request, catalog: SandboxCatalog) -> Response:
    """``GET /product-models``: filters, value filters, ``page`` and ``search_after`` pages in code order."""
    pagination_type = _pagination_type(request, search_after=True)
    limit = _limit(request)
    predicates = [_model_predicate(prop, item) for prop, items in _search(request).items() for item in items]
    values = _value_filter(request, catalog)
    if values.scope is not None:
        predicates.append(_channel_tree_predicate(catalog, values.scope))
    path = f"{_API}/product-models"

    def matching(after: str | None = None) -> Iterator[ModelHeader]:
        headers = catalog.iter_model_headers(after=after)
        return (header for header in headers if all(predicate(header) for predicate in predicates))

    if pagination_type == "search_after":
        cursor = request.query_params.get("search_after")
        headers = list(islice(matching(_decode_code_cursor(cursor) if cursor else None), limit))
        next_cursor = _encode_cursor(headers[-1].code) if len(headers) == limit else None
        links = _cursor_links(request, path, limit, cursor, next_cursor)
        items = [_model_item(request, catalog, header.code, values) for header in headers]
        return _page_json({"_links": links, "_embedded": {"items": items}})
    page, with_count = _page(request), _with_count(request)
    _check_offset_window(page, limit)
    offset = (page - 1) * limit
    items = [
        _model_item(request, catalog, header.code, values)
        for header in islice(matching(), offset, offset + limit)
    ]
    count = sum(1 for _ in matching()) if with_count else None
    return _page_json(_offset_page(request, path, items, page, limit, count))


def _decode_code_cursor(cursor: str) -> str:
    """Return the product model code inside a ``search_after`` cursor (opaque to clients, pagination.md)."""
    try:
        code = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        code = ""
    if not code:
        raise AkeneoError(
            422, f'"{cursor}" is not a valid search_after cursor. Use the links of the previous page.'
        )
    return code


def _add_model_routes(router: APIRouter, catalog: SandboxCatalog) -> None:
    """Serve product models and family variants (empty lists when the catalog has no models)."""

    @router.get("/families/{family_code}/variants")
    async def list_family_variants(request: Request, family_code: str) -> Response:
        return _list_family_variants(request, catalog, family_code)

    @router.get("/families/{family_code}/variants/{code}")
    async def get_family_variant(family_code: str, code: str) -> Response:
        return _get_family_variant(catalog, family_code, code)

    @router.get("/product-models")
    async def list_product_models(request: Request) -> Response:
        return _list_product_models(request, catalog)

    @router.get("/product-models/{code}")
    async def get_product_model(request: Request, code: str) -> Response:
        model = _or_404(
            lambda: catalog.product_model(code, _base_url(request)),
            f'Product model "{code}" does not exist or you do not have permission to access it.',
        )
        model = _versioned_model(catalog, model)
        model["values"] = _versioned_values(catalog, model["values"])
        return _json(model)


# -- assets: Asset Manager (asset-manager.md) ------------------------------------------------------------

# The Asset Manager lists take no "limit": pages hold 100 items (the API client sends none either).
_ASSET_PAGE_SIZE = 100
# filter.md, "Filter assets", "By update date": ISO 8601, "2021-05-17T15:19:32Z" or "...+00:00".
_ISO_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")

AssetPredicate = Callable[["AssetHeader"], bool]


def _parse_iso_datetime(prop: str, value: Any) -> datetime:
    if isinstance(value, str) and _ISO_DATETIME_RE.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    shown = value if isinstance(value, str) else _php_type(value)
    raise AkeneoError(
        422, f'Property "{prop}" expects a string with the ISO 8601 format as data, "{shown}" given.'
    )


def _asset_predicate(prop: str, item: dict[str, Any], profile: AkeneoProfile) -> AssetPredicate:
    """Filter assets on ``updated`` or ``code`` (filter.md, "Filter assets"; the SaaS-only attribute value
    filters are not served), as far as this version takes them (``code`` from 7.0, ``updated`` other than
    ``>`` from 6.0)."""
    operator, value = item["operator"], item.get("value")
    if (prop == "code" and not profile.since("7.0")) or (
        prop == "updated" and operator != ">" and not profile.since("6.0")
    ):
        raise _unsupported(prop, operator)
    if prop == "code" and operator == "IN":
        codes = set(_string_list(prop, value))
        return lambda header: header.code in codes
    if prop != "updated":
        raise _unsupported(prop, operator)
    if operator in (">", "<"):
        bound = _parse_iso_datetime(prop, value)
        if operator == ">":
            return lambda header: header.updated > bound
        return lambda header: header.updated < bound
    if operator in ("BETWEEN", "NOT BETWEEN"):
        if not isinstance(value, list) or len(value) != 2:
            raise AkeneoError(
                422,
                f'Property "{prop}" expects an array with valid data, should contain 2 strings with the '
                "ISO 8601 format.",
            )
        low, high = (_parse_iso_datetime(prop, part) for part in value)
        inside = operator == "BETWEEN"
        return lambda header: (low <= header.updated <= high) is inside
    if operator == "SINCE LAST N DAYS":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise AkeneoError(
                422, f'Property "{prop}" expects a numeric as data, "{_php_type(value)}" given.'
            )
        since = datetime.now(UTC) - timedelta(days=value)
        return lambda header: header.updated >= since
    raise _unsupported(prop, operator)


@dataclass(frozen=True, slots=True)
class _AssetValueFilter:
    """The ``channel`` and ``locales`` query parameters of the asset list (filter.md, "Asset values by locale"
    and "Asset values by channel"): values of other channels or locales go, values that are not scopable or
    not localizable stay. Unlike products, a channel does not narrow the locales."""

    channel: str | None = None
    locales: frozenset[str] | None = None

    def apply(self, asset: dict[str, Any]) -> dict[str, Any]:
        kept: dict[str, list[dict[str, Any]]] = {}
        for code, items in asset["values"].items():
            chosen = [
                item
                for item in items
                if (self.locales is None or item["locale"] is None or item["locale"] in self.locales)
                and (self.channel is None or item["channel"] is None or item["channel"] == self.channel)
            ]
            if chosen:
                kept[code] = chosen
        return {**asset, "values": kept}


def _enabled_locales(request: Request, catalog: SandboxCatalog) -> list[str] | None:
    """The ``locales`` query parameter, each an enabled locale (Akeneo's ``ValidateLocales``);
    ``None`` when it is not given."""
    if "locales" not in request.query_params:
        return None
    locales = _split(request.query_params["locales"])
    unknown = [code for code in locales if not catalog.locales.get(code, {}).get("enabled")]
    _raise_unknown(
        unknown,
        'Locale "{}" does not exist or is not activated.',
        'Locales "{}" do not exist or are not activated.',
    )
    return locales


def _asset_value_filter(request: Request, catalog: SandboxCatalog) -> _AssetValueFilter:
    params = request.query_params
    channel = params.get("channel")
    if channel is not None and channel not in catalog.channels:
        raise AkeneoError(422, f'Channel "{channel}" does not exist.')
    locales = _enabled_locales(request, catalog)
    return _AssetValueFilter(channel, frozenset(locales) if locales is not None else None)


def _search_after_links(
    request: Request, path: str, count: int, last: str | None, size: int
) -> dict[str, dict[str, str]]:
    """Links of a ``search_after`` page whose cursor is the last code served (as the Akeneo API client's own
    tests show: ``?search_after=golden_table``); ``next`` only on a full page."""
    links = {"self": _href(request, path), "first": _href(request, path, search_after=None)}
    if count == size and last is not None:
        links["next"] = _href(request, path, search_after=last)
    return links


def _list_asset_families(request: Request, catalog: SandboxCatalog) -> Response:
    """``GET /asset-families``: ``search_after`` pages of 100, in code order."""
    cursor = request.query_params.get("search_after")
    codes = [code for code in catalog.asset_families if cursor is None or code > cursor][:_ASSET_PAGE_SIZE]
    path = f"{_API}/asset-families"
    items = [_with_self_link(request, f"{path}/{code}", catalog.asset_families[code]) for code in codes]
    links = _search_after_links(request, path, len(codes), codes[-1] if codes else None, _ASSET_PAGE_SIZE)
    return _json({"_links": links, "_embedded": {"items": items}})


def _asset_family_or_404(catalog: SandboxCatalog, family: str) -> dict[str, Any]:
    resource = catalog.asset_families.get(family)
    if resource is None:
        raise AkeneoError(404, f'Asset family "{family}" does not exist.')
    return resource


def _list_manager_assets(request: Request, catalog: SandboxCatalog, family: str) -> Response:
    """``GET /asset-families/{f}/assets``: ``search`` on ``updated``/``code``, ``channel``/``locales`` value
    filters, ``search_after`` pages of 100 in code order (pagination.md, filter.md)."""
    _asset_family_or_404(catalog, family)
    search = _search(request)
    profile = catalog.profile
    predicates = [_asset_predicate(prop, item, profile) for prop, items in search.items() for item in items]
    values = _asset_value_filter(request, catalog)
    cursor = request.query_params.get("search_after")
    matching = (
        header
        for header in catalog.iter_asset_headers(family, after=cursor)
        if all(predicate(header) for predicate in predicates)
    )
    headers = list(islice(matching, _ASSET_PAGE_SIZE))
    path = f"{_API}/asset-families/{family}/assets"
    base = _base_url(request)
    cache = _item_cache(catalog)

    def item(code: str) -> bytes:
        def build() -> dict[str, Any]:
            return _with_self_link(request, f"{path}/{code}", values.apply(catalog.asset(family, code, base)))

        return cache.get(("asset", family, code, values, base), build)

    items = [item(header.code) for header in headers]
    last = headers[-1].code if headers else None
    return _page_json(
        {
            "_links": _search_after_links(request, path, len(headers), last, _ASSET_PAGE_SIZE),
            "_embedded": {"items": items},
        }
    )


def _add_asset_manager_routes(router: APIRouter, catalog: SandboxCatalog) -> None:
    """Serve the Asset Manager (PIM >= 4.0); the PAM routes are then unknown, as on a real 4.0+ PIM."""

    @router.get("/asset-families")
    async def list_asset_families(request: Request) -> Response:
        return _list_asset_families(request, catalog)

    @router.get("/asset-families/{code}")
    async def get_asset_family(code: str) -> Response:
        return _json(_asset_family_or_404(catalog, code))

    @router.get("/asset-families/{family}/attributes")
    async def list_asset_attributes(family: str) -> Response:
        _asset_family_or_404(catalog, family)
        return _json(catalog.asset_attributes(family))  # not paginated (asset-manager.md, "Asset attribute")

    @router.get("/asset-families/{family}/attributes/{code}")
    async def get_asset_attribute(family: str, code: str) -> Response:
        _asset_family_or_404(catalog, family)
        for attribute in catalog.asset_attributes(family):
            if attribute["code"] == code:
                return _json(attribute)
        raise AkeneoError(404, f'Attribute "{code}" does not exist for the asset family "{family}".')

    @router.get("/asset-families/{family}/assets")
    async def list_assets(request: Request, family: str) -> Response:
        return _list_manager_assets(request, catalog, family)

    @router.get("/asset-families/{family}/assets/{code}")
    async def get_asset(request: Request, family: str, code: str) -> Response:
        _asset_family_or_404(catalog, family)
        asset = _or_404(
            lambda: catalog.asset(family, code, _base_url(request)), f'Asset "{code}" does not exist.'
        )
        return _json(asset)

    @router.get("/asset-media-files/{code:path}")
    async def download_asset_media(code: str) -> Response:
        return _download(
            _or_404(lambda: catalog.asset_media(code), f'Asset media file "{code}" does not exist.')
        )


# -- assets: PAM (pam.md) --------------------------------------------------------------------------------


def _list_pam_assets(request: Request, catalog: SandboxCatalog) -> Response:
    """``GET /assets`` as PIM 3.x: page pagination (default) or ``search_after``, in code order."""
    pagination_type = _pagination_type(request, search_after=True)
    limit = _limit(request)
    path = f"{_API}/assets"
    base = _base_url(request)

    cache = _item_cache(catalog)

    def item(header: AssetHeader) -> bytes:
        code = header.code
        return cache.get(
            ("pam", code, base),
            lambda: _with_self_link(request, f"{path}/{code}", catalog.asset(None, code, base)),
        )

    if pagination_type == "search_after":
        cursor = request.query_params.get("search_after")
        headers = list(islice(catalog.iter_asset_headers(after=cursor), limit))
        last = headers[-1].code if headers else None
        links = _search_after_links(request, path, len(headers), last, limit)
        return _page_json({"_links": links, "_embedded": {"items": [item(header) for header in headers]}})
    page, with_count = _page(request), _with_count(request)
    offset = (page - 1) * limit
    items = [item(header) for header in islice(catalog.iter_asset_headers_from(offset), limit)]
    count = sum(1 for _ in catalog.iter_asset_headers()) if with_count else None
    return _page_json(_offset_page(request, path, items, page, limit, count))


def _pam_asset_or_404(request: Request, catalog: SandboxCatalog, code: str) -> dict[str, Any]:
    return _or_404(lambda: catalog.asset(None, code, _base_url(request)), f'Asset "{code}" does not exist.')


def _pam_locale(catalog: SandboxCatalog, asset: dict[str, Any], locale_code: str) -> str | None:
    """Check a PAM route's locale: ``no_locale`` for a non-localizable asset, an active locale otherwise.

    :return: the locale as the files list it (``None`` for ``no_locale``).
    """
    code = asset["code"]
    if asset["localizable"]:
        if locale_code == PAM_NO_LOCALE:
            raise AkeneoError(
                422,
                f'The asset "{code}" is localizable, you must provide an existing locale code. '
                f'"{PAM_NO_LOCALE}" is only allowed when the asset is not localizable.',
            )
        if not catalog.locales.get(locale_code, {}).get("enabled"):
            raise AkeneoError(404, f'Locale "{locale_code}" does not exist or is not activated.')
        return locale_code
    if locale_code != PAM_NO_LOCALE:
        raise AkeneoError(
            422,
            f'The asset "{code}" is not localizable, you must provide the string "{PAM_NO_LOCALE}" '
            "as a locale.",
        )
    return None


def _pam_reference(request: Request, catalog: SandboxCatalog, code: str, locale_code: str) -> dict[str, Any]:
    asset = _pam_asset_or_404(request, catalog, code)
    locale = _pam_locale(catalog, asset, locale_code)
    for entry in asset["reference_files"]:
        if entry["locale"] == locale:
            return entry
    raise AkeneoError(
        404, f'Reference file for the asset "{code}" and the locale "{locale_code}" does not exist.'
    )


def _pam_variation(
    request: Request, catalog: SandboxCatalog, code: str, channel: str, locale_code: str
) -> dict[str, Any]:
    asset = _pam_asset_or_404(request, catalog, code)
    if channel not in catalog.channels:
        raise AkeneoError(404, f'Channel "{channel}" does not exist.')
    locale = _pam_locale(catalog, asset, locale_code)
    for entry in asset["variation_files"]:
        if entry["scope"] == channel and entry["locale"] == locale:
            return entry
    raise AkeneoError(
        404,
        f'Variation file for the asset "{code}", the channel "{channel}" and the locale "{locale_code}" '
        "does not exist.",
    )


def _add_pam_routes(router: APIRouter, catalog: SandboxCatalog) -> None:
    """Serve the PAM (PIM <= 3.2); the Asset Manager routes are then unknown, as on a real 3.x PIM."""

    @router.get("/assets")
    async def list_assets(request: Request) -> Response:
        return _list_pam_assets(request, catalog)

    @router.get("/assets/{code}")
    async def get_asset(request: Request, code: str) -> Response:
        return _json(_pam_asset_or_404(request, catalog, code))

    @router.get("/assets/{code}/reference-files/{locale_code}")
    async def get_reference_file(request: Request, code: str, locale_code: str) -> Response:
        entry = _pam_reference(request, catalog, code, locale_code)
        # The file resource shows only its download link (the Swagger file's DeprecatedAssetReferenceFile).
        return _json(
            {
                "code": entry["code"],
                "locale": entry["locale"],
                "_link": {"download": entry["_link"]["download"]},
            }
        )

    @router.get("/assets/{code}/reference-files/{locale_code}/download")
    async def download_reference_file(request: Request, code: str, locale_code: str) -> Response:
        entry = _pam_reference(request, catalog, code, locale_code)
        return _download(catalog.pam_file(code, "reference", None, entry["locale"]))

    @router.get("/assets/{code}/variation-files/{channel}/{locale_code}")
    async def get_variation_file(request: Request, code: str, channel: str, locale_code: str) -> Response:
        entry = _pam_variation(request, catalog, code, channel, locale_code)
        download = entry["_link"]["download"]
        return _json(
            {
                "code": entry["code"],
                "locale": entry["locale"],
                "scope": channel,
                "_link": {"download": download},
            }
        )

    @router.get("/assets/{code}/variation-files/{channel}/{locale_code}/download")
    async def download_variation_file(
        request: Request, code: str, channel: str, locale_code: str
    ) -> Response:
        entry = _pam_variation(request, catalog, code, channel, locale_code)
        return _download(catalog.pam_file(code, "variation", channel, entry["locale"]))


# -- token endpoint ------------------------------------------------------------------------------------

_INVALID_REQUEST = 'Parameter "grant_type", "username" or "password" is missing, empty or invalid'
_INVALID_REFRESH_REQUEST = 'Parameter "grant_type" or "refresh_token" is missing or empty'
_INVALID_CLIENT = 'Parameter "client_id" is missing or does not match any client, or secret is invalid'
_UNAUTHORIZED_GRANT = "This grant type is not authorized for this client"
_INVALID_USER = "No user found for the given username and password"
_INVALID_REFRESH = "Refresh token is invalid or has expired"


async def _token_body(request: Request) -> dict[str, str]:
    """Read the token request body; JSON and form bodies are both accepted (authentication.md)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type == "application/json":
        try:
            data = json.loads(raw or b"{}")
        except ValueError as error:
            raise AkeneoError(400, "Invalid json message received") from error
        if not isinstance(data, dict):
            raise AkeneoError(400, "Invalid json message received")
        return {str(key): str(value) for key, value in data.items() if value is not None}
    if content_type in ("application/x-www-form-urlencoded", ""):
        return dict(parse_qsl(raw.decode("utf-8", "replace")))
    raise AkeneoError(
        415,
        f'"{content_type}" in "Content-Type" header is not valid. Only "application/json" or '
        f'"application/x-www-form-urlencoded" are allowed.',
    )


def _client_credentials(request: Request, body: dict[str, str]) -> tuple[str, str]:
    """Return the client id and secret from HTTP Basic auth, or from the body as FOSOAuthServer allows."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return body.get("client_id", ""), body.get("client_secret", "")


# -- application ---------------------------------------------------------------------------------------


def create_app(
    catalog: SandboxCatalog,
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",
    username: str = "admin",
    password: str = "admin",
    token_ttl: int = 3600,
    latency: float = 0.0,
    concurrency_limit: int = 0,
    rate_limit: int = 0,
) -> FastAPI:
    """Build the sandbox Akeneo server for ``catalog``.

    :param catalog: the catalog to serve.
    :param client_id: OAuth client id expected in the token request's Basic auth.
    :param client_secret: its secret.
    :param username: API user for the password grant.
    :param password: its password.
    :param token_ttl: access token lifetime in seconds (Akeneo's default is 3600).
    :param latency: seconds every response waits (a PIM's own time plus the network's); 0: none.
    :param concurrency_limit: calls in flight per connection beyond which a call gets a 429
        (:class:`Limits`; Akeneo: 4); 0: no limit.
    :param rate_limit: requests per second for the PIM beyond which a call gets a 429
        (:class:`Limits`; Akeneo: 100); 0: no limit.
    :return: the FastAPI app; ``app.state`` holds ``catalog``, ``tokens``, ``faults``, ``limits``
        and ``requests``.
    """
    app = _SandboxApp(title="Akeneo sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    tokens = TokenStore(token_ttl)
    app.state.catalog = catalog
    app.state.tokens = tokens
    app.state.faults = Faults(tokens)
    app.state.requests = RequestLog()
    app.state.limits = Limits(concurrency_limit, rate_limit)
    if latency:
        app.state.faults.latency(latency)
    app.add_middleware(
        _SandboxMiddleware, faults=app.state.faults, log=app.state.requests, limits=app.state.limits
    )
    _add_error_handlers(app)
    token = _token_endpoint(tokens, client_id, client_secret, username, password)
    app.add_api_route("/api/oauth/v1/token", token, methods=["POST"])
    information = catalog.profile.system_information
    if information is not None:  # 6.0+ and SaaS; no token needed (the Swagger file's x-no-token)
        app.add_api_route(f"{_API}/system-information", lambda: _json(dict(information)), methods=["GET"])
    app.include_router(_api_router(catalog, tokens))
    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def akeneo_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, AkeneoError)
        return _json(error.body(), error.status, error.headers)

    async def http_error(request: Request, error: Exception) -> Response:
        # Symfony's router wording for unknown routes and methods (responses.md, 404 and 405).
        assert isinstance(error, StarletteHTTPException)
        route = f"{request.method} {request.url.path}"
        if error.status_code == 405:
            allowed = (error.headers or {}).get("Allow", "")
            message = f'No route found for "{route}": Method Not Allowed (Allow: {allowed})'
        elif error.status_code == 404:
            message = f'No route found for "{route}"'
        else:
            message = str(error.detail)
        return _json({"code": error.status_code, "message": message}, error.status_code, error.headers)

    app.add_exception_handler(AkeneoError, akeneo_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _token_endpoint(
    tokens: TokenStore, client_id: str, client_secret: str, username: str, password: str
) -> Callable[[Request], Any]:
    """Return ``POST /api/oauth/v1/token``, checking in FOSOAuthServer's order with Akeneo's messages.

    Failures are 422 (Akeneo's ``TokenController`` turns every OAuth error into one): grant type, then client,
    then the grant's own parameters.
    """

    async def token(request: Request) -> Response:
        body = await _token_body(request)
        grant_type = body.get("grant_type", "")
        invalid_request = _INVALID_REFRESH_REQUEST if grant_type == "refresh_token" else _INVALID_REQUEST
        if not _GRANT_TYPE_RE.match(grant_type):
            raise AkeneoError(422, invalid_request)
        if _client_credentials(request, body) != (client_id, client_secret):
            raise AkeneoError(422, _INVALID_CLIENT)
        if grant_type == "password":
            if not body.get("username") or not body.get("password"):
                raise AkeneoError(422, invalid_request)
            if (body["username"], body["password"]) != (username, password):
                raise AkeneoError(422, _INVALID_USER)
        elif grant_type == "refresh_token":
            if not body.get("refresh_token"):
                raise AkeneoError(422, invalid_request)
            if not tokens.use_refresh(body["refresh_token"]):
                raise AkeneoError(422, _INVALID_REFRESH)
        else:
            raise AkeneoError(422, _UNAUTHORIZED_GRANT)
        return _json(tokens.issue(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return token


def _authenticator(tokens: TokenStore) -> Callable[[Request], Awaitable[None]]:
    """Return the dependency that guards every REST route with the Bearer token (authentication.md)."""

    async def authenticate(request: Request) -> None:  # async: a sync one would run in a thread
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AkeneoError(401, "Authentication is required")
        status = tokens.status(token.strip())
        if status == "valid":
            return
        message = {
            "expired": "The access token provided has expired.",
            "invalid": "The access token provided is invalid.",
        }[status]
        challenge = f'Bearer realm="Service", error="invalid_grant", error_description="{message}"'
        raise AkeneoError(401, message, headers={"WWW-Authenticate": challenge})

    return authenticate


def _api_router(catalog: SandboxCatalog, tokens: TokenStore) -> APIRouter:
    router = APIRouter(prefix=_API, dependencies=[Depends(_authenticator(tokens))])
    _add_structure_routes(router, catalog)

    # Each version serves its products endpoints only (catalog.versions): the others answer
    # "No route found", as on a real PIM.
    if catalog.profile.products_uuid:
        _add_products_uuid_routes(router, catalog)
    if catalog.profile.products_by_identifier:
        _add_products_routes(router, catalog)

    _add_model_routes(router, catalog)

    # The download route goes first: "{code:path}" would also match ".../download".
    @router.get("/media-files/{code:path}/download")
    async def download_media(code: str) -> Response:
        return _download(_media_or_404(catalog, code))

    @router.get("/media-files/{code:path}")
    async def get_media(request: Request, code: str) -> Response:
        media = _media_or_404(catalog, code)
        download = f"{_base_url(request)}{_API}/media-files/{media.code}/download"
        return _json({"_links": {"download": {"href": download}}, **media.to_resource()})

    # A PIM has one asset system: the other one's routes do not exist (pam.md: removed since 4.0).
    if catalog.asset_system == "new":
        _add_asset_manager_routes(router, catalog)
    else:
        _add_pam_routes(router, catalog)
    return router


def _add_products_uuid_routes(router: APIRouter, catalog: SandboxCatalog) -> None:
    """``GET /products-uuid[/{uuid}]`` (7.0 and SaaS)."""
    path = f"{_API}/products-uuid"

    @router.get("/products-uuid")
    async def list_products(request: Request) -> Response:
        return _list_products(request, catalog, path)

    @router.get("/products-uuid/{uuid}")
    async def get_product(request: Request, uuid: str) -> Response:
        index = catalog.index_of_uuid(uuid)
        if index is None:
            raise AkeneoError(
                404, f'Product "{uuid}" does not exist or you do not have permission to access it.'
            )
        product = catalog.product(index, _base_url(request))
        product["values"] = _versioned_values(catalog, product["values"])
        return _json(product)


def _add_products_routes(router: APIRouter, catalog: SandboxCatalog) -> None:
    """``GET /products[/{code}]``, by identifier (1.7 to 7.0)."""
    path = f"{_API}/products"

    @router.get("/products")
    async def list_products(request: Request) -> Response:
        return _list_products(request, catalog, path)

    @router.get("/products/{code}")
    async def get_product(request: Request, code: str) -> Response:
        index = next((h.index for h in catalog.iter_headers() if h.identifier == code), None)
        if index is None:
            raise AkeneoError(
                404, f'Product "{code}" does not exist or you do not have permission to access it.'
            )
        product = _versioned_product(catalog, catalog.product(index, _base_url(request)), path)
        product["values"] = _versioned_values(catalog, product["values"])
        return _json(product)


def _download(media: MediaFile) -> Response:
    """Answer a binary as Akeneo's download routes do: its MIME type, and its original name for a download.

    Akeneo writes the original name raw (UTF-8 bytes) between quotes; Starlette encodes header values as
    latin-1, so it gets the UTF-8 bytes spelled as latin-1 characters.
    """
    disposition = f'attachment; filename="{media.original_filename}"'.encode().decode("latin-1")
    return Response(media.content, media_type=media.mime_type, headers={"Content-Disposition": disposition})


def _media_or_404(catalog: SandboxCatalog, code: str) -> MediaFile:
    return _or_404(lambda: catalog.media(code), f'Media file "{code}" does not exist.')
