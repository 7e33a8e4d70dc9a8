"""Airflow hook for Akeneo: reads an ``http`` connection and returns the core's client.

Modelled on ``HttpHook`` and ``SFTPHook``: the constructor takes the connection id and does
no I/O; :meth:`AkeneoHook.get_conn` reads the connection and builds the client. The connection
means what it means to ``HttpHook``: a host containing ``://`` is the base URL, else schema
(default ``http``) + host + port; login/password are the API user; extras ``client_id`` and
``client_secret`` complete the OAuth pair. An unknown extra is an error naming the key (a typo
should not be silently ignored). A connection that cannot make a client raises
:class:`~pim_images.akeneo.errors.AkeneoConnectionError`, an input error the DAG does not retry.
Access tokens are masked in task logs as they are obtained.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from pim_images.akeneo import resources
from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import AkeneoClient
from pim_images.akeneo.errors import AkeneoConnectionError, AkeneoError
from pim_images.akeneo.retry import RetryPolicy

KNOWN_EXTRAS = frozenset({"client_id", "client_secret", "timeout", "max_attempts", "allow_insecure_http"})
#: Hosts plain http may reach without ``allow_insecure_http``: the machine itself.
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
#: Fields a connection must fill, and what each is.
REQUIRED = {
    "host": "the PIM's URL, or its host name",
    "login": "the API user's name",
    "password": "the API user's password",
    "client_id": "extra: the OAuth client id of the Akeneo connection",
    "client_secret": "extra: the OAuth client secret of the Akeneo connection",
}


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
        """Build a client from the connection; the caller closes it (it is a context manager).

        :raises AkeneoConnectionError: naming every unknown extra, missing field and bad value.
        """
        conn = self.get_connection(self.akeneo_conn_id)
        extra = dict(conn.extra_dejson)
        where = f"connection {self.akeneo_conn_id!r}"
        problems = [
            f"{where}: unknown extra {key!r} (known: {', '.join(sorted(KNOWN_EXTRAS))})"
            for key in sorted(set(extra) - KNOWN_EXTRAS)
        ]
        problems += [
            f"{where}: missing {field} ({REQUIRED[field]})"
            for field in REQUIRED
            if not _field(conn, extra, field)
        ]
        timeout = _number(extra, "timeout", 60.0, float, where, problems)
        max_attempts = _number(extra, "max_attempts", 6, int, where, problems)
        base_url = self._base_url(conn) if conn.host else ""
        parts = urlsplit(base_url)
        if parts.scheme == "http" and parts.hostname not in LOOPBACK and not extra.get("allow_insecure_http"):
            problems.append(
                f"{where}: {base_url!r} is plain http: the API user's password, the client secret and "
                "every token would cross the network unencrypted; use https (a host with "
                "'https://', or schema 'https'), or set the extra allow_insecure_http: true for a "
                "PIM on a trusted network"
            )
        if problems:
            raise AkeneoConnectionError(problems)
        return AkeneoClient(
            base_url=base_url,
            credentials=Credentials(
                client_id=str(extra["client_id"]),
                client_secret=str(extra["client_secret"]),
                username=conn.login,
                password=conn.password,
            ),
            retry=self.retry or RetryPolicy(max_attempts=max_attempts),
            timeout=timeout,
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
                resources.probe_attributes(client)
        except (AkeneoError, AkeneoConnectionError) as exc:
            return False, str(exc)
        return True, "Connection successfully tested"


def _field(conn: Any, extra: dict[str, Any], name: str) -> Any:
    """A connection field (host, login, password) or, for the OAuth pair, an extra."""
    return extra.get(name) if name in ("client_id", "client_secret") else getattr(conn, name)


def _number(
    extra: dict[str, Any], key: str, default: float, kind: type, where: str, problems: list[str]
) -> Any:
    """An extra read as ``kind`` (``int`` or ``float``), positive; a bad value is a problem."""
    value = extra.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number <= 0:
        problems.append(f"{where}: extra {key!r} must be a positive {kind.__name__}, got {value!r}")
        return default
    return number
