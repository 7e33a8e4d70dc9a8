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

Old run folders are removed at the start of each run (:func:`remove_expired_runs`), after
``PIM_IMAGES_STAGING_RETENTION_DAYS`` days (docs/runs.md#retention).
"""

from __future__ import annotations

import logging
import os

from airflow.sdk import ObjectStoragePath

from pim_images.staging import Retention, remove_old_runs, retention_cutoff, run_folder

log = logging.getLogger(__name__)

#: days a run folder is kept after its last write, when PIM_IMAGES_STAGING_RETENTION_DAYS is unset
DEFAULT_RETENTION_DAYS = 30.0
#: the shortest retention: a run waiting a day for the Akeneo pool must keep its folder
MIN_RETENTION_DAYS = 1.0


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


def retention_days() -> float | None:
    """``PIM_IMAGES_STAGING_RETENTION_DAYS``: how long a run folder is kept after its last write
    (docs/runs.md#retention); 30 by default, ``off`` to keep every folder.

    :raises ValueError: neither ``off`` nor a number of days of at least one, named.
    """
    raw = (os.environ.get("PIM_IMAGES_STAGING_RETENTION_DAYS") or str(DEFAULT_RETENTION_DAYS)).strip()
    if raw.lower() == "off":
        return None
    try:
        days = float(raw)
    except ValueError:
        days = 0.0
    if not days >= MIN_RETENTION_DAYS:
        raise ValueError(
            f"PIM_IMAGES_STAGING_RETENTION_DAYS must be a number of days of at least "
            f"{MIN_RETENTION_DAYS:g}, or off, got {raw!r}"
        )
    return days


def remove_expired_runs(current_run_id: str) -> Retention | None:
    """Remove the run folders older than the retention, never ``current_run_id``'s; ``None`` when
    the retention is ``off``. A listing or removal that fails is logged, never raised: a run is
    not failed for its housekeeping.

    :raises ValueError: ``PIM_IMAGES_STAGING_RETENTION_DAYS`` is not a valid value.
    """
    days = retention_days()
    if days is None:
        return None
    current = run_folder(current_run_id).removeprefix("runs/")
    try:
        done = remove_old_runs(staging_base(), retention_cutoff(days), keep={current})
    except OSError as exc:
        log.warning("old run folders not removed: %s", exc)
        return None
    if done.removed:
        log.info(
            "removed %d run folder(s) last written over %g days ago: %s",
            len(done.removed),
            days,
            ", ".join(done.removed),
        )
    return done
