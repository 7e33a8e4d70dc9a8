"""Deterministic, lazily generated Akeneo catalog for the sandbox server.

The catalog is what a real Akeneo 7 PIM would hold for the parts the pipeline reads: channels, locales,
attributes, families, products (``products-uuid`` resources) and product media files with real image bytes.

Nothing is stored per product. Each product is derived from ``(seed, index)`` when asked for, and media
bytes are rendered with Pillow on demand and kept in a small LRU cache bounded in bytes, so memory stays flat
whether the catalog has 300 or 100,000 products. The same ``(products, seed)`` always gives byte-identical
products and media (with the same Pillow build).

:class:`SandboxCatalog` is the one entry point; each resource lives in its own module, whose docstring gives
its rules and pinned edge cases:

- :mod:`~pim_sandbox.catalog.structure`: channels, locales, categories, attributes, families, family variants;
- :mod:`~pim_sandbox.catalog.products`: products (simple and variant) and their media values;
- :mod:`~pim_sandbox.catalog.models`: product models, their levels and variant products;
- :mod:`~pim_sandbox.catalog.assets`: what both asset systems share (the assets a product owns, collections);
- :mod:`~pim_sandbox.catalog.asset_manager`: Asset Manager families, attributes, assets and media files;
- :mod:`~pim_sandbox.catalog.pam`: PAM assets, reference files and variation files;
- :mod:`~pim_sandbox.catalog.media`: rendering of binaries, media codes, the bounded media cache;
- :mod:`~pim_sandbox.catalog.common`: the seeded dice, dates and locales they all use;
- :mod:`~pim_sandbox.catalog.versions`: the Akeneo version the PIM is (its endpoints and shapes);
- :mod:`~pim_sandbox.catalog.hostile`: text files cannot carry, where Akeneo lets it in (``hostile_*``);
- :mod:`~pim_sandbox.catalog.changes`: changes users made since generation (:attr:`SandboxCatalog.changes`:
  a product's status, parent or values, a model's or an asset's values, a deletion), none by default.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Collection, Iterator, Mapping
from typing import Any, Literal

from pim_sandbox.catalog import hostile
from pim_sandbox.catalog.asset_manager import ASSET_LINK_PREFIX, ASSET_MEDIA_PATH, AssetManagerAssets
from pim_sandbox.catalog.assets import AssetHeader, Assets
from pim_sandbox.catalog.changes import CatalogChanges
from pim_sandbox.catalog.common import ASSET_SYSTEMS, AssetSystem
from pim_sandbox.catalog.media import MEDIA_DOWNLOAD_PATH, MediaFile, MediaRenderer, sanitize_filename
from pim_sandbox.catalog.models import ModelHeader, ProductModels, _variants_before
from pim_sandbox.catalog.pam import PAM_NO_LOCALE, PAM_REFERENCE_PATH, PAM_VARIATION_PATH, PamAssets
from pim_sandbox.catalog.products import _MAX_PRODUCTS, ProductHeader, Products
from pim_sandbox.catalog.structure import DEFECTS, CatalogStructure
from pim_sandbox.catalog.versions import PROFILES, AkeneoProfile, resolve_profile

__all__ = [
    "ASSET_LINK_PREFIX",
    "ASSET_MEDIA_PATH",
    "ASSET_SYSTEMS",
    "DEFECTS",
    "MEDIA_DOWNLOAD_PATH",
    "PAM_NO_LOCALE",
    "PAM_REFERENCE_PATH",
    "PAM_VARIATION_PATH",
    "PROFILES",
    "AkeneoProfile",
    "AssetHeader",
    "AssetSystem",
    "MediaFile",
    "ModelHeader",
    "ProductHeader",
    "SandboxCatalog",
    "generate_catalog",
    "sanitize_filename",
]


class SandboxCatalog:
    """A generated Akeneo catalog; build it with :func:`generate_catalog`.

    A facade over the resource modules (module docstring): it checks the arguments, builds the parts and
    answers for them.

    Structure resources (:attr:`channels`, :attr:`locales`, :attr:`attributes`, :attr:`families`,
    :attr:`categories`) are read-only mappings from code to the resource as the Akeneo API returns it
    (without ``_links``), ordered by code as Akeneo lists them; treat them as read-only. Products and media
    are computed on demand.

    Assets (see :mod:`~pim_sandbox.catalog.assets`) are computed on demand too: :attr:`asset_system` says
    which system the PIM has, :attr:`asset_families` and :meth:`asset_attributes` give the Asset Manager
    structure, :meth:`iter_asset_headers`, :meth:`iter_assets` and :meth:`asset` the assets,
    :meth:`asset_media`, :meth:`pam_file` and :meth:`asset_files` their binaries, :meth:`product_asset_codes`
    the collections.

    Product models (see :mod:`~pim_sandbox.catalog.models`) only exist with ``models > 0``:
    :attr:`models_count` root models, :attr:`family_variants`, :meth:`iter_model_headers`,
    :meth:`iter_product_models`, :meth:`model_header`, :meth:`product_model` and :meth:`variants_of`. Their
    variant products are products too, after the simple ones: :attr:`products_count` counts both,
    :attr:`simple_products_count` and :attr:`variants_count` each kind.

    :param products: number of simple products.
    :param seed: seed of everything random.
    :param asset_system: ``"new"`` (Asset Manager) or ``"old"`` (PAM); ``None``: the version's.
    :param akeneo_version: a profile of :data:`~pim_sandbox.catalog.versions.PROFILES` (``"3.2"``,
        ``"7.0"``, ``"saas"``...); ``None``: the newest version of ``asset_system``.
    :param models: number of root product models (their sub-models and variant products come with them).
    :param defects: names from :data:`DEFECTS`: rules of the connector the catalog breaks.
    :param media_cache_bytes: bound of the cache of rendered media; a miss only costs rendering again.
    :param photo_side: pictures are product photos of this side, in px, drawn from a small pool
        (:mod:`~pim_sandbox.catalog.media`); ``None``: small drawings.
    :raises ValueError: if ``products`` or ``models`` is negative, products and variants together exceed
        2,000,000 (the uuid scheme's room), ``asset_system`` is neither ``"new"`` nor ``"old"``, the version
        is unknown or has not that asset system, a defect is unknown, or ``photo_side`` is below 8.
    """

    def __init__(
        self,
        products: int,
        seed: int,
        *,
        asset_system: AssetSystem | None = None,
        akeneo_version: str | None = None,
        models: int = 0,
        defects: Collection[str] = (),
        media_cache_bytes: int = 32 * 1024 * 1024,
        typed_axes: bool = False,
        many_assets: bool = False,
        photo_side: int | None = None,
    ) -> None:
        if not 0 <= products <= _MAX_PRODUCTS:
            raise ValueError(f"products must be between 0 and {_MAX_PRODUCTS}, got {products}")
        if models < 0 or products + _variants_before(models) > _MAX_PRODUCTS:
            raise ValueError(
                f"models must be at least 0 and products and variants at most {_MAX_PRODUCTS}, got {models}"
            )
        if photo_side is not None and photo_side < 8:
            raise ValueError(f"photo_side must be at least 8 px, got {photo_side}")
        if asset_system is not None and asset_system not in ASSET_SYSTEMS:
            raise ValueError(f"asset_system must be one of {', '.join(ASSET_SYSTEMS)}, got {asset_system!r}")
        #: the Akeneo version served: its endpoints and shapes (the catalog's content is the same)
        self.profile: AkeneoProfile = resolve_profile(akeneo_version, asset_system)
        asset_system = self.profile.asset_system
        unknown = sorted(set(defects) - set(DEFECTS))
        if unknown:
            raise ValueError(f"unknown defects {', '.join(unknown)}; known: {', '.join(DEFECTS)}")
        self.seed = seed
        #: Root product models; each brings its sub-models (two-level family variants) and variant products.
        self.models_count = models
        #: Simple products, indexes ``[0, simple_products_count)``.
        self.simple_products_count = products
        #: Variant products, indexes ``[simple_products_count, products_count)``.
        self.variants_count = _variants_before(models)
        #: Every product served by ``products-uuid``: the simple ones, then the variants.
        self.products_count = products + self.variants_count
        self.asset_system: AssetSystem = asset_system
        structure = CatalogStructure.build(
            asset_system, models=models > 0, defects=defects, typed_axes=typed_axes
        )
        self.channels: Mapping[str, dict[str, Any]] = structure.channels
        self.locales: Mapping[str, dict[str, Any]] = structure.locales
        self.attributes: Mapping[str, dict[str, Any]] = structure.attributes
        self.families: Mapping[str, dict[str, Any]] = structure.families
        #: Family variants of each family (family code -> resources in code order, as
        #: ``GET /families/{family}/variants`` lists them); every list is empty without models.
        self.family_variants: Mapping[str, tuple[dict[str, Any], ...]] = structure.family_variants
        self.categories: Mapping[str, dict[str, Any]] = structure.categories
        renderer = MediaRenderer(seed, media_cache_bytes, photo_side=photo_side)
        self._renderer = renderer
        self._products = Products(seed, products, self.products_count, self.families, renderer)
        self._models = ProductModels(seed, models, self._products, renderer, typed_axes=typed_axes)
        assets_class = AssetManagerAssets if asset_system == "new" else PamAssets
        self._assets: Assets = assets_class(seed, self._products, renderer, many_assets=many_assets)
        self._products.variants = self._models
        self._products.collections = self._assets.product_asset_codes
        #: Asset Manager families by code (empty for the PAM, which has none), as
        #: ``GET /asset-families/{code}`` shows them; treat them as read-only.
        self.asset_families: Mapping[str, dict[str, Any]] = self._assets.families
        #: what users changed since the catalog was generated (:mod:`~pim_sandbox.catalog.changes`)
        self.changes = CatalogChanges()
        if isinstance(self._assets, PamAssets):
            self._assets.changes = self.changes
        hostile.apply(self, frozenset(defects))

    # -- products (pim_sandbox.catalog.products) ------------------------------------------------------

    def header(self, index: int) -> ProductHeader:
        """Return the cheap header of product ``index``; see :meth:`Products.header
        <pim_sandbox.catalog.products.Products.header>`.

        :raises IndexError: if ``index`` is outside ``[0, products_count)``.
        """
        return self.changes.product_header(self._products.header(index))

    def iter_headers(self, start: int = 0) -> Iterator[ProductHeader]:
        """Yield product headers in identifier order, from ``start`` (deleted products left out)."""
        changes = self.changes
        if not changes:
            return self._products.iter_headers(start)
        headers = self._products.iter_headers(start)
        return (changes.product_header(h) for h in headers if not changes.deleted(h.index))

    def product(self, index: int, base_url: str = "") -> dict[str, Any]:
        """Return product ``index`` as the ``products-uuid`` resource, without its own ``_links``; see
        :meth:`Products.product <pim_sandbox.catalog.products.Products.product>`.

        :raises IndexError: if ``index`` is outside the catalog.
        """
        resource = self._products.product(index, base_url)
        if not self.changes:
            return resource
        header = self.header(index)
        if header.ancestors and self.changes.inherits(index, header.ancestors):
            # a variant's values hold its parent's merged in (products.md), changed ones included
            parent = self.product_model(header.ancestors[0], base_url)["values"]
            resource["values"] = {**resource["values"], **parent, **{"sku": resource["values"]["sku"]}}
            resource["values"].update(self._own_axes(index, header))
        return self.changes.product(index, resource, header)

    def _own_axes(self, index: int, header: ProductHeader) -> dict[str, Any]:
        """A variant's own axis values (its level's), as generated."""
        generated = self._products.product(index)["values"]
        axes = {
            a
            for fv in self.family_variants.get(header.family, ())
            for s in fv["variant_attribute_sets"]
            for a in s["axes"]
            if s["level"] == len(header.ancestors)
        }
        return {a: generated[a] for a in axes if a in generated}

    def iter_products(self, base_url: str = "") -> Iterator[dict[str, Any]]:
        """Yield every product resource in identifier (and uuid) order."""
        for header in self.iter_headers():
            yield self.product(header.index, base_url)

    def index_of_uuid(self, uuid: str) -> int | None:
        """Return the index of the product with this uuid, or ``None``; O(1), no lookup table."""
        return self._products.index_of_uuid(uuid)

    def first_index_after_uuid(self, uuid: str) -> int:
        """Return the index of the first product whose uuid sorts after ``uuid`` (``search_after`` order)."""
        return self._products.first_index_after_uuid(uuid)

    def media(self, code: str) -> MediaFile:
        """Return the media file (of a product or a product model) with this code.

        :raises KeyError: if no product or product model value of the catalog points at ``code``.
        """
        return self._products.media(code)

    def product_media(self, index: int) -> list[MediaFile]:
        """Return the media files product ``index`` points at, in value order (shared files included)."""
        return self._products.product_media(index)

    def warm(self, processes: int | None = None, chunk: int = 500) -> int:
        """Render once every binary the catalog's resources show (product and product model media,
        asset files) and keep what the resources show of them (:meth:`MediaRenderer.describe
        <pim_sandbox.catalog.media.MediaRenderer.describe>`), so that listing a resource the first
        time renders nothing: a media code is the SHA-1 of its bytes, and rendering the ~280 images
        of a page of 100 products costs ~30 ms of CPU. The products' media plans, asset
        collections and headers are kept too, and the asset headers indexed per family
        (:meth:`Assets.index_headers <pim_sandbox.catalog.assets.Assets.index_headers>`). The
        bytes are not (downloads render them again, through the bounded cache). 10,000 products
        take some 15 s on two cores and 70 MB of memory (about 7 kB a product, assets included);
        100,000 some 4 minutes.

        :param processes: worker processes rendering in parallel (forked: call it before starting
            threads or servers); ``None``: one per CPU; ``1``: in this process.
        :param chunk: products (with the assets they own) per task.
        :return: the number of binaries described.
        """
        global _WARMING
        tasks: list[tuple[str, int, int]] = [
            ("products", start, min(start + chunk, self.products_count))
            for start in range(0, self.products_count, chunk)
        ]
        if self.models_count:
            tasks.append(("models", 0, 0))
        processes = processes or os.cpu_count() or 1
        _WARMING = self
        try:
            if processes == 1 or len(tasks) == 1:
                results = [_describe_task(task) for task in tasks]
            else:
                with multiprocessing.get_context("fork").Pool(processes) as pool:
                    results = pool.map(_describe_task, tasks, chunksize=1)
                    # the workers end on their own: leaving the block terminates them with
                    # SIGTERM, which `python -m pim_sandbox` handles (it sets its stop event),
                    # so a worker waiting for a task outlived it and the join hung
                    pool.close()
                    pool.join()
        finally:
            _WARMING = None
        for described, plans, collections in results:
            self._renderer.remember(described)
            self._products.plans.update(plans)
            self._assets.collections.update(collections)
            for index in plans:  # the headers the plans were made from, kept for the lists' scans
                self._products.header(index)
        self._assets.index_headers()  # asset pages start at a bisection, their headers made once
        return sum(len(described) for described, _, _ in results)

    def _specs(self, kind: str, start: int, stop: int) -> Iterator[Any]:
        """The specs of the binaries shown by products ``[start, stop)`` and the assets they own, or
        (``kind`` ``"models"``) by every product model."""
        if kind == "models":
            for model in self._models.iter_model_headers():
                yield from (slot.spec for slot in self._models._model_plan(model))
            return
        for index in range(start, stop):
            yield from (slot.spec for slot in self._products.plan(index))
            self._assets.product_asset_codes(index)
            for asset in self._assets.owned_headers(index):
                yield from self._assets.files(asset)

    # -- product models (pim_sandbox.catalog.models) --------------------------------------------------

    def iter_model_headers(self, *, after: str | None = None) -> Iterator[ModelHeader]:
        """Yield product model headers in code order; see :meth:`ProductModels.iter_model_headers
        <pim_sandbox.catalog.models.ProductModels.iter_model_headers>`."""
        return (self.changes.model_header(h) for h in self._models.iter_model_headers(after=after))

    def iter_product_models(self, base_url: str = "") -> Iterator[dict[str, Any]]:
        """Yield every product model resource in code order, as :meth:`iter_model_headers` lists them."""
        for header in self.iter_model_headers():
            yield self.product_model(header.code, base_url)

    def model_header(self, code: str) -> ModelHeader:
        """Return the header of the product model ``code`` (root or sub-model), without building values.

        :raises KeyError: if there is no such product model.
        """
        return self.changes.model_header(self._models.model_header(code))

    def product_model(self, code: str, base_url: str = "") -> dict[str, Any]:
        """Return a product model as ``GET /api/rest/v1/product-models/{code}`` shows it, without ``_links``.

        :raises KeyError: if there is no such product model.
        """
        return self.changes.model(code, self._models.product_model(code, base_url))

    def variants_of(self, code: str) -> list[ProductHeader]:
        """Return the headers of the variant products below a product model, in index (and uuid) order.

        :raises KeyError: if there is no such product model.
        """
        return self._models.variants_of(code)

    # -- assets (pim_sandbox.catalog.assets, asset_manager, pam) ---------------------------------------

    def asset_attributes(self, family: str) -> list[dict[str, Any]]:
        """Return an Asset Manager family's attributes, as ``GET /asset-families/{f}/attributes`` lists them.

        :raises KeyError: if the family does not exist (always, for the PAM).
        """
        return self._assets.attributes(family)

    def product_asset_codes(self, index: int) -> dict[str, list[str]]:
        """Return product ``index``'s asset collections: product attribute code -> asset codes, in order; see
        :meth:`Assets.product_asset_codes <pim_sandbox.catalog.assets.Assets.product_asset_codes>`.

        :raises IndexError: if ``index`` is outside the catalog.
        """
        return self._assets.product_asset_codes(index)

    def iter_asset_headers(
        self, family: str | None = None, *, after: str | None = None
    ) -> Iterator[AssetHeader]:
        """Yield asset headers in code order, the order of the ``search_after`` pages; see
        :meth:`Assets.iter_asset_headers <pim_sandbox.catalog.assets.Assets.iter_asset_headers>`.

        :raises KeyError: if ``family`` is not a family (or PAM kind) of this catalog.
        """
        headers = self._assets.iter_asset_headers(family, after=after)
        return (self.changes.asset_header(h.group, h) for h in headers)

    def iter_asset_headers_from(self, position: int) -> Iterator[AssetHeader]:
        """Yield every asset header, in :meth:`iter_asset_headers` order, from the one at ``position``
        (an offset page of the PAM's ``GET /assets``); see :meth:`Assets.iter_headers_from
        <pim_sandbox.catalog.assets.Assets.iter_headers_from>`."""
        headers = self._assets.iter_headers_from(position)
        return (self.changes.asset_header(h.group, h) for h in headers)

    def iter_assets(self, family: str | None = None, base_url: str = "") -> Iterator[dict[str, Any]]:
        """Yield asset resources (without their own ``_links``) in code order, as
        :meth:`iter_asset_headers` lists them."""
        for header in self.iter_asset_headers(family):
            yield self.changes.asset(header.group, header.code, self._assets.resource(header, base_url))

    def asset_header(self, family: str | None, code: str) -> AssetHeader:
        """Return the header of the asset ``code``, without rendering anything.

        :param family: the asset family (or PAM kind) it must belong to; ``None``: any.
        :raises KeyError: if there is no such asset.
        """
        header = self._assets.asset_header(family, code)
        return self.changes.asset_header(header.group, header)

    def asset(self, family: str | None, code: str, base_url: str = "") -> dict[str, Any]:
        """Return an asset as ``GET /asset-families/{family}/assets/{code}`` (Asset Manager) or
        ``GET /assets/{code}`` (PAM) shows it, without its own ``_links``.

        Binary links (``_links.download`` of media files, ``_link`` of PAM files) are absolute when
        ``base_url`` is given.

        :raises KeyError: if there is no such asset (see :meth:`asset_header`).
        """
        header = self.asset_header(family, code)
        return self.changes.asset(header.group, code, self._assets.resource(header, base_url))

    def asset_media(self, code: str) -> MediaFile:
        """Return the Asset Manager media file with this code (``GET /asset-media-files/{code}``).

        :raises KeyError: if no asset value points at ``code``, or the PIM has the PAM.
        """
        if not isinstance(self._assets, AssetManagerAssets):
            raise KeyError(code)
        return self._assets.media(code)

    def pam_file(
        self,
        asset_code: str,
        kind: Literal["reference", "variation"],
        channel: str | None,
        locale: str | None,
    ) -> MediaFile:
        """Return a PAM reference file (``channel`` ``None``) or variation file with its bytes.

        :param locale: the file's locale, ``None`` for a non-localizable asset (``no_locale`` in the routes).
        :raises KeyError: if the asset or the file does not exist, or the PIM has the Asset Manager.
        """
        if not isinstance(self._assets, PamAssets):
            raise KeyError(asset_code)
        return self._assets.file(asset_code, kind, channel, locale)

    def asset_files(self, family: str | None, code: str) -> list[MediaFile]:
        """Return every binary of an asset: its media files in value order (Asset Manager), or its reference
        files then variation files (PAM).

        :raises KeyError: if there is no such asset.
        """
        specs = self._assets.files(self.asset_header(family, code))
        return [self._renderer.render_asset_file(spec) for spec in specs]


#: the catalog :meth:`SandboxCatalog.warm` is warming, for its forked workers
_WARMING: SandboxCatalog | None = None


def _describe_task(
    task: tuple[str, int, int],
) -> tuple[list[tuple[Any, MediaFile]], dict[int, Any], dict[int, dict[str, list[str]]]]:
    """Describe the binaries of one task of :meth:`SandboxCatalog.warm` (in a worker process);
    return the descriptions, and the media plans and asset collections of the task's products
    (made on the way), in one object so that their specs stay shared when pickled."""
    catalog = _WARMING
    assert catalog is not None
    renderer = catalog._renderer
    described = {}
    for spec in catalog._specs(*task):
        if spec not in described:
            described[spec] = renderer.describe(spec)
    kind, start, stop = task
    indexes = range(start, stop) if kind == "products" else range(0)
    plans = {i: catalog._products.plans[i] for i in indexes}
    collections = {i: catalog._assets.collections[i] for i in indexes}
    return list(described.items()), plans, collections


def generate_catalog(
    products: int = 300,
    seed: int = 7,
    *,
    asset_system: AssetSystem | None = None,
    akeneo_version: str | None = None,
    models: int = 0,
    defects: Collection[str] = (),
    typed_axes: bool = False,
    many_assets: bool = False,
    photo_side: int | None = None,
) -> SandboxCatalog:
    """Return the sandbox catalog for ``products`` products derived from ``seed``.

    Generation is lazy: this call costs the same for 300 or 100,000 products, and the same arguments always
    give byte-identical resources and media. The asset system only adds (asset collection attributes and
    values, assets): the image attributes and values are the same with either.

    :param products: number of products, identifiers ``SKU-00001`` upwards.
    :param seed: any integer; another seed gives other uuids, dates, families, filenames and pixels.
    :param asset_system: ``"new"``, the Asset Manager (PIM >= 4.0), or ``"old"``, the PAM (PIM <= 3.2); a PIM
        has one or the other (asset-manager.md, pam.md); ``None``: the version's (``"new"`` without one).
    :param akeneo_version: the Akeneo version served (:mod:`~pim_sandbox.catalog.versions`); ``None``: the
        newest version of the asset system (7.0, or 3.2 for the PAM).
    :param models: number of root product models, with their sub-models and variant products
        (:mod:`~pim_sandbox.catalog.models`); ``0``, the default, changes nothing at all.
    :param defects: names from :data:`DEFECTS`: rules of the connector the catalog breaks.
    :param typed_axes: the accessories' variants vary by a metric (``volume``) and a boolean
        (``waterproof``) axis instead of two simple selects (real catalogs have both kinds).
    :param many_assets: products own more lifestyle assets (Asset Manager: 0 to 4, most 1 or 2,
        instead of 0 to 2, most none): some 3.1 assets a product instead of 2.4, 300,000 at 100,000
        products. ``False``, the default, changes nothing at all.
    :param photo_side: every picture is a product photo of this side, in px (a real PIM's
        megapixel files, drawn from a pool of a few per format; benchmarks), where ``None``, the
        default, draws small pictures of 24 to 96 px a side.
    :raises ValueError: if ``products`` or ``models`` is negative, there would be more than 2,000,000
        products, the asset system or a defect is unknown, or ``photo_side`` is below 8.
    """
    return SandboxCatalog(
        products,
        seed,
        asset_system=asset_system,
        akeneo_version=akeneo_version,
        models=models,
        defects=defects,
        typed_axes=typed_axes,
        many_assets=many_assets,
        photo_side=photo_side,
    )
