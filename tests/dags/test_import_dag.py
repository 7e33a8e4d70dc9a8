"""What only the DAG shows, through ``airflow dags test pim_images_import`` (four runs, each
shared by the tests that read it) against the sandbox Akeneo and SFTP.

Airflow runs as a user runs it: the CLI, a fresh ``AIRFLOW_HOME`` with SQLite metadata, the
connections as ``AIRFLOW_CONN_*``. The tests read what landed on the SFTP drops, the run's
``report.json`` and the metadata database (task and run states, tries, asset events). What
the stages deliver is asserted at stage level (``tests/stages``); the expected task lists are
derived from the DAG object.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.models import DagBag
from monitoring import dashboard_metrics, mapping, series
from smtp_server import SmtpServer

from pim_images.config import load_config
from pim_images.store import OVERLAPPED, StateStore, sqlite_url
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
    report_path: Path
    delivered: list[Path]
    state: str
    tasks: dict[str, tuple[str, int, int]]
    asset_events: list[str]
    #: asset name -> the extra of its event in this run
    asset_extras: dict[str, dict[str, Any]]
    note: str | None

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
                "SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                "WHERE e.source_dag_id = ? AND e.source_run_id = ?",
                (DAG_ID, run_id),
            ).fetchall()
            note = db.execute(
                "SELECT n.content FROM dag_run_note n JOIN dag_run r ON r.id = n.dag_run_id "
                "WHERE r.dag_id = ? AND r.run_id = ?",
                (DAG_ID, run_id),
            ).fetchone()
        return Run(
            result=result,
            report=json.loads(report.read_text()),
            report_path=report,
            delivered=sorted(set(_files(pim.sftp_root)) - set(before)),
            state=state,
            tasks={task: (state, tries, max_tries) for task, state, tries, max_tries in tasks},
            asset_events=sorted(name for name, _ in events),
            asset_extras={name: json.loads(extra or "{}") for name, extra in events},
            note=note[0] if note else None,
        )

    return run


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def _stamp(report: dict[str, Any]) -> str:
    """The stamp of a manual run (``airflow dags test`` makes one): its own time, to the
    microsecond (docs/delivery.md#idempotent-names)."""
    assert report["run"]["run_type"] == "manual"
    stamp = report["run"]["stamp"]
    assert re.fullmatch(r"\d{8}T\d{12}Z", stamp), stamp
    return stamp


def _stages(dag: Any) -> list[str]:
    """The tasks the report lists: every task but the report's own (the teardown)."""
    return [t for t in dag.task_ids if not dag.get_task(t).is_teardown]


# -- (a) a full import of images and PAM assets from a 3.2 PIM -----------------------------------


class StatsdServer:
    """A StatsD server on a free UDP port: it keeps every datagram it receives."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while True:
            try:
                data = self.socket.recv(65536)
            except OSError:
                return
            self.lines.extend(data.decode().splitlines())

    def counters(self, prefix: str) -> dict[str, int]:
        """``name -> sum`` of the counters (``name:value|c``) whose name starts with ``prefix``."""
        found: dict[str, int] = {}
        for line in self.lines:
            name, _, rest = line.partition(":")
            value, _, kind = rest.partition("|")
            if kind.startswith("c") and name.startswith(prefix):
                found[name] = found.get(name, 0) + int(float(value))
        return found

    def timers(self, prefix: str) -> set[str]:
        return {line.partition(":")[0] for line in self.lines if "|ms" in line and line.startswith(prefix)}


@pytest.fixture(scope="module")
def statsd() -> Iterator[StatsdServer]:
    server = StatsdServer()
    yield server
    server.socket.close()


@pytest.fixture(scope="module")
def full(dag_run, staging: Path, pam_sandbox: Sandbox, statsd: StatsdServer) -> Run:
    run = dag_run(
        "2026-03-01",
        FULL,
        staging,
        on=pam_sandbox,
        AIRFLOW__METRICS__STATSD_ON="True",
        AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
        AIRFLOW__METRICS__STATSD_PORT=str(statsd.port),
        AIRFLOW__METRICS__STATSD_PREFIX="airflow",
    )
    assert run.result.returncode == 0, run.output[-4000:]
    return run


def test_the_run_sends_its_figures_as_statsd_metrics(full: Run, statsd: StatsdServer, dag: Any) -> None:
    """Counters of each stage's figures, a timer per stage, Akeneo's requests: names and values."""
    counters = statsd.counters("airflow.pim_images.")
    stages = full.report["stages"]
    for stage, figure in [
        ("extract", "products"),
        ("transform", "products"),
        ("transform", "images"),
        ("download_media", "downloaded"),
        ("render_bspk", "rows"),
        ("deliver_sfcc", "bytes"),
    ]:
        expected = stages[stage]["summary"][figure]
        assert counters[f"airflow.pim_images.{stage}.{figure}"] == expected > 0, (stage, figure)
    assert counters["airflow.pim_images.render_sfcc.warnings"] == stages["render_sfcc"]["warnings_total"]
    assert counters["airflow.pim_images.deliver_sfcc.files"] == 2
    assert counters["airflow.pim_images.akeneo.requests"] > 0
    assert counters["airflow.pim_images.akeneo.throttled"] == 0
    assert statsd.timers("airflow.pim_images.") == {f"airflow.pim_images.{t}.duration" for t in _stages(dag)}


def test_every_metric_the_dashboard_queries_comes_from_a_name_the_run_sent(
    full: Run, statsd: StatsdServer
) -> None:
    """deploy/grafana's dashboard queries what deploy/statsd-exporter's mapping makes of the
    names a real run sends (tests/deploy/test_monitoring.py: the mapping itself)."""
    sent = {line.partition(":")[0] for line in statsd.lines if line.startswith("airflow.pim_images.")}
    assert dashboard_metrics() <= series(sent, mapping()), dashboard_metrics() - series(sent, mapping())


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
    store = StateStore(sqlite_url(str(staging / "state.sqlite")))
    assert store.last_fingerprint() == recorded
    # and what it delivered, where (docs/runs.md#state-between-runs)
    run_id = full.report["run"]["run_id"]
    assert {d["name"] for d in store.delivered(run_id)} == {p.name for p in full.delivered}


def test_each_delivery_updates_its_asset(full: Run, dag: Any) -> None:
    outlets = sorted(o.name for t in dag.tasks for o in t.outlets)
    assert outlets and full.asset_events == outlets


def test_each_asset_event_says_what_arrived(full: Run, pam_sandbox: Sandbox) -> None:
    """Files with sizes and checksums of the bytes on the drop, the drop, the counts."""
    for name, extra in full.asset_extras.items():
        assert extra["run_id"] and extra["connection_id"].endswith("_sftp"), name
        assert extra["files"] and extra["products"] > 0, name
        for file in extra["files"]:
            landed = (pam_sandbox.sftp_root / extra["remote_dir"].strip("/") / file["name"]).read_bytes()
            assert file["bytes"] == len(landed) and file["sha256"] == hashlib.sha256(landed).hexdigest()
    assert full.asset_extras["pim-images-bspk-delivery"]["rows"] > 0


def test_the_runs_note_says_what_it_did(full: Run) -> None:
    """The grid shows it: status and mode, counts, and each delivered file with its size."""
    assert full.note is not None and full.note.startswith("**success**, full import")
    for path in full.delivered:
        assert f"{path.name}` (" in full.note
    assert f"{full.report['stages']['transform']['summary']['products']} products" in full.note
    assert full.note.endswith(f"[Report page](/pim-images/runs/{full.report_path.parent.name}/)")


def test_the_report_says_when_the_run_started_and_ended(full: Run) -> None:
    """The runs page shows each run's duration from them."""
    run = full.report["run"]
    assert datetime.fromisoformat(run["start_date"]) < datetime.fromisoformat(run["end_date"])


# -- (b) differential runs after an image-related configuration change ---------------------------


@pytest.fixture(scope="module")
def changed(full: Run, dag_run, staging: Path) -> tuple[Run, Run]:
    """Two differential runs with new locales: the first after the change, the second with the
    same configuration again."""
    first = dag_run("2026-03-02", CHANGED, staging)
    assert first.result.returncode == 0, first.output[-4000:]
    # after every date the sandbox holds: nothing changed in this interval
    second = dag_run("2028-01-05", CHANGED, staging)
    assert second.result.returncode == 0, second.output[-4000:]
    return first, second


def test_a_70_pim_delivers_through_the_dag(changed: tuple[Run, Run], sandbox: Sandbox) -> None:
    """Run (a) reads a 3.2 PIM; this one a 7.0 PIM (products by uuid): both deliver."""
    first, _ = changed
    assert sandbox.catalog.profile.name == "7.0"
    assert first.report["stages"]["extract_structure"]["summary"]["products_endpoint"].endswith(
        "/products-uuid"
    )
    assert {path.suffix for path in first.delivered} == {".xml", ".zip", ".csv"}


def test_a_differential_run_with_no_change_delivers_nothing(changed: tuple[Run, Run]) -> None:
    """After every date the sandbox holds: no product, model or asset changed in the interval."""
    _, quiet = changed
    assert quiet.state == "success", quiet.output[-4000:]
    assert quiet.delivered == []
    assert {t: quiet.tasks[t][0] for t in ("deliver_sfcc", "deliver_bspk")} == dict.fromkeys(
        ("deliver_sfcc", "deliver_bspk"), "skipped"
    )
    assert quiet.tasks["record_success"][0] == "success"
    assert quiet.report["stages"]["transform"]["summary"]["products"] == 0
    skipped = quiet.report["stages"]["deliver_bspk"]["summary"]["skipped"]
    assert skipped.startswith("nothing to deliver to BSPK")
    assert f"deliver_bspk skipped: {skipped}" in (quiet.note or "")


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
    store = StateStore(sqlite_url(str(staging / "state.sqlite")))
    assert store.last_fingerprint() == fingerprint


def test_a_differential_run_after_overlapping_runs_is_full_and_says_why(
    changed: tuple[Run, Run], dag_run, staging: Path
) -> None:
    """Two runs overlapped (docs/runs.md#runs-side-by-side): the store keeps no configuration's
    fingerprint; the next differential run reads the whole catalog and names the overlap, not a
    configuration change."""
    StateStore(sqlite_url(str(staging / "state.sqlite"))).record_fingerprint(OVERLAPPED)
    run = dag_run("2028-01-06", CHANGED, staging)
    assert run.result.returncode == 0, run.output[-4000:]
    assert run.report["runs_overlapped"] is True
    assert run.report["configuration_changed"] is False
    assert run.report["stages"]["extract"]["summary"]["differential"] is False
    assert "two runs overlapped since the last successful run" in run.output
    assert (run.note or "").startswith("**success**, full (runs overlapped)")
    assert run.delivered  # the whole catalog again, although nothing changed in the interval


# -- (c) a failing run: Akeneo refuses the credentials -----------------------------------------


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture(scope="module")
def refused(
    sandbox: Sandbox, full: Run, dag_run, tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Run:
    """Retries as in production (no cluster policy, the DAG's default): a refused login must
    still fail at the first try. Failure alerts go to a local SMTP server."""
    connection = json.loads(sandbox.akeneo_conn_json())
    return dag_run(
        "2026-03-04",
        {},
        tmp_path_factory.mktemp("staging-refused"),
        AIRFLOW_CONN_AKENEO_DEFAULT=json.dumps({**connection, "password": "wrong"}),
        AIRFLOW_CONN_PIM_IMAGES_ALERTS=smtp.connection("ops@example.com, oncall@example.com"),
        PIM_IMAGES_TEST_PRODUCTION_RETRIES="1",
    )


def test_a_failed_task_mails_the_error_and_where_the_report_is(refused: Run, smtp: SmtpServer) -> None:
    """One mail for the one task that failed (later tasks never ran), naming run, task, error."""
    (mail,) = smtp.messages
    run_id = refused.report["run"]["run_id"]
    assert mail["To"] == "ops@example.com, oncall@example.com"
    assert mail["Subject"] == f"PIM images import failed: extract_structure in run {run_id}"
    body = mail.get_body(("html",)).get_content()
    assert "Akeneo POST /api/oauth/v1/token answered" in body
    assert str(refused.report_path.with_name("report.html")) in body


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


def test_a_failed_runs_note_names_the_error_and_the_page_exists(refused: Run) -> None:
    assert refused.note is not None and refused.note.startswith("**failed**")
    assert "error: extract_structure: Akeneo POST /api/oauth/v1/token answered" in refused.note
    page = Path(refused.report_path).with_name("report.html").read_text()
    assert "Akeneo POST /api/oauth/v1/token answered" in page and "<script" not in page
