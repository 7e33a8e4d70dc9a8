"""SFCC renderer (spec §4): catalog XML, metadata XML and the site-import archive.

The catalog XML carries image settings in its header and, per product, only its ``images``
with ``merge-mode="replace"``: in SFCC's MERGE import mode the delivered image groups replace
the product's old ones, and nothing else of the product is touched. It is written with lxml's
incremental writer, one product at a time, so memory stays flat whatever the catalog size.

Outputs are deterministic (same input, same bytes, same names), so retries and backfills
deliver identical files.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from lxml import etree

from pim_images import staging
from pim_images.config import PipelineConfig
from pim_images.media import MediaCache
from pim_images.report import StageSummary
from pim_images.staging import StagingPath
from pim_images.transform import SFCC_FORMATS, declared_view_types, locale_view_type

CATALOG_NS = "http://www.demandware.com/xml/impex/catalog/2006-10-31"
METADATA_NS = "http://www.demandware.com/xml/impex/metadata/2006-10-31"
METADATA_FILE = "system-objecttype-extensions.xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: ``internal-location/@base-path``: image paths are relative to the catalog's static root.
BASE_PATH = "/"
#: SFCC product ids are 1-100 characters (catalog.xsd, simpleType.Generic.NonEmptyString.100).
MAX_PRODUCT_ID = 100
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
    warnings: list[str] = field(default_factory=list)


def output_names(catalog_id: str, stamp: str) -> tuple[str, str]:
    """Catalog XML and archive names; the archive's single top folder has the zip's name."""
    return f"catalog_{catalog_id}_{stamp}.xml", f"pim-images_{catalog_id}_{stamp}"


def image_groups(images: list[dict[str, Any]], config: PipelineConfig) -> list[Group]:
    """A product's image groups: per variation (the master's own first, then sub-models and
    variants in image order), per view type, non-localized first, then per locale.

    Only image files SFCC shows (JPG, PNG, GIF, WEBP) go in groups; a path appears once per
    group, at its first position.
    """
    usable = [i for i in images if i["format"] in SFCC_FORMATS]
    variations = list(dict.fromkeys(tuple(map(tuple, i.get("variation") or ())) for i in usable))
    groups: list[Group] = []
    for variation in variations:
        for view_type in declared_view_types(config):
            for locale in (None, *config.akeneoLocales):
                paths = [
                    i["path"]
                    for i in usable
                    if i["locale"] == locale
                    and tuple(map(tuple, i.get("variation") or ())) == variation
                    and view_type in (i["view_types"] or config.image_view_types)
                ]
                if paths:
                    groups.append(
                        Group(locale_view_type(view_type, locale), variation, list(dict.fromkeys(paths)))
                    )
    return groups


@dataclass(frozen=True)
class Group:
    """One ``image-group``: its view type, its variation filter (empty on the master's own)."""

    view_type: str
    variation: tuple[tuple[str, str], ...]
    paths: list[str]


def external_location(config: PipelineConfig) -> tuple[str, str] | None:
    """``(http-url, https-url)`` when images are links (spec §4: one location, never both)."""
    if not (config.reads_assets and config.asset_links_as_images):
        return None
    rest = config.akeneoExternalImageLocation.split("://", 1)[1]
    return f"http://{rest}", f"https://{rest}"


def render_sfcc(config: PipelineConfig, run_dir: StagingPath, cache: MediaCache, stamp: str) -> SfccOutput:
    """Write the catalog XML, the metadata XML and the site-import archive for this run.

    :param stamp: the run's time stamp (from its data interval), part of every file name.
    """
    out = run_dir / staging.SFCC_DIR
    out.mkdir(parents=True, exist_ok=True)
    xml_name, archive_name = output_names(config.sfccCatalogId, stamp)
    summary = staging.read_json(run_dir / staging.IMAGE_SUMMARY)
    view_types = summary["view_types"]
    warnings: list[str] = []
    counts = {"products": 0, "groups": 0}

    binaries: dict[str, str] = {}  # delivered path -> sha256, gathered in the same pass

    def products() -> Iterator[Product]:
        for record in staging.iter_jsonl(run_dir / staging.IMAGES):
            binaries.update(
                (i["path"], i["sha256"])
                for i in record["images"]
                if i["kind"] == "file" and i["format"] in SFCC_FORMATS
            )
            product_id = record["product_ref"]
            if len(product_id) > MAX_PRODUCT_ID:
                warnings.append(f"product {product_id!r}: longer than {MAX_PRODUCT_ID} characters; skipped")
                continue
            for image in record["images"]:
                if image["format"] not in SFCC_FORMATS:
                    warnings.append(
                        f"product {product_id!r} attribute {image['attribute']!r}: "
                        f"{image['url'] or image['format']} is not an image file SFCC shows; skipped"
                    )
            groups = image_groups(record["images"], config)
            counts["products"] += 1
            counts["groups"] += len(groups)
            yield Product(product_id, groups, record.get("custom") or [])

    with (out / xml_name).open("wb") as f:
        write_catalog_xml(
            f,
            config.sfccCatalogId,
            view_types,
            products(),
            external_location(config),
            summary.get("variation_attribute_id"),
        )
    with (out / METADATA_FILE).open("wb") as f:
        write_metadata_xml(f, summary.get("custom_attributes") or [])
    with (out / f"{archive_name}.zip").open("wb") as f:
        write_site_archive(
            f, archive_name, config.sfccCatalogId, out / xml_name, out / METADATA_FILE, binaries, cache
        )
    return SfccOutput(
        files=[f"{archive_name}.zip", xml_name],
        products=counts["products"],
        image_groups=counts["groups"],
        binaries=len(binaries),
        view_types=view_types,
        warnings=warnings,
    )


@dataclass(frozen=True)
class Product:
    """What the catalog says of one product: its image groups and custom attributes."""

    product_id: str
    groups: list[Group]
    custom: list[dict[str, Any]]


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
            for product in products:
                xf.write("\n  ")
                with xf.element(q("product"), {"product-id": product.product_id}):
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
                                    with xf.element(q("image"), {"path": path}):
                                        pass
                        if product.groups:
                            xf.write("\n    ")
                    if product.custom:
                        _write_custom_attributes(xf, product.custom)
            xf.write("\n")


def _write_custom_attributes(xf: Any, custom: list[dict[str, Any]]) -> None:
    """``akeneo_<collection>`` (asset codes) and ``akeneo_<collection>_<link attribute>``
    (links), one element per locale; a set-of-string keeps the collection order.

    Built as a small tree and written whole: lxml's incremental writer cannot emit the
    ``xml:lang`` attribute itself.
    """
    element = etree.Element(f"{{{CATALOG_NS}}}custom-attributes", nsmap={None: CATALOG_NS})
    for attribute in custom:
        item = etree.SubElement(
            element, f"{{{CATALOG_NS}}}custom-attribute", {"attribute-id": attribute["id"]}
        )
        if attribute["locale"]:
            item.set(XML_LANG, attribute["locale"].replace("_", "-"))
        for value in attribute["values"]:
            etree.SubElement(item, f"{{{CATALOG_NS}}}value").text = value
    xf.write("\n    ")
    xf.write(element)
    xf.write("\n  ")


def write_metadata_xml(f: IO[bytes], custom_attributes: list[dict[str, Any]] | None = None) -> None:
    """System object extensions for ``Product``: every custom attribute the catalog uses, so
    that SFCC accepts it (spec §3), in an ``Akeneo`` attribute group for Business Manager.

    The file is in every site-import archive, empty of definitions when there are none, so
    the archive's layout never changes.
    """

    def m(name: str) -> str:
        return f"{{{METADATA_NS}}}{name}"

    root = etree.Element(m("metadata"), nsmap={None: METADATA_NS})
    extension = etree.SubElement(root, m("type-extension"), {"type-id": "Product"})
    if custom_attributes:
        definitions = etree.SubElement(extension, m("custom-attribute-definitions"))
        for attribute in custom_attributes:
            definition = etree.SubElement(
                definitions, m("attribute-definition"), {"attribute-id": attribute["id"]}
            )
            etree.SubElement(definition, m("display-name"), {XML_LANG: "x-default"}).text = attribute["id"]
            etree.SubElement(definition, m("type")).text = "set-of-string"
            etree.SubElement(definition, m("localizable-flag")).text = str(attribute["localizable"]).lower()
            etree.SubElement(definition, m("mandatory-flag")).text = "false"
            etree.SubElement(definition, m("externally-managed-flag")).text = "true"
        groups = etree.SubElement(extension, m("group-definitions"))
        group = etree.SubElement(groups, m("attribute-group"), {"group-id": "Akeneo"})
        etree.SubElement(group, m("display-name"), {XML_LANG: "x-default"}).text = "Akeneo"
        for attribute in custom_attributes:
            etree.SubElement(group, m("attribute"), {"attribute-id": attribute["id"]})
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
    """The site-import zip (spec §4): ``<name>/meta/...``, ``<name>/catalogs/<id>/catalog.xml``
    and each binary under ``<name>/catalogs/<id>/static/default/<path>``.

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
