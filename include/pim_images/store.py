"""What the pipeline remembers between runs, in a small SQL store (docs/runs.md#state-between-runs).

- the configuration fingerprint of the last successful run (docs/runs.md#configuration-fingerprint);
- the **asset -> products index**: which delivered product (simple product or master) references
  which asset, per collection, so that a differential run re-exports the products of an asset
  that changed (docs/runs.md#differential-import);
- each **master's last delivered variants**, so that a differential run re-exports a master a
  variant joined or left (moved, made simple, disabled, deleted);
- the checksum of each PAM asset last seen (the PAM has no ``updated`` filter);
- what was delivered where: each file's name, size and SHA-256, per run and target.

The core takes a SQLAlchemy :class:`~sqlalchemy.engine.Engine` (or URL); the orchestrator chooses
it: SQLite on a local disk by default, any database SQLAlchemy reaches on a cluster. Tables are
created and migrated when the store is opened (:data:`MIGRATIONS`, the version in the
``pim_images_settings`` table). Every write of a run is one transaction: a run is remembered
whole or not at all.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
)

from pim_images import records
from pim_images.records import ProductRefs
from pim_images.report import shown
from pim_images.staging import StagingPath

logger = logging.getLogger(__name__)

#: What a text column of some database the store may be cannot hold: NUL (PostgreSQL refuses
#: it in any text: "A string literal cannot contain NUL (0x00) characters"; an identifier can
#: hold one, as JSON's ``\u0000``) and lone surrogates (not UTF-8). Refused on every backend,
#: so SQLite behaves as the cluster's database does (docs/runs.md#state-between-runs).
_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")

metadata = MetaData()

settings = Table(
    "pim_images_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
#: every delivered product (``product_ref``): a simple product or a master (``kind``)
products = Table(
    "pim_images_products",
    metadata,
    Column("product_ref", String(512), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("run_id", String(512), nullable=False),
)
asset_products = Table(
    "pim_images_asset_products",
    metadata,
    Column("asset", String(512), primary_key=True),
    Column("collection", String(255), primary_key=True),
    Column("product_ref", String(512), primary_key=True, index=True),
)
master_variants = Table(
    "pim_images_master_variants",
    metadata,
    Column("master", String(512), primary_key=True),
    Column("variant", String(512), primary_key=True),
)
asset_checksums = Table(
    "pim_images_asset_checksums",
    metadata,
    Column("asset", String(512), primary_key=True),
    Column("sha256", String(64), nullable=False),
)
deliveries = Table(
    "pim_images_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(512), nullable=False, index=True),
    Column("target", String(32), nullable=False),
    Column("connection_id", String(255)),
    Column("remote_dir", String(1024), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("bytes", Integer),
    Column("sha256", String(64)),
    Column("delivered_at", String(32), nullable=False),
)


def _create_v1(connection: Connection) -> None:
    metadata.create_all(connection)


#: schema version -> the step that brings the previous version to it (in order; never edited
#: once released: a change is a new step)
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _create_v1}
SCHEMA_VERSION = max(MIGRATIONS)


def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of a SQLite file at the local ``path``."""
    return f"sqlite:///{path}"


#: :meth:`StateStore.record_run`'s ``seen`` when the caller does not say what it saw
NOT_SEEN = object()
#: The fingerprint kept after two runs overlapped: no configuration's, so the next run is full
#: (docs/runs.md#runs-side-by-side)
OVERLAPPED = "overlapping runs"

#: Seconds a writer of a SQLite state store waits for another run's write to end.
SQLITE_LOCK_WAIT = 120.0

#: The PostgreSQL advisory lock a write transaction holds to its end ("pimimg" in ASCII)
WRITE_LOCK_KEY = 0x70696D696D67


def _sqlite_transactions(engine: Engine) -> None:
    """Give a SQLite engine real transactions, a write one holding the write lock from its start.

    Python's sqlite3 begins a transaction only before INSERT, UPDATE or DELETE: a table created
    (the first migration) runs outside any, and a transaction that reads, then writes, can meet
    another writer half-way and fail at once, the busy timeout unused. So SQLAlchemy, not the
    driver, begins every transaction, and :meth:`StateStore._writing` begins ``IMMEDIATE``: two
    runs opening a new store at once (a backfill beside the schedule) take turns.
    """

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("pim_images_writing", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class StateStore:
    """The pipeline's state between runs; opening it creates or migrates its tables.

    :param engine: a SQLAlchemy engine, or a URL (``sqlite:////data/pim_images/state.sqlite``,
        ``postgresql+psycopg2://...``).
    :raises sqlalchemy.exc.SQLAlchemyError: the database cannot be reached or migrated.
    """

    def __init__(self, engine: Engine | str) -> None:
        if isinstance(engine, str):
            # SQLite lets one writer in at a time: a run beside another (a backfill and the
            # schedule) waits for the lock instead of failing after sqlite3's default 5 s
            sqlite = engine.startswith("sqlite")
            options = {"connect_args": {"timeout": SQLITE_LOCK_WAIT}} if sqlite else {}
            engine = create_engine(engine, **options)
            if sqlite:
                _sqlite_transactions(engine)
        self.engine = engine
        self.migrate()

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction, run after any other run's has ended: on SQLite it holds the write
        lock from its first statement (:func:`_sqlite_transactions`), on PostgreSQL an advisory
        lock (:data:`WRITE_LOCK_KEY`) to its commit. Every write replaces rows (delete, then
        insert): two at once would insert the same key twice."""
        with self.engine.execution_options(pim_images_writing=True).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            yield connection

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the tables to :data:`SCHEMA_VERSION`; returns the version found before. Runs
        opening the store at once migrate it one after the other (:meth:`_writing`)."""
        with self._writing() as connection:
            if not inspect(connection).has_table(settings.name):
                settings.create(connection)
            found = int(self._get(connection, "schema_version") or 0)
            for version in sorted(v for v in MIGRATIONS if v > found):
                MIGRATIONS[version](connection)
                self._set(connection, "schema_version", str(version))
        return found

    @staticmethod
    def _get(connection: Connection, key: str) -> str | None:
        return connection.execute(select(settings.c.value).where(settings.c.key == key)).scalar()

    @staticmethod
    def _set(connection: Connection, key: str, value: str) -> None:
        connection.execute(delete(settings).where(settings.c.key == key))
        connection.execute(insert(settings).values(key=key, value=value))

    # -- configuration fingerprint -----------------------------------------------------------

    def last_fingerprint(self) -> str | None:
        """The fingerprint of the last successful run, ``None`` before the first."""
        with self.engine.connect() as connection:
            return self._get(connection, "fingerprint")

    def record_fingerprint(self, fingerprint: str) -> None:
        with self._writing() as connection:
            self._set(connection, "fingerprint", fingerprint)

    def fingerprint_changed(self, fingerprint: str) -> bool:
        """True when a previous successful run used another image configuration."""
        last = self.last_fingerprint()
        return last is not None and last != fingerprint

    # -- what differential runs read -----------------------------------------------------------

    def last_run(self) -> dict[str, Any] | None:
        """The last run recorded (``run_id``, ``full``, ``at``), ``None`` when there is none: a
        differential run then has no index to read and is made full."""
        with self.engine.connect() as connection:
            return _last_run(connection)

    def products_of_assets(self, assets: Iterable[str]) -> dict[str, str]:
        """The delivered products referencing any of ``assets`` (asset keys, ``family/code``):
        product_ref -> its kind (``simple`` or ``master``)."""
        keys = sorted(set(assets))
        found: dict[str, str] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                query = (
                    select(products.c.product_ref, products.c.kind)
                    .join(asset_products, asset_products.c.product_ref == products.c.product_ref)
                    .where(asset_products.c.asset.in_(chunk))
                )
                found.update({ref: kind for ref, kind in connection.execute(query)})
        return found

    def assets_of(self, product_ref: str) -> list[tuple[str, str]]:
        """``(collection, asset key)`` pairs a delivered product references, sorted."""
        query = select(asset_products.c.collection, asset_products.c.asset).where(
            asset_products.c.product_ref == product_ref
        )
        with self.engine.connect() as connection:
            return sorted((c, a) for c, a in connection.execute(query))

    def master_variants(self) -> dict[str, set[str]]:
        """Each delivered master's variants (identifiers) as last delivered."""
        found: dict[str, set[str]] = {}
        with self.engine.connect() as connection:
            for master, variant in connection.execute(select(master_variants)):
                found.setdefault(master, set()).add(variant)
        with self.engine.connect() as connection:
            masters = select(products.c.product_ref).where(products.c.kind == "master")
            for (master,) in connection.execute(masters):
                found.setdefault(master, set())
        return found

    def asset_checksums(self) -> dict[str, str]:
        """Asset key -> the SHA-256 of its record when last seen (PAM assets)."""
        with self.engine.connect() as connection:
            return dict(connection.execute(select(asset_checksums.c.asset, asset_checksums.c.sha256)).all())

    # -- what a successful run writes -----------------------------------------------------------

    def record_run(
        self,
        run_id: str,
        refs: Iterable[ProductRefs],
        *,
        full: bool,
        checksums: Mapping[str, str] | None = None,
        fingerprint: str | None = None,
        seen: Mapping[str, Any] | object | None = NOT_SEEN,
    ) -> int:
        """Remember what a successful run delivered, in one transaction.

        :param refs: every product the run delivered, with its assets and (masters) variants.
        :param full: a full run replaces the whole index (products it did not deliver are no
            longer indexed); a differential one replaces the rows of the products it delivered.
        :param checksums: asset key -> SHA-256 of the assets seen (PAM), merged in.
        :param seen: :meth:`last_run` as the run read it when it started (``None``: no run
            before). When another run recorded since, the two overlapped: the drops may hold
            either's files last, and the index the older read of the catalog, so
            :data:`OVERLAPPED` is kept instead of ``fingerprint`` and the next run is full
            (docs/runs.md#runs-side-by-side). Not given: no such check.
        :return: how many products were recorded.

        A product whose identifier (or model code) holds a character the store cannot hold
        (:data:`_NOT_STORABLE`) is not remembered, and a variant or asset that does is left out
        of its product's rows; each is logged as a warning naming the product and the value
        (docs/runs.md#state-between-runs). No target can write such an identifier either.
        """
        refs = _storable(refs)
        count = 0
        with self._writing() as connection:
            if full:
                for table in (products, asset_products, master_variants):
                    connection.execute(delete(table))
            batch: list[ProductRefs] = []
            for ref in refs:
                batch.append(ref)
                if len(batch) >= 500:
                    count += self._replace(connection, run_id, batch)
                    batch = []
            count += self._replace(connection, run_id, batch)
            if checksums:
                keys = list(checksums)
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    connection.execute(delete(asset_checksums).where(asset_checksums.c.asset.in_(chunk)))
                    connection.execute(
                        insert(asset_checksums), [{"asset": k, "sha256": checksums[k]} for k in chunk]
                    )
            if fingerprint is not None:
                if self._overlapped(connection, run_id, seen):
                    logger.warning(
                        "run %s overlapped another run, which recorded since it started: the drops "
                        "may hold either's files last; the next run is a full import",
                        run_id,
                    )
                    fingerprint = OVERLAPPED
                self._set(connection, "fingerprint", fingerprint)
            at = datetime.now(UTC).isoformat()
            self._set(connection, "last_run", json.dumps({"run_id": run_id, "full": full, "at": at}))
        return count

    def _overlapped(self, connection: Connection, run_id: str, seen: object) -> bool:
        """Whether another run recorded since this one read ``seen`` (docs/runs.md#runs-side-by-side);
        an earlier try of this run's own record is not another run (it kept what it found)."""
        if seen is NOT_SEEN:
            return False
        last = _last_run(connection)
        if last == seen:
            return False
        if last is not None and last.get("run_id") == run_id:  # this task's earlier try recorded
            return self._get(connection, "fingerprint") == OVERLAPPED
        return True

    @staticmethod
    def _replace(connection: Connection, run_id: str, batch: list[ProductRefs]) -> int:
        if not batch:
            return 0
        names = [r.product_ref for r in batch]
        for table, column in (
            (products, products.c.product_ref),
            (asset_products, asset_products.c.product_ref),
            (master_variants, master_variants.c.master),
        ):
            connection.execute(delete(table).where(column.in_(names)))
        connection.execute(
            insert(products),
            [{"product_ref": r.product_ref, "kind": r.kind, "run_id": run_id} for r in batch],
        )
        links = [
            {"asset": asset, "collection": collection, "product_ref": r.product_ref}
            for r in batch
            for collection, asset in sorted(set(map(tuple, r.assets)))
        ]
        if links:
            connection.execute(insert(asset_products), links)
        variants = [{"master": r.product_ref, "variant": v} for r in batch for v in sorted(set(r.variants))]
        if variants:
            connection.execute(insert(master_variants), variants)
        return len(batch)

    def record_delivery(
        self,
        run_id: str,
        target: str,
        remote_dir: str,
        files: Iterable[tuple[str, int | None, str | None]],
        *,
        connection_id: str | None = None,
    ) -> None:
        """Remember the files a delivery put on a drop: ``(name, bytes, sha256)`` each. A retry
        of the same run and target replaces what its earlier try recorded."""
        at = datetime.now(UTC).isoformat()
        rows = [
            {
                "run_id": run_id,
                "target": target,
                "connection_id": connection_id,
                "remote_dir": remote_dir,
                "name": name,
                "bytes": size,
                "sha256": sha256,
                "delivered_at": at,
            }
            for name, size, sha256 in files
        ]
        with self._writing() as connection:
            connection.execute(
                delete(deliveries).where(deliveries.c.run_id == run_id, deliveries.c.target == target)
            )
            if rows:
                connection.execute(insert(deliveries), rows)

    def delivered(self, run_id: str) -> list[dict[str, Any]]:
        """The files recorded for a run, by target then name."""
        query = (
            select(deliveries)
            .where(deliveries.c.run_id == run_id)
            .order_by(deliveries.c.target, deliveries.c.name)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]


def _last_run(connection: Connection) -> dict[str, Any] | None:
    value = StateStore._get(connection, "last_run")
    return json.loads(value) if value else None


def _storable(refs: Iterable[ProductRefs]) -> Iterator[ProductRefs]:
    """``refs`` without what the store cannot hold (:data:`_NOT_STORABLE`), each left out
    logged as a warning naming the product and the value."""
    for ref in refs:
        if bad := _NOT_STORABLE.search(ref.product_ref):
            logger.warning(
                "product %s: holds %r at position %d, which the state store cannot hold; not remembered",
                shown(ref.product_ref),
                bad.group(),
                bad.start(),
            )
            continue
        variants = [v for v in ref.variants if not _NOT_STORABLE.search(v)]
        assets = [a for a in ref.assets if not any(_NOT_STORABLE.search(t) for t in a)]
        for left_out in [
            *(v for v in ref.variants if v not in variants),
            *(a for a in ref.assets if a not in assets),
        ]:
            logger.warning(
                "product %s: %s %s holds a character the state store cannot hold (NUL or a lone "
                "surrogate); not remembered for it",
                shown(ref.product_ref),
                "variant" if isinstance(left_out, str) else "asset",
                shown(left_out if isinstance(left_out, str) else "/".join(left_out)),
            )
        if len(variants) != len(ref.variants) or len(assets) != len(ref.assets):
            ref = ProductRefs(ref.product_ref, ref.kind, assets=assets, variants=variants)
        yield ref


def record_staged_run(
    store: StateStore,
    run_dir: StagingPath,
    run_id: str,
    *,
    fingerprint: str | None = None,
    seen: Mapping[str, Any] | object | None = NOT_SEEN,
) -> int:
    """Remember a successful run from its staging files (``refs.jsonl`` of the transform, the
    extract's import mode and PAM checksums); returns how many products were recorded.

    :param seen: :meth:`StateStore.last_run` as the run read it when it started.

    :raises StagingFileMissing: the run's extract or transform did not run.
    """
    mode = records.IMPORT_MODE.read(run_dir)
    checksums = records.ASSET_CHECKSUMS.read(run_dir) if records.ASSET_CHECKSUMS.exists(run_dir) else None
    return store.record_run(
        run_id,
        records.REFS.read(run_dir),
        full=bool(mode.get("full", True)),
        checksums=checksums,
        fingerprint=fingerprint,
        seen=seen,
    )
