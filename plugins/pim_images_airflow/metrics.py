"""The pipeline's metrics, through Airflow's metrics facade (docs/runs.md#metrics).

Metrics go where the deployment sends Airflow's own (``[metrics]``: StatsD, DogStatsD or
OpenTelemetry; nothing when metrics are off), so ops find them beside the scheduler's. Names,
all under ``pim_images.``:

- ``pim_images.<stage>.<figure>``: a counter per number of a stage's summary (e.g.
  ``extract.products``, ``transform.images``, ``download_media.downloaded``,
  ``download_media.from_cache``, ``download_media.bytes_downloaded``, ``render_bspk.rows``,
  ``deliver_sfcc.bytes``), ``pim_images.<stage>.warnings`` and ``pim_images.<stage>.files``;
- ``pim_images.<stage>.duration``: a timer (milliseconds) per stage that ended;
- ``pim_images.<stage>.failed``: a counter, 1 when the stage failed;
- ``pim_images.akeneo.requests``, ``pim_images.akeneo.throttled`` (429 answers) and
  ``pim_images.akeneo.server_errors`` (5xx answers) per stage that called Akeneo.

Each task process builds its own backend from Airflow's configuration (a task run by
``airflow dags test`` has no other), once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk._shared.observability.metrics.base_stats_logger import NoStatsLogger
from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

PREFIX = "pim_images"

log = logging.getLogger(__name__)


@functools.cache
def _backend() -> Any:
    """The configured backend; the no-op one when it cannot be built (metrics never fail a task)."""
    try:
        return get_stats_factory()()
    except Exception:
        log.exception("metrics are off for this task: the configured [metrics] backend cannot be built")
        return NoStatsLogger()


def stage_ended(stage: str, summary: Mapping[str, Any], seconds: float) -> None:
    """Count a stage's figures and time it.

    :param summary: the stage's summary as XCom carries it (numbers become counters).
    :param seconds: how long the stage ran.
    """
    backend = _backend()
    for figure, value in summary.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        name = "warnings" if figure == "warnings_total" else figure
        backend.incr(f"{PREFIX}.{stage}.{name}", count=int(value))
    if isinstance(summary.get("files"), list):
        backend.incr(f"{PREFIX}.{stage}.files", count=len(summary["files"]))
    backend.timing(f"{PREFIX}.{stage}.duration", seconds * 1000)


def stage_failed(stage: str) -> None:
    _backend().incr(f"{PREFIX}.{stage}.failed", count=1)


def akeneo_calls(stage: str, requests: int, statuses: Mapping[int, int]) -> None:
    """Count one stage's Akeneo requests, and the answers that say the PIM pushed back."""
    backend = _backend()
    backend.incr(f"{PREFIX}.akeneo.requests", count=requests)
    backend.incr(f"{PREFIX}.akeneo.throttled", count=statuses.get(429, 0))
    backend.incr(f"{PREFIX}.akeneo.server_errors", count=sum(n for s, n in statuses.items() if s >= 500))
