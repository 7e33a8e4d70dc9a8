"""Product models, their family variants' levels and their variant products.

Product models and variants
---------------------------

With ``generate_catalog(models=N)`` (default 0: nothing below exists, and every resource is as without the
keyword) the catalog also has N root product models and their sub-models and variant products. The
attributes gain the simple-select axes ``color`` (black, blue, green, red, white), ``size`` (xs to xxl) and
``material`` (canvas, leather, suede); each family gains its axes; the ``sku`` rule widens to
``^SKU-\\d+(-[A-Z0-9]+)*$``. Each family has one family variant (catalog-structure.md); attributes in no
set are the root model's:

=============================  =====================  ==========================================
family variant                 level: axes            images owned per level
=============================  =====================  ==========================================
shoes_by_size                  root                   lifestyle, zoom, detail images, user manual
                               1: size                main_image, back_image (and sku)
shirts_by_color_size           root                   zoom_image
                               1: color (sub-model)   lifestyle_image
                               2: size                main_image, back_image (and sku)
accessories_by_color_material  root                   lifestyle, detail images, user manual
                               1: color + material    main_image (and sku)
=============================  =====================  ==========================================

Root model ``i`` (code ``MODEL-00001`` upwards) is a shoe (5 sizes), a shirt (3 colour sub-models
``MODEL-00002-blue``..., 4 sizes each) or an accessory (4 colour/material pairs) as ``i % 3`` says, so its
variants' indexes are computed, never stored. Variant products are products after the simple ones
(identifiers continue the ``SKU-`` numbering), with ``parent`` set, the root's family and categories, and,
as the API returns them (products.md), their ancestors' values merged in; a sub-model holds its root's
values too. Models and variants have no asset collections. Model files are named after the model code.

=====  ==========================================================================================
model  pinned case (index of the root model)
=====  ==========================================================================================
0      every image attribute filled at every level, every locale and scope
1      variant identifiers of about 75 characters: each sub-model's ``;``-joined SKUs exceed 255
2      no variant has an image of its own
3      the root model has no image of its own
4      its first sub-model (in code order) has no image of its own
=====  ==========================================================================================
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pim_sandbox.catalog.common import (
    _ASSOCIATION_TYPES,
    _ECOMMERCE_LOCALES,
    _NAMES,
    _PRINT_LOCALES,
    _UPDATED_FROM,
    _UPDATED_SPAN,
    _Dice,
    _iso,
)
from pim_sandbox.catalog.media import (
    _CODE_RE,
    MediaFile,
    MediaRenderer,
    _extension,
    _MediaSpec,
    _Slot,
    sanitize_filename,
)
from pim_sandbox.catalog.products import (
    _BACK_STEMS,
    _DETAIL_STEM,
    _IMAGE_FORMAT_WEIGHTS,
    _LIFESTYLE_STEMS,
    _MAIN_STEMS,
    _MANUAL_STEMS,
    _ZOOM_STEM,
    ProductHeader,
    Products,
)
from pim_sandbox.catalog.structure import (
    _AXIS_OPTIONS,
    _OPTION_LABELS,
    _level_attributes,
    variant_sets,
)


@dataclass(frozen=True, slots=True)
class ModelHeader:
    """The cheap part of a product model: enough to list, filter and page without building values.

    :ivar index: the root model's position, from 0 (a sub-model has its root's index).
    :ivar code: e.g. ``MODEL-00002`` (root) or ``MODEL-00002-blue`` (sub-model: root code and colour).
    :ivar level: 0 for a root model, 1 for a sub-model.
    :ivar parent: the root model's code for a sub-model, ``None`` for a root model.
    :ivar axes: the axis values this level owns, e.g. ``(("color", "blue"),)``; empty for a root model.
    """

    index: int
    code: str
    family: str
    family_variant: str
    level: int
    parent: str | None
    axes: tuple[tuple[str, str], ...]
    categories: tuple[str, ...]
    created: datetime
    updated: datetime


@dataclass(frozen=True, slots=True)
class _ModelLayout:
    """The axis options a root model's variants use: sizes (shoes, shirts), colours of its sub-models
    (shirts), (colour, material) pairs (accessories)."""

    family: str
    sizes: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()


# Root model i has family _MODEL_SHAPES[i % 3] and _SHAPE_VARIANTS[i % 3] variant products, so the variant
# products of model i start at a computed offset: no table.
# Root model i has family _MODEL_SHAPES[i % 3] and _SHAPE_VARIANTS[i % 3] variant products, so the variant
# products of model i start at a computed offset: no table.
_MODEL_SHAPES = ("shoes", "shirts", "accessories")
_SHAPE_VARIANTS = (5, 12, 4)  # 5 sizes; 3 colours x 4 sizes; 4 (colour, material) pairs
_SHAPE_OFFSETS = (0, 5, 17)
_CYCLE_VARIANTS = sum(_SHAPE_VARIANTS)
_MODEL_PINNED: dict[int, str] = {
    0: "full",
    1: "long_identifiers",
    2: "bare_variants",
    3: "bare_root",
    4: "bare_sub_model",
}
_LONG_SKU = "{sku}-OXFORD-SHIRT-SLIM-FIT-ORGANIC-COTTON-BUTTON-DOWN-COLLAR-{color}-{size}"
_MODEL_CODE_RE = re.compile(r"^MODEL-(\d+)(?:-[a-z]+)?$")
_MODEL_OWNER_RE = re.compile(r"MODEL_(\d+)")


class ProductModels:
    """The root product models of a catalog, their sub-models and their variant products.

    :param seed: seed of everything random.
    :param models_count: number of root product models.
    :param products: the catalog's products: variant products follow the simple ones and share their uuid
        scheme and media file names.
    :param renderer: renders and caches media files.
    :param typed_axes: the accessories vary by volume (a metric) and waterproof (a boolean) instead of
        colour and material (the same layout, so the same variants: only their axis values differ).
    """

    def __init__(
        self,
        seed: int,
        models_count: int,
        products: Products,
        renderer: MediaRenderer,
        *,
        typed_axes: bool = False,
    ) -> None:
        self.typed_axes = typed_axes
        self.seed = seed
        self.models_count = models_count
        self.simple_products_count = products.simple_products_count
        self._products = products
        self._renderer = renderer
        self._variant_width = max(5, len(str(products.products_count)))
        self._model_width = max(5, len(str(models_count)))

    def iter_model_headers(self, *, after: str | None = None) -> Iterator[ModelHeader]:
        """Yield product model headers in code order (the order of ``search_after`` pages): each root model,
        then its sub-models in colour code order.

        :param after: only models whose code sorts after this one (a ``search_after`` cursor); any string
            works.
        """
        start = 0
        if after is not None:  # root codes have a fixed width, so they sort like their indexes
            low, high = 0, self.models_count
            while low < high:
                middle = (low + high) // 2
                if self._model_code(middle) <= after:
                    low = middle + 1
                else:
                    high = middle
            start = max(low - 1, 0)
        for index in range(start, self.models_count):
            for header in self._model_family_tree(index):
                if after is None or header.code > after:
                    yield header

    def iter_product_models(self, base_url: str = "") -> Iterator[dict[str, Any]]:
        """Yield every product model resource in code order, as :meth:`iter_model_headers` lists them."""
        for header in self.iter_model_headers():
            yield self._model_resource(header, base_url)

    def model_header(self, code: str) -> ModelHeader:
        """Return the header of the product model ``code`` (root or sub-model), without building values.

        :raises KeyError: if there is no such product model.
        """
        match = _MODEL_CODE_RE.match(code)
        if match is None:
            raise KeyError(code)
        index = int(match.group(1)) - 1
        if not 0 <= index < self.models_count or self._model_code(index) != f"MODEL-{match.group(1)}":
            raise KeyError(code)
        for header in self._model_family_tree(index):
            if header.code == code:
                return header
        raise KeyError(code)

    def product_model(self, code: str, base_url: str = "") -> dict[str, Any]:
        """Return a product model as ``GET /api/rest/v1/product-models/{code}`` shows it, without ``_links``.

        Its values hold its ancestors' values merged in, as the API returns them (products.md); media values
        carry ``_links.download.href``, absolute when ``base_url`` is given.

        :raises KeyError: if there is no such product model.
        """
        return self._model_resource(self.model_header(code), base_url)

    def variants_of(self, code: str) -> list[ProductHeader]:
        """Return the headers of the variant products below a product model, in index (and uuid) order.

        For a root model of a two-level family variant, these are the variants of all its sub-models.

        :raises KeyError: if there is no such product model.
        """
        header = self.model_header(code)
        first = self.simple_products_count + _variants_before(header.index)
        count = _SHAPE_VARIANTS[header.index % len(_MODEL_SHAPES)]
        variants = [self.variant_header(index) for index in range(first, first + count)]
        return [variant for variant in variants if code in variant.ancestors]

    def variant_header(self, index: int) -> ProductHeader:
        model, position = self._variant_position(index)
        layout = self._layout(model)
        root = self._root_header(model)
        ancestors: tuple[ModelHeader, ...] = (root,)
        if layout.colours:
            ancestors = (self._sub_header(root, layout.colours[position // len(layout.sizes)]), root)
        digest = self._products.digest(index)
        enabled_roll, updated_s, created_s = struct.unpack_from(">3I", digest, 4)
        identifier = f"SKU-{index + 1:0{self._variant_width}d}"
        if _MODEL_PINNED.get(model) == "long_identifiers":
            axes = dict(ancestors[0].axes) | dict(self._variant_axes(layout, position))
            identifier = _LONG_SKU.format(
                sku=identifier, color=axes["color"].upper(), size=axes["size"].upper()
            )
        updated = _UPDATED_FROM + timedelta(seconds=updated_s % _UPDATED_SPAN)
        return ProductHeader(
            index=index,
            uuid=self._products.uuid(index, digest),
            identifier=identifier,
            family=layout.family,
            enabled=enabled_roll >= 0.03 * 2**32,
            categories=root.categories,
            created=updated - timedelta(seconds=created_s % (400 * 86_400)),
            updated=updated,
            ancestors=tuple(ancestor.code for ancestor in ancestors),
            ancestors_updated=tuple(ancestor.updated for ancestor in ancestors),
        )

    def variant_values(self, header: ProductHeader, base_url: str) -> dict[str, list[dict[str, Any]]]:
        """Return a variant's values: its identifier, its ancestors' values merged in (root first), then its
        own axes and images."""
        model, position = self._variant_position(header.index)
        values: dict[str, list[dict[str, Any]]] = {
            "sku": [{"locale": None, "scope": None, "data": header.identifier}]
        }
        values.update(self._model_values(self.model_header(header.ancestors[0]), base_url))
        for axis, option in self._variant_axes(self._layout(model), position):
            values[axis] = [_axis_value(axis, option)]
        self._renderer.add_media_values(values, self.variant_plan(header), base_url)
        return values

    def variant_plan(self, header: ProductHeader) -> list[_Slot]:
        """Return the media slots a variant product owns (the last level's image attributes)."""
        model, _ = self._variant_position(header.index)
        pin = _MODEL_PINNED.get(model)
        dice = _Dice(self.seed, "variant-plan", header.index)
        if pin == "bare_variants" or (pin is None and dice.chance(0.12)):
            return []
        levels = len(variant_sets(header.family, self.typed_axes)[2])
        attributes = _level_attributes(header.family, levels, self.typed_axes)

        def spec(attribute: str, locale: str | None, scope: str | None) -> _MediaSpec:
            return self._products.spec(header, attribute, locale, scope)

        return _level_slots(attributes, pin == "full", dice, spec)

    def model_media(self, code: str, sanitized: str) -> MediaFile:
        """Find a media file a product model owns from its code (its name carries the root model's code)."""
        match = _CODE_RE.match(code)
        owner = _MODEL_OWNER_RE.search(sanitized)
        if match is None or owner is None or "".join(match.group(1, 2, 3, 4)) != match.group(5)[:4]:
            raise KeyError(code)
        index = int(owner.group(1)) - 1
        if not 0 <= index < self.models_count:
            raise KeyError(code)
        for header in self._model_family_tree(index):
            for slot in self._model_plan(header):
                if sanitize_filename(slot.spec.original_filename) == sanitized:
                    media = self._renderer.render(slot.spec)
                    if media.code == code:
                        return media
        raise KeyError(code)

    def _model_code(self, index: int) -> str:
        return f"MODEL-{index + 1:0{self._model_width}d}"

    def _layout(self, index: int) -> _ModelLayout:
        """Return root model ``index``'s family and the axis options its variants use."""
        family = _MODEL_SHAPES[index % len(_MODEL_SHAPES)]
        dice = _Dice(self.seed, "model-layout", index)
        sizes, colours = _AXIS_OPTIONS["size"], _AXIS_OPTIONS["color"]
        if family == "shoes":
            start = dice.below(len(sizes) - 4)
            return _ModelLayout(family, sizes=sizes[start : start + 5])
        if family == "shirts":
            start = dice.below(len(sizes) - 3)
            return _ModelLayout(
                family, colours=tuple(sorted(_distinct(colours, 3, dice))), sizes=sizes[start : start + 4]
            )
        pairs = tuple((colour, material) for colour in colours for material in _AXIS_OPTIONS["material"])
        return _ModelLayout(family, pairs=tuple(sorted(_distinct(pairs, 4, dice))))

    def _model_family_tree(self, index: int) -> list[ModelHeader]:
        """Return root model ``index`` and its sub-models, in code order."""
        root = self._root_header(index)
        return [root, *(self._sub_header(root, colour) for colour in self._layout(index).colours)]

    def _root_header(self, index: int) -> ModelHeader:
        layout = self._layout(index)
        dice = _Dice(self.seed, "model-header", index)
        updated = _UPDATED_FROM + timedelta(seconds=dice.below(_UPDATED_SPAN))
        categories = [layout.family]
        if dice.chance(0.2):
            categories.append("summer_sale")
        if dice.chance(0.15):
            categories.append("new_arrivals")
        return ModelHeader(
            index=index,
            code=self._model_code(index),
            family=layout.family,
            family_variant=variant_sets(layout.family, self.typed_axes)[0],
            level=0,
            parent=None,
            axes=(),
            categories=tuple(sorted(categories)),
            created=updated - timedelta(seconds=dice.below(400 * 86_400)),
            updated=updated,
        )

    def _sub_header(self, root: ModelHeader, colour: str) -> ModelHeader:
        dice = _Dice(self.seed, "sub-model-header", root.index, colour)
        updated = _UPDATED_FROM + timedelta(seconds=dice.below(_UPDATED_SPAN))
        return ModelHeader(
            index=root.index,
            code=f"{root.code}-{colour}",
            family=root.family,
            family_variant=root.family_variant,
            level=1,
            parent=root.code,
            axes=(("color", colour),),
            categories=root.categories,  # the API merges the ancestors' categories in
            created=min(root.created, updated),
            updated=updated,
        )

    def _variant_position(self, index: int) -> tuple[int, int]:
        """Return (root model index, variant position in the model) of variant product ``index``."""
        cycle, rest = divmod(index - self.simple_products_count, _CYCLE_VARIANTS)
        shape = sum(1 for offset in _SHAPE_OFFSETS[1:] if rest >= offset)
        return cycle * len(_MODEL_SHAPES) + shape, rest - _SHAPE_OFFSETS[shape]

    def _variant_axes(self, layout: _ModelLayout, position: int) -> tuple[tuple[str, str], ...]:
        """Return the axis values a variant owns (the last level's axes)."""
        if layout.family == "shoes":
            return (("size", layout.sizes[position]),)
        if layout.family == "shirts":
            return (("size", layout.sizes[position % len(layout.sizes)]),)
        colour, material = layout.pairs[position]
        if self.typed_axes:  # a distinct volume per (colour, material) pair keeps the variants unique
            colours, materials = _AXIS_OPTIONS["color"], _AXIS_OPTIONS["material"]
            pair = colours.index(colour) * len(materials) + materials.index(material)
            waterproof = "true" if colours.index(colour) % 2 == 0 else "false"
            return (("volume", f"{0.25 * (pair + 1):.4f}"), ("waterproof", waterproof))
        return (("color", colour), ("material", material))

    def _model_resource(self, header: ModelHeader, base_url: str) -> dict[str, Any]:
        return {
            "code": header.code,
            "family": header.family,
            "family_variant": header.family_variant,
            "parent": header.parent,
            "categories": list(header.categories),
            "values": self._model_values(header, base_url),
            "created": _iso(header.created),
            "updated": _iso(header.updated),
            "associations": {
                code: {"products": [], "product_models": [], "groups": []} for code in _ASSOCIATION_TYPES
            },
            "quantified_associations": {},
        }

    def _model_values(self, header: ModelHeader, base_url: str) -> dict[str, list[dict[str, Any]]]:
        """Return a model's values with its parent's merged in (products.md: the API returns inherited
        values); the root's first."""
        values = (
            {} if header.parent is None else self._model_values(self.model_header(header.parent), base_url)
        )
        if header.level == 0:
            values["name"] = [
                {
                    "locale": locale,
                    "scope": None,
                    "data": f"{_NAMES[header.family][locale]} {header.index + 1}",
                }
                for locale in _ECOMMERCE_LOCALES
            ]
        for axis, option in header.axes:
            values[axis] = [_axis_value(axis, option)]
        self._renderer.add_media_values(values, self._model_plan(header), base_url)
        return values

    def _model_plan(self, header: ModelHeader) -> list[_Slot]:
        """Return the media slots a product model owns (its level's image attributes; not inherited ones)."""
        pin = _MODEL_PINNED.get(header.index)
        dice = _Dice(self.seed, "model-plan", header.code)
        if pin == "bare_root" and header.level == 0:
            return []
        if (
            pin == "bare_sub_model"
            and header.level == 1
            and header.axes[0][1] == self._layout(header.index).colours[0]
        ):
            return []
        if pin is None and dice.chance(0.05 if header.level == 0 else 0.1):
            return []

        def spec(attribute: str, locale: str | None, scope: str | None) -> _MediaSpec:
            return self._model_spec(header, attribute, locale, scope)

        attributes = _level_attributes(header.family, header.level, self.typed_axes)
        return _level_slots(attributes, pin == "full", dice, spec)

    def _model_spec(
        self, header: ModelHeader, attribute: str, locale: str | None, scope: str | None
    ) -> _MediaSpec:
        """Like :meth:`Products.spec <pim_sandbox.catalog.products.Products.spec>`, for a file a product
        model owns: its name carries the model's code."""
        dice = _Dice(self.seed, "model-media", header.code, attribute, locale, scope)
        if attribute == "user_manual":
            filename = f"{dice.pick(_MANUAL_STEMS).format(sku=header.code)}.pdf"
            return _MediaSpec(header.code, attribute, locale, scope, "PDF", filename)
        kind = dice.weighted(_IMAGE_FORMAT_WEIGHTS)
        stems = {
            "main_image": lambda: dice.pick(_MAIN_STEMS),
            "back_image": lambda: dice.pick(_BACK_STEMS),
            "lifestyle_image": lambda: _LIFESTYLE_STEMS[header.family][locale or "en_US"],
            "zoom_image": lambda: _ZOOM_STEM,
        }
        stem = stems.get(attribute, lambda: _DETAIL_STEM)()
        extension = _extension(kind, stem, dice)
        filename = f"{stem.format(sku=header.code, locale=locale, scope=scope)}.{extension}"
        return _MediaSpec(header.code, attribute, locale, scope, kind, filename)


def _variants_before(models: int) -> int:
    """Return how many variant products the root models ``[0, models)`` have."""
    cycles, rest = divmod(models, len(_MODEL_SHAPES))
    return cycles * _CYCLE_VARIANTS + _SHAPE_OFFSETS[rest]


def _distinct(options: tuple[Any, ...], count: int, dice: _Dice) -> list[Any]:
    pool = list(options)
    return [pool.pop(dice.below(len(pool))) for _ in range(count)]


def _level_slots(
    attributes: frozenset[str],
    full: bool,
    dice: _Dice,
    spec: Callable[[str, str | None, str | None], _MediaSpec],
) -> list[_Slot]:
    """Return the media slots of one level: each image attribute it owns, at random (all if ``full``)."""
    slots: list[_Slot] = []

    def add(attribute: str, locale: str | None, scope: str | None, probability: float) -> None:
        if attribute in attributes and (full or dice.chance(probability)):
            slots.append(_Slot(attribute, locale, scope, spec(attribute, locale, scope)))

    add("main_image", None, None, 0.9)
    add("back_image", None, None, 0.5)
    for locale in _ECOMMERCE_LOCALES:
        add("lifestyle_image", locale, None, 0.75)
    for scope in ("ecommerce", "print"):
        add("zoom_image", None, scope, 0.8)
    for scope, locales in (("ecommerce", _ECOMMERCE_LOCALES), ("print", _PRINT_LOCALES)):
        for locale in locales:
            add("detail_image", locale, scope, 0.5)
    add("user_manual", None, None, 0.3)
    return slots


def _axis_value(axis: str, option: str) -> dict[str, Any]:
    """Format an axis value as Akeneo does: a metric as ``{"amount": "0.5000", "unit": "LITER"}`` (the
    amount a string with four decimals), a boolean as ``true``/``false``, a simple select with its
    ``linked_data`` (products.md, "The linked_data format")."""
    if axis == "volume":
        return {"locale": None, "scope": None, "data": {"amount": option, "unit": "LITER"}}
    if axis == "waterproof":
        return {"locale": None, "scope": None, "data": option == "true"}
    return {
        "locale": None,
        "scope": None,
        "data": option,
        "linked_data": {"attribute": axis, "code": option, "labels": _OPTION_LABELS[option]},
    }
