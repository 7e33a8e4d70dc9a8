"""Pipeline configuration (spec §1): one YAML file in the project, overridable per run.

The parameter names are the SFCC Akeneo connector's, so that its users recognise them.
Every JSON-typed field is parsed here, before any extraction, and every problem found is
reported at once: a user fixing a configuration should not discover errors one run at a time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from pim_images.errors import ConfigError

IMAGE_TYPES = ("images", "assets", "both")
ASSET_SYSTEMS = ("new", "old")
IMAGE_IMPORT_TYPES = ("media_file", "media_link", "both")
TARGETS = ("sfcc", "bspk")
IMPORT_MODES = ("full", "differential")

#: The view type used when ``akeneoImageViewTypes`` is ``{ }`` (feature off): SFCC needs a
#: view type on every image group, so the images still go somewhere predictable.
DEFAULT_VIEW_TYPE = "original"

#: Parameters whose change since the last successful run forces a full import (spec §5).
IMAGE_PARAMETERS = (
    "akeneoImageType",
    "akeneoAssetSystem",
    "akeneoImageImportType",
    "akeneoImageViewTypes",
    "akeneoImageLinkViewTypesMapping",
    "akeneoExternalImageLocation",
    "akeneoScope",
    "akeneoLocales",
    "akeneoImageAttributes",
    "sfccCatalogId",
)

_CODE = re.compile(r"^[A-Za-z0-9_]+$")
_VIEW_TYPE = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class PipelineConfig:
    """The validated configuration of one run; JSON fields are already parsed.

    Raw values keep the connector's names (``akeneoImageViewTypes`` stays JSON text) so the
    fingerprint and the run report show what the user typed; parsed forms are the
    snake_case properties.
    """

    akeneoImageType: str
    akeneoAssetSystem: str
    akeneoImageImportType: str
    akeneoImageViewTypes: str
    akeneoImageLinkViewTypesMapping: str
    akeneoExternalImageLocation: str
    akeneoScope: str
    akeneoLocales: tuple[str, ...]
    akeneoImageAttributes: tuple[str, ...]
    sfccCatalogId: str
    targets: tuple[str, ...]
    importMode: str
    sfccRemoteDir: str
    bspkRemoteDir: str
    view_types: tuple[str, ...] = field(default=(), compare=False)
    link_view_types_mapping: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    @property
    def reads_images(self) -> bool:
        """``pim_catalog_image`` attributes are read (spec §1, akeneoImageType)."""
        return self.akeneoImageType in ("images", "both")

    @property
    def reads_assets(self) -> bool:
        """Asset collection attributes are read (spec §1, akeneoImageType)."""
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
        """Asset links go to product custom attributes (``both``, Asset Manager; spec §3)."""
        return self.akeneoAssetSystem == "new" and self.akeneoImageImportType == "both"

    @property
    def image_view_types(self) -> tuple[str, ...]:
        """View types every image file goes to; the default one when the feature is off."""
        return self.view_types or (DEFAULT_VIEW_TYPE,)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form with the connector's names only (for reports and XCom)."""
        raw = asdict(self)
        raw.pop("view_types")
        raw.pop("link_view_types_mapping")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}

    def fingerprint(self) -> str:
        """Hash of the image-related parameters: a change means the next run must be full."""
        image_part = {k: v for k, v in self.to_dict().items() if k in IMAGE_PARAMETERS}
        return hashlib.sha256(json.dumps(image_part, sort_keys=True).encode()).hexdigest()


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

    :raises ConfigError: listing every problem found, each naming the parameter and value.
    """
    problems: list[str] = []
    for key in sorted(set(raw) - _PARAMETER_NAMES):
        problems.append(f"unknown parameter {key!r} (known: {', '.join(sorted(_PARAMETER_NAMES))})")

    def enum(name: str, allowed: tuple[str, ...]) -> str:
        value = raw.get(name)
        if value not in allowed:
            problems.append(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        return str(value)

    def text(name: str) -> str:
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: a non-empty text is required, got {value!r}")
            return ""
        return value.strip()

    def code(name: str) -> str:
        value = text(name)
        if value and not _CODE.match(value):
            problems.append(f"{name}: {value!r} is not an Akeneo code (letters, digits, underscores)")
        return value

    def codes(name: str, *, allow_empty: bool) -> tuple[str, ...]:
        value = raw.get(name, [])
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{name}: a list of codes is required, got {value!r}")
            return ()
        if not value and not allow_empty:
            problems.append(f"{name}: at least one value is required")
        for bad in (v for v in value if not _CODE.match(v)):
            problems.append(f"{name}: {bad!r} is not an Akeneo code (letters, digits, underscores)")
        return tuple(value)

    image_type = enum("akeneoImageType", IMAGE_TYPES)
    asset_system = enum("akeneoAssetSystem", ASSET_SYSTEMS)
    import_type = enum("akeneoImageImportType", IMAGE_IMPORT_TYPES)
    import_mode = enum("importMode", IMPORT_MODES)
    view_types_text = raw.get("akeneoImageViewTypes", "{ }")
    view_types = _parse_view_types(view_types_text, problems)
    mapping_text = raw.get("akeneoImageLinkViewTypesMapping", "{ }")
    mapping = _parse_link_mapping(mapping_text, problems)
    location = str(raw.get("akeneoExternalImageLocation") or "")
    if location and not _is_http_url(location):
        problems.append(f"akeneoExternalImageLocation: {location!r} is not an absolute http(s) URL")
    if location and not location.endswith("/"):
        location += "/"
    targets = codes("targets", allow_empty=False)
    for bad in (t for t in targets if t not in TARGETS):
        problems.append(f"targets: {bad!r} is not one of {', '.join(TARGETS)}")
    if "bspk" in targets and not location:
        problems.append("akeneoExternalImageLocation: required to give BSPK public image URLs")
    if not location and image_type != "images" and asset_system == "new" and import_type != "media_file":
        problems.append(
            "akeneoExternalImageLocation: required when links are imported "
            f"(akeneoImageImportType {import_type!r})"
        )
    config = PipelineConfig(
        akeneoImageType=image_type,
        akeneoAssetSystem=asset_system,
        akeneoImageImportType=import_type,
        akeneoImageViewTypes=str(view_types_text),
        akeneoImageLinkViewTypesMapping=str(mapping_text),
        akeneoExternalImageLocation=location,
        akeneoScope=code("akeneoScope"),
        akeneoLocales=codes("akeneoLocales", allow_empty=False),
        akeneoImageAttributes=codes("akeneoImageAttributes", allow_empty=True),
        sfccCatalogId=_catalog_id(raw.get("sfccCatalogId"), problems),
        targets=targets,
        importMode=import_mode,
        sfccRemoteDir=_remote_dir("sfccRemoteDir", raw.get("sfccRemoteDir"), problems),
        bspkRemoteDir=_remote_dir("bspkRemoteDir", raw.get("bspkRemoteDir"), problems),
        view_types=view_types,
        link_view_types_mapping=mapping,
    )
    if problems:
        raise ConfigError(problems)
    return config


_PARAMETER_NAMES = frozenset(
    name
    for name in PipelineConfig.__dataclass_fields__
    if name not in ("view_types", "link_view_types_mapping")
)


def _json_object(name: str, value: Any, problems: list[str]) -> dict[str, Any] | None:
    """Parse a JSON-text parameter, saying where it breaks (line and column) when it does."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        problems.append(f"{name}: JSON text is required, got {value!r}")
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        problems.append(
            f"{name}: not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}): {value!r}"
        )
        return None
    if not isinstance(parsed, dict):
        problems.append(f"{name}: a JSON object is required, got {value!r}")
        return None
    return parsed


def _parse_view_types(value: Any, problems: list[str]) -> tuple[str, ...]:
    """``{"view-types": [..]}``; ``{ }`` turns the feature off (connector documentation)."""
    name = "akeneoImageViewTypes"
    parsed = _json_object(name, value, problems)
    if not parsed:
        return ()
    extra = sorted(set(parsed) - {"view-types"})
    if extra:
        problems.append(f"{name}: unknown key(s) {', '.join(map(repr, extra))}; expected only 'view-types'")
    if "view-types" not in parsed:
        problems.append(f'{name}: "view-types" is missing (e.g. {{"view-types": ["large", "small"]}})')
        return ()
    items = parsed.get("view-types")
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        problems.append(f'{name}: "view-types" must be a non-empty list of texts, got {json.dumps(items)}')
        return ()
    for bad in (v for v in items if not _VIEW_TYPE.match(v)):
        problems.append(f"{name}: view type {bad!r} may hold only letters, digits, '_' and '-'")
    if len(set(items)) != len(items):
        problems.append(f"{name}: view types are repeated in {items!r}")
    return tuple(items)


def _parse_link_mapping(value: Any, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """Asset attribute code -> list of SFCC view types (connector documentation)."""
    name = "akeneoImageLinkViewTypesMapping"
    parsed = _json_object(name, value, problems)
    if not parsed:
        return {}
    mapping: dict[str, tuple[str, ...]] = {}
    for attribute, view_types in parsed.items():
        if not _CODE.match(attribute):
            problems.append(f"{name}: {attribute!r} is not an asset attribute code")
        if (
            not isinstance(view_types, list)
            or not view_types
            or not all(isinstance(v, str) and _VIEW_TYPE.match(v) for v in view_types)
        ):
            problems.append(
                f"{name}: {attribute!r} must map to a non-empty list of view types, got {view_types!r}"
            )
            continue
        mapping[attribute] = tuple(view_types)
    return mapping


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _catalog_id(value: Any, problems: list[str]) -> str:
    """SFCC catalog ids are non-empty strings of at most 256 characters (catalog.xsd)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        problems.append(f"sfccCatalogId: a text of 1-256 characters is required, got {value!r}")
        return ""
    if not re.match(r"^[A-Za-z0-9._\-]+$", value):
        problems.append(f"sfccCatalogId: {value!r} may hold only letters, digits, '.', '_' and '-'")
    return value


def _remote_dir(name: str, value: Any, problems: list[str]) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        problems.append(f"{name}: an absolute remote folder is required, got {value!r}")
        return "/"
    if ".." in value.split("/"):
        problems.append(f"{name}: {value!r} must not contain '..'")
    return value.rstrip("/") or "/"
