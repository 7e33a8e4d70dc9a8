"""The on-disk index (docs/architecture.md#streaming-and-memory): what it orders and keeps is what
``sorted``, ``set`` and a dict would give, and it leaves no file behind."""

from __future__ import annotations

import os

import msgspec
import pytest

from pim_images.diskindex import PAGE_BYTES, DiskIndex
from pim_images.records import MEDIA, MediaRecord

KEYS = ["b", "a", "é", "Z", "a", "日本", "a/b", "a b", "", "ä", "b"]


def test_sorted_unique_is_pythons_order() -> None:
    with DiskIndex() as index:
        assert list(index.sorted_unique("keys", iter(KEYS))) == sorted(set(KEYS))


@pytest.mark.parametrize("clustered", [False, True])
def test_a_table_keeps_the_last_record_of_a_key_and_decodes_it(clustered: bool) -> None:
    records = [
        MediaRecord(key="k1", sha256="1" * 64, size=1, format="JPEG"),
        MediaRecord(key="k2", sha256=None, size=0, format=None, error="missing", broken=True),
        MediaRecord(key="k1", sha256="2" * 64, size=2, format="PNG"),
    ]
    with DiskIndex() as index:
        table = index.table("media", MEDIA.decode, clustered=clustered)
        table.load((r.key, msgspec.json.encode(r) + b"\n") for r in records)
        assert table["k1"] == records[2]
        assert table.get("k2") == records[1]
        assert "k3" not in table and table.get("k3") is None
        assert list(table) == ["k1", "k2"] and len(table) == 2


def test_its_folder_is_removed_when_closed() -> None:
    index = DiskIndex()
    folder = os.path.dirname(index.db.execute("PRAGMA database_list").fetchone()[2])
    assert os.path.isdir(folder)
    index.close()
    assert not os.path.exists(folder)


@pytest.mark.parametrize("page_bytes", [PAGE_BYTES, 16384])
def test_its_file_is_written_in_the_page_size_asked(page_bytes: int) -> None:
    """The page size applies only if set before the first table: a table made first keeps 4 KiB."""
    with DiskIndex(page_bytes=page_bytes) as index:
        index.table("media", MEDIA.decode).load([("k", b"{}\n")])
        assert index.db.execute("PRAGMA page_size").fetchone()[0] == page_bytes
