"""A backfill through the real scheduler (docs/runs.md#backfills): ``airflow standalone``
(scheduler, DAG processor, API server, triggerer; LocalExecutor, SQLite) started on a free port,
the Akeneo pool created as the README says, then the README's backfill recipe over three
intervals. Marked ``system``: not in the default run (``pytest -m system`` runs it, ~2 minutes).

The DAG's deadline is set to a few seconds (``PIM_IMAGES_DEADLINE_HOURS``) and the alert
connection to a local SMTP server: the queued runs miss it at once, and the scheduler's deadline
handling runs the DAG's callback, which mails (docs/runs.md#alerts).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from services import airflow_standalone, failure_logs, free_port, query_sqlite
from smtp_server import SmtpServer

from pim_images_airflow.pools import pool_set_command
from pim_sandbox.__main__ import airflow_environment
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(ROOT / ".venv" / "bin" / "airflow")
DAG_ID = "pim_images_import"
#: three daily intervals: logical dates 2026-03-01 to 2026-03-03, interval ends the day after
INTERVAL_ENDS = ("20260302T000000Z", "20260303T000000Z", "20260304T000000Z")
TIMEOUT = 150
#: the DAG's deadline in the test: 3.6 s after a run is queued
DEADLINE_HOURS = "0.001"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with run_sandbox(SandboxSettings(sftp_root=tmp_path / "sftp", products=12, seed=7)) as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def airflow(sandbox: Sandbox, smtp: SmtpServer, tmp_path: Path) -> Iterator[Path]:
    """A running ``airflow standalone`` in a fresh home, the backfill created: its metadata DB."""
    home = tmp_path / "airflow"
    home.mkdir()
    port = free_port()
    env = {
        **os.environ,
        **airflow_environment(sandbox.airflow_connections()),
        "AIRFLOW_HOME": str(home),
        "HOME": str(home),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # a task's first call to the API server (SQLite, a contended CI machine, the deadline
        # callbacks starting at once) took 7 s: 5 s, the default, killed the task before it ran
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        # a task queued before the API server listens (standalone starts both at once; a busy
        # machine) retries its first call, 1 s doubling, for minutes instead of 5 tries (some 5 s)
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
        "PIM_IMAGES_STAGING": f"file://{home}/pim_images",
        "PIM_IMAGES_DEADLINE_HOURS": DEADLINE_HOURS,
        "AIRFLOW_CONN_PIM_IMAGES_ALERTS": smtp.connection("ops@example.com"),
    }
    # The README's recipe (docs/runs.md#backfills), before the services start: with SQLite the
    # metadata database takes one writer at a time, and the CLI would meet the scheduler's locks.
    # Airflow 3.3 keeps a paused DAG's backfill runs queued, so the DAG is unpaused first (which
    # also starts its daily schedule: one more run, for the latest interval).
    for command in (
        [AIRFLOW, "db", "migrate"],
        pool_set_command(AIRFLOW),
        [AIRFLOW, "dags", "reserialize"],
        [AIRFLOW, "dags", "unpause", DAG_ID],
        [
            AIRFLOW, "backfill", "create", "--dag-id", DAG_ID,
            "--from-date", "2026-03-01", "--to-date", "2026-03-03",
            "--max-active-runs", "1", "--dag-run-conf", json.dumps({"importMode": "full"}),
        ],
    ):  # fmt: skip
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}: " + done.stdout[-3000:] + done.stderr[-3000:]
    with airflow_standalone(AIRFLOW, env, ROOT, home):
        yield home / "airflow.db"


def _wait(what: str, check, home: Path, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    log = (home / "standalone.log").read_text(errors="replace")[-6000:]
    raise AssertionError(f"timed out waiting for {what}; standalone log:\n{log}")


def test_a_backfill_runs_three_intervals_one_at_a_time(airflow, sandbox: Sandbox, smtp: SmtpServer) -> None:
    db = airflow
    home = db.parent
    most_running = 0

    def finished() -> list[tuple] | None:
        nonlocal most_running
        sql = "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND run_type = 'backfill' ORDER BY run_id"
        runs = query_sqlite(db, sql, DAG_ID)
        most_running = max(most_running, sum(state == "running" for _, state in runs))
        done = [r for r in runs if r[1] in ("success", "failed")]
        return runs if len(runs) == 3 and len(done) == 3 else None

    runs = _wait("three backfill runs to finish", finished, home)
    failed = query_sqlite(
        db,
        "SELECT run_id, task_id, state, try_number FROM task_instance WHERE dag_id = ? AND state = 'failed'",
        DAG_ID,
    )
    assert [state for _, state in runs] == ["success"] * 3, "\n".join(
        [*map(str, runs), *map(str, failed), failure_logs(home)]
    )
    assert most_running <= 1
    # each interval's files, named by its end (the scheduled run's, if done, by its own end)
    names = {p.name for p in sandbox.sftp_root.rglob("PRODUCT-IMAGES_V2_*.csv")}
    assert {f"PRODUCT-IMAGES_V2_{stamp}.csv" for stamp in INTERVAL_ENDS} <= names
    catalogs = {p.name for p in sandbox.sftp_root.rglob("catalog_*.xml")}
    assert {f"catalog_pim-images-catalog_{stamp}.xml" for stamp in INTERVAL_ENDS} <= catalogs
    # the deadline alert: a mail per run still going 3.6 s after it was queued
    started = time.monotonic()
    prefix = f"PIM images import still running after {DEADLINE_HOURS} h: run "

    def late() -> set[str] | None:
        found = {m["Subject"].removeprefix(prefix) for m in smtp.messages if m["Subject"].startswith(prefix)}
        return found if {r for r, _ in runs} <= found else None

    late_runs = _wait("a deadline mail for each backfill run", late, home, timeout=60)
    print(f"deadline mails for {sorted(late_runs)}, {time.monotonic() - started:.1f} s after the runs ended")
    mail = next(m for m in smtp.messages if m["Subject"] == prefix + runs[0][0])
    assert mail["To"] == "ops@example.com"
    assert f"/dags/{DAG_ID}/runs/{runs[0][0]}" in mail.get_body(("html",)).get_content()
