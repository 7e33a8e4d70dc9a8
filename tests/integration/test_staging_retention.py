"""Old run folders are removed from staging (docs/runs.md#retention), on a local folder and in an
S3-compatible bucket (moto's server, over HTTP, through Airflow's ``ObjectStoragePath``).

Each case stages five run folders: an ended run and a run that died without its report, both
last written before the cutoff; then, after it, a run in progress (no report yet), an ended
run, and an old run running again (its old report, a new file). Only the two old ones go;
the current run's folder stays however old, and so do the media
cache and the state store beside ``runs/``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from object_store import S3Store, run_s3_server

from pim_images.staging import remove_old_runs
from pim_images_airflow.staging import remove_expired_runs, retention_days

CONN_ID = "pim_images_retention_test"


@pytest.fixture(scope="module")
def store() -> Iterator[S3Store]:
    with run_s3_server() as running, running.connection(CONN_ID):
        yield running


def _write(path: Any, content: bytes = b"{}") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(content)


def _stage_runs(base: Any, backdate: Callable[[], datetime]) -> datetime:
    """Stage the four runs and the shared files; return the cutoff between old and new."""
    _write(base / "runs" / "ended-old" / "products.jsonl")
    _write(base / "runs" / "ended-old" / "report.json")
    _write(base / "runs" / "died-old" / "sfcc" / "catalog.xml")
    _write(base / "runs" / "current" / "products.jsonl")
    _write(base / "runs" / "rerun-old" / "report.json")
    _write(base / "media-cache" / "keys" / "k.json")
    _write(base / "state.sqlite", b"db")
    cutoff = backdate()
    _write(base / "runs" / "in-progress" / "products.jsonl")
    _write(base / "runs" / "ended-new" / "report.json")
    # an old run cleared and running again: its new files beside its old report
    _write(base / "runs" / "rerun-old" / "products.jsonl")
    return cutoff


def _names(base: Any) -> set[str]:
    return {p.name for p in (base / "runs").iterdir()}


def test_old_run_folders_go_from_a_local_folder(tmp_path: Path) -> None:
    def backdate() -> datetime:
        old = time.time() - 40 * 86400
        for path in tmp_path.rglob("*"):
            os.utime(path, (old, old))
        return datetime.now(UTC) - timedelta(days=30)

    cutoff = _stage_runs(tmp_path, backdate)
    done = remove_old_runs(tmp_path, cutoff, keep={"current"})
    assert done.removed == ["died-old", "ended-old"]
    assert _names(tmp_path) == {"current", "in-progress", "ended-new", "rerun-old"}
    assert (tmp_path / "media-cache" / "keys" / "k.json").exists() and (tmp_path / "state.sqlite").exists()
    # without the current run's protection, its folder is as old as the others
    assert remove_old_runs(tmp_path, cutoff).removed == ["current"]


def test_old_run_folders_go_from_a_bucket(store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket's objects cannot be backdated: the cutoff falls between two writes instead."""
    monkeypatch.setenv("PIM_IMAGES_STAGING", store.staging_url(CONN_ID, "retention"))
    base = ObjectStoragePath(store.staging_url(CONN_ID, "retention"))

    def backdate() -> datetime:
        time.sleep(1.1)  # S3's LastModified has a resolution of one second
        cutoff = datetime.now(UTC)
        time.sleep(1.1)
        return cutoff

    cutoff = _stage_runs(base, backdate)
    done = remove_old_runs(base, cutoff, keep={"current"})
    assert done.removed == ["died-old", "ended-old"]
    keys = store.keys("retention/")
    assert {k.split("/")[2] for k in keys if k.startswith("retention/runs/")} == {
        "current",
        "in-progress",
        "ended-new",
        "rerun-old",
    }
    assert {"retention/media-cache/keys/k.json", "retention/state.sqlite"} <= keys.keys()
    # the DAG's call: a day's retention keeps every folder written in the last seconds
    monkeypatch.setenv("PIM_IMAGES_STAGING_RETENTION_DAYS", "1")
    assert remove_expired_runs("current").removed == []
    monkeypatch.setenv("PIM_IMAGES_STAGING_RETENTION_DAYS", "off")
    assert remove_expired_runs("current") is None


def test_the_retention_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIM_IMAGES_STAGING_RETENTION_DAYS", raising=False)
    assert retention_days() == 30
    monkeypatch.setenv("PIM_IMAGES_STAGING_RETENTION_DAYS", "7.5")
    assert retention_days() == 7.5
    for wrong in ("0.5", "soon", "-3"):
        monkeypatch.setenv("PIM_IMAGES_STAGING_RETENTION_DAYS", wrong)
        with pytest.raises(ValueError, match=f"at least 1, or off, got '{wrong}'"):
            retention_days()


@pytest.mark.parametrize("kind", ["path", "object_storage_path"])
def test_two_runs_removing_old_folders_at_once_both_go_on(tmp_path: Path, kind: str) -> None:
    """Two runs starting together (a backfill beside the schedule) list the same old folders and
    remove them side by side: a folder or file the other run removed first is gone, not an error,
    and every old folder goes (docs/runs.md#retention)."""
    base: Any = tmp_path if kind == "path" else ObjectStoragePath(f"file://{tmp_path}")
    cutoff = datetime.now(UTC) - timedelta(days=30)
    old = time.time() - 40 * 86400
    for rnd in range(5):
        for i in range(40):
            for j in range(4):
                path = tmp_path / "runs" / f"old-{rnd}-{i}" / "report" / f"stage{j}.json"
                _write(path)
                os.utime(path, (old, old))
        for name in ("backfill", "scheduled"):
            _write(base / "runs" / name / "report" / "validate_config.json")
        assert _retentions_side_by_side(base, cutoff) == []
        assert _names(tmp_path) == {"backfill", "scheduled"}


def _retentions_side_by_side(base: Any, cutoff: datetime) -> list[BaseException]:
    """The retention of runs ``backfill`` and ``scheduled``, started at once; what they raised."""
    start = threading.Barrier(2)
    failures: list[BaseException] = []
    threads = [
        threading.Thread(target=_retention_beside, args=(base, cutoff, name, start, failures))
        for name in ("backfill", "scheduled")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def _retention_beside(
    base: Any, cutoff: datetime, name: str, start: threading.Barrier, failures: list[BaseException]
) -> None:
    """One run's retention, started with the other's."""
    start.wait()
    try:
        remove_old_runs(base, cutoff, keep={name})
    except BaseException as exc:  # the test's assertion names it
        failures.append(exc)


def test_two_runs_removing_old_folders_from_a_bucket_at_once_both_go_on(
    store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same side by side in a bucket (docs/runs.md#retention)."""
    base = ObjectStoragePath(store.staging_url(CONN_ID, "side-by-side"))
    for i in range(20):
        _write(base / "runs" / f"old-{i}" / "report.json")
    time.sleep(1.1)  # S3's LastModified has a resolution of one second
    cutoff = datetime.now(UTC)
    time.sleep(1.1)
    for name in ("backfill", "scheduled"):
        _write(base / "runs" / name / "report" / "validate_config.json")
    assert _retentions_side_by_side(base, cutoff) == []
    assert {k.split("/")[2] for k in store.keys("side-by-side/")} == {"backfill", "scheduled"}
