"""The sandbox SFTP server, driven through Airflow's real ``SFTPHook`` (paramiko) over SSH.

Delivery's guarantees rest on what this server does: bytes land under the root, ``posix_rename``
replaces a file in one step, a client is held to the pinned host key and the password, and no path
leads out of the root. Each test starts its own server (a few milliseconds) on its own folder.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from airflow.providers.sftp.hooks.sftp import SFTPHook

from pim_sandbox.sftp_server import SandboxSFTPServer

CONN_ID = "sandbox_sftp"
CONN_ENV = "AIRFLOW_CONN_SANDBOX_SFTP"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SSH hook reads ``~/.ssh/config`` (proxy commands) and ``~/.ssh/known_hosts`` (whose entries
    win over the pinned key); an empty home keeps a developer's SSH setup out of these tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The served folder, inside ``tmp_path`` so that tests can put things just outside it."""
    return tmp_path / "root"


@pytest.fixture
def server(root: Path) -> Iterator[SandboxSFTPServer]:
    with SandboxSFTPServer(root, username="pim", password="pim") as sftp:
        yield sftp


@pytest.fixture
def hook(server: SandboxSFTPServer, monkeypatch: pytest.MonkeyPatch) -> SFTPHook:
    monkeypatch.setenv(CONN_ENV, server.airflow_conn_json())
    return SFTPHook(ssh_conn_id=CONN_ID)


def _hook_with(server: SandboxSFTPServer, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> SFTPHook:
    """A hook on a doctored copy of the server's connection; one attempt, since it is meant to fail
    (the hook otherwise retries three times, 3 to 5 s apart)."""
    conn = json.loads(server.airflow_conn_json())
    extra = changes.pop("extra", {})
    conn.update(changes)
    conn["extra"].update(extra)
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    return SFTPHook(ssh_conn_id=CONN_ID, conn_retry_attempts=1)


def _local(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_the_connection_pins_the_host_key_and_never_skips_the_check(server: SandboxSFTPServer) -> None:
    conn = json.loads(server.airflow_conn_json())
    assert conn["conn_type"] == "sftp"
    assert (conn["host"], conn["port"], conn["login"], conn["password"]) == (
        "127.0.0.1",
        server.port,
        "pim",
        "pim",
    )
    assert conn["extra"]["host_key"] == server.host_key_line
    assert server.host_key_line.startswith("ssh-ed25519 ")
    assert "no_host_key_check" not in conn["extra"]


def test_store_file_lands_the_bytes_under_root(hook: SFTPHook, root: Path, tmp_path: Path) -> None:
    data = os.urandom(300_000)  # several SFTP write requests
    hook.store_file("/image.bin", str(_local(tmp_path, "image.bin", data)), confirm=True)
    assert (root / "image.bin").read_bytes() == data


def test_posix_rename_replaces_an_existing_target_in_one_step(
    hook: SFTPHook, root: Path, tmp_path: Path
) -> None:
    (root / "drop").mkdir(parents=True)
    (root / "drop" / "final.csv").write_bytes(b"old\r\n")
    with hook.get_managed_conn() as client:
        hook.store_file("/drop/.final.csv.part", str(_local(tmp_path, "new.csv", b"new\r\n")))
        uploaded_inode = (root / "drop" / ".final.csv.part").stat().st_ino
        with pytest.raises(OSError):  # plain SFTP rename refuses to replace: why delivery needs posix_rename
            client.rename("/drop/.final.csv.part", "/drop/final.csv")
        client.posix_rename("/drop/.final.csv.part", "/drop/final.csv")
    assert sorted(p.name for p in (root / "drop").iterdir()) == ["final.csv"]
    assert (root / "drop" / "final.csv").read_bytes() == b"new\r\n"
    # the uploaded file itself took the name (a rename), not a copy written over the old one
    assert (root / "drop" / "final.csv").stat().st_ino == uploaded_inode


def test_create_directory_list_directory_and_retrieve_file(
    hook: SFTPHook, root: Path, tmp_path: Path
) -> None:
    hook.create_directory("/sfcc/in/images")
    assert (root / "sfcc" / "in" / "images").is_dir()
    (root / "sfcc" / "in" / "catalog.xml").write_bytes(b"<catalog/>")
    assert hook.list_directory("/sfcc/in") == ["catalog.xml", "images"]
    assert hook.list_directory("/sfcc/missing") is None
    hook.retrieve_file("/sfcc/in/catalog.xml", str(tmp_path / "fetched.xml"))
    assert (tmp_path / "fetched.xml").read_bytes() == b"<catalog/>"


def test_the_uri_form_reaches_the_same_server(
    server: SandboxSFTPServer, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "seen.txt").write_bytes(b"")
    monkeypatch.setenv(CONN_ENV, server.airflow_conn_uri())
    assert SFTPHook(ssh_conn_id=CONN_ID).list_directory("/") == ["seen.txt"]


def test_a_wrong_pinned_host_key_is_refused(
    server: SandboxSFTPServer, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = SandboxSFTPServer(tmp_path / "elsewhere").host_key_line  # same type, other key
    assert impostor != server.host_key_line
    hook = _hook_with(server, monkeypatch, extra={"host_key": impostor})
    with pytest.raises(paramiko.BadHostKeyException):
        hook.store_file("/never.bin", str(_local(tmp_path, "never.bin", b"x")))
    assert not (root / "never.bin").exists()


def test_a_wrong_password_is_refused(
    server: SandboxSFTPServer, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook_with(server, monkeypatch, password="not-pim")
    with pytest.raises(paramiko.AuthenticationException):
        hook.store_file("/never.bin", str(_local(tmp_path, "never.bin", b"x")))
    assert not (root / "never.bin").exists()


def test_dot_dot_stays_inside_root(hook: SFTPHook, root: Path, tmp_path: Path) -> None:
    outside = _local(tmp_path, "outside.txt", b"secret")
    (root / "inside.txt").write_bytes(b"")
    with hook.get_managed_conn() as client:
        assert client.normalize("/../..") == "/"
        assert hook.list_directory("/../..") == ["inside.txt"]  # root's content, not its parent's
        hook.store_file("/../outside.txt", str(_local(tmp_path, "attack.txt", b"attack")))
    assert outside.read_bytes() == b"secret"
    assert (root / "outside.txt").read_bytes() == b"attack"


def test_a_symlink_cannot_lead_out_of_root(hook: SFTPHook, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (root / "link").symlink_to(outside, target_is_directory=True)
    with hook.get_managed_conn() as client:
        with pytest.raises(PermissionError):
            client.listdir("/link")
        with pytest.raises(PermissionError):
            client.stat("/link/secret.txt")
    with pytest.raises(PermissionError):
        hook.store_file("/link/new.txt", str(_local(tmp_path, "new.txt", b"x")))
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_the_host_key_is_kept_in_host_key_path(tmp_path: Path) -> None:
    key_path = tmp_path / "keys" / "sandbox_host_key"
    first = SandboxSFTPServer(tmp_path / "root", host_key_path=key_path).host_key_line
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    again = SandboxSFTPServer(tmp_path / "root", host_key_path=key_path).host_key_line
    assert again == first
    assert SandboxSFTPServer(tmp_path / "root").host_key_line != first


def test_stop_closes_sessions_and_the_port(hook: SFTPHook, server: SandboxSFTPServer) -> None:
    port = server.port
    with hook.get_managed_conn() as client:
        server.stop()
        with pytest.raises((OSError, EOFError, paramiko.SSHException)):
            client.listdir("/")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
