"""Product models and family variants (docs/akeneo.md#product-models-and-family-variants): extraction, and the
rules of variation images.

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

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.client import AkeneoClient
from pim_images.akeneo.errors import AkeneoNotFoundError
from pim_images.config import PipelineConfig
from pim_images.records import AttributeSet, ProductModel, Value, Values
from pim_images.staging import StagingPath


def read_family_variants(client: AkeneoClient) -> dict[str, list[AttributeSet]]:
    """Variant attribute sets of every family variant, by ``family/variant`` (level order)."""
    sets: dict[str, list[AttributeSet]] = {}
    for family in resources.iter_families(client):
        try:
            for variant in resources.iter_family_variants(client, family["code"]):
                attribute_sets = [
                    AttributeSet(
                        level=s["level"],
                        axes=list(s.get("axes") or []),
                        attributes=list(s.get("attributes") or []),
                    )
                    for s in variant.get("variant_attribute_sets") or []
                ]
                sets[f"{family['code']}/{variant['code']}"] = sorted(attribute_sets, key=lambda s: s.level)
        except AkeneoNotFoundError:
            return {}  # a PIM before 2.0 has no family variants, hence no product models
    return sets


def axes_of(family_variants: dict[str, list[AttributeSet]]) -> list[str]:
    """Every axis attribute: their values must be read with the images (they filter groups)."""
    return sorted({axis for sets in family_variants.values() for s in sets for axis in s.axes})


def extract_models(
    client: AkeneoClient,
    config: PipelineConfig,
    run_dir: StagingPath,
    attribute_codes: list[str],
    family_variants: dict[str, list[AttributeSet]],
) -> int:
    """Write ``models.jsonl``: every product model with its image, collection and axis values.

    Every model is read, in a differential run too: a master's image list is canonical, so a
    changed variant needs its whole master.
    """

    def lines() -> Iterator[ProductModel]:
        if not family_variants:
            return  # no family variant, no product model
        for model in resources.iter_product_models(
            client, scope=config.akeneoScope, locales=config.akeneoLocales
        ):
            values = model.get("values") or {}
            yield ProductModel(
                code=model["code"],
                parent=model.get("parent"),
                family=model.get("family"),
                family_variant=model.get("family_variant"),
                updated=model.get("updated"),
                values={code: _values(values[code]) for code in attribute_codes if values.get(code)},
            )

    return records.MODELS.write(run_dir, lines())


def _values(values: list[dict[str, Any]]) -> list[Value]:
    return [Value(data=v.get("data"), locale=v.get("locale"), scope=v.get("scope")) for v in values]


def read_models(run_dir: StagingPath) -> dict[str, ProductModel]:
    """This run's product models by code (none when the PIM has no family variant)."""
    if not records.MODELS.exists(run_dir):
        return {}
    return {m.code: m for m in records.MODELS.read(run_dir)}


def root_of(code: str, models: dict[str, ProductModel]) -> str:
    """The root model of a model code (a sub-model's parent, or itself)."""
    seen = set()
    while code in models and models[code].parent and code not in seen:
        seen.add(code)
        code = models[code].parent  # type: ignore[assignment]
    return code


def own_values(values: Values, sets: list[AttributeSet], level: int) -> Values:
    """The values a level owns: its set's attributes; level 0 (root) owns those in no set."""
    if level == 0:
        owned_elsewhere = {a for s in sets for a in (*s.attributes, *s.axes)}
        return {k: v for k, v in values.items() if k not in owned_elsewhere}
    owned = set(sets[level - 1].attributes) if level <= len(sets) else set()
    return {k: v for k, v in values.items() if k in owned}


def axis_values(values: Values, sets: list[AttributeSet], level: int) -> list[tuple[str, str]]:
    """``(axis attribute, value)`` of every axis down to ``level``, in family-variant order, so
    the same attribute stands at the same index in every group of a master (catalog.xsd)."""
    found = []
    for attribute_set in sets[:level]:
        for axis in attribute_set.axes:
            value = next((v.data for v in values.get(axis) or [] if v.data is not None), None)
            if value is not None:
                found.append((axis, str(value)))
    return found
