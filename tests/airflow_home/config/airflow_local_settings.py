"""Cluster policy of the tests' Airflow home (copied to ``$AIRFLOW_HOME/config/`` by
``tests/dags/conftest.py``; Airflow puts that folder on ``sys.path`` and imports
``airflow_local_settings`` from it, in every process, ``airflow dags test`` included).

Every task gets ``retries = 0``: a failing task fails the test at once instead of after
minutes of retry delays. ``PIM_IMAGES_TEST_PRODUCTION_RETRIES=1`` keeps the DAG's own retries,
for the run that shows a failure the DAG must not retry. ``PIM_IMAGES_TEST_RETRY_DELAY_SECONDS=N``
keeps the DAG's own retries too, but retries after ``N`` seconds, without backoff, for the test
whose workers are killed and retried by the scheduler (tests/system/test_killed_workers.py).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any


def task_policy(task: Any) -> None:
    """Airflow's task policy hook: called on every task when a DAG is parsed."""
    delay = os.environ.get("PIM_IMAGES_TEST_RETRY_DELAY_SECONDS")
    if delay:
        task.retry_delay = timedelta(seconds=float(delay))
        task.retry_exponential_backoff = 0
        return
    if os.environ.get("PIM_IMAGES_TEST_PRODUCTION_RETRIES") != "1":
        task.retries = 0
