"""Text a real PIM can hold that files cannot carry, at stage level: the sandbox's ``hostile_*``
defects (``pim_sandbox.catalog.hostile`` says which field can carry what) through every stage
(docs/bad-input.md#products-that-cannot-be-written, docs/runs.md#state-between-runs).

Each offender is named in a warning with its product; the files validate (the SFCC catalog
against catalog.xsd, checked again here on the delivered bytes; the BSPK CSV parses, one
four-cell row per line); every other product is delivered; the run is remembered.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from pipeline import Delivered, run_pipeline

from pim_images import records
from pim_images.store import StateStore, sqlite_url
from pim_images.targets.sfcc.schema import check_against_schema
from pim_sandbox.catalog.hostile import (
    ASSET_TEXTS,
    IDENTIFIERS,
    VARIANT_IDENTIFIER,
)
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

#: the smallest catalog with every offender on an enabled product, a variant, and packshots after them
PRODUCTS = 24
CONF = {
    "akeneoImageType": "both",
    "akeneoImageImportType": "both",
    "akeneoImageLinkViewTypesMapping": '{"url_large": ["large"], "url_thumb": ["small"]}',
    "akeneoImageMetadataMapping": '{"matching": {"alt": "alt_text", "title": "alt_text"}}',
}
#: the offenders (``IDENTIFIERS``' kinds) each target's file carries: catalog.xsd's product id
#: (1-100 XML characters, no edge space, no line break), a BSPK cell (1-255, no control)
CARRIED = {
    "sfcc": {"DEL and C1 control U+0085", "bidi override U+202E (carried)", "non-ASCII (carried)"},
    "bspk": {"over-long (130 characters)", "bidi override U+202E (carried)", "non-ASCII (carried)"},
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(
        sftp_root=tmp_path_factory.mktemp("sftp"),
        products=PRODUCTS,
        seed=7,
        models=1,
        defects=("hostile_identifiers", "hostile_asset_texts"),
    )
    with run_sandbox(settings) as running:
        yield running


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> StateStore:
    return StateStore(sqlite_url(str(tmp_path_factory.mktemp("state") / "state.sqlite")))


@pytest.fixture(scope="module")
def run(
    sandbox: Sandbox, store: StateStore, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Delivered, list[str]]:
    """The whole pipeline once, with a SQLite state store; and the store's logged warnings."""
    run_dir = tmp_path_factory.mktemp("run")
    handler = _Collect()
    logging.getLogger("pim_images.store").addHandler(handler)
    try:
        delivered = run_pipeline(sandbox, CONF, run_dir, store=store)
    finally:
        logging.getLogger("pim_images.store").removeHandler(handler)
    return delivered, handler.messages


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _identifiers(sandbox: Sandbox) -> dict[str, str]:
    """Each enabled simple product's identifier -> the kind of offender it holds (clean: ``""``):
    the first ones get ``IDENTIFIERS`` in order."""
    catalog = sandbox.catalog
    headers = [h for h in catalog.iter_headers() if h.enabled and h.index < catalog.simple_products_count]
    kinds = [kind for kind, _ in IDENTIFIERS]
    return {h.identifier: kinds[n] if n < len(kinds) else "" for n, h in enumerate(headers)}


def _named(warnings: list[str], value: str) -> bool:
    shown = repr(value[:40])
    return any(w.startswith((f"product {shown}", f"product_ref {shown}")) for w in warnings)


def test_every_kind_is_served(sandbox: Sandbox) -> None:
    served = _identifiers(sandbox)
    assert sorted(k for k in served.values() if k) == sorted(kind for kind, _ in IDENTIFIERS)


def test_sfcc_names_every_identifier_xml_cannot_carry_and_delivers_the_rest(sandbox, run) -> None:
    delivered, _ = run
    xml_name = next(n for n in delivered.files["sfcc"] if n.endswith(".xml"))
    xml = delivered.files["sfcc"][xml_name]
    ids = set(etree.fromstring(xml).xpath("//*[local-name()='product']/@product-id"))
    warnings = delivered.warnings["render_sfcc"]
    for identifier, kind in _identifiers(sandbox).items():
        # XML 1.0 carries DEL and C1 controls, a bidi override and non-ASCII: those are delivered
        carried = not kind or kind in CARRIED["sfcc"]
        if carried:  # delivered, or left out for another reason a warning names (an alt text)
            assert identifier in ids or _named(warnings, identifier), (kind, identifier)
        else:
            assert identifier not in ids and _named(warnings, identifier), (kind, identifier)
    assert sum(1 for i, k in _identifiers(sandbox).items() if not k and i in ids) >= 5


def test_sfcc_names_every_alt_text_xml_cannot_carry(run) -> None:
    delivered, _ = run
    warnings = delivered.warnings["render_sfcc"]
    unwritable = [t for t in ASSET_TEXTS if "\r\n" not in t]  # a line break is text XML carries
    for text in unwritable:
        assert any(f"image alt {text!r}" in w and w.startswith("product 'SKU-") for w in warnings), text


def test_the_delivered_catalog_validates(run, tmp_path: Path) -> None:
    delivered, _ = run
    for name, data in delivered.files["sfcc"].items():
        if name.endswith(".xml"):
            (tmp_path / name).write_bytes(data)
            check_against_schema(tmp_path / name, "catalog.xsd")  # raises OutputError if not


def test_bspk_names_every_identifier_a_cell_cannot_carry_and_delivers_the_rest(sandbox, run) -> None:
    delivered, _ = run
    (data,) = delivered.files["bspk"].values()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert all(len(row) == 4 for row in rows)
    refs = {row[0] for row in rows[1:]}
    warnings = delivered.warnings["render_bspk"]
    for identifier, kind in _identifiers(sandbox).items():
        if not kind or kind in CARRIED["bspk"]:
            assert identifier in refs or _named(warnings, identifier), (kind, identifier)
        else:
            assert identifier not in refs and _named(warnings, identifier), (kind, identifier)
    assert "\u202eSKU-00011" in refs and "SKU-00012-grün" in refs
    variant = VARIANT_IDENTIFIER.format(sku="SKU-00025")
    assert any(f"sku {variant!r}" in w for w in warnings)
    assert not any(variant in row[1] for row in rows)


def test_the_run_is_remembered_without_what_the_store_cannot_hold(sandbox, run) -> None:
    delivered, store_warnings = run
    assert delivered.summaries["record_success"] > 0
    nul = next(i for i, k in _identifiers(sandbox).items() if k.startswith("NUL"))
    assert any(m.startswith(f"product {nul!r}: holds '\\x00'") for m in store_warnings)


def test_a_differential_run_reads_again_the_products_of_a_changed_asset(
    sandbox, store, run, tmp_path
) -> None:
    """The products of a changed asset are read again by identifier (an ``IN`` filter holding
    every kind of offender); the one the store could not remember (NUL) is not."""
    catalog = sandbox.catalog
    at = datetime(2031, 1, 1, tzinfo=UTC)
    saved = dict(catalog.changes.assets)
    expected = set()
    try:
        for identifier, kind in _identifiers(sandbox).items():
            header = next(h for h in catalog.iter_headers() if h.identifier == identifier)
            for code in catalog.product_asset_codes(header.index).get("packshots", [])[:1]:
                values = catalog.asset("packshots", code)["values"]
                catalog.changes.change_asset("packshots", code, at, {"alt_text": values.get("alt_text")})
                if kind and not kind.startswith("NUL"):
                    expected.add(identifier)
        interval = (at - timedelta(hours=1), at + timedelta(hours=1))
        run_pipeline(sandbox, CONF, tmp_path, until="extract", store=store, interval=interval)
    finally:
        catalog.changes.assets.clear()
        catalog.changes.assets.update(saved)
    read = {p.identifier for p in records.MASTER_PRODUCTS.read(tmp_path)}
    assert len(expected) >= 6 and expected <= read
    assert not any("\x00" in i for i in read)
