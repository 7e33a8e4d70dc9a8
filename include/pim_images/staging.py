"""Staging paths and small JSON documents (run report entries, pipeline state).

Stages exchange data through files under one folder per run, never through XCom; the files
and their records are :mod:`pim_images.records`. Paths are used only through ``/``, ``open``,
``mkdir`` and ``exists``, so the folder can be a local ``pathlib.Path`` or Airflow's
``ObjectStoragePath`` (a bucket on a cluster) alike.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol


class StagingPath(Protocol):
    """What the stages need of a path: satisfied by ``pathlib.Path`` and ``ObjectStoragePath``."""

    def __truediv__(self, other: str) -> StagingPath: ...
    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any: ...
    def mkdir(self, *args: Any, **kwargs: Any) -> None: ...
    def exists(self) -> bool: ...
    def stat(self) -> Any: ...
    def rename(self, target: Any) -> Any: ...

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
    """Write one JSON document, keys sorted so that reruns write identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8"))


def read_json(path: StagingPath) -> Any:
    with path.open("rb") as f:
        return json.loads(f.read().decode("utf-8"))


def run_folder(run_id: str) -> str:
    """A run's staging folder under the staging base: ``runs/<run id>``, the run id reduced to
    characters every object store and file system takes (docs/runs.md#staging)."""
    return "runs/" + re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
