"""Validate stage: the connector's rules on the extracted catalog structure, before any
download, rendering or delivery.

Each rule returns every offender (not only the first), by code and value. Errors stop the run
(:class:`~pim_images.errors.CatalogError`, not retried by the DAG); the run report
(:mod:`pim_images.report`) keeps them, so the task log and ``report.json`` say which code or
value to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pim_images import records
from pim_images.akeneo import resources
from pim_images.config import PipelineConfig
from pim_images.errors import CatalogError
from pim_images.records import AssetFamily, Structure
from pim_images.report import StageSummary
from pim_images.staging import StagingPath


@dataclass(frozen=True)
class ValidationSummary(StageSummary):
    errors: list[str] = field(default_factory=list)
    rules: int = 0


def collections_not_localizable(structure: Structure) -> list[str]:
    """Asset collection attributes must be neither localizable nor scopable: the connector
    reads locales and channels from the asset values (connector documentation)."""
    return [
        f"asset collection attribute {c.code!r} is "
        + " and ".join(k for k in ("localizable", "scopable") if getattr(c, k))
        + "; it must be neither (the locale and channel are read from the asset values)"
        for c in structure.asset_collections
        if c.localizable or c.scopable
    ]


def scope_and_locales(structure: Structure, config: PipelineConfig) -> list[str]:
    """``akeneoScope`` must be a channel of the PIM, and every ``akeneoLocales`` entry an
    enabled locale of that channel (values in other locales would never be found)."""
    channel = structure.channel
    if channel is None:
        return [f"akeneoScope: channel {config.akeneoScope!r} does not exist in Akeneo"]
    enabled = set(structure.enabled_locales)
    problems = []
    for locale in config.akeneoLocales:
        if locale not in enabled:
            problems.append(f"akeneoLocales: locale {locale!r} is not an enabled locale of Akeneo")
        elif locale not in channel.locales:
            problems.append(
                f"akeneoLocales: locale {locale!r} is not a locale of channel {config.akeneoScope!r} "
                f"(its locales: {', '.join(channel.locales)})"
            )
    return problems


def link_mapping(families: dict[str, AssetFamily | None], config: PipelineConfig) -> list[str]:
    """Each attribute of ``akeneoImageLinkViewTypesMapping`` must be a ``media_link``
    attribute of every asset family a collection uses (the connector requires the same code
    in every family)."""
    if not (config.reads_assets and config.asset_links_as_images):
        return []
    return _mapped_attributes(
        families, "akeneoImageLinkViewTypesMapping", list(config.link_view_types_mapping), ("media_link",)
    )


def file_mapping(families: dict[str, AssetFamily | None], config: PipelineConfig) -> list[str]:
    """Each attribute of ``akeneoImageFileViewTypesMapping`` must be a ``media_file`` attribute
    of some asset family, and of that type wherever it exists: as the connector, a family
    without it gives no rendition (docs/configuration.md#akeneoimagefileviewtypesmapping)."""
    if not (config.reads_assets and config.asset_files):
        return []
    return _mapped_attributes(
        families,
        "akeneoImageFileViewTypesMapping",
        list(config.file_view_types_mapping),
        ("media_file",),
        everywhere=False,
    )


def metadata_mapping(families: dict[str, AssetFamily | None], config: PipelineConfig) -> list[str]:
    """Each attribute of ``akeneoImageMetadataMapping`` must be a ``text`` attribute of some
    asset family, and of that type wherever it exists: as the connector, images of a family
    without it have no text (docs/configuration.md#akeneoimagemetadatamapping)."""
    if not config.reads_assets:
        return []
    attributes = list(dict.fromkeys(config.metadata_mapping.values()))
    return _mapped_attributes(families, "akeneoImageMetadataMapping", attributes, ("text",), everywhere=False)


def _mapped_attributes(
    families: dict[str, AssetFamily | None],
    parameter: str,
    attributes: list[str],
    types: tuple[str, ...],
    everywhere: bool = True,
) -> list[str]:
    """Every attribute a mapping names must be of one of ``types`` where it exists, and exist in
    every asset family (``everywhere``) or in one at least."""
    problems = []
    known = {f: {a.code: a.type for a in s.attributes} for f, s in sorted(families.items()) if s is not None}
    for attribute in attributes:
        if not everywhere and known and not any(attribute in kinds for kinds in known.values()):
            problems.append(f"{parameter}: no asset family has an attribute {attribute!r}")
        for family, kinds in known.items():
            kind = kinds.get(attribute)
            if kind is None:
                if everywhere:
                    problems.append(f"{parameter}: asset family {family!r} has no attribute {attribute!r}")
            elif kind not in types:
                problems.append(
                    f"{parameter}: attribute {attribute!r} of asset family {family!r} "
                    f"is of type {kind!r}, not {' or '.join(types)}"
                )
    return problems


ASSET_SYSTEM_NAMES = {
    "new": ("Asset Manager", "it exists on PIM >= 4.0; a 3.x PIM's PAM is akeneoAssetSystem 'old'"),
    "old": ("PAM", "it exists on PIM < 4.0 only; the Asset Manager is akeneoAssetSystem 'new'"),
}


def asset_system_exists(structure: Structure, config: PipelineConfig) -> list[str]:
    """The configured asset system must be served by the PIM (a required endpoint)."""
    if structure.asset_system_available is not False:
        return []
    name, hint = ASSET_SYSTEM_NAMES[config.akeneoAssetSystem]
    return [
        f"akeneoAssetSystem {config.akeneoAssetSystem!r}: this PIM has no {name} "
        f"(GET {resources.ASSET_SYSTEM_PATHS[config.akeneoAssetSystem]} answered 404); {hint}"
    ]


#: The attribute type each asset system's collections have (catalog-structure, pam.md).
COLLECTION_TYPES = {"new": "pim_catalog_asset_collection", "old": "pim_assets_collection"}


def something_to_read(structure: Structure, config: PipelineConfig) -> list[str]:
    """The configured image type must find something to read on this PIM: image attributes
    (``pim_catalog_image``) for ``images``, asset collection attributes of the configured asset
    system for ``assets``, either for ``both`` (docs/configuration.md#akeneoimagetype). A run
    with nothing to read would deliver every product without images, and an empty
    ``merge-mode="replace"`` image list deletes a product's images in SFCC
    (docs/sfcc.md#merge-mode-replace).

    Silent when the asset system itself is missing: :func:`asset_system_exists` names that.
    """
    if config.reads_assets and structure.asset_system_available is False:
        return []
    images = not config.reads_images or bool(structure.image_attributes)
    assets = not config.reads_assets or bool(structure.asset_collections)
    if config.akeneoImageType == "both" and (structure.image_attributes or structure.asset_collections):
        return []
    if images and assets:
        return []
    system = config.akeneoAssetSystem
    collections = (
        f"asset collection attribute (type {COLLECTION_TYPES[system]}, akeneoAssetSystem {system!r})"
    )
    other_system = "old" if system == "new" else "new"
    kind = config.akeneoImageType
    if kind == "images":
        return [
            "akeneoImageType 'images': this PIM has no image attribute (type pim_catalog_image) "
            "to read; if its product images are in asset collections, set akeneoImageType 'assets'"
        ]
    if kind == "assets":
        return [
            f"akeneoImageType 'assets': this PIM has no {collections} to read; set akeneoImageType "
            f"'images' for image attributes, or akeneoAssetSystem {other_system!r} if the PIM has "
            "the other asset system"
        ]
    return [
        f"akeneoImageType 'both': this PIM has neither an image attribute (type pim_catalog_image) "
        f"nor an {collections} to read; check akeneoAssetSystem ({other_system!r} for the other "
        "asset system) and the API user's permissions on attributes"
    ]


def asset_families_exist(structure: Structure, families: dict[str, AssetFamily | None]) -> list[str]:
    """Every asset family a collection attribute names (its ``reference_data_name``) exists."""
    return [
        f"asset collection attribute {c.code!r}: asset family {c.family!r} does not exist in Akeneo"
        for c in structure.asset_collections
        if c.family and c.family in families and families[c.family] is None
    ]


def validate_catalog(config: PipelineConfig, run_dir: StagingPath) -> ValidationSummary:
    """Run every rule on the staged structure.

    :raises CatalogError: listing every error found.
    :raises StagingFileMissing: the structure was not extracted.
    """
    structure = records.STRUCTURE.read(run_dir)
    families = records.ASSET_FAMILIES.read(run_dir) if records.ASSET_FAMILIES.exists(run_dir) else {}
    rules = [
        asset_system_exists(structure, config),
        something_to_read(structure, config),
        collections_not_localizable(structure),
        asset_families_exist(structure, families),
        scope_and_locales(structure, config),
        link_mapping(families, config),
        file_mapping(families, config),
        metadata_mapping(families, config),
    ]
    errors = [problem for rule in rules for problem in rule]
    if errors:
        raise CatalogError(errors)
    return ValidationSummary(errors=[], rules=len(rules))
