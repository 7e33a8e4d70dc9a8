"""Delivery through Airflow's SFTPHook to the sandbox SFTP server, over SSH."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from pim_images.deliver import DeliveryError, DeliveryRefused, deliver_files
from pim_images.errors import InputError
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


# -- faults: a refused rename, a cut connection, a killed worker (docs/delivery.md#what-a-consumer-sees) --


@pytest.fixture
def faults(server: SandboxSFTPServer) -> Iterator[object]:
    server.faults.clear()
    yield server.faults
    server.faults.clear()


def _all_files(root: Path, folder: str) -> set[str]:
    return {p.name for p in (root / folder.lstrip("/")).iterdir()}


def test_a_refused_rename_names_the_server_and_path_and_leaves_no_temporary(
    server, conn_id: str, local: Path, faults
) -> None:
    faults.refuse_rename(r"/drop/four/b\.zip$")
    with open_remote_files(conn_id) as remote, pytest.raises(DeliveryError) as err:
        deliver_files(remote, "sfcc", local, ["a.csv", "b.zip"], "/drop/four", "run1")
    assert f"127.0.0.1:{server.port} (connection 'delivery_test')" in str(err.value)
    assert "rename /drop/four/.b.zip.run1.part -> /drop/four/b.zip failed" in str(err.value)
    assert _all_files(server.root, "/drop/four") == {"a.csv"}  # renamed in order; no .part left
    with open_remote_files(conn_id) as remote:  # the next try completes the set
        deliver_files(remote, "sfcc", local, ["a.csv", "b.zip"], "/drop/four", "run1")
    assert _all_files(server.root, "/drop/four") == {"a.csv", "b.zip"}


def test_a_cut_connection_is_named_and_the_next_try_sweeps_its_leftovers(
    server, conn_id: str, local: Path, faults
) -> None:
    faults.cut_upload(r"/drop/five/\.b\.zip\.")
    with (
        open_remote_files(conn_id) as remote,
        pytest.raises(DeliveryError, match=r"upload /drop/five/\.b\.zip"),
    ):
        deliver_files(remote, "sfcc", local, ["a.csv", "b.zip"], "/drop/five", "run1")
    assert ".a.csv.run1.part" in _all_files(server.root, "/drop/five")  # the connection was gone
    with open_remote_files(conn_id) as remote:
        deliver_files(remote, "sfcc", local, ["a.csv", "b.zip"], "/drop/five", "run1")
    assert _all_files(server.root, "/drop/five") == {"a.csv", "b.zip"}


def test_a_try_removes_an_earlier_tries_leftovers_first(server, conn_id: str, local: Path, faults) -> None:
    with open_remote_files(conn_id) as remote:  # what a worker killed between upload and rename left
        remote.makedirs("/drop/six")
        remote.upload(local / "b.zip", "/drop/six/.b.zip.run1.part")
    faults.cut_upload(r"/drop/six/\.a\.csv\.")  # and the next try dies too, before reaching b.zip
    with open_remote_files(conn_id) as remote, pytest.raises(DeliveryError):
        deliver_files(remote, "sfcc", local, ["a.csv", "b.zip"], "/drop/six", "run1")
    assert ".b.zip.run1.part" not in _all_files(server.root, "/drop/six")
    with open_remote_files(conn_id) as remote:
        deliver_files(remote, "sfcc", local, ["a.csv", "b.zip"], "/drop/six", "run1")
    assert _all_files(server.root, "/drop/six") == {"a.csv", "b.zip"}


def test_two_runs_delivering_to_a_new_folder_at_once_both_land(server, conn_id: str, local: Path) -> None:
    """A backfill and the scheduled run deliver at once to a drop folder that does not exist yet:
    both see it missing and create it; the one that comes second finds it made, not a failure
    (docs/delivery.md#atomic-upload)."""
    (local / "c.csv").write_bytes(b"other run\r\n")
    for attempt in range(5):
        folder = f"/drop/together{attempt}/sfcc/catalog"
        start = threading.Barrier(2)
        failures: list[BaseException] = []
        threads = [
            threading.Thread(target=_deliver_beside, args=(conn_id, local, name, folder, start, failures))
            for name in ("a.csv", "c.csv")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert _landed(server.root, folder) == {
            "a.csv": (local / "a.csv").read_bytes(),
            "c.csv": (local / "c.csv").read_bytes(),
        }


def _deliver_beside(
    conn_id: str, local: Path, name: str, folder: str, start: threading.Barrier, failures: list[BaseException]
) -> None:
    """One run's delivery of ``name``, started with the other's once both are connected."""
    try:
        with open_remote_files(conn_id) as remote:
            start.wait()
            deliver_files(remote, "sfcc", local, [name], folder, f"run-{name}")
    except BaseException as exc:  # the test's assertion names it
        failures.append(exc)


def test_host_key_checking_cannot_be_turned_off_silently(server, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = json.loads(server.airflow_conn_json())
    del conn["extra"]["host_key"]
    conn["extra"]["no_host_key_check"] = "true"
    monkeypatch.setenv("AIRFLOW_CONN_UNCHECKED", json.dumps(conn))
    with pytest.raises(DeliveryError, match=r"connection 'unchecked'.*no_host_key_check is set"):
        with open_remote_files("unchecked"):
            pass
    conn["extra"]["allow_no_host_key_check"] = "true"
    monkeypatch.setenv("AIRFLOW_CONN_UNCHECKED", json.dumps(conn))
    with open_remote_files("unchecked") as remote:
        remote.makedirs("/drop/seven")


def test_a_host_key_that_is_not_the_pinned_one_is_refused_for_good(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A swapped server or someone in between: an input error (not retried), naming the server."""
    conn = json.loads(server.airflow_conn_json())
    key = paramiko.ECDSAKey.generate()  # another server's key
    conn["extra"]["host_key"] = f"{key.get_name()} {key.get_base64()}"
    monkeypatch.setenv("AIRFLOW_CONN_SWAPPED", json.dumps(conn))
    with pytest.raises(DeliveryRefused, match=r"connection 'swapped'") as err:
        with open_remote_files("swapped"):
            pass
    assert isinstance(err.value, InputError)


def test_refused_credentials_are_refused_for_good(server, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = json.loads(server.airflow_conn_json())
    conn["password"] = "wrong"
    monkeypatch.setenv("AIRFLOW_CONN_WRONG_PASSWORD", json.dumps(conn))
    with pytest.raises(DeliveryRefused, match=r"connection 'wrong_password'"):
        with open_remote_files("wrong_password"):
            pass
