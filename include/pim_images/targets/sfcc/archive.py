"""A zip writer for the site-import archive (docs/sfcc.md#site-import-archive): the bytes
Python 3.11's ``zipfile`` writes for the same members (``ZipInfo`` with a fixed time, mode
``0o644``, stored or deflated, written to a seekable file; ``compresslevel`` as given), with
memory flat and a fraction of its cost per member.

Written from the zip format (PKWARE's APPNOTE, the records zipfile's module constants name),
not from zipfile's internals: zipfile keeps a ``ZipInfo`` per member in a list until it closes
(some 55 MB at 100,000 products) and gives each stored image three seeks; here each member's
local header is packed once, after its CRC, and its central-directory record goes to a
temporary file at once (docs/architecture.md#streaming-and-memory). The unit tests compare the
bytes with zipfile's, ZIP64 records included (with zipfile's limits lowered).
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import Iterable
from typing import IO

#: zipfile's limits (module constants of Python 3.11's zipfile, the zip format's): past them
#: a size or offset goes to a ZIP64 extra field, a member count to the ZIP64 end records.
ZIP64_LIMIT = (1 << 31) - 1
COUNT_LIMIT = (1 << 16) - 1
#: "version made by" / "needed to extract": zipfile's default (2.0), ZIP64's (4.5).
_DEFAULT_VERSION, _ZIP64_VERSION = 20, 45
#: zipfile's ``create_system`` on a POSIX system (3: UNIX).
_UNIX = 3
#: bit 11 of the flags: the name is UTF-8 (set only when it is not ASCII, as zipfile does).
_UTF8_NAME = 0x800
STORED, DEFLATED = 0, 8
#: Bytes of small members (and of central-directory records) gathered before one write.
BATCH = 1 << 18

_local = struct.Struct("<4s2B4HL2L2H")
_central = struct.Struct("<4s4B4HL2L5H2L")
_end = struct.Struct("<4s4H2LH")
_end64 = struct.Struct("<4sQ2H2L4Q")
_locator64 = struct.Struct("<4sLQL")
_zip64_local = struct.Struct("<HHQQ")
#: :data:`_local` and :data:`_central` cut after the date: the rest of a stored member's local
#: header (CRC, sizes, name and extra lengths) and central record (the same, no extra or
#: comment, disk 0, internal attributes 0, external attributes, offset; see :meth:`ZipWriter._record`)
_local_head, _local_tail = struct.Struct("<4s2B4H"), struct.Struct("<3L2H")
_central_head, _central_tail = struct.Struct("<4s4B4H"), struct.Struct("<3L5H2L")


class ZipWriter:
    """Members written one after another to ``f`` (seekable, positioned where the archive
    starts), then the central directory and end records by :meth:`close`.

    Every member has the time and mode given here; a member is stored or deflated (raw
    deflate at zlib's ``level``, its default unless told: zipfile's compressor with that
    ``compresslevel``).
    """

    def __init__(
        self,
        f: IO[bytes],
        date_time: tuple[int, int, int, int, int, int],
        mode: int = 0o644,
        level: int = zlib.Z_DEFAULT_COMPRESSION,
    ) -> None:
        self._f = f
        self._level = level
        self._start = f.tell()
        self._offset = self._start
        dt = date_time
        self._dosdate = (dt[0] - 1980) << 9 | dt[1] << 5 | dt[2]
        self._dostime = dt[3] << 11 | dt[4] << 5 | (dt[5] // 2)
        self._external = mode << 16
        self._directory = tempfile.TemporaryFile(prefix="pim-images-directory-")
        self._count = 0
        # small members and central records are written :data:`BATCH` bytes at a time: a
        # buffered write a member cost more than joining them
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._records: list[bytes] = []
        self._records_bytes = 0
        # what every stored member's header and central record with an ASCII name and no
        # ZIP64 field start with (:meth:`add_stored`'s quick way)
        self._local_head = _local_head.pack(
            b"PK\003\004", _DEFAULT_VERSION, 0, 0, STORED, self._dostime, self._dosdate
        )
        self._central_head = _central_head.pack(
            b"PK\001\002",
            _DEFAULT_VERSION,
            _UNIX,
            _DEFAULT_VERSION,
            0,
            0,
            STORED,
            self._dostime,
            self._dosdate,
        )

    def _name(self, name: str) -> tuple[bytes, int]:
        try:
            return name.encode("ascii"), 0
        except UnicodeEncodeError:
            return name.encode("utf-8"), _UTF8_NAME

    def _header(
        self, name: bytes, flags: int, method: int, crc: int, packed: int, size: int, zip64: bool
    ) -> bytes:
        """A local file header (zipfile's ``ZipInfo.FileHeader``): with ``zip64`` the sizes are in
        its extra field, the header's own set to 0xFFFFFFFF."""
        if zip64:
            extra, version = _zip64_local.pack(1, 16, size, packed), _ZIP64_VERSION
            packed = size = 0xFFFFFFFF
        else:
            extra, version = b"", _DEFAULT_VERSION
        header = _local.pack(
            b"PK\003\004",
            version,
            0,
            flags,
            method,
            self._dostime,
            self._dosdate,
            crc,
            packed,
            size,
            len(name),
            len(extra),
        )
        return header + name + extra

    def _record(
        self, name: bytes, flags: int, method: int, crc: int, packed: int, size: int, offset: int, zip64: bool
    ) -> None:
        """The member's central-directory record (zipfile's ``_write_end_record``), spooled."""
        extra = []
        if size > ZIP64_LIMIT or packed > ZIP64_LIMIT:
            extra += (size, packed)
            size = packed = 0xFFFFFFFF
        if offset > ZIP64_LIMIT:
            extra.append(offset)
            offset = 0xFFFFFFFF
        extra_data = struct.pack(f"<HH{len(extra)}Q", 1, 8 * len(extra), *extra) if extra else b""
        version = _ZIP64_VERSION if zip64 or extra else _DEFAULT_VERSION
        record = (
            _central.pack(
                b"PK\001\002",
                version,
                _UNIX,
                version,
                0,
                flags,
                method,
                self._dostime,
                self._dosdate,
                crc,
                packed,
                size,
                len(name),
                len(extra_data),
                0,
                0,
                0,
                self._external,
                offset,
            )
            + name
            + extra_data
        )
        self._records.append(record)
        self._records_bytes += len(record)
        if self._records_bytes >= BATCH:
            self._directory.write(b"".join(self._records))
            self._records.clear()
            self._records_bytes = 0
        self._count += 1

    def _flush(self) -> None:
        """Write the small members waiting in :attr:`_pending`."""
        if self._pending:
            self._f.write(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0

    def add_stored(self, name: str, data: bytes, crc: int | None = None) -> None:
        """A stored member whose bytes are all in hand (written with other small ones); ``crc``
        is their CRC-32 when the caller knows it (computed here otherwise).

        A small member with an ASCII name, below zipfile's limits (nearly every image), has
        its header and central record packed here in one go: the same bytes as
        :meth:`_header` and :meth:`_record` give, at half the cost of calling them (some
        400,000 times at 100,000 products)."""
        size = len(data)
        if crc is None:
            crc = zlib.crc32(data)
        offset = self._offset
        if size < BATCH and offset <= ZIP64_LIMIT and name.isascii() and size * 1.05 <= ZIP64_LIMIT:
            encoded = name.encode("ascii")
            header = self._local_head + _local_tail.pack(crc, size, size, len(encoded), 0) + encoded
            record = (
                self._central_head
                + _central_tail.pack(crc, size, size, len(encoded), 0, 0, 0, 0, self._external, offset)
                + encoded
            )
            self._records.append(record)
            self._records_bytes += len(record)
            if self._records_bytes >= BATCH:
                self._directory.write(b"".join(self._records))
                self._records.clear()
                self._records_bytes = 0
            self._count += 1
            self._pending += (header, data)
            self._pending_bytes += len(header) + size
            if self._pending_bytes >= BATCH:
                self._flush()
            self._offset = offset + len(header) + size
            return
        encoded, flags = self._name(name)
        zip64 = size * 1.05 > ZIP64_LIMIT  # zipfile's rule: decided before the bytes are known
        header = self._header(encoded, flags, STORED, crc, size, size, zip64)
        if size < BATCH:
            self._pending += (header, data)
            self._pending_bytes += len(header) + size
            if self._pending_bytes >= BATCH:
                self._flush()
        else:
            self._flush()
            self._f.write(header)
            self._f.write(data)
        self._record(encoded, flags, STORED, crc, size, size, offset, zip64)
        self._offset = offset + len(header) + size

    def add_copied(self, name: str, src: int, size: int, crc: int) -> None:
        """A stored member whose size and CRC-32 are known before its bytes: its header, then
        ``size`` bytes of the open file ``src`` (from its start) copied by the kernel
        (``os.sendfile`` from ``src`` to ``f``'s file; read and written a chunk at a time
        where the system cannot), never read into Python. The same bytes as :meth:`add_stored`
        of those bytes when ``crc`` is theirs: the caller vouches for it.

        :raises RuntimeError: ``src`` ended before ``size`` bytes (the archive is then unusable).
        """
        encoded, flags = self._name(name)
        zip64 = size * 1.05 > ZIP64_LIMIT
        header = self._header(encoded, flags, STORED, crc, size, size, zip64)
        self._pending.append(header)
        self._flush()
        f = self._f
        f.flush()
        start = self._offset + len(header)
        copied = _copy_range(src, f.fileno(), size)
        if copied != size:
            raise RuntimeError(f"{name}: {copied} bytes copied of {size}")
        # the bytes went past the writer's buffer: it is told where the file now ends
        f.seek(start + size)
        self._record(encoded, flags, STORED, crc, size, size, self._offset, zip64)
        self._offset = start + size

    def add_chunks(self, name: str, chunks: Iterable[bytes], size: int, method: int) -> None:
        """A member copied chunk by chunk (``size`` bytes in all, deflated when ``method`` is
        :data:`DEFLATED`): a header with no CRC yet, the bytes, then the header again with its
        CRC and sizes (zipfile's way on a seekable file: the same bytes).

        :raises RuntimeError: the member turned out larger than its ZIP64-less header allows
            (zipfile's error: ``size`` was not its size).
        """
        encoded, flags = self._name(name)
        zip64 = size * 1.05 > ZIP64_LIMIT
        self._flush()
        offset = self._offset
        f = self._f
        f.seek(offset)
        f.write(self._header(encoded, flags, method, 0, 0, size, zip64))
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, -15) if method == DEFLATED else None
        crc = written = packed = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            written += len(chunk)
            if compressor is not None:
                chunk = compressor.compress(chunk)
            packed += len(chunk)
            f.write(chunk)
        if compressor is not None:
            tail = compressor.flush()
            packed += len(tail)
            f.write(tail)
        else:
            packed = written
        if not zip64 and (written > ZIP64_LIMIT or packed > ZIP64_LIMIT):
            raise RuntimeError(f"{name}: larger than its size ({size} bytes) said")
        end = f.tell()
        f.seek(offset)
        f.write(self._header(encoded, flags, method, crc, packed, written, zip64))
        f.seek(end)
        self._record(encoded, flags, method, crc, packed, written, offset, zip64)
        self._offset = end

    def close(self) -> None:
        """Write the central directory and the end records (ZIP64's too past zipfile's limits)."""
        self._flush()
        f, directory = self._f, self._directory
        try:
            directory.write(b"".join(self._records))
            self._records.clear()
            start = self._offset
            directory.seek(0)
            shutil.copyfileobj(directory, f, 1 << 20)
        finally:
            directory.close()
        position = f.tell()
        count, size, offset = self._count, position - start, start
        if count > COUNT_LIMIT or offset > ZIP64_LIMIT or size > ZIP64_LIMIT:
            f.write(_end64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset))
            f.write(_locator64.pack(b"PK\x06\x07", 0, position, 1))
            count, size, offset = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(offset, 0xFFFFFFFF)
        f.write(_end.pack(b"PK\005\006", 0, 0, count, count, size, offset, 0))


def _copy_range(src: int, out: int, size: int) -> int:
    """Copy ``size`` bytes of the file ``src`` from its start to where the file ``out`` is
    (advancing it); how many were copied (fewer when ``src`` ends first)."""
    copied = 0
    try:
        if not hasattr(os, "sendfile"):
            raise OSError(errno.ENOSYS, "no sendfile")
        while copied < size:
            sent = os.sendfile(out, src, copied, size - copied)
            if not sent:
                return copied
            copied += sent
        return copied
    except OSError as exc:
        # no sendfile between these two files (EINVAL, ENOSYS): read and written in chunks
        if copied or exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
    while copied < size:
        chunk = os.pread(src, min(1 << 20, size - copied), copied)
        if not chunk:
            break
        _write_all(out, chunk)
        copied += len(chunk)
    return copied


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
