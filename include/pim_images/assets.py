"""Assets of both Akeneo asset systems, normalized to one staging record per asset.

- **Asset Manager** (PIM >= 4.0, asset-manager.md): assets live in asset families; a family's
  ``attribute_as_main_media`` is a ``media_file`` attribute (binary at
  ``/api/rest/v1/asset-media-files/{code}``) or a ``media_link`` attribute (URL = the
  attribute's ``prefix`` + the value's ``data`` + its ``suffix``). Values are per ``locale``
  and ``channel``.
- **PAM** (PIM < 4.0, pam.md): an asset has reference files (per locale when localizable) and
  variation files per channel and locale, generated from the reference file; the variation of
  the configured channel is the file meant for it, the reference file the fallback.

Each record is an :class:`~pim_images.records.Asset`: ``files`` (the download path of each
binary, which keys the media cache), ``links`` (``media_link`` attribute -> URLs), the family's
main media. Only values of the configured channel and locales are kept, as for products.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.client import AkeneoClient, Lister, has_next, page_items
from pim_images.akeneo.errors import AkeneoNotFoundError
from pim_images.config import PipelineConfig
from pim_images.errors import CatalogError
from pim_images.records import (
    Asset,
    AssetAttribute,
    AssetFamily,
    AssetFile,
    AssetLink,
    AssetValue,
    Collection,
)
from pim_images.staging import StagingPath
from pim_images.store import StateStore


@dataclass(frozen=True)
class AssetsSummary:
    assets: int
    warnings: list[str] = field(default_factory=list)
    #: PAM assets: key -> SHA-256 of the normalized record (what the state store compares)
    checksums: dict[str, str] = field(default_factory=dict)


def start_assets(
    client: AkeneoClient,
    config: PipelineConfig,
    run_dir: StagingPath,
    lister: Lister,
    *,
    windows: bool = False,
) -> Callable[[], Callable[[], AssetsSummary]]:
    """Start listing every asset the collections may name on ``lister``, in two steps
    (docs/akeneo.md#concurrent-listing): this call asks at once for what cuts the lists (with
    ``windows``, each asset family's first page), so those calls go while the caller lists its
    families; the function returned starts the walks (submitted after the caller's longer ones)
    and returns the function that writes ``assets.jsonl`` (normalized, in the order of one walk:
    family after family, each in code order; PAM assets page after page) once they are read.

    :param windows: the PIM takes ``updated`` ranges on assets (6.0 and SaaS): a family of more
        than a page is walked in ``updated`` windows at once.
    :return: the walks' start; the function it returns raises :class:`CatalogError` when the PIM
        has no PAM endpoint (PAM exists on PIM < 4.0 only).
    """
    warnings: list[str] = []
    checksums: dict[str, str] = {}
    sampled: Callable[[], dict[str, list[datetime]]] | None = None
    if config.akeneoAssetSystem != "old":
        # the families' structure was staged (and validated) by the structure step
        structure = records.ASSET_FAMILIES.read(run_dir)
        listed = _listed_families(structure, warnings)
        if windows:
            sampled = _window_cuts(client, config, [f for f, _ in listed], lister)

    def start() -> Callable[[], AssetsSummary]:
        if config.akeneoAssetSystem == "old":
            pam = _pam_assets(client, config, lister)

            def assets() -> Iterator[Asset]:
                return _checksummed(pam(), checksums)
        else:
            assets = _family_assets(client, config, listed, lister, cuts=sampled() if sampled else {})

        def finish() -> AssetsSummary:
            count = records.ASSETS.write(run_dir, assets())
            return AssetsSummary(assets=count, warnings=warnings, checksums=checksums)

        return finish

    return start


@dataclass
class ChangedAssets:
    """The assets a differential run found changed (docs/runs.md#differential-import).

    :ivar keys: asset keys (``family/code``) changed since the interval's start.
    :ivar assets: the assets read so far by key: the changed ones (Asset Manager), or all of them
        (PAM, which is read whole to compare checksums).
    :ivar checksums: PAM: every asset's checksum, for the state store.
    """

    keys: set[str]
    assets: dict[str, Asset]
    checksums: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def changed_assets(
    client: AkeneoClient,
    config: PipelineConfig,
    run_dir: StagingPath,
    collections: list[Collection],
    start: datetime,
    store: StateStore,
    lister: Lister,
) -> ChangedAssets:
    """The assets changed since ``start``: Asset Manager assets by their ``updated`` date
    (:func:`~pim_images.akeneo.resources.assets_updated_after`); PAM assets, which have no
    ``updated`` filter, read whole and compared with the checksums the store kept.

    :raises CatalogError: the PIM has no PAM endpoint.
    """
    if config.akeneoAssetSystem == "old":
        checksums: dict[str, str] = {}
        assets = {a.key: a for a in _checksummed(_pam_assets(client, config, lister)(), checksums)}
        known = store.asset_checksums()
        return ChangedAssets({k for k, v in checksums.items() if known.get(k) != v}, assets, checksums)
    warnings: list[str] = []
    structure = records.ASSET_FAMILIES.read(run_dir)
    filters = resources.assets_updated_after(start)
    families = _listed_families(structure, warnings)
    listed = _family_assets(client, config, families, lister, lambda _: [filters])
    found = {a.key: a for a in listed()}
    return ChangedAssets(set(found), found, warnings=warnings)


def write_assets(
    client: AkeneoClient,
    config: PipelineConfig,
    run_dir: StagingPath,
    changed: ChangedAssets,
    needed: set[str],
    products_endpoint: str | None,
    lister: Lister,
) -> AssetsSummary:
    """Write ``assets.jsonl`` for a differential run: the ``needed`` assets (those its products
    reference), from what was read already and, for the others, by code on a 7.0 or SaaS PIM
    (``products-uuid``, whose asset list takes a code filter) or by reading their families
    whole on earlier versions."""
    warnings = list(changed.warnings)
    have = {k: a for k, a in changed.assets.items() if k in needed}
    missing = sorted(needed - set(changed.assets))
    if missing and config.akeneoAssetSystem == "new":
        structure = records.ASSET_FAMILIES.read(run_dir)
        by_family: dict[str, list[str]] = {}
        for key in missing:
            family, _, code = key.partition("/")
            by_family.setdefault(family, []).append(code)
        structure = {f: s for f, s in structure.items() if f in by_family}
        if products_endpoint == resources.PRODUCTS_UUID:

            def searches(family: str) -> list[resources.Filters | None]:
                codes = by_family[family]
                return [resources.asset_codes_in(codes[i : i + 100]) for i in range(0, len(codes), 100)]
        else:

            def searches(family: str) -> list[resources.Filters | None]:
                return [None]

        for asset in _family_assets(client, config, _listed_families(structure, []), lister, searches)():
            if asset.key in needed:
                have[asset.key] = asset
    count = records.ASSETS.write(run_dir, have.values())
    return AssetsSummary(assets=count, warnings=warnings, checksums=changed.checksums)


def _checksummed(assets: Iterator[Asset], checksums: dict[str, str]) -> Iterator[Asset]:
    for asset in assets:
        checksums[asset.key] = hashlib.sha256(msgspec.json.encode(asset)).hexdigest()
        yield asset


# -- Asset Manager ------------------------------------------------------------------------


def read_asset_families(client: AkeneoClient, families: list[str]) -> dict[str, AssetFamily | None]:
    """Each asset family's main media and attributes; ``None`` for a family Akeneo does not
    have (the validate stage names it)."""
    structure: dict[str, AssetFamily | None] = {}
    for family in dict.fromkeys(families):
        try:
            resource = resources.get_asset_family(client, family)
            attributes = resources.get_asset_family_attributes(client, family)
        except AkeneoNotFoundError:
            structure[family] = None
            continue
        structure[family] = AssetFamily(
            main=resource.get("attribute_as_main_media"),
            attributes=[
                AssetAttribute(
                    code=a["code"],
                    type=a.get("type"),
                    prefix=a.get("prefix"),
                    suffix=a.get("suffix"),
                    media_type=a.get("media_type"),
                )
                for a in attributes
                if isinstance(a, dict) and "code" in a
            ],
        )
    return structure


def _listed_families(
    structure: dict[str, AssetFamily | None], warnings: list[str]
) -> list[tuple[str, AssetFamily]]:
    """The asset families whose assets are listed: those with a structure and a main media of
    a media file or link (any other is a warning in ``warnings``)."""
    families = []
    for family, family_structure in structure.items():
        if family_structure is None:
            continue
        by_code = {a.code: a for a in family_structure.attributes}
        main = family_structure.main
        main_type = by_code[main].type if main in by_code else None
        if main is None or main_type not in ("media_file", "media_link"):
            warnings.append(f"asset family {family!r}: main media {main!r} is of type {main_type!r}; skipped")
            continue
        families.append((family, family_structure))
    return families


def _family_assets(
    client: AkeneoClient,
    config: PipelineConfig,
    families: list[tuple[str, AssetFamily]],
    lister: Lister,
    searches: Callable[[str], list[resources.Filters | None]] | None = None,
    *,
    cuts: dict[str, list[datetime]] | None = None,
) -> Callable[[], Iterator[Asset]]:
    """Start listing the assets of each family of ``families`` (:func:`_listed_families`) on
    ``lister``; return the function yielding them normalized, family after family, each in code
    order (docs/akeneo.md#concurrent-listing).

    :param searches: the lists to read per family (their ``search`` filters); default: the whole
        family, one walk, or one walk per ``updated`` window of its ``cuts``.
    :param cuts: per family, the ``updated`` dates that cut it in windows of about as many
        assets each (:func:`_window_cuts`).
    """
    walks = []
    for index, (family, family_structure) in enumerate(families):
        lists = searches(family) if searches else _windows((cuts or {}).get(family, []))
        for filters in lists:
            walk = functools.partial(_family_walk, client, config, index, family, family_structure, filters)
            walks.append(walk)
    # windows share their ends: an asset updated at a cut is listed twice, and kept once
    return lister.submit(walks, item_type=Asset, unique=True)


def _family_walk(
    client: AkeneoClient,
    config: PipelineConfig,
    index: int,
    family: str,
    structure: AssetFamily,
    filters: resources.Filters | None,
) -> Iterator[tuple[tuple[int, str], Asset]]:
    listed = resources.iter_assets(
        client, family, channel=config.akeneoScope, locales=config.akeneoLocales, filters=filters
    )
    for asset in listed:
        yield (index, asset["code"]), _normalize_asset(family, asset, structure, config)


def _window_cuts(
    client: AkeneoClient, config: PipelineConfig, families: list[str], lister: Lister
) -> Callable[[], dict[str, list[datetime]]]:
    """Ask for each family's first page at once; return the function giving, per family of more
    than one page, the ``updated`` dates that cut it in as many windows as the lister runs walks
    (:attr:`Lister.walks`: ``WALKS_PER_CALL`` per call in flight): the octiles (for 8) of its
    first page's dates, a sample. Any cut is correct (the windows cover every date); a good one
    only balances the walks. Cut in 4 (one window per call), a 100,000-product catalog's long
    families ended the run with fewer walks than calls (84 % of the API ceiling, against 89-90 %
    in 8; at 10,000 products 81 against 83 %, on this machine), a sample's quartile being off
    by some 4 % of its family (docs/akeneo.md#concurrent-listing)."""
    scope, locales = config.akeneoScope, config.akeneoLocales

    def sample(family: str) -> Iterator[tuple[None, tuple[str, list[datetime]]]]:
        page = resources.first_assets_page(client, family, channel=scope, locales=locales)
        if has_next(page):
            items = page_items(page, f"{resources.ASSET_FAMILIES}/{family}/assets")
            dates = sorted(date for a in items if (date := _second(a.get("updated"))) is not None)
            yield None, (family, dates)

    parts = lister.walks
    if client.concurrency <= 1:
        return dict  # one walk at a time: nothing to balance
    samples = [functools.partial(sample, f) for f in families]
    sampled = lister.submit(samples, item_type=tuple[str, list[datetime]], merge=False)

    def cuts() -> dict[str, list[datetime]]:
        found = {}
        for family, dates in sampled():
            if len(dates) >= parts:
                found[family] = sorted({dates[len(dates) * i // parts] for i in range(1, parts)})
        return found

    return cuts


def _second(value: Any) -> datetime | None:
    """An ISO 8601 date to the second (the precision of the ``updated`` filter), in UTC; ``None``
    when it is not one (an asset without ``updated``, before 6.0: it is then not sampled)."""
    try:
        date = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if date.tzinfo is None:
        return None
    return date.astimezone(UTC).replace(microsecond=0)


def _windows(cuts: list[datetime]) -> list[resources.Filters | None]:
    """The ``updated`` windows of ``cuts`` (sorted): before the first, between each two (ends
    included), after the last; together they cover every date. No cut: one list, unfiltered."""
    if not cuts:
        return [None]
    windows: list[resources.Filters | None] = [resources.assets_updated_window(None, cuts[0])]
    windows += [resources.assets_updated_window(low, high) for low, high in itertools.pairwise(cuts)]
    windows.append(resources.assets_updated_window(cuts[-1], None))
    return windows


def _normalize_asset(
    family: str, asset: dict[str, Any], structure: AssetFamily, config: PipelineConfig
) -> Asset:
    """One Asset Manager asset: its main media's files, the renditions
    ``akeneoImageFileViewTypesMapping`` names, its links, and every attribute's values as text
    (for the custom attributes of docs/transform.md#custom-attribute-ids)."""
    values = asset.get("values") or {}
    by_code = {a.code: a for a in structure.attributes}
    main = structure.main or ""
    main_type = by_code[main].type if main in by_code else None
    links = [a for a in structure.attributes if a.type == "media_link"]
    files = []
    renditions = [
        a for a in config.file_view_types_mapping if by_code.get(a) and by_code[a].type == "media_file"
    ]
    file_attributes = [main] if main_type == "media_file" else []
    for attribute in dict.fromkeys([*file_attributes, *renditions]):
        for value in _selected(values.get(attribute) or [], config):
            media = _download_path(value) or resources.asset_media_file(str(value["data"]))
            files.append(
                AssetFile(
                    media=media,
                    locale=value.get("locale"),
                    channel=value.get("channel"),
                    attribute=None if attribute == main else attribute,
                )
            )
    link_values = {
        a.code: [
            AssetLink(
                url=f"{a.prefix or ''}{v['data']}{a.suffix or ''}",
                locale=v.get("locale"),
                channel=v.get("channel"),
            )
            for v in _selected(values.get(a.code) or [], config)
        ]
        for a in links
    }
    texts = {
        a.code: [
            AssetValue(data=_text(v["data"], a), locale=v.get("locale"), channel=v.get("channel"))
            for v in _selected(values.get(a.code) or [], config)
        ]
        for a in structure.attributes
    }
    return Asset(
        family=family,
        code=asset["code"],
        files=files,
        links={k: v for k, v in link_values.items() if v},
        main_is_link=main_type == "media_link",
        main=main,
        main_media_type=by_code[main].media_type if main in by_code else None,
        values={k: v for k, v in texts.items() if v},
        types={a.code: a.type for a in structure.attributes if a.type and a.code in texts and texts[a.code]},
    )


def _text(data: Any, attribute: AssetAttribute) -> str | list[str]:
    """An asset value as text: a link's whole URL (prefix + data + suffix), a list of option
    codes, anything else as Akeneo gives it (numbers as their JSON text)."""
    if attribute.type == "media_link":
        return f"{attribute.prefix or ''}{data}{attribute.suffix or ''}"
    if isinstance(data, list):
        return [str(d) for d in data]
    if isinstance(data, bool | int | float):
        return json.dumps(data)
    return str(data)


def _selected(values: list[dict[str, Any]], config: PipelineConfig) -> list[dict[str, Any]]:
    """Values of the configured channel and locales; asset values say ``channel``, not ``scope``."""
    return [
        v
        for v in values
        if v.get("data")
        and v.get("channel", v.get("scope")) in (None, config.akeneoScope)
        and v.get("locale") in (None, *config.akeneoLocales)
    ]


def _download_path(value: dict[str, Any]) -> str | None:
    links = value.get("_links") or value.get("_link") or {}
    href = (links.get("download") or {}).get("href")
    return urlsplit(href).path if href else None


# -- PAM ----------------------------------------------------------------------------------


def _pam_assets(
    client: AkeneoClient, config: PipelineConfig, lister: Lister
) -> Callable[[], Iterator[Asset]]:
    """Start listing the PAM assets on ``lister``; return the function yielding them in page
    order. The PAM list takes no filter, so it is split by its ``page`` pagination (the method
    this list always used): walk ``k`` of ``n`` reads pages ``k``, ``k + n``, ``k + 2n``...
    until a page without ``next``; at most ``n - 1`` pages past the end are asked for
    (docs/akeneo.md#concurrent-listing)."""
    # a walk asks for its page only once the one before is in: twice as many walks as calls in
    # flight keep the slots busy (WALKS_PER_CALL)
    stride = lister.walks
    walks = [functools.partial(_pam_walk, client, config, first, stride) for first in range(1, stride + 1)]
    return lister.submit(walks, item_type=Asset)


def _pam_walk(
    client: AkeneoClient, config: PipelineConfig, page: int, stride: int
) -> Iterator[tuple[tuple[int, int], Asset]]:
    while True:
        try:
            body = resources.get_pam_assets_page(client, page)
        except AkeneoNotFoundError as exc:
            raise CatalogError(
                [f"the PAM assets endpoint cannot be read ({exc}); PAM exists on PIM < 4.0 only"]
            ) from exc
        for position, asset in enumerate(page_items(body, resources.PAM_ASSETS)):
            yield (page, position), Asset(family=None, code=asset["code"], files=_pam_files(asset, config))
        if not has_next(body):
            return
        page += stride


def _pam_files(asset: dict[str, Any], config: PipelineConfig) -> list[AssetFile]:
    """One file per locale (or one when not localizable): the channel's variation, else the reference."""
    references = asset.get("reference_files") or []
    variations = asset.get("variation_files") or asset.get("variations") or []
    locales = list(config.akeneoLocales) if asset.get("localizable") else [None]
    files = []
    for locale in locales:
        chosen = next(
            (
                v
                for v in variations
                if v.get("locale") == locale and v.get("channel", v.get("scope")) == config.akeneoScope
            ),
            None,
        ) or next((r for r in references if r.get("locale") == locale), None)
        path = _download_path(chosen) if chosen else None
        if path:
            files.append(AssetFile(media=_pam_media_key(path, chosen), locale=locale))
    return files


def _pam_media_key(path: str, file: dict[str, Any]) -> str:
    """A PAM file's media key: its download path, then ``#`` and the file's ``code``.

    A new reference file keeps the asset's routes and changes the file's ``code`` (pam.md): with
    the code in its key, the new binary is downloaded (the media cache keys by media key) and the
    asset's checksum changes, so a differential run re-exports the products linking it
    (docs/akeneo.md#pam). A fragment is never sent to the server.
    """
    code = file.get("code")
    return f"{path}#{code}" if code else path
