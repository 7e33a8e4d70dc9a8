"""Transform stage and its rules (docs/transform.md): from Akeneo values to each product's image list.

Target-neutral: it decides which images a product has, in which order, at which variation,
for which variants, and which assets its collections hold; how each target names, filters and
writes them is the target's (``pim_images.targets``). The rules are pure functions (value
order, content-addressed paths, link formats) tested on tiny inputs; :func:`transform_catalog`
applies them to a run's staging records, one product at a time.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import msgspec

from pim_images import records
from pim_images.config import PipelineConfig
from pim_images.diskindex import DiskIndex
from pim_images.errors import FailedProductsError
from pim_images.heap import frozen_during
from pim_images.media import media_file_key
from pim_images.models import axis_values, own_values, root_of
from pim_images.records import (
    Asset,
    AssetFile,
    AssetLink,
    AssetValue,
    AttributeSet,
    Collection,
    CollectionAttribute,
    CollectionLink,
    CollectionValue,
    Image,
    ImageText,
    MediaRecord,
    MemberCollections,
    Product,
    ProductImages,
    ProductModel,
    ProductRefs,
    Value,
    Values,
    asset_refs,
)
from pim_images.report import StageSummary, shown
from pim_images.staging import StagingPath


def content_path(sha256: str, extension: str) -> str:
    """Where a binary is delivered: named by its content, so a changed image gets a new path.

    Caches keyed by URL (SFCC, BSPK, CDNs) then never serve a stale image, and names are plain
    ASCII whatever the PIM file was called (SFCC's site import rejects special characters).
    """
    return f"images/{sha256[:2]}/{sha256}.{extension}"


Localized = TypeVar("Localized", Value, AssetFile, AssetLink, AssetValue)


def order_values(values: list[Localized], locales: tuple[str, ...]) -> list[Localized]:
    """Non-localized value first, then the configured locales in their configured order."""
    if len(values) < 2:  # most values: nothing to order
        return list(values)
    rank = _rank(locales)
    return sorted(values, key=lambda v: rank.get(v.locale, len(rank)))


@functools.lru_cache(maxsize=16)
def _rank(locales: tuple[str, ...]) -> dict[str | None, int]:
    return {None: -1, **{locale: i for i, locale in enumerate(locales)}}


def link_format(url: str) -> str | None:
    """The image format a link's path names (links are not downloaded)."""
    suffix = urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(url).path else ""
    return _LINK_FORMATS.get(suffix)


_LINK_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}

_URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]"
#: A URL of what RFC 3986 allows only: unreserved and reserved characters, ``%`` of an escape;
#: written as runs of plain characters between escapes (an alternation repeated a character at
#: a time was five times slower: a tenth of transform's time at 100,000 products, with the links'
#: other checks).
_URL_CHARS = re.compile(rf"{_URL_CHAR}*(?:%[0-9A-Fa-f]{{2}}{_URL_CHAR}*)*")
#: An escape already in a URL: kept as it is, never encoded twice.
_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
#: Reserved characters kept in a path (``/`` and RFC 3986's sub-delims, ``:`` and ``@``), and
#: in a query or fragment (``?`` too).
_PATH_SAFE = "/!$&'()*+,;=:@~"
_QUERY_SAFE = _PATH_SAFE + "?"
#: What a browser drops from a link (WHATWG URL): C0 controls and spaces at either end, and
#: tabs and line breaks anywhere.
_URL_EDGES = "".join(chr(c) for c in range(0x21))


def normalize_url(url: str) -> str:
    """A link as a URL (docs/transform.md#links): what RFC 3986 does not allow in it
    (spaces, non-ASCII as UTF-8, other controls) percent-encoded in the path, query and
    fragment; reserved characters and existing ``%XX`` escapes kept, so a normalized URL is
    left as it is (never encoded twice). A non-ASCII host becomes its IDNA (punycode) form.
    Controls and spaces at either end, and tabs and line breaks anywhere, are dropped, as a
    browser reads a link.

    A URL that cannot be normalized (a lone surrogate, a malformed host) is returned as it is:
    the targets' rules refuse it and name its product.

    >>> normalize_url("https://cdn.example.com/images/SKU-1/Red Shoe grün.jpg")
    'https://cdn.example.com/images/SKU-1/Red%20Shoe%20gr%C3%BCn.jpg'
    >>> normalize_url("https://cdn.example.com/a%20b.jpg?w=1&h=2")
    'https://cdn.example.com/a%20b.jpg?w=1&h=2'
    """
    url = url.strip(_URL_EDGES).replace("\t", "").replace("\n", "").replace("\r", "")
    if _URL_CHARS.fullmatch(url):
        return url  # already a URL: the same text, byte for byte
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if not netloc.isascii():
            host = parts.hostname or ""
            netloc = netloc.replace(host, host.encode("idna").decode("ascii"))
        return urlunsplit(
            (
                parts.scheme,
                netloc,
                _quote(parts.path, _PATH_SAFE),
                _quote(parts.query, _QUERY_SAFE),
                _quote(parts.fragment, _QUERY_SAFE),
            )
        )
    except (ValueError, UnicodeError):
        return url


def _quote(part: str, safe: str) -> str:
    """Percent-encode ``part`` except ``safe`` characters and existing escapes."""
    return "".join(p if _ESCAPE.fullmatch(p) else quote(p, safe=safe) for p in _ESCAPE.split(part))


class ProductTransformer:
    """Builds one product's images and collections from staged values, media and assets."""

    def __init__(
        self,
        config: PipelineConfig,
        image_attributes: list[str],
        collections: list[Collection],
        media: Mapping[str, MediaRecord],
        assets: Mapping[str, Asset],
        warnings: list[str],
        family_attributes: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """:param family_attributes: each asset family's attribute codes (the extracted
        structure), to tell a family without a rendition attribute of
        ``akeneoImageFileViewTypesMapping`` from an asset without its value; ``None``: unknown
        (every missing rendition is then named per asset)."""
        self.config = config
        self.image_attributes = image_attributes
        self.collections = collections
        self.media = media
        self.assets = assets
        self.warnings = warnings
        #: what is reported without skipping an image (axis values that cannot be written)
        self.notes: list[str] = []
        self.link_families: set[str | None] = set()  # families already reported as link-only
        self.family_attributes = (
            None if family_attributes is None else {f: frozenset(a) for f, a in family_attributes.items()}
        )
        #: (family, asset or None for the whole family, attribute) of missing renditions reported
        self.missing_renditions: set[tuple[str | None, str | None, str]] = set()
        #: media of the product being read that failed (download or decoding): the caller
        #: leaves that product out (docs/bad-input.md#broken-images) and empties the list
        self.failures: list[str] = []
        self.location = normalize_url(config.akeneoExternalImageLocation)

    def images_and_collections(self, name: str, values: Values) -> tuple[list[Image], list[CollectionValue]]:
        """Images in delivery order (image attributes, then assets in collection order;
        docs/transform.md#ordering) and the collections' asset codes and links.

        :param name: the product's identifier or model's code, for warnings.
        """
        images = [i for a in self.image_attributes for i in self._attribute_images(name, values, a)]
        collections = []
        for collection in self.collections:
            found, value = self._collection(name, values, collection)
            images += found
            collections.append(value)
        return images, collections

    def _attribute_images(self, name: str, values: Values, attribute: str) -> Iterator[Image]:
        for value in order_values(values.get(attribute, []), self.config.akeneoLocales):
            where = f"product {name!r} image attribute {attribute!r}"
            image = self._file(media_file_key(value.data), attribute, value.locale, None, where)
            if image:
                yield image

    def _file(
        self, key: str, attribute: str, locale: str | None, asset: str | None, where: str
    ) -> Image | None:
        """The image of a media, or ``None``: a media that failed (missing, not downloaded, an
        image that does not decode) is a failure of the product (:attr:`failures`); a file
        that is no image, or of a format no target takes, is skipped with a warning."""
        record = self.media.get(key)
        if record is None or record.sha256 is None or record.broken:
            reason = (record.error if record else None) or "not resolved by the media stage"
            self.failures.append(f"{where}: media {key!r} {reason}")
            return None
        if record.extension is None:
            reason = record.error or f"is a {record.format} file, an image format no target takes"
            self.warnings.append(f"{where}: media {key!r} {reason}; skipped")
            return None
        return Image(
            attribute=attribute,
            locale=locale,
            format=record.format,
            path=content_path(record.sha256, record.extension),
            sha256=record.sha256,
            asset=asset,
            size=record.size,
            crc32=record.crc32,
        )

    def _under_location(self, url: str, where: str) -> bool:
        """Whether the (normalized) link ``url`` is under the (normalized) external location and
        cannot climb out of it; a link that is not is skipped with a warning naming it."""
        if under_location(url, self.location):
            return True
        self.warnings.append(
            f"{where}: link {url!r} is not under akeneoExternalImageLocation "
            f"{self.config.akeneoExternalImageLocation!r}; skipped"
        )
        return False

    def _collection(
        self, name: str, values: Values, collection: Collection
    ) -> tuple[list[Image], CollectionValue]:
        code = collection.code
        codes = [c for v in values.get(code, []) for c in (v.data or [])]
        found = []
        for asset_code in codes:
            asset = self.assets.get(records.asset_key(collection.family, asset_code))
            if asset is None:
                self.warnings.append(
                    f"product {name!r} asset collection attribute {code!r}: asset {asset_code!r} "
                    "does not exist; skipped"
                )
                continue
            found.append(asset)
        images: list[Image] = []
        links: list[CollectionLink] = []
        attributes: list[CollectionAttribute] = []
        for asset in found:
            where = f"product {name!r} asset collection attribute {code!r} asset {asset.code!r}"
            if as_custom_attributes(asset, self.config):
                attributes += self._asset_attributes(asset, where)
            else:
                images += self._asset_images(asset, code, where)
            # the links of every asset, for targets that name them per collection
            if self.config.asset_links_as_attributes:
                for attribute, link_values in asset.links.items():
                    for link in order_values(link_values, self.config.akeneoLocales):
                        url = normalize_url(link.url)
                        if self._under_location(url, where):
                            links.append(CollectionLink(asset.code, attribute, link.locale, url))
        value = CollectionValue(code=code, assets=[a.code for a in found], links=links, attributes=attributes)
        return images, value

    def _asset_attributes(self, asset: Asset, where: str) -> list[CollectionAttribute]:
        """Every attribute value of an asset delivered as custom attributes
        (docs/transform.md#custom-attribute-ids), in the family's attribute order, each
        non-localized value first, then the configured locales. A non-image main media file
        (a PDF...) is delivered as a binary, its value being its content-addressed path."""
        found: list[CollectionAttribute] = []
        for attribute, values in asset.values.items():
            kind = asset.types.get(attribute, "text")
            for value in order_values(values, self.config.akeneoLocales):
                texts = value.data if isinstance(value.data, list) else [value.data]
                if attribute == asset.main and kind == "media_file":
                    file = next(
                        (f for f in asset.files if f.attribute is None and f.locale == value.locale), None
                    )
                    record = self.media.get(file.media) if file else None
                    if record is None or record.sha256 is None:
                        reason = record.error if record else "not resolved by the media stage"
                        self.warnings.append(f"{where}: media file {value.data!r} {reason}; skipped")
                        continue
                    path = file_path(record.sha256, str(value.data))
                    found.append(
                        CollectionAttribute(
                            asset.code,
                            attribute,
                            kind,
                            value.locale,
                            [path],
                            record.sha256,
                            size=record.size,
                            crc32=record.crc32,
                        )
                    )
                    continue
                if kind == "media_link":
                    # the whole URL (prefix + data + suffix), percent-encoded, and only under the
                    # external location: the collection's link check named the others
                    links = [link for link in asset.links.get(attribute, []) if link.locale == value.locale]
                    urls = [normalize_url(link.url) for link in links]
                    texts = [url for url in urls if under_location(url, self.location)]
                    if not texts:
                        continue
                found.append(CollectionAttribute(asset.code, attribute, kind, value.locale, texts))
        return found

    def _texts(self, asset: Asset) -> dict[str, list[ImageText]]:
        """The image texts ``akeneoImageMetadataMapping`` reads from an asset's attributes."""
        texts: dict[str, list[ImageText]] = {}
        for text, attribute in self.config.metadata_mapping.items():
            values = order_values(asset.values.get(attribute, []), self.config.akeneoLocales)
            found = [
                ImageText(", ".join(v.data) if isinstance(v.data, list) else v.data, v.locale)
                for v in values
                if v.data
            ]
            if found:
                texts[text] = found
        return texts

    def _missing_rendition(self, asset: Asset, attribute: str, where: str) -> None:
        """Note that ``asset`` has no file for the mapped ``attribute`` in the channel and
        locales read: as in the connector, its view types get no image of that asset, neither the
        rendition nor the main media in its place (docs/transform.md#image-metadata-and-file-view-types).
        Named once per asset (with the first product that uses it), or once per asset family
        when the family has no such attribute at all."""
        view_types = ", ".join(repr(v) for v in self.config.file_view_types_mapping[attribute])
        known = self.family_attributes.get(asset.family or "") if self.family_attributes is not None else None
        if known is not None and attribute not in known:
            key: tuple[str | None, str | None, str] = (asset.family, None, attribute)
            text = (
                f"{where}: asset family {asset.family!r} has no media file attribute {attribute!r} "
                f"(akeneoImageFileViewTypesMapping), so no asset of that family has an image in view "
                f"type {view_types}, as in the connector; named once per asset family"
            )
        else:
            key = (asset.family, asset.code, attribute)
            text = (
                f"{where}: no value for the media file attribute {attribute!r} "
                f"(akeneoImageFileViewTypesMapping) in channel {self.config.akeneoScope!r} and locales "
                f"{', '.join(self.config.akeneoLocales)}, so this asset "
                f"has no image in view type {view_types}, as in the connector; named once per asset"
            )
        if key not in self.missing_renditions:
            self.missing_renditions.add(key)
            self.notes.append(text)

    def _asset_images(self, asset: Asset, collection: str, where: str) -> list[Image]:
        images: list[Image] = []
        if self.config.asset_files and asset.main_is_link and asset.family not in self.link_families:
            self.link_families.add(asset.family)
            self.warnings.append(
                f"asset family {asset.family!r}: its main media {asset.main!r} is a link, which "
                f"akeneoImageImportType {self.config.akeneoImageImportType!r} does not deliver as an image"
            )
        if (
            self.config.asset_links_as_images
            and not self.config.link_view_types_mapping
            and not asset.main_is_link
            and asset.family not in self.link_families
        ):
            self.link_families.add(asset.family)
            self.warnings.append(
                f"asset family {asset.family!r}: its main media {asset.main!r} is a file, which "
                f"akeneoImageImportType {self.config.akeneoImageImportType!r} does not deliver; its assets "
                "give no image (map its media_link attributes in akeneoImageLinkViewTypesMapping, or import "
                "media_file or both)"
            )
        texts = self._texts(asset)
        if self.config.asset_files:
            renditions = list(self.config.file_view_types_mapping) if asset.family else []
            for attribute in renditions or [None]:
                files = [f for f in asset.files if (f.attribute or asset.main) == (attribute or asset.main)]
                if attribute and not files and not asset.main_is_link:  # a link family is named above
                    self._missing_rendition(asset, attribute, where)
                for file in order_values(files, self.config.akeneoLocales):
                    image = self._file(file.media, collection, file.locale, asset.code, where)
                    if image:
                        images.append(
                            msgspec.structs.replace(image, file_attribute=attribute, texts=texts)
                            if attribute or texts
                            else image
                        )
        if self.config.asset_links_as_images:
            attributes = list(self.config.link_view_types_mapping) or (
                [asset.main] if asset.main_is_link and asset.main else []
            )
            for attribute in attributes:
                for link in order_values(asset.links.get(attribute, []), self.config.akeneoLocales):
                    url = normalize_url(link.url)
                    if not self._under_location(url, where):
                        continue
                    images.append(
                        Image(
                            attribute=collection,
                            locale=link.locale,
                            format=link_format(url),
                            path=url[len(self.location) :],
                            kind="link",
                            url=url,
                            asset=asset.code,
                            link_attribute=attribute,
                            texts=texts,
                        )
                    )
        return images


def image_origin(image: Image) -> str:
    """Where an image comes from, in Akeneo's terms, for warnings: ``image attribute 'main'``
    or ``asset collection attribute 'packshots' asset 'z'``."""
    if image.asset is None:
        return f"image attribute {image.attribute!r}"
    return f"asset collection attribute {image.attribute!r} asset {image.asset!r}"


def as_custom_attributes(asset: Asset, config: PipelineConfig) -> bool:
    """Whether an asset goes to product custom attributes rather than image groups
    (docs/transform.md#custom-attribute-ids): an Asset Manager asset whose main media is not
    an image (``media_type`` ``pdf``, ``youtube``, ``vimeo``, ``other``), or is an image link
    when the import type is ``both``."""
    if asset.family is None or not config.reads_assets:
        return False
    if asset.main_media_type not in (None, "image"):
        return True
    return asset.main_is_link and config.asset_links_as_attributes


def file_path(sha256: str, name: str) -> str:
    """Where a non-image binary (a PDF of an asset) is delivered: content-addressed like images,
    its extension taken from the Akeneo file name (letters and digits only, else ``bin``)."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    extension = suffix if suffix.isascii() and suffix.isalnum() and len(suffix) <= 8 else "bin"
    return f"files/{sha256[:2]}/{sha256}.{extension}"


def master_images(
    root: str,
    variants: list[Product],
    models: Mapping[str, ProductModel],
    family_variants: dict[str, list[AttributeSet]],
    transformer: ProductTransformer,
    axis_types: dict[str, str] | None = None,
) -> ProductImages:
    """A master's images (docs/transform.md#variation-images): the root model's own images with no
    variation, then per sub-model (code order) its own images filtered by its axis values,
    each followed by its variants' (identifier order) filtered by all their axis values.

    ``variants`` of an image names the variant products it applies to: none for the root's,
    the sub-model's variants for a sub-model's, the variant itself for a variant's. The
    master's collections are the root's; a sub-model's or variant's own collections (those of
    its level's attributes) are its member entry, delivered on its own product
    (docs/transform.md#custom-attribute-ids). The family variant is found by its code alone (models
    of PIMs before 3.2 have no ``family``); ``axis_types`` say how each axis value is written.
    """
    model = models[root]
    sets = family_variants.get(model.family_variant or "", [])
    types = axis_types or {}
    images, collections = _level_images(transformer, root, model.values, sets, 0, [], types)
    members: list[MemberCollections] = []

    def add(name: str, values: Values, level: int, skus: list[str]) -> None:
        found, owned = _level_images(transformer, name, values, sets, level, skus, types)
        images.extend(found)
        if owned:
            members.append(MemberCollections(name, owned))

    by_parent: dict[str, list[Product]] = {}
    for variant in sorted(variants, key=lambda v: v.identifier):
        by_parent.setdefault(variant.parent or "", []).append(variant)
    for parent in sorted(by_parent):
        children = by_parent[parent]
        if parent != root:  # a sub-model: its own images apply to all its variants
            add(parent, models[parent].values, 1, [v.identifier for v in children])
        for variant in children:
            add(variant.identifier, variant.values, len(sets), [variant.identifier])
    return ProductImages(product_ref=root, images=images, collections=collections, members=members)


def _level_images(
    transformer: ProductTransformer,
    name: str,
    values: Values,
    sets: list[AttributeSet],
    level: int,
    variants: list[str],
    types: dict[str, str],
) -> tuple[list[Image], list[CollectionValue]]:
    own = own_values(values, sets, level)
    problems: list[str] = []
    variation = axis_values(values, sets, level, types, problems)
    images, collections = transformer.images_and_collections(name, own)
    owns = _owns(sets, level)
    collections = [c for c in collections if owns(c.code)]
    if images:
        transformer.notes += [f"product {name!r} {p}; its images lack that axis" for p in problems]
    return [msgspec.structs.replace(i, variation=variation, variants=variants) for i in images], collections


def _owns(sets: list[AttributeSet], level: int) -> Callable[[str], bool]:
    """Whether a level of a family variant owns an attribute: its set's attributes; the root's,
    those in no set (catalog-structure). Each collection is written on the one product that owns
    it, empty or not, as values are."""
    if level == 0:
        elsewhere = {a for s in sets for a in (*s.attributes, *s.axes)}
        return lambda code: code not in elsewhere
    owned = set(sets[level - 1].attributes) if level <= len(sets) else set()
    return lambda code: code in owned


class _ProductKey(msgspec.Struct):
    """What the passes over products read of a line before deciding to decode it whole."""

    identifier: str
    parent: str | None


class _ModelKey(msgspec.Struct):
    code: str


class _MediaKey(msgspec.Struct):
    key: str


_PRODUCT_KEY = msgspec.json.Decoder(_ProductKey).decode
_MODEL_KEY = msgspec.json.Decoder(_ModelKey).decode
_MEDIA_KEY = msgspec.json.Decoder(_MediaKey).decode
#: product models kept decoded (every product asks whether its parent is one, twice)
_MODELS_CACHED = 4096


def _simple_batch(number: int) -> bytes:
    """The batch of simple products ``number``: ordered before every master, in file order."""
    return b"\x00" + number.to_bytes(8, "big")


def _master_batch(root: str) -> bytes:
    """A master's batch: after the simple products, in root code order (as :meth:`_Catalog.masters`)."""
    return b"\x01" + root.encode()


_encode = msgspec.json.Encoder().encode


class _Catalog:
    """The run's records transform looks up, in an on-disk index (docs/architecture.md#streaming-and-memory):
    media, assets and product models by key, models by root and the variant products grouped by
    root model; only the batch of products being transformed is in memory.

    Records are not looked up one at a time (some microseconds of SQLite each): a first pass over
    the products (:meth:`plan`) notes which media and assets each batch of simple products and
    each variant and model of a master can name (JSON lists of keys, a row each); SQLite then
    returns each row's records in one row (:meth:`joined`), in batch order, read alongside the
    products (:class:`_Ahead`). Profiled at 10,000 products, a lookup a record made the stage
    twice as slow as the dicts it replaces.
    """

    def __init__(self, index: DiskIndex, run_dir: StagingPath, structure: records.Structure) -> None:
        self.db = db = index.db
        self.run_dir = run_dir
        self.image_attributes = structure.image_attribute_codes
        self.collections = structure.asset_collections
        self.assets: Mapping[str, Asset] = {}
        if self.collections and records.ASSETS.exists(run_dir):
            db.execute("CREATE TABLE asset_media (key TEXT PRIMARY KEY, media TEXT)")  # a JSON list
            self.assets = index.table("assets", records.ASSETS.decode)
            self.assets.load(self._assets())
        # media keys start with a sha1, so a batch's lookups scatter: one tree, not two
        self.media = index.table("media", records.MEDIA.decode, clustered=True)
        self.media.load((_MEDIA_KEY(line).key, line) for line in records.MEDIA.lines(run_dir))
        self.models = index.table("models", records.MODELS.decode, cache=_MODELS_CACHED)
        db.execute("CREATE TABLE levels (root TEXT, line BLOB)")
        db.execute("CREATE TABLE variants (root TEXT, line BLOB)")  # rowid: the products' order
        # what a batch of simple products (a row each, in order) or a master (rows) can name
        db.execute("CREATE TABLE want_simple (batch BLOB, assets TEXT, media TEXT)")
        db.execute("CREATE TABLE want_masters (batch BLOB, assets TEXT, media TEXT)")
        if records.MODELS.exists(run_dir):  # none when the PIM has no family variant
            self.models.load((_MODEL_KEY(line).code, line) for line in records.MODELS.lines(run_dir))
            with db:  # each model under its root (models are read while levels are written)
                db.executemany(
                    "INSERT INTO levels SELECT ?, line FROM models WHERE key = ?",
                    ((root_of(code, self.models), code) for code in self.models),
                )
            db.execute("CREATE INDEX levels_root ON levels (root)")

    def _assets(self) -> Iterator[tuple[str, bytes]]:
        """Each asset's key and line; the media keys of its files go to ``asset_media`` meanwhile."""
        media: list[tuple[str, str]] = []
        for line in records.ASSETS.lines(self.run_dir):
            asset = _ASSET_FILES(line)
            key = records.asset_key(asset.family, asset.code)
            media.append((key, _encode([file.media for file in asset.files]).decode()))
            if len(media) >= 1000:
                self.db.executemany("INSERT OR REPLACE INTO asset_media VALUES (?, ?)", media)
                media.clear()
            yield key, line
        self.db.executemany("INSERT OR REPLACE INTO asset_media VALUES (?, ?)", media)

    def _wants(self, values: Values, assets: list[str], media: list[str]) -> None:
        """Note the media and assets ``values`` can name (a superset of what transform reads)."""
        for attribute in self.image_attributes:
            for value in values.get(attribute, ()):
                media.append(media_file_key(value.data))
        for collection in self.collections:
            for value in values.get(collection.code, ()):
                assets += [records.asset_key(collection.family, code) for code in value.data or ()]

    def is_variant(self, product: _ProductKey) -> bool:
        """Whether a product is a variant of a master read in this run."""
        return bool(product.parent) and product.parent in self.models

    def plan(self) -> set[str]:
        """The first pass over the products: store the variants by root model and note what each
        batch can name; return the identifiers of simple products that are also the code of a
        master (a root model with a variant read): both would be one ``product-id`` /
        ``product_ref`` downstream (docs/bad-input.md#identifier-equal-to-a-product-model-code)."""
        db = self.db
        db.execute("CREATE TABLE simple (identifiers TEXT)")  # a JSON list a batch
        wants: list[tuple[bytes, str, str]] = []  # (batch, asset keys, media keys), a row each

        def want(batch: bytes, values: Iterable[Values]) -> None:
            assets: list[str] = []
            media: list[str] = []
            for level in values:
                self._wants(level, assets, media)
            wants.append((batch, _encode(assets).decode(), _encode(media).decode()))
            if len(wants) >= 1000:
                flush()

        def flush() -> None:
            db.executemany("INSERT INTO want_simple VALUES (?, ?, ?)", (w for w in wants if w[0] < b"\x01"))
            db.executemany("INSERT INTO want_masters VALUES (?, ?, ?)", (w for w in wants if w[0] >= b"\x01"))
            wants.clear()

        def simple(number: int, batch: list[Values], identifiers: list[str]) -> None:
            want(_simple_batch(number), batch)
            db.execute("INSERT INTO simple VALUES (?)", (_encode(identifiers).decode(),))

        def variants() -> Iterator[tuple[str, bytes]]:
            batch: list[Values] = []
            identifiers: list[str] = []
            count = 0  # simple products
            for line in records.iter_product_lines(self.run_dir):
                product = _PRODUCT_KEY(line)
                values = records.PRODUCTS.decode(line).values
                if self.is_variant(product):
                    root = root_of(product.parent, self.models)  # type: ignore[arg-type]
                    want(_master_batch(root), [values])
                    yield root, line
                    continue
                batch.append(values)
                identifiers.append(product.identifier)
                count += 1
                if count % _BATCH == 0:
                    simple(count // _BATCH - 1, batch, identifiers)
                    batch, identifiers = [], []
            if batch:
                simple(count // _BATCH, batch, identifiers)

        with db:
            db.executemany("INSERT INTO variants VALUES (?, ?)", variants())
            for root, line in db.execute("SELECT root, line FROM levels"):
                want(_master_batch(root), [records.MODELS.decode(line).values])
            flush()
        db.execute("CREATE INDEX variants_root ON variants (root)")
        collisions = db.execute(
            "SELECT j.value FROM simple, json_each(simple.identifiers) AS j "
            "WHERE j.value IN (SELECT key FROM models) AND j.value IN (SELECT root FROM variants)"
        )
        return {code for (code,) in collisions}

    def joined(self, table: str, decode: Callable[[bytes], Any]) -> _Ahead:
        """The records of ``table`` (``assets`` or ``media``) each batch can name, in batch order:
        a row a batch of simple products, a row a variant or model of a master."""
        if table == "assets":
            keys = "SELECT j.value AS key FROM json_each(w.assets) AS j"
        else:  # the product media and the files of the assets named
            keys = (
                "SELECT j.value AS key FROM json_each(w.media) AS j UNION SELECT f.value FROM "
                "json_each(w.assets) AS ja JOIN asset_media AS am ON am.key = ja.value, "
                "json_each(am.media) AS f"
                if self.assets
                else "SELECT j.value AS key FROM json_each(w.media) AS j"
            )
        # the lines as they are, their line breaks between them
        lines = f"(SELECT group_concat(t.line, '') FROM ({keys}) AS k JOIN {table} AS t ON t.key = k.key)"
        simple = self.db.execute(f"SELECT w.batch, {lines} FROM want_simple AS w ORDER BY w.rowid")
        masters = self.db.execute(f"SELECT w.batch, {lines} FROM want_masters AS w ORDER BY w.batch")
        return _Ahead(itertools.chain(simple, masters), decode)

    def masters(self) -> Iterator[tuple[str, bytes, list[Product], list[Values]]]:
        """Each master's root code (in code order), its batch, its variants (in the products'
        order) and the values of its models (the root and its sub-models)."""
        rows = self.db.execute("SELECT root, line FROM variants ORDER BY root, rowid")
        decode = records.PRODUCTS.decode
        for root, group in itertools.groupby(rows, key=operator.itemgetter(0)):
            levels = self.db.execute("SELECT line FROM levels WHERE root = ?", (root,))
            yield (
                root,
                _master_batch(root),
                [decode(line) for _, line in group],
                [records.MODELS.decode(line).values for (line,) in levels],
            )


class _Ahead:
    """A row per batch, ``(batch, its records' JSON lines)``, in batch order, taken one batch
    at a time as records by key."""

    def __init__(self, rows: Iterator[tuple[bytes, str]], decode: Callable[[bytes], Any]) -> None:
        self._rows = rows
        self._decode = decode
        self._next = next(rows, None)

    def take(self, batch: bytes) -> dict[str, Any]:
        """The records of ``batch`` (batches before it, not taken, are skipped)."""
        row, rows, decode = self._next, self._rows, self._decode
        while row is not None and row[0] < batch:
            row = next(rows, None)
        found = {}
        while row is not None and row[0] == batch:
            for line in (row[1] or "").split("\n"):
                if line:
                    record = decode(line)
                    found[record.key] = record
            row = next(rows, None)
        self._next = row
        return found


class _Fetched(dict[str, Any]):
    """Records fetched ahead for a batch of products; a key not fetched is looked up in ``table``."""

    def __init__(self, fetched: dict[str, Any], table: Mapping[str, Any]) -> None:
        super().__init__(fetched)
        self.table = table

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        found = super().get(key)
        return self.table.get(key, default) if found is None else found


#: The page size of transform's index, in bytes. Media keys start with their file's sha1, so a
#: batch's lookups scatter over the whole media table. At 100,000 products (synthetic run) in
#: SQLite's 4 KiB pages: 1.5-1.9 million ``pread`` and 310,000 ``pwrite`` calls; in 16 KiB pages
#: 0.7-1.2 million and 75,000, and the stage 7-11 % less CPU time. (64 KiB pages cost more user
#: time than they saved; download_media's index of keys is faster in 4 KiB.)
_INDEX_PAGE_BYTES = 16 * 1024

#: simple products transformed per batch (their media and assets read together)
_BATCH = 500


class _FileMedia(msgspec.Struct):
    media: str


class _AssetFiles(msgspec.Struct):
    family: str | None
    code: str
    files: list[_FileMedia] = []


_ASSET_FILES = msgspec.json.Decoder(_AssetFiles).decode


@dataclass(frozen=True)
class TransformSummary(StageSummary):
    products: int
    products_with_images: int
    images: int
    locales_used: list[str]
    skipped_images: int
    #: products and masters left out because an image failed (docs/bad-input.md#broken-images)
    failed_products: int = 0
    warnings: list[str] = field(default_factory=list)


@frozen_during
def transform_catalog(config: PipelineConfig, run_dir: StagingPath) -> TransformSummary:
    """Write ``images.jsonl``: one :class:`~pim_images.records.ProductImages` per simple
    product and per master, its images in order and its collections.

    Every extracted product gets a line, even with no image: its image list is canonical
    downstream (docs/transform.md#canonical-image-lists), so an empty list clears images a product no longer
    has. A product (or master) one of whose media failed (missing, not downloaded, not
    decodable) gets no line: its image list is unknown, so it is left out of every target and
    keeps its old images downstream (docs/bad-input.md#broken-images).

    Memory stays flat whatever the catalog's size: media, assets, models and variants are looked
    up in an on-disk index in a local temporary folder (docs/architecture.md#streaming-and-memory).

    :raises StagingFileMissing: a file of an earlier stage is not there.
    :raises FailedProductsError: more than ``maxFailedProductsPercent`` of the products were
        left out so (``images.jsonl`` is written; no target should render it).
    """
    structure = records.STRUCTURE.read(run_dir)
    with DiskIndex(prefix="pim-images-transform-", page_bytes=_INDEX_PAGE_BYTES) as index:
        return _transform(config, run_dir, structure, _Catalog(index, run_dir, structure))


def _transform(
    config: PipelineConfig, run_dir: StagingPath, structure: records.Structure, catalog: _Catalog
) -> TransformSummary:
    collections = structure.asset_collections
    warnings: list[str] = []
    families = records.ASSET_FAMILIES.read(run_dir) if records.ASSET_FAMILIES.exists(run_dir) else {}
    transformer = ProductTransformer(
        config,
        structure.image_attribute_codes,
        collections,
        catalog.media,
        catalog.assets,
        warnings,
        {f: [a.code for a in s.attributes] for f, s in families.items() if s is not None},
    )
    totals = {"with_images": 0, "images": 0, "read": 0, "failed": 0}
    locales: set[str | None] = set()
    models = catalog.models
    collisions = catalog.plan()
    notes = transformer.notes
    notes += [
        f"product {code!r}: its identifier is also the code of product model {code!r} (a master); "
        "both are skipped, since SFCC and BSPK would receive two products of that id"
        for code in sorted(collisions)
    ]

    with records.REFS.writing(run_dir) as write_ref:

        def counted(product: ProductImages, ref: ProductRefs) -> Iterator[ProductImages]:
            """The product, unless one of its media failed; empties the failures for the next.
            ``ref`` is what the state store remembers of it once delivered."""
            totals["read"] += 1
            failures, transformer.failures = transformer.failures, []
            if failures:
                totals["failed"] += 1
                more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
                warnings.append(
                    f"product {shown(product.product_ref)} left out of every target, its old images stay "
                    f"downstream: {failures[0]}{more}"
                )
                return
            totals["with_images"] += bool(product.images)
            totals["images"] += len(product.images)
            locales.update(i.locale for i in product.images)
            write_ref(ref)
            yield product

        assets = catalog.joined("assets", records.ASSETS.decode) if catalog.assets else None
        media = catalog.joined("media", records.MEDIA.decode)

        def fetch(batch: bytes) -> None:
            """Give the transformer the media and assets of ``batch``."""
            transformer.media = _Fetched(media.take(batch), catalog.media)
            transformer.assets = _Fetched(assets.take(batch) if assets else {}, catalog.assets)

        def simple(number: int, batch: list[Product]) -> Iterator[ProductImages]:
            fetch(_simple_batch(number))
            for product in batch:
                images, product_collections = transformer.images_and_collections(
                    product.identifier, product.values
                )
                yield from counted(
                    ProductImages(product.identifier, images, product_collections),
                    ProductRefs(
                        product.identifier, "simple", assets=asset_refs([product.values], collections)
                    ),
                )

        def lines() -> Iterator[ProductImages]:
            batch: list[Product] = []
            count = 0  # simple products, collisions included (as the plan numbers batches)
            for line in records.iter_product_lines(run_dir):
                keyed = _PRODUCT_KEY(line)
                if catalog.is_variant(keyed):
                    continue
                if count and count % _BATCH == 0:
                    yield from simple(count // _BATCH - 1, batch)
                    batch = []
                count += 1
                if keyed.parent:
                    notes.append(
                        f"product {keyed.identifier!r}: its parent product model {keyed.parent!r} was not "
                        "read (not in the channel's categories, or not visible to the API user); exported "
                        "as a simple product"
                    )
                if keyed.identifier in collisions:
                    continue
                batch.append(records.PRODUCTS.decode(line))
            if count:
                yield from simple((count - 1) // _BATCH, batch)
            # masters after simple products, each whole (all its rows together), in code order
            for root, master, variants, levels in catalog.masters():
                if root in collisions:
                    continue
                fetch(master)
                yield from counted(
                    master_images(
                        root,
                        variants,
                        models,
                        structure.family_variants,
                        transformer,
                        structure.axis_types,
                    ),
                    ProductRefs(
                        root,
                        "master",
                        assets=asset_refs([*levels, *(v.values for v in variants)], collections),
                        variants=sorted(v.identifier for v in variants),
                    ),
                )

        count = records.IMAGES.write(run_dir, lines())
    _check_failed_share(totals["failed"], totals["read"], config.maxFailedProductsPercent, warnings)
    return TransformSummary(
        products=count,
        products_with_images=totals["with_images"],
        images=totals["images"],
        locales_used=[loc for loc in config.akeneoLocales if loc in locales],
        skipped_images=len(warnings) - totals["failed"],
        failed_products=totals["failed"],
        warnings=notes + warnings,
    )


def failed_share_exceeded(failed: int, products: int, max_percent: float) -> bool:
    """Whether ``failed`` of ``products`` is above ``max_percent`` % (docs/bad-input.md#broken-images)."""
    return products > 0 and failed * 100 > max_percent * products


def _check_failed_share(failed: int, products: int, max_percent: float, warnings: list[str]) -> None:
    """:raises FailedProductsError: the share of failed products is above ``max_percent``."""
    if not failed_share_exceeded(failed, products, max_percent):
        return
    first = next(w for w in warnings if " left out of every target" in w)
    raise FailedProductsError(
        [
            f"{failed} of {products} products ({failed * 100 / products:.1f} %) were left out because an "
            f"image could not be downloaded or decoded, above maxFailedProductsPercent {max_percent:g} %; "
            f"the first: {first}"
        ]
    )


def under_location(url: str, location: str) -> bool:
    """Whether ``url`` lies under ``location``: it starts with it, and what follows has no ``.``
    or ``..`` segment, spelt plainly or percent-encoded (``images/../../x`` would leave it once
    a browser or CDN normalizes the path; docs/transform.md#links)."""
    if not url.startswith(location):
        return False
    rest = url[len(location) :].split("?", 1)[0].split("#", 1)[0]
    if "%" not in rest:  # the usual: only plain segments, found without splitting
        padded = f"/{rest}/"
        return "/./" not in padded and "/../" not in padded
    return not any(unquote(part) in (".", "..") for part in rest.split("/"))
