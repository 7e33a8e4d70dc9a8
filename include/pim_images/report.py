"""The run report: every stage's counts, errors and warnings in one ``report.json`` per run.

An ops engineer paged at night opens one file, not eleven task logs: which stage failed and
why (each problem naming the code or value at fault), every image skipped and why, and
whether the image configuration changed since the last successful run (which made the run a
full import). Each stage records its entry under ``report/<stage>.json`` as it ends (success
or failure, each try overwriting the last); :func:`assemble_report` joins them at the end of
the run, whatever happened, so parallel stages never write the same file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from pim_images import staging
from pim_images.errors import InputError
from pim_images.outline import report_html
from pim_images.staging import MAX_WARNINGS, StagingPath

REPORT = "report.json"
#: The same report as a page for people (:func:`pim_images.outline.report_html`).
REPORT_PAGE = "report.html"
STAGES_DIR = "report"
#: Warnings kept verbatim per stage in the report (the rest are counted): enough to list
#: every skipped image of a bad day, small enough to open in an editor.
MAX_REPORT_WARNINGS = 10_000
#: Airflow task states that make a run failed.
FAILED_STATES = frozenset({"failed", "upstream_failed"})


def shown(value: object, limit: int = 40) -> str:
    """A value as a warning quotes it: its ``repr`` (control characters and lone surrogates
    escaped), the first ``limit`` characters of a longer text followed by ``...``."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}..."
    return repr(value)


class StageSummary:
    """Base of the stage summaries (dataclasses with a ``warnings`` list).

    The summary keeps the warnings for the report: every one, or the first
    :data:`MAX_REPORT_WARNINGS` (all the report quotes) with the number of the others in a
    ``warnings_dropped`` field (:class:`Warnings`), so that a stage's memory does not grow with
    its warnings. :meth:`to_dict`, which goes to XCom, keeps the first
    :data:`~pim_images.staging.MAX_WARNINGS` and their total.
    """

    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        warnings = data.get("warnings")
        if warnings is not None:
            data["warnings"] = warnings[:MAX_WARNINGS]
            data["warnings_total"] = len(warnings) + data.pop("warnings_dropped", 0)
        return data


class Warnings:
    """A stage's warnings as it gathers them: the first ``keep`` (:data:`MAX_REPORT_WARNINGS`,
    all the report quotes) in :attr:`kept`, the others only counted (:attr:`dropped`): the
    summary's ``warnings`` and ``warnings_dropped`` (:class:`StageSummary`)."""

    def __init__(self, keep: int | None = None) -> None:
        self.kept: list[str] = []
        self.dropped = 0
        self._keep = MAX_REPORT_WARNINGS if keep is None else keep

    def append(self, message: str) -> None:
        if len(self.kept) < self._keep:
            self.kept.append(message)
        else:
            self.dropped += 1


def record_stage(run_dir: StagingPath, stage: str, summary: Any) -> dict[str, Any]:
    """Record a stage that ended well: its summary (as XCom carries it) and every warning."""
    warnings = list(getattr(summary, "warnings", None) or [])
    entry = {
        "stage": stage,
        "status": "success",
        "summary": summary.to_dict() if hasattr(summary, "to_dict") else dict(summary),
        "errors": [],
        "warnings": warnings[:MAX_REPORT_WARNINGS],
        "warnings_total": len(warnings) + getattr(summary, "warnings_dropped", 0),
    }
    staging.write_json(_stage_path(run_dir, stage), entry)
    return entry


def record_failure(run_dir: StagingPath, stage: str, exc: BaseException) -> dict[str, Any]:
    """Record a stage that failed: each problem of bad input, else the error's message (with
    its type when it is not one of the pipeline's own, whose messages name their cause)."""
    if isinstance(exc, InputError):
        errors = exc.problems
    elif type(exc).__module__.startswith("pim_images."):
        errors = [str(exc)]
    else:
        errors = [f"{type(exc).__name__}: {exc}"]
    entry = {
        "stage": stage,
        "status": "failed",
        "summary": {},
        "errors": errors,
        "warnings": [],
        "warnings_total": 0,
    }
    staging.write_json(_stage_path(run_dir, stage), entry)
    return entry


def assemble_report(
    run_dir: StagingPath,
    stages: Iterable[str],
    *,
    run: dict[str, Any],
    task_states: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Join the stages' entries into ``report.json`` (and its page, ``report.html``): errors and
    warnings in pipeline order, each stage's status and figures under its name.

    :param stages: every stage of the pipeline, in order; one that left no entry did not run.
    :param run: what identifies the run (DAG, run id, data interval), copied as is.
    :param task_states: the orchestrator's state of each stage, when known: it also knows the
        stages that never ran (skipped, upstream failed), which left no entry.
    """
    states = task_states or {}
    entries: dict[str, dict[str, Any]] = {}
    for stage in stages:
        path = _stage_path(run_dir, stage)
        entry = staging.read_json(path) if path.exists() else None
        status = states.get(stage) or (entry["status"] if entry else "not run")
        entries[stage] = {"status": status, **({"entry": entry} if entry else {})}
    checked = entries.get("validate_config", {}).get("entry", {}).get("summary", {})
    report = {
        "run": run,
        "status": _run_status(entries),
        "configuration": checked.get("config"),
        "configuration_changed": checked.get("configuration_changed"),
        "runs_overlapped": checked.get("runs_overlapped"),
        "errors": [
            {"stage": stage, "message": message}
            for stage, e in entries.items()
            for message in e.get("entry", {}).get("errors", [])
        ],
        "warnings_total": sum(e.get("entry", {}).get("warnings_total", 0) for e in entries.values()),
        "warnings": [
            {"stage": stage, "message": message}
            for stage, e in entries.items()
            for message in e.get("entry", {}).get("warnings", [])
        ],
        "stages": {
            stage: {
                "status": e["status"],
                "summary": _counts(e.get("entry", {}).get("summary", {})),
                "warnings_total": e.get("entry", {}).get("warnings_total", 0),
            }
            for stage, e in entries.items()
        },
    }
    staging.write_json(run_dir / REPORT, report)
    staging.write_whole(run_dir / REPORT_PAGE, report_html(report).encode("utf-8"))
    return report


def _run_status(entries: dict[str, dict[str, Any]]) -> str:
    statuses = {e["status"] for e in entries.values()}
    return "failed" if statuses & FAILED_STATES else "success"


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    """A stage's figures for the report's overview: numbers and short lists, no warnings."""
    return {k: v for k, v in summary.items() if k not in ("warnings", "config")}


def _stage_path(run_dir: StagingPath, stage: str) -> StagingPath:
    return run_dir / STAGES_DIR / f"{stage}.json"
