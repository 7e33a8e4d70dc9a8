"""The whole sandbox in one call: a generated catalog served over HTTP, and an SFTP drop.

Used by ``make demo``, ``make sandbox``, ``make airflow`` and the end-to-end tests, so all of
them meet the same servers, credentials and connection strings.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from pim_sandbox.akeneo_app import create_app, size_item_cache
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
    #: accessories vary by a metric and a boolean axis instead of two simple selects
    typed_axes: bool = False
    #: products own more lifestyle assets (``generate_catalog(many_assets=True)``)
    many_assets: bool = False
    #: pictures are product photos of this side, in px (``generate_catalog(photo_side=...)``)
    photo_side: int | None = None
    #: network and server faults to inject at start (:data:`FAULTS`), e.g. ``("cut-media",)``
    faults: tuple[str, ...] = ()
    #: milliseconds every Akeneo response waits (a real PIM's time and the network's); 0: none
    latency_ms: float = 0.0
    #: milliseconds media downloads wait instead of ``latency_ms`` (e.g. a benchmark of a large
    #: catalog at a lower download latency); ``None``: ``latency_ms`` like every response
    media_latency_ms: float | None = None
    #: Akeneo calls in flight per connection beyond which a call gets a 429 (Akeneo: 4); 0: no limit
    concurrency_limit: int = 0
    #: Akeneo requests per second beyond which a call gets a 429 (Akeneo: 100); 0: no limit
    rate_limit: int = 0
    #: render every binary once before serving (:meth:`SandboxCatalog.warm`), so that the first
    #: listing of a large catalog costs the sandbox little CPU (a benchmark); slower to start
    warm: bool = False
    #: MiB of encoded list items the sandbox keeps (a list read again costs it next to nothing)
    item_cache_mb: int = 256


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


def create_sandbox_app(catalog: SandboxCatalog, **limits: Any) -> Any:
    """The sandbox Akeneo app for ``catalog``, with the sandbox's fixed credentials.

    :param limits: ``latency``, ``concurrency_limit``, ``rate_limit`` of
        :func:`~pim_sandbox.akeneo_app.create_app` (default: none).
    """
    return create_app(
        catalog,
        client_id=AKENEO_CLIENT_ID,
        client_secret=AKENEO_CLIENT_SECRET,
        username=AKENEO_USER,
        password=AKENEO_PASSWORD,
        **limits,
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
        typed_axes=settings.typed_axes,
        many_assets=settings.many_assets,
        photo_side=settings.photo_side,
    )
    if settings.warm:
        catalog.warm()
    size_item_cache(catalog, settings.item_cache_mb * 1024 * 1024)
    media_latency = settings.media_latency_ms
    app = create_sandbox_app(
        catalog,
        latency=settings.latency_ms / 1000 if media_latency is None else 0,
        concurrency_limit=settings.concurrency_limit,
        rate_limit=settings.rate_limit,
    )
    if media_latency is not None:  # the largest matching latency applies: two disjoint rules
        app.state.faults.latency(settings.latency_ms / 1000, _NOT_MEDIA)
        app.state.faults.latency(media_latency / 1000, _MEDIA)
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
        sandbox = Sandbox(catalog=catalog, app=app, akeneo_url=url, sftp=sftp, sftp_root=settings.sftp_root)
        for name in settings.faults:
            FAULTS[name][1](sandbox)
        yield sandbox


def _bomb_png() -> bytes:
    """A PNG of a few tens of kilobytes declaring 19000 x 19000 pixels (361 megapixels)."""
    buffer = io.BytesIO()
    Image.new("1", (19_000, 19_000)).save(buffer, "PNG")
    return buffer.getvalue()


def _noise_jpeg() -> bytes:
    """A 96 x 96 JPEG of noise (a few kilobytes that do not compress away), whole."""
    buffer = io.BytesIO()
    Image.effect_noise((96, 96), 64).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _unframed_cut(sandbox: Sandbox) -> Any:
    body = _noise_jpeg()
    return sandbox.app.state.faults.add(
        _MEDIA, 200, body=body, cut_at=len(body) // 2, close_delimited=True, content_type="image/jpeg"
    )


#: every media download: product media files, Asset Manager media files, PAM reference and variation files
_MEDIA = r"/(media-files/.+/download|asset-media-files/.+|assets/.+/(reference|variation)-files/.+/download)$"
#: every other path
_NOT_MEDIA = rf"^(?!.*{_MEDIA})"


def _products(sandbox: Sandbox) -> str:
    """The products endpoint the sandbox's Akeneo version serves (a fault there keeps the version's
    shape: a 5.0 PIM must not seem to serve ``/products-uuid``)."""
    return r"/products-uuid$" if sandbox.catalog.profile.products_uuid else r"/products$"


#: Faults ``make sandbox SANDBOX_ARGS="--fault NAME"`` injects (docs/bad-input.md#media-limits,
#: docs/akeneo.md#verified-downloads, docs/delivery.md#what-a-consumer-sees): name -> (what a run
#: shows, how it is set on a running sandbox).
FAULTS: dict[str, tuple[str, Callable[[Sandbox], Any]]] = {
    "cut-media": (
        "the next 3 media downloads are cut mid-body (the client retries them)",
        lambda sb: sb.app.state.faults.add(
            _MEDIA, 200, times=3, body=b"\xff\xd8" + bytes(4096), cut_at=1024, content_type="image/jpeg"
        ),
    ),
    "unframed-cut-media": (
        "the next media download answers half a JPEG with neither Content-Length nor chunked "
        "encoding, ended by closing the connection (HTTP/1.0 style: the cut cannot be seen; "
        "its products are left out, the file is not cached and is asked again next run)",
        _unframed_cut,
    ),
    "html-media": (
        "the next 3 media downloads answer an HTML login page with 200 (reported, not cached)",
        lambda sb: sb.app.state.faults.add(_MEDIA, 200, times=3, body="<html>Please log in</html>"),
    ),
    "bomb": (
        "the next media download is a 361-megapixel PNG (skipped: maxImagePixels)",
        lambda sb: sb.app.state.faults.add(_MEDIA, 200, body=_bomb_png(), content_type="image/png"),
    ),
    "foreign-next": (
        "every products page links to another host (the run stops, no token sent)",
        lambda sb: sb.app.state.faults.add(
            _products(sb),
            200,
            times=None,  # the version probe reads a first page too (without following it)
            body={
                "_links": {"next": {"href": "http://pim.attacker.example/api/rest/v1/products-uuid"}},
                "_embedded": {"items": []},
            },
        ),
    ),
    "token-html": (
        "the next token request answers an HTML page with 200 (named: endpoint, content type)",
        lambda sb: sb.app.state.faults.add(r"/oauth/v1/token$", 200, body="<html>proxy</html>"),
    ),
    "refuse-rename": (
        "the SFTP server refuses the next rename onto a delivered file",
        lambda sb: sb.sftp.faults.refuse_rename(r"\.(xml|csv)$"),
    ),
    "cut-upload": (
        "the SFTP server drops the connection in the next upload of an archive",
        lambda sb: sb.sftp.faults.cut_upload(r"\.zip\."),
    ),
}
