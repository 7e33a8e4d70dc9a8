"""On-disk indexes for stages that look records up, group or order them at any catalog size
(docs/architecture.md#streaming-and-memory): SQLite files (the standard library's ``sqlite3``) in
a local temporary folder, never in the staging folder, which may be a bucket.

Records are kept as the JSON lines their staging file holds, bytes as they are (their line
break too), and decoded when looked up, so memory holds only SQLite's page cache and the records
in use. Keys are text, which SQLite compares as UTF-8 bytes: its order is
Python's order of the strings (code point order), so what it sorts comes out as ``sorted`` would
give it. (A key must encode as UTF-8: a lone surrogate cannot come from a PIM's database.)
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

#: SQLite's page cache per connection, in KiB (its default is 2 MiB): enough for the indexes'
#: upper pages and its sorts' runs, a bound whatever the catalog's size.
CACHE_KIB = 4 * 1024

#: SQLite's own page size, in bytes: an index whose lookups scatter over a large file reads
#: fewer pages in larger ones (:class:`DiskIndex`'s ``page_bytes``).
PAGE_BYTES = 4096


#: What every index folder's name starts with (then the stage's prefix goes on).
FOLDER_PREFIX = "pim-images-"
#: The file of an index folder its process holds locked (``flock``) as long as it lives.
LOCK_NAME = "owner.lock"


class DiskIndex:
    """One SQLite file in its own temporary folder, removed by :meth:`close` (or ``with``).

    A process killed meanwhile (a task's timeout, the OOM killer, a worker's restart) cannot
    remove it, and an index is about the size of the run's staging files (some 600 MB at
    100,000 products): so a new index first removes the folders of dead processes
    (:func:`remove_orphans`; docs/architecture.md#streaming-and-memory).

    ``page_bytes`` is SQLite's page size (a power of two, 512 to 65,536): its page cache holds
    :data:`CACHE_KIB` whatever the page size.

    Written without a journal nor syncs: it lives as long as the stage, a crash only loses a
    temporary file. Each load is one transaction (``with db``: one per row would write the
    file each time).
    """

    def __init__(self, prefix: str = "pim-images-index-", page_bytes: int = PAGE_BYTES) -> None:
        if not prefix.startswith(FOLDER_PREFIX):
            raise ValueError(f"an index folder's prefix starts with {FOLDER_PREFIX!r}, not {prefix!r}")
        remove_orphans()
        self._folder = tempfile.TemporaryDirectory(prefix=prefix)
        self._owned = os.path.realpath(self._folder.name)
        _OWN.add(self._owned)
        self._lock = -1
        self._path = os.path.join(self._folder.name, "index.sqlite")
        try:
            self._lock = _owner_lock(self._folder.name)
            self.db = sqlite3.connect(self._path)
            pragmas = (
                f"page_size = {page_bytes}",
                "journal_mode = OFF",
                "synchronous = OFF",
                f"cache_size = -{CACHE_KIB}",
            )
            for pragma in pragmas:  # the page size first: it is set before the file's first table
                self.db.execute(f"PRAGMA {pragma}")
            self.db.execute("PRAGMA temp_store = FILE")
        except BaseException:
            self._remove()
            raise

    def close(self) -> None:
        self.db.close()
        self._remove()

    def _remove(self) -> None:
        """The index file first, the lock last: killed in between, what is left is small, or
        still locked."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path)
        self._folder.cleanup()
        _OWN.discard(self._owned)
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

    def __enter__(self) -> DiskIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def table(
        self, name: str, decode: Callable[[bytes], T], cache: int = 0, *, clustered: bool = False
    ) -> RecordTable[T]:
        """A new key -> record table (:class:`RecordTable`), empty until loaded."""
        return RecordTable(self.db, name, decode, cache, clustered=clustered)

    def sorted_unique(self, name: str, keys: Iterable[str]) -> Iterator[str]:
        """``sorted(set(keys))``, ordered on disk: the keys are stored once each, then read back
        in order as they are consumed."""
        self.db.execute(f"CREATE TABLE {name} (key TEXT PRIMARY KEY) WITHOUT ROWID")
        with self.db:
            self.db.executemany(f"INSERT OR IGNORE INTO {name} VALUES (?)", ((k,) for k in keys))
        for (key,) in self.db.execute(f"SELECT key FROM {name} ORDER BY key"):
            yield key


#: The index folders of this process: never removed as orphans, whatever a lock says (where
#: ``flock`` is emulated with a process's own POSIX locks, NFS, this process could take them).
_OWN: set[str] = set()


def _owner_lock(folder: str) -> int:
    """Lock ``folder`` as this process's: a file locked (``flock``, released by the kernel when
    the process ends, however it ends), then renamed to :data:`LOCK_NAME`, so that the folder
    never shows that name unlocked.

    :return: its descriptor, kept open as long as the folder; ``-1`` where the file system
        takes no lock (the folder is then neither locked nor ever removed as an orphan).
    """
    partial = os.path.join(folder, f".{LOCK_NAME}")
    fd = os.open(partial, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # ENOLCK, EOPNOTSUPP...: no lock, no sweep; the index works all the same
        os.close(fd)
        os.remove(partial)
        return -1
    os.rename(partial, os.path.join(folder, LOCK_NAME))
    return fd


def remove_orphans(parent: str | None = None) -> list[str]:
    """Remove the index folders in ``parent`` (the temporary folder) whose process is gone.

    An index folder (a name starting with :data:`FOLDER_PREFIX`) holding :data:`LOCK_NAME` is
    its process's as long as that file is locked: one this process can lock has no owner left,
    and is removed while locked (two processes sweeping at once do not both remove it). A
    folder without that file (an older release's, or one being made) is left alone. The lock
    is the kernel's, so a reused process id or another PID namespace sharing the folder (two
    containers, one volume) is no owner. This process's own folders are never removed. Where
    the file system takes no ``flock``, folders have no lock file and none is removed; a
    temporary folder on NFS shared by several machines is not supported (their locks may be
    local to each).

    :return: the folders removed.
    """
    parent = parent or tempfile.gettempdir()
    removed: list[str] = []
    folders: list[str] = []
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        folders += (
            e.path for e in entries if e.name.startswith(FOLDER_PREFIX) and e.is_dir(follow_symlinks=False)
        )
    for folder in folders:
        if os.path.realpath(folder) in _OWN:
            continue
        try:
            fd = os.open(os.path.join(folder, LOCK_NAME), os.O_RDWR | os.O_CLOEXEC)
        except OSError:  # no lock file: not an orphan this knows of
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # locked: its process lives
            os.close(fd)
            continue
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed


class RecordTable(Mapping[str, T]):
    """A read-only mapping key -> record over SQLite: each record kept as its JSON line and
    decoded by ``decode`` when looked up, the last ``cache`` looked up kept decoded. A key
    loaded twice keeps its last record, as a dict built from the same lines would.

    By default the rows are kept in the order loaded, with an index of their keys: a lookup
    reads the index, then the row. ``clustered``: the rows are kept in key order (``WITHOUT
    ROWID``), a lookup reads one tree, not two: fewer pages where lookups scatter over a large
    table (transform's media, keyed by their sha1). Loading is as fast only when the pairs come
    in key order, or in a few runs of it (``media.jsonl`` is written sorted by key).
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        name: str,
        decode: Callable[[bytes], T],
        cache: int = 0,
        *,
        clustered: bool = False,
    ) -> None:
        self._db = db
        self._name = name
        self._decode = decode
        self._clustered = clustered
        if clustered:
            db.execute(f"CREATE TABLE {name} (key TEXT PRIMARY KEY, line BLOB) WITHOUT ROWID")
        else:  # rows of a KiB, in the order they come: with an index built once loaded
            db.execute(f"CREATE TABLE {name} (key TEXT, line BLOB)")
        self._select = f"SELECT line FROM {name} WHERE key = ?"
        self._lookup: Callable[[str], T | None] = (
            functools.lru_cache(maxsize=cache)(self._uncached) if cache else self._uncached
        )

    def load(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store ``(key, JSON line)`` pairs, in one transaction, then index them: the rows are
        appended and the index built in one sort, rather than kept up row by row (which wrote
        the file over again as pages left SQLite's cache). A clustered table is its own index:
        each row goes to its place in key order."""
        name = self._name
        if self._clustered:  # in key order as they are stored: a key twice replaces its record
            with self._db:
                self._db.executemany(f"INSERT OR REPLACE INTO {name} VALUES (?, ?)", items)
            return
        with self._db:
            self._db.executemany(f"INSERT INTO {name} VALUES (?, ?)", items)
        try:
            self._db.execute(f"CREATE UNIQUE INDEX {name}_key ON {name} (key)")
        except sqlite3.IntegrityError:  # a key loaded twice: its last record stays
            with self._db:
                self._db.execute(
                    f"DELETE FROM {name} WHERE rowid NOT IN (SELECT max(rowid) FROM {name} GROUP BY key)"
                )
            self._db.execute(f"CREATE UNIQUE INDEX {name}_key ON {name} (key)")

    def _uncached(self, key: str) -> T | None:
        found = self._db.execute(self._select, (key,)).fetchone()
        return None if found is None else self._decode(found[0])

    def get(self, key: str, default: Any = None) -> T | Any:  # type: ignore[override]
        found = self._lookup(key)
        return default if found is None else found

    def __getitem__(self, key: str) -> T:
        found = self._lookup(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not None

    def __iter__(self) -> Iterator[str]:
        for (key,) in self._db.execute(f"SELECT key FROM {self._name} ORDER BY key"):
            yield key

    def __len__(self) -> int:
        return self._db.execute(f"SELECT count(*) FROM {self._name}").fetchone()[0]
