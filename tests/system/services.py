"""PostgreSQL and Redis for the system tests, from Debian's packages, each in a temporary folder on
a free port of 127.0.0.1, stopped (by the process this module started) when the block ends.

A missing binary fails the test with the command that installs it (``.ci/run`` installs both):
a system test never skips.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2

#: the metadata database's user and database
PG_USER = "airflow"
PG_DATABASE = "airflow"


class MissingService(RuntimeError):
    """A server binary is not installed; the message says how to install it."""


#: Where :func:`free_port` looks: below Linux's range of ports handed out for port 0
#: (``net.ipv4.ip_local_port_range``, 32768-60999 by default), so a server another test starts
#: on port 0 meanwhile (the other pytest worker's sandboxes) is never given the port chosen here.
PORTS = range(20_000, 32_768)


def free_port() -> int:
    """A port of 127.0.0.1 free now, for a server started later (seconds later: a cluster binds
    its API server's after starting PostgreSQL and Redis); taken at random from :data:`PORTS`.

    :raises RuntimeError: no port free in 100 tries."""
    for _ in range(100):
        port = random.choice(PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def find_binary(name: str, package: str, *extra_dirs: str) -> str:
    """The path of ``name`` on ``PATH`` or in ``extra_dirs`` (globs).

    :raises MissingService: naming the Debian package to install.
    """
    found = shutil.which(name)
    for pattern in extra_dirs:
        found = found or next(iter(sorted(glob.glob(os.path.join(pattern, name)), reverse=True)), None)
    if not found:
        raise MissingService(
            f"{name} is not installed: `apt-get install -y {package}` (Debian's package; .ci/run does it)"
        )
    return found


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root (CI runs as root): run it as the package's user."""
    if os.geteuid() != 0:
        return []
    return [find_binary("runuser", "util-linux"), "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster (``initdb``, ``pg_ctl start``) with the database ``airflow``.

    :return: the SQLAlchemy URL, ``postgresql+psycopg2://airflow@127.0.0.1:<port>/airflow``.
    :raises MissingService: PostgreSQL's server is not installed.
    """
    pg_bin = "/usr/lib/postgresql/*/bin"
    initdb = find_binary("initdb", "postgresql", pg_bin)
    pg_ctl = find_binary("pg_ctl", "postgresql", pg_bin)
    sudo = _as_postgres_user()
    data = tempfile.mkdtemp(prefix="pim-images-pg-")
    if sudo:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run([*sudo, initdb, "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8"], **run)
        # a throw-away database: durability off, the socket in its own folder
        options = (
            f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [*sudo, pg_ctl, "-D", data, "-o", options, "-l", f"{data}/server.log", "-w", "start"], **run
        )
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres")
            try:
                conn.autocommit = True  # CREATE DATABASE runs outside a transaction
                conn.cursor().execute(f"CREATE DATABASE {PG_DATABASE}")
            finally:
                conn.close()
            yield f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{port}/{PG_DATABASE}"
        finally:
            subprocess.run(
                [*sudo, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], **{**run, "check": False}
            )
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{exc.cmd[len(sudo)]} failed: {exc.stderr or exc.stdout}") from exc
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server without persistence.

    :return: the broker URL, ``redis://127.0.0.1:<port>/0``.
    :raises MissingService: ``redis-server`` is not installed.
    """
    binary = find_binary("redis-server", "redis-server")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="pim-images-redis-")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with open(Path(folder) / "redis.log", "wb") as log:
        server = subprocess.Popen([*command, "--dir", folder], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {(Path(folder) / 'redis.log').read_text()}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


def stop_group(process: subprocess.Popen) -> None:
    """Stop standalone and every service it started (its process group): SIGTERM, then SIGKILL
    for what is still there after 30 s (a scheduler may outlive standalone)."""
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        process.poll()
        time.sleep(0.5)
    else:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def query_sqlite(db: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(sql, args).fetchall()


def failure_logs(home: Path) -> str:
    """The error lines of each failed task's log (its last 30 at most, 500 characters each), a
    line each, for a failure in CI (where nothing else is kept, and a long line is folded)."""
    found = []
    for log in sorted((home / "logs").rglob("*.log")):
        text = log.read_text(errors="replace")
        if "error" in text.lower() and ("Traceback" in text or "failed" in text):
            lines = [
                line[:500]
                for line in text.splitlines()
                if '"level":"error"' in line or "Error" in line or "Traceback" in line
            ]
            found.append(f"--- {log.relative_to(home)}\n" + "\n".join(lines[-30:]))
    return "\n".join(found[-4:]) or "(no task log with an error)"


@contextmanager
def airflow_standalone(
    airflow: str, env: dict[str, str], cwd: Path, home: Path
) -> Iterator[subprocess.Popen]:
    """``airflow standalone`` (scheduler, API server, LocalExecutor...) in a process group of its
    own, logging to ``home/standalone.log``, until the block ends; then the whole group stopped."""
    with (home / "standalone.log").open("wb") as log:
        process = subprocess.Popen(
            [airflow, "standalone"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop_group(process)
