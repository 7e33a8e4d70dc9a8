"""Running the DAG as a user does: the ``airflow`` CLI in a fresh ``AIRFLOW_HOME`` (SQLite),
connections as ``AIRFLOW_CONN_*`` pointing at sandbox servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pim_images_airflow.pools import pool_set_command
from pim_sandbox.__main__ import airflow_environment
from pim_sandbox.environment import Sandbox

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(ROOT / ".venv" / "bin" / "airflow")
#: The tests' cluster policy (retries 0), copied into the Airflow home's ``config/`` folder.
LOCAL_SETTINGS = ROOT / "tests" / "airflow_home" / "config" / "airflow_local_settings.py"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated metadata database for every DAG run of the session, and the tests'
    cluster policy in ``config/airflow_local_settings.py``."""
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "config").mkdir()
    shutil.copy(LOCAL_SETTINGS, home / "config" / LOCAL_SETTINGS.name)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "HOME": str(home)}
    command = [AIRFLOW, "db", "migrate"]
    migrate = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    # the pool of the Akeneo tasks, as a deployment creates it (docs/runs.md#akeneo-allowance)
    pool = subprocess.run(
        pool_set_command(AIRFLOW), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert pool.returncode == 0, pool.stdout[-3000:] + pool.stderr[-3000:]
    return home


@pytest.fixture(scope="session")
def dag_env(airflow_home: Path) -> Callable[[Sandbox], dict[str, str]]:
    """The environment of a DAG run against ``sandbox``."""

    def build(sandbox: Sandbox) -> dict[str, str]:
        return {
            **os.environ,
            **airflow_environment(sandbox.airflow_connections()),
            "AIRFLOW_HOME": str(airflow_home),
            "PIM_IMAGES_STAGING": f"file://{airflow_home}/pim_images",
            # paramiko reads ~/.ssh/known_hosts before the pinned host key: keep the user's out
            "HOME": str(airflow_home),
            # no retries: from the cluster policy in the test home (tests/airflow_home/config)
        }

    return build


@pytest.fixture(scope="session")
def run_dag() -> Callable[[dict[str, str], str, dict], subprocess.CompletedProcess[str]]:
    """A function: ``airflow dags test pim_images_import <date> -c <conf>`` (a date per run)."""
    return _run_dag


def _run_dag(env: dict[str, str], logical_date: str, conf: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AIRFLOW, "dags", "test", "pim_images_import", logical_date, "-c", json.dumps(conf)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
