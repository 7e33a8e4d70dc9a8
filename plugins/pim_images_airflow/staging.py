"""Where the pipeline's staging lives, as Airflow addresses it (docs/runs.md#staging).

One setting, ``PIM_IMAGES_STAGING``:

- a local folder (``/srv/pim-images`` or ``file:///srv/pim-images``) on one machine; the
  default is ``$AIRFLOW_HOME/pim_images``;
- a bucket on a cluster, where workers share no disk: ``s3://<conn id>@<bucket>/<prefix>``,
  the connection (type ``aws``: keys, and ``endpoint_url`` in its extra for an S3-compatible
  store such as MinIO) giving the credentials. Without ``<conn id>@``, boto's own chain
  (environment, instance role) is used.

The DAG's tasks, the run-note listener and the UI plugin all find a run's files through these
two functions.
"""

from __future__ import annotations

import os

from airflow.sdk import ObjectStoragePath

from pim_images.staging import run_folder


def staging_url() -> str:
    """``PIM_IMAGES_STAGING`` as an object-storage URL: a plain folder becomes ``file://<folder>``."""
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    url = os.environ.get("PIM_IMAGES_STAGING") or f"{home}/pim_images"
    return url if "://" in url else f"file://{os.path.abspath(url)}"


def staging_base() -> ObjectStoragePath:
    """The staging base shared by every run (media cache, fingerprint, run folders); its
    ``conn_id`` is the ``<conn id>@`` of the URL."""
    return ObjectStoragePath(staging_url())


def run_dir(run_id: str) -> ObjectStoragePath:
    """One staging folder per DAG run: retries of any task find their inputs there."""
    return staging_base() / run_folder(run_id)
