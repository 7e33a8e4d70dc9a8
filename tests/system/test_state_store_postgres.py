"""The state store on PostgreSQL (docs/runs.md#state-between-runs), the cluster's database: a real
server from Debian's package (``initdb``, ``pg_ctl``), a new database per round. Marked ``system``
with the cluster it stands for."""

from __future__ import annotations

import threading

import psycopg2
import pytest
from services import postgres_server

from pim_images.records import ProductRefs
from pim_images.store import SCHEMA_VERSION, StateStore

pytestmark = pytest.mark.system


def test_runs_opening_a_new_postgresql_store_at_once_take_turns() -> None:
    """Four runs create the tables of one new database at once (without the migration's advisory
    lock, two CREATE TABLE of one name fail on ``pg_type``'s unique index), then each records
    what it delivered; the store then holds the four."""
    with postgres_server() as url:
        admin = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
        admin.autocommit = True
        failures: list[str] = []
        for round_ in range(5):
            admin.cursor().execute(f"CREATE DATABASE state_{round_}")
            database = url.rsplit("/", 1)[0] + f"/state_{round_}"
            barrier = threading.Barrier(4)

            def run(name: str, database: str = database, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                try:
                    store = StateStore(database)
                    store.record_run(name, [ProductRefs(name, "simple", [("packshots", name)])], full=False)
                    store.engine.dispose()
                except Exception as error:
                    failures.append(f"{name}: {type(error).__name__}: {error}"[:300])

            threads = [threading.Thread(target=run, args=(f"run-{n}",)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
            store = StateStore(database)
            assert store.migrate() == SCHEMA_VERSION
            assert store.products_of_assets([f"run-{n}" for n in range(4)]) == {
                f"run-{n}": "simple" for n in range(4)
            }
            store.engine.dispose()
        admin.close()
