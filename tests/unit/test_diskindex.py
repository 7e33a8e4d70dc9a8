"""The on-disk index (docs/architecture.md#streaming-and-memory): what it orders and keeps is what
``sorted``, ``set`` and a dict would give, and it leaves no file behind, not even when its process
is killed (the next index removes the folder of a dead process; real processes, a real SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from pim_images.diskindex import LOCK_NAME, PAGE_BYTES, DiskIndex
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


#: a process that makes an index in the temporary folder it is given, says where, and waits
_HOLDER = """
import sys, tempfile, time
tempfile.tempdir = sys.argv[1]
from pim_images.diskindex import DiskIndex
index = DiskIndex(prefix="pim-images-media-")
index.sorted_unique("keys", ["b", "a"])
print(index.db.execute("PRAGMA database_list").fetchone()[2], flush=True)
time.sleep(600)
"""


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder of this test's indexes (and of the processes it starts)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def holder(temporary: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process holding an index: the process and its index's folder."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(temporary)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process, Path(process.stdout.readline().strip()).parent
    finally:
        process.kill()
        process.wait()


def test_the_folder_of_a_killed_process_is_removed_by_the_next_index(
    holder: tuple[subprocess.Popen[str], Path],
) -> None:
    process, folder = holder
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (folder / "index.sqlite").exists()  # what a killed stage leaves

    with DiskIndex() as index:
        assert not folder.exists()
        index.sorted_unique("keys", ["x"])  # its own folder is whole


def test_the_folder_of_a_living_process_is_kept(holder: tuple[subprocess.Popen[str], Path]) -> None:
    process, folder = holder
    with DiskIndex():
        pass
    assert process.poll() is None and (folder / "index.sqlite").exists()


def test_a_folder_without_its_lock_file_is_kept(temporary: Path) -> None:
    """An older release's folder (or one being made) is not known to be an orphan."""
    older = temporary / "pim-images-transform-abc123"
    older.mkdir()
    (older / "index.sqlite").write_bytes(b"")
    with DiskIndex() as index:
        assert older.exists()
        folder = Path(index.db.execute("PRAGMA database_list").fetchone()[2]).parent
        assert (folder / LOCK_NAME).exists()


def test_this_process_never_removes_its_own_folder(temporary: Path) -> None:
    """Where ``flock`` is a process's own POSIX lock (NFS), this process could take its own
    folders' locks: they are kept all the same."""
    with DiskIndex() as index:
        folder = Path(index.db.execute("PRAGMA database_list").fetchone()[2]).parent
        os.close(index._lock)  # its lock released, as another process would see it on NFS
        index._lock = -1
        with DiskIndex():
            assert (folder / "index.sqlite").exists()


def test_where_the_file_system_takes_no_lock_the_index_works_unlocked(
    temporary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(37, "No locks available")  # ENOLCK, as a file system without flock answers

    monkeypatch.setattr("pim_images.diskindex.fcntl.flock", no_locks)
    with DiskIndex() as index:
        folder = Path(index.db.execute("PRAGMA database_list").fetchone()[2]).parent
        assert list(index.sorted_unique("keys", ["b", "a"])) == ["a", "b"]
        assert sorted(p.name for p in folder.iterdir()) == ["index.sqlite"]
    assert not folder.exists()
