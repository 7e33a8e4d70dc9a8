"""Run reports for the tests of the runs page, written by the pipeline's own report code
(:mod:`pim_images.report`) as the DAG's stages and its teardown write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pim_images import report
from pim_images.staging import run_folder

STAGES = ("validate_config", "download_media", "transform", "deliver_bspk")


def write_run(
    base: Path,
    run_id: str,
    *,
    started: datetime,
    seconds: float,
    images: int,
    products: int = 10,
    failed: bool = False,
) -> Path:
    """One run's ``report.json`` and ``report.html`` under ``base/runs/<run folder>``: a
    differential import of ``products`` products and ``images`` images delivered as one BSPK
    file, or a run whose delivery failed.

    :return: the run's folder.
    """
    run_dir = base / run_folder(run_id)
    config = {"importMode": "differential", "targets": ["bspk"]}
    report.record_stage(run_dir, "validate_config", {"config": config, "configuration_changed": False})
    report.record_stage(run_dir, "download_media", {"downloaded": images - 2, "from_cache": 2})
    report.record_stage(run_dir, "transform", {"products": products, "images": images})
    if failed:
        report.record_failure(run_dir, "deliver_bspk", OSError("sftp.example.com refused the upload"))
    else:
        name = f"PRODUCT-IMAGES_V2_{started:%Y%m%dT%H%M%SZ}.csv"
        delivered = {
            "target": "bspk",
            "remote_dir": "/bspk/incoming",
            "files": [name],
            "bytes": 1234,
            "sizes": {name: 1234},
            "sha256": {name: "ab" * 32},
        }
        report.record_stage(run_dir, "deliver_bspk", delivered)
    run = {
        "dag_id": "pim_images_import",
        "run_id": run_id,
        "start_date": started.isoformat(),
        "end_date": (started + timedelta(seconds=seconds)).isoformat(),
    }
    states = {"deliver_bspk": "failed"} if failed else {}
    report.assemble_report(run_dir, STAGES, run=run, task_states=states)
    return run_dir


def write_runs(base: Path) -> list[str]:
    """Three runs a day apart (the last one failed); their run ids, oldest first."""
    ids = []
    for day, (images, seconds, failed) in enumerate([(40, 95, False), (64, 150, False), (12, 30, True)]):
        started = datetime(2026, 3, 1 + day, 0, 0, 5, tzinfo=UTC)
        run_id = f"scheduled__{started:%Y-%m-%dT%H:%M:%S}+00:00"
        write_run(base, run_id, started=started, seconds=seconds, images=images, failed=failed)
        ids.append(run_id)
    return ids
