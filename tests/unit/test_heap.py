"""The collector during a stage: objects older than the stage are left out, then handed back."""

from __future__ import annotations

import gc
import weakref

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
