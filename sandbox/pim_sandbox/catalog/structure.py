"""Structure: channels, locales, categories, attributes, families and family variants, as the Akeneo API
returns them (without ``_links``). They depend on the asset system (its collection attributes), on whether
the catalog has product models (the variant axes) and on the defects asked for."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pim_sandbox.catalog.common import (
    _COLLECTIONS,
    _ECOMMERCE_LOCALES,
    _FAMILY_COLLECTIONS,
    _PRINT_LOCALES,
    AssetSystem,
    _freeze,
    _labels,
)

#: Catalogs that break a rule of the connector, for the validate stage's tests
#: (``generate_catalog(defects=...)``); none by default. The first four change only the
#: attributes (the validate stage stops a run before any product is read); the ``hostile_*``
#: ones put text files cannot carry where a real Akeneo lets it in (:mod:`~pim_sandbox.catalog.hostile`
#: says which field can carry what, and why).
DEFECTS = {
    "localizable_collection": "collection attribute packshots is localizable and lifestyle_assets scopable",
    "missing_asset_family": "collection attribute retired_assets names asset family retired_media, "
    "which does not exist (Asset Manager only)",
    "no_image_attributes": "no pim_catalog_image attribute (images only in asset collections)",
    "no_asset_collections": "no asset collection attribute of either asset system "
    "(images only in image attributes)",
    "hostile_identifiers": "the first 11 products' identifiers hold a control character, NUL, U+FFFE, "
    "CR LF, padding, only spaces, 130 characters, a bidi override or non-ASCII (one each), and the "
    "first variant's a control character",
    "hostile_asset_texts": "the first packshots' alt texts and large links hold control characters, "
    "NUL, U+FFFE, CR LF, a bidi override or spaces (Asset Manager only)",
}


@dataclass(frozen=True)
class CatalogStructure:
    """The structure resources of a catalog: read-only mappings from code to resource, ordered by code as
    Akeneo lists them.

    :ivar family_variants: family code -> its family variants in code order, as
        ``GET /families/{family}/variants`` lists them; every list is empty without product models.
    """

    channels: Mapping[str, dict[str, Any]]
    locales: Mapping[str, dict[str, Any]]
    attributes: Mapping[str, dict[str, Any]]
    families: Mapping[str, dict[str, Any]]
    family_variants: Mapping[str, tuple[dict[str, Any], ...]]
    categories: Mapping[str, dict[str, Any]]

    @classmethod
    def build(
        cls, asset_system: AssetSystem, *, models: bool, defects: Collection[str], typed_axes: bool = False
    ) -> CatalogStructure:
        """Return the structure of a catalog.

        :param asset_system: which collection attributes the products have.
        :param models: whether the catalog has product models (variant axes, family variants).
        :param defects: names from :data:`DEFECTS` (already checked).
        :param typed_axes: the accessories vary by a metric and a boolean axis (:data:`TYPED_AXES`)
            instead of two simple selects.
        """
        families = _freeze(_families(asset_system, variation=models, typed_axes=typed_axes))
        return cls(
            channels=_freeze(_channels()),
            locales=_freeze(_locales()),
            attributes=_freeze(
                _with_defects(
                    _attributes(asset_system, variation=models, typed_axes=typed_axes),
                    asset_system,
                    frozenset(defects),
                )
            ),
            families=families,
            family_variants=MappingProxyType(
                {code: tuple(_family_variants(code, typed_axes) if models else ()) for code in families}
            ),
            categories=_freeze(_categories()),
        )


def _channels() -> list[dict[str, Any]]:
    return [
        {
            "code": "ecommerce",
            "currencies": ["EUR", "USD"],
            "locales": list(_ECOMMERCE_LOCALES),
            "category_tree": "master",
            "conversion_units": {},
            "labels": _labels("Ecommerce", "E-commerce", "E-Commerce"),
        },
        {
            "code": "print",
            "currencies": ["USD"],
            "locales": list(_PRINT_LOCALES),
            "category_tree": "master",
            "conversion_units": {},
            "labels": _labels("Print", "Impression", "Druck"),
        },
    ]


def _locales() -> list[dict[str, Any]]:
    enabled = set(_ECOMMERCE_LOCALES) | set(_PRINT_LOCALES)
    codes = ("de_DE", "en_GB", "en_US", "es_ES", "fr_FR", "it_IT")
    return [{"code": code, "enabled": code in enabled} for code in codes]


def _categories() -> list[dict[str, Any]]:
    def category(code: str, parent: str | None, labels: dict[str, str]) -> dict[str, Any]:
        return {"code": code, "parent": parent, "labels": labels}

    return [
        category("master", None, _labels("Master catalog", "Catalogue principal", "Hauptkatalog")),
        category("shoes", "master", _labels("Shoes", "Chaussures", "Schuhe")),
        category("shirts", "master", _labels("Shirts", "Chemises", "Hemden")),
        category("accessories", "master", _labels("Accessories", "Accessoires", "Accessoires")),
        category("summer_sale", "master", _labels("Summer sale", "Soldes d'été", "Sommerschlussverkauf")),
        category("new_arrivals", "master", _labels("New arrivals", "Nouveautés", "Neuheiten")),
    ]


_GROUP_LABELS = {
    "variation": _labels("Variation", "Variation", "Variante"),
    "general": _labels("General", "Général", "Allgemein"),
    "media": _labels("Media", "Médias", "Medien"),
    "documents": _labels("Documents", "Documents", "Dokumente"),
    "assets": _labels("Assets", "Assets", "Assets"),
}


def _attribute(
    code: str, type_: str, group: str, sort_order: int, labels: dict[str, str], **extra: Any
) -> dict:
    """Return an attribute in the full Akeneo format (keys and nulls as the Swagger example shows)."""
    resource: dict[str, Any] = {
        "code": code,
        "type": type_,
        "group": group,
        "group_labels": _GROUP_LABELS[group],
        "unique": type_ == "pim_catalog_identifier",
        "useable_as_grid_filter": type_ in ("pim_catalog_identifier", "pim_catalog_text"),
        "allowed_extensions": [],
        "metric_family": None,
        "default_metric_unit": None,
        "reference_data_name": None,
        "available_locales": [],
        "max_characters": None,
        "validation_rule": None,
        "validation_regexp": None,
        "wysiwyg_enabled": None,
        "number_min": None,
        "number_max": None,
        "decimals_allowed": None,
        "negative_allowed": None,
        "date_min": None,
        "date_max": None,
        "max_file_size": None,
        "minimum_input_length": None,
        "sort_order": sort_order,
        "localizable": False,
        "scopable": False,
        "default_value": None,
        "labels": labels,
    }
    resource.update(extra)
    return resource


def _attributes(
    asset_system: AssetSystem, *, variation: bool = False, typed_axes: bool = False
) -> list[dict[str, Any]]:
    """Return the product attributes: the image attributes, then the asset collections of the asset system,
    then (with product models) the variant axes."""
    attributes = [*_image_attributes(), *_asset_collection_attributes(asset_system)]
    if variation:
        # Variant identifiers add their axis values to the SKU, upper-case (one pinned model spells out its
        # whole name): the identifier's rule widens to take them.
        attributes[0] = {**attributes[0], "validation_regexp": _VARIANT_SKU_REGEXP}
        attributes.extend(_axis_attributes(typed_axes))
    return attributes


def _with_defects(
    attributes: list[dict[str, Any]], asset_system: AssetSystem, defects: frozenset[str]
) -> list[dict[str, Any]]:
    """Return the attributes broken as :data:`DEFECTS` says (unchanged without defects)."""
    broken = {"packshots": "localizable", "lifestyle_assets": "scopable"}
    if "localizable_collection" in defects:
        attributes = [{**a, broken[a["code"]]: True} if a["code"] in broken else a for a in attributes]
    if "no_image_attributes" in defects:
        attributes = [a for a in attributes if a["type"] != "pim_catalog_image"]
    if "no_asset_collections" in defects:
        collection_types = ("pim_catalog_asset_collection", "pim_assets_collection")
        attributes = [a for a in attributes if a["type"] not in collection_types]
    if "missing_asset_family" in defects and asset_system == "new":
        attributes.append(
            _attribute(
                "retired_assets",
                "pim_catalog_asset_collection",
                "assets",
                200,
                _labels("Retired assets", "Ressources retirées", "Ausgemusterte Assets"),
                reference_data_name="retired_media",
            )
        )
    return attributes


def _axis_attributes(typed_axes: bool = False) -> list[dict[str, Any]]:
    """Return the attributes used as variant axes: never localizable nor scopable (the Swagger file's rule
    for axes): simple selects, and with ``typed_axes`` a metric and a boolean (:data:`TYPED_AXES`)."""
    typed = [
        _attribute(
            "volume",
            "pim_catalog_metric",
            "variation",
            5,
            _labels("Volume", "Volume", "Volumen"),
            metric_family="Volume",
            default_metric_unit="LITER",
            decimals_allowed=True,
            negative_allowed=False,
        ),
        _attribute(
            "waterproof",
            "pim_catalog_boolean",
            "variation",
            6,
            _labels("Waterproof", "Étanche", "Wasserdicht"),
        ),
    ]
    return [*_select_axis_attributes(), *(typed if typed_axes else [])]


def _select_axis_attributes() -> list[dict[str, Any]]:
    return [
        _attribute(
            code,
            "pim_catalog_simpleselect",
            "variation",
            sort_order,
            _AXIS_LABELS[code],
            useable_as_grid_filter=True,
        )
        for sort_order, code in enumerate(_AXIS_OPTIONS, start=2)
    ]


def _asset_collection_attributes(asset_system: AssetSystem) -> list[dict[str, Any]]:
    """Return the asset collection attributes, never localizable nor scopable
    (docs/akeneo.md#asset-collections).

    Asset Manager collections are ``pim_catalog_asset_collection`` whose ``reference_data_name`` is the asset
    family (products.md, catalog-structure.md); PAM collections are ``pim_assets_collection``, whose
    ``reference_data_name`` was ``assets`` in PIM 3.x.
    """
    labels = {
        "packshots": _labels("Packshots", "Packshots", "Packshots"),
        "lifestyle_assets": _labels("Lifestyle assets", "Images d'ambiance", "Stimmungsbilder"),
        "cdn_images": _labels("CDN images", "Images CDN", "CDN-Bilder"),
        "user_guides": _labels("User guides", "Guides d'utilisation", "Bedienungsanleitungen"),
    }
    new = asset_system == "new"
    return [
        _attribute(
            attribute,
            "pim_catalog_asset_collection" if new else "pim_assets_collection",
            "assets",
            70 + 10 * position,
            labels[attribute],
            reference_data_name=group if new else "assets",
        )
        for position, (attribute, group) in enumerate(_COLLECTIONS[asset_system])
    ]


def _image_attributes() -> list[dict[str, Any]]:
    # BMP is not in Akeneo's default list for image attributes; on-premise PIMs can extend the list, and
    # the pipeline must cope with what it finds.
    images = ["bmp", "gif", "jpeg", "jpg", "png", "tif", "tiff"]
    image = {"allowed_extensions": images, "max_file_size": "10.00"}
    return [
        _attribute(
            "sku",
            "pim_catalog_identifier",
            "general",
            0,
            _labels("SKU", "SKU", "SKU"),
            max_characters=255,
            validation_rule="regexp",
            validation_regexp=r"^SKU-\d+$",
        ),
        _attribute(
            "name",
            "pim_catalog_text",
            "general",
            1,
            _labels("Name", "Nom", "Name"),
            localizable=True,
            max_characters=255,
        ),
        # sort_order deliberately differs from code order and from the order of this list.
        _attribute(
            "main_image",
            "pim_catalog_image",
            "media",
            10,
            _labels("Main image", "Image principale", "Hauptbild"),
            **image,
        ),
        _attribute(
            "lifestyle_image",
            "pim_catalog_image",
            "media",
            20,
            _labels("Lifestyle", "Ambiance", "Lifestyle"),
            localizable=True,
            **image,
        ),
        _attribute(
            "back_image",
            "pim_catalog_image",
            "media",
            30,
            _labels("Back view", "Vue de dos", "Rückansicht"),
            **image,
        ),
        _attribute(
            "detail_image",
            "pim_catalog_image",
            "media",
            40,
            _labels("Detail", "Détail", "Detail"),
            localizable=True,
            scopable=True,
            **image,
        ),
        _attribute(
            "zoom_image",
            "pim_catalog_image",
            "media",
            50,
            _labels("Zoom", "Zoom", "Zoom"),
            scopable=True,
            **image,
        ),
        _attribute(
            "user_manual",
            "pim_catalog_file",
            "documents",
            60,
            _labels("User manual", "Notice d'utilisation", "Bedienungsanleitung"),
            allowed_extensions=["pdf"],
            max_file_size="20.00",
        ),
    ]


def _families(
    asset_system: AssetSystem, *, variation: bool = False, typed_axes: bool = False
) -> list[dict[str, Any]]:
    collections = {attribute for attribute, _ in _COLLECTIONS[asset_system]}

    def family(code: str, attributes: list[str], labels: dict[str, str]) -> dict[str, Any]:
        required = ["main_image", "name", "sku"]
        assets = [attribute for attribute in _FAMILY_COLLECTIONS[code] if attribute in collections]
        if variation:  # a family variant's axes must be attributes of its family
            assets = [*assets, *family_axes(code, typed_axes)]
        return {
            "code": code,
            "attributes": sorted([*attributes, *assets]),
            "attribute_as_label": "name",
            "attribute_as_image": "main_image",
            "attribute_requirements": {"ecommerce": required, "print": ["name", "sku"]},
            "labels": labels,
        }

    base = ["sku", "name", "main_image"]
    return [
        family(
            "shoes",
            [*base, "back_image", "lifestyle_image", "zoom_image", "detail_image", "user_manual"],
            _labels("Shoes", "Chaussures", "Schuhe"),
        ),
        family(
            "shirts",
            [*base, "back_image", "lifestyle_image", "zoom_image"],
            _labels("Shirts", "Chemises", "Hemden"),
        ),
        family(
            "accessories",
            [*base, "lifestyle_image", "detail_image", "user_manual"],
            _labels("Accessories", "Accessoires", "Accessoires"),
        ),
    ]


# -- family variants (see "Product models and variants" in pim_sandbox.catalog.models) ------------------

_AXIS_OPTIONS: dict[str, tuple[str, ...]] = {
    "color": ("black", "blue", "green", "red", "white"),
    "size": ("xs", "s", "m", "l", "xl", "xxl"),
    "material": ("canvas", "leather", "suede"),
}
_AXIS_LABELS = {
    "color": _labels("Color", "Couleur", "Farbe"),
    "size": _labels("Size", "Taille", "Größe"),
    "material": _labels("Material", "Matière", "Material"),
}
_OPTION_LABELS = {
    "black": _labels("Black", "Noir", "Schwarz"),
    "blue": _labels("Blue", "Bleu", "Blau"),
    "green": _labels("Green", "Vert", "Grün"),
    "red": _labels("Red", "Rouge", "Rot"),
    "white": _labels("White", "Blanc", "Weiß"),
    **{size: _labels(size.upper(), size.upper(), size.upper()) for size in _AXIS_OPTIONS["size"]},
    "canvas": _labels("Canvas", "Toile", "Segeltuch"),
    "leather": _labels("Leather", "Cuir", "Leder"),
    "suede": _labels("Suede", "Daim", "Wildleder"),
}
_FAMILY_AXES = {"shoes": ("size",), "shirts": ("color", "size"), "accessories": ("color", "material")}
_VARIANT_SKU_REGEXP = r"^SKU-\d+(-[A-Z0-9]+)*$"
# family -> (family variant code, labels, variant attribute sets as (axes, other attributes of the level)).
# Attributes in no set belong to the root model. The identifier goes to the last level (the Swagger file:
# "identifier [is] automatically distributed to the lower level").
_FAMILY_VARIANT_SETS: dict[
    str, tuple[str, dict[str, str], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]
] = {
    "shoes": (
        "shoes_by_size",
        _labels("Shoes by size", "Chaussures par pointure", "Schuhe nach Größe"),
        ((("size",), ("back_image", "main_image", "sku")),),
    ),
    "shirts": (
        "shirts_by_color_size",
        _labels("Shirts by color and size", "Chemises par couleur et taille", "Hemden nach Farbe und Größe"),
        ((("color",), ("lifestyle_image",)), (("size",), ("back_image", "main_image", "sku"))),
    ),
    "accessories": (
        "accessories_by_color_material",
        _labels(
            "Accessories by color and material",
            "Accessoires par couleur et matière",
            "Accessoires nach Farbe und Material",
        ),
        ((("color", "material"), ("main_image", "sku")),),
    ),
}
# Image and file attributes of each family (its "attributes" in _families, without sku, name and assets).
_IMAGE_ATTRIBUTE_CODES = {
    "shoes": ("main_image", "back_image", "lifestyle_image", "zoom_image", "detail_image", "user_manual"),
    "shirts": ("main_image", "back_image", "lifestyle_image", "zoom_image"),
    "accessories": ("main_image", "lifestyle_image", "detail_image", "user_manual"),
}


#: With ``typed_axes``: the accessories' axes, a metric (``volume``, in litres) and a boolean
#: (``waterproof``), as real catalogs have them (a drink bottle by volume, a bag waterproof or not).
TYPED_AXES = ("volume", "waterproof")
_TYPED_ACCESSORIES: tuple[str, dict[str, str], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = (
    "accessories_by_volume_waterproof",
    _labels("Accessories by volume", "Accessoires par volume", "Accessoires nach Volumen"),
    ((TYPED_AXES, ("main_image", "sku")),),
)


def variant_sets(
    family: str, typed_axes: bool = False
) -> tuple[str, dict[str, str], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
    """A family's variant: its code, labels, and per level (axes, other attributes)."""
    return _TYPED_ACCESSORIES if typed_axes and family == "accessories" else _FAMILY_VARIANT_SETS[family]


def family_axes(family: str, typed_axes: bool = False) -> tuple[str, ...]:
    """The axis attributes of a family's variant."""
    return TYPED_AXES if typed_axes and family == "accessories" else _FAMILY_AXES[family]


def _family_variants(family: str, typed_axes: bool = False) -> list[dict[str, Any]]:
    """Return a family's variants as ``GET /families/{family}/variants/{code}`` shows them
    (catalog-structure.md: a level's ``attributes`` list its axes too)."""
    code, labels, sets = variant_sets(family, typed_axes)
    return [
        {
            "code": code,
            "labels": labels,
            "variant_attribute_sets": [
                {"level": level, "axes": list(axes), "attributes": sorted({*axes, *others})}
                for level, (axes, others) in enumerate(sets, start=1)
            ],
        }
    ]


def _level_attributes(family: str, level: int, typed_axes: bool = False) -> frozenset[str]:
    """Return the attributes a level of the family's variant owns; level 0 (root) owns those in no set."""
    sets = variant_sets(family, typed_axes)[2]
    if level:
        axes, others = sets[level - 1]
        return frozenset((*axes, *others))
    owned = {attribute for axes, others in sets for attribute in (*axes, *others)}
    attributes = {*_IMAGE_ATTRIBUTE_CODES[family]}
    return frozenset(attributes - owned)
