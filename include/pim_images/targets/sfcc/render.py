"""SFCC renderer (docs/sfcc.md): catalog XML, metadata XML and the site-import archive.

The catalog XML carries image settings in its header and, per product, only its ``images``
with ``merge-mode="replace"``: in SFCC's MERGE import mode the delivered image groups replace
the product's old ones, and nothing else of the product is touched. It is streamed one product
at a time (the declaration and header by lxml's incremental writer, each product as text with
lxml's escaping, the same bytes at a fraction of the cost), the metadata XML in slices, and
the archive member by member; what grows with the catalog (its binaries, the attribute
definitions) is gathered on disk. Memory stays flat whatever the catalog's size
(docs/architecture.md#streaming-and-memory): 80 MiB peak at 10,000 products, 85 MiB at 100,000.

Outputs are deterministic (same input, same bytes, same names), so retries and backfills
deliver identical files.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import marshal
import operator
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

from lxml import etree

from pim_images import records
from pim_images.config import PipelineConfig
from pim_images.heap import frozen_during
from pim_images.media import MediaCache
from pim_images.records import Image, ImageText, ProductImages
from pim_images.report import StageSummary, Warnings, shown
from pim_images.staging import StagingPath
from pim_images.targets.sfcc.archive import DEFLATED, STORED, ZipWriter
from pim_images.targets.sfcc.rules import (
    FORMATS,
    IMAGE_TEXT_PATTERN,
    CustomAttribute,
    attribute_id,
    custom_attributes,
    declared_view_types,
    external_location,
    locale_view_type,
    output_names,
    product_problem,
    unmapped_file_view_types,
    view_types_of,
)
from pim_images.targets.sfcc.schema import check_against_schema
from pim_images.transform import image_origin

CATALOG_NS = "http://www.demandware.com/xml/impex/catalog/2006-10-31"
METADATA_NS = "http://www.demandware.com/xml/impex/metadata/2006-10-31"
METADATA_FILE = "system-objecttype-extensions.xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: ``internal-location/@base-path``: image paths are relative to the catalog's static root.
BASE_PATH = "/"
#: A fixed time for archive entries: the same files must give the same zip bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: zlib's level for the archive's XML members (docs/sfcc.md#site-import-archive): 3, zlib's
#: fast deflate. Its default (6) took 1.75 CPU s of a 100,000-product render (267 MB of
#: XML, a tenth of the render), level 3 0.77 s, for a catalog member 17 % larger (27.7 MB
#: for 23.7 MB; the metadata file's 1.3 MB for 1.1 MB).
DEFLATE_LEVEL = 3


@dataclass(frozen=True)
class SfccOutput(StageSummary):
    """What the SFCC renderer wrote: files to deliver (names under ``run_dir/sfcc``) and counts."""

    files: list[str]
    products: int
    image_groups: int
    binaries: int
    view_types: list[str]
    #: the first :data:`SUMMARY_IDS` ids of the custom attributes the metadata file defines
    #: (sorted), the summary's sample: there are as many as the catalog's assets
    custom_attributes: list[str] = field(default_factory=list)
    #: how many custom attributes the metadata file defines
    custom_attribute_definitions: int = 0
    #: sub-models and variants written for their own collections (custom attributes only)
    member_products: int = 0
    warnings: list[str] = field(default_factory=list)
    #: warnings counted, not kept (past the report's :data:`~pim_images.report.MAX_REPORT_WARNINGS`)
    warnings_dropped: int = 0


#: Custom attribute ids the summary lists (it goes to XCom and the run report).
SUMMARY_IDS = 100

#: A binary of the archive: ``(delivered path, sha256, size, CRC-32)``, the size and CRC-32 as
#: its media record gave them (``None`` from a record without them: read from the blob then).
Binary = tuple[str, str, int | None, int | None]


def image_groups(
    images: list[Image],
    config: PipelineConfig,
    view_types: list[str] | None = None,
    order: list[tuple[str | None, str]] | None = None,
) -> list[Group]:
    """A product's image groups: per variation (the master's own first, then sub-models and
    variants in image order), per view type, non-localized first, then per locale.

    Only image files SFCC shows (JPG, PNG, GIF, WEBP) go in groups; a path appears once per
    group, at its first position, with the texts of its first image. Variation axes are named
    as the connector's product import names them (:func:`~.rules.attribute_id`).

    :param view_types: :func:`~.rules.declared_view_types` of ``config``, when the caller has
        them already (the renderer computes them once per run).
    :param order: :func:`unmapped_group_order` of ``config``, when the caller has it already
        (``None`` when ``config`` maps view types, or to have it computed).
    """
    declared = declared_view_types(config) if view_types is None else view_types
    if not (config.link_view_types_mapping or config.file_view_types_mapping):
        return _unmapped_image_groups(images, config, order or unmapped_group_order(config, declared))
    return _mapped_image_groups(images, config, declared)


def _mapped_image_groups(images: list[Image], config: PipelineConfig, declared: list[str]) -> list[Group]:
    """:func:`image_groups` whatever the view types of each image (:func:`~.rules.view_types_of`)."""
    buckets, texts = _gathered(images, config, by_view_type=True)
    groups: list[Group] = []
    rank = _group_rank(tuple(declared), tuple(config.akeneoLocales))
    for variation, per_variation in buckets.items():
        written = tuple((attribute_id(axis, config), value) for axis, value in variation)
        for key in sorted((k for k in per_variation if k in rank), key=rank.__getitem__):
            groups.append(Group(locale_view_type(*key), written, *_shown(per_variation[key], texts)))
    return groups


#: path -> its texts (its first image's), in a product's groups
_Texts = dict[str, dict[str, list[ImageText]]]
#: variation -> bucket key -> paths in image order
_Buckets = dict[tuple[tuple[str, str], ...], dict[Any, list[str]]]


def _gathered(images: list[Image], config: PipelineConfig, *, by_view_type: bool) -> tuple[_Buckets, _Texts]:
    """One pass over a product's images SFCC shows: variation -> key -> paths in image order,
    the key ``(view type, locale)`` of each of the image's view types when ``by_view_type``,
    else its locale; and each path's texts (its first image's)."""
    texts: _Texts = {}
    buckets: _Buckets = {}
    for image in images:
        if image.format not in FORMATS:
            continue
        variation = tuple(image.variation) if image.variation else ()
        per_variation = buckets.get(variation)
        if per_variation is None:
            per_variation = buckets[variation] = {}
        path, locale = image.path, image.locale
        if image.texts and path not in texts:
            texts[path] = image.texts
        for key in [(v, locale) for v in view_types_of(image, config)] if by_view_type else (locale,):
            paths = per_variation.get(key)
            if paths is None:
                per_variation[key] = [path]
            else:
                paths.append(path)
    return buckets, texts


def _shown(paths: list[str], texts: _Texts) -> tuple[list[str], _Texts]:
    """A group's paths, each once at its first position, and their texts."""
    unique = list(dict.fromkeys(paths)) if len(paths) > 1 else paths
    return unique, ({p: texts[p] for p in unique if p in texts} if texts else _NO_TEXTS)


#: The texts of a group none of whose images has any (shared: groups' texts are read only).
_NO_TEXTS: _Texts = {}


def _unmapped_image_groups(
    images: list[Image], config: PipelineConfig, order: list[tuple[str | None, str]]
) -> list[Group]:
    """:func:`image_groups` when no view type mapping is configured: every image then goes to
    each of ``akeneoImageViewTypes`` (:func:`~.rules.view_types_of`), so a variation's groups
    of one locale hold the same paths in every view type. The paths are gathered per variation
    and locale, once, and shared by those groups (read only): a third of the cost of gathering
    them per view type (some 95,000 products a render at 100,000)."""
    buckets, texts = _gathered(images, config, by_view_type=False)
    groups: list[Group] = []
    for variation, per_variation in buckets.items():
        written = tuple((attribute_id(axis, config), value) for axis, value in variation) if variation else ()
        shown: dict[str | None, tuple[list[str], _Texts]] = {}
        for locale, name in order:
            paths = per_variation.get(locale)
            if paths is None:
                continue
            unique_texts = shown.get(locale)
            if unique_texts is None:
                unique_texts = shown[locale] = _shown(paths, texts)
            groups.append(Group(name, written, *unique_texts))
    return groups


def unmapped_group_order(config: PipelineConfig, declared: list[str]) -> list[tuple[str | None, str]]:
    """``(locale, group view type)`` of a variation's groups in their order (:func:`_group_rank`)
    when no view type is mapped: every image then goes to ``akeneoImageViewTypes``.

    :param declared: :func:`~.rules.declared_view_types` of ``config``.
    """
    locales = tuple(config.akeneoLocales)
    rank = _group_rank(tuple(declared), locales)
    pairs = sorted(
        ((view_type, locale) for view_type in set(config.image_view_types) for locale in (None, *locales)),
        key=lambda pair: rank.get(pair, len(rank)),
    )
    return [
        (locale, locale_view_type(view_type, locale))
        for view_type, locale in pairs
        if (view_type, locale) in rank
    ]


@functools.lru_cache(maxsize=8)
def _group_rank(view_types: tuple[str, ...], locales: tuple[str, ...]) -> dict[tuple[str, str | None], int]:
    """Where each ``(view type, locale)`` group comes among a variation's: view types in
    declaration order, each non-localized first, then per locale in configured order; a
    pair not in it gets no group."""
    pairs = [(view_type, locale) for view_type in view_types for locale in (None, *locales)]
    return {pair: index for index, pair in enumerate(pairs)}


class Group(NamedTuple):
    """One ``image-group``: its view type, its variation filter (empty on the master's own),
    its image paths and the texts (alt, title) of those that have some (read only).

    A named tuple, as :class:`Product`: a frozen dataclass took three times as long to make,
    some 40,000 times a render of 10,000 products."""

    view_type: str
    variation: tuple[tuple[str, str], ...]
    paths: list[str]
    texts: dict[str, dict[str, list[ImageText]]] = {}  # noqa: RUF012 (never written to)


@dataclass(frozen=True)
class Definition:
    """A custom attribute the metadata file defines: id, localizable, SFCC type, group."""

    id: str
    localizable: bool
    type: str = "set-of-string"
    group: tuple[str, str] = ("AkeneoAttributes", "Akeneo Attributes")


@dataclass(frozen=True)
class Header:
    """What the catalog's header declares, gathered in the pass over the image lists
    (:class:`_Gatherer`); the metadata file's definitions are gathered in the same pass, on
    disk (:class:`_Scratch`)."""

    view_types: list[str]
    variation_attribute_id: str | None


class _Scratch:
    """The sets a render gathers whose size grows with the catalog, kept on disk so that memory
    stays flat (docs/architecture.md#streaming-and-memory): the binaries to put in the archive
    (delivered path -> sha256, read back sorted by path: :class:`_SortedRuns`) and the custom
    attribute definitions (read back sorted by id: a private temporary SQLite database). Both
    deleted when closed.
    """

    #: rows buffered before they are inserted together (some 300 bytes each in memory)
    BATCH = 2_000
    #: binaries sorted in memory at a time (a run of :class:`_SortedRuns`): some 250 bytes each
    RUN = 5_000
    #: definitions already stored, with their ``localizable``: most products repeat the same
    #: collection attributes, so most upserts are skipped; emptied when it reaches this size
    KNOWN = 10_000

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # "": a private temporary database on disk
        self.db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE definitions (
                id TEXT PRIMARY KEY, localizable INTEGER NOT NULL, type TEXT NOT NULL,
                group_id TEXT NOT NULL, group_name TEXT NOT NULL
            ) WITHOUT ROWID;
            """
        )
        self._known: dict[str, bool] = {}
        self._binaries = _SortedRuns(self.RUN)
        self._definitions: list[tuple[str, bool, str, str, str]] = []

    def close(self) -> None:
        self.db.close()
        self._binaries.close()

    def add_binaries(self, binaries: list[Binary]) -> None:
        """A path is content-addressed, so its first binary is its only one."""
        self._binaries.add(binaries)

    def _flush(self) -> None:
        if self._definitions:
            self.db.executemany(
                "INSERT INTO definitions VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET localizable = localizable OR excluded.localizable",
                self._definitions,
            )
            self._definitions.clear()

    def binaries(self) -> Iterator[Binary]:
        """Every binary once, sorted by delivered path (code point order)."""
        return self._binaries.sorted_unique()

    def binary_count(self) -> int:
        """How many binaries :meth:`binaries` gives (counted as it gives them, else now)."""
        if self._binaries.count is None:
            for _ in self._binaries.sorted_unique():
                pass
        return self._binaries.count or 0

    def add_definitions(self, attributes: list[CustomAttribute]) -> None:
        """Define each custom attribute: its first type and group, localizable when any of its values is."""
        new = []
        for attribute in attributes:
            localizable = bool(attribute.locale)
            known = self._known.get(attribute.id)
            if known is None or (localizable and not known):
                new.append((attribute.id, localizable, attribute.type, *attribute.group))
        if not new:
            return
        self._definitions += new
        if len(self._definitions) >= self.BATCH:
            self._flush()
        if len(self._known) >= self.KNOWN:
            self._known.clear()
        for id, localizable, *_ in new:
            self._known[id] = self._known.get(id, False) or localizable

    def definitions(self) -> Iterator[Definition]:
        """Every custom attribute definition, sorted by id."""
        self._flush()
        query = "SELECT id, localizable, type, group_id, group_name FROM definitions ORDER BY id"
        for id, localizable, type, group_id, group_name in self.db.execute(query):
            yield Definition(id, bool(localizable), type, (group_id, group_name))

    def groups(self) -> Iterator[tuple[tuple[str, str], list[str]]]:
        """Each attribute group ``(id, display name)`` in sorted order, with its attribute ids sorted."""
        self._flush()
        query = "SELECT group_id, group_name, id FROM definitions ORDER BY group_id, group_name, id"
        current: tuple[str, str] | None = None
        ids: list[str] = []
        for group_id, group_name, id in self.db.execute(query):
            if (group_id, group_name) != current:
                if current is not None:
                    yield current, ids
                current, ids = (group_id, group_name), []
            ids.append(id)
        if current is not None:
            yield current, ids


class _Gatherer:
    """What the catalog's header declares, gathered product by product in the one pass over
    the image lists (the header comes before the first product: the products' elements wait in
    a temporary file), with which products SFCC's files can carry.

    The header holds every view type used (declaration order, then non-localized first and the
    locales in configured order) and its single variation attribute (catalog.xsd): the axis
    most image groups lead with. Every custom attribute with whether it is localized goes to
    ``scratch``. Each product is checked once, here (:func:`~.rules.product_problem`).
    """

    def __init__(self, config: PipelineConfig, scratch: _Scratch) -> None:
        self.config, self.scratch = config, scratch
        self.used: set[tuple[str, str | None]] = set()
        self.first_axes: dict[str, int] = {}
        # what decides an image's view types and locale (view_types_of): each seen once
        self._seen: set[tuple[str, str | None, str | None, str | None]] = set()

    def admit(self, product: ProductImages) -> tuple[list[CustomAttribute], str | None]:
        """The custom attributes of the product's and its members' collections, and the
        warning that leaves it out if SFCC's files cannot carry it (``None``: it is written)."""
        config = self.config
        every = [*product.collections, *(c for m in product.members for c in m.collections)]
        custom = custom_attributes(every, config)
        problem = product_problem(product, config, custom)
        if problem is not None:
            what, value, why = problem
            return custom, f"product {shown(product.product_ref)}: {what} {shown(value)}: {why}; skipped"
        first_axes, seen = self.first_axes, self._seen
        for image in product.images:
            kind = (image.kind, image.link_attribute, image.file_attribute, image.locale)
            if kind not in seen:
                seen.add(kind)
                self.used.update((vt, image.locale) for vt in view_types_of(image, config))
            if image.variation and image.format in FORMATS:  # only written images' groups count
                first_axes[image.variation[0][0]] = first_axes.get(image.variation[0][0], 0) + 1
        self.scratch.add_definitions(custom)
        return custom, None

    def header(self) -> Header:
        config, first_axes = self.config, self.first_axes
        view_types = [
            locale_view_type(base, locale)
            for base in declared_view_types(config)
            for locale in (None, *config.akeneoLocales)
            if (base, locale) in self.used
        ]
        leading = min(first_axes, key=lambda a: (-first_axes[a], a)) if first_axes else None
        variation_attribute_id = attribute_id(leading, config) if leading is not None else None
        return Header(view_types=view_types, variation_attribute_id=variation_attribute_id)


_PATH = operator.itemgetter(0)


class _SortedRuns:
    """Binaries (``(path, sha256, size, crc32)``), read back sorted by path, each path once (its first), with
    memory flat: pairs are sorted in runs of ``batch``,
    each spilled to a temporary file in marshalled chunks of :data:`CHUNK` pairs, and the runs
    merged when read. An SQLite table with the path as key (inserts, then a sorted select) cost
    three times as much: 0.17 CPU s for the 45,000 binaries of 10,000 products.
    """

    CHUNK = 128

    def __init__(self, batch: int) -> None:
        self._batch = batch
        self._pending: list[Binary] = []
        self._file: IO[bytes] | None = None
        self._runs: list[list[tuple[int, int]]] = []  # each run's chunks: (offset, length)
        self._end = 0
        #: distinct paths, once :meth:`sorted_unique` has been read to its end
        self.count: int | None = None

    def add(self, pairs: list[Binary]) -> None:
        self._pending += pairs
        self.count = None
        if len(self._pending) >= self._batch:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="pim-images-binaries-")
        self._pending.sort(key=_PATH)  # stable: a path's first pair stays first
        chunks = []
        for start in range(0, len(self._pending), self.CHUNK):
            data = marshal.dumps(self._pending[start : start + self.CHUNK])
            self._file.write(data)
            chunks.append((self._end, len(data)))
            self._end += len(data)
        self._file.flush()
        self._runs.append(chunks)
        self._pending = []

    def _run(self, chunks: list[tuple[int, int]]) -> Iterator[Binary]:
        assert self._file is not None
        fd = self._file.fileno()
        for offset, length in chunks:
            yield from marshal.loads(os.pread(fd, length, offset))

    def sorted_unique(self) -> Iterator[Binary]:
        if self._runs and self._pending:
            self._spill()
        if self._runs:
            pairs: Iterable[Binary] = heapq.merge(*(self._run(chunks) for chunks in self._runs), key=_PATH)
        else:
            self._pending.sort(key=_PATH)  # stable: a path's first pair stays first
            pairs = self._pending
        count, last = 0, None
        for pair in pairs:
            if pair[0] != last:
                last = pair[0]
                count += 1
                yield pair
        self.count = count

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@frozen_during
def render_sfcc(config: PipelineConfig, run_dir: StagingPath, cache: MediaCache, stamp: str) -> SfccOutput:
    """Write the catalog XML, the metadata XML and the site-import archive for this run, under
    ``target_dir(run_dir, "sfcc")``.

    A product whose values SFCC's files cannot carry is left out with a warning naming it and
    the value (docs/bad-input.md#products-that-cannot-be-written); each XML is validated
    against SFCC's schema once written (docs/bad-input.md#schema-validation).

    One pass over ``images.jsonl``: the header comes before the first product, so the products'
    elements wait in a local temporary file until the pass has gathered it; what grows with
    the catalog (binaries, attribute definitions) is gathered on disk, and every file is
    streamed, so memory stays flat whatever the catalog's size.

    :param stamp: the run's time stamp (from its data interval), part of every file name.
    :raises StagingFileMissing: the transform stage's ``images.jsonl`` is not there.
    :raises OutputError: a written XML does not validate against its schema; the archive is
        then not written, and nothing of the run goes to the SFTP drop.
    """
    out = records.target_dir(run_dir, "sfcc")
    out.mkdir(parents=True, exist_ok=True)
    xml_name, archive_name = output_names(config.sfccCatalogId, stamp)
    scratch = _Scratch()
    try:
        return _render(config, run_dir, cache, out, xml_name, archive_name, scratch)
    finally:
        scratch.close()


def _render(
    config: PipelineConfig,
    run_dir: StagingPath,
    cache: MediaCache,
    out: StagingPath,
    xml_name: str,
    archive_name: str,
    scratch: _Scratch,
) -> SfccOutput:
    gatherer = _Gatherer(config, scratch)
    declared = declared_view_types(config)
    mapped = config.link_view_types_mapping or config.file_view_types_mapping
    order = None if mapped else unmapped_group_order(config, declared)
    per_asset = config.sfccCustomAttributeNaming == "per_asset"
    unmapped = unmapped_file_view_types(config)
    warnings = Warnings()
    if unmapped:
        warnings.append(_unmapped_note(unmapped))
    counts = {"products": 0, "groups": 0, "members": 0}

    def products() -> Iterator[Product]:
        for record in records.IMAGES.read(run_dir):
            every_custom, skipped = gatherer.admit(record)
            if skipped is not None:
                warnings.append(skipped)
                continue
            binaries: list[Binary] = [
                (i.path, i.sha256, i.size, i.crc32)
                for i in record.images
                if i.kind == "file" and i.format in FORMATS and i.sha256
            ]
            if per_asset:
                every = [*record.collections, *(c for m in record.members for c in m.collections)]
                binaries += [
                    (a.values[0], a.file, a.size, a.crc32) for c in every for a in c.attributes if a.file
                ]
            scratch.add_binaries(binaries)
            product_id = record.product_ref
            for image in record.images:
                if image.format not in FORMATS:
                    warnings.append(
                        f"product {product_id!r} {image_origin(image)}: "
                        f"{image.url or image.format} is not an image file SFCC shows; skipped"
                    )
            groups = image_groups(record.images, config, declared, order)
            counts["products"] += 1
            counts["groups"] += len(groups)
            # without members, the product's own collections are every collection
            own = custom_attributes(record.collections, config) if record.members else every_custom
            yield Product(product_id, groups, own)
            for member in record.members:
                custom = custom_attributes(member.collections, config)
                if custom:
                    counts["members"] += 1
                    yield Product(member.product_id, [], custom, with_images=False)

    # one pass: the products' elements wait in a local temporary file until the header, which
    # the whole pass gathers, is written before them
    with tempfile.TemporaryFile(prefix="pim-images-products-") as body:
        _write_products(body, products())
        header = gatherer.header()
        body.seek(0)
        with (out / xml_name).open("wb") as f:
            _write_catalog(
                f,
                config.sfccCatalogId,
                header.view_types,
                lambda f: shutil.copyfileobj(body, f, 1 << 20),
                external_location(config),
                header.variation_attribute_id,
            )
    check_against_schema(out / xml_name, "catalog.xsd")
    ids = _Ids()
    with (out / METADATA_FILE).open("wb") as f:
        write_metadata_xml(f, _counted(scratch.definitions(), ids), scratch.groups)
    check_against_schema(out / METADATA_FILE, "metadata.xsd")
    # the archive's writer seeks back to each copied member's header, which an upload to a
    # bucket cannot: there it is built in a local temporary file, then copied to staging, so
    # that it is the same bytes wherever staging is (docs/runs.md#staging); a local staging
    # folder takes it directly (no copy of its 60 MB at 10,000 products), under a
    # temporary name until it is whole
    archive_args = (archive_name, config.sfccCatalogId, out / xml_name, out / METADATA_FILE)
    if isinstance(out, Path):
        partial = out / f"{archive_name}.zip.partial"
        try:
            with partial.open("wb") as f:
                write_site_archive(f, *archive_args, scratch.binaries(), cache)
            os.replace(partial, out / f"{archive_name}.zip")
        finally:
            partial.unlink(missing_ok=True)
    else:
        with tempfile.TemporaryFile(prefix="pim-images-archive-") as local:
            write_site_archive(local, *archive_args, scratch.binaries(), cache)
            local.seek(0)
            with (out / f"{archive_name}.zip").open("wb") as f:
                shutil.copyfileobj(local, f, 1 << 20)
    return SfccOutput(
        files=[f"{archive_name}.zip", xml_name],
        products=counts["products"],
        image_groups=counts["groups"],
        member_products=counts["members"],
        binaries=scratch.binary_count(),
        view_types=header.view_types,
        custom_attributes=ids.first,
        custom_attribute_definitions=ids.count,
        warnings=warnings.kept,
        warnings_dropped=warnings.dropped,
    )


def _unmapped_note(view_types: list[str]) -> str:
    """The run's note on view types ``akeneoImageFileViewTypesMapping`` leaves without asset
    images (docs/transform.md#image-metadata-and-file-view-types)."""
    names = ", ".join(map(repr, view_types))
    one = len(view_types) == 1
    return (
        f"view type{'' if one else 's'} {names} of akeneoImageViewTypes {'is' if one else 'are'} in no "
        "akeneoImageFileViewTypesMapping entry: as in the connector, Asset Manager assets give "
        f"{'it' if one else 'them'} no image (image attributes still do); map "
        f"{'it' if one else 'each'} to the asset families' main media attribute to give "
        f"{'it' if one else 'them'} the main media"
    )


class _Ids:
    """The custom attribute ids the summary names: the first :data:`SUMMARY_IDS`, and how many."""

    def __init__(self) -> None:
        self.first: list[str] = []
        self.count = 0


def _counted(definitions: Iterable[Definition], ids: _Ids) -> Iterator[Definition]:
    """``definitions``, counting them in ``ids`` as they go by (and keeping the first ids)."""
    for definition in definitions:
        if ids.count < SUMMARY_IDS:
            ids.first.append(definition.id)
        ids.count += 1
        yield definition


class Product(NamedTuple):
    """What the catalog says of one product: its image groups and custom attributes."""

    product_id: str
    groups: list[Group]
    custom: list[CustomAttribute]
    #: ``False`` for a master's sub-model or variant written for its own collections only: its
    #: images stay as they are (the master's variation groups carry them)
    with_images: bool = True


def write_catalog_xml(
    f: IO[bytes],
    catalog_id: str,
    view_types: list[str],
    products: Iterable[Product],
    external: tuple[str, str] | None = None,
    variation_attribute: str | None = None,
) -> None:
    """Stream a catalog XML: header image settings, then each product's image groups and
    image-related custom attributes (nothing else of the product, so MERGE keeps the rest)."""
    _write_catalog(
        f, catalog_id, view_types, lambda f: _write_products(f, products), external, variation_attribute
    )


def _write_products(f: IO[bytes], products: Iterable[Product]) -> None:
    """Each product's elements as text (attribute values escaped as lxml does): lxml's
    incremental writer costs several microseconds an element, a third of the render.

    Written :data:`_PRODUCTS_BATCH` characters at a time: a write a product (some 2 KB) took
    0.44 s of a 100,000-product render (cProfile)."""
    pending: list[str] = []
    size = 0
    for product in products:
        xml = _product_xml(product)
        pending.append(xml)
        size += len(xml)
        if size >= _PRODUCTS_BATCH:
            f.write("".join(pending).encode())
            pending.clear()
            size = 0
    if pending:
        f.write("".join(pending).encode())


#: Characters of product elements gathered before one write.
_PRODUCTS_BATCH = 1 << 18


def _write_catalog(
    f: IO[bytes],
    catalog_id: str,
    view_types: list[str],
    write_products: Callable[[IO[bytes]], object],
    external: tuple[str, str] | None,
    variation_attribute: str | None,
) -> None:
    """The catalog XML, its declaration and header by lxml's incremental writer, then what
    ``write_products`` writes to ``f``, then the end."""

    def q(name: str) -> str:
        return f"{{{CATALOG_NS}}}{name}"

    with etree.xmlfile(f, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(q("catalog"), {"catalog-id": catalog_id}, nsmap={None: CATALOG_NS}):
            xf.write("\n  ")
            with xf.element(q("header")), xf.element(q("image-settings")):
                if external:
                    with xf.element(q("external-location")):
                        for name, url in zip(("http-url", "https-url"), external, strict=True):
                            with xf.element(q(name)):
                                xf.write(url)
                else:
                    with xf.element(q("internal-location"), {"base-path": BASE_PATH}):
                        pass
                with xf.element(q("view-types")):
                    for view_type in view_types:
                        with xf.element(q("view-type")):
                            xf.write(view_type)
                if variation_attribute:
                    with xf.element(q("variation-attribute-id")):
                        xf.write(variation_attribute)
                for name in ("alt-pattern", "title-pattern"):
                    with xf.element(q(name)):
                        xf.write(IMAGE_TEXT_PATTERN)
            xf.flush()
            write_products(f)
            xf.write("\n")


#: What libxml2 escapes in an attribute value (lxml's serializer): markup, the quote, and the
#: whitespace that attribute normalization would otherwise turn into spaces.
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)


_TO_ESCAPE = re.compile('[&<>"\n\r\t]')


def _a(value: str) -> str:
    """An attribute value as lxml writes it (UTF-8 output: other characters as they are).

    Most values (paths, ids) need no escape: looking for one costs a third of translating."""
    return value.translate(_ATTRIBUTE_ESCAPES) if _TO_ESCAPE.search(value) else value


#: What libxml2 escapes in text: markup, and the carriage return (a parser would drop it).
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_TEXT_TO_ESCAPE = re.compile("[&<>\r]")


def _t(value: str) -> str:
    """A text as lxml writes it (UTF-8 output)."""
    return value.translate(_TEXT_ESCAPES) if _TEXT_TO_ESCAPE.search(value) else value


#: Between the paths of two ``image`` elements without texts.
_IMAGE_BETWEEN = '"></image><image path="'


def _product_xml(product: Product) -> str:
    """One ``product`` element, with the line break and indentation before it, byte for byte as
    lxml's incremental writer wrote it (an empty element as a start and an end tag)."""
    parts = ['\n  <product product-id="', _a(product.product_id), '">']
    if not product.with_images:
        parts += (_custom_attributes_xml(product.custom), "</product>")
        return "".join(parts)
    parts.append('<images merge-mode="replace">')
    # groups that share their paths and texts (every view type's of a locale: image_groups)
    # share their images' text, written once
    written: dict[tuple[int, int], str] = {}
    for group in product.groups:
        parts += ('\n      <image-group view-type="', _a(group.view_type), '">')
        for axis, value in group.variation:
            parts += ('<variation attribute-id="', _a(axis), '" value="', _a(value), '"></variation>')
        key = (id(group.paths), id(group.texts))
        images = written.get(key)
        if images is None:
            images = written[key] = _images_xml(group.paths, group.texts)
        parts += (images, "</image-group>")
    if product.groups:
        parts.append("\n    ")
    parts.append("</images>")
    if product.custom:
        parts.append(_custom_attributes_xml(product.custom))
    parts.append("</product>")
    return "".join(parts)


def _images_xml(paths: list[str], texts: dict[str, dict[str, list[ImageText]]]) -> str:
    """A group's ``image`` elements."""
    if not texts and not _TO_ESCAPE.search("".join(paths)):
        # the group's paths in one go: one look for characters to escape, one join
        return f'<image path="{_IMAGE_BETWEEN.join(paths)}"></image>'
    parts: list[str] = []
    for path in paths:
        path_texts = texts.get(path)
        if path_texts:
            parts.append(_image_xml(path, path_texts))
        else:
            parts += ('<image path="', _a(path), '"></image>')
    return "".join(parts)


def _image_xml(path: str, texts: dict[str, list[ImageText]]) -> str:
    """An ``image`` with its ``alt`` then ``title`` elements (catalog.xsd's order), one per
    locale (``xml:lang`` with a hyphen; none for a non-localized text), as lxml serialized it
    as a tree of its own: with the namespace declaration, and ``/>`` when it has no text."""
    parts = [f'<image xmlns="{CATALOG_NS}" path="', _a(path), '"']
    children = [(name, text) for name in ("alt", "title") for text in texts.get(name, [])]
    if not children:
        return "".join((*parts, "/>"))
    parts.append(">")
    for name, text in children:
        parts += ("<", name)
        if text.locale:
            parts += (' xml:lang="', _a(text.locale.replace("_", "-")), '"')
        parts += (">", _t(text.value), "</", name, ">")
    parts.append("</image>")
    return "".join(parts)


def _custom_attributes_xml(custom: list[CustomAttribute]) -> str:
    """Image-related custom attributes (docs/sfcc.md#custom-attributes), one element per
    locale: a ``set-of-string`` as ``value`` elements (keeping their order), another type as
    its text; with the line breaks and indentation around them.

    As lxml serialized them as a tree of their own: with the namespace declaration, and an
    attribute without values as ``/>``.
    """
    if not custom:
        return f'\n    <custom-attributes xmlns="{CATALOG_NS}"/>\n  '
    parts = [f'\n    <custom-attributes xmlns="{CATALOG_NS}">']
    for attribute in custom:
        parts += ('<custom-attribute attribute-id="', _a(attribute.id), '"')
        if attribute.locale:
            parts += (' xml:lang="', _a(attribute.locale.replace("_", "-")), '"')
        if attribute.type != "set-of-string":
            parts += (">", _t(attribute.values[0] if attribute.values else ""), "</custom-attribute>")
        elif attribute.values:
            parts.append(">")
            for value in attribute.values:
                parts += ("<value>", _t(value), "</value>")
            parts.append("</custom-attribute>")
        else:
            parts.append("/>")
    parts.append("</custom-attributes>\n  ")
    return "".join(parts)


def write_metadata_xml(
    f: IO[bytes],
    custom_attributes: Iterable[Definition] = (),
    groups: Callable[[], Iterable[tuple[tuple[str, str], list[str]]]] | None = None,
) -> None:
    """System object extensions for ``Product``: every custom attribute the catalog uses, so
    that SFCC accepts it (docs/sfcc.md#metadata-xml), in the connector's attribute groups for
    Business Manager (``AkeneoAttributes``; ``AkeneoAsset<Asset>Attributes`` per asset).

    :param custom_attributes: the definition of each custom attribute, in the order written.
    :param groups: when given, gives each attribute group ``(id, display name)`` with its
        attribute ids, sorted (the definitions may be too many to hold: they are read again);
        else the groups are gathered from ``custom_attributes``.

    The file is in every site-import archive, empty of definitions when there are none, so
    the archive's layout never changes. Its skeleton is pretty-printed by lxml; the definitions
    and groups are written as text, :data:`_METADATA_SLICE` at a time, byte for byte as lxml
    pretty-prints them in the whole document (the unit tests compare the two), so memory stays
    flat whatever the number of definitions: an lxml element each cost 25 microseconds, 7 % of
    the render.
    """
    definitions = iter(custom_attributes)
    first = list(itertools.islice(definitions, _METADATA_SLICE))
    root = etree.Element(_m("metadata"), nsmap={None: METADATA_NS})
    extension = etree.SubElement(root, _m("type-extension"), {"type-id": "Product"})
    if not first:
        f.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
        return
    gathered: dict[tuple[str, str], list[str]] = {}
    container = etree.SubElement(extension, _m("custom-attribute-definitions"))
    etree.SubElement(container, _m("attribute-definition"))  # splits the skeleton
    etree.SubElement(extension, _m("group-definitions"))
    skeleton = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    head, rest = skeleton.split(b"      <attribute-definition/>\n")
    between, tail = rest.split(b"<group-definitions/>\n")
    f.write(head)
    batch = first
    while batch:
        if groups is None:
            for definition in batch:
                gathered.setdefault(definition.group, []).append(definition.id)
        f.write("".join(map(_definition_xml, batch)).encode())
        batch = list(itertools.islice(definitions, _METADATA_SLICE))
    f.write(between + b"<group-definitions>\n")
    pending: list[str] = []
    for (group_id, name), ids in groups() if groups is not None else sorted(gathered.items()):
        pending += (
            '      <attribute-group group-id="',
            _a(group_id),
            '">\n        <display-name xml:lang="x-default">',
            _t(name),
            "</display-name>\n",
        )
        pending += (f'        <attribute attribute-id="{_a(id)}"/>\n' for id in ids)
        pending.append("      </attribute-group>\n")
        if len(pending) >= _METADATA_SLICE:
            f.write("".join(pending).encode())
            pending = []
    f.write("".join(pending).encode())
    f.write(b"    </group-definitions>\n" + tail)


#: Definitions (or text parts of groups) written at a time in the metadata file.
_METADATA_SLICE = 1000


def _m(name: str) -> str:
    return f"{{{METADATA_NS}}}{name}"


def _definition_xml(attribute: Definition) -> str:
    """One ``attribute-definition``, as lxml pretty-prints it in the metadata file (indented
    under ``custom-attribute-definitions``)."""
    id = attribute.id
    return (
        f'      <attribute-definition attribute-id="{_a(id)}">\n'
        f'        <display-name xml:lang="x-default">{_t(id)}</display-name>\n'
        f"        <type>{_t(attribute.type)}</type>\n"
        f"        <localizable-flag>{'true' if attribute.localizable else 'false'}</localizable-flag>\n"
        "        <mandatory-flag>false</mandatory-flag>\n"
        "        <externally-managed-flag>true</externally-managed-flag>\n"
        "      </attribute-definition>\n"
    )


def write_site_archive(
    f: IO[bytes],
    name: str,
    catalog_id: str,
    catalog_xml: StagingPath,
    metadata_xml: StagingPath,
    binaries: Iterable[Binary],
    cache: MediaCache,
) -> None:
    """The site-import zip (docs/sfcc.md#site-import-archive): ``<name>/meta/...``,
    ``<name>/catalogs/<id>/catalog.xml`` and each binary under ``<name>/catalogs/<id>/static/default/<path>``.

    :param f: where the archive goes: a seekable file (each deflated member's header is
        written again once its CRC is known, as zipfile does on a seekable file).
    :param binaries: ``(delivered path, sha256, size, CRC-32)`` of each binary, sorted by path,
        each once; size and CRC-32 as the media records say (``None``: read from the blob).

    Entries have fixed times and modes and come in a fixed order, so equal inputs give equal
    bytes; images are stored, not deflated (JPEG and PNG are compressed already). The archive
    is the bytes zipfile writes for those members (:class:`~.archive.ZipWriter`). A binary
    whose size and CRC-32 are known has its header written before its bytes: from a local
    cache to a file, a large one is copied by the kernel (:meth:`~.archive.ZipWriter.add_copied`),
    never read into Python; small ones are read whole and written together; others are copied
    in chunks. The central directory waits in a temporary file, so memory stays flat whatever
    the number of binaries.
    """
    catalog_dir = f"{name}/catalogs/{catalog_id}"
    blobs = cache.root / "blobs"
    archive = ZipWriter(f, _ZIP_TIME, level=DEFLATE_LEVEL)
    for member, xml in (
        (f"{name}/meta/{METADATA_FILE}", metadata_xml),
        (f"{catalog_dir}/catalog.xml", catalog_xml),
    ):
        with xml.open("rb") as src:
            archive.add_chunks(member, _chunks(src), _size(xml), DEFLATED)
    prefix = f"{catalog_dir}/static/default/"
    if isinstance(blobs, Path):
        _add_local(archive, prefix, os.fspath(blobs), binaries, _has_fd(f))
    else:
        for path, sha256, size, crc in binaries:
            with (blobs / sha256[:2] / sha256).open("rb") as src:
                # the size is asked of the store (a call on a bucket) only when it is not known
                # and the first chunk is not the whole blob
                data = src.read(_CHUNK)
                if len(data) < _CHUNK:
                    archive.add_stored(prefix + path, data, crc if size == len(data) else None)
                else:
                    chunks = itertools.chain([data], _chunks(src))
                    known = size if size is not None else _size(blobs / sha256[:2] / sha256)
                    archive.add_chunks(prefix + path, chunks, known, STORED)
    archive.close()


def _has_fd(f: IO[bytes]) -> bool:
    """Whether ``f`` is a file of the system's (the kernel can copy into it)."""
    try:
        f.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        return False
    return True


def _add_local(archive: ZipWriter, prefix: str, blobs: str, binaries: Iterable[Binary], copy: bool) -> None:
    """Add each binary of the local cache folder ``blobs`` as a stored member ``prefix + path``.

    Blobs are opened relative to their ``<aa>`` folder (one path component to look up, not the
    whole path: binaries come sorted, so a folder is opened once per run of its blobs), by file
    descriptor (opening a file object cost more than reading a small image), with
    ``O_NOATIME`` where the system has it and the blobs are the process's own: a blob's first
    read would otherwise write its inode's access time (the ``relatime`` default updates an
    access time older than the last change), 0.7 CPU s for 450,000 freshly downloaded blobs. A blob of a known
    size up to :data:`_COPIED` bytes is read whole in one read (no ``fstat``), with its known
    CRC-32; a larger one with a known CRC-32 is copied by the kernel when ``copy``; any other,
    or one whose size is not the recorded one, is read whole when at most :data:`_WHOLE` bytes,
    else copied in chunks, its CRC-32 computed.
    """
    folder, folder_fd = "", -1
    open_, read, close = os.open, os.read, os.close
    flags = os.O_RDONLY | _NOATIME
    try:
        for path, sha256, size, crc in binaries:
            name = prefix + path
            if sha256[:2] != folder:
                if folder_fd >= 0:
                    close(folder_fd)
                    folder_fd = -1
                folder = sha256[:2]
                folder_fd = open_(f"{blobs}/{folder}", os.O_RDONLY | os.O_DIRECTORY)
            try:
                fd = open_(sha256, flags, dir_fd=folder_fd)
            except PermissionError:
                if not flags & _NOATIME:
                    raise
                # O_NOATIME is for the file's owner: another user's cache is read without it
                flags &= ~_NOATIME
                fd = open_(sha256, flags, dir_fd=folder_fd)
            try:
                if size is not None and crc is not None:
                    if size <= _COPIED or not copy:
                        if size <= _WHOLE:
                            data = read(fd, size + 1)  # one byte more: a longer blob shows
                            if len(data) == size:
                                archive.add_stored(name, data, crc)
                                continue
                    elif os.fstat(fd).st_size == size:
                        archive.add_copied(name, fd, size, crc)
                        continue
                _add_any(archive, name, fd)
            finally:
                close(fd)
    finally:
        if folder_fd >= 0:
            close(folder_fd)


def _add_any(archive: ZipWriter, name: str, fd: int) -> None:
    """Add the open file ``fd`` (from its start) as the stored member ``name``, its CRC-32
    computed: read whole when at most :data:`_WHOLE` bytes, else copied in chunks."""
    size = os.fstat(fd).st_size
    if size <= _WHOLE:
        data = os.pread(fd, size, 0)
        while len(data) < size:  # a short read: rare on a local file, never assumed away
            more = os.pread(fd, size - len(data), len(data))
            if not more:
                break
            data += more
        archive.add_stored(name, data)
        return
    os.lseek(fd, 0, os.SEEK_SET)
    with open(fd, "rb", buffering=0, closefd=False) as src:
        archive.add_chunks(name, _chunks(src), size, STORED)


def _chunks(src: IO[bytes]) -> Iterator[bytes]:
    """``src`` read :data:`_CHUNK` bytes at a time, to its end."""
    while chunk := src.read(_CHUNK):
        yield chunk


def _size(path: StagingPath) -> int:
    return int(path.stat().st_size)


#: Bytes of a member read at a time when it is copied in chunks.
_CHUNK = 1 << 20
#: A stored member of a known size up to this is read whole (one read the size of the file: a
#: fixed 1 MiB read buffer, allocated for every image, cost more than the rest of the copy).
_WHOLE = 8 << 20
#: ``os.O_NOATIME`` (Linux), 0 where the system has none.
_NOATIME = getattr(os, "O_NOATIME", 0)
#: A local blob of a known size and CRC-32 over this is copied by the kernel, not read: under
#: it, one read and a batched write cost less than flushing the batch before its header.
_COPIED = 16 << 10
