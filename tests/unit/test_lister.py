"""The Lister's walks and their spools (docs/akeneo.md#concurrent-listing): items reach the
reader while the walks still run, merged or in turn, and a walk's error where its items end.

Walks here are plain generators (the Lister runs any walk; the HTTP side is in
tests/integration/test_akeneo_client.py)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from pim_images.akeneo.client import LISTING_SWITCH_INTERVAL, SPOOL_BATCH, Lister
from pim_images.records import Product, Value

#: items of a walk before it waits: several spool batches
MANY = SPOOL_BATCH * 4 + 7


def _held_walk(
    prefix: str, first: int, then: int, held: threading.Event, ended: threading.Event
) -> Iterator[tuple[str, str]]:
    """``first`` items, a wait for ``held`` (10 s at most), ``then`` more, then ``ended`` set."""
    for n in range(first):
        yield f"{prefix}{n:06d}", f"{prefix}{n:06d}"
    held.wait(10)
    for n in range(first, first + then):
        yield f"{prefix}{n:06d}", f"{prefix}{n:06d}"
    ended.set()


@pytest.mark.parametrize("merge", [False, True])
def test_items_reach_the_reader_while_their_walks_still_run(merge: bool) -> None:
    seen, a_ended, b_ended = threading.Event(), threading.Event(), threading.Event()
    with Lister(2) as lister:
        items = lister.submit(
            [
                lambda: _held_walk("a", MANY, 5, seen, a_ended),
                lambda: _held_walk("b", MANY, 5, seen, b_ended),
            ],
            merge=merge,
        )()
        first = next(items)
        running = not a_ended.is_set() and not b_ended.is_set()
        seen.set()
        rest = list(items)
    assert running, "the first item came only once a walk had ended"
    expected = [f"a{n:06d}" for n in range(MANY + 5)] + [f"b{n:06d}" for n in range(MANY + 5)]
    assert [first, *rest] == (sorted(expected) if merge else expected)


def test_a_merge_keeps_the_order_of_one_walk_and_drops_shared_ends() -> None:
    walks = [
        lambda: ((k, k) for k in range(0, 3000, 3)),
        lambda: ((k, k) for k in range(1, 3000, 3)),
        lambda: ((k, k) for k in [*range(2, 3000, 3), 2999]),  # 2999: also the second walk's
    ]
    with Lister(2) as lister:
        assert list(lister.submit(walks, unique=True)()) == list(range(3000))


def test_a_failed_walk_raises_where_its_items_end() -> None:
    def failing() -> Iterator[tuple[int, int]]:
        yield from ((k, k) for k in range(3))
        raise RuntimeError("page 2 refused")

    got: list[int] = []
    with Lister(2) as lister:
        items = lister.submit([lambda: ((k, k) for k in range(10, 15)), failing], merge=False)()
        with pytest.raises(RuntimeError, match="page 2 refused"):
            got.extend(items)
    assert got == [10, 11, 12, 13, 14, 0, 1, 2]


def test_a_walk_never_started_does_not_hold_its_reader_when_the_lister_is_left() -> None:
    release = threading.Event()

    def blocking() -> Iterator[tuple[int, int]]:
        release.wait(10)
        yield 0, 0

    ended: list[object] = []
    with Lister(1) as lister:  # one worker: the second walk waits behind the first
        items = lister.submit([blocking, lambda: iter([(1, 1)])], merge=False)
        reader = threading.Thread(target=lambda: ended.append(list(items())))
        reader.start()
        threading.Timer(0.2, release.set).start()  # once the Lister is being left
    reader.join(10)
    assert not reader.is_alive(), "the reader still waits for a walk that was cancelled"
    assert ended == [[]]  # the first walk stopped by the Lister's end, the second never run


def test_the_switch_interval_is_short_while_a_lister_is_open_and_put_back_after() -> None:
    before = sys.getswitchinterval()
    with Lister(1):
        with Lister(1):
            assert sys.getswitchinterval() == min(before, LISTING_SWITCH_INTERVAL)
        assert sys.getswitchinterval() == min(before, LISTING_SWITCH_INTERVAL)
    assert sys.getswitchinterval() == before


def test_items_come_back_as_their_type_even_past_what_messagepack_holds() -> None:
    big = [Value(data=2**70)]  # no PIM built on PHP sends it; a sandbox or proxy might

    def product(n: int) -> Product:
        return Product(uuid=f"u{n}", identifier=f"SKU-{n}", family=None, parent=None, values={"size": big})

    products = [product(n) for n in range(600)]
    with Lister(1) as lister:
        listed = list(lister.submit([lambda: ((p.uuid, p) for p in products)], item_type=Product)())
    assert listed == products and isinstance(listed[3], Product)
