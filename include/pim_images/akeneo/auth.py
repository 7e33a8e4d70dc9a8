"""OAuth2 for the Akeneo REST API (authentication.md): password grant, then refresh grant.

The client id and secret go as HTTP Basic auth to ``/api/oauth/v1/token``; the PIM user's
name and password go in the body. An access token lives ``expires_in`` seconds (1 hour by
default); the refresh token gets a new one without the password. Tokens are renewed a little
before they expire, and once more when the server says 401 anyway (a token revoked early,
clocks apart): after that, a 401 is a real credentials problem and fails loudly.

:class:`TokenManager` keeps the token; :class:`AkeneoAuth` is the ``httpx.Auth`` that puts it
on each request and renews it once on a 401 (httpx's ``auth_flow`` generator re-sends).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from pim_images.akeneo.errors import AkeneoAuthError, AkeneoError

TOKEN_PATH = "/api/oauth/v1/token"

#: Renew this many seconds before the announced expiry, so a token never expires in flight.
EXPIRY_MARGIN = 30.0


@dataclass(frozen=True)
class Credentials:
    """What an Akeneo connection holds: the API user and the OAuth client (connection pair)."""

    client_id: str
    client_secret: str
    username: str
    password: str

    def __repr__(self) -> str:  # never print secrets, even in a traceback's locals
        return f"Credentials(client_id={self.client_id!r}, username={self.username!r})"


class TokenManager:
    """Keeps a valid access token for concurrent callers.

    :param credentials: the API user and client.
    :param post_token: sends a token request body, returns the response (the client's
        retrying sender, so token calls get the same retry policy as any other).
    :param on_token: called with every new access token (the Airflow edge masks it in logs).
    :param clock: monotonic seconds, injectable for tests of expiry.
    """

    def __init__(
        self,
        credentials: Credentials,
        post_token: Callable[[dict[str, str], httpx.BasicAuth], httpx.Response],
        *,
        on_token: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._post_token = post_token
        self._on_token = on_token
        self._clock = clock
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        self._expires_at = 0.0
        self.tokens_fetched = 0

    def access_token(self) -> str:
        """A token valid for at least :data:`EXPIRY_MARGIN` seconds, fetched if needed."""
        with self._lock:
            if self._access_token is None or self._clock() >= self._expires_at - EXPIRY_MARGIN:
                self._renew()
            assert self._access_token is not None
            return self._access_token

    def invalidate(self, rejected: str) -> None:
        """The server refused ``rejected``: renew it, unless another caller already did."""
        with self._lock:
            if self._access_token == rejected:
                self._expires_at = 0.0

    def _renew(self) -> None:
        if self._refresh_token:
            try:
                self._store(
                    self._request({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
                )
                return
            except AkeneoError:
                self._refresh_token = None  # expired refresh token: start over with the password
        c = self._credentials
        self._store(self._request({"grant_type": "password", "username": c.username, "password": c.password}))

    def _request(self, body: dict[str, str]) -> dict:
        c = self._credentials
        response = self._post_token(body, httpx.BasicAuth(c.client_id, c.client_secret))
        endpoint = f"POST {TOKEN_PATH}"
        if response.status_code in (400, 401, 403, 422):
            raise AkeneoAuthError(endpoint, _message(response) + _hint(body), response.status_code)
        if response.status_code != 200:
            raise AkeneoError(endpoint, _message(response), response.status_code)
        try:
            data = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type") or "no content type"
            raise AkeneoError(
                endpoint, f"the token endpoint answered {kind}, not JSON (is the connection's host the PIM?)"
            ) from None
        if not isinstance(data, dict) or not data.get("access_token"):
            raise AkeneoError(endpoint, "the response has no 'access_token'")
        return data

    def _store(self, data: dict) -> None:
        self._access_token = str(data["access_token"])
        self._refresh_token = data.get("refresh_token") or None
        self._expires_at = self._clock() + float(data.get("expires_in") or 3600)
        self.tokens_fetched += 1
        if self._on_token:
            self._on_token(self._access_token)


class AkeneoAuth(httpx.Auth):
    """Bearer auth for Akeneo calls: one token renewal on a 401, then the 401 is the caller's.

    Sends ``Authorization: Bearer <token>`` with the :class:`TokenManager`'s current token. On
    a 401 it invalidates that very token (so concurrent callers that hit the same 401 renew it
    once between them, not once each), gets a new one and re-sends the request once. A second
    401 goes back to the caller, which maps it to an
    :class:`~pim_images.akeneo.errors.AkeneoAuthError` naming the credentials.

    Token requests happen inside the flow; they go through the client's retry policy (the
    manager's ``post_token``) and raise :class:`~pim_images.akeneo.errors.AkeneoAuthError`
    when the credentials are refused.

    :param tokens: the token keeper, shared by every request of one connection.
    """

    #: Bodies are not read for the flow (a download streams its body to a file); a 401's body is
    #: read in :meth:`auth_flow` instead, so its connection is back in the pool before the
    #: renewal asks for one (with every connection taken, the renewal would wait forever).
    requires_response_body = False

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            response.read()  # sync client only: frees the connection for the token request
            self.tokens.invalidate(token)
            request.headers["Authorization"] = f"Bearer {self.tokens.access_token()}"
            yield request


def _hint(body: dict[str, str]) -> str:
    if body.get("grant_type") == "password":
        return " (check the connection's login/password and its client_id/client_secret extras)"
    return ""


def _message(response: httpx.Response) -> str:
    """Akeneo's error body is ``{"code": .., "message": ..}``; OAuth errors use ``error_description``."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error_description") or data.get("error") or data)[:500]
    return str(data)[:200]
