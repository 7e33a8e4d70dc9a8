"""The sandbox Akeneo's product models, family variants and variant products, over real HTTP.

One server per module (uvicorn in a thread on a free port) serves a small catalog with product models
(30 simple products, 8 root models, seed 7). JSON responses go through :func:`checked`, which validates them
against the official Swagger file, corrected as ``swagger.py`` explains (``MODEL_CORRECTIONS`` for these
routes; each is shown to be still needed below). No conftest: the fixtures live here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from PIL import Image

from pim_sandbox.catalog import SandboxCatalog, generate_catalog

try:  # tests/integration is a plain folder today; keep working if it becomes a package
    from . import swagger
    from .sandbox_api import assert_error, authorised_client, checked
except ImportError:
    import swagger  # type: ignore[no-redef]
    from sandbox_api import assert_error, authorised_client, checked  # type: ignore[no-redef]

MODELS = "/api/rest/v1/product-models"
MODEL = "/api/rest/v1/product-models/{code}"
VARIANTS = "/api/rest/v1/families/{family_code}/variants"
VARIANT = "/api/rest/v1/families/{family_code}/variants/{code}"
PRODUCTS = "/api/rest/v1/products-uuid"
PRODUCT = "/api/rest/v1/products-uuid/{uuid}"
IMAGE_ATTRIBUTES = (
    "main_image",
    "back_image",
    "lifestyle_image",
    "zoom_image",
    "detail_image",
    "user_manual",
)
SIMPLE, ROOTS = 30, 8


@pytest.fixture(scope="module")
def catalog() -> SandboxCatalog:
    return generate_catalog(SIMPLE, models=ROOTS)


@pytest.fixture(scope="module")
def api(catalog: SandboxCatalog) -> Iterator[httpx.Client]:
    with authorised_client(catalog) as client:
        yield client


def _walk(
    client: httpx.Client, url: str, params: dict[str, Any], template: str | None = None
) -> list[dict[str, Any]]:
    """Follow ``_links.next`` from the first page of ``url``; return every item, each page validated against
    ``template`` (the Swagger path, ``url`` by default)."""
    template = template or url
    pages = [checked(client.get(url, params=params), template)]
    while "next" in pages[-1]["_links"]:
        assert len(pages) < 200, "pagination does not end"
        pages.append(checked(client.get(pages[-1]["_links"]["next"]["href"]), template))
    return [item for page in pages for item in page["_embedded"]["items"]]


def _level_attributes(catalog: SandboxCatalog, family: str, level: int) -> set[str]:
    (variant,) = catalog.family_variants[family]
    sets = variant["variant_attribute_sets"]
    if level:
        return set(sets[level - 1]["attributes"])
    owned = {code for level_set in sets for code in level_set["attributes"]}
    return set(catalog.families[family]["attributes"]) - owned


# -- models=0 changes nothing --------------------------------------------------------------------------


def test_no_models_changes_nothing() -> None:
    default, zero = generate_catalog(SIMPLE), generate_catalog(SIMPLE, models=0)

    assert list(zero.iter_products("http://x")) == list(default.iter_products("http://x"))
    assert dict(zero.attributes) == dict(default.attributes)
    assert dict(zero.families) == dict(default.families)
    assert zero.products_count == zero.simple_products_count == SIMPLE
    assert (zero.models_count, zero.variants_count, list(zero.iter_model_headers())) == (0, 0, [])
    assert all(variants == () for variants in zero.family_variants.values())


def test_models_only_add(catalog: SandboxCatalog) -> None:
    plain = generate_catalog(SIMPLE)

    # Simple products keep their identifiers and values; variants come after them.
    assert [catalog.product(i) for i in range(SIMPLE)] == list(plain.iter_products())
    assert list(catalog.iter_asset_headers()) == list(plain.iter_asset_headers())
    assert catalog.products_count == SIMPLE + catalog.variants_count
    # Attributes: the three axes, and the identifier rule widened for variant SKUs.
    assert set(catalog.attributes) - set(plain.attributes) == {"color", "size", "material"}
    assert {
        code: a for code, a in catalog.attributes.items() if code in plain.attributes and code != "sku"
    } == {code: a for code, a in plain.attributes.items() if code != "sku"}
    for code in ("color", "size", "material"):
        attribute = catalog.attributes[code]
        assert (attribute["type"], attribute["localizable"], attribute["scopable"]) == (
            "pim_catalog_simpleselect",
            False,
            False,
        )
    axes = {"shoes": {"size"}, "shirts": {"color", "size"}, "accessories": {"color", "material"}}
    for code, family in catalog.families.items():
        assert set(family["attributes"]) - set(plain.families[code]["attributes"]) == axes[code]


# -- family variants -----------------------------------------------------------------------------------


def test_family_variants_have_three_shapes(api: httpx.Client, catalog: SandboxCatalog) -> None:
    shapes = {}
    for family in catalog.families:
        items = _walk(api, VARIANTS.format(family_code=family), {"limit": 1, "with_count": "true"}, VARIANTS)
        assert [item.pop("_links") for item in items] and items == list(catalog.family_variants[family])
        (variant,) = items
        assert checked(api.get(VARIANT.format(family_code=family, code=variant["code"])), VARIANT) == variant
        shapes[variant["code"]] = [(s["level"], s["axes"]) for s in variant["variant_attribute_sets"]]
        for level_set in variant["variant_attribute_sets"]:
            assert set(level_set["axes"]) <= set(level_set["attributes"])  # catalog-structure.md
            assert set(level_set["attributes"]) <= set(catalog.families[family]["attributes"])

    assert shapes == {
        "shoes_by_size": [(1, ["size"])],
        "shirts_by_color_size": [(1, ["color"]), (2, ["size"])],
        "accessories_by_color_material": [(1, ["color", "material"])],
    }
    # The identifier goes to the last level; every level owns images, and so does the root.
    for family in catalog.families:
        sets = catalog.family_variants[family][0]["variant_attribute_sets"]
        assert "sku" in sets[-1]["attributes"]
        for level in range(len(sets) + 1):
            assert set(IMAGE_ATTRIBUTES) & _level_attributes(catalog, family, level), (family, level)


@pytest.mark.parametrize(
    ("url", "template", "message"),
    [
        (VARIANTS.format(family_code="hats"), VARIANTS, 'Family "hats" does not exist.'),
        (VARIANT.format(family_code="hats", code="x"), VARIANT, 'Family "hats" does not exist.'),
        (
            VARIANT.format(family_code="shoes", code="shirts_by_color_size"),
            VARIANT,
            'Family variant "shirts_by_color_size" does not exist or is not a variant of the family "shoes".',
        ),
        (
            MODEL.format(code="MODEL-00099"),
            MODEL,
            'Product model "MODEL-00099" does not exist or you do not have permission to access it.',
        ),
        (
            MODEL.format(code="MODEL-00002-purple"),
            MODEL,
            'Product model "MODEL-00002-purple" does not exist or you do not have permission to access it.',
        ),
    ],
)
def test_unknown_resources_get_404(api: httpx.Client, url: str, template: str, message: str) -> None:
    assert_error(api.get(url), template, 404, message)


# -- product models ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pagination_type", ["page", "search_after"])
def test_pagination_walks_every_model_once(
    api: httpx.Client, catalog: SandboxCatalog, pagination_type: str
) -> None:
    items = _walk(api, MODELS, {"limit": 4, "pagination_type": pagination_type})

    codes = [item["code"] for item in items]
    assert codes == [header.code for header in catalog.iter_model_headers()] == sorted(set(codes))
    roots = [item for item in items if item["parent"] is None]
    assert len(roots) == ROOTS and len(items) == ROOTS + 3 * 3  # three shirts models of three colours
    assert items[0]["_links"]["self"]["href"].endswith(MODEL.format(code=codes[0]))


def test_with_count_and_search_after_cursor(api: httpx.Client, catalog: SandboxCatalog) -> None:
    body = checked(api.get(MODELS, params={"with_count": "true", "limit": 2}), MODELS)
    assert body["items_count"] == sum(1 for _ in catalog.iter_model_headers())

    assert_error(
        api.get(MODELS, params={"pagination_type": "search_after", "search_after": "!"}),
        MODELS,
        422,
        '"!" is not a valid search_after cursor. Use the links of the previous page.',
    )


def test_get_one_model_of_each_level(api: httpx.Client, catalog: SandboxCatalog) -> None:
    for code in ("MODEL-00001", "MODEL-00002", next(h.code for h in catalog.iter_model_headers() if h.level)):
        body = checked(api.get(MODEL.format(code=code)), MODEL)
        assert body == catalog.product_model(code, str(api.base_url).rstrip("/"))
        assert body["family_variant"] == catalog.family_variants[body["family"]][0]["code"]


def _codes(api: httpx.Client, search: dict[str, Any], **params: str) -> list[str]:
    return [
        item["code"] for item in _walk(api, MODELS, {"search": json.dumps(search), "limit": 100, **params})
    ]


def test_model_filters(api: httpx.Client, catalog: SandboxCatalog) -> None:
    headers = list(catalog.iter_model_headers())
    updated = sorted(header.updated for header in headers)[len(headers) // 2]
    bound = updated.strftime("%Y-%m-%d %H:%M:%S")

    assert _codes(api, {"updated": [{"operator": ">", "value": bound}]}) == [
        h.code for h in headers if h.updated > updated
    ]
    assert _codes(api, {"parent": [{"operator": "EMPTY"}]}) == [h.code for h in headers if h.level == 0]
    assert _codes(api, {"parent": [{"operator": "IN", "value": ["MODEL-00002"]}]}) == [
        h.code for h in headers if h.parent == "MODEL-00002"
    ]
    assert _codes(api, {"family": [{"operator": "IN", "value": ["accessories"]}]}) == [
        h.code for h in headers if h.family == "accessories"
    ]
    assert _codes(api, {"identifier": [{"operator": "IN", "value": ["MODEL-00003", "MODEL-00004"]}]}) == [
        "MODEL-00003",
        "MODEL-00004",
    ]
    assert_error(
        api.get(MODELS, params={"search": json.dumps({"sku": [{"operator": "=", "value": "x"}]})}),
        MODELS,
        422,
        'Filter on property "sku" is not supported or does not support operator "="',
    )
    assert_error(
        api.get(MODELS, params={"search": "{"}), MODELS, 400, "Search query parameter should be valid JSON."
    )


def test_model_value_filters(api: httpx.Client) -> None:
    params = {
        "scope": "print",
        "locales": "en_US",
        "attributes": "zoom_image,detail_image,name",
        "limit": 100,
    }
    for item in _walk(api, MODELS, params):
        assert set(item["values"]) <= {"zoom_image", "detail_image", "name"}
        for values in item["values"].values():
            assert all(value["scope"] in (None, "print") for value in values)
            assert all(value["locale"] in (None, "en_US") for value in values)


# -- inheritance (products.md: the API returns a model's and a variant's values with its ancestors') ----


def _without_links(values: dict[str, Any]) -> dict[str, Any]:
    return {
        code: [{k: v for k, v in item.items() if k != "_links"} for item in items]
        for code, items in values.items()
    }


def test_values_inherit_and_levels_own_their_attributes(catalog: SandboxCatalog) -> None:
    for header in catalog.iter_model_headers():
        model = catalog.product_model(header.code)
        own = set(model["values"])
        if header.parent is not None:
            parent = catalog.product_model(header.parent)
            assert model["values"].items() >= parent["values"].items()  # inherited, unchanged
            own -= set(parent["values"])
        assert own <= _level_attributes(catalog, header.family, header.level) | {"name"}
        assert dict(header.axes).keys() <= own
        for variant in catalog.variants_of(header.code):
            product = catalog.product(variant.index)
            assert product["values"].items() >= model["values"].items()
            assert product["family"] == model["family"]
            assert product["categories"] == model["categories"]

    for index in range(SIMPLE, catalog.products_count):
        product = catalog.product(index)
        parent = catalog.product_model(product["parent"])
        header = catalog.model_header(product["parent"])
        last = len(catalog.family_variants[product["family"]][0]["variant_attribute_sets"])
        own = set(product["values"]) - set(parent["values"])
        assert own <= _level_attributes(catalog, product["family"], last)
        assert product["values"]["sku"][0]["data"] == catalog.header(index).identifier
        assert header.level == last - 1


def test_axis_values_are_set_at_their_level(catalog: SandboxCatalog) -> None:
    sub = next(h for h in catalog.iter_model_headers() if h.parent == "MODEL-00002")
    colour = sub.axes[0][1]
    (value,) = catalog.product_model(sub.code)["values"]["color"]
    assert {k: v for k, v in value.items() if k != "linked_data"} == {
        "locale": None,
        "scope": None,
        "data": colour,
    }
    assert value["linked_data"]["attribute"] == "color" and value["linked_data"]["code"] == colour
    assert set(value["linked_data"]["labels"]) == {"de_DE", "en_US", "fr_FR"}  # products.md, linked_data
    assert "color" not in catalog.product_model("MODEL-00002")["values"]
    pairs = {
        (values["color"][0]["data"], values["material"][0]["data"])
        for values in (catalog.product(v.index)["values"] for v in catalog.variants_of("MODEL-00003"))
    }
    assert len(pairs) == len(catalog.variants_of("MODEL-00003")) == 4  # two axes on one level, all distinct
    sizes = [catalog.product(v.index)["values"]["size"][0]["data"] for v in catalog.variants_of(sub.code)]
    assert len(set(sizes)) == len(sizes) == 4
    assert all("size" not in catalog.product_model(h.code)["values"] for h in catalog.iter_model_headers())


# -- variant products ----------------------------------------------------------------------------------


def test_variant_products_are_served_after_the_simple_ones(
    api: httpx.Client, catalog: SandboxCatalog
) -> None:
    items = _walk(api, PRODUCTS, {"limit": 100, "pagination_type": "search_after"})
    assert len(items) == catalog.products_count
    assert [item["parent"] for item in items[:SIMPLE]] == [None] * SIMPLE
    assert all(item["parent"] is not None for item in items[SIMPLE:])

    variant = catalog.header(SIMPLE + 5)  # the first variant of MODEL-00002 (two levels)
    body = checked(api.get(PRODUCT.format(uuid=variant.uuid)), PRODUCT)
    assert body["parent"] == variant.parent == variant.ancestors[0]
    assert variant.ancestors == (f"MODEL-00002-{body['values']['color'][0]['data']}", "MODEL-00002")


def _identifiers(api: httpx.Client, search: dict[str, Any]) -> list[str]:
    params = {"search": json.dumps(search), "limit": 100}
    return [item["values"]["sku"][0]["data"] for item in _walk(api, PRODUCTS, params)]


def test_parent_filter_on_products(api: httpx.Client, catalog: SandboxCatalog) -> None:
    sub = next(h.code for h in catalog.iter_model_headers() if h.parent == "MODEL-00002")
    variants = [h.identifier for h in catalog.variants_of("MODEL-00002")]

    assert _identifiers(api, {"parent": [{"operator": "=", "value": "MODEL-00002"}]}) == variants
    assert _identifiers(api, {"parent": [{"operator": "IN", "value": ["MODEL-00002"]}]}) == []  # direct only
    assert _identifiers(api, {"parent": [{"operator": "IN", "value": [sub]}]}) == [
        h.identifier for h in catalog.variants_of(sub)
    ]
    assert len(_identifiers(api, {"parent": [{"operator": "EMPTY"}]})) == SIMPLE
    assert len(_identifiers(api, {"parent": [{"operator": "NOT EMPTY"}]})) == catalog.variants_count


def test_updated_filter_returns_variants_of_updated_models(
    api: httpx.Client, catalog: SandboxCatalog
) -> None:
    # filter.md: a variant older than the filter comes back when one of its parent models matches it.
    root = catalog.model_header("MODEL-00001")
    bound = root.updated.strftime("%Y-%m-%d %H:%M:%S")
    found = set(_identifiers(api, {"updated": [{"operator": "=", "value": bound}]}))
    assert {h.identifier for h in catalog.variants_of("MODEL-00001")} <= found


# -- pinned edge cases ---------------------------------------------------------------------------------


def test_pinned_edge_cases(catalog: SandboxCatalog) -> None:
    # MODEL-00001: every image at every level. MODEL-00002: variant identifiers so long that the skus list of
    # each sub-model exceeds BSPK's 255 characters, while each stays within SFCC's 100.
    for header in catalog.iter_model_headers():
        if header.code.startswith("MODEL-00002-"):
            skus = [variant.identifier for variant in catalog.variants_of(header.code)]
            assert len(";".join(skus)) > 255 and max(map(len, skus)) <= 100
    assert all(len(v.identifier) < 12 for v in catalog.variants_of("MODEL-00001"))

    def own_media(code: str) -> list[str]:
        values = catalog.product_model(code)["values"]
        parent = catalog.model_header(code).parent
        inherited = catalog.product_model(parent)["values"] if parent else {}
        return [
            attribute for attribute in values if attribute in IMAGE_ATTRIBUTES and attribute not in inherited
        ]

    full = catalog.variants_of("MODEL-00001")
    assert own_media("MODEL-00001") and all(catalog.product_media(v.index) for v in full)
    # MODEL-00003: variants without any image of their own.
    assert [catalog.product_media(v.index) for v in catalog.variants_of("MODEL-00003")] == [[]] * 4
    assert own_media("MODEL-00003")
    # MODEL-00004: a root model without images of its own; its variants have theirs.
    assert own_media("MODEL-00004") == []
    assert all(catalog.product_media(v.index) for v in catalog.variants_of("MODEL-00004"))
    # MODEL-00005: its first sub-model has no image of its own.
    first, *others = [h for h in catalog.iter_model_headers() if h.parent == "MODEL-00005"]
    assert own_media(first.code) == [] and others
    # Unpinned variants (MODEL-00006 on): most have images of their own.
    unpinned = [
        catalog.product_media(v.index)
        for code in ("MODEL-00006", "MODEL-00007", "MODEL-00008")
        for v in catalog.variants_of(code)
    ]
    assert sum(1 for media in unpinned if media) > len(unpinned) // 2


def test_model_and_variant_media_download(api: httpx.Client, catalog: SandboxCatalog) -> None:
    model = catalog.product_model("MODEL-00001")
    variant = catalog.product(catalog.variants_of("MODEL-00001")[0].index)
    for values in (model["values"], variant["values"]):
        value = next(v for code in ("zoom_image", "main_image") for v in values.get(code, []))
        media = catalog.media(value["data"])
        response = api.get(f"/api/rest/v1/media-files/{value['data']}/download")
        assert response.status_code == 200 and response.content == media.content
        with Image.open(io.BytesIO(response.content)) as picture:
            picture.load()
    with pytest.raises(KeyError):
        catalog.media("0/0/0/0/0000" + "0" * 36 + "_MODEL_00001_nothing.jpg")


# -- determinism ---------------------------------------------------------------------------------------


def test_same_seed_same_models_other_seed_other_models(catalog: SandboxCatalog) -> None:
    def dump(c: SandboxCatalog) -> str:
        variants = [c.product(i) for i in range(c.simple_products_count, c.products_count)]
        return json.dumps([list(c.iter_product_models()), variants, dict(c.family_variants)])

    assert dump(generate_catalog(SIMPLE, models=ROOTS)) == dump(catalog)
    assert dump(generate_catalog(SIMPLE, 8, models=ROOTS)) != dump(catalog)
    # A model does not depend on how many models follow it.
    assert catalog.product_model("MODEL-00002") == generate_catalog(SIMPLE, models=3).product_model(
        "MODEL-00002"
    )


# -- the Swagger file's corrections ----------------------------------------------------------------------


def test_validation_catches_a_broken_model(api: httpx.Client) -> None:
    body = checked(api.get(MODEL.format(code="MODEL-00001")), MODEL)
    body["family_variant"] = 3

    with pytest.raises(jsonschema.ValidationError, match="3 is not of type 'string'"):
        swagger.validate(body, MODEL, "get", 200)


def _model_samples(api: httpx.Client) -> dict[str, tuple[Any, str, int]]:
    """One real response per model correction that, validated without that correction, must fail."""
    root = api.get(MODEL.format(code="MODEL-00001")).json()
    sub = next(m for m in api.get(MODELS, params={"limit": 100}).json()["_embedded"]["items"] if m["parent"])
    return {
        "model-values-nullable-any": ({**sub, "parent": "MODEL-00002"}, MODEL, 200),
        "model-parent-nullable": ({**root, "values": {}}, MODEL, 200),
        "model-errors": (api.get(VARIANTS.format(family_code="hats")).json(), VARIANTS, 404),
    }


@pytest.mark.parametrize("name", [correction.name for correction in swagger.MODEL_CORRECTIONS])
def test_each_model_correction_is_still_needed(api: httpx.Client, name: str) -> None:
    body, path, status = _model_samples(api)[name]

    without = _fails(body, path, status, skip=frozenset({name}))
    with_all = _fails(body, path, status, skip=frozenset())

    assert (without, with_all) == (True, False)


def _fails(body: Any, path: str, status: int, *, skip: frozenset[str]) -> bool:
    try:
        swagger.validate(body, path, "get", status, skip=skip)
    except (jsonschema.ValidationError, AssertionError):
        return True
    return False
