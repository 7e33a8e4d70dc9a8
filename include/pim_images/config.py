"""Pipeline configuration (docs/configuration.md): one YAML file in the project, overridable per run.

The parameter names are the SFCC Akeneo connector's, so that its users recognise them.
:class:`PipelineConfig` is the one place a parameter is declared: its type, allowed values,
title, description and trigger-form section; :func:`param_specs` turns it into the DAG's
params. Every JSON-typed field is parsed here, before any extraction, and every problem found
is reported at once: a user fixing a configuration should not discover errors one run at a
time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, get_args
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from pim_images.errors import ConfigError

ImageType = Literal["images", "assets", "both"]
AssetSystem = Literal["new", "old"]
ImageImportType = Literal["media_file", "media_link", "both"]
ImportMode = Literal["full", "differential"]
CustomAttributeNaming = Literal["per_asset", "per_collection"]

IMAGE_TYPES: tuple[str, ...] = get_args(ImageType)
ASSET_SYSTEMS: tuple[str, ...] = get_args(AssetSystem)
IMAGE_IMPORT_TYPES: tuple[str, ...] = get_args(ImageImportType)
IMPORT_MODES: tuple[str, ...] = get_args(ImportMode)
CUSTOM_ATTRIBUTE_NAMINGS: tuple[str, ...] = get_args(CustomAttributeNaming)

#: The view type used when ``akeneoImageViewTypes`` is ``{ }`` (feature off): SFCC needs a
#: view type on every image group, so the images still go somewhere predictable.
DEFAULT_VIEW_TYPE = "original"

#: Parameters whose change since the last successful run forces a full import
#: (docs/runs.md#configuration-fingerprint).
IMAGE_PARAMETERS = (
    "akeneoImageType",
    "akeneoAssetSystem",
    "akeneoImageImportType",
    "akeneoImageViewTypes",
    "akeneoImageLinkViewTypesMapping",
    "akeneoImageFileViewTypesMapping",
    "akeneoImageMetadataMapping",
    "akeneoCustomAttrMapping",
    "sfccCustomAttributeNaming",
    "akeneoExternalImageLocation",
    "akeneoScope",
    "akeneoLocales",
    "akeneoImageAttributes",
    "sfccCatalogId",
)

#: Image parameters added after the first release: left out of the fingerprint while at their
#: default, so a configuration that does not use them keeps the fingerprint it had.
_ADDED_LATER = frozenset(
    {
        "akeneoImageFileViewTypesMapping",
        "akeneoImageMetadataMapping",
        "akeneoCustomAttrMapping",
        "sfccCustomAttributeNaming",
    }
)
#: ``maxFailedProductsPercent`` when the configuration does not say: a few broken images are
#: left out, a PIM that serves no image fails the run (docs/bad-input.md#broken-images).
DEFAULT_MAX_FAILED_PERCENT = 5.0

_CODE = re.compile(r"^[A-Za-z0-9_]+$")
_VIEW_TYPE = re.compile(r"^[A-Za-z0-9_\-]+$")
_CATALOG_ID = re.compile(r"^[A-Za-z0-9._\-]+$")

#: Defaults of the media limits (docs/bad-input.md#media-limits): 100 megapixels, 200 MiB.
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
DEFAULT_MAX_MEDIA_BYTES = 200 * 1024 * 1024

#: The pydantic error type of our own refusals; their message is the line the user reads.
_REFUSED = "invalid_parameter"


# -- field checks: each raises our message (without the parameter's name, which the model adds) --


def _refusal(message: str) -> PydanticCustomError:
    return PydanticCustomError(_REFUSED, "{message}", {"message": message})


def _refuse_all(value: Any, messages: list[str]) -> None:
    """Raise every message about one value at once (a JSON parameter may break several rules).

    :raises ValidationError: one error per message, when there are any.
    """
    if messages:
        errors: list[InitErrorDetails] = [{"type": _refusal(m), "loc": (), "input": value} for m in messages]
        raise ValidationError.from_exception_data("PipelineConfig", errors)


def _code(value: Any) -> str:
    """An Akeneo code typed by hand (a channel): trimmed, letters, digits and underscores."""
    if not isinstance(value, str) or not value.strip():
        raise _refusal(f"a non-empty text is required, got {value!r}")
    value = value.strip()
    if not _CODE.match(value):
        raise _refusal(f"{value!r} is not an Akeneo code (letters, digits, underscores)")
    return value


def _code_in_list(value: str) -> str:
    if not _CODE.match(value):
        raise _refusal(f"{value!r} is not an Akeneo code (letters, digits, underscores)")
    return value


def _texts(value: Any) -> list[str]:
    """A list of texts; the YAML file may also give one text of comma-separated values."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _refusal(f"a list of codes is required, got {value!r}")
    return list(value)


def _texts_or_none(value: Any) -> list[str]:
    """As :func:`_texts`; ``None`` (an empty field of the trigger form) is the empty list."""
    return [] if value is None else _texts(value)


def _percent(value: Any) -> float:
    """A share in percent, 0 to 100 (docs/configuration.md#maxfailedproductspercent)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise _refusal(f"a number from 0 to 100 is required, got {value!r}")
    return float(value)


def _registered_targets(values: tuple[str, ...]) -> tuple[str, ...]:
    """Each target must be registered (``pim_images.targets``): a target's package, not this
    module, says which targets exist."""
    known = _target_names()
    _refuse_all(values, [f"{v!r} is not one of {', '.join(known)}" for v in values if v not in known])
    return values


def _target_names() -> tuple[str, ...]:
    # imported here: the targets' packages import this module
    from pim_images import targets

    return targets.names()


def _targets_schema(schema: dict[str, Any]) -> None:
    """The ``targets`` param: an array of the registered targets' names (a multi-select)."""
    schema.update(section="Run", uniqueItems=True)
    schema["items"] = {"type": "string", "enum": list(_target_names())}


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise _refusal(f"{', '.join(map(repr, repeated))} given more than once")
    return values


def _json_object(value: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """Parse a JSON-text parameter, saying where it breaks (line and column) when it does."""
    if isinstance(value, dict):
        return value, []
    if not isinstance(value, str):
        return None, [f"JSON text is required, got {value!r}"]
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}): {value!r}"]
    if not isinstance(parsed, dict):
        return None, [f"a JSON object is required, got {value!r}"]
    return parsed, []


def _parse_view_types(value: Any) -> tuple[tuple[str, ...], list[str]]:
    """``{"view-types": [..]}``; ``{ }`` turns the feature off (connector documentation).

    :return: the view types (empty when off) and the problems found.
    """
    parsed, problems = _json_object(value)
    if not parsed:
        return (), problems
    extra = sorted(set(parsed) - {"view-types"})
    if extra:
        problems.append(f"unknown key(s) {', '.join(map(repr, extra))}; expected only 'view-types'")
    if "view-types" not in parsed:
        problems.append('"view-types" is missing (e.g. {"view-types": ["large", "small"]})')
        return (), problems
    items = parsed["view-types"]
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        problems.append(f'"view-types" must be a non-empty list of texts, got {json.dumps(items)}')
        return (), problems
    for bad in (v for v in items if not _VIEW_TYPE.match(v)):
        problems.append(f"view type {bad!r} may hold only letters, digits, '_' and '-'")
    if len(set(items)) != len(items):
        problems.append(f"view types are repeated in {items!r}")
    return tuple(items), problems


def _matching(parsed: dict[str, Any], problems: list[str]) -> dict[str, Any] | None:
    """The ``{"matching": {...}}`` form of the connector's mapping preferences: the inner
    mapping, or ``None`` when the text is not in that form."""
    if "matching" not in parsed:
        return None
    extra = sorted(set(parsed) - {"matching"})
    if extra:
        problems.append(f"unknown key(s) {', '.join(map(repr, extra))} beside 'matching'")
    if not isinstance(parsed["matching"], dict):
        problems.append(f'"matching" must be a JSON object, got {json.dumps(parsed["matching"])}')
        return {}
    return parsed["matching"]


def _parse_link_mapping(value: Any) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Asset ``media_link`` attribute -> SFCC view types (docs/configuration.md).

    Two forms are accepted: ours, ``{"url_large": ["large"], "url_thumb": ["small", "swatch"]}``
    (attribute -> view types), and the connector's, ``{"matching": {"large": "url_large",
    "small": "url_thumb"}}`` (view type -> attribute), which is turned into ours.

    :return: the mapping (entries that break a rule left out) and the problems found.
    """
    parsed, problems = _json_object(value)
    if not parsed:
        return {}, problems
    matching = _matching(parsed, problems)
    if matching is not None:
        inverted, problems = _parse_view_type_matching(matching, problems)
        return {a: tuple(vts) for a, vts in inverted.items()}, problems
    mapping: dict[str, tuple[str, ...]] = {}
    for attribute, view_types in parsed.items():
        if not _CODE.match(attribute):
            problems.append(f"{attribute!r} is not an asset attribute code")
        if (
            not isinstance(view_types, list)
            or not view_types
            or not all(isinstance(v, str) and _VIEW_TYPE.match(v) for v in view_types)
        ):
            problems.append(f"{attribute!r} must map to a non-empty list of view types, got {view_types!r}")
            continue
        mapping[attribute] = tuple(view_types)
    return mapping, problems


def _parse_view_type_matching(
    matching: dict[str, Any], problems: list[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """``{"<view type>": "<asset attribute>"}`` inverted to attribute -> view types (in order)."""
    inverted: dict[str, list[str]] = {}
    for view_type, attribute in matching.items():
        if not _VIEW_TYPE.match(view_type):
            problems.append(f"view type {view_type!r} may hold only letters, digits, '_' and '-'")
            continue
        if not isinstance(attribute, str) or not _CODE.match(attribute):
            problems.append(f"view type {view_type!r} must map to an asset attribute code, got {attribute!r}")
            continue
        inverted.setdefault(attribute, []).append(view_type)
    return inverted, problems


def _parse_file_mapping(value: Any) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """``akeneoImageFileViewTypesMapping``: the connector's ``{"matching": {"<view type>":
    "<asset media_file attribute>"}}``, returned as attribute -> view types; ``{ }`` is off
    (docs/configuration.md#akeneoimagefileviewtypesmapping).
    """
    parsed, problems = _json_object(value)
    if not parsed:
        return {}, problems
    matching = _matching(parsed, problems)
    if matching is None:
        return {}, [*problems, 'expected {"matching": {"<view type>": "<asset attribute>"}}']
    inverted, problems = _parse_view_type_matching(matching, problems)
    return {a: tuple(vts) for a, vts in inverted.items()}, problems


#: The image texts ``akeneoImageMetadataMapping`` may fill, in the order catalog.xsd wants them.
IMAGE_TEXTS = ("alt", "title")


def _parse_metadata_mapping(value: Any) -> tuple[dict[str, str], list[str]]:
    """``akeneoImageMetadataMapping``: the connector's ``{"matching": {"title": "<asset
    attribute>", "alt": "<asset attribute>"}}``; ``{ }`` is off
    (docs/configuration.md#akeneoimagemetadatamapping).

    :return: image text (``alt``, ``title``) -> asset attribute code, and the problems found.
    """
    parsed, problems = _json_object(value)
    if not parsed:
        return {}, problems
    matching = _matching(parsed, problems)
    if matching is None:
        return {}, [*problems, 'expected {"matching": {"title": "<asset attribute>", "alt": "..."}}']
    mapping: dict[str, str] = {}
    for text, attribute in matching.items():
        if text not in IMAGE_TEXTS:
            problems.append(f"{text!r} is not an image text SFCC has (expected {' or '.join(IMAGE_TEXTS)})")
        elif not isinstance(attribute, str) or not _CODE.match(attribute):
            problems.append(f"{text!r} must map to an asset attribute code, got {attribute!r}")
        else:
            mapping[text] = attribute
    return {t: mapping[t] for t in IMAGE_TEXTS if t in mapping}, problems


def _parse_custom_attr_mapping(value: Any) -> tuple[dict[str, str], list[str]]:
    """``akeneoCustomAttrMapping``: SFCC attribute ids for Akeneo attributes the store named
    otherwise than ``akeneo_<camelize(code)>``. The connector's form ``{"matching":
    {"akeneo_color": "color"}}`` (keyed by the default id) and ``{"color": "color"}`` (keyed
    by the Akeneo code) are both accepted (docs/configuration.md#akeneocustomattrmapping).

    :return: key (default id or Akeneo code) -> SFCC attribute id, and the problems found.
    """
    parsed, problems = _json_object(value)
    if not parsed:
        return {}, problems
    matching = _matching(parsed, problems)
    items = parsed if matching is None else matching
    mapping: dict[str, str] = {}
    for key, target in items.items():
        if not isinstance(target, str) or not target.strip() or len(target) > 256:
            problems.append(f"{key!r} must map to an SFCC attribute id (1-256 characters), got {target!r}")
            continue
        mapping[key] = target
    return mapping, problems


def _json_text(parse: Callable[[Any], tuple[Any, list[str]]]) -> Callable[[Any], str]:
    """A check keeping the JSON text the user typed (a mapping given in YAML becomes its JSON
    text), so the fingerprint and the run report show what was typed."""

    def check(value: Any) -> str:
        _refuse_all(value, parse(value)[1])
        return json.dumps(value) if isinstance(value, dict) else value

    return check


def _location(value: Any) -> str:
    """An absolute http(s) base URL ending with ``/``, or ``""`` (none)."""
    location = str(value or "")
    if location and not _is_http_url(location):
        raise _refusal(f"{location!r} is not an absolute http(s) URL")
    return location if not location or location.endswith("/") else location + "/"


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _catalog_id(value: Any) -> str:
    """SFCC catalog ids are non-empty strings of at most 256 characters (catalog.xsd)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise _refusal(f"a text of 1-256 characters is required, got {value!r}")
    if not _CATALOG_ID.match(value):
        raise _refusal(f"{value!r} may hold only letters, digits, '.', '_' and '-'")
    if set(value) == {"."}:  # it names a folder in the archive: '.' and '..' would climb
        raise _refusal(f"{value!r} is not a catalog id (a folder name in the site-import archive)")
    return value


def _remote_dir(value: Any) -> str:
    """An absolute folder on an SFTP drop, without ``..`` and without a trailing ``/``."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise _refusal(f"an absolute remote folder is required, got {value!r}")
    if ".." in value.split("/"):
        raise _refusal(f"{value!r} must not contain '..'")
    return value.rstrip("/") or "/"


Code = Annotated[str, AfterValidator(_code_in_list)]


def _form(section: str, **schema: Any) -> dict[str, Any]:
    """The JSON-schema extras of a parameter: its trigger-form section, and any keyword the
    field's type does not give.

    A parameter with a default has ``"null"`` among its types: Airflow's form marks a field
    required unless its type allows ``null``, and an emptied field keeps the configuration
    file's value (:func:`load_config` ignores ``None`` overrides).
    """
    return {"section": section, **schema}


#: A JSON-text parameter: optional (it has a default), drawn as a multi-line text area.
_JSON_FORM = _form("SFCC", type=["string", "null"], format="multiline")


class PipelineConfig(BaseModel):
    """The validated configuration of one run: a parameter per field, in trigger-form order.

    Raw values keep the connector's names (``akeneoImageViewTypes`` stays JSON text) so the
    fingerprint and the run report show what the user typed; parsed forms are the
    snake_case properties. Validating a mapping either gives a configuration or raises one
    :class:`ValidationError` whose errors are each a line naming the parameter and the value
    (:func:`build_config` turns it into a :class:`ConfigError`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    importMode: Annotated[
        ImportMode,
        Field(
            title="Import mode",
            description=(
                "full: every enabled product of the catalog. differential: reads what changed in the "
                "run's data interval (products updated between its start and end); a run after a change "
                "of the image configuration is full."
            ),
            json_schema_extra=_form("Run"),
        ),
    ]
    targets: Annotated[
        tuple[str, ...],
        # the constraint before the validators, so that it lands in the array's JSON schema
        Field(
            min_length=1,
            title="Targets",
            description="Where files are delivered.",
            json_schema_extra=_targets_schema,
        ),
        BeforeValidator(_texts),
        AfterValidator(_registered_targets),
        AfterValidator(_unique),
    ] = ()
    maxFailedProductsPercent: Annotated[
        float,
        BeforeValidator(_percent),
        Field(
            title="Failed products (%) before the run fails",
            description="A product whose image could not be downloaded or decoded is left out; above this "
            "share of the products the run fails instead.",
            json_schema_extra=_form("Run", type=["number", "null"]),
        ),
    ] = DEFAULT_MAX_FAILED_PERCENT
    akeneoImageType: Annotated[
        ImageType,
        Field(
            title="Akeneo image type",
            description="Read pim_catalog_image attributes (images), asset collections (assets), or both.",
            json_schema_extra=_form("Akeneo"),
        ),
    ]
    akeneoAssetSystem: Annotated[
        AssetSystem,
        Field(
            title="Asset system",
            description="new: Asset Manager (PIM >= 4.0). old: PAM (PIM < 4.0).",
            json_schema_extra=_form("Akeneo"),
        ),
    ]
    akeneoImageImportType: Annotated[
        ImageImportType,
        Field(
            title="Image import type",
            description="For assets: binaries (media_file), links (media_link), or both.",
            json_schema_extra=_form("Akeneo"),
        ),
    ]
    akeneoImageAttributes: Annotated[
        tuple[Code, ...],
        BeforeValidator(_texts_or_none),
        Field(
            title="Image attributes",
            description=(
                "pim_catalog_image attributes to read, in order. Empty: all, by sort order then code."
            ),
            # empty is a value (every attribute): the trigger form must not mark the field required
            json_schema_extra=_form("Akeneo", type=["array", "null"]),
        ),
    ] = ()
    akeneoScope: Annotated[
        str,
        BeforeValidator(_code),
        Field(
            title="Channel",
            description="The channel whose scopable values are read.",
            json_schema_extra=_form("Akeneo"),
        ),
    ]
    akeneoLocales: Annotated[
        tuple[Code, ...],
        Field(
            min_length=1,
            title="Locales",
            description="Locales exported; values in other locales are ignored.",
            json_schema_extra=_form("Akeneo"),
        ),
        BeforeValidator(_texts),
    ] = ()
    akeneoImageViewTypes: Annotated[
        str,
        BeforeValidator(_json_text(_parse_view_types)),
        Field(
            title="Image view types (JSON)",
            description=(
                'SFCC view types for image files, e.g. {"view-types": ["large","medium","small"]}; '
                "{ } turns it off."
            ),
            json_schema_extra=_JSON_FORM,
        ),
    ] = "{ }"
    akeneoImageLinkViewTypesMapping: Annotated[
        str,
        BeforeValidator(_json_text(_parse_link_mapping)),
        Field(
            title="Link view types mapping (JSON)",
            description='Asset attribute -> SFCC view types, e.g. {"url_large": ["large"]}.',
            json_schema_extra=_JSON_FORM,
        ),
    ] = "{ }"
    akeneoImageFileViewTypesMapping: Annotated[
        str,
        BeforeValidator(_json_text(_parse_file_mapping)),
        Field(
            title="File view types mapping (JSON)",
            description=(
                'View type -> asset media_file attribute, e.g. {"matching": {"large": "picture", '
                '"small": "thumbnail"}}: each view type gets that rendition. '
                "{ }: the main media in every view type."
            ),
            json_schema_extra=_JSON_FORM,
        ),
    ] = "{ }"
    akeneoImageMetadataMapping: Annotated[
        str,
        BeforeValidator(_json_text(_parse_metadata_mapping)),
        Field(
            title="Image metadata mapping (JSON)",
            description=(
                'Image alt/title per locale from asset attributes, e.g. {"matching": {"alt": "alt_text"}}; '
                "{ } turns it off."
            ),
            json_schema_extra=_JSON_FORM,
        ),
    ] = "{ }"
    akeneoCustomAttrMapping: Annotated[
        str,
        BeforeValidator(_json_text(_parse_custom_attr_mapping)),
        Field(
            title="Custom attribute mapping (JSON)",
            description=(
                "SFCC ids of variation axes named otherwise than akeneo_<axis>, e.g. "
                '{"matching": {"akeneo_color": "color"}}.'
            ),
            json_schema_extra=_JSON_FORM,
        ),
    ] = "{ }"
    sfccCustomAttributeNaming: Annotated[
        CustomAttributeNaming,
        Field(
            title="Custom attribute naming",
            description=(
                "per_asset: akeneo_<asset>_<attribute>, as the connector. "
                "per_collection: akeneo_<collection>_<attribute> (earlier releases)."
            ),
            json_schema_extra=_form("SFCC"),
        ),
    ] = "per_asset"
    akeneoExternalImageLocation: Annotated[
        str,
        BeforeValidator(_location),
        Field(
            title="External image location",
            description="Base URL where images are hosted; base of the public URLs given to BSPK.",
            json_schema_extra=_form("SFCC", type=["string", "null"]),
        ),
    ] = ""
    sfccCatalogId: Annotated[
        str,
        BeforeValidator(_catalog_id),
        Field(title="SFCC catalog id", description="The catalog written.", json_schema_extra=_form("SFCC")),
    ]
    sfccRemoteDir: Annotated[
        str,
        BeforeValidator(_remote_dir),
        Field(
            title="SFCC remote folder",
            description="Folder on the sfcc_sftp server.",
            json_schema_extra=_form("Delivery"),
        ),
    ]
    bspkRemoteDir: Annotated[
        str,
        BeforeValidator(_remote_dir),
        Field(
            title="BSPK remote folder",
            description="Folder on the bspk_sftp server.",
            json_schema_extra=_form("Delivery"),
        ),
    ]
    maxImagePixels: Annotated[
        int,
        Field(
            ge=1,
            title="Largest image (pixels)",
            description="Images of more pixels (width x height) are reported and skipped.",
            json_schema_extra=_form("Limits", type=["integer", "null"]),
        ),
    ] = DEFAULT_MAX_IMAGE_PIXELS
    maxMediaBytes: Annotated[
        int,
        Field(
            ge=1,
            title="Largest media file (bytes)",
            description="Media files larger than this are reported and skipped, never read whole.",
            json_schema_extra=_form("Limits", type=["integer", "null"]),
        ),
    ] = DEFAULT_MAX_MEDIA_BYTES

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem_at_once(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> PipelineConfig:
        """Check the fields and the rules between them, and refuse with every problem found.

        A rule between fields is checked even when a field breaks its own rule, and a missing
        parameter is checked as ``None``, so the messages are those of the connector's
        documentation whatever else is wrong.

        :raises ValidationError: one error per problem, its message the line the user reads,
            in the order of :data:`_PROBLEM_ORDER`.
        """
        if not isinstance(data, Mapping):
            return handler(data)
        raw = {**dict.fromkeys(_required_parameters()), **data}
        problems: list[_Problem] = []
        config: PipelineConfig | None = None
        try:
            config = handler(raw)
        except ValidationError as exc:
            problems = [_problem(error) for error in exc.errors()]
        problems += _rules_between_fields(raw)
        if config is not None and not problems:
            return config
        problems.sort(key=lambda p: p.rank)
        raise ValidationError.from_exception_data(
            cls.__name__,
            [{"type": _refusal(p.line), "loc": p.loc, "input": p.value} for p in problems],
        )

    @cached_property
    def view_types(self) -> tuple[str, ...]:
        """The view types of ``akeneoImageViewTypes``; empty when it is ``{ }`` (feature off)."""
        return _parse_view_types(self.akeneoImageViewTypes)[0]

    @cached_property
    def link_view_types_mapping(self) -> Mapping[str, tuple[str, ...]]:
        """``akeneoImageLinkViewTypesMapping`` parsed: asset attribute code -> SFCC view types."""
        return _parse_link_mapping(self.akeneoImageLinkViewTypesMapping)[0]

    @cached_property
    def file_view_types_mapping(self) -> Mapping[str, tuple[str, ...]]:
        """``akeneoImageFileViewTypesMapping`` parsed: asset media_file attribute -> view types."""
        return _parse_file_mapping(self.akeneoImageFileViewTypesMapping)[0]

    @cached_property
    def metadata_mapping(self) -> Mapping[str, str]:
        """``akeneoImageMetadataMapping`` parsed: image text (``alt``, ``title``) -> asset attribute."""
        return _parse_metadata_mapping(self.akeneoImageMetadataMapping)[0]

    @cached_property
    def custom_attr_mapping(self) -> Mapping[str, str]:
        """``akeneoCustomAttrMapping`` parsed: default id or Akeneo code -> SFCC attribute id."""
        return _parse_custom_attr_mapping(self.akeneoCustomAttrMapping)[0]

    @property
    def reads_images(self) -> bool:
        """``pim_catalog_image`` attributes are read (docs/configuration.md#akeneoimagetype)."""
        return self.akeneoImageType in ("images", "both")

    @property
    def reads_assets(self) -> bool:
        """Asset collection attributes are read (docs/configuration.md#akeneoimagetype)."""
        return self.akeneoImageType in ("assets", "both")

    @property
    def asset_files(self) -> bool:
        """Asset binaries become images: media_file and both; always with PAM, whose assets
        hold files only (it has no link attributes to read)."""
        return self.akeneoAssetSystem == "old" or self.akeneoImageImportType in ("media_file", "both")

    @property
    def asset_links_as_images(self) -> bool:
        """Asset links become SFCC images under the external location (media_link, Asset Manager)."""
        return self.akeneoAssetSystem == "new" and self.akeneoImageImportType == "media_link"

    @property
    def asset_links_as_attributes(self) -> bool:
        """Asset links go to product custom attributes (``both``, Asset Manager;
        docs/transform.md#custom-attribute-ids)."""
        return self.akeneoAssetSystem == "new" and self.akeneoImageImportType == "both"

    @property
    def image_view_types(self) -> tuple[str, ...]:
        """View types every image file goes to; the default one when the feature is off."""
        return self.view_types or (DEFAULT_VIEW_TYPE,)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form with the connector's names only (for reports and XCom).

        :return: parameter name -> value, lists for the list parameters;
            ``build_config(config.to_dict()) == config``.
        """
        return self.model_dump(mode="json")

    def fingerprint(self) -> str:
        """Hash of the image-related parameters: a change means the next run must be full.

        :return: SHA-256 hex digest of the sorted JSON of :data:`IMAGE_PARAMETERS`; stable
            across releases (a stored fingerprint is compared with the next run's).
        """
        image_part = {
            k: v
            for k, v in self.to_dict().items()
            if k in IMAGE_PARAMETERS
            and not (k in _ADDED_LATER and v == PipelineConfig.model_fields[k].default)
        }
        return hashlib.sha256(json.dumps(image_part, sort_keys=True).encode()).hexdigest()


class _Problem(NamedTuple):
    rank: tuple[int, str]
    loc: tuple[str | int, ...]
    line: str
    value: Any


#: The order problems are listed in: unknown parameters first, then the enumerations, the JSON
#: parameters, the external location and the rules that need it, then the codes and folders.
_PROBLEM_ORDER = (
    "akeneoImageType",
    "akeneoAssetSystem",
    "akeneoImageImportType",
    "importMode",
    "akeneoImageViewTypes",
    "akeneoImageLinkViewTypesMapping",
    "akeneoImageFileViewTypesMapping",
    "akeneoImageMetadataMapping",
    "akeneoCustomAttrMapping",
    "sfccCustomAttributeNaming",
    "akeneoExternalImageLocation",
    "targets",
    "maxFailedProductsPercent",
    "rules between fields",
    "akeneoScope",
    "akeneoLocales",
    "akeneoImageAttributes",
    "sfccCatalogId",
    "sfccRemoteDir",
    "bspkRemoteDir",
    "maxImagePixels",
    "maxMediaBytes",
)


#: pydantic's bound checks, as our messages say them.
_BOUNDS = {
    "greater_than_equal": "below the minimum,",
    "greater_than": "not above",
    "less_than_equal": "above the maximum,",
    "less_than": "not below",
}


def _problem(error: ErrorDetails) -> _Problem:
    """One pydantic error as the line the user reads: the parameter, the value, the rule."""
    name = str(error["loc"][0]) if error["loc"] else ""
    value = error["input"]
    kind = error["type"]
    if kind == "extra_forbidden":
        known = ", ".join(sorted(PipelineConfig.model_fields))
        return _Problem((-1, name), error["loc"], f"unknown parameter {name!r} (known: {known})", value)
    if kind == _REFUSED:
        line = error["msg"]
    elif kind == "literal_error":
        line = f"{value!r} is not one of {', '.join(_allowed_values(name))}"
    elif kind == "too_short":
        line = "at least one value is required"
    elif kind in _BOUNDS:
        bound = next(iter((error.get("ctx") or {}).values()), "?")
        line = f"{value!r} is {_BOUNDS[kind]} {bound}"
    else:  # a rule pydantic checks by itself that has no message of ours yet
        line = f"{error['msg']}, got {value!r}"
    return _Problem((_PROBLEM_ORDER.index(name), ""), error["loc"], f"{name}: {line}", value)


def _rules_between_fields(raw: Mapping[str, Any]) -> list[_Problem]:
    """The external location's rules that depend on other parameters (docs/configuration.md, §4)."""
    location = str(raw.get("akeneoExternalImageLocation") or "")
    if location:
        return []
    try:
        targets = _texts(raw.get("targets"))
    except PydanticCustomError:
        targets = []
    import_type = str(raw.get("akeneoImageImportType"))
    lines = []
    if "bspk" in targets:
        lines.append("required to give BSPK public image URLs")
    if (
        str(raw.get("akeneoImageType")) != "images"
        and str(raw.get("akeneoAssetSystem")) == "new"
        and import_type != "media_file"
    ):
        lines.append(f"required when links are imported (akeneoImageImportType {import_type!r})")
    rank = (_PROBLEM_ORDER.index("rules between fields"), "")
    name = "akeneoExternalImageLocation"
    return [_Problem(rank, (name,), f"{name}: {line}", location) for line in lines]


@cache
def _required_parameters() -> tuple[str, ...]:
    return tuple(name for name, field in PipelineConfig.model_fields.items() if field.is_required())


@cache
def _allowed_values(name: str) -> tuple[str, ...]:
    """The allowed values of an enumerated parameter, or of its items (``targets``)."""
    schema = PipelineConfig.model_json_schema()["properties"][name]
    return tuple(schema.get("enum") or schema["items"]["enum"])


def read_config_file(path: Path) -> dict[str, Any]:
    """Read the project's YAML configuration as a plain mapping.

    :raises ConfigError: the file is missing, is not YAML, or is not a mapping.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"configuration file {path} does not exist"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"configuration file {path} is not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"configuration file {path} must hold a mapping of parameters"])
    return data


def run_overrides(params: Mapping[str, Any], conf: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's overrides of the YAML file: its params (one per parameter of the model), and every
    key of its conf that is no parameter, so that a typo (``akeneoImagetype``) is named by
    :func:`build_config` ("unknown parameter") instead of being dropped silently.

    :param params: the run's params (Airflow resolves the conf's known keys into them).
    :param conf: the run's conf as triggered (``-c`` JSON, the REST API, the trigger form).
    """
    names = PipelineConfig.model_fields
    overrides = {name: params.get(name) for name in names}
    overrides.update({key: value for key, value in (conf or {}).items() if key not in names})
    return overrides


def load_config(path: Path, overrides: Mapping[str, Any] | None = None) -> PipelineConfig:
    """Read the YAML file, apply per-run overrides (DAG params), and validate.

    :param path: the project's configuration file.
    :param overrides: values that win over the file; ``None`` values are ignored so an
        empty field of the trigger form keeps the file's value.
    :raises ConfigError: listing every problem found.
    """
    raw = read_config_file(path)
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = value
    return build_config(raw)


def build_config(raw: Mapping[str, Any]) -> PipelineConfig:
    """Validate a mapping of parameters into a :class:`PipelineConfig`.

    :param raw: parameter name -> value, as in the YAML file, the DAG params or
        :meth:`PipelineConfig.to_dict` (so a task rebuilds the configuration its first task
        checked without reading the file again).
    :raises ConfigError: listing every problem found, each naming the parameter and value.
    """
    try:
        return PipelineConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError([error["msg"] for error in exc.errors()]) from None


#: The JSON-schema keywords a trigger-form param takes from the model: what draws the form's
#: widgets and what Airflow checks at trigger time. Patterns and lengths are left to
#: ``validate_config``, whose messages name the parameter and the value.
_PARAM_KEYWORDS = ("type", "enum", "minItems", "uniqueItems", "format", "title", "description", "section")


def param_specs(defaults: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The trigger form's params, one per parameter of :class:`PipelineConfig`, in its order.

    An array whose items are enumerated gets them as ``examples`` too: Airflow's form draws a
    multi-select only for an array with ``examples`` or ``enum`` of its own.

    :param defaults: parameter name -> default value (the YAML file); a parameter missing from
        it gets the model's default, or ``None``.
    :return: parameter name -> keyword arguments of ``airflow.sdk.Param`` (``default``,
        ``type``, ``enum``/``items``, ``minItems``, ``uniqueItems``, ``examples``, ``format``
        (``multiline`` for JSON text), ``title``, ``description``, ``section``).
    """
    specs: dict[str, dict[str, Any]] = {}
    for name, schema in PipelineConfig.model_json_schema()["properties"].items():
        spec = {"default": defaults.get(name, schema.get("default"))}
        spec.update((k, schema[k]) for k in _PARAM_KEYWORDS if k in schema)
        if "items" in schema:
            spec["items"] = {k: v for k, v in schema["items"].items() if k in ("type", "enum")}
            if "enum" in spec["items"]:
                spec["examples"] = list(spec["items"]["enum"])
        specs[name] = spec
    return specs
