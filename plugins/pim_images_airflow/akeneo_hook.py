"""Airflow hook for Akeneo: reads an ``http`` connection and returns the core's client.

Modelled on ``HttpHook`` and ``SFTPHook``: the constructor takes the connection id and does
no I/O; :meth:`AkeneoHook.get_conn` reads the connection and builds the client. The connection
means what it means to ``HttpHook``: a host containing ``://`` is the base URL, else schema
(default ``http``) + host + port; login/password are the API user; extras ``client_id`` and
``client_secret`` complete the OAuth pair. An unknown extra is an error naming the key (a typo
should not be silently ignored). Access tokens are masked in task logs as they are obtained.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import AkeneoClient
from pim_images.akeneo.errors import AkeneoError
from pim_images.akeneo.retry import RetryPolicy

KNOWN_EXTRAS = frozenset({"client_id", "client_secret", "timeout", "max_attempts"})


class AkeneoHook(BaseHook):
    """Interact with the Akeneo PIM REST API.

    :param akeneo_conn_id: the Airflow connection (type ``http``) to Akeneo.
    :param retry: the retry policy; default: 6 attempts, exponential backoff with jitter,
        ``Retry-After`` honoured. The ``max_attempts`` extra overrides the attempts.
    """

    conn_name_attr = "akeneo_conn_id"
    default_conn_name = "akeneo_default"
    conn_type = "http"
    hook_name = "Akeneo PIM"

    def __init__(self, akeneo_conn_id: str = default_conn_name, retry: RetryPolicy | None = None) -> None:
        super().__init__()
        self.akeneo_conn_id = akeneo_conn_id
        self.retry = retry

    def get_conn(self) -> AkeneoClient:
        """Build a client from the connection; the caller closes it (it is a context manager)."""
        conn = self.get_connection(self.akeneo_conn_id)
        extra = dict(conn.extra_dejson)
        unknown = sorted(set(extra) - KNOWN_EXTRAS)
        if unknown:
            raise ValueError(
                f"connection {self.akeneo_conn_id!r}: unknown extra(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(KNOWN_EXTRAS))}"
            )
        missing = [k for k in ("client_id", "client_secret") if not extra.get(k)]
        missing += [k for k in ("login", "password") if not getattr(conn, k)]
        if missing or not conn.host:
            raise ValueError(
                f"connection {self.akeneo_conn_id!r}: missing {', '.join(missing or ['host'])} "
                "(host, login, password, and extras client_id and client_secret are required)"
            )
        retry = self.retry or RetryPolicy(max_attempts=int(extra.get("max_attempts", 6)))
        return AkeneoClient(
            base_url=self._base_url(conn),
            credentials=Credentials(
                client_id=str(extra["client_id"]),
                client_secret=str(extra["client_secret"]),
                username=conn.login,
                password=conn.password,
            ),
            retry=retry,
            timeout=float(extra.get("timeout", 60)),
            on_token=mask_secret,
        )

    @staticmethod
    def _base_url(conn: Any) -> str:
        """``HttpHook``'s rule: a host with ``://`` is the base URL, else schema + host + port."""
        if "://" in conn.host:
            return conn.host.rstrip("/")
        schema = conn.schema or "http"
        port = f":{conn.port}" if conn.port else ""
        return f"{schema}://{conn.host}{port}"

    def test_connection(self) -> tuple[bool, str]:
        """Get a token and read one attribute: proves URL, credentials and permissions."""
        try:
            with self.get_conn() as client:
                client.get_json("/api/rest/v1/attributes", {"limit": 1})
        except (AkeneoError, ValueError) as exc:
            return False, str(exc)
        return True, "Connection successfully tested"
