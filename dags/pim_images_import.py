"""
### PIM images import

Takes product images out of Akeneo PIM and delivers them to Salesforce B2C Commerce (a
site-import archive and a catalog XML) and to BSPK (a PRODUCT-IMAGES V2 CSV), as files
dropped on SFTP.

Each stage is its own task, retried on its own: validate the configuration, extract the
catalog structure, validate it against the connector's rules, extract products, models and
assets, download media, transform, render per target, deliver per target. Data moves through
run-scoped staging files (``PIM_IMAGES_STAGING``, default ``$AIRFLOW_HOME/pim_images``); XCom
carries only small summaries.

Connections: `akeneo_default` (type http: host, login/password, extras `client_id` and
`client_secret`), `sfcc_sftp` and `bspk_sftp` (type sftp, `host_key` pinned in extras).

Parameters default to `config/pim_images.yaml`; the trigger form overrides them per run.
Configuration errors fail at once and are not retried.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    Asset,
    CronDataIntervalTimetable,
    ObjectStoragePath,
    Param,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from pim_images import config as cfg
from pim_images.akeneo.errors import AkeneoAuthError
from pim_images.deliver import deliver_files
from pim_images.errors import InputError
from pim_images.extract import extract_catalog
from pim_images.extract import extract_structure as extract_structure_stage
from pim_images.media import MediaCache, download_media
from pim_images.render.bspk import render_bspk
from pim_images.render.sfcc import render_sfcc
from pim_images.state import FingerprintStore
from pim_images.transform import transform_catalog
from pim_images.validate import validate_catalog
from pim_images_airflow.akeneo_hook import AkeneoHook
from pim_images_airflow.sftp_delivery import open_remote_files

log = logging.getLogger(__name__)

CONFIG_FILE = Path(__file__).resolve().parents[1] / "config" / "pim_images.yaml"
SFCC_ASSET = Asset("pim-images-sfcc-delivery")
BSPK_ASSET = Asset("pim-images-bspk-delivery")

_DEFAULTS = cfg.read_config_file(CONFIG_FILE)


def _param(name: str, title: str, description: str, section: str, **schema: Any) -> Param:
    return Param(_DEFAULTS.get(name), title=title, description=description, section=section, **schema)


PARAMS = {
    "importMode": _param(
        "importMode",
        "Import mode",
        "full: the whole catalog. differential: products updated in the run's data interval.",
        "Run",
        type="string",
        enum=list(cfg.IMPORT_MODES),
    ),
    "targets": _param(
        "targets",
        "Targets",
        "Where files are delivered.",
        "Run",
        type="array",
        items={"type": "string", "enum": list(cfg.TARGETS)},
        uniqueItems=True,
        minItems=1,
    ),
    "akeneoImageType": _param(
        "akeneoImageType",
        "Akeneo image type",
        "Read pim_catalog_image attributes (images), asset collections (assets), or both.",
        "Akeneo",
        type="string",
        enum=list(cfg.IMAGE_TYPES),
    ),
    "akeneoAssetSystem": _param(
        "akeneoAssetSystem",
        "Asset system",
        "new: Asset Manager (PIM >= 4.0). old: PAM (PIM < 4.0).",
        "Akeneo",
        type="string",
        enum=list(cfg.ASSET_SYSTEMS),
    ),
    "akeneoImageImportType": _param(
        "akeneoImageImportType",
        "Image import type",
        "For assets: binaries (media_file), links (media_link), or both.",
        "Akeneo",
        type="string",
        enum=list(cfg.IMAGE_IMPORT_TYPES),
    ),
    "akeneoImageAttributes": _param(
        "akeneoImageAttributes",
        "Image attributes",
        "pim_catalog_image attributes to read, in order. Empty: all, by sort order then code.",
        "Akeneo",
        type="array",
        items={"type": "string"},
    ),
    "akeneoScope": _param(
        "akeneoScope", "Channel", "The channel whose scopable values are read.", "Akeneo", type="string"
    ),
    "akeneoLocales": _param(
        "akeneoLocales",
        "Locales",
        "Locales exported; values in other locales are ignored.",
        "Akeneo",
        type="array",
        items={"type": "string"},
        minItems=1,
    ),
    "akeneoImageViewTypes": _param(
        "akeneoImageViewTypes",
        "Image view types (JSON)",
        'SFCC view types for image files, e.g. {"view-types": ["large","medium","small"]}; { } turns it off.',
        "SFCC",
        type="string",
    ),
    "akeneoImageLinkViewTypesMapping": _param(
        "akeneoImageLinkViewTypesMapping",
        "Link view types mapping (JSON)",
        'Asset attribute -> SFCC view types, e.g. {"url_large": ["large"]}.',
        "SFCC",
        type="string",
    ),
    "akeneoExternalImageLocation": _param(
        "akeneoExternalImageLocation",
        "External image location",
        "Base URL where images are hosted; base of the public URLs given to BSPK.",
        "SFCC",
        type="string",
    ),
    "sfccCatalogId": _param(
        "sfccCatalogId", "SFCC catalog id", "The catalog written.", "SFCC", type="string"
    ),
    "sfccRemoteDir": _param(
        "sfccRemoteDir", "SFCC remote folder", "Folder on the sfcc_sftp server.", "Delivery", type="string"
    ),
    "bspkRemoteDir": _param(
        "bspkRemoteDir", "BSPK remote folder", "Folder on the bspk_sftp server.", "Delivery", type="string"
    ),
}

default_args = {
    # PIM_IMAGES_TASK_RETRIES lowers retries where a failure should surface at once (tests)
    "retries": int(os.environ.get("PIM_IMAGES_TASK_RETRIES", "3")),
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=2),
}


def _config() -> cfg.PipelineConfig:
    """This run's configuration: the YAML file overridden by the run's params."""
    params = get_current_context()["params"]
    try:
        return cfg.load_config(CONFIG_FILE, overrides={k: params.get(k) for k in PARAMS})
    except InputError as exc:
        raise AirflowFailException(str(exc)) from exc


def _staging_base() -> ObjectStoragePath:
    home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
    return ObjectStoragePath(os.environ.get("PIM_IMAGES_STAGING", f"file://{home}/pim_images"))


def _run_dir() -> ObjectStoragePath:
    """One staging folder per DAG run: retries of any task find their inputs there."""
    run_id = get_current_context()["run_id"]
    return _staging_base() / "runs" / re.sub(r"[^A-Za-z0-9._-]", "_", run_id)


def _media_cache() -> MediaCache:
    return MediaCache(_staging_base() / "media-cache")


def _stamp() -> str:
    """The run's time in file names: the same for every try of the run (idempotent names)."""
    context = get_current_context()
    when = context.get("data_interval_end") or context["dag_run"].run_after
    return when.strftime("%Y%m%dT%H%M%SZ")


def _report(stage: str, summary: Any) -> dict[str, Any]:
    """Log a stage's counts and each of its warnings (what an ops engineer reads first), and
    return the summary for XCom."""
    data = summary.to_dict()
    warnings = data.get("warnings") or []
    counts = {k: v for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    log.info("%s: %s", stage, ", ".join(f"{k}={v}" for k, v in counts.items()))
    for warning in warnings:
        log.warning("%s: %s", stage, warning)
    return data


def _with_akeneo(stage: str, call: Callable[[Any], Any]) -> dict[str, Any]:
    """Run a stage with an Akeneo client from the connection; bad input fails without retry."""
    try:
        with AkeneoHook().get_conn() as client:
            return _report(stage, call(client))
    except Exception as exc:
        _fail_on_input(exc)
        raise


def _fail_on_input(exc: Exception) -> None:
    """Bad input and refused credentials fail the task at once: a retry would fail the same way."""
    if isinstance(exc, (InputError, AkeneoAuthError)):
        raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id="pim_images_import",
    # Data intervals (not Airflow 3's default trigger timetable): a differential import reads
    # the products updated within its run's interval, and backfills cover consecutive intervals.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    default_args=default_args,
    tags=["pim", "akeneo", "sfcc", "bspk", "images"],
    doc_md=__doc__,
)
def pim_images_import() -> None:
    @task(retries=0)
    def validate_config() -> dict[str, Any]:
        config = _config()
        fingerprint = config.fingerprint()
        changed = FingerprintStore(_staging_base()).changed(fingerprint)
        if changed:
            log.warning(
                "image-related configuration changed since the last successful run: this run is a full import"
            )
        return {"config": config.to_dict(), "fingerprint": fingerprint, "configuration_changed": changed}

    @task
    def extract(_: dict[str, Any]) -> dict[str, Any]:
        config = _config()
        context = get_current_context()
        interval: dict[str, Any] = {}
        checked = context["ti"].xcom_pull(task_ids="validate_config") or {}
        if config.importMode == "differential" and checked.get("configuration_changed"):
            log.warning("differential import made full: the image-related configuration changed")
        elif config.importMode == "differential":
            start, end = context.get("data_interval_start"), context.get("data_interval_end")
            if start is None or end is None:
                raise AirflowFailException("importMode 'differential' needs a run with a data interval")
            interval = {"updated_from": start, "updated_to": end}
        return _with_akeneo("extract", lambda client: extract_catalog(client, config, _run_dir(), **interval))

    @task
    def extract_structure(_: dict[str, Any]) -> dict[str, Any]:
        config = _config()
        return _with_akeneo(
            "extract_structure", lambda client: extract_structure_stage(client, config, _run_dir())
        )

    @task(retries=0)
    def validate(_: dict[str, Any]) -> dict[str, Any]:
        try:
            return validate_catalog(_config(), _run_dir()).to_dict()
        except InputError as exc:
            raise AirflowFailException(str(exc)) from exc

    @task(task_id="download_media")
    def download_media_task(_: dict[str, Any]) -> dict[str, Any]:
        return _with_akeneo(
            "download_media", lambda client: download_media(client, _run_dir(), _media_cache())
        )

    @task(task_id="transform")
    def transform_task(_: dict[str, Any]) -> dict[str, Any]:
        return _report("transform", transform_catalog(_config(), _run_dir()))

    @task(task_id="render_sfcc")
    def render_sfcc_task(_: dict[str, Any]) -> dict[str, Any]:
        config = _config()
        if "sfcc" not in config.targets:
            raise AirflowSkipException("sfcc is not among this run's targets")
        return _report("render_sfcc", render_sfcc(config, _run_dir(), _media_cache(), _stamp()))

    @task(task_id="render_bspk")
    def render_bspk_task(_: dict[str, Any]) -> dict[str, Any]:
        config = _config()
        if "bspk" not in config.targets:
            raise AirflowSkipException("bspk is not among this run's targets")
        return _report("render_bspk", render_bspk(config, _run_dir(), _stamp()))

    @task(outlets=[SFCC_ASSET])
    def deliver_sfcc(rendered: dict[str, Any]) -> dict[str, Any]:
        return _deliver("sfcc", "sfcc_sftp", rendered["files"], _config().sfccRemoteDir)

    @task(outlets=[BSPK_ASSET])
    def deliver_bspk(rendered: dict[str, Any]) -> dict[str, Any]:
        return _deliver("bspk", "bspk_sftp", rendered["files"], _config().bspkRemoteDir)

    @task(trigger_rule="none_failed")
    def record_success(checked: dict[str, Any]) -> dict[str, Any]:
        """Remember this run's configuration fingerprint once every delivery succeeded."""
        FingerprintStore(_staging_base()).record(checked["fingerprint"])
        return {"fingerprint": checked["fingerprint"]}

    checked = validate_config()
    validated = validate(extract_structure(checked))
    transformed = transform_task(download_media_task(extract(validated)))
    deliveries = [deliver_sfcc(render_sfcc_task(transformed)), deliver_bspk(render_bspk_task(transformed))]
    recorded = record_success(checked)
    deliveries >> recorded


def _deliver(target: str, conn_id: str, files: list[str], remote_dir: str) -> dict[str, Any]:
    context = get_current_context()
    token = re.sub(r"[^A-Za-z0-9]", "", f"{context['run_id']}{context['ti'].try_number}")[-32:]
    with open_remote_files(conn_id) as remote:
        summary = deliver_files(remote, target, _run_dir() / target, files, remote_dir, token)
    log.info("deliver_%s: %s to %s:%s", target, ", ".join(summary.files), conn_id, remote_dir)
    return summary.to_dict()


pim_images_import()
