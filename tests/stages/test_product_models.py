"""Product models and variants through the core stages (``tests/pipeline.py``): variation
image groups (SFCC) and skus (BSPK).

The sandbox has the three family shapes (one level by size, two levels colour then size, one
level with colour and material together) and pinned edge cases: MODEL-00002's sub-models have
SKU lists over 255 characters, MODEL-00004 has no image of its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from collections.abc import Iterator

import pytest
from lxml import etree
from PIL import Image
from pipeline import run_pipeline

from pim_images.targets.sfcc.render import CATALOG_NS
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

NS = {"c": CATALOG_NS}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(sftp_root=tmp_path_factory.mktemp("sftp"), products=30, models=8)
    with run_sandbox(settings) as running:
        yield running


@pytest.fixture(scope="module")
def delivered(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """(catalog XML, BSPK CSV) delivered by a run of the default configuration."""
    files = run_pipeline(sandbox, {}, tmp_path_factory.mktemp("run")).files
    (xml,) = [data for name, data in files["sfcc"].items() if name.startswith("catalog_")]
    (csv_bytes,) = files["bspk"].values()
    return xml, csv_bytes


def _path(sandbox: Sandbox, code: str) -> str | None:
    content = sandbox.catalog.media(code).content
    fmt = Image.open(io.BytesIO(content)).format
    if fmt not in EXTENSIONS:
        return None
    sha = hashlib.sha256(content).hexdigest()
    return f"images/{sha[:2]}/{sha}.{EXTENSIONS[fmt]}"


def _groups(master) -> list[tuple[tuple[tuple[str, str], ...], str, list[str]]]:
    return [
        (
            tuple((v.get("attribute-id"), v.get("value")) for v in g.xpath("c:variation", namespaces=NS)),
            g.get("view-type"),
            g.xpath("c:image/@path", namespaces=NS),
        )
        for g in master.xpath("c:images/c:image-group", namespaces=NS)
    ]


def test_masters_carry_variation_groups_valid_and_consistent(
    sandbox, delivered, validate_catalog, golden
) -> None:
    xml, csv_bytes = delivered
    root = validate_catalog(xml)
    golden("variants", "catalog.xml", xml)
    golden("variants", "product-images.csv", csv_bytes)
    ids = root.xpath("c:product/@product-id", namespaces=NS)
    masters = [i for i in ids if i.startswith("MODEL-")]
    assert len(masters) == 8 and len(set(ids)) == len(ids)
    variant_ids = {h.identifier for m in masters for h in sandbox.catalog.variants_of(m)}
    assert not variant_ids & set(ids), (
        "variants get no product element of their own: the master holds the groups"
    )
    # the variation attributes the connector's product import creates: akeneo_<camelize(axis)>
    assert root.xpath("string(c:header/c:image-settings/c:variation-attribute-id)", namespaces=NS) in (
        "akeneo_color",
        "akeneo_size",
    )
    for code in masters:
        master = root.xpath(f"c:product[@product-id='{code}']", namespaces=NS)[0]
        orders = [tuple(a for a, _ in variation) for variation, _, _ in _groups(master)]
        longest = max(orders, key=len)
        assert all(order == longest[: len(order)] for order in orders), f"{code}: axes in different orders"


def test_a_variants_images_do_not_leak_into_a_siblings_groups(sandbox, delivered) -> None:
    root = etree.fromstring(delivered[0])
    master = root.xpath("c:product[@product-id='MODEL-00002']", namespaces=NS)[0]
    groups = _groups(master)
    checked = 0
    for header in sandbox.catalog.variants_of("MODEL-00002"):
        values = sandbox.catalog.product(header.index)["values"]
        expected = (
            ("akeneo_color", values["color"][0]["data"]),
            ("akeneo_size", values["size"][0]["data"]),
        )
        for value in values.get("main_image", []):
            path = _path(sandbox, value["data"])
            if path is None:
                continue
            holders = {variation for variation, _, paths in groups if path in paths}
            assert holders == {expected}, f"{header.identifier}: {path} in {holders}"
            checked += 1
    assert checked >= 4


def test_bspk_rows_name_the_variants_and_split_long_sku_lists(sandbox, delivered) -> None:
    rows = list(csv.reader(io.StringIO(delivered[1].decode("utf-8"), newline="")))[1:]
    seen = []
    for ref, group in itertools.groupby(rows, key=lambda r: r[0]):
        assert ref not in seen
        seen.append(ref)
        group = list(group)
        assert [int(r[3]) for r in group] == list(range(1, len(group) + 1))
        assert all(len(r[1]) <= 255 for r in group)
    model = [r for r in rows if r[0] == "MODEL-00002"]
    variants = {h.identifier for h in sandbox.catalog.variants_of("MODEL-00002")}
    named = {sku for r in model for sku in r[1].split(";") if sku}
    assert named <= variants and len(named) > 4
    # a sub-model's image names all its variants: more than 255 characters, so split across rows
    by_url: dict[str, list[str]] = {}
    for r in model:
        by_url.setdefault(r[2], []).append(r[1])
    split = {url: cells for url, cells in by_url.items() if len(cells) >= 2}
    assert split, "some sub-model image must need two rows"
    for cells in split.values():
        skus = [s for c in cells for s in c.split(";")]
        assert len(";".join(skus)) > 255 and len(set(skus)) == len(skus)
    # a root model with images of its own lists them first, for the whole product (no skus)
    first = next(r for r in rows if r[0] == "MODEL-00001")
    assert first[1] == "" and first[3] == "1"
    assert all(r[1] for r in rows if r[0] == "MODEL-00004"), "MODEL-00004 has no image of its own"
