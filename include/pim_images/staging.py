"""Run-scoped staging files: JSON Lines in, JSON Lines out, streaming.

Stages exchange data through files under one folder per run, never through XCom. Paths are
used only through ``/``, ``open``, ``mkdir`` and ``exists``, so the folder can be a local
``pathlib.Path`` or Airflow's ``ObjectStoragePath`` (a bucket on a cluster) alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
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


#: Warnings kept verbatim in a stage summary; the rest are only counted (XCom stays small).
MAX_WARNINGS = 50

# File names inside a run's staging folder; the one place they are spelt.
ATTRIBUTES = "attributes.json"
PRODUCTS = "products.jsonl"
MASTER_PRODUCTS = "products_of_masters.jsonl"
MEDIA = "media.jsonl"
ASSETS = "assets.jsonl"
IMAGES = "images.jsonl"
IMAGE_SUMMARY = "image_summary.json"
SFCC_DIR = "sfcc"
BSPK_DIR = "bspk"


def write_json(path: StagingPath, data: Any) -> None:
    """Write one JSON document, keys sorted so that reruns write identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8"))


def read_json(path: StagingPath) -> Any:
    with path.open("rb") as f:
        return json.loads(f.read().decode("utf-8"))


def write_jsonl(path: StagingPath, records: Iterable[dict[str, Any]]) -> int:
    """Stream records to a JSON Lines file; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("wb") as f:
        for record in records:
            f.write(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
            f.write(b"\n")
            count += 1
    return count


def iter_jsonl(path: StagingPath) -> Iterator[dict[str, Any]]:
    """Stream records back from a JSON Lines file."""
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                yield json.loads(line.decode("utf-8"))
