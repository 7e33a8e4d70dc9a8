"""The Airflow pool that keeps every run's Akeneo calls within the API allowance
(docs/runs.md#akeneo-allowance).

Akeneo allows a few calls in flight per API connection (good-practices.md: 4); one run's client
keeps within it, but concurrent runs (a manual run beside the schedule, a backfill of several
intervals) each have their own client. Every task that calls Akeneo takes ``pool_slots`` equal to
the calls it keeps in flight from the pool ``akeneo_api`` of :data:`AKENEO_POOL_SIZE` slots, so all
runs together never exceed the allowance. The pool must exist: a task in a missing pool is never
scheduled (Airflow 3's scheduler logs "Tasks using non-existent pool" and the DAG shows a warning).
"""

from __future__ import annotations

from pim_images.akeneo.client import MAX_CONCURRENCY

AKENEO_POOL = "akeneo_api"
#: the allowance: calls in flight at once on the API connection
AKENEO_POOL_SIZE = MAX_CONCURRENCY
AKENEO_POOL_DESCRIPTION = "Akeneo API calls in flight, all pim_images_import runs together"
#: slots of each Akeneo task: the calls it keeps in flight (the structure is read one call after
#: another; extract walks MAX_CONCURRENCY lists at once, docs/akeneo.md#concurrent-listing; the
#: media download runs MAX_CONCURRENCY downloads at once)
AKENEO_SLOTS = {"extract_structure": 1, "extract": MAX_CONCURRENCY, "download_media": MAX_CONCURRENCY}


def pool_set_command(airflow: str = "airflow") -> list[str]:
    """``airflow pools set akeneo_api 4 "..."``: creates or resizes the pool (idempotent)."""
    return [airflow, "pools", "set", AKENEO_POOL, str(AKENEO_POOL_SIZE), AKENEO_POOL_DESCRIPTION]
