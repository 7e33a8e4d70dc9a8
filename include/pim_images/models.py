"""Product models and family variants (spec §2): extraction, and the rules of variation images.

A root product model is the SFCC master and the BSPK ``product_ref``; an optional level-1
sub-model groups variants (e.g. per colour); variant products are the SKUs. The family
variant's ``variant_attribute_sets`` say, per level, its axes and the attributes it owns;
attributes in no set belong to the root (catalog-structure.md). The API returns each model's
and variant's values with its ancestors' merged in, so a level's *own* images are the values
of the attributes its set owns, never the inherited ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pim_images import staging
from pim_images.akeneo import resources
from pim_images.akeneo.client import AkeneoClient
from pim_images.akeneo.errors import AkeneoNotFoundError
from pim_images.config import PipelineConfig
from pim_images.staging import StagingPath

MODELS = "models.jsonl"
FAMILY_VARIANTS = "family_variants.json"

#: BSPK's limit on a ``skus`` cell (PRODUCT-IMAGES V2).
MAX_SKUS = 255


def read_family_variants(client: AkeneoClient) -> dict[str, list[dict[str, Any]]]:
    """Variant attribute sets of every family variant, by ``family/variant`` (level order)."""
    sets: dict[str, list[dict[str, Any]]] = {}
    for family in resources.iter_families(client):
        try:
            for variant in resources.iter_family_variants(client, family["code"]):
                attribute_sets = variant.get("variant_attribute_sets") or []
                sets[f"{family['code']}/{variant['code']}"] = sorted(attribute_sets, key=lambda s: s["level"])
        except AkeneoNotFoundError:
            return {}  # a PIM before 2.0 has no family variants, hence no product models
    return sets


def axes_of(family_variants: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every axis attribute: their values must be read with the images (they filter groups)."""
    return sorted({axis for sets in family_variants.values() for s in sets for axis in s.get("axes", [])})


def extract_models(
    client: AkeneoClient,
    config: PipelineConfig,
    run_dir: StagingPath,
    attribute_codes: list[str],
    family_variants: dict[str, list[dict[str, Any]]],
) -> int:
    """Write ``models.jsonl`` (every product model with its image, collection and axis values)
    and ``family_variants.json``.

    Every model is read, in a differential run too: a master's image list is canonical, so a
    changed variant needs its whole master.
    """

    def records() -> Iterator[dict[str, Any]]:
        if not family_variants:
            return  # no family variant, no product model
        for model in resources.iter_product_models(
            client, scope=config.akeneoScope, locales=config.akeneoLocales
        ):
            values = model.get("values") or {}
            yield {
                "code": model["code"],
                "parent": model.get("parent"),
                "family": model.get("family"),
                "family_variant": model.get("family_variant"),
                "updated": model.get("updated"),
                "values": {code: values[code] for code in attribute_codes if values.get(code)},
            }

    count = staging.write_jsonl(run_dir / MODELS, records())
    staging.write_json(run_dir / FAMILY_VARIANTS, family_variants)
    return count


def read_models(run_dir: StagingPath) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """This run's product models by code, and variant attribute sets by ``family/variant``."""
    if not (run_dir / MODELS).exists():
        return {}, {}
    models = {m["code"]: m for m in staging.iter_jsonl(run_dir / MODELS)}
    return models, staging.read_json(run_dir / FAMILY_VARIANTS)


def root_of(code: str, models: dict[str, dict[str, Any]]) -> str:
    """The root model of a model code (a sub-model's parent, or itself)."""
    seen = set()
    while models.get(code, {}).get("parent") and code not in seen:
        seen.add(code)
        code = models[code]["parent"]
    return code


def own_values(values: dict[str, Any], sets: list[dict[str, Any]], level: int) -> dict[str, Any]:
    """The values a level owns: its set's attributes; level 0 (root) owns those in no set."""
    if level == 0:
        owned_elsewhere = {a for s in sets for a in (*s.get("attributes", []), *s.get("axes", []))}
        return {k: v for k, v in values.items() if k not in owned_elsewhere}
    owned = set(sets[level - 1].get("attributes", [])) if level <= len(sets) else set()
    return {k: v for k, v in values.items() if k in owned}


def axis_values(values: dict[str, Any], sets: list[dict[str, Any]], level: int) -> list[tuple[str, str]]:
    """``(axis attribute, value)`` of every axis down to ``level``, in family-variant order, so
    the same attribute stands at the same index in every group of a master (catalog.xsd)."""
    found = []
    for attribute_set in sets[:level]:
        for axis in attribute_set.get("axes", []):
            value = next((v.get("data") for v in values.get(axis) or [] if v.get("data") is not None), None)
            if value is not None:
                found.append((axis, str(value)))
    return found


def split_skus(skus: list[str], limit: int = MAX_SKUS) -> list[str]:
    """``;``-joined SKU lists of at most ``limit`` characters each: a long list becomes several
    rows, never a truncated one (spec §4). A single SKU longer than the limit stands alone
    (and is reported by the caller)."""
    cells: list[str] = []
    current: list[str] = []
    for sku in skus:
        candidate = ";".join([*current, sku])
        if current and len(candidate) > limit:
            cells.append(";".join(current))
            current = [sku]
        else:
            current.append(sku)
    if current:
        cells.append(";".join(current))
    return cells
