"""Media stage: download every image file once, into a content-addressed cache.

Akeneo media codes already carry a hash of the file (``a/b/c/d/<sha1>_<name>``), so a code
seen before is not downloaded again: the cache remembers code -> sha256 of the bytes, and the
bytes live once under their sha256, whatever code or product points at them. The cache
outlives runs; a run's ``media.jsonl`` says what each code of this run resolved to.

Bytes are checked with Pillow: the format comes from the content, not the file name. A file
that is no image (a PDF) is reported and skipped; a media missing in Akeneo, refused, over a
limit, or an image that does not decode is reported as failed, and the products using it are
left out of the outputs (docs/bad-input.md#broken-images).

A download is streamed to a temporary file (never held whole), verified complete, and decoded
fully within a pixel limit before it enters the cache. Only a definitive verdict on complete
bytes is cached: a transient failure, a page that is not the file, a body whose end could not
be checked or a limit exceeded is reported for this run and asked again by the next
(docs/akeneo.md#verified-downloads). Cache writes never leave a torn entry for a reader, with a
killed run or two runs at once: on local disk a unique temporary name, then a rename; in a
bucket the final object is written directly (a bucket has no rename, and one PUT is atomic per
object), blobs once. A blob whose size is not the recorded one is downloaded again and
replaced; an unreadable entry is reported and replaced (docs/akeneo.md#media-cache).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, NamedTuple

import msgspec
from PIL import Image, UnidentifiedImageError

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.client import AkeneoClient, Download
from pim_images.akeneo.errors import AkeneoMediaError, AkeneoNotFoundError, AkeneoOriginError
from pim_images.config import DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_MEDIA_BYTES
from pim_images.diskindex import DiskIndex
from pim_images.heap import frozen_during
from pim_images.records import MediaRecord
from pim_images.report import StageSummary
from pim_images.staging import StagingPath, is_local


def media_file_key(code: str) -> str:
    """The media key of a product media file: its download path (media-files, products.md).

    A code of unreserved characters only (``a/b/c/d/<sha1>_<name>.jpg``, the usual), no segment
    of dots, quotes as itself: its key is built without quoting each segment, the same text."""
    if (
        isinstance(code, str)
        and _PLAIN_CODE.fullmatch(code)
        # a segment of dots starts the code or follows a slash: searched for only then
        and not ((code.startswith(".") or "/." in code) and _DOTS_SEGMENT.search(code))
    ):
        return f"{_KEY_PREFIX}{code}{_KEY_SUFFIX}"
    return resources.media_file_download(code)


#: what ``quote`` never changes (RFC 3986's unreserved characters), and the segments' slashes
_PLAIN_CODE = re.compile(r"[A-Za-z0-9_.~/-]*")
#: a segment of dots only, which :func:`~pim_images.akeneo.resources.code_path` spells ``%2E``
_DOTS_SEGMENT = re.compile(r"(?:^|/)\.+(?:/|$)")
_KEY_PREFIX, _KEY_SUFFIX = resources.media_file_download("\x00").split("%00")


@dataclass(frozen=True)
class MediaSummary(StageSummary):
    media: int
    downloaded: int
    from_cache: int
    bytes_downloaded: int
    unusable: int
    warnings: list[str] = field(default_factory=list)


class CorruptCacheEntry(ValueError):
    """A key entry of the media cache that does not read as a record (a torn or foreign file)."""


class MediaCache:
    """Content-addressed store: ``blobs/<aa>/<sha256>`` and ``keys/<sha1(key)>.json``.

    Readers see a whole file or none, and concurrent writers of the same blob or key both
    write the same bytes or the same verdict, so whichever lands last is right:

    - on local disk (``pathlib.Path``, ``file://``) every file is written under a name unique
      to its writer (``.<name>.<uuid>.part``) and renamed into place;
    - in object storage (``s3://``...: a rename there is a copy and a delete, and two copies
      race) the final object is written directly, one PUT of the whole object. A blob is
      write-once: its content is its name, so it is written only when missing. A buffered
      upload cut by a killed writer can still commit a short object, so a blob counts only
      when its size is the size its key entry recorded; else it is downloaded and written again.

    Paths are used through ``/``, ``open``, ``exists``, ``stat``, ``mkdir`` and ``rename``
    only (an ``ObjectStoragePath`` works).
    """

    def __init__(self, root: StagingPath) -> None:
        self.root = root

    def blob(self, sha256: str) -> StagingPath:
        return self.root / "blobs" / sha256[:2] / sha256

    def key_entry(self, key: str) -> StagingPath:
        """Where the record of ``key`` is kept."""
        return self.root / "keys" / f"{hashlib.sha1(key.encode()).hexdigest()}.json"

    def lookup(self, key: str) -> MediaRecord | None:
        """The record of a key downloaded before, if its bytes are still there.

        :raises CorruptCacheEntry: the entry does not decode as a record of ``key``; the caller
            reports it and downloads again (which replaces the entry).
        """
        entry = self.key_entry(key)
        if not entry.exists():
            return None
        with entry.open("rb") as f:
            raw = f.read()
        try:
            record = msgspec.json.decode(raw, type=MediaRecord)
        except msgspec.DecodeError as exc:
            raise CorruptCacheEntry(f"cache entry {entry} of media {key!r} is unreadable ({exc})") from None
        if record.key != key:
            raise CorruptCacheEntry(f"cache entry {entry} of media {key!r} holds media {record.key!r}")
        if record.sha256 and not self._has_blob(record.sha256, record.size):
            return None
        if record.sha256 and (record.error or record.format not in records.EXTENSIONS):
            # identified by an older release (an MPO, a failure not yet told from a PDF):
            # identify the bytes again; rare, so cheap
            with self.blob(record.sha256).open("rb") as f:
                fmt, error, broken = identify_image(f.read(), key)
            record = msgspec.structs.replace(record, format=fmt, error=error, broken=broken)
        if record.sha256 and record.crc32 is None:
            # an entry of an older release, without the CRC-32 the archive takes from it: read
            # from the blob once and remembered (docs/akeneo.md#media-cache)
            record = self._remember(msgspec.structs.replace(record, crc32=self._blob_crc32(record.sha256)))
        return record

    def _blob_crc32(self, sha256: str) -> int:
        """The CRC-32 of the blob ``sha256``'s bytes, read a chunk at a time."""
        crc = 0
        with self.blob(sha256).open("rb") as f:
            while chunk := f.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
        return crc

    def store(self, key: str, content: bytes) -> MediaRecord:
        """Keep ``content`` (bytes in memory: tests, small files) under its hash, identified, and
        remember the key."""
        fmt, error, broken = identify_image(content, key)
        sha256 = hashlib.sha256(content).hexdigest()
        if not self._has_blob(sha256, len(content)):
            self._write_whole(self.blob(sha256), lambda out: out.write(content))
        return self._remember(
            MediaRecord(
                key=key,
                sha256=sha256,
                size=len(content),
                format=fmt,
                error=error,
                broken=broken,
                crc32=zlib.crc32(content),
            )
        )

    def store_download(
        self, key: str, local: IO[bytes], download: Download, identified: Identified
    ) -> MediaRecord:
        """Keep the downloaded file ``local`` under its hash (written once), and remember the key.

        :param local: the verified download, a local file open for reading (read from its start).
        :param download: its size and hash, from the client.
        :param identified: what Pillow read of it (:func:`identify_image`).
        """
        if not self._has_blob(download.sha256, download.size):
            local.seek(0)
            self._write_whole(self.blob(download.sha256), lambda out: shutil.copyfileobj(local, out))
        fmt, error, broken = identified
        return self._remember(
            MediaRecord(
                key=key,
                sha256=download.sha256,
                size=download.size,
                format=fmt,
                error=error,
                broken=broken,
                crc32=download.crc32,
            )
        )

    def _has_blob(self, sha256: str, size: int) -> bool:
        """Whether the blob ``sha256`` is there whole (``size`` bytes: a cut upload is not)."""
        try:
            return self.blob(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    def _remember(self, record: MediaRecord) -> MediaRecord:
        encoded = msgspec.json.encode(record)
        self._write_whole(self.key_entry(record.key), lambda out: out.write(encoded))
        return record

    @staticmethod
    def _write_whole(target: StagingPath, write: Callable[[io.BufferedIOBase], object]) -> None:
        """Write ``target`` so that readers see the old whole file or the new one."""
        if not is_local(target):
            # object storage: the object appears when its upload completes (one PUT, or the
            # completion of a multipart upload), never a part of it; no "folders" to make
            with target.open("wb") as out:
                write(out)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
        with partial.open("wb") as out:
            write(out)
        partial.rename(target)  # replaces: readers see the old whole file or the new one


class Identified(NamedTuple):
    """What the bytes of a media are: an image ``format`` (Pillow's name, a multi-picture
    JPEG as ``JPEG``), or ``None`` with ``error`` saying why; ``broken`` when the media
    failed (docs/bad-input.md#broken-images) rather than being simply no image."""

    format: str | None
    error: str | None = None
    broken: bool = False


#: A media key whose file name claims an image: bytes that are no image then mean a failed media.
_IMAGE_NAME = re.compile(r"\.(jpe?g|png|gif|webp|tiff?|bmp)(/download)?$", re.IGNORECASE)
#: Pillow format names that are another format's variant: a multi-picture JPEG (MPO, as
#: cameras write them) is a JPEG, and every JPEG reader shows its first picture.
_SAME_AS = {"MPO": "JPEG"}


def identify_image(
    content: bytes | str | os.PathLike[str] | IO[bytes],
    key: str = "",
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> Identified:
    """The image format read from the bytes (docs/transform.md#image-formats), never from a name.

    Bytes Pillow does not recognise are no image (a PDF: skipped), unless ``key`` names an
    image file; bytes of an image that does not decode whole (``load``: a truncated JPEG passes
    ``verify`` but not this), or over ``max_pixels``, are broken: failures whose products are
    left out (docs/bad-input.md#broken-images). Pillow's global ``MAX_IMAGE_PIXELS`` is left as
    it is: an image over twice it (about 179 megapixels) is refused by Pillow when opened.

    :param content: the bytes, the path of a file holding them, or a file open for reading
        that can seek (read from its start).
    :param key: the media key (its download path), whose file name may claim an image.
    :param max_pixels: the largest width x height decoded (``maxImagePixels``).
    :return: an error starting with :data:`OVER_LIMIT` is a limit, not a verdict on the file.
    """
    source = io.BytesIO(content) if isinstance(content, bytes) else content
    try:
        with Image.open(source) as image:
            fmt = image.format
            width, height = image.size
            if width * height > max_pixels:
                return Identified(
                    None,
                    f"{OVER_LIMIT} {width}x{height} pixels, over maxImagePixels {max_pixels}",
                    broken=True,
                )
            image.verify()
        if not isinstance(source, (str, os.PathLike)):
            source.seek(0)
        with Image.open(source) as image:
            # a JPEG is decoded at an eighth of its size (libjpeg's scaled decoding): every byte
            # of it is still read and entropy-decoded, so a cut or damaged file fails as at full
            # size, at a quarter (baseline) to four fifths (progressive) of the CPU on a product
            # photo (tests/benchmarks/bench_identify.py); other formats have no draft mode and
            # are decoded whole
            image.draft(None, (1, 1))
            image.load()
    except Image.DecompressionBombError as exc:  # over twice Pillow's own limit, before ours is read
        return Identified(None, f"{OVER_LIMIT} {exc}", broken=True)
    except UnidentifiedImageError as exc:
        if _IMAGE_NAME.search(key):
            return Identified(None, f"named as an image but not one ({type(exc).__name__})", broken=True)
        return Identified(None, f"not a decodable image ({type(exc).__name__})")
    except Exception as exc:  # Pillow's decoders raise many kinds of errors on damaged bytes
        return Identified(None, f"not a decodable image ({type(exc).__name__})", broken=True)
    if fmt is None:
        return Identified(None, "not a decodable image (no format)", broken=True)
    return Identified(_SAME_AS.get(fmt, fmt))


#: What a media that is no image (a PDF) gives: no image; a non-image file of an asset is still
#: delivered as its custom attribute where the import type sends it (docs/transform.md).
NO_IMAGE = "no image made of it (a non-image asset file still goes to its custom attribute)"
#: How a refusal for size starts: not cached, since a later run may allow more.
OVER_LIMIT = "too large:"


@frozen_during
def download_media(
    client: AkeneoClient,
    run_dir: StagingPath,
    cache: MediaCache,
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
) -> MediaSummary:
    """Resolve every media key of this run (product image values, asset files), downloading
    only unseen keys.

    Writes ``media.jsonl`` (sorted by key, so reruns write the same bytes). The keys are sorted
    and deduplicated in an on-disk index in a local temporary folder, so memory stays flat
    whatever the catalog's size (docs/architecture.md#streaming-and-memory).

    :param max_pixels: ``maxImagePixels``: larger images are reported and skipped.
    :param max_bytes: ``maxMediaBytes``: larger files are reported and skipped.
    :raises StagingFileMissing: the extract stage's files are not there.
    :raises AkeneoError: a download failed after its attempts (nothing of it is cached).
    """
    image_attributes = records.STRUCTURE.read(run_dir).image_attribute_codes
    with DiskIndex(prefix="pim-images-media-") as index:
        # sorted and deduplicated on disk: the keys of 100,000 products do not fit in memory flat
        keys = index.sorted_unique("keys", _media_keys(run_dir, image_attributes))
        return _download(client, run_dir, cache, keys, max_pixels, max_bytes)


def _download(
    client: AkeneoClient,
    run_dir: StagingPath,
    cache: MediaCache,
    keys: Iterator[str],
    max_pixels: int,
    max_bytes: int,
) -> MediaSummary:
    stats = {"downloaded": 0, "from_cache": 0, "bytes": 0}
    lock = threading.Lock()
    warnings: list[str] = []

    def count(stat: str, amount: int = 1) -> None:
        with lock:
            stats[stat] += amount

    def resolve(key: str) -> MediaRecord:
        try:
            cached = cache.lookup(key)
        except CorruptCacheEntry as exc:
            with lock:
                warnings.append(f"{exc}; downloaded again")
            cached = None
        if cached is not None:
            count("from_cache")
            return cached
        # unnamed: the kernel frees it when the file is closed, or the process killed
        with tempfile.TemporaryFile(prefix="pim-images-media-") as local:
            try:
                download = client.download(key, local, max_bytes=max_bytes)
            except AkeneoNotFoundError as exc:
                return _uncached(key, f"missing in Akeneo ({exc})")
            except (AkeneoMediaError, AkeneoOriginError) as exc:
                return _uncached(key, f"refused ({exc}); not cached, asked again next run")
            count("downloaded")
            count("bytes", download.size)
            identified = identify_image(local, key, max_pixels)
            error = identified.error
            if error and error.startswith(OVER_LIMIT):
                return _uncached(key, error)
            if identified.broken and not download.framed:
                # the body ended with the connection: a cut is indistinguishable from a bad file
                return _uncached(key, f"{error}, its end unconfirmed by the server; not cached")
            return cache.store_download(key, local, download, identified)

    def resolved() -> Iterator[MediaRecord]:
        for record in _bounded_map(resolve, keys, _workers(client)):
            if record.broken:
                with lock:
                    warnings.append(
                        f"media {record.key!r}: {record.error}; the products using it are left out"
                    )
            elif record.error:
                with lock:
                    warnings.append(f"media {record.key!r}: {record.error}; {NO_IMAGE}")
            yield record

    written = records.MEDIA.write(run_dir, resolved())
    return MediaSummary(
        media=written,
        downloaded=stats["downloaded"],
        from_cache=stats["from_cache"],
        bytes_downloaded=stats["bytes"],
        unusable=sum(1 for w in warnings if w.endswith(("are left out", NO_IMAGE))),
        warnings=warnings,
    )


def _workers(client: AkeneoClient) -> int:
    """Threads resolving media: one per call the client may have in flight, and one per CPU more.

    A thread checks what it downloaded (:func:`identify_image`: decoding a product photo costs
    4 to 70 ms of CPU, tests/benchmarks/bench_identify.py) once its call has ended: with only
    as many threads as calls, calls in flight dropped while threads decoded. The threads beyond
    them wait for a free call while others decode (the client's slots bound the calls in
    flight, whatever the threads; Pillow decodes outside the GIL). On 2,000 px photos at 50 ms
    (``bench_pipeline.py --photo-side 2000``, 300 products, 2 CPUs): 44-46 files/s against
    37-39, 3.5 calls in flight against 2.8, the same CPU time, 31 MiB more peak RSS."""
    return client.concurrency + (os.cpu_count() or 1)


def _uncached(key: str, error: str) -> MediaRecord:
    """A failed media this run (not cached: the next run asks again); its products are left out."""
    return MediaRecord(key=key, sha256=None, size=0, format=None, error=error, broken=True)


def _media_keys(run_dir: StagingPath, image_attributes: list[str]) -> Iterator[str]:
    """The media keys the run names, duplicates included: product image values, asset files."""
    for product in records.iter_products(run_dir):
        for code in image_attributes:
            for value in product.values.get(code, ()):
                yield media_file_key(value.data)
    if records.ASSETS.exists(run_dir):
        for line in records.ASSETS.lines(run_dir):
            for file in _ASSET_FILES(line).files:
                yield file.media


class _FileMedia(msgspec.Struct):
    media: str


class _AssetFiles(msgspec.Struct):
    """What the media stage reads of an asset: its files' media keys (the rest is skipped)."""

    files: list[_FileMedia] = []


_ASSET_FILES = msgspec.json.Decoder(_AssetFiles).decode


def _bounded_map(
    fn: Callable[[str], MediaRecord], items: Iterable[str], workers: int
) -> Iterator[MediaRecord]:
    """``executor.map`` that keeps only a window of futures alive, in input order."""
    window = workers * 4
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="media") as pool:
        pending: list[Future[MediaRecord]] = []
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()
