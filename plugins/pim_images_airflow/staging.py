"""Where the pipeline's staging lives, as Airflow addresses it (docs/runs.md#staging).

``PIM_IMAGES_STAGING`` is an object-storage URL (``file://...`` on one machine, ``s3://...`` on a
cluster); the default is ``$AIRFLOW_HOME/pim_images``. The DAG's tasks, the run-note listener and
the UI plugin all find a run's files through these two functions.
"""

from __future__ import annotations

import os

from airflow.sdk import ObjectStoragePath

from pim_images.staging import run_folder


def staging_base() -> ObjectStoragePath:
    """The staging base shared by every run (media cache, fingerprint, run folders)."""
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    return ObjectStoragePath(os.environ.get("PIM_IMAGES_STAGING", f"file://{home}/pim_images"))


def run_dir(run_id: str) -> ObjectStoragePath:
    """One staging folder per DAG run: retries of any task find their inputs there."""
    return staging_base() / run_folder(run_id)
