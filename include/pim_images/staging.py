"""Staging paths and small JSON documents (run report entries, pipeline state).

Stages exchange data through files under one folder per run, never through XCom; the files
and their records are :mod:`pim_images.records`. Paths are used only through ``/``, ``open``,
``mkdir`` and ``exists``, so the folder can be a local ``pathlib.Path`` or Airflow's
``ObjectStoragePath`` (a bucket on a cluster) alike.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol


class StagingPath(Protocol):
    """What the stages need of a path: satisfied by ``pathlib.Path`` and ``ObjectStoragePath``."""

    def __truediv__(self, other: str) -> StagingPath: ...
    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any: ...
    def mkdir(self, *args: Any, **kwargs: Any) -> None: ...
    def exists(self) -> bool: ...
    def stat(self) -> Any: ...
    def rename(self, target: Any) -> Any: ...
    def iterdir(self) -> Iterator[Any]: ...
    def rglob(self, pattern: str) -> Iterator[Any]: ...
    def is_file(self) -> bool: ...

    @property
    def parent(self) -> StagingPath: ...

    @property
    def name(self) -> str: ...


def is_local(path: StagingPath) -> bool:
    """Whether ``path`` is on a local file system (``pathlib.Path``, ``file://``), where a rename
    is atomic, rather than in object storage (``s3://``...), where a rename is a copy and a
    delete, and where a single write of a whole object is what is atomic."""
    return getattr(path, "protocol", "file") in ("file", "local", "")


#: Warnings kept verbatim in a stage summary; the rest are only counted (XCom stays small).
MAX_WARNINGS = 50


def write_json(path: StagingPath, data: Any) -> None:
    """Write one JSON document, keys sorted so that reruns write identical bytes, whole
    (:func:`write_whole`)."""
    write_whole(path, json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8"))


def write_whole(path: StagingPath, data: bytes) -> None:
    """Write ``data`` so that a reader (the runs page listing every run's report while another
    run writes its own) sees the old whole file or the new one, never a cut one: on a local disk
    under a name unique to this writer, then renamed; in a bucket one PUT of the whole object
    (docs/runs.md#run-report)."""
    if not is_local(path):
        with path.open("wb") as f:
            f.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.{uuid.uuid4().hex}.part"
    with partial.open("wb") as f:
        f.write(data)
    partial.rename(path)


def read_json(path: StagingPath) -> Any:
    with path.open("rb") as f:
        return json.loads(f.read().decode("utf-8"))


def run_folder(run_id: str) -> str:
    """A run's staging folder under the staging base: ``runs/<run id>``, the run id reduced to
    characters every object store and file system takes (docs/runs.md#staging)."""
    return "runs/" + re.sub(r"[^A-Za-z0-9._-]", "_", run_id)


@dataclass(frozen=True)
class Retention:
    """What :func:`remove_old_runs` did: the run folders removed and kept (names under ``runs/``)."""

    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def remove_old_runs(base: StagingPath, cutoff: datetime, keep: Collection[str] = ()) -> Retention:
    """Remove the run folders under ``<base>/runs/`` nothing was written to since ``cutoff``
    (docs/runs.md#retention).

    A folder's last write is its newest file's: a run in progress (a new one, or an old run
    cleared and running again beside its old report) writes at every stage, so its folder is
    recent, and a run that died without its report is removed once its last file is as old.
    The media cache and the state store are not under ``runs/`` and never touched.

    :param base: the staging base (a local folder or a bucket, ``StagingPath``).
    :param cutoff: an aware datetime; folders last written before it go.
    :param keep: run folder names never removed (the current run's). A folder without any file
        is kept too (a run that has only just started).
    :return: the folders removed and kept, sorted by name. Two runs may remove old folders at
        once (a backfill beside the schedule): a folder or file the other removed first is
        gone, not an error; such a folder is in ``removed`` of both.
    :raises OSError: listing or removing failed (the caller decides whether a run fails for it).
    """
    runs = base / "runs"
    if not runs.exists():
        return Retention()
    limit = cutoff.timestamp()
    removed, kept = [], []
    for folder in sorted(runs.iterdir(), key=lambda p: p.name):
        try:
            written = _last_write(folder)
        except FileNotFoundError:  # another run's retention is removing it
            removed.append(folder.name)
            continue
        if folder.name in keep or written is None or written >= limit:
            kept.append(folder.name)
            continue
        _remove_tree(folder)
        removed.append(folder.name)
    return Retention(removed=removed, kept=kept)


def _last_write(folder: Any) -> float | None:
    """When ``folder`` was last written (POSIX seconds): its newest file, ``report.json``
    included (an old run cleared and running again writes new files beside its old report),
    ``None`` when it holds no file (an object store has no empty folders; a local one just
    created by a starting run)."""
    times = []
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                times.append(float(path.stat().st_mtime))
        except FileNotFoundError:  # removed since listed (another run's retention)
            continue
    return max(times, default=None)


def _remove_tree(folder: Any) -> None:
    """Remove ``folder`` and what it holds; what another remover took first is skipped."""
    if isinstance(folder, Path) or is_local(folder):
        # fsspec's local rm is a plain rmtree, which stops at the first file another run removed
        shutil.rmtree(getattr(folder, "path", folder), onerror=_gone_is_fine)
    else:  # ObjectStoragePath in a bucket: deleting an object already deleted is no error,
        try:  # but a folder another run emptied first is "not found"
            folder.fs.rm(folder.path, recursive=True)
        except FileNotFoundError:
            pass


def _gone_is_fine(_function: Any, _path: str, exc_info: Any) -> None:
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


def retention_cutoff(days: float, now: datetime | None = None) -> datetime:
    """``now`` (UTC by default) minus ``days``."""
    return (now or datetime.now(UTC)) - timedelta(days=days)
