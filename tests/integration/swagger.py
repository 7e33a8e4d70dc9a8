"""Validate sandbox responses against Akeneo's official Swagger 2.0 file, corrected where it is wrong.

The file (``tests/schemas/akeneo/akeneo-web-api.json``, a byte-for-byte copy of the team's reference; override
with ``AKENEO_SWAGGER_FILE``) describes each response with a schema close to JSON Schema draft 4. Where a
real Akeneo answers differently, the real answer wins (``ERRATA.md``): each such place is fixed by one
:class:`Correction` below, which says why. Tests check that every correction is still needed, so one that
Akeneo fixes upstream shows up. The corrections of the asset routes (Asset Manager and PAM) are in
:data:`ASSET_CORRECTIONS`, checked by ``test_sandbox_assets.py``; those of the product model and family
variant routes in :data:`MODEL_CORRECTIONS`, checked by ``test_sandbox_models.py``; :func:`corrected_spec`
applies all three tuples.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

__all__ = [
    "ASSET_CORRECTIONS",
    "CORRECTIONS",
    "MODEL_CORRECTIONS",
    "Correction",
    "corrected_spec",
    "raw_spec",
    "response_schema",
    "validate",
]

_DEFAULT_FILE = Path(__file__).resolve().parents[1] / "schemas" / "akeneo" / "akeneo-web-api.json"

_PRODUCT_OPERATIONS = (
    ("/api/rest/v1/products-uuid", "get"),
    ("/api/rest/v1/products-uuid/{uuid}", "get"),
    ("/api/rest/v1/products", "get"),  # by identifier: PIMs before SaaS
    ("/api/rest/v1/products/{code}", "get"),
)
_LIST_OPERATIONS = (
    "/api/rest/v1/attributes",
    "/api/rest/v1/families",
    "/api/rest/v1/channels",
    "/api/rest/v1/locales",
    "/api/rest/v1/products-uuid",
    "/api/rest/v1/products",
)
# Placeholders the file uses as property names where any code may appear ("labels": {"localeCode": ...}).
_PLACEHOLDERS = (
    "localeCode",
    "channelCode",
    "attributeCode",
    "associationTypeCode",
    "quantifiedAssociationTypeCode",
)
# Attribute properties a real PIM returns as null when they do not apply to the attribute's type; see the
# attribute example of catalog-structure.md, and the Attribute example in the Swagger file itself.
_NULLABLE_ATTRIBUTE_PROPERTIES = (
    "metric_family",
    "default_metric_unit",
    "reference_data_name",
    "max_characters",
    "validation_rule",
    "validation_regexp",
    "wysiwyg_enabled",
    "number_min",
    "number_max",
    "decimals_allowed",
    "negative_allowed",
    "date_min",
    "date_max",
    "max_file_size",
    "default_value",
    "decimal_places_strategy",
    "decimal_places",
)


@dataclass(frozen=True)
class Correction:
    """One fix to the Swagger file: a name, the reason (with its source) and the change itself."""

    name: str
    why: str
    apply: Callable[[dict[str, Any]], None]


def raw_spec() -> dict[str, Any]:
    """Return the Swagger file as published (a fresh copy: parsing the text beats ``copy.deepcopy``)."""
    return json.loads(_text())


@functools.cache
def _text() -> str:
    path = Path(os.environ.get("AKENEO_SWAGGER_FILE", _DEFAULT_FILE))
    if not path.is_file():
        pytest.fail(f"Akeneo Swagger file not found at {path}; set AKENEO_SWAGGER_FILE")
    return path.read_text(encoding="utf-8")


def corrected_spec(skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Return the Swagger file with every correction applied, except those named in ``skip``."""
    return _corrected(skip)


@functools.cache
def _corrected(skip: frozenset[str]) -> dict[str, Any]:
    corrections = (*CORRECTIONS, *ASSET_CORRECTIONS, *MODEL_CORRECTIONS)
    unknown = skip - {correction.name for correction in corrections}
    if unknown:
        raise KeyError(f"unknown corrections: {sorted(unknown)}")
    spec = raw_spec()
    for correction in corrections:
        if correction.name not in skip:
            correction.apply(spec)
    return spec


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """Return the schema of one response, with every ``$ref`` inlined.

    :raises AssertionError: if the file documents no such response, or no schema for it.
    """
    operation = spec["paths"][path][method.lower()]
    response = operation["responses"].get(str(status))
    if response is None:
        raise AssertionError(f"the Swagger file documents no {status} response for {method.upper()} {path}")
    response = _resolve(spec, response)
    if "schema" not in response:
        raise AssertionError(f"the Swagger file gives no schema for {status} on {method.upper()} {path}")
    return _resolve(spec, response["schema"])


def validate(body: Any, path: str, method: str, status: int, *, skip: frozenset[str] = frozenset()) -> None:
    """Validate a response body against the (corrected) Swagger schema of ``method path`` for ``status``.

    :raises jsonschema.ValidationError: naming the first offending place in the body.
    """
    _validator(path, method.lower(), status, skip).validate(body)


@functools.cache
def _validator(path: str, method: str, status: int, skip: frozenset[str]) -> Draft4Validator:
    schema = response_schema(corrected_spec(skip), path, method, status)
    Draft4Validator.check_schema(schema)
    # No format checker: Swagger formats such as "dateTime" are not JSON Schema formats.
    return Draft4Validator(schema)


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """Inline local ``$ref``s (``#/definitions/X``, ``#/responses/Y``) recursively."""
    if isinstance(node, list):
        return [_resolve(spec, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(spec, target)
    return {key: _resolve(spec, value) for key, value in node.items()}


# -- walking the file ----------------------------------------------------------------------------------


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Yield every dict below ``node`` (schemas and everything else), depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schemas(item)


def _response_schemas(spec: dict[str, Any], path: str, method: str) -> Iterator[dict[str, Any]]:
    for response in spec["paths"][path][method]["responses"].values():
        if "schema" in response:
            yield from _schemas(response["schema"])


def _nullable(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if isinstance(kind, str) and kind != "null":
        schema["type"] = [kind, "null"]


def _product_value_items(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path, method in _PRODUCT_OPERATIONS:
        for schema in _response_schemas(spec, path, method):
            values = schema.get("properties", {}).get("values")
            if values is not None and "additionalProperties" in values:
                yield values["additionalProperties"]["items"]


def _products(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path, method in _PRODUCT_OPERATIONS:
        for schema in _response_schemas(spec, path, method):
            properties = schema.get("properties", {})
            if ("uuid" in properties or "identifier" in properties) and "values" in properties:
                yield schema


# -- the corrections -----------------------------------------------------------------------------------


def _value_locale_scope_nullable(spec: dict[str, Any]) -> None:
    for item in _product_value_items(spec):
        _nullable(item["properties"]["locale"])
        _nullable(item["properties"]["scope"])


def _value_data_any_type(spec: dict[str, Any]) -> None:
    for item in _product_value_items(spec):
        item["properties"]["data"].pop("type", None)


def _product_parent_nullable(spec: dict[str, Any]) -> None:
    for product in _products(spec):
        _nullable(product["properties"]["parent"])


def _token_scope_nullable(spec: dict[str, Any]) -> None:
    _nullable(
        spec["paths"]["/api/oauth/v1/token"]["post"]["responses"]["200"]["schema"]["properties"]["scope"]
    )


def _attribute_nulls(spec: dict[str, Any]) -> None:
    for path in ("/api/rest/v1/attributes", "/api/rest/v1/attributes/{code}"):
        for schema in _response_schemas(spec, path, "get"):
            properties = schema.get("properties", {})
            if "type" in properties and "group" in properties:
                for name in _NULLABLE_ATTRIBUTE_PROPERTIES:
                    _nullable(properties[name])


def _placeholders_to_additional_properties(spec: dict[str, Any]) -> None:
    for schema in _schemas(spec["paths"]):
        properties = schema.get("properties")
        if isinstance(properties, dict) and len(properties) == 1 and next(iter(properties)) in _PLACEHOLDERS:
            schema["additionalProperties"] = properties.popitem()[1]
            del schema["properties"]


def _list_errors(spec: dict[str, Any]) -> None:
    for path in _LIST_OPERATIONS:
        responses = spec["paths"][path]["get"]["responses"]
        responses.setdefault("400", {"$ref": "#/responses/400Error"})
        responses.setdefault("422", {"$ref": "#/responses/422Error"})


def _429_everywhere(spec: dict[str, Any]) -> None:
    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", {"$ref": "#/responses/429Error"})


def _asset_items_erratum(spec: dict[str, Any]) -> None:
    for schema in _schemas(spec["paths"]):
        embedded = schema.get("properties", {}).get("_embedded")
        if isinstance(embedded, dict) and "_items" in embedded.get("properties", {}):
            embedded["properties"]["items"] = embedded["properties"].pop("_items")


CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        "asset-items-erratum",
        "ERRATA.md: Asset Manager lists put items under _embedded.items, not _embedded._items.",
        _asset_items_erratum,
    ),
    Correction(
        "value-locale-scope-nullable",
        "products.md, 'The global format': locale is null when the attribute is not localizable and scope is "
        "null when it is not scopable; the file types both as plain strings.",
        _value_locale_scope_nullable,
    ),
    Correction(
        "value-data-any-type",
        "products.md, 'The data format': data is a string for identifier, text, image and file values, an "
        "array for multi-selects, a number or an object elsewhere; the file says it is always an object.",
        _value_data_any_type,
    ),
    Correction(
        "product-parent-nullable",
        "products.md and the file's own ProductUuid example: parent is null for a product that is not a "
        "variant; the file types it as a string.",
        _product_parent_nullable,
    ),
    Correction(
        "token-scope-nullable",
        'authentication.md: the token response has "scope": null; the file types scope as a string.',
        _token_scope_nullable,
    ),
    Correction(
        "attribute-nulls",
        "catalog-structure.md's attribute example and the file's own Attribute example: properties that do "
        "not apply to an attribute's type are null; the file types them as strings, numbers or booleans.",
        _attribute_nulls,
    ),
    Correction(
        "code-placeholders",
        "The file names code-keyed maps with placeholder properties (labels.localeCode, "
        "attribute_requirements.channelCode, associations.associationTypeCode...), so real keys go "
        "unchecked; they become additionalProperties so that every real key is checked. This tightens.",
        _placeholders_to_additional_properties,
    ),
    Correction(
        "list-400-422",
        "pagination.md: a limit above 100 gives a 422 on every list, and the products list answers a "
        "search that is not JSON with 400 'Search query parameter should be valid JSON.'; several list "
        "operations document neither.",
        _list_errors,
    ),
    Correction(
        "429-everywhere",
        "responses.md: abusing the API gives 429 with Retry-After on any endpoint; the file defines "
        "#/responses/429Error but no operation refers to it.",
        _429_everywhere,
    ),
)


# -- asset corrections (asset-manager.md, pam.md) -------------------------------------------------------

_ASSET_VALUE_OPERATIONS = (
    ("/api/rest/v1/asset-families/{asset_family_code}/assets", "get"),
    ("/api/rest/v1/asset-families/{asset_family_code}/assets/{code}", "get"),
)
_ASSET_ATTRIBUTE_OPERATIONS = (
    ("/api/rest/v1/asset-families/{asset_family_code}/attributes", "get"),
    ("/api/rest/v1/asset-families/{asset_family_code}/attributes/{code}", "get"),
)
_ASSET_FAMILY_OPERATIONS = (
    ("/api/rest/v1/asset-families", "get"),
    ("/api/rest/v1/asset-families/{code}", "get"),
)
_PAM_FILE_OPERATIONS = (
    ("/api/rest/v1/assets", "get"),
    ("/api/rest/v1/assets/{code}", "get"),
    ("/api/rest/v1/assets/{asset_code}/reference-files/{locale_code}", "get"),
    ("/api/rest/v1/assets/{asset_code}/variation-files/{channel_code}/{locale_code}", "get"),
)
# Asset attribute properties a real PIM sends as null: asset-manager.md's examples show "suffix": null on a
# media link, "is_rich_text_editor": null and "validation_regexp": null on a text attribute; a media link
# without prefix (whole URLs in the data) has "prefix": null (its "linked_data" example shows the same).
_NULLABLE_ASSET_ATTRIBUTE_PROPERTIES = ("prefix", "suffix", "is_rich_text_editor", "validation_regexp")
# Statuses the sandbox answers, as a real PIM does, that the file does not document on these routes.
_ASSET_ERRORS = {
    # An unknown family is a 404 on every route below /asset-families/{asset_family_code}.
    "/api/rest/v1/asset-families/{asset_family_code}/attributes": ("404",),
    # filter.md, "Filter assets": search and value filters are checked like the products' (400 for a search
    # that is not JSON, 422 for a bad filter, channel or locale).
    "/api/rest/v1/asset-families/{asset_family_code}/assets": ("400", "404", "422"),
    # pagination.md: limit, page and pagination_type are checked on every paginated list.
    "/api/rest/v1/assets": ("422",),
    # The locale of a PAM file route must be "no_locale" exactly when the asset is not localizable
    # (the file's own locale_code parameter says so): a 422 otherwise.
    "/api/rest/v1/assets/{asset_code}/reference-files/{locale_code}": ("422",),
    "/api/rest/v1/assets/{asset_code}/reference-files/{locale_code}/download": ("422",),
    "/api/rest/v1/assets/{asset_code}/variation-files/{channel_code}/{locale_code}": ("422",),
    "/api/rest/v1/assets/{asset_code}/variation-files/{channel_code}/{locale_code}/download": ("422",),
}
_ERROR_REFS = {"400": "#/responses/400Error", "404": "#/responses/404Error", "422": "#/responses/422Error"}


def _properties_with(
    spec: dict[str, Any], operations: tuple[tuple[str, str], ...], *keys: str
) -> Iterator[dict]:
    """Yield the ``properties`` of every response schema of ``operations`` that has all of ``keys``."""
    for path, method in operations:
        for schema in _response_schemas(spec, path, method):
            properties = schema.get("properties")
            if isinstance(properties, dict) and all(key in properties for key in keys):
                yield properties


def _asset_value_locale_channel_nullable(spec: dict[str, Any]) -> None:
    for properties in _properties_with(spec, _ASSET_VALUE_OPERATIONS, "locale", "channel", "data"):
        _nullable(properties["locale"])
        _nullable(properties["channel"])


def _asset_value_data_any_type(spec: dict[str, Any]) -> None:
    for properties in _properties_with(spec, _ASSET_VALUE_OPERATIONS, "locale", "channel", "data"):
        properties["data"].pop("type", None)


def _asset_attribute_media_type_required(spec: dict[str, Any]) -> None:
    for path, method in _ASSET_ATTRIBUTE_OPERATIONS:
        for schema in _response_schemas(spec, path, method):
            if "media_type" in schema.get("required", []) and "value_per_locale" in schema.get(
                "properties", {}
            ):
                schema["required"] = [name for name in schema["required"] if name != "media_type"]


def _asset_attribute_nulls(spec: dict[str, Any]) -> None:
    for properties in _properties_with(spec, _ASSET_ATTRIBUTE_OPERATIONS, "type", "value_per_locale"):
        for name in _NULLABLE_ASSET_ATTRIBUTE_PROPERTIES:
            _nullable(properties[name])


def _asset_family_nulls(spec: dict[str, Any]) -> None:
    for properties in _properties_with(
        spec, _ASSET_FAMILY_OPERATIONS, "product_link_rules", "transformations"
    ):
        rule = properties["product_link_rules"]["items"]["properties"]
        for part in ("product_selections", "assign_assets_to"):
            for name in ("locale", "channel"):
                _nullable(rule[part]["items"]["properties"][name])
        transformation = properties["transformations"]["items"]["properties"]
        for part in ("source", "target"):
            for name in ("locale", "channel"):
                _nullable(transformation[part]["properties"][name])


def _asset_family_operations_array(spec: dict[str, Any]) -> None:
    for properties in _properties_with(
        spec, _ASSET_FAMILY_OPERATIONS, "product_link_rules", "transformations"
    ):
        transformation = properties["transformations"]["items"]["properties"]
        operation = transformation["operations"]
        if operation.get("type") == "object":
            transformation["operations"] = {"type": "array", "items": operation}


def _pam_locale_nullable(spec: dict[str, Any]) -> None:
    for properties in _properties_with(spec, _PAM_FILE_OPERATIONS, "reference_files", "variation_files"):
        for files in ("reference_files", "variation_files"):
            _nullable(properties[files]["items"]["properties"]["locale"])
    for properties in _properties_with(spec, _PAM_FILE_OPERATIONS, "code", "locale", "_link"):
        _nullable(properties["locale"])


def _pam_end_of_use_nullable(spec: dict[str, Any]) -> None:
    for properties in _properties_with(spec, _PAM_FILE_OPERATIONS, "end_of_use"):
        _nullable(properties["end_of_use"])


def _pam_collection_type(spec: dict[str, Any]) -> None:
    for path in ("/api/rest/v1/attributes", "/api/rest/v1/attributes/{code}"):
        for schema in _response_schemas(spec, path, "get"):
            kind = schema.get("properties", {}).get("type")
            if isinstance(kind, dict) and "pim_catalog_asset_collection" in kind.get("enum", []):
                kind["enum"] = [*kind["enum"], "pim_assets_collection"]


def _asset_errors(spec: dict[str, Any]) -> None:
    for path, statuses in _ASSET_ERRORS.items():
        responses = spec["paths"][path]["get"]["responses"]
        for status in statuses:
            responses.setdefault(status, {"$ref": _ERROR_REFS[status]})


ASSET_CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        "asset-value-locale-channel-nullable",
        "asset-manager.md, 'The global format': an asset value's locale is null when the attribute is not "
        "localizable and its channel null when it is not scopable; the file types both as plain strings.",
        _asset_value_locale_channel_nullable,
    ),
    Correction(
        "asset-value-data-any-type",
        "asset-manager.md, 'The data format': data is a string for text, media file and media link values, "
        "an array for multiple options, a boolean for booleans; the file says it is always an object.",
        _asset_value_data_any_type,
    ),
    Correction(
        "asset-attribute-media-type-required",
        "The file requires media_type on every asset attribute, while the property's own x-warning says it "
        "is 'Only required for media_link and media_file attribute types' and asset-manager.md's text "
        "attribute has none.",
        _asset_attribute_media_type_required,
    ),
    Correction(
        "asset-attribute-nulls",
        "asset-manager.md's attribute examples: suffix is null on a media link, is_rich_text_editor and "
        "validation_regexp are null on a text attribute (and prefix null on a link holding whole URLs); the "
        "file types them as strings and booleans.",
        _asset_attribute_nulls,
    ),
    Correction(
        "asset-family-nulls",
        "asset-manager.md, product link rules ('All the fields of this formula are mandatory', null when the "
        "attribute is not localizable or scopable) and transformations (source and target with null channel "
        "and locale, also in the file's own example); the file types locale and channel as strings.",
        _asset_family_nulls,
    ),
    Correction(
        "asset-family-operations-array",
        "asset-manager.md, 'Focus on the transformations': operations is an ordered array of operations, as "
        "the file's own example shows; the file's schema types it as one object.",
        _asset_family_operations_array,
    ),
    Correction(
        "pam-locale-nullable",
        "pam.md and the file's own examples: the locale of a reference or variation file is null when the "
        "PAM asset is not localizable; the file types it as a string.",
        _pam_locale_nullable,
    ),
    Correction(
        "pam-end-of-use-nullable",
        "The file gives end_of_use a default of null (an asset without end of use), yet types it as a "
        "string.",
        _pam_end_of_use_nullable,
    ),
    Correction(
        "pam-collection-type",
        "products.md, 'PAM asset collection attribute': a PIM with the PAM (2.1 to 3.x) has attributes of "
        "type pim_assets_collection; the file describes 7.0, whose attribute type enum no longer lists it.",
        _pam_collection_type,
    ),
    Correction(
        "asset-errors",
        "Errors a real PIM answers on the asset routes that the file does not document: 404 for an unknown "
        "asset family, 400/422 for a bad search or value filter (filter.md), 422 for a bad page or limit "
        "(pagination.md) and for a PAM locale that is not no_locale exactly when the asset is not "
        "localizable.",
        _asset_errors,
    ),
)


# -- product model corrections (products.md, catalog-structure.md) --------------------------------------

_MODEL_OPERATIONS = (("/api/rest/v1/product-models", "get"), ("/api/rest/v1/product-models/{code}", "get"))
# Statuses the sandbox answers, as a real PIM does, that the file does not document on these routes.
_MODEL_ERRORS = {
    # filter.md: a search that is not JSON is a 400 on the product model list, as on the products list.
    "/api/rest/v1/product-models": ("400",),
    # An unknown family is a 404; pagination.md: a bad limit or page is a 422 on every paginated list.
    "/api/rest/v1/families/{family_code}/variants": ("404", "422"),
}


def _model_values_nullable_any(spec: dict[str, Any]) -> None:
    for properties in _properties_with(spec, _MODEL_OPERATIONS, "code", "family_variant", "values"):
        item = properties["values"]["additionalProperties"]["items"]["properties"]
        _nullable(item["locale"])
        _nullable(item["scope"])
        item["data"].pop("type", None)


def _model_parent_nullable(spec: dict[str, Any]) -> None:
    for properties in _properties_with(spec, _MODEL_OPERATIONS, "code", "family_variant", "parent"):
        _nullable(properties["parent"])


def _model_errors(spec: dict[str, Any]) -> None:
    for path, statuses in _MODEL_ERRORS.items():
        responses = spec["paths"][path]["get"]["responses"]
        for status in statuses:
            responses.setdefault(status, {"$ref": _ERROR_REFS[status]})


MODEL_CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        "model-values-nullable-any",
        "products.md, 'The global format' and 'The data format', which product models share ('For more "
        "information about what are the product values'): locale and scope are null when the attribute is "
        "neither localizable nor scopable, and data is a string, an array or an object by attribute type; "
        "the file types locale and scope as strings and data as an object.",
        _model_values_nullable_any,
    ),
    Correction(
        "model-parent-nullable",
        "products.md's product model example and the file's own default ('null'): a root product model has "
        '"parent": null; the file types parent as a string.',
        _model_parent_nullable,
    ),
    Correction(
        "model-errors",
        "Errors a real PIM answers on these routes that the file does not document: 400 for a search that is "
        "not JSON on the product model list (filter.md), 404 for an unknown family and 422 for a bad page or "
        "limit (pagination.md) on the family variant list.",
        _model_errors,
    ),
)
