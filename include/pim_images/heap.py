"""The cyclic garbage collector during a stage (docs/architecture.md#garbage-collection).

A stage makes millions of short-lived objects (decoded records, their lists and dicts). Each
batch of them outlives the collector's young generations and is promoted, and every 25 %
growth of the old generation triggers a full collection, which walks every tracked object of
the process: the tens of thousands of functions, classes and dicts of the modules imported
(pydantic, lxml, msgspec, the stage's own), that are never garbage. Transform made 36 full
collections at 100,000 products, over 100,000 objects each.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


#: blocks open in this process (stages in threads side by side), and whether the first of them
#: found nothing frozen: the last to leave then unfreezes
_blocks = {"open": 0, "unfreeze": False}
_blocks_lock = threading.Lock()


@contextmanager
def old_objects_frozen() -> Iterator[None]:
    """Within the block, objects that existed before it are left out of every collection
    (``gc.freeze``); on leaving, they are handed back to the collector (``gc.unfreeze``), so
    a cycle that was garbage already is still collected later, never leaked.

    Objects made within the block are collected as usual. Blocks open at once in several
    threads (stages side by side in one process) each freeze what exists when they start, and
    the last one to leave hands it all back: one leaving while another runs thawed what the
    other had frozen, and a block starting as another left could keep the process's objects
    frozen for good. When objects were frozen before the first block (a process that froze its
    objects before forking this one, as Airflow's Celery worker does before it starts its pool),
    every object that existed when a block started stays frozen on leaving: unfreezing is the
    first freezer's to do. A garbage cycle among those is then only freed with the process (an
    Airflow task's process ends with its task).
    """
    with _blocks_lock:
        if not _blocks["open"]:
            _blocks["unfreeze"] = not gc.get_freeze_count()
        _blocks["open"] += 1
        gc.freeze()
    try:
        yield
    finally:
        with _blocks_lock:
            _blocks["open"] -= 1
            if not _blocks["open"] and _blocks["unfreeze"]:
                gc.unfreeze()


def frozen_during(stage: Callable[P, R]) -> Callable[P, R]:
    """``stage`` run within :func:`old_objects_frozen`."""

    @functools.wraps(stage)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with old_objects_frozen():
            return stage(*args, **kwargs)

    return run
