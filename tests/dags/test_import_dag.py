"""What only the DAG shows, through ``airflow dags test pim_images_import`` (four runs, each
shared by the tests that read it) against the sandbox Akeneo and SFTP.

Airflow runs as a user runs it: the CLI, a fresh ``AIRFLOW_HOME`` with SQLite metadata, the
connections as ``AIRFLOW_CONN_*``. The tests read what landed on the SFTP drops, the run's
``report.json`` and the metadata database (task and run states, tries, asset events). What
the stages deliver is asserted at stage level (``tests/stages``); the expected task lists are
derived from the DAG object.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.models import DagBag
from airflow.sdk import ObjectStoragePath

from pim_images.config import load_config
from pim_images.state import FingerprintStore
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "pim_images.yaml"
DAG_ID = "pim_images_import"
CHANGED = {"importMode": "differential", "akeneoLocales": ["de_DE"]}
#: The full import reads PAM assets from a 3.2 PIM (no /products-uuid there, docs/akeneo.md#versions).
FULL = {"akeneoImageType": "both", "akeneoAssetSystem": "old"}


@dataclass(frozen=True)
class Run:
    """One finished DAG run: CLI output, report, new files on the drop, and what the metadata
    database knows (run state; per task: state, try number, max tries)."""

    result: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    delivered: list[Path]
    state: str
    tasks: dict[str, tuple[str, int, int]]
    asset_events: list[str]

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr


@pytest.fixture(scope="module")
def dag() -> Any:
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    return bag.dags[DAG_ID]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(sftp_root=tmp_path_factory.mktemp("sftp"), products=24, seed=7)
    with run_sandbox(settings) as running:
        yield running


@pytest.fixture(scope="module")
def pam_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A 3.2 PIM with the PAM, for the full import."""
    settings = SandboxSettings(
        sftp_root=tmp_path_factory.mktemp("sftp-32"), products=24, seed=7, akeneo_version="3.2"
    )
    with run_sandbox(settings) as running:
        yield running


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The staging base of the successful runs (their fingerprint store is shared)."""
    return tmp_path_factory.mktemp("staging")


@pytest.fixture(scope="module")
def dag_run(sandbox: Sandbox, dag_env, run_dag, airflow_home: Path) -> Callable[..., Run]:
    """A function: one ``airflow dags test`` run on ``logical_date`` with ``conf``, against
    ``on`` (default: the 7.0 sandbox)."""

    def run(
        logical_date: str, conf: dict[str, Any], staging: Path, on: Sandbox | None = None, **env: str
    ) -> Run:
        pim = on or sandbox
        environment = {**dag_env(pim), "PIM_IMAGES_STAGING": f"file://{staging}", **env}
        before = _files(pim.sftp_root)
        reports = set(staging.glob("runs/*/report.json"))
        result = run_dag(environment, logical_date, conf)
        (report,) = set(staging.glob("runs/*/report.json")) - reports
        with sqlite3.connect(airflow_home / "airflow.db") as db:
            run_id, state = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
            ).fetchone()
            tasks = db.execute(
                "SELECT task_id, state, try_number, max_tries FROM task_instance "
                "WHERE dag_id = ? AND run_id = ?",
                (DAG_ID, run_id),
            ).fetchall()
            events = db.execute(
                "SELECT a.name FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE e.source_dag_id = ? AND e.source_run_id = ?",
                (DAG_ID, run_id),
            ).fetchall()
        return Run(
            result=result,
            report=json.loads(report.read_text()),
            delivered=sorted(set(_files(pim.sftp_root)) - set(before)),
            state=state,
            tasks={task: (state, tries, max_tries) for task, state, tries, max_tries in tasks},
            asset_events=sorted(name for (name,) in events),
        )

    return run


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def _stamp(report: dict[str, Any]) -> str:
    return datetime.fromisoformat(report["run"]["data_interval_end"]).strftime("%Y%m%dT%H%M%SZ")


def _stages(dag: Any) -> list[str]:
    """The tasks the report lists: every task but the report's own (the teardown)."""
    return [t for t in dag.task_ids if not dag.get_task(t).is_teardown]


# -- (a) a full import of images and PAM assets from a 3.2 PIM -----------------------------------


@pytest.fixture(scope="module")
def full(dag_run, staging: Path, pam_sandbox: Sandbox) -> Run:
    run = dag_run("2026-03-01", FULL, staging, on=pam_sandbox)
    assert run.result.returncode == 0, run.output[-4000:]
    return run


def test_a_full_import_succeeds_in_every_task(full: Run, dag: Any) -> None:
    assert full.state == "success"
    assert {t: s for t, (s, _, _) in full.tasks.items()} == dict.fromkeys(dag.task_ids, "success")


def test_the_files_land_on_the_drops_named_with_the_runs_stamp(full: Run) -> None:
    config, stamp = load_config(CONFIG), _stamp(full.report)
    sfcc, bspk = config.sfccRemoteDir.strip("/"), config.bspkRemoteDir.strip("/")
    catalog = config.sfccCatalogId
    assert full.delivered == sorted(  # only these: no temporary file is left behind
        [
            Path(sfcc, f"catalog_{catalog}_{stamp}.xml"),
            Path(sfcc, f"pim-images_{catalog}_{stamp}.zip"),
            Path(bspk, f"PRODUCT-IMAGES_V2_{stamp}.csv"),
        ]
    )


def test_the_report_names_every_stages_status(full: Run, dag: Any) -> None:
    assert full.report["status"] == "success" and full.report["errors"] == []
    statuses = {stage: entry["status"] for stage, entry in full.report["stages"].items()}
    assert statuses == dict.fromkeys(_stages(dag), "success")
    # the task log shows the stages' warnings too (the sandbox has TIFF and BMP media)
    first = next(w["message"] for w in full.report["warnings"] if w["stage"] == "render_bspk")
    assert first in full.output


def test_the_report_shows_the_products_endpoint_the_probe_found(full: Run) -> None:
    structure = full.report["stages"]["extract_structure"]["summary"]
    assert structure["products_endpoint"] == "/api/rest/v1/products"  # a 3.2 PIM has no products-uuid
    assert full.report["stages"]["extract"]["summary"]["assets"] > 0


def test_the_configuration_fingerprint_is_recorded(full: Run, staging: Path) -> None:
    recorded = full.report["stages"]["validate_config"]["summary"]["fingerprint"]
    assert recorded == load_config(CONFIG, overrides=FULL).fingerprint()
    assert FingerprintStore(ObjectStoragePath(f"file://{staging}")).last() == recorded


def test_each_delivery_updates_its_asset(full: Run, dag: Any) -> None:
    outlets = sorted(o.name for t in dag.tasks for o in t.outlets)
    assert outlets and full.asset_events == outlets


# -- (b) differential runs after an image-related configuration change ---------------------------


@pytest.fixture(scope="module")
def changed(full: Run, dag_run, staging: Path) -> tuple[Run, Run]:
    """Two differential runs with new locales: the first after the change, the second with the
    same configuration again."""
    first = dag_run("2026-03-02", CHANGED, staging)
    assert first.result.returncode == 0, first.output[-4000:]
    second = dag_run("2026-03-03", CHANGED, staging)
    assert second.result.returncode == 0, second.output[-4000:]
    return first, second


def test_a_changed_configuration_makes_the_differential_run_full(changed: tuple[Run, Run]) -> None:
    first, _ = changed
    assert first.report["configuration_changed"] is True
    assert first.report["stages"]["extract"]["summary"]["differential"] is False
    assert "image-related configuration changed since the last successful run" in first.output


def test_the_same_configuration_again_reads_the_runs_interval(
    changed: tuple[Run, Run], staging: Path
) -> None:
    _, second = changed
    assert second.report["configuration_changed"] is False
    assert second.report["stages"]["extract"]["summary"]["differential"] is True
    fingerprint = second.report["stages"]["validate_config"]["summary"]["fingerprint"]
    assert FingerprintStore(ObjectStoragePath(f"file://{staging}")).last() == fingerprint


# -- (c) a failing run: Akeneo refuses the credentials -----------------------------------------


@pytest.fixture(scope="module")
def refused(sandbox: Sandbox, full: Run, dag_run, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Retries as in production (no cluster policy, the DAG's default): a refused login must
    still fail at the first try."""
    connection = json.loads(sandbox.akeneo_conn_json())
    return dag_run(
        "2026-03-04",
        {},
        tmp_path_factory.mktemp("staging-refused"),
        AIRFLOW_CONN_AKENEO_DEFAULT=json.dumps({**connection, "password": "wrong"}),
        PIM_IMAGES_TEST_PRODUCTION_RETRIES="1",
    )


def test_a_refused_login_fails_the_run_at_the_first_try(refused: Run) -> None:
    assert refused.state == "failed"
    state, try_number, max_tries = refused.tasks["extract_structure"]
    assert state == "failed" and try_number == 1 and max_tries > 0


def test_no_later_stage_runs_and_nothing_is_delivered(refused: Run, dag: Any) -> None:
    later = [
        t
        for t in dag.get_task("extract_structure").get_flat_relative_ids(upstream=False)
        if not dag.get_task(t).is_teardown
    ]
    assert later
    assert {t: refused.tasks[t][0] for t in later} == dict.fromkeys(later, "upstream_failed")
    assert refused.delivered == []
    assert refused.asset_events == []


def test_the_report_is_written_and_names_the_error(refused: Run) -> None:
    assert refused.tasks["publish_report"][0] == "success"
    assert refused.report["status"] == "failed"
    assert refused.report["stages"]["extract_structure"]["status"] == "failed"
    (error,) = refused.report["errors"]
    assert error["stage"] == "extract_structure"
    assert error["message"].startswith("Akeneo POST /api/oauth/v1/token answered ")
