"""SFCC's rules: formats, limits, ids and view types (docs/sfcc.md, docs/transform.md).

Pure functions on records and configuration, tested on tiny inputs; the renderer applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pim_images.config import PipelineConfig
from pim_images.records import CollectionValue, Image, ProductImages

#: Image files SFCC shows in image groups (docs/sfcc.md#image-formats).
FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})
#: SFCC product ids are 1-100 characters (catalog.xsd, simpleType.Generic.NonEmptyString.100).
MAX_PRODUCT_ID = 100


def camelize(code: str) -> str:
    """Akeneo code to camelCase, as the SFCC connector names custom attributes
    (docs/transform.md#camelize).

    Split on ``_``; drop empty parts (double underscores); lower-case the first letter of the
    first part and upper-case the first letter of the others; keep the rest of each part.

    >>> camelize("packshot_images"), camelize("image_2"), camelize("URL__Large")
    ('packshotImages', 'image2', 'uRLLarge')
    """
    parts = [p for p in code.split("_") if p]
    if not parts:
        return ""
    first, rest = parts[0], parts[1:]
    return first[:1].lower() + first[1:] + "".join(p[:1].upper() + p[1:] for p in rest)


def locale_view_type(view_type: str, locale: str | None) -> str:
    """``large`` + ``fr_FR`` -> ``large_fr-FR``; a non-localized value keeps ``large``
    (docs/transform.md#locale-suffixed-view-types)."""
    return f"{view_type}_{locale.replace('_', '-')}" if locale else view_type


def declared_view_types(config: PipelineConfig) -> list[str]:
    """Base view types in declaration order: image files' view types, then the mapping's."""
    names: list[str] = []
    if config.reads_images or (config.reads_assets and config.asset_files):
        names += config.image_view_types
    if config.reads_assets and config.asset_links_as_images:
        mapping = config.link_view_types_mapping
        names += [v for vts in mapping.values() for v in vts] if mapping else list(config.image_view_types)
    return list(dict.fromkeys(names))


def view_types_of(image: Image, config: PipelineConfig) -> tuple[str, ...]:
    """The base view types an image goes to: a link read through
    ``akeneoImageLinkViewTypesMapping`` goes to its attribute's view types, every other image
    to ``akeneoImageViewTypes``."""
    if image.kind == "link" and image.link_attribute:
        mapped = config.link_view_types_mapping.get(image.link_attribute)
        if mapped:
            return tuple(mapped)
    return tuple(config.image_view_types)


def external_location(config: PipelineConfig) -> tuple[str, str] | None:
    """``(http-url, https-url)`` when images are links (docs/sfcc.md: one location, never both)."""
    if not (config.reads_assets and config.asset_links_as_images):
        return None
    rest = config.akeneoExternalImageLocation.split("://", 1)[1]
    return f"http://{rest}", f"https://{rest}"


def output_names(catalog_id: str, stamp: str) -> tuple[str, str]:
    """Catalog XML and archive names; the archive's single top folder has the zip's name."""
    return f"catalog_{catalog_id}_{stamp}.xml", f"pim-images_{catalog_id}_{stamp}"


@dataclass(frozen=True)
class CustomAttribute:
    """One product custom attribute value: its id, its locale (``None``: not localized), values."""

    id: str
    locale: str | None
    values: list[str]


def custom_attributes(collections: Iterable[CollectionValue]) -> list[CustomAttribute]:
    """A product's image-related custom attributes (docs/transform.md#custom-attribute-ids):
    ``akeneo_<camelize(C)>`` with the asset codes of collection ``C`` in order (always written,
    empty when the collection is, so SFCC's value is canonical), then
    ``akeneo_<camelize(C)>_<camelize(A)>`` with the links of asset attribute ``A``, one per
    locale, in asset order.
    """
    found: dict[tuple[str, str | None], list[str]] = {}
    for collection in collections:
        found[(f"akeneo_{camelize(collection.code)}", None)] = list(collection.assets)
        for link in collection.links:
            key = (f"akeneo_{camelize(collection.code)}_{camelize(link.attribute)}", link.locale)
            found.setdefault(key, []).append(link.url)
    return [CustomAttribute(id, locale, values) for (id, locale), values in found.items()]


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
    bad = _NOT_XML_CHAR.search(text)
    if bad:
        return f"holds {bad.group()!r} at position {bad.start()}, which XML cannot carry"
    return None


def xml_id_problem(text: str, limit: int) -> str | None:
    """Why ``text`` is not a catalog.xsd ``simpleType.Generic.NonEmptyString.<limit>``, or ``None``.

    That type is 1 to ``limit`` characters matching ``\\S|(\\S(.*)\\S)``: no whitespace at either
    end, and no line break anywhere (an XSD ``.`` matches neither line feed nor carriage return).
    """
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


def product_problem(record: ProductImages) -> tuple[str, str, str] | None:
    """The first value of a product SFCC's files cannot carry, as ``(what, value, why)``, or
    ``None`` when the whole product can be written (docs/bad-input.md#products-that-cannot-be-written).

    Checks what the catalog and metadata XML would hold: the product id, each image's path
    and variation (attribute id and value) for the images SFCC shows, and each custom
    attribute's id and values.
    """
    checks: list[tuple[str, str, str | None]] = [
        ("product id", record.product_ref, xml_id_problem(record.product_ref, MAX_PRODUCT_ID))
    ]
    for image in record.images:
        if image.format not in FORMATS:
            continue  # not written
        checks.append(("image path", image.path, xml_id_problem(image.path, MAX_PATH)))
        for axis, value in image.variation:
            checks.append(("variation attribute", axis, xml_id_problem(axis, MAX_ID)))
            checks.append((f"variation {axis!r} value", value, xml_id_problem(value, MAX_ID)))
    for attribute in custom_attributes(record.collections):
        checks.append(("custom attribute", attribute.id, attribute_definition_id_problem(attribute.id)))
        checks.extend(
            (f"custom attribute {attribute.id!r} value", v, xml_text_problem(v)) for v in attribute.values
        )
    return next(((what, value, problem) for what, value, problem in checks if problem), None)
