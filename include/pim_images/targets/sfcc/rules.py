"""SFCC's rules: formats, limits, ids and view types (docs/sfcc.md, docs/transform.md).

Pure functions on records and configuration, tested on tiny inputs; the renderer applies them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from pim_images.config import PipelineConfig
from pim_images.records import CollectionValue, Image, ProductImages

#: Image files SFCC shows in image groups (docs/sfcc.md#image-formats).
FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})
#: SFCC product ids are 1-100 characters (catalog.xsd, simpleType.Generic.NonEmptyString.100).
MAX_PRODUCT_ID = 100


_SEPARATORS = re.compile(r"[-_\s]+(.)?")


@functools.lru_cache(maxsize=1 << 12)
def camelize(code: str) -> str:
    """An Akeneo code as the SFCC connector camelizes it into SFCC ids
    (docs/transform.md#camelize): trimmed, lower-cased whole, then each run of ``-``, ``_`` or
    whitespace dropped and the character after it upper-cased.

    >>> camelize("packshot_images"), camelize("packshotURL"), camelize("Front View")
    ('packshotImages', 'packshoturl', 'frontView')

    Memoised (a bounded cache): a render names the same collections and asset attributes for
    many products. Asset codes, which come and go, mostly miss: a cache of 65,536 held some
    7 MiB of them at 100,000 products, and memory stays flat
    (docs/architecture.md#streaming-and-memory).
    """
    return _SEPARATORS.sub(lambda m: (m.group(1) or "").upper(), code.strip().lower())


def locale_view_type(view_type: str, locale: str | None) -> str:
    """``large`` + ``fr_FR`` -> ``large_fr-FR``; a non-localized value keeps ``large``
    (docs/transform.md#locale-suffixed-view-types)."""
    return f"{view_type}_{locale.replace('_', '-')}" if locale else view_type


def declared_view_types(config: PipelineConfig) -> list[str]:
    """Base view types in declaration order: image files' view types, then the file mapping's,
    then the link mapping's."""
    names: list[str] = []
    if config.reads_images or (config.reads_assets and config.asset_files):
        names += config.image_view_types
    if config.reads_assets and config.asset_files:
        names += [v for vts in config.file_view_types_mapping.values() for v in vts]
    if config.reads_assets and config.asset_links_as_images:
        mapping = config.link_view_types_mapping
        names += [v for vts in mapping.values() for v in vts] if mapping else list(config.image_view_types)
    return list(dict.fromkeys(names))


def unmapped_file_view_types(config: PipelineConfig) -> list[str]:
    """The view types of ``akeneoImageViewTypes`` (``original`` when it is ``{ }``) that
    ``akeneoImageFileViewTypesMapping`` names for no attribute, when Asset Manager files are read
    through it: as in the connector, assets give them no image, not even the main media
    (docs/transform.md#image-metadata-and-file-view-types). Empty without a mapping."""
    mapping = config.file_view_types_mapping
    if not (config.reads_assets and config.asset_files and config.akeneoAssetSystem == "new" and mapping):
        return []
    mapped = {v for view_types in mapping.values() for v in view_types}
    return [v for v in config.image_view_types if v not in mapped]


def view_types_of(image: Image, config: PipelineConfig) -> tuple[str, ...]:
    """The base view types an image goes to: a link read through
    ``akeneoImageLinkViewTypesMapping`` goes to its attribute's view types, an asset rendition
    read through ``akeneoImageFileViewTypesMapping`` to its attribute's, every other image to
    ``akeneoImageViewTypes``."""
    if image.kind == "link" and image.link_attribute:
        mapped = config.link_view_types_mapping.get(image.link_attribute)
        if mapped:
            return tuple(mapped)
    if image.kind == "file" and image.file_attribute:
        mapped = config.file_view_types_mapping.get(image.file_attribute)
        if mapped:
            return tuple(mapped)
    return tuple(config.image_view_types)


def external_location(config: PipelineConfig) -> tuple[str, str] | None:
    """``(http-url, https-url)`` when assets are read with the import type ``media_link``
    (either asset system), as the connector writes the header (docs/sfcc.md#image-settings);
    otherwise ``None`` (internal location: the schema allows one of the two). With
    ``akeneoImageType`` ``images`` the import type, which is about assets, changes nothing."""
    if not (config.reads_assets and config.akeneoImageImportType == "media_link"):
        return None
    if not config.akeneoExternalImageLocation:
        return None
    rest = config.akeneoExternalImageLocation.split("://", 1)[1]
    return f"http://{rest}", f"https://{rest}"


#: The header's ``alt-pattern`` and ``title-pattern``, as the connector writes them: SFCC shows
#: the product's name where an image has no alt or title of its own.
IMAGE_TEXT_PATTERN = "${productname}"


def output_names(catalog_id: str, stamp: str) -> tuple[str, str]:
    """Catalog XML and archive names; the archive's single top folder has the zip's name."""
    return f"catalog_{catalog_id}_{stamp}.xml", f"pim-images_{catalog_id}_{stamp}"


def attribute_id(code: str, config: PipelineConfig) -> str:
    """The SFCC id of an Akeneo product attribute (a variation axis, an asset collection), as
    the connector's product import names it: ``akeneo_<camelize(code)>``, unless
    ``akeneoCustomAttrMapping`` maps that id (or the code) to another
    (docs/transform.md#variation-attribute-ids)."""
    default = f"akeneo_{camelize(code)}"
    mapping = config.custom_attr_mapping
    return mapping.get(default) or mapping.get(code) or default


def asset_attribute_id(asset: str, attribute: str) -> str:
    """``akeneo_<camelize(asset code)>_<camelize(asset attribute)>``, the connector's id for an
    asset attribute delivered as a product custom attribute (docs/transform.md#custom-attribute-ids)."""
    return f"akeneo_{camelize(asset)}_{camelize(attribute)}"


#: The attribute group of product attributes (asset code lists), as the connector's product import.
PRODUCT_GROUP = ("AkeneoAttributes", "Akeneo Attributes")


def asset_group(asset: str) -> tuple[str, str]:
    """The connector's attribute group of one asset's attributes: id and display name."""
    camel = camelize(asset)
    return f"AkeneoAsset{camel[:1].upper()}{camel[1:]}Attributes", f'Akeneo Asset "{asset}" Attributes'


#: SFCC attribute type of an asset attribute by its Akeneo type, as the connector defines them,
#: except options: the connector writes enum-of-string with the options' value definitions (more
#: Akeneo calls); the codes are written as string / set-of-string here (docs/sfcc.md#metadata-xml).
ASSET_ATTRIBUTE_TYPES = {"media_file": "html", "multiple_options": "set-of-string"}


class CustomAttribute(NamedTuple):
    """One product custom attribute value: its id, locale (``None``: not localized), values,
    its SFCC type (``set-of-string`` values are ``value`` elements, others the text) and its
    attribute group (id, display name).

    A named tuple, as the renderer's ``Group`` and ``Product``: a frozen dataclass took three
    times as long to make, some 500,000 times a render of 100,000 products."""

    id: str
    locale: str | None
    values: list[str]
    type: str = "set-of-string"
    group: tuple[str, str] = PRODUCT_GROUP


def custom_attributes(
    collections: Iterable[CollectionValue], config: PipelineConfig
) -> list[CustomAttribute]:
    """A product's image-related custom attributes (docs/transform.md#custom-attribute-ids):
    ``akeneo_<camelize(C)>`` with the asset codes of collection ``C`` in order (always written,
    empty when the collection is, so SFCC's value is canonical), then with
    ``sfccCustomAttributeNaming`` ``per_asset``: ``akeneo_<camelize(asset)>_<camelize(A)>``
    for every attribute ``A`` of the assets delivered as attributes, one per locale; with
    ``per_collection``: ``akeneo_<camelize(C)>_<camelize(A)>`` with the links of attribute ``A``
    of the collection's assets, in asset order. An id met twice (an asset in two collections)
    keeps its first value.
    """
    found: dict[tuple[str, str | None], CustomAttribute] = {}
    per_collection = config.sfccCustomAttributeNaming == "per_collection"
    for collection in collections:
        collection_id = attribute_id(collection.code, config)
        if (collection_id, None) not in found:
            found[(collection_id, None)] = CustomAttribute(collection_id, None, list(collection.assets))
        if per_collection:
            for link in collection.links:
                id = f"{collection_id}_{camelize(link.attribute)}"
                found.setdefault((id, link.locale), CustomAttribute(id, link.locale, [])).values.append(
                    link.url
                )
            continue
        for value in collection.attributes:
            id = asset_attribute_id(value.asset, value.attribute)
            if (id, value.locale) in found:
                continue
            values = [f"{v}?$staticlink$" for v in value.values] if value.file else list(value.values)
            found[(id, value.locale)] = CustomAttribute(
                id,
                value.locale,
                values,
                ASSET_ATTRIBUTE_TYPES.get(value.type, "string"),
                asset_group(value.asset),
            )
    return list(found.values())


# -- what SFCC's files can carry (catalog.xsd, metadata.xsd; docs/sfcc.md#limits) ----------------

#: Anything outside XML 1.0's ``Char`` production: C0 controls but tab, line feed and carriage
#: return; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: XSD's whitespace (``\s`` in a schema pattern): space, tab, line feed, carriage return.
_XSD_SPACE = " \t\n\r"
#: catalog.xsd's ``NonEmptyString.256``: attribute ids, variation values, view types.
MAX_ID = 256
#: catalog.xsd's ``NonEmptyString.1800``: ``image/@path``.
MAX_PATH = 1800


def xml_text_problem(text: str) -> str | None:
    """Why XML 1.0 cannot carry ``text`` (catalog.xsd ``simpleType.Generic.String``), or ``None``.

    Tab, line feed and carriage return are carried (lxml escapes them where it must).
    """
    if text.isascii() and text.isprintable():  # U+0020 to U+007E: the common case, in C
        return None
    bad = _NOT_XML_CHAR.search(text)
    if bad:
        return f"holds {bad.group()!r} at position {bad.start()}, which XML cannot carry"
    return None


def xml_id_problem(text: str, limit: int) -> str | None:
    """Why ``text`` is not a catalog.xsd ``simpleType.Generic.NonEmptyString.<limit>``, or ``None``.

    That type is 1 to ``limit`` characters matching ``\\S|(\\S(.*)\\S)``: no whitespace at either
    end, and no line break anywhere (an XSD ``.`` matches neither line feed nor carriage return).
    """
    if text.isascii() and text.isprintable():  # U+0020 to U+007E: only spaces to look at
        if not text:
            return "empty"
        if len(text) > limit:
            return f"longer than {limit} characters"
        return "starts or ends with whitespace" if text[0] == " " or text[-1] == " " else None
    problem = xml_text_problem(text)
    if problem:
        return problem
    if not text:
        return "empty"
    if len(text) > limit:
        return f"longer than {limit} characters"
    if text[0] in _XSD_SPACE or text[-1] in _XSD_SPACE:
        return "starts or ends with whitespace"
    if "\n" in text or "\r" in text:
        return "holds a line break"
    return None


def attribute_definition_id_problem(text: str) -> str | None:
    """Why ``text`` is not a metadata.xsd ``simpleType.AttributeDefinition.ID`` (a
    ``NonEmptyString.256`` without ``|``), or ``None``."""
    return xml_id_problem(text, MAX_ID) or ("holds '|'" if "|" in text else None)


def product_problem(
    record: ProductImages, config: PipelineConfig, custom: list[CustomAttribute] | None = None
) -> tuple[str, str, str] | None:
    """The first value of a product SFCC's files cannot carry, as ``(what, value, why)``, or
    ``None`` when the whole product can be written (docs/bad-input.md#products-that-cannot-be-written).

    Checks what the catalog and metadata XML would hold: the product id, each image's path,
    variation (attribute id as written, and value) and texts for the images SFCC shows, and
    each custom attribute's id and values.

    :param custom: :func:`custom_attributes` of the product's and its members' collections, when
        the caller has them already.
    """
    return next(_problems(record, config, custom), None)


def _problems(
    record: ProductImages, config: PipelineConfig, custom: list[CustomAttribute] | None
) -> Iterator[tuple[str, str, str]]:
    """Every value of the product SFCC's files cannot carry, in the order they would be
    written, as ``(what, value, why)``: lazily, so a product is checked only up to its first."""
    if problem := xml_id_problem(record.product_ref, MAX_PRODUCT_ID):
        yield "product id", record.product_ref, problem
    for image in record.images:
        if image.format not in FORMATS:
            continue  # not written
        if problem := xml_id_problem(image.path, MAX_PATH):
            yield "image path", image.path, problem
        for axis, value in image.variation:
            written = attribute_id(axis, config)
            if problem := xml_id_problem(written, MAX_ID):
                yield "variation attribute", written, problem
            if problem := xml_id_problem(value, MAX_ID):
                yield f"variation {axis!r} value", value, problem
        for kind, texts in image.texts.items():
            for text in texts:
                if problem := xml_text_problem(text.value):
                    yield f"image {kind}", text.value, problem
    for member in record.members:
        if problem := xml_id_problem(member.product_id, MAX_PRODUCT_ID):
            yield "member product id", member.product_id, problem
    if custom is None:
        every = [*record.collections, *(c for m in record.members for c in m.collections)]
        custom = custom_attributes(every, config)
    for attribute in custom:
        if problem := attribute_definition_id_problem(attribute.id):
            yield "custom attribute", attribute.id, problem
        for value in attribute.values:
            if problem := xml_text_problem(value):
                yield f"custom attribute {attribute.id!r} value", value, problem
