"""Extraction of product models and family variants against the sandbox, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pim_images import records
from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import AkeneoClient
from pim_images.config import load_config
from pim_images.errors import CatalogError
from pim_images.extract import extract_catalog, extract_structure
from pim_images.models import read_models, root_of
from pim_images.records import iter_products
from pim_images.store import StateStore, sqlite_url
from pim_sandbox.catalog import SandboxCatalog, generate_catalog
from pim_sandbox.credentials import (
    AKENEO_CLIENT_ID,
    AKENEO_CLIENT_SECRET,
    AKENEO_PASSWORD,
    AKENEO_USER,
)
from pim_sandbox.environment import create_sandbox_app
from pim_sandbox.http_server import serve_in_thread

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"


@pytest.fixture(scope="module")
def catalog() -> SandboxCatalog:
    return generate_catalog(products=30, seed=7, models=8)


@pytest.fixture(scope="module")
def app(catalog: SandboxCatalog) -> Any:
    return create_sandbox_app(catalog)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[AkeneoClient]:
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    with serve_in_thread(app) as url, AkeneoClient(url, credentials) as c:
        yield c


def test_models_family_variants_and_axes_are_staged(client, catalog, tmp_path: Path) -> None:
    extract_structure(client, load_config(CONFIG), tmp_path)
    summary = extract_catalog(client, load_config(CONFIG), tmp_path)
    models = read_models(tmp_path)
    structure = records.STRUCTURE.read(tmp_path)
    sets = structure.family_variants
    assert summary.product_models == len(models) == len(list(catalog.iter_product_models()))
    assert sets["shirts_by_color_size"][1].axes == ["size"]  # by family variant code alone
    assert structure.axis_types == dict.fromkeys(["color", "material", "size"], "pim_catalog_simpleselect")
    variant = next(p for p in iter_products(tmp_path) if p.parent)
    assert {"color", "size"} & set(variant.values), "axis values must be read with the images"


def test_one_familys_variants_answering_404_leaves_the_others_read(
    client, catalog, app, tmp_path: Path
) -> None:
    app.state.faults.add(r"/families/shoes/variants$", 404, times=None)
    try:
        summary = extract_structure(client, load_config(CONFIG), tmp_path)
    finally:
        app.state.faults.clear()
    sets = records.STRUCTURE.read(tmp_path).family_variants
    assert set(sets) == {"shirts_by_color_size", "accessories_by_color_material"}
    (warning,) = summary.warnings
    assert warning.startswith("family 'shoes': its family variants could not be read (Akeneo GET ")


def test_a_pim_serving_no_products_endpoint_stops_the_run_naming_both(client, app, tmp_path: Path) -> None:
    app.state.faults.add(r"/products(-uuid)?$", 404, times=None)
    try:
        with pytest.raises(CatalogError) as raised:
            extract_structure(client, load_config(CONFIG), tmp_path)
    finally:
        app.state.faults.clear()
    (problem,) = raised.value.problems
    assert "GET /api/rest/v1/products-uuid answered 404" in problem
    assert "GET /api/rest/v1/products answered 404" in problem


def test_product_models_without_family_are_staged_with_their_family_variant(tmp_path: Path) -> None:
    old = generate_catalog(products=6, seed=7, models=3, akeneo_version="3.1")
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    with serve_in_thread(create_sandbox_app(old)) as url, AkeneoClient(url, credentials) as client:
        extract_structure(client, load_config(CONFIG), tmp_path)
        extract_catalog(client, load_config(CONFIG), tmp_path)
    sets = records.STRUCTURE.read(tmp_path).family_variants
    models = read_models(tmp_path).values()
    assert models and all(m.family is None and m.family_variant in sets for m in models)


def test_a_differential_run_reads_every_variant_of_a_touched_master(client, catalog, tmp_path: Path) -> None:
    start, end = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)
    extract_structure(client, load_config(CONFIG), tmp_path)
    store = StateStore(sqlite_url(str(tmp_path / "state.sqlite")))
    store.record_run("earlier", [], full=True)
    summary = extract_catalog(
        client, load_config(CONFIG), tmp_path, updated_from=start, updated_to=end, store=store
    )
    models = read_models(tmp_path)
    products = list(iter_products(tmp_path))
    changed = [p for p in records.PRODUCTS.read(tmp_path) if p.parent]
    roots = {root_of(p.parent, models) for p in changed}
    assert roots, "the interval should touch some master"
    for root in roots:
        expected = {h.identifier for h in catalog.variants_of(root) if catalog.product(h.index)["enabled"]}
        got = {p.identifier for p in products if p.parent and root_of(p.parent, models) == root}
        assert got == expected, root
    assert summary.products == len(products) == len({p.uuid for p in products})
    completed = list(records.MASTER_PRODUCTS.read(tmp_path))
    assert completed, "some siblings were not updated in the interval and had to be read"
