"""What the sandbox's integration tests share: the sandbox credentials, a client holding a
token, and responses checked against the corrected Swagger file (``swagger.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from pim_sandbox.akeneo_app import create_app
from pim_sandbox.catalog import SandboxCatalog
from pim_sandbox.credentials import (
    AKENEO_CLIENT_ID,
    AKENEO_CLIENT_SECRET,
    AKENEO_PASSWORD,
    AKENEO_USER,
)
from pim_sandbox.http_server import serve_in_thread

try:  # tests/integration is a plain folder today; keep working if it becomes a package
    from . import swagger
except ImportError:
    import swagger  # type: ignore[no-redef]

CLIENT = (AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET)
USER = {"username": AKENEO_USER, "password": AKENEO_PASSWORD}
TOKEN = "/api/oauth/v1/token"


def checked(response: httpx.Response, path: str, method: str = "get") -> Any:
    """Validate ``response`` against the corrected Swagger schema of ``method path`` and return its JSON."""
    body = response.json()
    swagger.validate(body, path, method, response.status_code)
    return body


def assert_error(response: httpx.Response, path: str, status: int, message: str) -> None:
    """An Akeneo error body, ``{"code": status, "message": message}``, valid for ``GET path``."""
    assert response.status_code == status, response.text
    assert checked(response, path) == {"code": status, "message": message}


def search_param(**filters: list[dict[str, Any]]) -> str:
    """Akeneo's ``search`` query parameter (filter.md)."""
    return json.dumps(filters)


@contextmanager
def authorised_client(catalog: SandboxCatalog) -> Iterator[httpx.Client]:
    """Serve ``catalog`` and yield a client of it holding an access token."""
    with serve_in_thread(create_app(catalog)) as url, httpx.Client(base_url=url, timeout=10) as client:
        token = client.post(TOKEN, auth=CLIENT, json={"grant_type": "password", **USER}).json()[
            "access_token"
        ]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
