"""The run report: one file per run joining every stage's counts, errors and warnings."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pim_images import staging
from pim_images.errors import CatalogError
from pim_images.report import (
    MAX_REPORT_WARNINGS,
    REPORT,
    REPORT_PAGE,
    StageSummary,
    Warnings,
    assemble_report,
    record_failure,
    record_stage,
)
from pim_images.staging import MAX_WARNINGS

STAGES = ("validate_config", "extract", "transform", "render_bspk")
RUN = {"dag_id": "pim_images_import", "run_id": "manual__1"}


@dataclass(frozen=True)
class Summary(StageSummary):
    products: int
    warnings: list[str] = field(default_factory=list)


def test_xcom_keeps_the_first_warnings_and_the_report_keeps_them_all(tmp_path: Path) -> None:
    warnings = [f"media 'm{i}': not an image; skipped" for i in range(MAX_WARNINGS + 7)]
    summary = Summary(products=3, warnings=warnings)
    assert summary.to_dict() == {"products": 3, "warnings": warnings[:MAX_WARNINGS], "warnings_total": 57}
    entry = record_stage(tmp_path, "transform", summary)
    assert entry["warnings"] == warnings
    assert entry["summary"]["warnings_total"] == 57


def test_the_report_caps_the_warnings_it_lists_but_counts_them_all(tmp_path: Path) -> None:
    warnings = [f"w{i}" for i in range(MAX_REPORT_WARNINGS + 1)]
    record_stage(tmp_path, "transform", Summary(products=1, warnings=warnings))
    report = assemble_report(tmp_path, STAGES, run=RUN)
    assert report["warnings_total"] == MAX_REPORT_WARNINGS + 1
    assert len(report["warnings"]) == MAX_REPORT_WARNINGS


@dataclass(frozen=True)
class BoundedSummary(StageSummary):
    products: int
    warnings: list[str] = field(default_factory=list)
    warnings_dropped: int = 0


def test_warnings_kept_up_to_what_the_report_lists_are_counted_beyond(tmp_path: Path) -> None:
    gathered = Warnings()
    for i in range(MAX_REPORT_WARNINGS + 3):
        gathered.append(f"w{i}")
    assert (len(gathered.kept), gathered.dropped) == (MAX_REPORT_WARNINGS, 3)
    summary = BoundedSummary(products=1, warnings=gathered.kept, warnings_dropped=gathered.dropped)
    data = summary.to_dict()
    first = [f"w{i}" for i in range(MAX_WARNINGS)]
    assert data == {"products": 1, "warnings": first, "warnings_total": MAX_REPORT_WARNINGS + 3}
    record_stage(tmp_path, "transform", summary)
    report = assemble_report(tmp_path, STAGES, run=RUN)
    assert report["warnings_total"] == MAX_REPORT_WARNINGS + 3
    assert [w["message"] for w in report["warnings"]] == gathered.kept


def test_a_successful_run_lists_each_stage_its_warnings_and_the_configuration_change(tmp_path: Path) -> None:
    checked = {"config": {"akeneoScope": "ecommerce"}, "fingerprint": "abc", "configuration_changed": True}
    record_stage(tmp_path, "validate_config", checked)
    record_stage(tmp_path, "extract", Summary(products=4, warnings=["unknown asset 'x'"]))
    record_stage(tmp_path, "transform", Summary(products=4, warnings=["link 'http://o/1.jpg' outside"]))
    states = {
        "validate_config": "success",
        "extract": "success",
        "transform": "success",
        "render_bspk": "skipped",
    }
    report = assemble_report(tmp_path, STAGES, run=RUN, task_states=states)
    assert report == staging.read_json(tmp_path / REPORT)
    assert report["status"] == "success"
    assert report["run"] == RUN
    assert report["configuration"] == {"akeneoScope": "ecommerce"}
    assert report["configuration_changed"] is True
    assert report["errors"] == []
    assert report["warnings"] == [
        {"stage": "extract", "message": "unknown asset 'x'"},
        {"stage": "transform", "message": "link 'http://o/1.jpg' outside"},
    ]
    assert report["warnings_total"] == 2
    assert report["stages"]["extract"] == {
        "status": "success",
        "summary": {"products": 4, "warnings_total": 1},
        "warnings_total": 1,
    }
    assert report["stages"]["render_bspk"]["status"] == "skipped"


def test_a_failed_stage_names_each_problem_and_fails_the_run(tmp_path: Path) -> None:
    record_stage(tmp_path, "validate_config", {"config": {}, "configuration_changed": False})
    record_failure(tmp_path, "extract", CatalogError(["attribute 'a' is localizable", "family 'f' missing"]))
    report = assemble_report(tmp_path, STAGES, run=RUN)
    assert report["status"] == "failed"
    assert report["errors"] == [
        {"stage": "extract", "message": "attribute 'a' is localizable"},
        {"stage": "extract", "message": "family 'f' missing"},
    ]
    assert report["stages"]["transform"]["status"] == "not run"


def test_an_unexpected_failure_keeps_its_type_and_message(tmp_path: Path) -> None:
    record_failure(tmp_path, "render_bspk", OSError("disk full"))
    report = assemble_report(tmp_path, STAGES, run=RUN, task_states={"render_bspk": "up_for_retry"})
    assert report["errors"] == [{"stage": "render_bspk", "message": "OSError: disk full"}]
    assert report["stages"]["render_bspk"]["status"] == "up_for_retry"


def test_the_pipelines_own_errors_are_reported_by_their_message_alone(tmp_path: Path) -> None:
    from pim_images.akeneo.errors import AkeneoAuthError

    record_failure(tmp_path, "extract", AkeneoAuthError("GET /api/rest/v1/attributes", "Forbidden", 403))
    report = assemble_report(tmp_path, STAGES, run=RUN)
    assert report["errors"] == [
        {"stage": "extract", "message": "Akeneo GET /api/rest/v1/attributes answered 403: Forbidden"}
    ]


def test_the_orchestrators_states_decide_the_run_status(tmp_path: Path) -> None:
    record_stage(tmp_path, "extract", Summary(products=1))
    states = {"extract": "success", "transform": "failed", "render_bspk": "upstream_failed"}
    assert assemble_report(tmp_path, STAGES, run=RUN, task_states=states)["status"] == "failed"


def test_a_later_successful_try_replaces_the_failed_one(tmp_path: Path) -> None:
    record_failure(tmp_path, "extract", TimeoutError("read timed out"))
    record_stage(tmp_path, "extract", Summary(products=2))
    report = assemble_report(tmp_path, STAGES, run=RUN)
    assert report["errors"] == []
    assert report["status"] == "success"


def test_a_reader_beside_the_writer_sees_a_whole_report(tmp_path: Path) -> None:
    """The runs page and the run notes read reports while another run writes its own (a run
    beside another ends while the page lists the recent runs): a reader finds the old whole
    report or the new one, never an empty or cut file (docs/runs.md#run-report)."""
    run_dir = tmp_path / "runs" / "scheduled"
    for stage in STAGES:
        record_stage(run_dir, stage, Summary(products=3, warnings=[f"warning {i}" for i in range(2_000)]))
    assemble_report(run_dir, STAGES, run=RUN)
    done = threading.Event()
    torn: list[str] = []

    def read() -> None:
        while not done.is_set():
            for name in (REPORT, REPORT_PAGE):
                data = (run_dir / name).read_bytes()
                if name == REPORT:
                    try:
                        json.loads(data)
                    except ValueError as exc:
                        torn.append(f"{name}: {exc}")
                elif not data.rstrip().endswith(b"</html>"):
                    torn.append(f"{name}: {len(data)} bytes, cut")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(30):
            assemble_report(run_dir, STAGES, run=RUN)
    finally:
        done.set()
        reader.join()
    assert torn == []
