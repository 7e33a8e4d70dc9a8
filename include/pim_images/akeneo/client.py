"""HTTP client for the Akeneo REST API: auth, retries, pagination, bounded concurrency.

It knows Akeneo's protocol, not the pipeline's stages. Its verbs: :meth:`AkeneoClient.get_json`,
:meth:`AkeneoClient.iter_pages`, :meth:`AkeneoClient.iter_items` and
:meth:`AkeneoClient.download`. Thread-safe: the media stage calls it from several threads, and
the connection pool's limit keeps the calls in flight within Akeneo's allowance
(good-practices.md: a few concurrent calls per connection), token requests included.
:meth:`AkeneoClient.lister` walks several lists at once, as many as that allowance
(docs/akeneo.md#concurrent-listing).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import heapq
import json
import operator
import os
import pickle
import queue
import struct
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import msgspec

from pim_images.akeneo.auth import TOKEN_PATH, AkeneoAuth, Credentials, TokenManager, _message
from pim_images.akeneo.errors import (
    AkeneoAuthError,
    AkeneoError,
    AkeneoMediaError,
    AkeneoNotFoundError,
    AkeneoOriginError,
)
from pim_images.akeneo.paginate import NextLinkPaginator, Request
from pim_images.akeneo.retry import RetryPolicy

if TYPE_CHECKING:
    from tenacity import RetryCallState

#: Calls in flight at once on one connection (good-practices.md allows up to 4).
MAX_CONCURRENCY = 4
#: Largest page Akeneo serves (pagination.md).
PAGE_LIMIT = 100
#: Content types that are never a media file: an error or login page answered with 200.
NOT_MEDIA_TYPES = ("text/html", "application/json", "application/problem+json", "text/xml")
#: Bytes read from the network at a time while streaming a download to its file.
CHUNK_SIZE = 1 << 16


@dataclass(frozen=True)
class Download:
    """What :meth:`AkeneoClient.download` wrote to its file.

    :param size: bytes written.
    :param sha256: hex SHA-256 of those bytes.
    :param crc32: CRC-32 of those bytes (zlib's: the zip format's, for the site-import archive).
    :param content_type: the response's ``Content-Type``, if any.
    :param framed: the response announced where its body ends (``Content-Length`` or chunked
        encoding), so a body cut short would have failed; ``False`` for a body that ends when
        the connection closes, where a cut is invisible (docs/akeneo.md#verified-downloads).
    """

    size: int
    sha256: str
    content_type: str | None
    framed: bool
    crc32: int | None = None


class AkeneoClient:
    """One Akeneo connection.

    :param base_url: the PIM's root URL, e.g. ``https://pim.example.com``.
    :param credentials: API user and OAuth client.
    :param retry: the retry policy for every call, token calls included.
    :param timeout: seconds for connect/read of one attempt.
    :param concurrency: HTTP exchanges in flight at once, token requests included.
    :param on_token: called with each new access token (to mask it in logs).
    :param sleep: injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        concurrency: int = MAX_CONCURRENCY,
        on_token: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: calls in flight at once: the pool's limit, and the list walks :meth:`lister` runs at once
        self.concurrency = concurrency
        self._origin = _origin(httpx.URL(self.base_url))
        self._api_prefix = httpx.URL(self.base_url).path.rstrip("/") + "/api/"
        self._origin_text = "{}://{}:{}".format(*self._origin)
        self._retrying = (retry or RetryPolicy()).retrying(sleep=sleep)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            # the pool's limit is the bound on calls in flight: a call waits for a free connection,
            # up to the timeout, then fails as a transport error (retried by the policy)
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"Accept": "application/json", "User-Agent": "pim-images-pipeline"},
            # redirects are followed, each hop checked by _check_origin before it is sent
            follow_redirects=True,
            event_hooks={
                "request": [self._check_origin, self._count_attempt],
                "response": [self._count_status],
            },
        )
        self.tokens = TokenManager(credentials, self._post_token, on_token=on_token)
        self._auth = AkeneoAuth(self.tokens)
        #: HTTP requests sent: retries, token requests and re-sends after a 401 included.
        self.attempts = 0
        #: HTTP status -> responses received with it (429s and 5xx say how hard the PIM pushed back)
        self.statuses: collections.Counter[int] = collections.Counter()
        #: API calls (JSON and downloads, each with its retries) under way now, and the most at once
        self.in_flight = 0
        self.peak_in_flight = 0
        #: seconds of those calls, added up: over a stage's wall time, the calls in flight on average
        self.call_seconds = 0.0
        self._count_lock = threading.Lock()
        #: one slot per call in flight: a call waits for one, as long as it takes (never the
        #: pool's timeout), before it is counted or sent
        self._slots = threading.BoundedSemaphore(max(1, concurrency))

    def __enter__(self) -> AkeneoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def lister(self) -> Lister:
        """A :class:`Lister` running :data:`WALKS_PER_CALL` list walks per call in flight at once
        on this client (their calls still at most :attr:`concurrency` at once)."""
        return Lister(self.concurrency * WALKS_PER_CALL)

    # -- verbs ---------------------------------------------------------------------------

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET a JSON object; ``url`` is a path under the base URL or an absolute link."""
        return _json_object(url, self._send("GET", url, params=params))

    def get_list(self, url: str, params: dict[str, Any] | None = None) -> list[Any]:
        """GET a JSON array (the few endpoints that are not paginated, e.g. asset attributes)."""
        data = _parsed(url, self._send("GET", url, params=params))
        if not isinstance(data, list):
            raise AkeneoError(_endpoint("GET", url), "the response is not a JSON array")
        return data

    def iter_pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield each page of a list endpoint, following ``_links.next`` (never gathering them).

        :raises AkeneoError: what reading a page raised, when the caller reaches that page; a
            page that is not a JSON object.
        """
        for url, response, _ in self._responses(path, params):
            yield _json_object(url, response)

    def iter_items(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield each item of a list endpoint, page after page.

        A page's items are decoded one at a time (its ``_embedded.items`` first cut into each
        item's undecoded JSON): decoding a whole page of 100 products at once held the
        interpreter for some 2 ms, while the walks' calls waited to be sent or taken in
        (docs/akeneo.md#concurrent-listing).

        :raises AkeneoError: what reading a page raised, when the caller reaches that page; a
            page that is not a JSON object or has no item list.
        """
        for _, _, members in self._responses(path, params):
            for raw in _raw_items(path, members):
                yield _decode_json(raw)

    def _responses(
        self, path: str, params: dict[str, Any] | None
    ) -> Iterator[tuple[str, httpx.Response, dict[str, msgspec.Raw]]]:
        """``(url, response, its members undecoded)`` of each page of a list endpoint, following
        ``_links.next``.

        One page is read ahead: once page ``n`` is in and handed to the caller, page ``n + 1``
        is asked for at once, by a thread of its own, while the caller works on page ``n``
        (docs/akeneo.md#concurrent-listing). So a list keeps its one call in flight while its
        pages are decoded and stored, and never has two in flight: page ``n + 2`` is asked for
        only once the caller has taken page ``n + 1``. Closing the generator early stops the
        reading (a page already asked for is still answered, then dropped).

        :raises AkeneoError: what reading a page raised, when the caller reaches that page.
        """
        pages: queue.SimpleQueue[tuple[str, httpx.Response, dict[str, msgspec.Raw]] | BaseException | None]
        pages = queue.SimpleQueue()
        taken = threading.Semaphore(0)
        stop = threading.Event()

        def read() -> None:
            paginator = NextLinkPaginator()
            request = paginator.init_request(Request(url=path, params=dict(params or {})))
            try:
                while True:
                    url = request.url
                    response = self._send("GET", url, params=request.params or None)
                    # the next link alone first (the rest of the page is skipped, not built),
                    # so the next page is asked for before this one is decoded
                    members = _members(url, response)
                    paginator.update_state(_links_of(members))
                    pages.put((url, response, members))
                    if not paginator.has_next:
                        break
                    request = paginator.update_request(request)
                    taken.acquire()  # the caller has the page before: ask for the next
                    if stop.is_set():
                        return
                pages.put(None)
            except BaseException as exc:  # handed to the caller, raised where it reads
                pages.put(exc)

        threading.Thread(target=read, name="akeneo-read-ahead", daemon=True).start()
        try:
            while True:
                page = pages.get()
                if page is None:
                    return
                if isinstance(page, BaseException):
                    raise page
                taken.release()
                yield page
        finally:
            stop.set()
            taken.release()

    def download(self, url: str, out: IO[bytes], *, max_bytes: int) -> Download:
        """GET a binary (a media file's download link), streamed into ``out``, never held whole.

        Each attempt starts ``out`` over (it must be seekable). A body cut short (fewer bytes
        than ``Content-Length``, a chunked body without its last chunk) is a transport error,
        retried like one; so is a 200 whose bytes do not match its ``Content-Length``.
        Redirects within the PIM's origin are followed (docs/akeneo.md#verified-downloads).

        :param out: a binary file opened for writing and reading (e.g. a temporary file).
        :param max_bytes: the largest file accepted (``maxMediaBytes``), bytes.
        :return: the size, hash and content type of what was written.
        :raises AkeneoNotFoundError: 404.
        :raises AkeneoMediaError: the answer is not a media file (an HTML or JSON page with
            200) or is larger than ``max_bytes``; a verdict on this answer, not on the file.
        :raises AkeneoError: any other error status, or transport failures left after the
            last attempt.
        """
        written: list[Download] = []

        def attempt() -> httpx.Response:
            written.clear()
            out.seek(0)
            out.truncate()
            headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
            with self._http.stream("GET", url, headers=headers, auth=self._auth) as response:
                if response.status_code != 200:
                    response.read()  # the error message, small
                    return response
                written.append(self._stream_body(url, response, out, max_bytes))
                return response

        with self._call():
            response = self._attempts("GET", url, attempt)
        _raise_for_status("GET", url, response)
        if response.status_code != 200 or not written:
            raise AkeneoError(_endpoint("GET", url), "the answer is not the file", response.status_code)
        return written[0]

    def _stream_body(self, url: str, response: httpx.Response, out: IO[bytes], max_bytes: int) -> Download:
        endpoint = _endpoint("GET", url)
        content_type = response.headers.get("Content-Type")
        kind = (content_type or "").split(";")[0].strip().lower()
        if kind in NOT_MEDIA_TYPES:
            raise AkeneoMediaError(endpoint, f"answered 200 with {kind}, not a media file")
        declared = response.headers.get("Content-Length")
        expected = int(declared) if declared and declared.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise AkeneoMediaError(
                endpoint, f"{expected} bytes, over the limit of {max_bytes} (maxMediaBytes)"
            )
        digest = hashlib.sha256()
        size = crc = 0
        for chunk in response.iter_bytes(CHUNK_SIZE):  # decoded, should a server compress anyway
            size += len(chunk)
            if size > max_bytes:
                raise AkeneoMediaError(
                    endpoint, f"more than {max_bytes} bytes, over the limit of {max_bytes} (maxMediaBytes)"
                )
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            out.write(chunk)
        out.flush()
        received = response.num_bytes_downloaded  # on the wire, which Content-Length counts
        if expected is not None and received != expected:
            # h11 already refuses a short body; a longer one, or a proxy that re-framed, lands here
            raise _IncompleteBody(f"{endpoint}: {received} bytes received, Content-Length says {expected}")
        chunked = "chunked" in response.headers.get("Transfer-Encoding", "").lower()
        return Download(
            size=size,
            sha256=digest.hexdigest(),
            content_type=content_type,
            framed=expected is not None or chunked,
            crc32=crc,
        )

    # -- transport -----------------------------------------------------------------------

    def _post_token(self, body: dict[str, str], basic: httpx.BasicAuth) -> httpx.Response:
        return self._attempts("POST", TOKEN_PATH, lambda: self._http.post(TOKEN_PATH, json=body, auth=basic))

    def _send(
        self, method: str, url: str, *, params: dict[str, Any] | None = None, accept: str = "application/json"
    ) -> httpx.Response:
        """Send with the bearer auth (one renewal on 401), retry per policy, map errors."""
        call = functools.partial(
            self._http.request, method, url, params=params, headers={"Accept": accept}, auth=self._auth
        )
        with self._call():
            response = self._attempts(method, url, call)
        _raise_for_status(method, url, response)
        return response

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        """Hold one of the :attr:`concurrency` slots for one API call, waiting for a free one
        first (so never more calls in flight, whatever the threads calling), and count the call
        in flight for its whole time (retries and their waits included), keeping the peak in
        :attr:`peak_in_flight` and the time in :attr:`call_seconds`."""
        self._slots.acquire()
        with self._count_lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        started = time.perf_counter()
        try:
            yield
        finally:
            with self._count_lock:
                self.in_flight -= 1
                self.call_seconds += time.perf_counter() - started
            self._slots.release()

    def _attempts(self, method: str, url: str, call: Callable[[], httpx.Response]) -> httpx.Response:
        """Run ``call`` under the retry policy.

        A retryable status left when attempts run out is returned, for the caller to map to
        an error naming the endpoint; a transport failure left then is raised here as an
        :class:`AkeneoError`. Any other exception (an auth error from the token flow) is
        raised at once.
        """
        endpoint = _endpoint(method, url)
        give_up = functools.partial(_give_up, endpoint, self.base_url)
        retrying = self._retrying.copy(retry_error_callback=give_up)
        try:
            return retrying(lambda: _unbound(call()))
        except httpx.RequestError as exc:  # not retried: an unverifiable certificate, endless redirects
            raise AkeneoError(endpoint, f"{type(exc).__name__}: {exc} (not retried)") from exc

    def _check_origin(self, request: httpx.Request) -> None:
        """Refuse, before it is sent, a request outside the PIM's API: another scheme, host or
        port (a server-supplied next link, download link or redirect), or a path outside
        ``<base path>/api/`` or with a ``.`` or ``..`` segment (docs/akeneo.md#the-pims-origin-only).
        The token never leaves.

        :raises AkeneoOriginError: naming the URL refused.
        """
        url = request.url
        climbs = any(set(part) == {"."} for part in url.path.split("/"))
        if _origin(url) != self._origin or not url.path.startswith(self._api_prefix) or climbs:
            shown = url.copy_with(query=None)
            raise AkeneoOriginError(
                f"{request.method} {shown}",
                f"refused before sending: only the PIM's own API is called ({self._origin_text}"
                f"{self._api_prefix}...), never another scheme, host, port or path",
            )

    def _count_attempt(self, request: httpx.Request) -> None:
        with self._count_lock:
            self.attempts += 1

    def _count_status(self, response: httpx.Response) -> None:
        with self._count_lock:
            self.statuses[response.status_code] += 1


#: List walks a :class:`Lister` runs at once per call the client may have in flight: a walk
#: between two calls (its page being taken, its next link read) leaves its slot to another walk
#: whose request is ready, so the slots stay busy (docs/akeneo.md#concurrent-listing).
WALKS_PER_CALL = 2

#: What a list walk yields: ``(sort key, item)``; :meth:`Lister.submit` merges walks by the key.
Keyed = tuple[Any, Any]
_NONE = object()
#: a walk's items gathered before they are written and handed to its reader
SPOOL_BATCH = 256
#: a spooled item's header: pickled (else MessagePack), its length in bytes
_ITEM = struct.Struct("<?I")


class Lister:
    """Walks of list endpoints run at once, at most ``walks`` of them (each walk one request at
    a time: a ``search_after`` cursor is read page after page; the client's slots bound the
    calls of all of them), each streamed to a
    temporary file of its own on local disk as it comes (never gathered in memory), and read
    back while the walks go on, in a fixed order whatever the order the walks end in
    (docs/akeneo.md#concurrent-listing).

    Every :meth:`submit` shares the same ``walks`` workers, so lists submitted together
    (products, product models, assets) keep the allowance busy to their end. A context
    manager: leaving it stops the walks still running (after their current request), waits for
    them and removes their files.
    """

    def __init__(self, walks: int) -> None:
        #: walks run at once (a list cut in this many parts keeps every worker busy)
        self.walks = max(1, walks)
        self._pool = ThreadPoolExecutor(max_workers=self.walks, thread_name_prefix="akeneo-list")
        self._stop = threading.Event()
        self._spools: list[_Spool] = []

    def __enter__(self) -> Lister:
        _switch_often(True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for spool in self._spools:
            spool.close()
        _switch_often(False)

    def submit(
        self,
        walks: Sequence[Callable[[], Iterable[Keyed]]],
        *,
        item_type: Any = Any,
        merge: bool = True,
        unique: bool = False,
    ) -> Callable[[], Iterator[Any]]:
        """Start ``walks`` (queued behind those submitted before); return a function that yields
        their items once they are read.

        :param walks: each a function returning the ``(key, item)`` pairs of one list, sorted
            by key when ``merge`` (the order the PIM serves them in, e.g. uuid or code).
        :param item_type: the items' type, as msgspec decodes it (e.g. a record ``Struct``, or
            ``Product | str``): items are spooled as MessagePack, so a ``Struct`` comes back a
            ``Struct``; a key comes back as MessagePack keeps it (a tuple as a list).
        :param merge: ``True``: the items of every walk merged by key (the order one walk over
            the whole list would give, when each walk is a part of it in the same order);
            ``False``: each walk's items in turn, in the order of ``walks``.
        :param unique: with ``merge``, an item whose key equals the one before is dropped (walks
            that overlap by design, e.g. windows sharing their ends).
        :return: the items, without their keys, yielded as the walks read them (a merge waits
            for the next item of every walk still running); raises what a walk raised, where
            that walk's items end.
        """
        spools = [_Spool(item_type) for _ in walks]
        self._spools += spools
        pairs = zip(spools, walks, strict=True)
        for spool, walk in pairs:
            self._pool.submit(self._fill, spool, walk)

        def items() -> Iterator[Any]:
            if merge:
                last: Any = _NONE
                for key, item in heapq.merge(*(iter(s) for s in spools), key=operator.itemgetter(0)):
                    if unique and key == last:
                        continue
                    last = key
                    yield item
                return
            for spool in spools:
                for _, item in spool:
                    yield item

        return items

    def _fill(self, spool: _Spool, walk: Callable[[], Iterable[Keyed]]) -> None:
        try:
            for pair in walk():
                if self._stop.is_set():
                    break
                spool.write(pair)
        except BaseException as exc:
            spool.end(exc)
            raise
        spool.end()


#: The interpreter's switch interval while lists are walked, seconds (CPython's default: 0.005).
LISTING_SWITCH_INTERVAL = 0.0005
_switching = {"listers": 0, "saved": 0.0}
_switching_lock = threading.Lock()


def _unbound(response: httpx.Response) -> httpx.Response:
    """``response``, freed as soon as nothing refers to it: a closed response's stream is
    replaced by an empty one.

    httpx (0.28) binds each response's stream to the response (``BoundSyncStream``, to set
    ``elapsed`` when it closes): a reference cycle, so a page's body (some 170 KB of assets)
    stayed in memory until the cyclic collector came by. At 100,000 products some 180 pages
    were waiting for it at once (30.7 MiB of bodies); the extract's peak RSS went from 133-145
    to 103 MiB (docs/akeneo.md#concurrent-listing). Its body, read already, stays readable
    (``content``, ``json()``); an open (streamed) response is left as it is. Only the response
    returned by an attempt is unbound: the earlier responses of a redirect, or a 401 answered
    before a token renewal, are still left to the collector (rare, small)."""
    if response.is_closed:
        response.stream = httpx.ByteStream(b"")
    return response


def _switch_often(entering: bool) -> None:
    """While any :class:`Lister` is open, let a thread waiting for the GIL have it after 0.5 ms
    of another's Python code, not 5 ms: a walk whose page has come in waits that long behind
    the threads decoding and storing other pages before it asks for its next page. Measured at
    10,000 products: 3.45 -> 3.53 calls in flight, 75 -> 77 % of the API ceiling. The interval
    in force before the first Lister is put back when the last one closes."""
    with _switching_lock:
        if entering:
            if not _switching["listers"]:
                _switching["saved"] = sys.getswitchinterval()
                sys.setswitchinterval(min(_switching["saved"], LISTING_SWITCH_INTERVAL))
            _switching["listers"] += 1
        else:
            _switching["listers"] -= 1
            if not _switching["listers"]:
                sys.setswitchinterval(_switching["saved"])


class _Spool:
    """One walk's items, each as MessagePack, in batches written to an anonymous temporary file as the walk
    reads them, and read back while the walk still runs: a reader is handed the items written
    so far, batch by batch, and waits for the next batch or the walk's end (then raises the
    walk's error, if it failed). So a list's items are merged and stored while its walks go on,
    not all after them (docs/akeneo.md#concurrent-listing). One writer, one reader."""

    def __init__(self, item_type: Any = Any) -> None:
        self._file = tempfile.TemporaryFile(prefix="pim-images-list-")
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder(tuple[Any, item_type]).decode
        self._pending = bytearray()
        self._count = 0
        self._size = 0
        #: (offset, length) of each batch written: whole items, each a header (its format and
        #: length, :data:`_ITEM`) then its bytes
        self._batches: list[tuple[int, int]] = []
        self._ended = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def write(self, pair: Keyed) -> None:
        try:
            data, pickled = self._encode(pair), False
        except (OverflowError, TypeError):  # an integer past 64 bits in a PIM's value
            data, pickled = pickle.dumps(pair, protocol=pickle.HIGHEST_PROTOCOL), True
        self._pending += _ITEM.pack(pickled, len(data))
        self._pending += data
        self._count += 1
        if self._count >= SPOOL_BATCH:
            self._publish()

    def _publish(self) -> None:
        if self._pending:
            os.pwrite(self._file.fileno(), self._pending, self._size)
            with self._changed:
                self._batches.append((self._size, len(self._pending)))
                self._changed.notify_all()
            self._size += len(self._pending)
            self._pending = bytearray()
            self._count = 0

    def end(self, error: BaseException | None = None) -> None:
        """The walk is over: its last items are readable, then ``error`` (if any) is raised to
        the reader."""
        self._publish()
        with self._changed:
            self._error = error
            self._ended = True
            self._changed.notify_all()

    def __iter__(self) -> Iterator[Keyed]:
        read = 0
        while True:
            with self._changed:
                while read == len(self._batches) and not self._ended:
                    self._changed.wait()
                if read == len(self._batches):
                    if self._error is not None:
                        raise self._error
                    return
                offset, length = self._batches[read]
            read += 1
            batch = memoryview(os.pread(self._file.fileno(), length, offset))
            at = 0
            while at < length:
                # one item decoded at a time, so each dies young (a whole batch decoded at once
                # outlived the young generation's collections: 3 times the CPU)
                pickled, size = _ITEM.unpack_from(batch, at)
                at += _ITEM.size
                item = batch[at : at + size]
                at += size
                yield pickle.loads(item) if pickled else self._decode(item)

    def close(self) -> None:
        self.end()  # a reader still waiting (its walk never started) stops
        self._file.close()


#: JSON bodies are decoded by msgspec: strict JSON (RFC 8259, UTF-8), and faster than the
#: standard library's decoder (0.6 against 1.0 ms a page of 100 products, 1.3 against 1.6 ms a
#: page of 100 assets), whose share of a list's CPU was the largest (issue 17's profile)
_decode_json = msgspec.json.Decoder().decode
#: a JSON object's members, each left undecoded: 0.1 ms a page, to read its ``_links`` alone
_decode_members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
#: a JSON array's elements, each left undecoded
_decode_elements = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _raw_items(path: str, page: dict[str, msgspec.Raw]) -> list[msgspec.Raw]:
    """The undecoded JSON of each item of a list page, given its members undecoded
    (``_embedded.items``, or Swagger's ``_embedded._items`` for asset lists, ERRATA.md): what
    :func:`page_items` finds, not built.

    :raises AkeneoError: the page has no item list.
    """
    try:
        embedded = page.get("_embedded")
        members = _decode_members(embedded) if embedded is not None else {}
        items = members.get("items")
        if items is None:
            items = members.get("_items")
        if items is not None:
            return _decode_elements(items)
    except msgspec.ValidationError:  # not an object, or not a list: no item list
        pass
    raise AkeneoError(_endpoint("GET", path), "the list response has no '_embedded.items'")


def _parsed(url: str, response: httpx.Response) -> Any:
    """The JSON value of a response.

    :raises AkeneoError: the body is not JSON, naming the endpoint and status.
    """
    try:
        return _decode_json(response.content)
    except ValueError:
        raise AkeneoError(_endpoint("GET", url), "the response is not JSON", response.status_code) from None


def _json_object(url: str, response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a response.

    :raises AkeneoError: the body is not JSON, or not an object.
    """
    data = _parsed(url, response)
    if not isinstance(data, dict):
        raise AkeneoError(_endpoint("GET", url), "the response is not a JSON object")
    return data


def _links_of(page: dict[str, msgspec.Raw]) -> dict[str, Any]:
    """``{"_links": ...}`` of a list page given its members undecoded (``{}`` without links),
    for :class:`NextLinkPaginator`."""
    links = page.get("_links")
    return {"_links": _decode_json(links)} if links is not None else {}


def _members(url: str, response: httpx.Response) -> dict[str, msgspec.Raw]:
    """The members of a response's JSON object, each left undecoded.

    :raises AkeneoError: the body is not JSON, or not an object.
    """
    try:
        return _decode_members(response.content)
    except msgspec.ValidationError:  # JSON, but not an object
        raise AkeneoError(_endpoint("GET", url), "the response is not a JSON object") from None
    except ValueError:
        raise AkeneoError(_endpoint("GET", url), "the response is not JSON", response.status_code) from None


class _IncompleteBody(httpx.TransportError):
    """A body that does not match its own framing: retried as a transport failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port, the default port spelled out (``https://h`` is ``https://h:443``)."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _give_up(endpoint: str, base_url: str, state: RetryCallState) -> httpx.Response:
    """The last attempt's outcome once attempts run out: its response, or its transport error
    as an :class:`AkeneoError` naming the endpoint, the PIM it was sent to (the connection's
    host: the first thing to check when nothing answers) and the attempts made."""
    outcome = state.outcome
    assert outcome is not None
    error = outcome.exception()
    if error is not None:
        detail = f"{type(error).__name__}: {error} (at {base_url}, after {state.attempt_number} attempts)"
        raise AkeneoError(endpoint, detail) from error
    return outcome.result()


def _raise_for_status(method: str, url: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    endpoint = _endpoint(method, url)
    message = _message(response)
    if status in (401, 403):
        raise AkeneoAuthError(endpoint, message + _AUTH_HINTS[status], status)
    if status == 404:
        raise AkeneoNotFoundError(endpoint, message, status)
    raise AkeneoError(endpoint, message, status)


_AUTH_HINTS = {
    401: " (the token was refused even after a new one: check the connection's credentials)",
    403: " (the connection's API user lacks a permission for this endpoint: check its role's "
    "Web API permissions and its access to this data in Akeneo)",
}


def _endpoint(method: str, url: str) -> str:
    """Method and path of a call, for messages: no host, no query string (it may be long)."""
    return f"{method} {urlsplit(url).path or url}"


def page_items(page: dict[str, Any], path: str) -> list[Any]:
    """The items of one list page (``_embedded.items``).

    :raises AkeneoError: the page has no item list.
    """
    embedded = page.get("_embedded")
    items = embedded.get("items") if isinstance(embedded, dict) else None
    if items is None and isinstance(embedded, dict):
        items = embedded.get("_items")  # Swagger's spelling for asset lists (ERRATA.md)
    if not isinstance(items, list):
        raise AkeneoError(_endpoint("GET", path), "the list response has no '_embedded.items'")
    return items


def has_next(page: dict[str, Any]) -> bool:
    """Whether a list page links to a next one (pagination.md: the last page has no ``next``)."""
    paginator = NextLinkPaginator()
    paginator.update_state(page)
    return paginator.has_next


def search_param(filters: dict[str, list[dict[str, Any]]]) -> str:
    """Akeneo's ``search`` query parameter is JSON text (filter.md)."""
    return json.dumps(filters, separators=(",", ":"), sort_keys=True)
