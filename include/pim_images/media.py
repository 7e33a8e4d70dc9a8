"""Media stage: download every image file once, into a content-addressed cache.

Akeneo media codes already carry a hash of the file (``a/b/c/d/<sha1>_<name>``), so a code
seen before is not downloaded again: the cache remembers code -> sha256 of the bytes, and the
bytes live once under their sha256, whatever code or product points at them. The cache
outlives runs; a run's ``media.jsonl`` says what each code of this run resolved to.

Bytes are checked with Pillow: the format comes from the content, not the file name, and a
file that does not decode is reported (docs/bad-input.md#broken-images) and left out of the outputs.

A download is streamed to a temporary file (never held whole), verified complete, and decoded
fully within a pixel limit before it enters the cache. Only a definitive verdict on complete
bytes is cached: a transient failure, a page that is not the file, a body whose end could not
be checked or a limit exceeded is reported for this run and asked again by the next
(docs/akeneo.md#verified-downloads). Cache writes are atomic (a unique temporary name, then a
rename), so a killed run or two runs at once never leave a torn entry; an unreadable entry is
reported and replaced (docs/akeneo.md#media-cache).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import msgspec
from PIL import Image, UnidentifiedImageError

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.client import MAX_CONCURRENCY, AkeneoClient, Download
from pim_images.akeneo.errors import AkeneoMediaError, AkeneoNotFoundError, AkeneoOriginError
from pim_images.config import DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_MEDIA_BYTES
from pim_images.records import MediaRecord
from pim_images.report import StageSummary
from pim_images.staging import StagingPath


def media_file_key(code: str) -> str:
    """The media key of a product media file: its download path (media-files, products.md)."""
    return resources.media_file_download(code)


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

    Every file is written under a name unique to its writer (``.<name>.<uuid>.part``) and
    renamed into place, so readers see a whole file or none, and concurrent writers of the same
    blob or key never share a temporary file (the last rename wins; both wrote the same bytes
    or the same verdict). Paths are used through ``/``, ``open``, ``exists``, ``mkdir`` and
    ``rename`` only (an ``ObjectStoragePath`` works).
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
        if record.sha256 and not self.blob(record.sha256).exists():
            return None
        return record

    def store(self, key: str, content: bytes) -> MediaRecord:
        """Keep ``content`` (bytes in memory: tests, small files) under its hash, identified, and
        remember the key."""
        fmt, error = identify_image(content)
        sha256 = hashlib.sha256(content).hexdigest()
        blob = self.blob(sha256)
        if not blob.exists():
            self._write_atomically(blob, lambda out: out.write(content))
        return self._remember(MediaRecord(key=key, sha256=sha256, size=len(content), format=fmt, error=error))

    def store_download(
        self, key: str, local: str, download: Download, fmt: str | None, error: str | None
    ) -> MediaRecord:
        """Keep the downloaded file ``local`` under its hash (written once), and remember the key.

        :param local: path of the verified download on local disk.
        :param download: its size and hash, from the client.
        :param fmt: the format Pillow read, or ``None`` with ``error`` for a file that is no image.
        """
        blob = self.blob(download.sha256)
        if not blob.exists():
            with open(local, "rb") as src:
                self._write_atomically(blob, lambda out: shutil.copyfileobj(src, out))
        return self._remember(
            MediaRecord(key=key, sha256=download.sha256, size=download.size, format=fmt, error=error)
        )

    def _remember(self, record: MediaRecord) -> MediaRecord:
        encoded = msgspec.json.encode(record)
        self._write_atomically(self.key_entry(record.key), lambda out: out.write(encoded))
        return record

    @staticmethod
    def _write_atomically(target: StagingPath, write: Callable[[io.BufferedIOBase], object]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
        with partial.open("wb") as out:
            write(out)
        partial.rename(target)  # replaces: readers see the old whole file or the new one


def identify_image(
    content: bytes | str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> tuple[str | None, str | None]:
    """The image format read from the bytes, or ``(None, reason)`` when they do not decode.

    The image is decoded whole (``load``: a truncated JPEG passes ``verify`` but not this),
    once its declared size is known to be within ``max_pixels`` (docs/bad-input.md#broken-images).
    Pillow's global ``MAX_IMAGE_PIXELS`` is left as it is: an image over twice it (about 179
    megapixels) is refused by Pillow when opened, whatever ``max_pixels`` says.

    :param content: the bytes, or the path of a file holding them.
    :param max_pixels: the largest width x height decoded (``maxImagePixels``).
    :return: ``(format, None)``, or ``(None, reason)``; a reason starting with
        :data:`OVER_LIMIT` is a limit, not a verdict on the file.
    """
    source = io.BytesIO(content) if isinstance(content, bytes) else content
    try:
        with Image.open(source) as image:
            fmt = image.format
            width, height = image.size
            if width * height > max_pixels:
                return None, f"{OVER_LIMIT} {width}x{height} pixels, over maxImagePixels {max_pixels}"
            image.verify()
        if isinstance(source, io.BytesIO):
            source.seek(0)
        with Image.open(source) as image:
            image.load()
    except Image.DecompressionBombError as exc:  # over twice Pillow's own limit, before ours is read
        return None, f"{OVER_LIMIT} {exc}"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return None, f"not a decodable image ({type(exc).__name__})"
    return fmt, None


#: How a refusal for size starts: not cached, since a later run may allow more.
OVER_LIMIT = "too large:"


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

    Writes ``media.jsonl`` (sorted by key, so reruns write the same bytes).

    :param max_pixels: ``maxImagePixels``: larger images are reported and skipped.
    :param max_bytes: ``maxMediaBytes``: larger files are reported and skipped.
    :raises StagingFileMissing: the extract stage's files are not there.
    :raises AkeneoError: a download failed after its attempts (nothing of it is cached).
    """
    keys = sorted(_media_keys(run_dir))
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
        with tempfile.NamedTemporaryFile(prefix="pim-images-media-") as local:
            try:
                download = client.download(key, local, max_bytes=max_bytes)
            except AkeneoNotFoundError as exc:
                return _uncached(key, f"missing in Akeneo ({exc})")
            except (AkeneoMediaError, AkeneoOriginError) as exc:
                return _uncached(key, f"refused ({exc}); not cached, asked again next run")
            count("downloaded")
            count("bytes", download.size)
            fmt, error = identify_image(local.name, max_pixels)
            if error and error.startswith(OVER_LIMIT):
                return _uncached(key, error)
            if error and not download.framed:
                # the body ended with the connection: a cut is indistinguishable from a bad file
                return _uncached(key, f"{error}, its end unconfirmed by the server; not cached")
            return cache.store_download(key, local.name, download, fmt, error)

    def resolved() -> Iterator[MediaRecord]:
        for record in _bounded_map(resolve, keys, MAX_CONCURRENCY):
            if record.error:
                with lock:
                    warnings.append(f"media {record.key!r}: {record.error}; its images are skipped")
            yield record

    written = records.MEDIA.write(run_dir, resolved())
    return MediaSummary(
        media=written,
        downloaded=stats["downloaded"],
        from_cache=stats["from_cache"],
        bytes_downloaded=stats["bytes"],
        unusable=sum(1 for w in warnings if w.endswith("its images are skipped")),
        warnings=warnings,
    )


def _uncached(key: str, error: str) -> MediaRecord:
    return MediaRecord(key=key, sha256=None, size=0, format=None, error=error)


def _media_keys(run_dir: StagingPath) -> set[str]:
    image_attributes = records.STRUCTURE.read(run_dir).image_attribute_codes
    keys = {
        media_file_key(value.data)
        for product in records.iter_products(run_dir)
        for code in image_attributes
        for value in product.values.get(code, [])
    }
    if records.ASSETS.exists(run_dir):
        keys.update(f.media for asset in records.ASSETS.read(run_dir) for f in asset.files)
    return keys


def _bounded_map(fn: Callable[[str], MediaRecord], items: list[str], workers: int) -> Iterator[MediaRecord]:
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
