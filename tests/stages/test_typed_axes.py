"""Variant axes of every kind Akeneo has, through the core stages (docs/transform.md#variation-attribute-ids):
the sandbox's accessories vary by a metric (``volume``) and a boolean (``waterproof``) axis.

Each variant's image groups carry the axis values as the SFCC connector's product import writes
them: ``<amount> <unit>`` for a metric (Akeneo's amount as given), ``true``/``false`` for a
boolean; a ``false`` axis is a value like any other, never a missing one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from pipeline import run_pipeline

from pim_images.targets.sfcc.render import CATALOG_NS
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

NS = {"c": CATALOG_NS}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(
        sftp_root=tmp_path_factory.mktemp("sftp"), products=6, models=15, typed_axes=True
    )
    with run_sandbox(settings) as running:
        yield running


def _expected(sandbox: Sandbox) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    """Master code -> the variation of each of its enabled variants, from the sandbox's values."""
    catalog = sandbox.catalog
    found: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for product in catalog.iter_products():
        if not product.get("parent") or not product["enabled"]:
            continue
        volume = product["values"].get("volume")
        if volume is None:
            continue
        amount = volume[0]["data"]["amount"]
        waterproof = product["values"]["waterproof"][0]["data"]
        assert isinstance(waterproof, bool) and isinstance(amount, str)
        variation = (("akeneo_volume", f"{amount} LITER"), ("akeneo_waterproof", str(waterproof).lower()))
        found.setdefault(product["parent"], set()).add(variation)
    return found


def test_metric_and_boolean_axes_are_written_as_the_store_reads_them(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory, validate_catalog
) -> None:
    delivered = run_pipeline(sandbox, {}, tmp_path_factory.mktemp("run"))
    (xml,) = [data for name, data in delivered.files["sfcc"].items() if name.startswith("catalog_")]
    catalog = validate_catalog(xml)
    expected = _expected(sandbox)
    assert expected, "the sandbox should have accessories with typed axes"
    written_everywhere = set()
    for master, variations in expected.items():
        (product,) = catalog.xpath(f"c:product[@product-id='{master}']", namespaces=NS)
        written = {
            tuple((v.get("attribute-id"), v.get("value")) for v in group.xpath("c:variation", namespaces=NS))
            for group in product.xpath("c:images/c:image-group[c:variation]", namespaces=NS)
        }
        # each group names exactly one variant's values (variants without an SFCC image have none)
        assert written <= variations, master
        written_everywhere |= written
    assert {waterproof for _, (_, waterproof) in written_everywhere} == {"true", "false"}
    assert b"{'amount'" not in xml and b"True" not in xml
    assert not [w for w in delivered.warnings["transform"] if "axis" in w]
    etree.fromstring(xml)
