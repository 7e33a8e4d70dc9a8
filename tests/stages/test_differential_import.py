"""A differential import equals a full one (docs/runs.md#differential-import), as a property.

Random change sets are made to the sandbox catalog, as users of the PIM make them between two
imports: product and product model images changed or removed, asset collections reordered or
replaced, assets given another media, variants disabled, deleted, made simple or moved to another
master, products enabled again. After each set, a differential import over the interval of the
changes and a full import run; applying either's files over what was delivered before (per
``product_ref``: SFCC products and BSPK rows replace the product's) must give the same image
lists. The differential runs chain: each reads the state the one before recorded.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pipeline import Delivered, run_pipeline

from pim_images.media import MediaCache
from pim_images.store import StateStore, sqlite_url
from pim_images.targets.sfcc.render import CATALOG_NS
from pim_sandbox.catalog import SandboxCatalog
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

#: assets as images and as custom attributes too, so that asset changes show downstream
CONFIG = {"akeneoImageType": "both", "akeneoImageImportType": "both"}
#: after every date the generated catalog holds
EPOCH = datetime(2027, 1, 1, tzinfo=UTC)
CHANGE_SETS = int(__import__("os").environ.get("CHANGE_SETS", "50"))
SEED = 20260316
IMAGE_ATTRIBUTES = ("main_image", "back_image", "lifestyle_image", "zoom_image", "detail_image")
COLLECTIONS = ("packshots", "lifestyle_assets")
ASSET_FAMILIES = ("packshots", "lifestyle")

#: downstream state: target -> product_ref -> what the target holds for it
State = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(sftp_root=tmp_path_factory.mktemp("sftp"), products=10, models=4, seed=11)
    with run_sandbox(settings) as running:
        yield running


def delivered_lists(run: Delivered) -> State:
    """What each target receives per product_ref: SFCC, each product element (its image groups
    and custom attributes, canonical XML); BSPK, its rows (skus, URL, position)."""
    state: State = {"sfcc": {}, "bspk": {}}
    (xml,) = [data for name, data in run.rendered["sfcc"].items() if name.startswith("catalog_")]
    for product in etree.fromstring(xml).iterfind(f"{{{CATALOG_NS}}}product"):
        state["sfcc"][product.get("product-id")] = etree.tostring(product, method="c14n")
    (csv_bytes,) = run.rendered["bspk"].values()
    for row in list(csv.reader(io.StringIO(csv_bytes.decode("utf-8"), newline="")))[1:]:
        state["bspk"].setdefault(row[0], []).append(tuple(row[1:]))
    return state


def applied(before: State, files: State) -> State:
    """``files`` delivered over ``before``: each product a file names is replaced whole."""
    return {target: {**before[target], **files[target]} for target in before}


@dataclass
class Changer:
    """Makes random changes to the sandbox catalog, each stamped within an interval."""

    catalog: SandboxCatalog
    dice: random.Random
    disabled: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    #: the kinds of change made
    kinds: set[str] = field(default_factory=set)

    def when(self, start: datetime) -> datetime:
        return start + timedelta(minutes=self.dice.randint(30, 23 * 60))

    def live_products(self) -> list[int]:
        return [h.index for h in self.catalog.iter_headers() if h.index not in self.disabled]

    def variants(self) -> list[Any]:
        return [h for h in self.catalog.iter_headers() if h.parent and h.index not in self.disabled]

    def change_set(self, start: datetime) -> list[str]:
        kinds = [
            self.product_image,
            self.product_collection,
            self.model_image,
            self.asset_media,
            self.disable,
            self.enable,
            self.detach,
            self.move,
            self.delete,
        ]
        made = []
        for _ in range(self.dice.randint(1, 3)):
            change = self.dice.choice(kinds)
            self.kinds.add(change.__name__)
            made.append(change(self.when(start)))
        return made

    def product_image(self, at: datetime) -> str:
        index, other = (
            self.dice.choice(self.live_products()),
            self.dice.randrange(self.catalog.products_count),
        )
        attribute = self.dice.choice(IMAGE_ATTRIBUTES)
        values = self.catalog.product(other)["values"].get(attribute)
        self.catalog.changes.change_product(index, at, values={attribute: values})
        return f"product {index} {attribute} <- {other}"

    def product_collection(self, at: datetime) -> str:
        index = self.dice.choice(self.live_products())
        collection = self.dice.choice(COLLECTIONS)
        current = [c for v in self.catalog.product(index)["values"].get(collection, []) for c in v["data"]]
        other = self.catalog.product(self.dice.randrange(self.catalog.simple_products_count))["values"]
        codes = self.dice.choice(
            [current[::-1], current[1:], [c for v in other.get(collection, []) for c in v["data"]]]
        )
        value = [{"locale": None, "scope": None, "data": codes}]
        self.catalog.changes.change_product(index, at, values={collection: value})
        return f"product {index} {collection} <- {codes}"

    def model_image(self, at: datetime) -> str:
        models = [h.code for h in self.catalog.iter_model_headers()]
        code, other = self.dice.choice(models), self.dice.choice(models)
        attribute = self.dice.choice(("lifestyle_image", "detail_image", "zoom_image"))
        values = self.catalog.product_model(other)["values"].get(attribute)
        self.catalog.changes.change_model(code, at, {attribute: values})
        return f"model {code} {attribute} <- {other}"

    def asset_media(self, at: datetime) -> str:
        family = self.dice.choice(ASSET_FAMILIES)
        codes = [h.code for h in self.catalog.iter_asset_headers(family)]
        code, other = self.dice.choice(codes), self.dice.choice(codes)
        values = self.catalog.asset(family, other)["values"]
        attribute = self.catalog.asset_families[family]["attribute_as_main_media"]
        self.catalog.changes.change_asset(family, code, at, {attribute: values.get(attribute)})
        return f"asset {family}/{code} media <- {other}"

    def disable(self, at: datetime) -> str:
        index = self.dice.choice(self.live_products())
        self.disabled.add(index)
        self.catalog.changes.change_product(index, at, enabled=False)
        return f"product {index} disabled"

    def enable(self, at: datetime) -> str:
        candidates = sorted(self.disabled - self.deleted)
        if not candidates:
            return self.disable(at)
        index = self.dice.choice(candidates)
        self.disabled.discard(index)
        self.catalog.changes.change_product(index, at, enabled=True)
        return f"product {index} enabled"

    def detach(self, at: datetime) -> str:
        variant = self.dice.choice(self.variants())
        self.catalog.changes.change_product(variant.index, at, ancestors=())
        return f"variant {variant.identifier} made simple"

    def move(self, at: datetime) -> str:
        variant = self.dice.choice(self.variants())
        parent = self.catalog.model_header(variant.parent)
        targets = [
            h
            for h in self.catalog.iter_model_headers()
            if h.family_variant == parent.family_variant and h.level == parent.level and h.code != parent.code
        ]
        if not targets:
            return self.detach(at)
        target = self.dice.choice(targets)
        ancestors = (target.code, target.parent) if target.parent else (target.code,)
        self.catalog.changes.change_product(variant.index, at, ancestors=ancestors)
        return f"variant {variant.identifier} moved to {target.code}"

    def delete(self, at: datetime) -> str:
        index = self.dice.choice(self.live_products())
        self.disabled.add(index)
        self.deleted.add(index)
        self.catalog.changes.change_product(index, at, deleted=True)
        return f"product {index} deleted"


def test_a_differential_import_delivers_what_a_full_one_would(sandbox: Sandbox, tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media-cache")
    store = StateStore(sqlite_url(str(tmp_path / "state.sqlite")))

    def run(name: str, **kwargs: Any) -> State:
        result = run_pipeline(sandbox, CONFIG, tmp_path / name, until="render_bspk", cache=cache, **kwargs)
        return delivered_lists(result)

    downstream = applied({"sfcc": {}, "bspk": {}}, run("full-0", store=store, run_id="full-0"))
    changer = Changer(sandbox.catalog, random.Random(SEED))
    changes_seen: list[str] = []
    try:
        for number in range(1, CHANGE_SETS + 1):
            start = EPOCH + timedelta(days=number)
            changes = changer.change_set(start)
            changes_seen += changes
            differential = run(
                f"diff-{number}",
                interval=(start, start + timedelta(days=1)),
                store=store,
                run_id=f"diff-{number}",
            )
            full = run(f"full-{number}")
            expected = applied(downstream, full)
            got = applied(downstream, differential)
            for target in expected:
                wrong = sorted(
                    ref
                    for ref in expected[target].keys() | got[target].keys()
                    if expected[target].get(ref) != got[target].get(ref)
                )
                assert not wrong, f"change set {number} ({'; '.join(changes)}): {target} differs for {wrong}"
            downstream = expected
    finally:
        sandbox.catalog.changes.__init__()  # the module's sandbox is generated again for others
    assert len(changes_seen) >= CHANGE_SETS
    assert len(changer.kinds) == 9 or CHANGE_SETS < 50, changer.kinds
