"""Delivery through Airflow's SFTPHook to the sandbox SFTP server, over SSH."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pim_images.deliver import DeliveryError, deliver_files
from pim_images_airflow.sftp_delivery import SFTPRemoteFiles, open_remote_files
from pim_sandbox.credentials import SFTP_PASSWORD, SFTP_USER
from pim_sandbox.sftp_server import SandboxSFTPServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxSFTPServer]:
    root = tmp_path_factory.mktemp("sftp-root")
    with SandboxSFTPServer(root, username=SFTP_USER, password=SFTP_PASSWORD) as sftp:
        yield sftp


@pytest.fixture
def conn_id(server: SandboxSFTPServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_DELIVERY_TEST", server.airflow_conn_json())
    return "delivery_test"


@pytest.fixture
def local(tmp_path: Path) -> Path:
    (tmp_path / "a.csv").write_bytes(b"product_ref,skus,image_url,position\r\n")
    (tmp_path / "b.zip").write_bytes(bytes(range(256)) * 100)
    return tmp_path


def _landed(root: Path, folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / folder.lstrip("/")).iterdir()}


def test_files_land_whole_under_their_final_names(server, conn_id: str, local: Path) -> None:
    with open_remote_files(conn_id) as remote:
        summary = deliver_files(remote, "bspk", local, ["a.csv", "b.zip"], "/drop/one", "try1")
    assert summary.files == ["a.csv", "b.zip"]
    assert summary.bytes == (local / "a.csv").stat().st_size + (local / "b.zip").stat().st_size
    landed = _landed(server.root, "/drop/one")
    assert landed == {"a.csv": (local / "a.csv").read_bytes(), "b.zip": (local / "b.zip").read_bytes()}


def test_redelivery_replaces_the_same_files(server, conn_id: str, local: Path) -> None:
    with open_remote_files(conn_id) as remote:
        deliver_files(remote, "bspk", local, ["a.csv"], "/drop/two", "try1")
    (local / "a.csv").write_bytes(b"changed\r\n")
    with open_remote_files(conn_id) as remote:
        deliver_files(remote, "bspk", local, ["a.csv"], "/drop/two", "try2")
    assert _landed(server.root, "/drop/two") == {"a.csv": b"changed\r\n"}


class _TruncatingRemote(SFTPRemoteFiles):
    """The real SFTP remote, but the server reports one byte less for zip files (a broken upload)."""

    def size(self, remote: str) -> int:
        return super().size(remote) - (1 if ".zip." in remote else 0)


def test_a_size_mismatch_delivers_nothing(server, conn_id: str, local: Path) -> None:
    with open_remote_files(conn_id) as remote:
        broken = _TruncatingRemote(remote._hook, remote._client)
        with pytest.raises(DeliveryError, match=r"b\.zip"):
            deliver_files(broken, "sfcc", local, ["a.csv", "b.zip"], "/drop/three", "try1")
    assert _landed(server.root, "/drop/three") == {}  # no final file, no temporary file left
