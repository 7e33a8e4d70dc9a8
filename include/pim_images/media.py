"""Media stage: download every image file once, into a content-addressed cache.

Akeneo media codes already carry a hash of the file (``a/b/c/d/<sha1>_<name>``), so a code
seen before is not downloaded again: the cache remembers code -> sha256 of the bytes, and the
bytes live once under their sha256, whatever code or product points at them. The cache
outlives runs; a run's ``media.jsonl`` says what each code of this run resolved to.

Bytes are checked with Pillow: the format comes from the content, not the file name. A file
that is no image (a PDF) is reported and skipped; a media missing in Akeneo or an image that
does not decode is reported as failed, and the products using it are left out of the
outputs (docs/bad-input.md#broken-images).
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import msgspec
from PIL import Image, UnidentifiedImageError

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.client import MAX_CONCURRENCY, AkeneoClient
from pim_images.akeneo.errors import AkeneoNotFoundError
from pim_images.records import MediaRecord
from pim_images.report import StageSummary
from pim_images.staging import StagingPath

#: Guard against decompression bombs in a PIM upload.
Image.MAX_IMAGE_PIXELS = 200_000_000


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


class MediaCache:
    """Content-addressed store: ``blobs/<aa>/<sha256>`` and ``keys/<sha1(key)>.json``."""

    def __init__(self, root: StagingPath) -> None:
        self.root = root

    def blob(self, sha256: str) -> StagingPath:
        return self.root / "blobs" / sha256[:2] / sha256

    def _key_entry(self, key: str) -> StagingPath:
        return self.root / "keys" / f"{hashlib.sha1(key.encode()).hexdigest()}.json"

    def lookup(self, key: str) -> MediaRecord | None:
        """The record of a key downloaded before, if its bytes are still there."""
        entry = self._key_entry(key)
        if not entry.exists():
            return None
        with entry.open("rb") as f:
            record = msgspec.json.decode(f.read(), type=MediaRecord)
        if record.sha256 and not self.blob(record.sha256).exists():
            return None
        if record.sha256 and (record.error or record.format not in records.EXTENSIONS):
            # identified by an older release (an MPO, a failure not yet told from a PDF):
            # identify the bytes again; rare, so cheap
            with self.blob(record.sha256).open("rb") as f:
                fmt, error, broken = identify_image(f.read(), key)
            record = msgspec.structs.replace(record, format=fmt, error=error, broken=broken)
        return record

    def store(self, key: str, content: bytes) -> MediaRecord:
        """Keep ``content`` under its hash (written once), and remember the key."""
        sha256 = hashlib.sha256(content).hexdigest()
        fmt, error, broken = identify_image(content, key)
        blob = self.blob(sha256)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            partial = blob.parent / f".{sha256}.part"
            with partial.open("wb") as f:
                f.write(content)
            partial.rename(blob)  # a crash mid-write never leaves a truncated blob under the hash
        record = MediaRecord(
            key=key, sha256=sha256, size=len(content), format=fmt, error=error, broken=broken
        )
        entry = self._key_entry(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        with entry.open("wb") as f:
            f.write(msgspec.json.encode(record))
        return record


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


def identify_image(content: bytes, key: str = "") -> Identified:
    """The image format read from the bytes (docs/transform.md#image-formats), never from a name.

    Bytes Pillow does not recognise are no image (a PDF: skipped), unless ``key`` names an
    image file, and bytes of an image that does not decode are broken: both are failures
    whose products are left out (docs/bad-input.md#broken-images).

    :param key: the media key (its download path), whose file name may claim an image.
    """
    try:
        with Image.open(io.BytesIO(content)) as image:
            fmt = image.format
            image.verify()
    except UnidentifiedImageError as exc:
        if _IMAGE_NAME.search(key):
            return Identified(None, f"named as an image but not one ({type(exc).__name__})", broken=True)
        return Identified(None, f"not a decodable image ({type(exc).__name__})")
    except Exception as exc:  # Pillow's decoders raise many kinds of errors on damaged bytes
        return Identified(None, f"not a decodable image ({type(exc).__name__})", broken=True)
    if fmt is None:
        return Identified(None, "not a decodable image (no format)", broken=True)
    return Identified(_SAME_AS.get(fmt, fmt))


def download_media(client: AkeneoClient, run_dir: StagingPath, cache: MediaCache) -> MediaSummary:
    """Resolve every media key of this run (product image values, asset files), downloading
    only unseen keys.

    Writes ``media.jsonl`` (sorted by key, so reruns write the same bytes).

    :raises StagingFileMissing: the extract stage's files are not there.
    """
    keys = sorted(_media_keys(run_dir))
    stats = {"downloaded": 0, "from_cache": 0, "bytes": 0}
    lock = threading.Lock()
    warnings: list[str] = []

    def count(stat: str, amount: int = 1) -> None:
        with lock:
            stats[stat] += amount

    def resolve(key: str) -> MediaRecord:
        cached = cache.lookup(key)
        if cached is not None:
            count("from_cache")
            return cached
        try:
            content, _ = client.download(key)
        except AkeneoNotFoundError as exc:
            return MediaRecord(
                key=key, sha256=None, size=0, format=None, error=f"missing in Akeneo ({exc})", broken=True
            )
        count("downloaded")
        count("bytes", len(content))
        return cache.store(key, content)

    def resolved() -> Iterator[MediaRecord]:
        for record in _bounded_map(resolve, keys, MAX_CONCURRENCY):
            if record.broken:
                warnings.append(f"media {record.key!r}: {record.error}; the products using it are left out")
            elif record.error:
                warnings.append(f"media {record.key!r}: {record.error}; skipped, not an image")
            yield record

    written = records.MEDIA.write(run_dir, resolved())
    return MediaSummary(
        media=written,
        downloaded=stats["downloaded"],
        from_cache=stats["from_cache"],
        bytes_downloaded=stats["bytes"],
        unusable=len(warnings),
        warnings=warnings,
    )


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
