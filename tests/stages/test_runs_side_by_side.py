"""Two runs of the whole chain of stages at once (docs/runs.md#runs-side-by-side): a backfill
beside the schedule, two manual triggers, a full import beside a differential one.

Each round runs two threads, each the stages of ``tests/pipeline.py`` from extract to
``record_success``, against one sandbox, with one staging base, one media cache, one state store
and one drop folder, the sandbox answering with some latency and, at random, 503s (the client
retries them). Both runs must succeed, each delivering the bytes it rendered under its own
names, no temporary left on the drop, each run's media list a lone run's (no cache entry torn
nor read as another verdict), the index a lone full run's, and the store's fingerprint one no
configuration has (the next run is full).
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pipeline import Delivered, run_pipeline

from pim_images.media import MediaCache
from pim_images.store import OVERLAPPED, StateStore, record_staged_run, sqlite_url
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

BOTH = {"akeneoImageType": "both", "akeneoImageImportType": "both"}
IMAGES = {"akeneoImageType": "images"}
#: an interval with no change in it: a differential run over it reads the store, delivers nothing new
QUIET = (datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))
SEED = 20261130


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(sftp_root=tmp_path_factory.mktemp("sftp"), products=12, models=3, seed=5)
    with run_sandbox(settings) as running:
        yield running


@pytest.fixture(scope="module")
def sftp_conn(sandbox: Sandbox) -> Iterator[None]:
    """The pipeline's SFTP connection set for the whole module: two threads each setting and
    removing it around their own delivery would remove it under the other's feet."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_PIPELINE_TEST_SFTP", sandbox.sftp.airflow_conn_json())
        yield


def _index(store_file: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(store_file) as db:
        return {
            "products": sorted(db.execute("SELECT product_ref, kind FROM pim_images_products")),
            "assets": sorted(db.execute("SELECT * FROM pim_images_asset_products")),
            "variants": sorted(db.execute("SELECT * FROM pim_images_master_variants")),
        }


@pytest.fixture(scope="module")
def alone(sandbox: Sandbox, sftp_conn: None, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    """Each configuration's run alone (its own store and cache): ``id(config)`` -> (run, index)."""
    found = {}
    for n, config in enumerate((BOTH, IMAGES)):
        base = tmp_path_factory.mktemp(f"alone-{n}")
        store_file = base / "state.sqlite"
        run = run_pipeline(
            sandbox,
            {**config, "sfccRemoteDir": "/alone/sfcc", "bspkRemoteDir": "/alone/bspk"},
            base / "runs" / "alone",
            cache=MediaCache(base / "media-cache"),
            store=StateStore(sqlite_url(str(store_file))),
            run_id="alone",
        )
        found[id(config)] = (run, _index(store_file))
    return found


@pytest.mark.usefixtures("sftp_conn")
@pytest.mark.parametrize(
    ("case", "configs", "intervals"),
    [
        ("full beside full", (BOTH, BOTH), (None, None)),
        ("full beside differential", (BOTH, BOTH), (None, QUIET)),
        ("two configurations", (IMAGES, BOTH), (None, None)),
    ],
)
def test_two_runs_at_once_both_deliver_whole(
    sandbox: Sandbox,
    alone: dict[int, Any],
    tmp_path: Path,
    case: str,
    configs: tuple[dict[str, Any], dict[str, Any]],
    intervals: tuple[Any, Any],
) -> None:
    dice = random.Random(f"{SEED}-{case}")
    base = tmp_path / "shared"
    base.mkdir()
    cache = MediaCache(base / "media-cache")
    store_file = base / "state.sqlite"
    drop = {
        "sfccRemoteDir": f"/{case.replace(' ', '-')}/sfcc",
        "bspkRemoteDir": f"/{case.replace(' ', '-')}/bspk",
    }
    if QUIET in intervals:  # a differential run needs an earlier one
        run_pipeline(
            sandbox,
            {**BOTH, **drop},
            base / "runs" / "before",
            cache=cache,
            store=StateStore(sqlite_url(str(store_file))),
            run_id="before",
            stamp="20260101T000000Z",
        )
    faults = sandbox.app.state.faults
    faults.seed(SEED)
    faults.latency(dice.choice([0.001, 0.005]))
    faults.add(r"^/api/", 503, times=None, rate=0.03)
    start = threading.Barrier(2)
    runs: dict[int, Delivered] = {}
    failures: list[BaseException] = []

    def one(k: int) -> None:
        try:
            start.wait()
            runs[k] = run_pipeline(
                sandbox,
                {**configs[k], **drop},
                base / "runs" / f"run{k}",
                cache=cache,
                stamp=f"2026030{k + 1}T000000Z",
                interval=intervals[k],
                store=StateStore(sqlite_url(str(store_file))),
                run_id=f"run{k}",
            )
        except BaseException as exc:  # the assertion below names it
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        faults.clear()
    assert failures == []
    for k, run in runs.items():
        assert run.files == run.rendered, f"run{k} delivered other bytes than it rendered"
        lone, _ = alone[id(configs[k])]
        if intervals[k] is None:
            assert (run.run_dir / "media.jsonl").read_bytes() == (lone.run_dir / "media.jsonl").read_bytes()
    assert not [p for p in sandbox.sftp_root.rglob("*") if p.name.endswith(".part")]
    if configs[0] is configs[1]:  # one configuration, an unchanged catalog: a lone full run's index
        assert _index(store_file) == alone[id(BOTH)][1]
    assert StateStore(sqlite_url(str(store_file))).last_fingerprint() == OVERLAPPED


@pytest.mark.usefixtures("sftp_conn")
def test_a_run_recording_after_another_delivered_makes_the_next_run_full(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A manual run trying the images-only configuration beside the scheduled run: the manual
    run delivers first, the scheduled one delivers after it (its files are the drops' last) and
    records, then the manual run's ``record_success`` (it waited for a retry) records its own
    fingerprint. Taken alone, the store would say "images only" while the drops hold the other
    configuration's lists, and the next images-only run would be differential over them."""
    store = StateStore(sqlite_url(str(tmp_path / "state.sqlite")))
    cache = MediaCache(tmp_path / "media-cache")
    drop = {"sfccRemoteDir": "/recorded-late/sfcc", "bspkRemoteDir": "/recorded-late/bspk"}
    run_pipeline(sandbox, {**BOTH, **drop}, tmp_path / "before", cache=cache, store=store, run_id="before")
    seen = store.last_run()  # the manual run's validate_config
    manual = run_pipeline(
        sandbox, {**IMAGES, **drop}, tmp_path / "manual", cache=cache, stamp="20260302T101500Z"
    )
    scheduled = run_pipeline(
        sandbox, {**BOTH, **drop}, tmp_path / "scheduled", cache=cache, store=store, run_id="scheduled"
    )
    record_staged_run(store, manual.run_dir, "manual", fingerprint=manual.config.fingerprint(), seen=seen)
    assert store.fingerprint_changed(manual.config.fingerprint())
    assert store.fingerprint_changed(scheduled.config.fingerprint())
