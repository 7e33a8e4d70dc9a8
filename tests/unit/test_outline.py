"""The run's note and the report page, from a report (docs/runs.md#run-report)."""

from __future__ import annotations

from typing import Any

from lxml import html

from pim_images.outline import outline, report_html, run_note


def _report(**overrides: Any) -> dict[str, Any]:
    report = {
        "run": {"dag_id": "pim_images_import", "run_id": "manual__1", "data_interval_start": None},
        "status": "success",
        "configuration": {"importMode": "differential"},
        "configuration_changed": False,
        "errors": [],
        "warnings_total": 2,
        "warnings": [
            {"stage": "render_bspk", "message": "product 'A' image attribute 'x': GIF is not taken by BSPK"},
            {"stage": "transform", "message": "product '<script>alert(1)</script>': media missing"},
        ],
        "stages": {
            "transform": {"status": "success", "summary": {"products": 7, "images": 19}, "warnings_total": 1},
            "render_bspk": {"status": "success", "summary": {"rows": 12}, "warnings_total": 1},
            "deliver_bspk": {
                "status": "success",
                "summary": {
                    "target": "bspk",
                    "remote_dir": "/bspk/in/",
                    "files": ["P.csv"],
                    "sizes": {"P.csv": 1234567},
                    "sha256": {"P.csv": "ab" * 32},
                },
                "warnings_total": 0,
            },
            "deliver_sfcc": {"status": "skipped", "summary": {}, "warnings_total": 0},
        },
    }
    return {**report, **overrides}


def test_the_note_gives_status_mode_counts_warnings_and_files() -> None:
    assert run_note(_report()).split("\n\n") == [
        "**success**, differential import",
        "7 products, 19 images",
        "2 warnings: transform 1, render_bspk 1",
        "delivered bspk: `/bspk/in/P.csv` (1,234,567 bytes)",
    ]


def test_a_delivery_with_nothing_to_deliver_says_why_it_was_skipped() -> None:
    reason = "nothing to deliver to BSPK: this run has no product for it"
    stages = {
        "transform": {"status": "success", "summary": {"products": 0, "images": 0}, "warnings_total": 0},
        "deliver_bspk": {"status": "skipped", "summary": {"skipped": reason}, "warnings_total": 0},
    }
    assert run_note(_report(stages=stages, warnings_total=0)).split("\n\n") == [
        "**success**, differential import",
        "0 products, 0 images",
        f"deliver_bspk skipped: {reason}",
        "no file delivered",
    ]


def test_a_differential_run_after_a_configuration_change_is_called_full() -> None:
    assert outline(_report(configuration_changed=True)).mode == "full (configuration changed)"


def test_a_differential_run_after_runs_overlapped_is_called_full() -> None:
    assert outline(_report(runs_overlapped=True)).mode == "full (runs overlapped)"


def test_a_failed_runs_note_lists_its_first_errors_on_one_line_each() -> None:
    errors = [{"stage": "validate", "message": f"rule {i}:\n  offender {i}"} for i in range(7)]
    note = run_note(_report(status="failed", errors=errors, stages={}))
    lines = note.split("\n\n")
    assert lines[0] == "**failed**, differential import"
    assert lines[1:6] == [f"error: validate: rule {i}: offender {i}" for i in range(5)]
    assert lines[6] == "... and 2 more errors (see the report)"


def test_the_page_escapes_every_value_and_lists_files_and_warnings() -> None:
    page = report_html(_report())
    assert "<script>" not in page
    tree = html.fromstring(page)
    assert "/bspk/in/P.csv" in tree.text_content()
    assert "ab" * 32 in tree.text_content()
    assert "product '<script>alert(1)</script>': media missing" in tree.text_content()


def test_a_run_stopped_by_its_configuration_says_so() -> None:
    report = _report(
        status="failed", configuration=None, errors=[{"stage": "validate_config", "message": "x"}]
    )
    assert run_note(report).split("\n\n")[0] == "**failed**, before its configuration was checked"
