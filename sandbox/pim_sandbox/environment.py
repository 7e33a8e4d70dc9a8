"""The whole sandbox in one call: a generated catalog served over HTTP, and an SFTP drop.

Used by ``make demo``, ``make sandbox``, ``make airflow`` and the end-to-end tests, so all of
them meet the same servers, credentials and connection strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pim_sandbox.akeneo_app import create_app
from pim_sandbox.catalog import SandboxCatalog, generate_catalog
from pim_sandbox.credentials import (
    AKENEO_CLIENT_ID,
    AKENEO_CLIENT_SECRET,
    AKENEO_PASSWORD,
    AKENEO_USER,
    SFTP_PASSWORD,
    SFTP_USER,
)
from pim_sandbox.http_server import serve_in_thread
from pim_sandbox.sftp_server import SandboxSFTPServer


@dataclass(frozen=True)
class SandboxSettings:
    """How to start the sandbox; ports 0 mean free ports."""

    sftp_root: Path
    products: int = 300
    seed: int = 7
    host: str = "127.0.0.1"
    akeneo_port: int = 0
    sftp_port: int = 0
    host_key_path: Path | None = None
    #: ``new`` (Asset Manager) or ``old`` (PAM); ``None``: the version's (``new`` when neither is given)
    asset_system: str | None = None
    #: the Akeneo version served (``catalog.versions.PROFILES``: ``3.1``, ``3.2``, ``5.0``, ``7.0``,
    #: ``saas``); ``None``: the newest of the asset system (7.0, or 3.2 for the PAM)
    akeneo_version: str | None = None
    models: int = 0
    #: rules of the connector the catalog breaks (``catalog.DEFECTS``), for validation tests
    defects: tuple[str, ...] = ()


@dataclass
class Sandbox:
    """Running sandbox servers, and the Airflow connections that point at them."""

    catalog: SandboxCatalog
    app: Any
    akeneo_url: str
    sftp: SandboxSFTPServer
    sftp_root: Path

    def akeneo_conn_json(self) -> str:
        return json.dumps(
            {
                "conn_type": "http",
                "host": self.akeneo_url,
                "login": AKENEO_USER,
                "password": AKENEO_PASSWORD,
                "extra": {"client_id": AKENEO_CLIENT_ID, "client_secret": AKENEO_CLIENT_SECRET},
            }
        )

    def airflow_connections(self) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` variables for the DAG's three connections (both drops on one server)."""
        sftp = self.sftp.airflow_conn_json()
        return {
            "AIRFLOW_CONN_AKENEO_DEFAULT": self.akeneo_conn_json(),
            "AIRFLOW_CONN_SFCC_SFTP": sftp,
            "AIRFLOW_CONN_BSPK_SFTP": sftp,
        }


def create_sandbox_app(catalog: SandboxCatalog) -> Any:
    """The sandbox Akeneo app for ``catalog``, with the sandbox's fixed credentials."""
    return create_app(
        catalog,
        client_id=AKENEO_CLIENT_ID,
        client_secret=AKENEO_CLIENT_SECRET,
        username=AKENEO_USER,
        password=AKENEO_PASSWORD,
    )


@contextmanager
def run_sandbox(settings: SandboxSettings) -> Iterator[Sandbox]:
    """Start the sandbox Akeneo and SFTP servers; stop both on exit."""
    catalog = generate_catalog(
        products=settings.products,
        seed=settings.seed,
        asset_system=settings.asset_system,  # type: ignore[arg-type]
        akeneo_version=settings.akeneo_version,
        models=settings.models,
        defects=settings.defects,
    )
    app = create_sandbox_app(catalog)
    settings.sftp_root.mkdir(parents=True, exist_ok=True)
    sftp = SandboxSFTPServer(
        settings.sftp_root,
        username=SFTP_USER,
        password=SFTP_PASSWORD,
        host=settings.host,
        port=settings.sftp_port,
        host_key_path=settings.host_key_path,
    )
    with serve_in_thread(app, host=settings.host, port=settings.akeneo_port) as url, sftp:
        yield Sandbox(catalog=catalog, app=app, akeneo_url=url, sftp=sftp, sftp_root=settings.sftp_root)
