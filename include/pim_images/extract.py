"""Extract stage: image attributes and products from Akeneo to staging files, streaming.

Reads the attribute definitions once and probes which products endpoint the PIM serves
(``/api/rest/v1/products-uuid`` on 7.0 and SaaS, else ``/api/rest/v1/products``,
docs/akeneo.md#versions), then walks it with ``search_after`` pagination (pagination.md
recommends it for large catalogs: its cost does not grow with the page number) and writes one
JSON line per enabled product, keeping only the identifier and the image values of the
configured channel and locales.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.client import PAGE_LIMIT, AkeneoClient, Lister
from pim_images.akeneo.errors import AkeneoNotFoundError
from pim_images.assets import changed_assets, read_asset_families, start_assets, write_assets
from pim_images.config import PipelineConfig
from pim_images.errors import CatalogError
from pim_images.heap import frozen_during
from pim_images.models import (
    axes_of,
    extract_models,
    family_groups,
    read_family_variants,
    read_models,
    root_of,
    select_values,
)
from pim_images.records import (
    Channel,
    Collection,
    ImageAttribute,
    Product,
    ProductModel,
    Structure,
    asset_refs,
)
from pim_images.report import StageSummary
from pim_images.staging import StagingPath
from pim_images.store import StateStore

IMAGE_TYPE = "pim_catalog_image"
IDENTIFIER_TYPE = "pim_catalog_identifier"
#: Product attribute type of asset collections, per asset system (products.md).
COLLECTION_TYPES = {"new": "pim_catalog_asset_collection", "old": "pim_assets_collection"}


@dataclass(frozen=True)
class ExtractSummary(StageSummary):
    """What the extract stage wrote."""

    products: int
    skipped: int
    image_attributes: list[str]
    identifier_attribute: str
    differential: bool
    asset_collections: list[str] = field(default_factory=list)
    assets: int = 0
    product_models: int = 0
    #: differential runs: masters re-exported whole, assets that changed
    masters_refreshed: int = 0
    assets_changed: int = 0
    warnings: list[str] = field(default_factory=list)


#: How far before its data interval a differential run reads (docs/runs.md#differential-import):
#: a change is stamped with the PIM server's clock when it is saved, and becomes visible to the
#: API's search only once indexed; an import job that ran across the interval's end, a slow
#: indexing queue or a skewed clock would otherwise let a change fall between two intervals.
#: Reading it twice only re-exports an unchanged list (idempotent).
OVERLAP = timedelta(minutes=15)


@frozen_during
def extract_catalog(
    client: AkeneoClient,
    config: PipelineConfig,
    run_dir: StagingPath,
    *,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    store: StateStore | None = None,
) -> ExtractSummary:
    """Write ``products.jsonl``, ``models.jsonl`` and ``assets.jsonl`` for this run, from the
    structure ``extract_structure`` staged and ``validate`` checked.

    :param updated_from: with ``updated_to``, the data interval of a differential import
        (docs/runs.md#differential-import): the products, product models and assets updated in
        it (:data:`OVERLAP` earlier), the products of a changed asset (the ``store``'s index)
        and every variant of a master one of whose variants changed, joined or left. ``None``
        reads the whole catalog.
    :param store: the state between runs; a differential run needs it, and is made full when it
        holds no earlier run.
    :raises StagingFileMissing: the structure was not extracted.

    The lists are split by family and asset family, walked with at most
    :attr:`~pim_images.akeneo.client.AkeneoClient.concurrency` calls in flight, and written in
    the order of one walk over each
    (docs/akeneo.md#concurrent-listing).
    """
    with client.lister() as lister:
        return _extract(client, config, run_dir, lister, updated_from, updated_to, store)


def _extract(
    client: AkeneoClient,
    config: PipelineConfig,
    run_dir: StagingPath,
    lister: Lister,
    updated_from: datetime | None,
    updated_to: datetime | None,
    store: StateStore | None,
) -> ExtractSummary:
    structure = records.STRUCTURE.read(run_dir)
    identifier = structure.identifier
    image_attributes = structure.image_attribute_codes
    collections = structure.asset_collections
    family_variants = structure.family_variants
    differential = updated_from is not None and updated_to is not None
    notes: list[str] = []
    if differential and (store is None or store.last_run() is None):
        notes.append("differential import made full: no earlier run is recorded in the state store")
        differential = False
    skipped: list[str] = []
    read = [*image_attributes, *(c.code for c in collections), *axes_of(family_variants)]
    endpoint = structure.products_endpoint or resources.PRODUCTS_UUID

    # the families are listed (a walk of their own, submitted first) while a full run's asset
    # lists ask for what cuts them (a first page per asset family), so no slot waits for them
    # (a PIM that tells its version, 6.0 and later or SaaS, takes updated ranges on assets)
    def family_codes() -> Iterator[tuple[None, Any]]:
        return ((None, family.get("code")) for family in resources.iter_families(client))

    listing = lister.submit([family_codes], merge=False)
    windows = structure.pim_version is not None
    start_asset_walks = None
    if collections and not differential:
        start_asset_walks = start_assets(client, config, run_dir, lister, windows=windows)
    families = [code for code in listing() if isinstance(code, str)]
    # products of each group of families, and those without family (filter.md, "On their family")
    by_family = [resources.family_in(group) for group in family_groups(families, client.concurrency)]
    partitions = [*by_family, resources.FAMILY_EMPTY] if by_family else [{}]

    def products(filters: resources.Filters, codes: list[str] = read) -> Iterator[Product]:
        """The products matching ``filters``, one walk per family group, merged in the order
        one walk would give."""
        walks = [
            functools.partial(_product_walk, client, config, endpoint, identifier, codes, {**filters, **part})
            for part in partitions
        ]
        return _unique(lister.submit(walks, item_type=Product | str)(), skipped)

    def chunked(searches: list[resources.Filters]) -> Iterator[Product]:
        """The products of each search (a page of identifiers or parents at most), one walk each,
        search after search."""
        walks = [
            functools.partial(_product_walk, client, config, endpoint, identifier, read, search)
            for search in searches
        ]
        return _unique(lister.submit(walks, item_type=Product | str, merge=False)(), skipped)

    def extracted(count: int, assets: int, asset_warnings: list[str], **more: Any) -> ExtractSummary:
        return ExtractSummary(
            products=count,
            skipped=len(skipped),
            image_attributes=image_attributes,
            identifier_attribute=identifier,
            asset_collections=[c.code for c in collections],
            assets=assets,
            product_models=models,
            warnings=notes + skipped + asset_warnings,
            **{"differential": False, **more},
        )

    mode: dict[str, Any] = {"full": not differential}
    if not differential:
        # the products' walks first (a family is one walk: the longest), then the models', then
        # the assets' (a large asset family is cut in windows, so the last walks are short): all
        # share the allowance, and each file is written as its lists are read
        listed = products({})
        models = extract_models(client, config, run_dir, read, family_variants, lister, families)
        finish_assets = start_asset_walks() if start_asset_walks else None
        count = records.PRODUCTS.write(run_dir, listed)
        assets = finish_assets() if finish_assets else None
        if assets and config.akeneoAssetSystem == "old":
            records.ASSET_CHECKSUMS.write(run_dir, assets.checksums)
        records.IMPORT_MODE.write(run_dir, mode)
        return extracted(count, assets.assets if assets else 0, assets.warnings if assets else [])
    assert store is not None and updated_from is not None and updated_to is not None
    models = extract_models(client, config, run_dir, read, family_variants, lister, families)
    start, end = updated_from.astimezone(UTC) - OVERLAP, updated_to.astimezone(UTC)
    mode.update(updated_from=start.isoformat(), updated_to=end.isoformat())
    # 1. products updated in the interval
    seen: set[str] = set()
    parents: set[str] = set()

    def tracked(items: Iterator[Product]) -> Iterator[Product]:
        for product in items:
            seen.add(product.identifier)
            if product.parent:
                parents.add(product.parent)
            yield product

    count = records.PRODUCTS.write(run_dir, tracked(products(resources.updated_between(start, end))))
    # 2. assets updated in the interval, and the delivered products that reference them
    changed = (
        changed_assets(client, config, run_dir, collections, start, store, lister) if collections else None
    )
    indexed = store.products_of_assets(changed.keys) if changed else {}
    # 3. simple products of a changed asset (one may have become a variant since: its master too)
    simple = sorted(ref for ref, kind in indexed.items() if kind == "simple" and ref not in seen)
    by_identifier = [resources.identifier_in(identifier, chunk) for chunk in _chunks(simple, PAGE_LIMIT)]
    extra = list(tracked(chunked(by_identifier)))
    # 4. masters: of a changed product or model, of a changed asset, and those whose variants
    #    are no longer the ones last delivered (a variant joined, left, was disabled or deleted)
    model_records = read_models(run_dir)
    parent_lists = resources.takes_parent_lists(endpoint)
    moved, current = _masters_whose_variants_changed(products, identifier, model_records, store, parent_lists)
    roots = {ref for ref, kind in indexed.items() if kind == "master"} | moved
    roots |= {root_of(code, model_records) for code in parents if code in model_records}
    roots |= {
        root_of(code, model_records)
        for code, m in model_records.items()
        if m.updated and start <= _parse(m.updated) <= end
    }
    if parent_lists:
        codes = sorted(code for code in model_records if root_of(code, model_records) in roots)
        by_parent = [resources.parent_in(chunk) for chunk in _chunks(codes, PAGE_LIMIT)]
    else:
        # before 7.0 no parent list filter (docs/akeneo.md#search-filters-per-version): the
        # masters' variants as the walk above found them, by identifier
        variants = sorted({ref for root in roots for ref in current.get(root, ())} - seen)
        by_parent = [resources.identifier_in(identifier, chunk) for chunk in _chunks(variants, PAGE_LIMIT)]
    more = (r for r in chunked(by_parent) if r.identifier not in seen)
    count += records.MASTER_PRODUCTS.write(run_dir, itertools.chain(extra, more))
    # 5. the assets the products of this run reference, changed or not
    assets_read = 0
    asset_warnings: list[str] = []
    if collections and changed:
        levels = [m.values for code, m in model_records.items() if root_of(code, model_records) in roots]
        staged = (p.values for p in records.iter_products(run_dir))
        needed = {key for _, key in asset_refs([*levels, *staged], collections)}
        summary = write_assets(client, config, run_dir, changed, needed, structure.products_endpoint, lister)
        assets_read, asset_warnings = summary.assets, summary.warnings
        if config.akeneoAssetSystem == "old":
            records.ASSET_CHECKSUMS.write(run_dir, summary.checksums)
    records.IMPORT_MODE.write(run_dir, mode)
    return extracted(
        count,
        assets_read,
        asset_warnings,
        differential=True,
        masters_refreshed=len(roots),
        assets_changed=len(changed.keys) if changed else 0,
    )


def _masters_whose_variants_changed(
    products: Callable[..., Iterator[Product]],
    identifier: str,
    models: dict[str, ProductModel],
    store: StateStore,
    parent_lists: bool = True,
) -> tuple[set[str], dict[str, set[str]]]:
    """Masters whose enabled variants now differ from those last delivered (the state store),
    and each master's current enabled variants (master code -> identifiers): one walk over the
    variant products, their identifier and parent only (no other attribute).

    :param parent_lists: the PIM filters products on ``parent NOT EMPTY`` (7.0 and SaaS,
        :func:`~pim_images.akeneo.resources.takes_parent_lists`); else the walk is over every
        product, and keeps those with a parent (docs/akeneo.md#search-filters-per-version).
    """
    current: dict[str, set[str]] = {}
    for product in products(resources.VARIANTS_ONLY if parent_lists else {}, []):
        if product.parent in models:
            current.setdefault(root_of(product.parent, models), set()).add(product.identifier)
    delivered = store.master_variants()
    moved = {
        master
        for master in set(current) | set(delivered)
        if master in models and current.get(master, set()) != delivered.get(master, set())
    }
    return moved, current


@dataclass(frozen=True)
class StructureSummary(StageSummary):
    """What the structure extraction staged (the validate stage checks it)."""

    image_attributes: list[str]
    asset_collections: list[str]
    identifier_attribute: str
    family_variants: int
    asset_families: int
    #: the products endpoint the probe found (docs/akeneo.md#versions)
    products_endpoint: str
    #: the PIM's version and edition, where it tells them (PIM >= 6.0, SaaS)
    pim_version: str | None = None
    pim_edition: str | None = None
    warnings: list[str] = field(default_factory=list)


def extract_structure(client: AkeneoClient, config: PipelineConfig, run_dir: StagingPath) -> StructureSummary:
    """Write the :class:`~pim_images.records.Structure` (image, identifier and collection
    attributes, the channel and the enabled locales, the family variants) and the asset
    families' structure: what the validate stage checks before any product, asset or media is
    read.

    :raises CatalogError: a configured image attribute is missing or not an image attribute.
    """
    collection_type = COLLECTION_TYPES[config.akeneoAssetSystem]
    warnings: list[str] = []
    endpoint = products_endpoint(client)
    version, edition = _system_information(client)
    attributes = _read_attributes(client, collection_type)
    image_attributes: list[str] = []
    if config.reads_images:
        attributes |= _configured_non_images(client, attributes, config.akeneoImageAttributes)
        image_attributes = order_image_attributes(attributes, config.akeneoImageAttributes)
    collections = asset_collections(attributes, collection_type) if config.reads_assets else []
    identifier = _identifier_attribute(attributes)
    family_variants = read_family_variants(client, warnings)
    axes = axes_of(family_variants)
    axis_types = {a["code"]: a.get("type") for a in resources.iter_attributes_by_code(client, axes)}
    families = [c.family for c in collections if c.family]
    asset_families = read_asset_families(client, families) if families else {}
    records.ASSET_FAMILIES.write(run_dir, asset_families)
    records.STRUCTURE.write(
        run_dir,
        Structure(
            identifier=identifier,
            image_attributes=[_attribute_record(attributes[code]) for code in image_attributes],
            asset_collections=collections,
            channel=_channel(client, config.akeneoScope),
            enabled_locales=_enabled_locales(client),
            family_variants=family_variants,
            asset_system_available=asset_system_available(client, config) if config.reads_assets else None,
            products_endpoint=endpoint,
            pim_version=version,
            pim_edition=edition,
            axis_types={code: kind for code, kind in axis_types.items() if isinstance(kind, str)},
        ),
    )
    return StructureSummary(
        image_attributes=image_attributes,
        asset_collections=[c.code for c in collections],
        identifier_attribute=identifier,
        family_variants=len(family_variants),
        asset_families=len(asset_families),
        products_endpoint=endpoint,
        pim_version=version,
        pim_edition=edition,
        warnings=warnings,
    )


def products_endpoint(client: AkeneoClient) -> str:
    """The products endpoint this PIM serves (docs/akeneo.md#versions): ``products-uuid`` where
    present (7.0, SaaS), else ``products`` (by identifier, every version before SaaS).

    :raises CatalogError: the PIM serves neither (both answered 404): the connection's URL is
        not an Akeneo PIM's, or its API is not reachable there. Not retried: a retry would get
        the same answers.
    """
    answers = []
    for endpoint in resources.PRODUCTS_ENDPOINTS:
        try:
            resources.probe_products(client, endpoint)
        except AkeneoNotFoundError as error:
            answers.append(str(error))
            continue
        return endpoint
    raise CatalogError(
        [
            "Akeneo serves no products endpoint (PIM 7.0 and SaaS serve "
            f"{resources.PRODUCTS_UUID}, earlier versions {resources.PRODUCTS_BY_IDENTIFIER}): "
            + "; ".join(answers)
            + " (check that the connection's host is the PIM's base URL)"
        ]
    )


def _system_information(client: AkeneoClient) -> tuple[str | None, str | None]:
    """The PIM's version and edition where it tells them (PIM >= 6.0 and SaaS), else ``None``."""
    try:
        information = resources.get_system_information(client)
    except AkeneoNotFoundError:
        return None, None
    version, edition = information.get("version"), information.get("edition")
    return (
        version if isinstance(version, str) else None,
        edition if isinstance(edition, str) else None,
    )


def asset_system_available(client: AkeneoClient, config: PipelineConfig) -> bool:
    """Whether the PIM serves the configured asset system: a 3.x PIM has no Asset Manager and
    a 4.0+ PIM no PAM; without this probe the run would find no collection attribute of the
    configured type and silently deliver no asset images."""
    try:
        resources.probe_asset_system(client, config.akeneoAssetSystem)
    except AkeneoNotFoundError:
        return False
    return True


def asset_collections(attributes: dict[str, dict[str, Any]], collection_type: str) -> list[Collection]:
    """The product's asset collection attributes, by ``sort_order`` then code
    (docs/akeneo.md#asset-collections), with their ``localizable``/``scopable`` flags for the validate
    stage."""
    found = sorted(
        (a for a in attributes.values() if a.get("type") == collection_type),
        key=lambda a: (a.get("sort_order") or 0, a["code"]),
    )
    # PAM assets have no families (their attributes' reference_data_name is just "assets")
    new_system = collection_type == COLLECTION_TYPES["new"]
    return [
        Collection(
            code=a["code"],
            family=a.get("reference_data_name") if new_system else None,
            localizable=bool(a.get("localizable")),
            scopable=bool(a.get("scopable")),
        )
        for a in found
    ]


def order_image_attributes(attributes: dict[str, dict[str, Any]], configured: tuple[str, ...]) -> list[str]:
    """The image attributes to read, in order (docs/akeneo.md#image-attributes).

    The configured order when one is given, else each attribute's ``sort_order``, then code.

    :raises CatalogError: naming every configured code that is unknown or not an image attribute.
    """
    if configured:
        problems = []
        for code in configured:
            if code not in attributes:
                problems.append(f"akeneoImageAttributes: attribute {code!r} does not exist in Akeneo")
            elif attributes[code].get("type") != IMAGE_TYPE:
                problems.append(
                    f"akeneoImageAttributes: attribute {code!r} is of type "
                    f"{attributes[code].get('type')!r}, not {IMAGE_TYPE}"
                )
        if problems:
            raise CatalogError(problems)
        return list(configured)
    images = [a for a in attributes.values() if a.get("type") == IMAGE_TYPE]
    return [a["code"] for a in sorted(images, key=lambda a: (a.get("sort_order") or 0, a["code"]))]


def _read_attributes(client: AkeneoClient, collection_type: str) -> dict[str, dict[str, Any]]:
    types = [IMAGE_TYPE, IDENTIFIER_TYPE, collection_type]
    items = resources.iter_attributes(client, types)
    return {item["code"]: item for item in items if "code" in item}


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _channel(client: AkeneoClient, code: str) -> Channel | None:
    """The configured channel (its locales), or ``None`` when Akeneo has no such channel."""
    try:
        channel = resources.get_channel(client, code)
    except AkeneoNotFoundError:
        return None
    return Channel(code=channel.get("code", code), locales=list(channel.get("locales") or []))


def _enabled_locales(client: AkeneoClient) -> list[str]:
    return sorted(item["code"] for item in resources.iter_enabled_locales(client))


def _configured_non_images(
    client: AkeneoClient, known: dict[str, dict[str, Any]], configured: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Read the configured codes that are not image attributes, to say what they are instead."""
    found = {}
    for code in configured:
        if code not in known:
            try:
                found[code] = resources.get_attribute(client, code)
            except AkeneoNotFoundError:
                continue
    return found


def _identifier_attribute(attributes: dict[str, dict[str, Any]]) -> str:
    """The main identifier attribute: its value is the product's SKU (filter.md, main identifier)."""
    identifiers = [a for a in attributes.values() if a.get("type") == IDENTIFIER_TYPE]
    main = [a for a in identifiers if a.get("is_main_identifier")] or identifiers
    if not main:
        raise CatalogError([f"Akeneo has no attribute of type {IDENTIFIER_TYPE}; products cannot be named"])
    return sorted(main, key=lambda a: a["code"])[0]["code"]


def _attribute_record(attribute: dict[str, Any]) -> ImageAttribute:
    return ImageAttribute(
        code=attribute["code"],
        localizable=bool(attribute.get("localizable")),
        scopable=bool(attribute.get("scopable")),
        sort_order=attribute.get("sort_order") or 0,
    )


def _product_walk(
    client: AkeneoClient,
    config: PipelineConfig,
    endpoint: str,
    identifier: str,
    attribute_codes: list[str],
    filters: resources.Filters,
) -> Iterator[tuple[str, Product | str]]:
    """One walk of the products matching ``filters``: ``(sort key, product)``, or ``(sort key,
    warning)`` for a product without identifier. The key is the order the PIM walks them in:
    the uuid on ``products-uuid``, the identifier on ``products`` (whose items have no uuid
    before 7.0)."""
    products = resources.iter_products(
        client,
        endpoint=endpoint,
        scope=config.akeneoScope,
        locales=config.akeneoLocales,
        attributes=[identifier, *attribute_codes],
        filters=filters,
    )
    scope, locales = config.akeneoScope, config.akeneoLocales
    by_uuid = endpoint == resources.PRODUCTS_UUID
    for product in products:
        values = product.get("values") or {}  # [] on PIMs before 4.0 when empty
        sku = _identifier_of(product, values, identifier)
        key = str(product.get("uuid") or "") if by_uuid else (sku or "")
        if not sku:
            yield key, f"product {product.get('uuid')!r} has no {identifier!r} value; skipped"
            continue
        yield (
            key,
            Product(
                uuid=product.get("uuid"),
                identifier=sku,
                family=product.get("family"),
                parent=product.get("parent"),
                values={
                    code: selected
                    for code in attribute_codes
                    if (selected := select_values(values.get(code) or [], scope, locales))
                },
            ),
        )


def _unique(listed: Iterator[Product | str], skipped: list[str]) -> Iterator[Product]:
    """The products of one list, each once: a warning of the walk goes to ``skipped``, as does
    a product answered twice (a page shifted under the walk, a PIM bug: two products of one id
    downstream would split its rows in two blocks, docs/bad-input.md#what-is-skipped)."""
    seen: set[str] = set()
    for product in listed:
        if isinstance(product, str):
            skipped.append(product)
            continue
        if product.identifier in seen:
            skipped.append(
                f"product {product.identifier!r} was answered twice by Akeneo; the second is skipped"
            )
            continue
        seen.add(product.identifier)
        yield product


def _identifier_of(product: dict[str, Any], values: dict[str, Any], identifier: str) -> str | None:
    """The SKU: the main identifier's value; older PIMs also give it as ``identifier``."""
    for value in values.get(identifier) or []:
        if value.get("data"):
            return str(value["data"])
    return product.get("identifier") or None
