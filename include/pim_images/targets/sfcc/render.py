"""SFCC renderer (docs/sfcc.md): catalog XML, metadata XML and the site-import archive.

The catalog XML carries image settings in its header and, per product, only its ``images``
with ``merge-mode="replace"``: in SFCC's MERGE import mode the delivered image groups replace
the product's old ones, and nothing else of the product is touched. It is written with lxml's
incremental writer, one product at a time, so memory stays flat whatever the catalog size.

Outputs are deterministic (same input, same bytes, same names), so retries and backfills
deliver identical files.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from lxml import etree

from pim_images import records
from pim_images.config import PipelineConfig
from pim_images.media import MediaCache
from pim_images.records import Image, ImageText, ProductImages
from pim_images.report import StageSummary, shown
from pim_images.staging import StagingPath
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
    view_types_of,
)
from pim_images.targets.sfcc.schema import check_against_schema

CATALOG_NS = "http://www.demandware.com/xml/impex/catalog/2006-10-31"
METADATA_NS = "http://www.demandware.com/xml/impex/metadata/2006-10-31"
METADATA_FILE = "system-objecttype-extensions.xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: ``internal-location/@base-path``: image paths are relative to the catalog's static root.
BASE_PATH = "/"
#: A fixed time for archive entries: the same files must give the same zip bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SfccOutput(StageSummary):
    """What the SFCC renderer wrote: files to deliver (names under ``run_dir/sfcc``) and counts."""

    files: list[str]
    products: int
    image_groups: int
    binaries: int
    view_types: list[str]
    custom_attributes: list[str] = field(default_factory=list)
    #: sub-models and variants written for their own collections (custom attributes only)
    member_products: int = 0
    warnings: list[str] = field(default_factory=list)


def image_groups(images: list[Image], config: PipelineConfig) -> list[Group]:
    """A product's image groups: per variation (the master's own first, then sub-models and
    variants in image order), per view type, non-localized first, then per locale.

    Only image files SFCC shows (JPG, PNG, GIF, WEBP) go in groups; a path appears once per
    group, at its first position, with the texts of its first image. Variation axes are named
    as the connector's product import names them (:func:`~.rules.attribute_id`).
    """
    usable = [i for i in images if i.format in FORMATS]
    variations = list(dict.fromkeys(tuple(i.variation) for i in usable))
    texts: dict[str, dict[str, list[ImageText]]] = {}
    for image in usable:
        if image.texts:
            texts.setdefault(image.path, image.texts)
    groups: list[Group] = []
    for variation in variations:
        for view_type in declared_view_types(config):
            for locale in (None, *config.akeneoLocales):
                paths = [
                    i.path
                    for i in usable
                    if i.locale == locale
                    and tuple(i.variation) == variation
                    and view_type in view_types_of(i, config)
                ]
                if paths:
                    unique = list(dict.fromkeys(paths))
                    groups.append(
                        Group(
                            locale_view_type(view_type, locale),
                            tuple((attribute_id(axis, config), value) for axis, value in variation),
                            unique,
                            {p: texts[p] for p in unique if p in texts},
                        )
                    )
    return groups


@dataclass(frozen=True)
class Group:
    """One ``image-group``: its view type, its variation filter (empty on the master's own),
    its image paths and the texts (alt, title) of those that have some."""

    view_type: str
    variation: tuple[tuple[str, str], ...]
    paths: list[str]
    texts: dict[str, dict[str, list[ImageText]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Definition:
    """A custom attribute the metadata file defines: id, localizable, SFCC type, group."""

    id: str
    localizable: bool
    type: str = "set-of-string"
    group: tuple[str, str] = ("AkeneoAttributes", "Akeneo Attributes")


@dataclass(frozen=True)
class Header:
    """What the catalog's header and the metadata file declare, gathered in a first pass over
    the image lists (the header comes before the first product)."""

    view_types: list[str]
    custom_attributes: list[Definition]
    variation_attribute_id: str | None


def catalog_header(products: Iterable[ProductImages], config: PipelineConfig) -> Header:
    """Every view type used (declaration order, then non-localized first and the locales in
    configured order), every custom attribute with whether it is localized, and the header's
    single variation attribute (catalog.xsd): the axis most image groups lead with."""
    used: set[tuple[str, str | None]] = set()
    localized: dict[str, bool] = {}
    kinds: dict[str, CustomAttribute] = {}
    first_axes: dict[str, int] = {}
    for product in products:
        for image in product.images:
            used.update((vt, image.locale) for vt in view_types_of(image, config))
            if image.variation and image.format in FORMATS:  # only written images' groups count
                first_axes[image.variation[0][0]] = first_axes.get(image.variation[0][0], 0) + 1
        every = [*product.collections, *(c for m in product.members for c in m.collections)]
        for attribute in custom_attributes(every, config):
            localized[attribute.id] = localized.get(attribute.id, False) or bool(attribute.locale)
            kinds.setdefault(attribute.id, attribute)
    view_types = [
        locale_view_type(base, locale)
        for base in declared_view_types(config)
        for locale in (None, *config.akeneoLocales)
        if (base, locale) in used
    ]
    return Header(
        view_types=view_types,
        custom_attributes=[
            Definition(id, localizable, kinds[id].type, kinds[id].group)
            for id, localizable in sorted(localized.items())
        ],
        variation_attribute_id=(
            attribute_id(min(first_axes, key=lambda a: (-first_axes[a], a)), config) if first_axes else None
        ),
    )


def render_sfcc(config: PipelineConfig, run_dir: StagingPath, cache: MediaCache, stamp: str) -> SfccOutput:
    """Write the catalog XML, the metadata XML and the site-import archive for this run, under
    ``target_dir(run_dir, "sfcc")``.

    A product whose values SFCC's files cannot carry is left out with a warning naming it and
    the value (docs/bad-input.md#products-that-cannot-be-written); each XML is validated
    against SFCC's schema once written (docs/bad-input.md#schema-validation).

    :param stamp: the run's time stamp (from its data interval), part of every file name.
    :raises StagingFileMissing: the transform stage's ``images.jsonl`` is not there.
    :raises OutputError: a written XML does not validate against its schema; the archive is
        then not written, and nothing of the run goes to the SFTP drop.
    """
    out = records.target_dir(run_dir, "sfcc")
    out.mkdir(parents=True, exist_ok=True)
    xml_name, archive_name = output_names(config.sfccCatalogId, stamp)
    header = catalog_header(writable_products(records.IMAGES.read(run_dir), config, []), config)
    warnings: list[str] = []
    counts = {"products": 0, "groups": 0, "members": 0}

    binaries: dict[str, str] = {}  # delivered path -> sha256, gathered in the same pass

    def products() -> Iterator[Product]:
        for record in writable_products(records.IMAGES.read(run_dir), config, warnings):
            binaries.update(
                (i.path, i.sha256)
                for i in record.images
                if i.kind == "file" and i.format in FORMATS and i.sha256
            )
            if config.sfccCustomAttributeNaming == "per_asset":
                every = [*record.collections, *(c for m in record.members for c in m.collections)]
                binaries.update((a.values[0], a.file) for c in every for a in c.attributes if a.file)
            product_id = record.product_ref
            for image in record.images:
                if image.format not in FORMATS:
                    warnings.append(
                        f"product {product_id!r} attribute {image.attribute!r}: "
                        f"{image.url or image.format} is not an image file SFCC shows; skipped"
                    )
            groups = image_groups(record.images, config)
            counts["products"] += 1
            counts["groups"] += len(groups)
            yield Product(product_id, groups, custom_attributes(record.collections, config))
            for member in record.members:
                custom = custom_attributes(member.collections, config)
                if custom:
                    counts["members"] += 1
                    yield Product(member.product_id, [], custom, with_images=False)

    with (out / xml_name).open("wb") as f:
        write_catalog_xml(
            f,
            config.sfccCatalogId,
            header.view_types,
            products(),
            external_location(config),
            header.variation_attribute_id,
        )
    check_against_schema(out / xml_name, "catalog.xsd")
    with (out / METADATA_FILE).open("wb") as f:
        write_metadata_xml(f, header.custom_attributes)
    check_against_schema(out / METADATA_FILE, "metadata.xsd")
    # zipfile writes other bytes (data descriptors) to a stream it cannot seek back in, as an
    # upload to a bucket is: the archive is built in a local temporary file, then copied to
    # staging, so that it is the same bytes wherever staging is (docs/runs.md#staging)
    with tempfile.TemporaryFile(prefix="pim-images-archive-") as local:
        write_site_archive(
            local, archive_name, config.sfccCatalogId, out / xml_name, out / METADATA_FILE, binaries, cache
        )
        local.seek(0)
        with (out / f"{archive_name}.zip").open("wb") as f:
            shutil.copyfileobj(local, f, 1 << 20)
    return SfccOutput(
        files=[f"{archive_name}.zip", xml_name],
        products=counts["products"],
        image_groups=counts["groups"],
        member_products=counts["members"],
        binaries=len(binaries),
        view_types=header.view_types,
        custom_attributes=[d.id for d in header.custom_attributes],
        warnings=warnings,
    )


def writable_products(
    products: Iterable[ProductImages], config: PipelineConfig, warnings: list[str]
) -> Iterator[ProductImages]:
    """The products SFCC's files can carry; each other one is left out with a warning naming
    it and its first offending value (docs/bad-input.md#products-that-cannot-be-written)."""
    for record in products:
        problem = product_problem(record, config)
        if problem is None:
            yield record
            continue
        what, value, why = problem
        warnings.append(f"product {shown(record.product_ref)}: {what} {shown(value)}: {why}; skipped")


@dataclass(frozen=True)
class Product:
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
            for product in products:
                xf.write("\n  ")
                with xf.element(q("product"), {"product-id": product.product_id}):
                    if not product.with_images:
                        _write_custom_attributes(xf, product.custom)
                        continue
                    with xf.element(q("images"), {"merge-mode": "replace"}):
                        for group in product.groups:
                            xf.write("\n      ")
                            with xf.element(q("image-group"), {"view-type": group.view_type}):
                                for attribute_id, value in group.variation:
                                    with xf.element(
                                        q("variation"), {"attribute-id": attribute_id, "value": value}
                                    ):
                                        pass
                                for path in group.paths:
                                    texts = group.texts.get(path)
                                    if texts:
                                        xf.write(_image_element(path, texts))
                                    else:
                                        with xf.element(q("image"), {"path": path}):
                                            pass
                        if product.groups:
                            xf.write("\n    ")
                    if product.custom:
                        _write_custom_attributes(xf, product.custom)
            xf.write("\n")


def _image_element(path: str, texts: dict[str, list[ImageText]]) -> etree._Element:
    """An ``image`` with its ``alt`` then ``title`` elements (catalog.xsd's order), one per
    locale (``xml:lang`` with a hyphen; none for a non-localized text)."""
    image = etree.Element(f"{{{CATALOG_NS}}}image", {"path": path}, nsmap={None: CATALOG_NS})
    for name in ("alt", "title"):
        for text in texts.get(name, []):
            element = etree.SubElement(image, f"{{{CATALOG_NS}}}{name}")
            if text.locale:
                element.set(XML_LANG, text.locale.replace("_", "-"))
            element.text = text.value
    return image


def _write_custom_attributes(xf: Any, custom: list[CustomAttribute]) -> None:
    """Image-related custom attributes (docs/sfcc.md#custom-attributes), one element per
    locale: a ``set-of-string`` as ``value`` elements (keeping their order), another type as
    its text.

    Built as a small tree and written whole: lxml's incremental writer cannot emit the
    ``xml:lang`` attribute itself.
    """
    element = etree.Element(f"{{{CATALOG_NS}}}custom-attributes", nsmap={None: CATALOG_NS})
    for attribute in custom:
        item = etree.SubElement(element, f"{{{CATALOG_NS}}}custom-attribute", {"attribute-id": attribute.id})
        if attribute.locale:
            item.set(XML_LANG, attribute.locale.replace("_", "-"))
        if attribute.type == "set-of-string":
            for value in attribute.values:
                etree.SubElement(item, f"{{{CATALOG_NS}}}value").text = value
        else:
            item.text = attribute.values[0] if attribute.values else ""
    xf.write("\n    ")
    xf.write(element)
    xf.write("\n  ")


def write_metadata_xml(f: IO[bytes], custom_attributes: list[Definition] | None = None) -> None:
    """System object extensions for ``Product``: every custom attribute the catalog uses, so
    that SFCC accepts it (docs/sfcc.md#metadata-xml), in the connector's attribute groups for
    Business Manager (``AkeneoAttributes``; ``AkeneoAsset<Asset>Attributes`` per asset).

    :param custom_attributes: the definition of each custom attribute.

    The file is in every site-import archive, empty of definitions when there are none, so
    the archive's layout never changes.
    """

    def m(name: str) -> str:
        return f"{{{METADATA_NS}}}{name}"

    root = etree.Element(m("metadata"), nsmap={None: METADATA_NS})
    extension = etree.SubElement(root, m("type-extension"), {"type-id": "Product"})
    if custom_attributes:
        definitions = etree.SubElement(extension, m("custom-attribute-definitions"))
        groups: dict[tuple[str, str], list[str]] = {}
        for attribute in custom_attributes:
            definition = etree.SubElement(
                definitions, m("attribute-definition"), {"attribute-id": attribute.id}
            )
            etree.SubElement(definition, m("display-name"), {XML_LANG: "x-default"}).text = attribute.id
            etree.SubElement(definition, m("type")).text = attribute.type
            etree.SubElement(definition, m("localizable-flag")).text = str(attribute.localizable).lower()
            etree.SubElement(definition, m("mandatory-flag")).text = "false"
            etree.SubElement(definition, m("externally-managed-flag")).text = "true"
            groups.setdefault(attribute.group, []).append(attribute.id)
        group_definitions = etree.SubElement(extension, m("group-definitions"))
        for (group_id, name), ids in sorted(groups.items()):
            group = etree.SubElement(group_definitions, m("attribute-group"), {"group-id": group_id})
            etree.SubElement(group, m("display-name"), {XML_LANG: "x-default"}).text = name
            for id in ids:
                etree.SubElement(group, m("attribute"), {"attribute-id": id})
    f.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def write_site_archive(
    f: IO[bytes],
    name: str,
    catalog_id: str,
    catalog_xml: StagingPath,
    metadata_xml: StagingPath,
    binaries: dict[str, str],
    cache: MediaCache,
) -> None:
    """The site-import zip (docs/sfcc.md#site-import-archive): ``<name>/meta/...``,
    ``<name>/catalogs/<id>/catalog.xml`` and each binary under ``<name>/catalogs/<id>/static/default/<path>``.

    Entries have fixed times and modes and come in a fixed order, so equal inputs give equal
    bytes; images are stored, not deflated (JPEG and PNG are compressed already).
    """
    catalog_dir = f"{name}/catalogs/{catalog_id}"
    with zipfile.ZipFile(f, "w") as archive:
        with metadata_xml.open("rb") as xml:
            _add(archive, f"{name}/meta/{METADATA_FILE}", xml.read(), zipfile.ZIP_DEFLATED)
        with catalog_xml.open("rb") as xml:
            _add(archive, f"{catalog_dir}/catalog.xml", xml.read(), zipfile.ZIP_DEFLATED)
        for path in sorted(binaries):
            with cache.blob(binaries[path]).open("rb") as blob:
                _add(archive, f"{catalog_dir}/static/default/{path}", blob.read(), zipfile.ZIP_STORED)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, compression: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)
