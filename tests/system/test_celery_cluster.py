"""The DAG on a one-machine Airflow cluster shaped like docker-compose.yaml's (docs/runs.md#staging):
the CeleryExecutor, the metadata database in PostgreSQL and the broker in Redis (Debian's
packages, ``services.py``), staging and media cache in an S3-compatible bucket (moto's server,
``tests/object_store.py``); the API server, the scheduler, the DAG processor and two Celery
workers (``--concurrency 1``), each worker with its own Airflow home, working and temporary
folders, so that nothing two tasks need can pass through a shared disk. A run triggered through
the CLI delivers, byte for byte, what the core stages deliver on one machine (``tests/pipeline.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
from object_store import S3Store, run_s3_server
from pipeline import run_pipeline
from services import free_port, postgres_server, redis_server

from pim_images.deliver import file_stamp
from pim_sandbox.__main__ import airflow_environment
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
LOCAL_SETTINGS = ROOT / "tests" / "airflow_home" / "config" / "airflow_local_settings.py"
DAG_ID = "pim_images_import"
STAGING_CONN = "pim_images_staging"
CONF = {"akeneoImageType": "both"}
RUN_TIMEOUT = 240
RUN_STATE = "SELECT state FROM dag_run WHERE dag_id = %s"


@dataclass
class Cluster:
    """Airflow's processes, each with its log; stopped by :meth:`stop` (only those it started)."""

    root: Path
    env: dict[str, str]
    database: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def home(self, name: str) -> Path:
        home = self.root / name
        (home / "config").mkdir(parents=True, exist_ok=True)
        (home / "tmp").mkdir(exist_ok=True)
        # the tests' cluster policy: no retries, a failure shows at once
        shutil.copy(LOCAL_SETTINGS, home / "config" / LOCAL_SETTINGS.name)
        return home

    def environment(self, name: str, **extra: str) -> dict[str, str]:
        home = self.home(name)
        return {
            **self.env,
            "AIRFLOW_HOME": str(home),
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
            **extra,
        }

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [AIRFLOW, *args],
            env=self.environment("cli"),
            cwd=self.root / "cli",
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (
            f"airflow {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        return done.stdout

    def start(self, name: str, *args: str, **extra: str) -> None:
        env = self.environment(name, **extra)
        with open(self.root / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(
                [AIRFLOW, *args],
                env=env,
                cwd=env["AIRFLOW_HOME"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with its children
            )

    def logs(self) -> str:
        """The end of every process's log, for a failure message."""
        return "\n".join(
            f"--- {name} ---\n{(self.root / f'{name}.log').read_text(errors='replace')[-2500:]}"
            for name in self.processes
        )

    def query(self, sql: str, *params: object) -> list[tuple]:
        conn = psycopg2.connect(self.database.replace("postgresql+psycopg2", "postgresql"))
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("sftp")
    with run_sandbox(SandboxSettings(sftp_root=root, products=15, models=2, seed=5)) as running:
        yield running


@pytest.fixture(scope="module")
def store() -> Iterator[S3Store]:
    with run_s3_server() as running:
        yield running


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox, store: S3Store) -> Iterator[Cluster]:
    api_port = free_port()
    with postgres_server() as database, redis_server() as broker:
        env = {
            **os.environ,
            **airflow_environment(sandbox.airflow_connections()),
            f"AIRFLOW_CONN_{STAGING_CONN.upper()}": store.connection_json(),
            "PIM_IMAGES_STAGING": store.staging_url(STAGING_CONN, "cluster"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database.replace("+psycopg2", ""),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            # a task's first call to the API server can take several seconds on a busy machine
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            # a task queued before the API server listens (standalone starts both at once; a busy
            # machine) retries its first call, 1 s doubling, for minutes instead of 5 tries (some 5 s)
            "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
            "AIRFLOW__API_AUTH__JWT_SECRET": "pim-images-system-test-secret",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # only the run the test triggers: no scheduled interval run beside it
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        }
        env.pop("AIRFLOW__CORE__SQL_ALCHEMY_CONN", None)
        running = Cluster(root=tmp_path_factory.mktemp("cluster"), env=env, database=database)
        running.home("cli")
        try:
            running.run("db", "migrate")
            running.run("pools", "set", "akeneo_api", "4", "Akeneo API calls at once")
            running.start("api-server", "api-server", "--port", str(api_port), "--workers", "1")
            running.start("scheduler", "scheduler")
            running.start("dag-processor", "dag-processor")
            for n, log_port in ((1, free_port()), (2, free_port())):
                running.start(
                    f"worker-{n}",
                    "celery",
                    "worker",
                    "--concurrency",
                    "1",
                    "--celery-hostname",
                    f"worker-{n}@%h",
                    "--without-mingle",
                    "--without-gossip",
                    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(log_port),
                )
            yield running
        finally:
            running.stop()


def wait_for(cluster: Cluster, what: str, check, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        dead = [name for name, p in cluster.processes.items() if p.poll() is not None]
        assert not dead, f"{', '.join(dead)} exited while waiting for {what}\n{cluster.logs()}"
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{cluster.logs()}")


def test_a_celery_cluster_with_staging_in_a_bucket_delivers_the_local_bytes(
    cluster: Cluster, sandbox: Sandbox, store: S3Store, tmp_path: Path
) -> None:
    wait_for(
        cluster,
        "the DAG to be parsed",
        lambda: cluster.query("SELECT 1 FROM serialized_dag WHERE dag_id = %s", DAG_ID),
        timeout=90,
    )
    cluster.run("dags", "trigger", DAG_ID, "--conf", json.dumps(CONF))
    state = wait_for(
        cluster,
        "the run to end",
        lambda: next(
            (s for (s,) in cluster.query(RUN_STATE, DAG_ID) if s in ("success", "failed")),
            None,
        ),
        timeout=RUN_TIMEOUT,
    )
    tasks = dict(cluster.query("SELECT task_id, state FROM task_instance WHERE dag_id = %s", DAG_ID))
    assert state == "success", f"{tasks}\n{cluster.logs()}"
    assert set(tasks.values()) == {"success"}, tasks

    # the tasks ran on both workers, each with its own Airflow home (task logs land there)
    ran_on = {
        name: {p.name.removeprefix("task_id=") for p in (cluster.root / name / "logs").rglob("task_id=*")}
        for name in ("worker-1", "worker-2")
    }
    assert all(ran_on.values()), ran_on
    assert ran_on["worker-1"] | ran_on["worker-2"] == tasks.keys()

    # staging and the media cache are in the bucket, and nowhere else
    keys = store.keys("cluster/")
    assert any(k.startswith("cluster/media-cache/blobs/") for k in keys)
    assert any(k.endswith("/report.json") for k in keys)

    delivered = {
        target: {f.name: f.read_bytes() for f in (sandbox.sftp_root / folder).iterdir() if f.is_file()}
        for target, folder in (("sfcc", "sfcc/catalog"), ("bspk", "bspk/incoming"))
    }
    # the same stages on one machine, with the run's stamp (a manual run's: its run_after)
    ((run_after,),) = cluster.query("SELECT run_after FROM dag_run WHERE dag_id = %s", DAG_ID)
    local = run_pipeline(sandbox, CONF, tmp_path / "local", stamp=file_stamp("manual", None, run_after))
    assert delivered.keys() == local.files.keys()
    for target, files in local.files.items():
        assert delivered[target].keys() == files.keys(), target
        for name, content in files.items():
            assert delivered[target][name] == content, f"{target} {name} differs from the local run's"
