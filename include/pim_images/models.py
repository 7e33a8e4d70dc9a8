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

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.client import AkeneoClient, Lister
from pim_images.akeneo.errors import AkeneoNotFoundError
from pim_images.config import PipelineConfig
from pim_images.records import AttributeSet, ProductModel, Value, Values
from pim_images.staging import StagingPath


def read_family_variants(client: AkeneoClient, warnings: list[str]) -> dict[str, list[AttributeSet]]:
    """Variant attribute sets of every family variant, by family variant code (level order).

    Family variant codes are unique in a PIM, so a product model finds its sets by its
    ``family_variant`` alone: models of PIMs before 3.2 have no ``family``
    (docs/akeneo.md#product-models-and-family-variants).

    :param warnings: gets one line per family whose variants answered 404 (its variants are not
        read; the other families' are). When every family answers 404 the PIM has no family
        variants (before 2.0): no warning, no sets.
    """
    sets: dict[str, list[AttributeSet]] = {}
    missing: list[tuple[str, AkeneoNotFoundError]] = []
    families = 0
    for family in resources.iter_families(client):
        families += 1
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
                sets[variant["code"]] = sorted(attribute_sets, key=lambda s: s.level)
        except AkeneoNotFoundError as error:
            missing.append((family["code"], error))
    if missing and len(missing) < families:
        warnings += [
            f"family {code!r}: its family variants could not be read ({error}); variants of its "
            "product models are delivered without their variation"
            for code, error in missing
        ]
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
    lister: Lister,
    families: list[str],
) -> int:
    """Write ``models.jsonl``: every product model with its image, collection and axis values.

    Every model is read, in a differential run too: a master's image list is canonical, so a
    changed variant needs its whole master. The models are listed per group of families
    (:func:`family_groups`), the groups at once on ``lister``, and written in code order (the
    order of one walk over them all, docs/akeneo.md#concurrent-listing).

    :param families: every family code of the PIM.
    """
    if not family_variants:
        return records.MODELS.write(run_dir, [])  # no family variant, no product model
    scope, locales = config.akeneoScope, config.akeneoLocales

    def walk(filters: resources.Filters | None) -> Iterator[tuple[str, ProductModel]]:
        for model in resources.iter_product_models(client, scope=scope, locales=locales, filters=filters):
            yield model["code"], model_record(model, attribute_codes, scope, locales)

    # a product model always has a family (its family variant's); no group when the PIM lists none
    searches = [resources.family_in(group) for group in family_groups(families, client.concurrency)]
    walks = [functools.partial(walk, filters) for filters in searches or [None]]
    models = lister.submit(walks, item_type=ProductModel)
    return records.MODELS.write(run_dir, models())


#: Groups of families a list is split into, per call the client keeps in flight: enough for the
#: walks to share out the allowance, few enough that short last pages cost little.
GROUPS_PER_CALL = 4


def family_groups(families: list[str], concurrency: int) -> list[list[str]]:
    """``families`` (codes) cut into at most ``GROUPS_PER_CALL x concurrency`` runs of
    consecutive codes, in code order, of sizes differing by one at most; each is one list walk
    with a ``family IN`` filter (docs/akeneo.md#concurrent-listing)."""
    codes = sorted(families)
    count = min(len(codes), GROUPS_PER_CALL * max(1, concurrency))
    if not count:
        return []
    size, extra = divmod(len(codes), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        groups.append(codes[start:end])
        start = end
    return groups


def model_record(
    model: dict[str, Any], attribute_codes: list[str], scope: str, locales: tuple[str, ...]
) -> ProductModel:
    """A product model as staged: its values of ``attribute_codes`` in the configured channel and
    locales, selected exactly as a product's (docs/akeneo.md#values-per-channel-and-locale)."""
    values = model.get("values") or {}
    return ProductModel(
        code=model["code"],
        parent=model.get("parent"),
        family=model.get("family"),
        family_variant=model.get("family_variant"),
        updated=model.get("updated"),
        values={
            code: selected
            for code in attribute_codes
            if (selected := select_values(values.get(code) or [], scope, locales))
        },
    )


def select_values(values: list[dict[str, Any]], scope: str, locales: tuple[str, ...]) -> list[Value]:
    """Keep the values of the configured channel and locales (others are ignored,
    docs/akeneo.md#values-per-channel-and-locale). A value is kept whatever its data, ``false``
    and ``0`` included; only a missing or empty one (``null``, ``""``, ``[]``) is dropped."""
    return [
        Value(data=v.get("data"), locale=v.get("locale"), scope=v.get("scope"))
        for v in values
        if v.get("scope") in (None, scope) and v.get("locale") in (None, *locales) and _present(v.get("data"))
    ]


def _present(data: Any) -> bool:
    return data is not None and data != "" and data != []


def read_models(run_dir: StagingPath) -> dict[str, ProductModel]:
    """This run's product models by code (none when the PIM has no family variant)."""
    if not records.MODELS.exists(run_dir):
        return {}
    return {m.code: m for m in records.MODELS.read(run_dir)}


def root_of(code: str, models: Mapping[str, ProductModel]) -> str:
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


#: Attribute types whose value is an option or record code (products.md, "The data format").
_CODE_TYPES = frozenset(
    {
        "pim_catalog_simpleselect",
        "pim_reference_data_simpleselect",
        "pim_catalog_reference_data_simpleselect",
        "akeneo_reference_entity",
    }
)


def axis_text(data: Any, attribute_type: str | None) -> str | None:
    """An axis value as the SFCC connector's product import writes it
    (docs/transform.md#variation-attribute-ids): the option or record code of a select or
    reference axis, ``<amount> <unit>`` of a metric (Akeneo's amount as given: ``"0.5000"``
    stays ``0.5000``), ``true``/``false`` of a boolean.

    :param attribute_type: the axis attribute's ``type``; ``None`` when it was not read, then the
        data's shape decides (a boolean, an amount and a unit, a code).
    :return: the text, or ``None`` when the data does not fit the type (never a Python repr).
    """
    if attribute_type == "pim_catalog_boolean" or (attribute_type is None and isinstance(data, bool)):
        return ("true" if data else "false") if isinstance(data, bool) else None
    if attribute_type == "pim_catalog_metric" or (attribute_type is None and isinstance(data, dict)):
        if not isinstance(data, dict) or data.get("amount") is None or not data.get("unit"):
            return None
        amount = data["amount"]
        if isinstance(amount, bool) or not isinstance(amount, str | int | float):
            return None
        return f"{amount} {data['unit']}"
    if isinstance(data, str) and data:
        return data
    if attribute_type not in _CODE_TYPES and isinstance(data, int | float) and not isinstance(data, bool):
        return str(data)
    return None


def axis_values(
    values: Values,
    sets: list[AttributeSet],
    level: int,
    types: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> list[tuple[str, str]]:
    """``(axis attribute, value)`` of every axis down to ``level``, in family-variant order, so
    the same attribute stands at the same index in every group of a master (catalog.xsd).

    :param types: axis attribute code -> its Akeneo type, to write each value as
        :func:`axis_text` says.
    :param problems: gets one line per axis without a value, or whose value does not fit its
        type (that axis is left out).
    """
    found = []
    for attribute_set in sets[:level]:
        for axis in attribute_set.axes:
            datas = [v.data for v in values.get(axis) or [] if v.data is not None]
            text = axis_text(datas[0], (types or {}).get(axis)) if datas else None
            if text is not None:
                found.append((axis, text))
            elif problems is not None:
                given = (
                    f"value {datas[0]!r} does not fit type {(types or {}).get(axis)!r}"
                    if datas
                    else "no value"
                )
                problems.append(f"axis {axis!r}: {given}")
    return found
