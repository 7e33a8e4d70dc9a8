"""Staging records: one typed record per staging file, with its one reader and one writer.

Stages exchange data through files under one folder per run (``runs/<run id>/``), never through
XCom. This module owns every such file: its name (spelt here only), the record type of its lines
or its document, a writer that streams records out and a reader that streams them back, typed.
Stages and renderers take and return these records, never raw dicts.

Records are ``msgspec`` structs: frozen, typed, and decoded straight from JSON with their types
checked, about 2.5 times faster than ``json`` plus dataclasses on this machine (20,000 image lists
of six images: 1.3 s against 3.3 s to read back), which matters at 100,000 products. Unknown keys
are ignored when reading, so a record can grow a field without breaking staged files.

A file a stage needs but does not find is :class:`StagingFileMissing`, naming the file and the
stage that writes it: a stage never silently redoes another stage's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec

from pim_images.staging import StagingPath

T = TypeVar("T")


class Record(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """Base of the staging records: frozen, typed; fields at their default are not written.

    Not tracked by the cyclic garbage collector (``gc=False``): a record holds strings, numbers
    and the lists and dicts decoded with it, never itself, so it can be in no cycle; millions of
    them went through every collection (docs/architecture.md#garbage-collection).
    """


class StagingFileMissing(FileNotFoundError):
    """A staging file of this run is missing: the stage that writes it did not run or failed."""

    def __init__(self, path: StagingPath, writer: str) -> None:
        self.path = path
        super().__init__(f"staging file {path} is missing: it is written by the {writer!r} stage")


# -- the catalog structure (extract_structure) ---------------------------------------------


class ImageAttribute(Record):
    """A ``pim_catalog_image`` attribute read (docs/akeneo.md#image-attributes)."""

    code: str
    localizable: bool = False
    scopable: bool = False
    sort_order: int = 0


class Collection(Record):
    """An asset collection attribute of products; ``family`` is its asset family (``None`` for PAM)."""

    code: str
    family: str | None = None
    localizable: bool = False
    scopable: bool = False


class Channel(Record):
    """The configured channel and its locales."""

    code: str
    locales: list[str] = []


class AttributeSet(Record):
    """One level of a family variant: its axes and the attributes it owns (catalog-structure)."""

    level: int
    axes: list[str] = []
    attributes: list[str] = []


class Structure(Record):
    """``attributes.json``: what the validate stage checks before any product is read."""

    identifier: str
    image_attributes: list[ImageAttribute]
    asset_collections: list[Collection]
    channel: Channel | None
    enabled_locales: list[str]
    #: level-ordered attribute sets by family variant code (unique in a PIM)
    family_variants: dict[str, list[AttributeSet]]
    #: whether the configured asset system answered its probe; ``None`` when assets are not read
    asset_system_available: bool | None = None
    #: the products endpoint the probe found: ``products-uuid`` (7.0, SaaS) or ``products``
    products_endpoint: str | None = None
    #: the PIM's version and edition where it tells them (PIM >= 6.0, SaaS), else ``None``
    pim_version: str | None = None
    pim_edition: str | None = None
    #: axis attribute code -> its Akeneo type (how its values are written, docs/transform.md)
    axis_types: dict[str, str] = {}

    @property
    def image_attribute_codes(self) -> list[str]:
        return [a.code for a in self.image_attributes]


class AssetAttribute(Record):
    """An attribute of an asset family (Asset Manager); ``prefix``/``suffix`` build media links;
    ``media_type`` (``image``, ``pdf``, ``youtube``, ``vimeo``, ``other``) says what a
    ``media_file`` or ``media_link`` attribute holds."""

    code: str
    type: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    media_type: str | None = None


class AssetFamily(Record):
    """An asset family's main media attribute and its attributes."""

    main: str | None
    attributes: list[AssetAttribute]


# -- catalog items (extract) -----------------------------------------------------------------


class Value(Record):
    """One Akeneo value: ``data`` as Akeneo gives it (a media code, asset codes, an option...)."""

    data: Any
    locale: str | None = None
    scope: str | None = None


Values = dict[str, list[Value]]


class Product(Record):
    """``products.jsonl``: an enabled product with its image, collection and axis values."""

    uuid: str | None
    identifier: str
    family: str | None
    parent: str | None
    values: Values


class ProductModel(Record):
    """``models.jsonl``: a product model (root or sub-model) with its values."""

    code: str
    parent: str | None
    family: str | None
    family_variant: str | None
    updated: str | None
    values: Values


class AssetFile(Record):
    """A binary of an asset: ``media`` is its download path, which keys the media cache;
    ``attribute`` is the ``media_file`` attribute it is a value of when that is not the main
    media (a rendition read for ``akeneoImageFileViewTypesMapping``)."""

    media: str
    locale: str | None = None
    channel: str | None = None
    attribute: str | None = None


class AssetLink(Record):
    """A link of an asset: ``url`` = the attribute's prefix + the value's data + its suffix."""

    url: str
    locale: str | None = None
    channel: str | None = None


class AssetValue(Record):
    """One value of an asset attribute, as text: a link's whole URL, a media file's code, an
    option's code (a list for ``multiple_options``), a text or a number as given."""

    data: str | list[str]
    locale: str | None = None
    channel: str | None = None


class Asset(Record):
    """``assets.jsonl``: an asset of either asset system, normalized (docs/akeneo.md#asset-collections).

    ``family`` is ``None`` for PAM assets; ``links`` maps each ``media_link`` attribute to its
    values; ``main`` is the family's main media attribute and ``main_media_type`` what it holds
    (``image``, ``pdf``, ``youtube``...). ``values`` holds every attribute's values of the
    configured channel and locales, and ``types`` each attribute's type (Asset Manager only).
    """

    family: str | None
    code: str
    files: list[AssetFile] = []
    links: dict[str, list[AssetLink]] = {}
    main_is_link: bool = False
    main: str | None = None
    main_media_type: str | None = None
    values: dict[str, list[AssetValue]] = {}
    types: dict[str, str] = {}

    @property
    def key(self) -> str:
        return asset_key(self.family, self.code)


def asset_key(family: str | None, code: str) -> str:
    """How products' collections find an asset: codes are unique per family (or per PAM)."""
    return f"{family or 'pam'}/{code}"


def asset_refs(levels: Iterable[Values], collections: list[Collection]) -> list[tuple[str, str]]:
    """``(collection, asset key)`` of every asset the values of a product (or of each level of a
    master) name, existing or not: the state store's asset -> products index
    (docs/runs.md#differential-import), so that an asset changed or created later re-exports it."""
    found = {
        (c.code, asset_key(c.family, code))
        for values in levels
        for c in collections
        for v in values.get(c.code, [])
        for code in (v.data or [])
    }
    return sorted(found)


# -- media (download_media) ------------------------------------------------------------------

#: Image format -> file extension used in delivered paths. Formats are Pillow's names, but a
#: multi-picture JPEG (Pillow's "MPO", as cameras write them) is a JPEG (docs/transform.md#image-formats).
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


class MediaRecord(Record):
    """``media.jsonl``: what one media key (a download path) resolved to.

    ``format`` is ``None`` when the bytes are no image, with ``error`` saying why; ``broken``
    says the media failed (missing in Akeneo, or bytes that claim an image and do not decode):
    the products using it are left out (docs/bad-input.md#broken-images), where a file that is
    simply no image (a PDF) is only skipped. Keys are download paths, so product media files,
    Asset Manager media files and PAM files share one cache without clashing.

    ``crc32`` is the bytes' CRC-32 (zlib's, the zip format's), taken where the bytes are in
    hand (the download): the site-import archive writes a member's header from it and its size
    without reading the blob first. ``None`` in a cache entry written by an older release: the
    media stage computes it then (:meth:`~pim_images.media.MediaCache.lookup`).
    """

    key: str
    sha256: str | None
    size: int
    format: str | None
    error: str | None = None
    broken: bool = False
    crc32: int | None = None

    @property
    def extension(self) -> str | None:
        return EXTENSIONS.get(self.format or "")


# -- the neutral image lists (transform) -------------------------------------------------------


class ImageText(Record):
    """A text of an image (alt, title) in one locale (``None``: not localized)."""

    value: str
    locale: str | None = None


class Image(Record):
    """One image of one product, as every target reads it (target-neutral).

    :ivar attribute: the image attribute or asset collection it comes from.
    :ivar locale: its locale, ``None`` for a non-localized value.
    :ivar format: Pillow's format name, from the bytes for files and from the URL's extension
        for links (``None`` when that says nothing).
    :ivar path: for a file, its content-addressed path; for a link, the URL relative to the
        external location.
    :ivar kind: ``file`` (a delivered binary) or ``link`` (an asset link, ``url`` as Akeneo gives it).
    :ivar link_attribute: for a link, the asset ``media_link`` attribute it was read from.
    :ivar file_attribute: for an asset rendition read through ``akeneoImageFileViewTypesMapping``,
        the asset ``media_file`` attribute it was read from.
    :ivar texts: image texts (``alt``, ``title``) from the asset attributes
        ``akeneoImageMetadataMapping`` names, one per locale.
    :ivar variation: ``(axis attribute, value)`` of the level it belongs to, in family-variant
        order; empty for a simple product's or a root model's own images.
    :ivar variants: identifiers of the variant products it applies to; empty for the whole product.
    :ivar size: for a file, its bytes (its media record's).
    :ivar crc32: for a file, its bytes' CRC-32 (its media record's; ``None`` when that has none:
        the archive then reads it from the bytes).
    """

    attribute: str
    locale: str | None
    format: str | None
    path: str
    kind: str = "file"
    sha256: str | None = None
    url: str | None = None
    asset: str | None = None
    link_attribute: str | None = None
    file_attribute: str | None = None
    texts: dict[str, list[ImageText]] = {}
    variation: list[tuple[str, str]] = []
    variants: list[str] = []
    size: int | None = None
    crc32: int | None = None


class CollectionLink(Record):
    """A link of one asset of a collection, delivered beside the images (``both`` import type)."""

    asset: str
    attribute: str
    locale: str | None
    url: str


class CollectionAttribute(Record):
    """The values of one attribute of one asset of a collection, delivered beside the images
    (docs/transform.md#custom-attribute-ids): for assets whose main media is a link (``both``
    import type) or not an image (a video, a PDF...).

    :ivar type: the asset attribute's Akeneo type (``text``, ``media_link``, ``media_file``,
        ``single_option``, ``multiple_options``...).
    :ivar values: the value as text, several for a ``multiple_options`` value.
    :ivar file: for a delivered binary (the main media file of a non-image asset), its sha256;
        ``values`` then holds its content-addressed path.
    :ivar size: for a delivered binary, its bytes; ``crc32`` their CRC-32 (as :class:`Image`'s).
    """

    asset: str
    attribute: str
    type: str
    locale: str | None
    values: list[str]
    file: str | None = None
    size: int | None = None
    crc32: int | None = None


class CollectionValue(Record):
    """A product's asset collection: its asset codes in collection order, their links (``both``
    import type, for the per-collection naming) and their attributes (per-asset naming)."""

    code: str
    assets: list[str]
    links: list[CollectionLink] = []
    attributes: list[CollectionAttribute] = []


class MemberCollections(Record):
    """The asset collections a sub-model or a variant product of a master owns (its level's
    collection attributes), delivered on its own product: ``product_id`` is the sub-model's
    code or the variant's identifier."""

    product_id: str
    collections: list[CollectionValue]


class ProductImages(Record):
    """``images.jsonl``: a product's (or a master's) complete image list and collections.

    ``product_ref`` is a simple product's identifier or a root product model's code; a master's
    ``members`` are its sub-models and variants that own collections (in image order).
    """

    product_ref: str
    images: list[Image]
    collections: list[CollectionValue] = []
    members: list[MemberCollections] = []


class ProductRefs(Record):
    """``refs.jsonl``: what the state between runs remembers of a product transform wrote
    (docs/runs.md#state-between-runs): the assets it references, per collection (asset keys,
    ``family/code``, existing or not), and for a master the variants it was built from.

    :ivar kind: ``simple`` or ``master``.
    """

    product_ref: str
    kind: str
    assets: list[tuple[str, str]] = []
    variants: list[str] = []


# -- files ---------------------------------------------------------------------------------


class _File:
    """One staging file: its name, record type, and the stage that writes it."""

    def __init__(self, name: str, record: type, writer: str) -> None:
        self.name = name
        self.record = record
        self.writer = writer
        self._decoder = msgspec.json.Decoder(record)

    def path(self, run_dir: StagingPath) -> StagingPath:
        return run_dir / self.name

    def exists(self, run_dir: StagingPath) -> bool:
        return self.path(run_dir).exists()

    def _open(self, run_dir: StagingPath) -> Any:
        path = self.path(run_dir)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise StagingFileMissing(path, self.writer) from None


class JsonLines(_File):
    """A JSON Lines staging file of one record type, streamed both ways."""

    def write(self, run_dir: StagingPath, records: Iterable[Any]) -> int:
        """Stream ``records`` to the file; returns how many were written."""
        with self.writing(run_dir) as write:
            for record in records:
                write(record)
        return write.count

    @contextmanager
    def writing(self, run_dir: StagingPath) -> Iterator[RecordWriter]:
        """The file open for writing, one record per call: for a stage that writes two files
        side by side (transform's images and refs)."""
        path = self.path(run_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            yield RecordWriter(f)

    def read(self, run_dir: StagingPath) -> Iterator[Any]:
        """Stream the records back, typed.

        :raises StagingFileMissing: the file is not there.
        """
        decode = self._decoder.decode
        for line in self.lines(run_dir):
            yield decode(line)

    def lines(self, run_dir: StagingPath) -> Iterator[bytes]:
        """Stream the records back as their JSON lines, undecoded: for an on-disk index that
        keeps them as they are and decodes one when it is looked up (:meth:`decode`).

        :raises StagingFileMissing: the file is not there.
        """
        with self._open(run_dir) as f:
            for line in f:
                if line.strip():
                    yield line

    def decode(self, line: bytes) -> Any:
        """One line of the file as its record."""
        return self._decoder.decode(line)


class RecordWriter:
    """Writes records to an open JSON Lines file, one a call; ``count`` is how many so far."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self._encoder = msgspec.json.Encoder()
        self._buffer = bytearray()
        self.count = 0

    def __call__(self, record: Any) -> None:
        self._encoder.encode_into(record, self._buffer)
        self._buffer.extend(b"\n")
        self._file.write(self._buffer)
        self.count += 1


class JsonDocument(_File):
    """A staging file holding one JSON document."""

    def write(self, run_dir: StagingPath, document: Any) -> None:
        path = self.path(run_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            f.write(msgspec.json.format(msgspec.json.encode(document), indent=1))

    def read(self, run_dir: StagingPath) -> Any:
        """:raises StagingFileMissing: the file is not there."""
        with self._open(run_dir) as f:
            return self._decoder.decode(f.read())


STRUCTURE = JsonDocument("attributes.json", Structure, "extract_structure")
ASSET_FAMILIES = JsonDocument("asset_families.json", dict[str, AssetFamily | None], "extract_structure")
PRODUCTS = JsonLines("products.jsonl", Product, "extract")
#: differential runs: the other variants of the masters a changed item belongs to
MASTER_PRODUCTS = JsonLines("products_of_masters.jsonl", Product, "extract")
MODELS = JsonLines("models.jsonl", ProductModel, "extract")
ASSETS = JsonLines("assets.jsonl", Asset, "extract")
MEDIA = JsonLines("media.jsonl", MediaRecord, "download_media")
IMAGES = JsonLines("images.jsonl", ProductImages, "transform")
REFS = JsonLines("refs.jsonl", ProductRefs, "transform")
#: how the extract read the catalog: ``full``, and a differential run's ``updated_from``/``updated_to``
IMPORT_MODE = JsonDocument("import_mode.json", dict[str, Any], "extract")
#: PAM asset key -> SHA-256 of its record, for the state store (the PAM has no ``updated`` filter)
ASSET_CHECKSUMS = JsonDocument("asset_checksums.json", dict[str, str], "extract")


def iter_products(run_dir: StagingPath) -> Iterator[Product]:
    """This run's products: those extracted, then (differential runs) the other variants of the
    masters they belong to."""
    yield from PRODUCTS.read(run_dir)
    if MASTER_PRODUCTS.exists(run_dir):
        yield from MASTER_PRODUCTS.read(run_dir)


def iter_product_lines(run_dir: StagingPath) -> Iterator[bytes]:
    """:func:`iter_products` as JSON lines, undecoded (``PRODUCTS.decode`` reads one)."""
    yield from PRODUCTS.lines(run_dir)
    if MASTER_PRODUCTS.exists(run_dir):
        yield from MASTER_PRODUCTS.lines(run_dir)


def target_dir(run_dir: StagingPath, target: str) -> StagingPath:
    """Where a target's renderer writes the files its delivery uploads."""
    return run_dir / target
