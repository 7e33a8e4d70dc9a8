"""HTTP client for the Akeneo REST API: auth, retries, pagination, bounded concurrency.

It knows Akeneo's protocol, not the pipeline's stages. Its verbs: :meth:`AkeneoClient.get_json`,
:meth:`AkeneoClient.iter_pages`, :meth:`AkeneoClient.iter_items` and
:meth:`AkeneoClient.download`. Thread-safe: the media stage calls it from several threads, and
the connection pool's limit keeps the calls in flight within Akeneo's allowance
(good-practices.md: a few concurrent calls per connection), token requests included.
"""

from __future__ import annotations

import collections
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from pim_images.akeneo.auth import TOKEN_PATH, AkeneoAuth, Credentials, TokenManager, _message
from pim_images.akeneo.errors import AkeneoAuthError, AkeneoError, AkeneoNotFoundError
from pim_images.akeneo.paginate import NextLinkPaginator, Request
from pim_images.akeneo.retry import RetryPolicy

if TYPE_CHECKING:
    from tenacity import RetryCallState

#: Calls in flight at once on one connection (good-practices.md allows up to 4).
MAX_CONCURRENCY = 4
#: Largest page Akeneo serves (pagination.md).
PAGE_LIMIT = 100


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
        self._retrying = (retry or RetryPolicy()).retrying(sleep=sleep)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            # the pool's limit is the bound on calls in flight: a call waits for a free connection,
            # up to the timeout, then fails as a transport error (retried by the policy)
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"Accept": "application/json", "User-Agent": "pim-images-pipeline"},
            event_hooks={"request": [self._count_attempt], "response": [self._count_status]},
        )
        self.tokens = TokenManager(credentials, self._post_token, on_token=on_token)
        self._auth = AkeneoAuth(self.tokens)
        #: HTTP requests sent: retries, token requests and re-sends after a 401 included.
        self.attempts = 0
        #: HTTP status -> responses received with it (429s and 5xx say how hard the PIM pushed back)
        self.statuses: collections.Counter[int] = collections.Counter()
        self._count_lock = threading.Lock()

    def __enter__(self) -> AkeneoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- verbs ---------------------------------------------------------------------------

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET a JSON object; ``url`` is a path under the base URL or an absolute link."""
        data = self._get_parsed(url, params)
        if not isinstance(data, dict):
            raise AkeneoError(_endpoint("GET", url), "the response is not a JSON object")
        return data

    def get_list(self, url: str, params: dict[str, Any] | None = None) -> list[Any]:
        """GET a JSON array (the few endpoints that are not paginated, e.g. asset attributes)."""
        data = self._get_parsed(url, params)
        if not isinstance(data, list):
            raise AkeneoError(_endpoint("GET", url), "the response is not a JSON array")
        return data

    def _get_parsed(self, url: str, params: dict[str, Any] | None) -> Any:
        response = self._send("GET", url, params=params)
        try:
            return response.json()
        except ValueError:
            raise AkeneoError(
                _endpoint("GET", url), "the response is not JSON", response.status_code
            ) from None

    def iter_pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield each page of a list endpoint, following ``_links.next`` (never gathering them)."""
        paginator = NextLinkPaginator()
        request = paginator.init_request(Request(url=path, params=dict(params or {})))
        while True:
            page = self.get_json(request.url, request.params or None)
            paginator.update_state(page)
            yield page
            if not paginator.has_next:
                return
            request = paginator.update_request(request)

    def iter_items(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield each item of a list endpoint, page after page."""
        for page in self.iter_pages(path, params):
            embedded = page.get("_embedded")
            items = embedded.get("items") if isinstance(embedded, dict) else None
            if items is None and isinstance(embedded, dict):
                items = embedded.get("_items")  # Swagger's spelling for asset lists (ERRATA.md)
            if not isinstance(items, list):
                raise AkeneoError(_endpoint("GET", path), "the list response has no '_embedded.items'")
            yield from items

    def download(self, url: str) -> tuple[bytes, str | None]:
        """GET a binary (a media file's download link); returns its bytes and content type.

        Media are read whole: product images are megabytes at most, and the caller hashes them
        to name the cached file by content.
        """
        response = self._send("GET", url, accept="*/*")
        return response.content, response.headers.get("Content-Type")

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
        response = self._attempts(method, url, call)
        _raise_for_status(method, url, response)
        return response

    def _attempts(self, method: str, url: str, call: Callable[[], httpx.Response]) -> httpx.Response:
        """Run ``call`` under the retry policy.

        A retryable status left when attempts run out is returned, for the caller to map to
        an error naming the endpoint; a transport failure left then is raised here as an
        :class:`AkeneoError`. Any other exception (an auth error from the token flow) is
        raised at once.
        """
        give_up = functools.partial(_give_up, _endpoint(method, url))
        retrying = self._retrying.copy(retry_error_callback=give_up)
        return retrying(call)

    def _count_attempt(self, request: httpx.Request) -> None:
        with self._count_lock:
            self.attempts += 1

    def _count_status(self, response: httpx.Response) -> None:
        with self._count_lock:
            self.statuses[response.status_code] += 1


def _give_up(endpoint: str, state: RetryCallState) -> httpx.Response:
    """The last attempt's outcome once attempts run out: its response, or its transport error
    as an :class:`AkeneoError` naming the endpoint and the attempts made."""
    outcome = state.outcome
    assert outcome is not None
    error = outcome.exception()
    if error is not None:
        detail = f"{type(error).__name__}: {error} (after {state.attempt_number} attempts)"
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


def search_param(filters: dict[str, list[dict[str, Any]]]) -> str:
    """Akeneo's ``search`` query parameter is JSON text (filter.md)."""
    return json.dumps(filters, separators=(",", ":"), sort_keys=True)
