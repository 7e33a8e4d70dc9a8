"""A real SSH/SFTP server on loopback, rooted in one folder, for the demo and the tests.

Delivery is tested through Airflow's ``SFTPHook`` (paramiko) over a real SSH handshake, so the
host-key pinning, password login, ``confirm=True`` size check and ``posix-rename@openssh.com``
replace all run as they would against a partner's server; only the far end is ours. asyncssh's
:class:`asyncssh.SFTPServer` speaks the whole protocol; this module adds a folder it cannot
leave, password-only login, a host key that can outlive the process, and the Airflow connection
that points at it.

The server runs its own event loop in a daemon thread, so synchronous callers (pytest fixtures,
``python -m pim_sandbox``) start and stop it like any other object::

    with SandboxSFTPServer(tmp_path) as server:
        os.environ["AIRFLOW_CONN_SANDBOX_SFTP"] = server.airflow_conn_json()
"""

from __future__ import annotations

import asyncio
import collections
import functools
import hmac
import json
import logging
import os
import random
import re
import threading
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, urlencode

import asyncssh

__all__ = ["RenameHold", "SFTPFaults", "SandboxSFTPServer"]

#: Ed25519: small, fast to generate, and one of the host-key types the SSH provider can pin.
HOST_KEY_ALGORITHM = "ssh-ed25519"

_log = logging.getLogger(__name__)


class RenameHold:
    """A gate before the next matching rename (:meth:`SFTPFaults.hold_rename`): the request
    waits, unanswered, until :meth:`release`; then it is refused, never carried out, as a rename
    whose client died before sending it (a test kills the client meanwhile).

    :ivar reached: set when a rename is being held.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.reached = threading.Event()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()


class SFTPFaults:
    """Fault switches of the sandbox SFTP server (``server.faults``), thread-safe.

    Paths are the client's (``/drop/.a.csv.tok.part``), matched with ``re.search``::

        server.faults.refuse_rename(r"b\\.zip$")      # the next rename onto a matching name fails
        server.faults.cut_upload(r"\\.zip\\.")        # the next upload to a matching name drops the
                                                    # connection after its first bytes
        server.faults.refuse_rename(r"", times=None, rate=0.1)   # 10 % of renames, at random
        server.faults.slow_rename(0.5, r"", rate=0.2)  # a fifth of renames wait half a second
        server.faults.clear()

    ``hits`` counts the faults injected, by kind (``rename``, ``cut``, ``slow``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[list] = []  # [kind, pattern, remaining or None, rate or None, seconds]
        self._holds: list[RenameHold] = []
        self._random = random.Random(0)
        self.hits: collections.Counter[str] = collections.Counter()

    def seed(self, seed: int) -> None:
        """Seed the generator that draws which operations a rate-limited fault hits."""
        with self._lock:
            self._random.seed(seed)

    def refuse_rename(self, path_regex: str, times: int | None = 1, *, rate: float | None = None) -> None:
        """Refuse the next ``times`` renames whose target matches (an SFTP failure status);
        ``times=None``: until :meth:`clear`; ``rate``: only that share of them, at random."""
        self._add("rename", path_regex, times, rate)

    def cut_upload(self, path_regex: str, times: int | None = 1, *, rate: float | None = None) -> None:
        """Drop the whole SSH connection at the first write into a matching file, ``times`` times
        (``None``: until :meth:`clear`; ``rate``: only that share of the uploads, at random)."""
        self._add("cut", path_regex, times, rate)

    def slow_rename(
        self, seconds: float, path_regex: str = "", times: int | None = None, *, rate: float | None = None
    ) -> None:
        """Make matching renames wait ``seconds`` before they are carried out (a busy server)."""
        self._add("slow", path_regex, times, rate, seconds)

    def hold_rename(self, path_regex: str) -> RenameHold:
        """Hold the next rename whose target matches until the returned gate is released; it
        is then refused, not carried out."""
        gate = RenameHold(re.compile(path_regex))
        with self._lock:
            self._holds.append(gate)
        return gate

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            for gate in self._holds:
                gate.release()
            self._holds.clear()

    def _add(
        self, kind: str, path_regex: str, times: int | None, rate: float | None, seconds: float = 0.0
    ) -> None:
        if rate is not None and not 0 < rate <= 1:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        with self._lock:
            self._rules.append([kind, re.compile(path_regex), times, rate, seconds])

    def take(self, kind: str, path: bytes) -> bool:
        """Whether a fault of ``kind`` applies to ``path`` now (counting it)."""
        return self._take(kind, path) is not None

    def _take(self, kind: str, path: bytes) -> list | None:
        text = os.fsdecode(path)
        with self._lock:
            for rule in self._rules:
                if rule[0] == kind and rule[1].search(text):
                    if rule[3] is not None and self._random.random() >= rule[3]:
                        continue
                    self.hits[kind] += 1
                    if rule[2] is not None:
                        rule[2] -= 1
                        if rule[2] <= 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def slow_seconds(self, path: bytes) -> float:
        """How long a rename onto ``path`` waits (0: not slowed)."""
        rule = self._take("slow", path)
        return 0.0 if rule is None else rule[4]

    def take_hold(self, path: bytes) -> RenameHold | None:
        text = os.fsdecode(path)
        with self._lock:
            for gate in self._holds:
                if gate.pattern.search(text):
                    self._holds.remove(gate)
                    return gate
        return None


class _RootedSFTPServer(asyncssh.SFTPServer):
    """asyncssh's SFTP server confined to one folder.

    asyncssh's ``chroot`` already folds ``..`` at the root back onto the root; this also refuses
    any path whose real location (after following symbolic links) lies outside it, because
    asyncssh follows links that already exist inside the root.
    """

    def __init__(
        self,
        chan: asyncssh.SSHServerChannel,
        *,
        root: bytes,
        faults: SFTPFaults,
        journal: list[tuple[float, str, str, str]],
    ) -> None:
        super().__init__(chan, chroot=root)
        self._root = os.path.realpath(root)
        self._faults = faults
        self._journal = journal
        self._to_cut: set[int] = set()

    def _note(self, op: str, path: bytes, target: bytes = b"") -> None:
        self._journal.append((time.monotonic(), op, os.fsdecode(path), os.fsdecode(target)))

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        file_obj = super().open(path, pflags, attrs)
        if pflags & asyncssh.FXF_WRITE:
            self._note("write", path)
            if self._faults.take("cut", path):
                self._to_cut.add(id(file_obj))
        return file_obj

    def remove(self, path: bytes) -> None:
        super().remove(path)
        self._note("remove", path)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().rename(oldpath, newpath)
        self._note("rename", oldpath, newpath)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if id(file_obj) in self._to_cut:
            self._to_cut.discard(id(file_obj))
            written = super().write(file_obj, offset, data[: len(data) // 2])
            self.connection.abort()  # the network goes away mid-upload
            return written  # type: ignore[return-value]
        return super().write(file_obj, offset, data)  # type: ignore[return-value]

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> object:
        gate = self._faults.take_hold(newpath)
        delay = self._faults.slow_seconds(newpath)
        if gate is None and not delay:
            return self._posix_rename(oldpath, newpath)
        return self._posix_rename_later(oldpath, newpath, gate, delay)

    async def _posix_rename_later(
        self, oldpath: bytes, newpath: bytes, gate: RenameHold | None, delay: float
    ) -> None:
        if gate is not None:
            gate.reached.set()
            while not gate.released.is_set():
                await asyncio.sleep(0.05)
            raise asyncssh.SFTPFailure("rename held, then refused (sandbox fault)")
        await asyncio.sleep(delay)
        self._posix_rename(oldpath, newpath)

    def _posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        if self._faults.take("rename", newpath):
            raise asyncssh.SFTPFailure("rename refused (sandbox fault)")
        super().posix_rename(oldpath, newpath)
        self._note("rename", oldpath, newpath)

    def map_path(self, path: bytes) -> bytes:
        local = super().map_path(path)
        real = os.path.realpath(local)
        if real != self._root and not real.startswith(self._root + b"/"):
            raise asyncssh.SFTPPermissionDenied("path is outside the sandbox root")
        return local


class _PasswordOnlyServer(asyncssh.SSHServer):
    """One user, one password; every connection is tracked so :meth:`SandboxSFTPServer.stop`
    can close the ones still open instead of leaving them to the interpreter's exit."""

    def __init__(self, username: str, password: str, connections: set[asyncssh.SSHServerConnection]) -> None:
        self._username = username
        self._password = password
        self._connections = connections
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # always require authentication

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        # constant-time comparisons of UTF-8 bytes; both are checked so timing reveals neither
        user_ok = hmac.compare_digest(username.encode(), self._username.encode())
        password_ok = hmac.compare_digest(password.encode(), self._password.encode())
        return user_ok and password_ok


class SandboxSFTPServer:
    """An SFTP server on ``host:port`` serving ``root``, with password login only.

    :param root: the folder clients see as ``/``; created if missing. Clients cannot reach
        anything outside it.
    :param username: the only accepted login.
    :param password: its password.
    :param host: interface to listen on; loopback by default so the sandbox is never exposed.
    :param port: port to listen on; 0 picks a free one (read :attr:`port` after :meth:`start`).
    :param host_key_path: where to keep the private host key. When the file exists it is reused,
        so a long-running sandbox (``make sandbox``) keeps the identity that connections already
        pin; when it does not, a new key is written there (mode 0600). ``None`` keeps a fresh key
        in memory only.
    :param startup_timeout: seconds :meth:`start` waits for the server to listen.
    """

    def __init__(
        self,
        root: Path,
        *,
        username: str = "pim",
        password: str = "pim",
        host: str = "127.0.0.1",
        port: int = 0,
        host_key_path: Path | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.root = Path(root).resolve()
        self.username = username
        self.password = password
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._host_key = _load_or_create_host_key(host_key_path)
        self._connections: set[asyncssh.SSHServerConnection] = set()
        #: fault switches: refuse a rename, cut a connection mid-upload
        self.faults = SFTPFaults()
        #: every write-open, rename and removal, in order: ``(monotonic time, op, path, new
        #: path)``, ``op`` one of ``write``, ``rename``, ``remove`` (clients' paths)
        self.journal: list[tuple[float, str, str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None

    # -- identity and connection strings ---------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on (the real one when it was started with port 0).

        :raises RuntimeError: if the port was 0 and the server has not been started.
        """
        if self._acceptor is not None:
            return int(self._acceptor.get_port())
        if self._requested_port == 0:
            raise RuntimeError("the SFTP server picks its port when started; call start() first")
        return self._requested_port

    @property
    def host_key_line(self) -> str:
        """The public host key as ``"<type> <base64>"``: the SSH provider's ``host_key`` extra."""
        algorithm, data = self._host_key.export_public_key("openssh").decode("ascii").split()[:2]
        return f"{algorithm} {data}"

    def connection_extra(self) -> dict[str, str]:
        """Connection extras: the pinned host key, and no probing of the user's own SSH keys.

        ``look_for_keys=false`` stops paramiko from offering ``~/.ssh/id_*`` to a server that only
        takes passwords. ``no_host_key_check`` is never set: the sandbox is verified like a real
        partner server, so a test that passes here passes with host-key checking on.
        """
        return {"host_key": self.host_key_line, "look_for_keys": "false", "conn_timeout": "10"}

    def airflow_conn_json(self) -> str:
        """The value of an ``AIRFLOW_CONN_<ID>`` variable, JSON form (conn_type ``sftp``)."""
        return json.dumps(
            {
                "conn_type": "sftp",
                "host": self.host,
                "port": self.port,
                "login": self.username,
                "password": self.password,
                "extra": self.connection_extra(),
            }
        )

    def airflow_conn_uri(self) -> str:
        """The same connection as :meth:`airflow_conn_json`, URI form (``sftp://…?host_key=…``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        return f"sftp://{credentials}@{host}:{self.port}/?{urlencode(self.connection_extra())}"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SandboxSFTPServer:
        """Listen in a daemon thread; return once connections are accepted.

        :raises RuntimeError: if already started.
        :raises OSError: if the address cannot be bound (e.g. the port is taken).
        """
        if self._thread is not None:
            raise RuntimeError("the SFTP server is already running")
        _quiet_asyncssh()
        self.root.mkdir(parents=True, exist_ok=True)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=_run_loop, args=(loop,), name="sandbox-sftp", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            future = asyncio.run_coroutine_threadsafe(self._listen(), loop)
            self._acceptor = future.result(timeout=self._startup_timeout)
        except BaseException:
            self._stop_loop()
            raise
        _log.debug("sandbox SFTP server on %s:%s serving %s", self.host, self.port, self.root)
        return self

    def stop(self) -> None:
        """Close open sessions, stop listening and join the thread; a no-op when not running."""
        if self._loop is None:
            return
        if self._acceptor is not None:
            future = asyncio.run_coroutine_threadsafe(self._close(self._acceptor), self._loop)
            try:
                future.result(timeout=10)
            finally:
                self._acceptor = None
                self._stop_loop()
        else:
            self._stop_loop()

    def __enter__(self) -> SandboxSFTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _listen(self) -> asyncssh.SSHAcceptor:
        server_factory = functools.partial(
            _PasswordOnlyServer, self.username, self.password, self._connections
        )
        return await asyncssh.listen(
            self.host,
            self._requested_port,
            server_factory=server_factory,
            server_host_keys=[self._host_key],
            sftp_factory=functools.partial(
                _RootedSFTPServer, root=os.fsencode(self.root), faults=self.faults, journal=self.journal
            ),
            allow_scp=False,
            password_auth=True,
            kbdint_auth=False,
            public_key_auth=False,
            host_based_auth=False,
            gss_host=None,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_pty=False,
            reuse_address=True,
        )

    async def _close(self, acceptor: asyncssh.SSHAcceptor) -> None:
        acceptor.close()
        connections = list(self._connections)
        for conn in connections:
            conn.close()
        await asyncio.gather(*(conn.wait_closed() for conn in connections), return_exceptions=True)
        await acceptor.wait_closed()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Body of the server thread: run until stopped, then cancel what is left, so closing the
    loop does not warn about pending tasks."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())


def _load_or_create_host_key(path: Path | None) -> asyncssh.SSHKey:
    """Reuse the key at ``path``, or generate one (and save it there when ``path`` is given)."""
    if path is not None and path.exists():
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key(HOST_KEY_ALGORITHM)
    if path is not None:
        _write_private(path, key.export_private_key("openssh"))
    return key


def _write_private(path: Path, data: bytes) -> None:
    """Write owner-only (0600) from the first byte, then move into place so a reader never
    sees half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)


def _quiet_asyncssh() -> None:
    """asyncssh logs every connection, auth and SFTP session at INFO; keep warnings only,
    unless someone has already chosen a level for it."""
    logger = logging.getLogger("asyncssh")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
