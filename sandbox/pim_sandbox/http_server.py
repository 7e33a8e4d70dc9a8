"""Run an ASGI app with uvicorn in a background thread, for tests, the demo and benchmarks.

Shaped like httpx's own test fixture (``tests/conftest.py``, ``serve_in_thread``), with one change the style
guide asks for: the socket is bound to port 0 before uvicorn starts, so parallel test sessions never fight
over a fixed port and the URL is known without parsing logs.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["serve_in_thread"]


@contextlib.contextmanager
def serve_in_thread(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout: float = 10.0,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` in a daemon thread and yield its base URL.

    Logging stays quiet (warnings only, no access log) and uvicorn does not touch the logging
    configuration of the process. The server is stopped, and its thread joined, when the block exits.

    :param app: the ASGI application, e.g. from :func:`pim_sandbox.akeneo_app.create_app`.
    :param host: interface to bind.
    :param port: port to bind; 0 picks a free one.
    :param startup_timeout: seconds to wait for the server to accept connections.
    :param ssl_certfile: a PEM certificate: serve HTTPS with it (and ``ssl_keyfile``).
    :param ssl_keyfile: the certificate's PEM private key.
    :return: a context manager yielding ``http://<host>:<port>`` (``https://`` with a certificate).
    :raises RuntimeError: if the server does not start in time or its thread dies while starting.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{bound_port}", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread, startup_timeout)
        url_host = f"[{host}]" if ":" in host else host
        scheme = "https" if ssl_certfile else "http"
        yield f"{scheme}://{url_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server thread stopped while starting; see the log for the error")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox server did not start within {timeout} s")
        time.sleep(0.01)
