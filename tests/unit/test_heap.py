"""The collector during a stage: objects older than the stage are left out, then handed back."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from pim_images.heap import frozen_during, old_objects_frozen


class _Node:
    pass


def _garbage_cycle() -> weakref.ref[_Node]:
    """A cycle nothing refers to (only the collector frees it); a weak reference to watch it."""
    node = _Node()
    node.self = node  # type: ignore[attr-defined]
    return weakref.ref(node)


def test_an_older_cycle_is_spared_within_the_block_and_collected_after() -> None:
    gc.collect()
    old = _garbage_cycle()
    with old_objects_frozen():
        new = _garbage_cycle()
        gc.collect()
        assert old() is not None  # frozen: not looked at
        assert new() is None  # made within: collected as usual
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old() is None  # handed back, then collected


def test_objects_frozen_before_stay_frozen() -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with old_objects_frozen():
            pass
        assert gc.get_freeze_count() >= frozen  # the freezer unfreezes, not the block
    finally:
        gc.unfreeze()


def test_a_stage_wrapped_runs_within_the_block_and_keeps_its_name() -> None:
    @frozen_during
    def stage(x: int) -> tuple[int, int]:
        """Doc."""
        return x, gc.get_freeze_count()

    assert stage(3)[0] == 3 and stage(3)[1] > 0
    assert stage.__name__ == "stage" and stage.__doc__ == "Doc."
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("first_out", [0, 1])
def test_blocks_in_two_threads_keep_objects_frozen_until_the_last_one_leaves(first_out: int) -> None:
    """Stages side by side in one process (tests/stages/test_runs_side_by_side.py): the first
    to leave must not thaw what the other froze, and once both have left nothing stays frozen,
    whichever leaves first."""
    gc.collect()
    entered = [threading.Event(), threading.Event()]
    leave = [threading.Event(), threading.Event()]
    left = [threading.Event(), threading.Event()]

    def stage(k: int) -> None:
        with old_objects_frozen():
            entered[k].set()
            leave[k].wait(10)
        left[k].set()

    threads = [threading.Thread(target=stage, args=(k,)) for k in range(2)]
    threads[0].start()
    assert entered[0].wait(10)
    threads[1].start()
    assert entered[1].wait(10)
    leave[first_out].set()
    assert left[first_out].wait(10)
    assert gc.get_freeze_count() > 0  # the other stage still runs with its objects frozen
    leave[1 - first_out].set()
    for thread in threads:
        thread.join(10)
    assert gc.get_freeze_count() == 0
