"""Killed workers (issue 13, docs/delivery.md#what-a-consumer-sees): one run of the DAG through
the real scheduler (``airflow standalone``: LocalExecutor, SQLite), whose task process is killed
with SIGKILL three times, as an out-of-memory killer or a lost node would:

- during ``download_media``: the sandbox Akeneo holds a media download unanswered
  (``faults.hold``) until the test has killed the process that asked for it;
- during ``render_sfcc``: the media cache's blobs are swapped for named pipes once ``transform``
  is done, so the renderer blocks reading the first binary it puts in the archive; the test
  sees it reading (a writer can open the pipe) and kills it, then puts the blobs back;
- between upload and rename in ``deliver_sfcc``: the sandbox SFTP server holds the first rename
  of the delivery (``hold_rename``) until the test has killed the process; it is then refused,
  never carried out, so the drop holds the killed try's temporary files.

The task process is found by its title, ``airflow worker -- <task instance id>`` (the task
runner's), never by a broad pattern. Airflow retries each killed task (the DAG's own retries; the
tests' cluster policy keeps them with a 1 s delay, ``PIM_IMAGES_TEST_RETRY_DELAY_SECONDS``).
The run must then succeed with one complete file set per target, the same bytes as the core
stages render for the run's stamp, and no temporary file left on the drops.

Marked ``system``: not in ``make test-quick`` (~2 minutes).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pipeline import run_pipeline
from services import airflow_standalone, failure_logs, free_port, query_sqlite

from pim_images.deliver import file_stamp
from pim_images_airflow.pools import pool_set_command
from pim_sandbox.__main__ import airflow_environment
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(ROOT / ".venv" / "bin" / "airflow")
LOCAL_SETTINGS = ROOT / "tests" / "airflow_home" / "config" / "airflow_local_settings.py"
DAG_ID = "pim_images_import"
CONF = {"akeneoImageType": "both"}
CATALOG_ID = "pim-images-catalog"
#: every media download of the sandbox (product media files, Asset Manager media files)
MEDIA = r"/(media-files/.+/download|asset-media-files/.+)$"
TIMEOUT = 180
KILLED = ("download_media", "render_sfcc", "deliver_sfcc")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with run_sandbox(SandboxSettings(sftp_root=tmp_path / "sftp", products=12, seed=7)) as running:
        yield running


@pytest.fixture
def airflow(sandbox: Sandbox, tmp_path: Path) -> Iterator[Path]:
    """``airflow standalone`` in a fresh home with one manual run queued: the home."""
    home = tmp_path / "airflow"
    (home / "config").mkdir(parents=True)
    shutil.copy(LOCAL_SETTINGS, home / "config" / LOCAL_SETTINGS.name)
    port = free_port()
    env = {
        **os.environ,
        **airflow_environment(sandbox.airflow_connections()),
        "AIRFLOW_HOME": str(home),
        "HOME": str(home),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        # only the run the test triggers: no scheduled interval run beside it
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # on a loaded machine the API server may take over the default 5 s to start a task; a
        # timed-out start is retried, refused as already started, and fails a task with no retries
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        # a task queued before the API server listens (standalone starts both at once; a busy
        # machine) retries its first call, 1 s doubling, for minutes instead of 5 tries (some 5 s)
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "PIM_IMAGES_STAGING": f"file://{home}/pim_images",
        # the DAG's retries, after 1 s instead of 30 s doubling (tests/airflow_home/config)
        "PIM_IMAGES_TEST_RETRY_DELAY_SECONDS": "1",
    }
    # With SQLite the metadata database takes one writer at a time: the CLI runs before the services.
    for command in (
        [AIRFLOW, "db", "migrate"],
        pool_set_command(AIRFLOW),
        [AIRFLOW, "dags", "reserialize"],
        [AIRFLOW, "dags", "unpause", DAG_ID],
        [AIRFLOW, "dags", "trigger", DAG_ID, "--conf", json.dumps(CONF)],
    ):
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}: " + done.stdout[-3000:] + done.stderr[-3000:]
    with airflow_standalone(AIRFLOW, env, ROOT, home):
        yield home


def _until(
    what: str, check: Callable[[], Any], home: Path, timeout: float = TIMEOUT, every: float = 0.2
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    log = (home / "standalone.log").read_text(errors="replace")[-5000:]
    raise AssertionError(f"timed out waiting for {what}\n{failure_logs(home)}\nstandalone log:\n{log}")


def _task_process(home: Path, task_id: str) -> int | None:
    """The pid of ``task_id``'s running task process: the one titled ``airflow worker -- <ti id>``."""
    rows = query_sqlite(
        home / "airflow.db",
        "SELECT id FROM task_instance WHERE dag_id = ? AND task_id = ? AND state = 'running'",
        DAG_ID,
        task_id,
    )
    if not rows:
        return None
    title = f"airflow worker -- {uuid.UUID(str(rows[0][0]))}"  # SQLite keeps it without dashes
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if cmdline == title:
            return int(proc.name)
    return None


def _kill(home: Path, task_id: str) -> int:
    """SIGKILL ``task_id``'s task process; return its pid once it is gone."""
    pid = _until(f"{task_id}'s task process", lambda: _task_process(home, task_id), home, timeout=30)
    os.kill(pid, signal.SIGKILL)
    _until(f"{task_id}'s process {pid} to die", lambda: not _alive(pid), home, timeout=30)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too: its parent (the supervisor) has not reaped it yet
        return (Path("/proc") / str(pid) / "stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _state(home: Path, task_id: str) -> str | None:
    rows = query_sqlite(
        home / "airflow.db",
        "SELECT state FROM task_instance WHERE dag_id = ? AND task_id = ?",
        DAG_ID,
        task_id,
    )
    return rows[0][0] if rows else None


def _pipes_for_blobs(cache: Path, keep: Path) -> list[Path]:
    """Move every blob of the media cache to ``keep`` and put a named pipe in its place."""
    pipes = []
    for blob in sorted((cache / "blobs").rglob("*")):
        if blob.is_file() and not blob.name.startswith("."):
            shutil.move(blob, keep / blob.name)
            os.mkfifo(blob)
            pipes.append(blob)
    assert pipes, f"no blob in {cache}"
    return pipes


def _reader_waiting(pipes: list[Path]) -> int | None:
    """A write end of the first pipe someone is reading (kept open, so the reader blocks in
    ``read``), or ``None``: opening a pipe's write end without blocking fails while no reader has it."""
    for pipe in pipes:
        try:
            return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
    return None


def _put_blobs_back(pipes: list[Path], keep: Path) -> None:
    for pipe in pipes:
        pipe.unlink()
        shutil.move(keep / pipe.name, pipe)


def test_killed_task_processes_are_retried_into_one_whole_delivery(
    airflow: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    home = airflow
    media_hold = sandbox.app.state.faults.hold(MEDIA)
    rename_hold = sandbox.sftp.faults.hold_rename(rf"/sfcc/catalog/pim-images_{CATALOG_ID}_\w+\.zip$")
    killed: dict[str, int] = {}

    # 1. during download_media: a download is held unanswered while its process is killed
    _until("a media download to reach Akeneo", media_hold.reached.is_set, home)
    killed["download_media"] = _kill(home, "download_media")
    media_hold.release()

    # 2. during render_sfcc: the renderer blocks reading a binary (a named pipe) and is killed
    _until("transform to succeed", lambda: _state(home, "transform") == "success", home, every=0.05)
    keep = tmp_path / "blobs"
    keep.mkdir()
    pipes = _pipes_for_blobs(home / "pim_images" / "media-cache", keep)
    writer = _until("render_sfcc to read a binary", lambda: _reader_waiting(pipes), home, every=0.05)
    try:
        killed["render_sfcc"] = _kill(home, "render_sfcc")
    finally:
        os.close(writer)
        _put_blobs_back(pipes, keep)

    # 3. between upload and rename in deliver_sfcc: every file uploaded, the first rename held
    _until("deliver_sfcc's first rename", rename_hold.reached.is_set, home)
    temporaries = [p.name for p in (sandbox.sftp_root / "sfcc" / "catalog").iterdir()]
    killed["deliver_sfcc"] = _kill(home, "deliver_sfcc")
    rename_hold.release()

    def finished() -> str | None:
        rows = query_sqlite(home / "airflow.db", "SELECT state FROM dag_run WHERE dag_id = ?", DAG_ID)
        return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None

    state = _until("the run to end", finished, home)
    tries = dict(
        query_sqlite(
            home / "airflow.db", "SELECT task_id, try_number FROM task_instance WHERE dag_id = ?", DAG_ID
        )
    )
    states = dict(
        query_sqlite(home / "airflow.db", "SELECT task_id, state FROM task_instance WHERE dag_id = ?", DAG_ID)
    )
    assert state == "success", f"{states}\n{failure_logs(home)}"
    assert set(states.values()) == {"success"}, states
    # each killed task ran twice (killed, then retried); the others once
    assert {task: tries[task] for task in KILLED} == dict.fromkeys(KILLED, 2), tries
    assert all(tries[task] == 1 for task in tries if task not in KILLED), tries
    # the held rename found the killed try's files uploaded whole, under temporary names only
    assert temporaries and all(name.startswith(".") and name.endswith(".part") for name in temporaries)

    # no temporary file left, and one set per target: the names of the run's stamp
    on_drops = sorted(
        str(p.relative_to(sandbox.sftp_root)) for p in sandbox.sftp_root.rglob("*") if p.is_file()
    )
    assert not [name for name in on_drops if Path(name).name.startswith(".") or name.endswith(".part")]
    db = home / "airflow.db"
    ((run_after,),) = query_sqlite(db, "SELECT run_after FROM dag_run WHERE dag_id = ?", DAG_ID)
    stamp = file_stamp("manual", None, _as_utc(run_after))
    assert on_drops == sorted(
        [
            f"bspk/incoming/PRODUCT-IMAGES_V2_{stamp}.csv",
            f"sfcc/catalog/catalog_{CATALOG_ID}_{stamp}.xml",
            f"sfcc/catalog/pim-images_{CATALOG_ID}_{stamp}.zip",
        ]
    )
    # the same bytes as the core stages render for this stamp, unkilled
    local = run_pipeline(sandbox, CONF, tmp_path / "local", stamp=stamp, until="render_bspk")
    folders = {
        "sfcc": sandbox.sftp_root / "sfcc" / "catalog",
        "bspk": sandbox.sftp_root / "bspk" / "incoming",
    }
    for target, files in local.rendered.items():
        for name, content in files.items():
            assert (folders[target] / name).read_bytes() == content, (
                f"{target} {name} differs from an unkilled run's"
            )


def _as_utc(value: str | datetime) -> datetime:
    """``run_after`` as SQLite returns it (text, UTC without an offset), as a timezone-aware time."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
