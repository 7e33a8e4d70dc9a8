"""The pipeline's core stages in sequence, against the sandbox, as the DAG calls them.

Every stage-level test goes through :func:`run_pipeline`: the one place that knows the stages'
signatures (the DAG, ``dags/pim_images_import.py``, is the reference for their arguments:
configuration, run folder, media cache, stamp, data interval). When a stage's signature
changes, this module changes and the tests do not.

Akeneo is the sandbox's, over HTTP, through :class:`~pim_images.akeneo.client.AkeneoClient`;
the files are delivered to the sandbox's SFTP server through the SFTP adapter
(:func:`pim_images_airflow.sftp_delivery.open_remote_files`, Airflow's ``SFTPHook``), as
``tests/integration/test_delivery_sftp.py`` does.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pim_images import targets
from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import MAX_CONCURRENCY, AkeneoClient
from pim_images.config import PipelineConfig, load_config
from pim_images.deliver import deliver_files
from pim_images.extract import extract_catalog, extract_structure
from pim_images.media import MediaCache, download_media
from pim_images.records import target_dir
from pim_images.store import StateStore, record_staged_run
from pim_images.transform import transform_catalog
from pim_images.validate import validate_catalog
from pim_images_airflow.sftp_delivery import open_remote_files
from pim_sandbox.credentials import (
    AKENEO_CLIENT_ID,
    AKENEO_CLIENT_SECRET,
    AKENEO_PASSWORD,
    AKENEO_USER,
)
from pim_sandbox.environment import Sandbox

CONFIG = Path(__file__).resolve().parents[1] / "config" / "pim_images.yaml"
#: The core stages, in the order :func:`run_pipeline` runs them (the DAG's task ids).
STAGES = (
    "extract_structure",
    "validate",
    "extract",
    "download_media",
    "transform",
    "render_sfcc",
    "render_bspk",
    "deliver_sfcc",
    "deliver_bspk",
    "record_success",
)
#: The stamp in file names when a test does not give one (the DAG's is the run's interval end).
STAMP = "20260301T000000Z"
_SFTP_CONN_ID = "pipeline_test_sftp"


@dataclass
class Delivered:
    """What one run of the stages left: the files on the SFTP drop and each stage's outcome.

    :ivar files: target (``sfcc``, ``bspk``) -> delivered file name -> its bytes, as read back
        from the sandbox SFTP server's folder (the configured remote folder of the target).
    :ivar summaries: stage -> its summary object, for the stages that ran.
    :ivar warnings: stage -> its warnings (every one, in order), for the stages that ran.
    :ivar config: the run's validated configuration.
    :ivar run_dir: the run's staging folder.
    :ivar rendered: target -> rendered file name -> its bytes, as the renderer left them in staging
        (also when the run stopped before delivering).
    :ivar peak_in_flight: the most Akeneo calls the client had in flight at once (the stages up
        to ``download_media``).
    :ivar statuses: HTTP status -> Akeneo responses received with it.
    """

    config: PipelineConfig
    run_dir: Path
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    rendered: dict[str, dict[str, bytes]] = field(default_factory=dict)
    summaries: dict[str, Any] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    #: the Akeneo client's most calls in flight at once, and its responses by status
    peak_in_flight: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


@contextmanager
def akeneo_client(sandbox: Sandbox, concurrency: int = MAX_CONCURRENCY) -> Iterator[AkeneoClient]:
    """A client of the sandbox Akeneo with the sandbox's credentials."""
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    with AkeneoClient(sandbox.akeneo_url, credentials, concurrency=concurrency) as client:
        yield client


def run_pipeline(
    sandbox: Sandbox,
    overrides: Mapping[str, Any] | None,
    run_dir: Path,
    *,
    until: str = STAGES[-1],
    cache: MediaCache | None = None,
    stamp: str = STAMP,
    interval: tuple[datetime, datetime] | None = None,
    store: StateStore | None = None,
    run_id: str = "pipeline-test-run",
    concurrency: int = MAX_CONCURRENCY,
) -> Delivered:
    """Run the core stages in order against ``sandbox``, up to and including ``until``.

    :param overrides: DAG params over ``config/pim_images.yaml`` (``None`` values ignored).
    :param run_dir: the run's staging folder (one per run, as the DAG's ``runs/<run id>``).
    :param until: the last stage to run, one of :data:`STAGES`.
    :param cache: the media cache; shared across runs to save downloads (default: one under
        ``run_dir``).
    :param stamp: the run's time in file names (``YYYYMMDDTHHMMSSZ``).
    :param interval: ``(updated_from, updated_to)`` of a differential import; ``None`` reads
        the whole catalog (as the DAG does for a full import or a changed configuration).
    :param store: the state between runs (the DAG's is SQLite under the staging base): the extract
        of a differential run reads it, and ``record_success`` (run when ``until`` reaches it, or
        when the run stops before delivering) writes what the run delivered.
    :param run_id: the run's id, as the store records it.
    :param concurrency: the Akeneo client's calls in flight at once (the DAG's: Akeneo's 4).
    :return: the delivered files, every stage's summary and warnings.
    :raises ConfigError: the configuration breaks a rule (before any stage runs).
    :raises CatalogError: the sandbox catalog breaks a rule (validate) or lacks a configured
        attribute (extract); any other stage error propagates as the stage raised it.
    """
    last = STAGES.index(until)
    config = load_config(CONFIG, overrides=overrides)
    cache = cache or MediaCache(run_dir / "media-cache")
    result = Delivered(config=config, run_dir=run_dir)
    window: dict[str, Any] = {"updated_from": interval[0], "updated_to": interval[1]} if interval else {}
    window["store"] = store
    seen = store.last_run() if store is not None else None  # as the DAG's validate_config reads it

    def stage(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        summary = call(*args, **kwargs)
        result.summaries[name] = summary
        result.warnings[name] = list(getattr(summary, "warnings", None) or [])
        return summary

    with akeneo_client(sandbox, concurrency) as client:
        calls = {
            "extract_structure": (extract_structure, client, config, run_dir),
            "validate": (validate_catalog, config, run_dir),
            "extract": (extract_catalog, client, config, run_dir),
            "download_media": (
                functools.partial(
                    download_media, max_pixels=config.maxImagePixels, max_bytes=config.maxMediaBytes
                ),
                client,
                run_dir,
                cache,
            ),
        }
        for name in STAGES[: min(last, STAGES.index("download_media")) + 1]:
            stage(name, *calls[name], **(window if name == "extract" else {}))
        result.peak_in_flight = client.peak_in_flight
        result.statuses = dict(client.statuses)
    if last >= STAGES.index("transform"):
        stage("transform", transform_catalog, config, run_dir)
    for target in targets.registered():
        name = target.name
        if name not in config.targets or last < STAGES.index(f"render_{name}"):
            continue
        rendered = stage(f"render_{name}", target.render, config, run_dir, cache, stamp)
        folder = target_dir(run_dir, name)
        result.rendered[name] = {file: (folder / file).read_bytes() for file in rendered.files}
        if last < STAGES.index(f"deliver_{name}"):
            continue
        remote_dir = target.remote_dir(config)
        with _sftp_connection(sandbox) as conn_id, open_remote_files(conn_id) as remote:
            args = (remote, name, target_dir(run_dir, name), rendered.files, remote_dir, stamp)
            stage(f"deliver_{name}", deliver_files, *args)
        folder = sandbox.sftp_root / remote_dir.lstrip("/")
        result.files[name] = {file: (folder / file).read_bytes() for file in rendered.files}
    if store is not None and last >= STAGES.index("transform"):
        stage(
            "record_success",
            record_staged_run,
            store,
            run_dir,
            run_id,
            fingerprint=config.fingerprint(),
            seen=seen,
        )
    return result


@contextmanager
def _sftp_connection(sandbox: Sandbox) -> Iterator[str]:
    """An Airflow connection (``AIRFLOW_CONN_*``) to the sandbox SFTP server, for this block."""
    variable = f"AIRFLOW_CONN_{_SFTP_CONN_ID.upper()}"
    previous = os.environ.get(variable)
    os.environ[variable] = sandbox.sftp.airflow_conn_json()
    try:
        yield _SFTP_CONN_ID
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous
