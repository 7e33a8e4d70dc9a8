"""The state store (docs/runs.md#state-between-runs) and the fingerprint of the last successful
run (docs/runs.md#configuration-fingerprint)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from pim_images.records import ProductRefs
from pim_images.state import adopt_legacy_fingerprint
from pim_images.store import SCHEMA_VERSION, StateStore, sqlite_url


def _store(tmp_path: Path) -> StateStore:
    return StateStore(sqlite_url(str(tmp_path / "state.sqlite")))


def test_no_previous_run_is_no_change(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.last_fingerprint() is None
    assert not store.fingerprint_changed("abc")
    assert store.last_run() is None


def test_a_different_fingerprint_is_a_change(tmp_path: Path) -> None:
    _store(tmp_path).record_fingerprint("abc")
    store = _store(tmp_path)
    assert store.last_fingerprint() == "abc"
    assert not store.fingerprint_changed("abc")
    assert store.fingerprint_changed("def")


def test_the_fingerprint_of_an_earlier_release_is_adopted_once(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "last_successful_fingerprint.json").write_text(json.dumps({"fingerprint": "old"}))
    store = _store(tmp_path)
    assert adopt_legacy_fingerprint(store, tmp_path) == "old"
    store.record_fingerprint("new")
    assert adopt_legacy_fingerprint(store, tmp_path) == "new"


def test_tables_are_created_and_versioned(tmp_path: Path) -> None:
    _store(tmp_path)
    _store(tmp_path)  # opening again migrates nothing
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        version = db.execute("select value from pim_images_settings where key = 'schema_version'").fetchone()
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
    assert version == (str(SCHEMA_VERSION),)
    assert {"pim_images_asset_products", "pim_images_master_variants", "pim_images_deliveries"} <= tables


def test_a_differential_run_replaces_only_the_products_it_delivered(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.record_run(
        "full",
        [
            ProductRefs("SKU-1", "simple", assets=[("packshots", "packshots/a")]),
            ProductRefs("M-1", "master", assets=[("packshots", "packshots/a")], variants=["V-1", "V-2"]),
            ProductRefs("M-2", "master", variants=["V-3"]),
        ],
        full=True,
    )
    assert store.products_of_assets(["packshots/a"]) == {"SKU-1": "simple", "M-1": "master"}
    store.record_run("diff", [ProductRefs("M-1", "master", variants=["V-1"])], full=False)
    assert store.products_of_assets(["packshots/a"]) == {"SKU-1": "simple"}
    assert store.master_variants() == {"M-1": {"V-1"}, "M-2": {"V-3"}}
    assert store.last_run()["run_id"] == "diff"
    store.record_run("full2", [ProductRefs("SKU-1", "simple")], full=True)
    assert store.master_variants() == {}


def test_a_retried_delivery_replaces_its_record(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.record_delivery("run", "bspk", "/in", [("a.csv", 10, "aa")])
    store.record_delivery("run", "bspk", "/in", [("a.csv", 12, "bb")])
    assert [(d["name"], d["bytes"], d["sha256"]) for d in store.delivered("run")] == [("a.csv", 12, "bb")]


def test_what_no_database_can_hold_is_named_and_not_remembered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """NUL (JSON's ``\\u0000``) in an identifier: PostgreSQL refuses it in any text, so no
    backend stores it (docs/runs.md#state-between-runs); the rest of the run is remembered."""
    store = _store(tmp_path)
    refs = [
        ProductRefs("SKU-\x00", "simple", assets=[("packshots", "packshots/a")]),
        ProductRefs("M-1", "master", assets=[("packshots", "packshots/a")], variants=["V-1", "V-\x00"]),
    ]
    with caplog.at_level("WARNING", logger="pim_images.store"):
        assert store.record_run("full", refs, full=True) == 1
    assert store.products_of_assets(["packshots/a"]) == {"M-1": "master"}
    assert store.master_variants() == {"M-1": {"V-1"}}
    messages = [r.getMessage() for r in caplog.records]
    assert any("product 'SKU-\\x00': holds '\\x00'" in m for m in messages)
    assert any("product 'M-1': variant 'V-\\x00'" in m for m in messages)


def test_runs_opening_and_writing_a_new_store_at_once_take_turns(tmp_path: Path) -> None:
    """A backfill's first run and the schedule's start together on a store nobody created yet:
    each creates the tables and records a run, none fails ("table ... already exists", or
    "database is locked" at once for a transaction that read before it wrote)."""
    outcomes: list[str] = []
    for round_ in range(10):
        path = str(tmp_path / f"state-{round_}.sqlite")
        barrier = threading.Barrier(4)

        def run(name: str, path: str = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                store = StateStore(sqlite_url(path))
                store.record_run(name, [ProductRefs(name, "simple")], full=False)
                outcomes.append("ok")
            except Exception as error:
                outcomes.append(f"{name}: {type(error).__name__}: {error}"[:300])

        threads = [threading.Thread(target=run, args=(f"run-{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [o for o in outcomes if o != "ok"] == []
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT count(*) FROM pim_images_products").fetchone() == (4,)


def test_overlapping_runs_make_the_next_run_full(tmp_path: Path) -> None:
    """A backfill beside the schedule, or a manual run with a new image configuration beside it:
    each run records once it delivered, but the drops may have got their files in the other
    order, and a full run's index may be the older read of the catalog; no fingerprint then
    describes what the targets hold, so the next run is full, whatever its configuration and
    whichever run recorded first (docs/runs.md#runs-side-by-side)."""
    for first, second in (("new", "old"), ("old", "new"), ("old", "old")):
        store = StateStore(sqlite_url(str(tmp_path / f"{first}-{second}.sqlite")))
        store.record_run("before", [], full=True, fingerprint="old")
        seen = store.last_run()  # both started before either recorded
        store.record_run("first", [], full=False, fingerprint=first, seen=seen)
        assert store.last_fingerprint() == first  # nothing recorded since it started
        store.record_run("second", [], full=False, fingerprint=second, seen=seen)
        assert store.fingerprint_changed("old") and store.fingerprint_changed("new")
        # a retry of the second's record (its first try committed, the task did not end) keeps it
        store.record_run("second", [], full=False, fingerprint=second, seen=seen)
        assert store.fingerprint_changed("old")
        # the next run, full, records its own: the one after it is differential again
        store.record_run("next", [], full=True, fingerprint="old", seen=store.last_run())
        assert not store.fingerprint_changed("old")


def test_runs_one_after_the_other_keep_their_fingerprint(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for run, fingerprint in (("first", "one"), ("retried", "one"), ("retried", "one"), ("manual", "two")):
        store.record_run(run, [], full=True, fingerprint=fingerprint, seen=store.last_run())
        assert store.last_fingerprint() == fingerprint
    # a retry of a record whose first try committed: the run itself is what it finds
    seen = store.last_run()
    store.record_run("again", [], full=True, fingerprint="two", seen=seen)
    store.record_run("again", [], full=True, fingerprint="two", seen=seen)
    assert store.last_fingerprint() == "two"
