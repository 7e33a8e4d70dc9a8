"""The sandbox's faults for the soak and the killed-worker test (issue 13, items 7-8): faults at
a rate, drawn with a seeded generator; holds that keep a request or a rename unanswered until
released; the SFTP server's journal. Over real HTTP and a real SSH session."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paramiko
import pytest

from pim_sandbox.catalog import generate_catalog
from pim_sandbox.environment import create_sandbox_app
from pim_sandbox.http_server import serve_in_thread
from pim_sandbox.sftp_server import SandboxSFTPServer

CHANNELS = "/api/rest/v1/channels"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[object, str]]:
    app = create_sandbox_app(generate_catalog(products=4, seed=3))
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture
def faults(served):
    app, _ = served
    yield app.state.faults
    app.state.faults.clear()


def _statuses(url: str, n: int) -> list[int]:
    with httpx.Client(base_url=url, timeout=30) as http:
        return [http.get(CHANNELS).status_code for _ in range(n)]


def test_a_fault_at_a_rate_answers_that_share_at_random_and_repeats_with_its_seed(served, faults) -> None:
    _, url = served
    faults.seed(11)
    rule = faults.add(CHANNELS, 503, times=None, rate=0.3)
    first = _statuses(url, 200)
    # faults come before authentication: the others are the PIM's 401 (no token sent)
    assert set(first) == {503, 401}
    assert 30 <= first.count(503) <= 90
    assert rule.hits == first.count(503)
    faults.clear()
    faults.seed(11)
    faults.add(CHANNELS, 503, times=None, rate=0.3)
    assert _statuses(url, 200) == first


def test_a_latency_at_a_rate_counts_the_requests_it_slowed(served, faults) -> None:
    _, url = served
    latency = faults.latency(0.05, CHANNELS, rate=0.5)
    _statuses(url, 40)
    assert 5 <= latency.hits <= 35


def test_a_rate_outside_zero_to_one_is_refused(faults) -> None:
    with pytest.raises(ValueError, match="rate"):
        faults.add(CHANNELS, 503, times=None, rate=0)
    with pytest.raises(ValueError, match="rate"):
        faults.add(CHANNELS, 503, times=None, rate=1.5)


def test_a_held_request_is_answered_only_once_released(served, faults) -> None:
    _, url = served
    gate = faults.hold(CHANNELS)
    answered: list[int] = []
    thread = threading.Thread(target=lambda: answered.extend(_statuses(url, 1)))
    thread.start()
    assert gate.reached.wait(10)
    time.sleep(0.3)
    assert answered == []  # still held
    gate.release()
    thread.join(10)
    assert answered == [401]  # then answered as it would have been
    assert _statuses(url, 1) == [401]  # a hold takes one request only


# -- SFTP ----------------------------------------------------------------------------------------


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[tuple[SandboxSFTPServer, paramiko.SFTPClient]]:
    with SandboxSFTPServer(tmp_path / "root", username="pim", password="pim") as server:
        transport = paramiko.Transport((server.host, server.port))
        transport.connect(username="pim", password="pim")
        client = paramiko.SFTPClient.from_transport(transport)
        assert client is not None
        try:
            yield server, client
        finally:
            client.close()
            transport.close()


def _put(client: paramiko.SFTPClient, path: str, data: bytes = b"x" * 100) -> None:
    with client.open(path, "wb") as f:
        f.write(data)


def test_refused_renames_at_a_rate_and_the_journal(sftp) -> None:
    server, client = sftp
    server.faults.seed(5)
    server.faults.refuse_rename(r"\.csv$", times=None, rate=0.5)
    refused = 0
    for n in range(30):
        _put(client, f"/.f{n}.part")
        try:
            client.posix_rename(f"/.f{n}.part", f"/f{n}.csv")
        except OSError:
            refused += 1
    assert 5 <= refused <= 25
    assert server.faults.hits["rename"] == refused
    renamed = {Path(p).name for p in server.root.iterdir() if p.suffix == ".csv"}
    assert len(renamed) == 30 - refused
    ops = [(op, path, new) for _, op, path, new in server.journal]
    assert ("write", "/.f0.part", "") in ops
    assert sum(op == "rename" for op, _, _ in ops) == 30 - refused  # a refused rename is not one


def test_a_held_rename_waits_then_is_refused_not_carried_out(sftp) -> None:
    server, client = sftp
    gate = server.faults.hold_rename(r"/a\.zip$")
    _put(client, "/.a.zip.part")
    failed: list[BaseException] = []

    def rename() -> None:
        try:
            client.posix_rename("/.a.zip.part", "/a.zip")
        except OSError as exc:
            failed.append(exc)

    thread = threading.Thread(target=rename)
    thread.start()
    assert gate.reached.wait(10)
    time.sleep(0.3)
    assert thread.is_alive()  # unanswered while held
    gate.release()
    thread.join(10)
    assert failed and "held, then refused" in str(failed[0])
    assert sorted(p.name for p in server.root.iterdir()) == [".a.zip.part"]


def test_a_slow_rename_is_carried_out_late(sftp) -> None:
    server, client = sftp
    server.faults.slow_rename(0.5, r"/b\.csv$", times=1)
    _put(client, "/.b.part")
    started = time.monotonic()
    client.posix_rename("/.b.part", "/b.csv")
    assert time.monotonic() - started >= 0.5
    assert (server.root / "b.csv").read_bytes() == b"x" * 100
    assert server.faults.hits["slow"] == 1


@pytest.mark.parametrize("chunked", [False, True])
def test_a_cut_body_drops_the_connection_before_its_end(served, faults, chunked: bool) -> None:
    _, url = served
    faults.add(CHANNELS, 200, body=bytes(8192), cut_at=1000, chunked=chunked, content_type="image/jpeg")
    with httpx.Client(base_url=url, timeout=30) as http, http.stream("GET", CHANNELS) as response:
        assert ("content-length" in response.headers) is not chunked
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
