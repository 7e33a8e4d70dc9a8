"""Where the pipeline's state between runs lives, as Airflow configures it (docs/runs.md#state-between-runs).

The core's :class:`~pim_images.store.StateStore` takes a SQLAlchemy URL; this module chooses it:

- ``PIM_IMAGES_STATE_CONN`` names an Airflow connection: its extra ``sqlalchemy_url`` (or its URI)
  is the database, e.g. a PostgreSQL schema shared by a cluster's workers;
- otherwise SQLite, ``state.sqlite`` under the staging base when staging is on a local disk
  (next to ``state/``), else ``$AIRFLOW_HOME/pim_images_state.sqlite``: SQLite needs a local
  file and an object store is not one, so a cluster with object-storage staging sets the
  connection.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pim_images.store import StateStore, sqlite_url
from pim_images_airflow.staging import staging_base

log = logging.getLogger(__name__)

STATE_CONN_ENV = "PIM_IMAGES_STATE_CONN"
STATE_FILE = "state.sqlite"


def state_store_url() -> str:
    """The SQLAlchemy URL of the state store (module docstring)."""
    conn_id = os.environ.get(STATE_CONN_ENV)
    if conn_id:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(conn_id)
        return connection.extra_dejson.get("sqlalchemy_url") or connection.get_uri()
    base = staging_base()
    if base.protocol in ("file", "local"):
        folder = Path(base.path)
    else:
        folder = Path(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")))
        log.warning(
            "staging %s is not a local disk: the state store is SQLite at %s; on a cluster set %s",
            base,
            folder / "pim_images_state.sqlite",
            STATE_CONN_ENV,
        )
        return sqlite_url(str(folder / "pim_images_state.sqlite"))
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(str(folder / STATE_FILE))


def state_store() -> StateStore:
    """The state store, created or migrated on first use."""
    return StateStore(state_store_url())
