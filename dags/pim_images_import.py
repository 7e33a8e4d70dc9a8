"""
### PIM images import

Takes product images out of Akeneo PIM and delivers them to Salesforce B2C Commerce (a
site-import archive and a catalog XML) and to BSPK (a PRODUCT-IMAGES V2 CSV), as files
dropped on SFTP.

Each stage is its own task, retried on its own: validate the configuration, extract the
catalog structure, validate it against the connector's rules, extract products, models and
assets, download media, transform, then a render and a deliver task per registered target
(`pim_images.targets`). The configuration `validate_config` checked travels to every task
through XCom: a deploy in the middle of a run never mixes two configurations. Data moves through
run-scoped staging files (``PIM_IMAGES_STAGING``, default ``$AIRFLOW_HOME/pim_images``); XCom
carries only small summaries. A teardown, `publish_report`, ends every run, failed or not: it
writes the run report (`runs/<run id>/report.json`: status, every error and warning by
stage, whether the image configuration changed) and logs its outline.

Connections: `akeneo_default` (type http: host, login/password, extras `client_id` and
`client_secret`), `sfcc_sftp` and `bspk_sftp` (type sftp, `host_key` pinned in extras).

Parameters default to `config/pim_images.yaml`; the trigger form overrides them per run.
Configuration errors fail at once and are not retried.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import (
    Asset,
    CronDataIntervalTimetable,
    DeadlineAlert,
    DeadlineReference,
    ObjectStoragePath,
    Param,
    SyncCallback,
    dag,
    get_current_context,
    task,
    teardown,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

if TYPE_CHECKING:
    from pim_images.targets import Target

from pim_images import config as cfg
from pim_images import report, targets
from pim_images.akeneo.errors import AkeneoAuthError
from pim_images.deliver import DeliverySummary, deliver_files, file_stamp
from pim_images.errors import InputError
from pim_images.extract import extract_catalog
from pim_images.extract import extract_structure as extract_structure_stage
from pim_images.media import MediaCache, download_media
from pim_images.outline import run_note
from pim_images.records import target_dir
from pim_images.state import adopt_legacy_fingerprint
from pim_images.store import NOT_SEEN, OVERLAPPED, record_staged_run
from pim_images.transform import transform_catalog
from pim_images.validate import validate_catalog
from pim_images_airflow import metrics
from pim_images_airflow.akeneo_hook import AkeneoHook
from pim_images_airflow.alerts import FailureAlert, deadline_missed, slack_notifiers
from pim_images_airflow.pools import AKENEO_POOL, AKENEO_SLOTS
from pim_images_airflow.sftp_delivery import open_remote_files
from pim_images_airflow.staging import remove_expired_runs, run_dir, staging_base
from pim_images_airflow.state_store import state_store

log = logging.getLogger(__name__)

# PIM_IMAGES_CONFIG: one DAG file, a configuration file per environment (staging, production)
CONFIG_FILE = Path(
    os.environ.get("PIM_IMAGES_CONFIG") or Path(__file__).resolve().parents[1] / "config" / "pim_images.yaml"
)

_DEFAULTS = cfg.read_config_file(CONFIG_FILE)
# A broken file breaks the DAG at parse time, every problem named in the UI's import errors;
# otherwise Airflow would refuse each run's params one by one, scheduled runs included.
cfg.build_config(_DEFAULTS)
#: The pipeline's stages (task ids), in order: the run report lists them so.
STAGES = (
    "validate_config",
    "extract_structure",
    "validate",
    "extract",
    "download_media",
    "transform",
    *(f"{stage}_{target.name}" for target in targets.registered() for stage in ("render", "deliver")),
    "record_success",
)


# The trigger form: one typed Param per parameter of the configuration model (its enums,
# titles, descriptions and sections), defaulting to the YAML file's values.
PARAMS = {name: Param(**spec) for name, spec in cfg.param_specs(_DEFAULTS).items()}


def _deadline_hours() -> float | None:
    """PIM_IMAGES_DEADLINE_HOURS: how long an import may run, from when it was queued, before the
    deadline alert mails (docs/runs.md#alerts); 6 by default, ``off`` for none. A value that is
    neither breaks the DAG at parse time, named in the UI's import errors.

    ``airflow dags test`` needs ``off`` (the sandbox's environment sets it): in Airflow 3.3 it
    fails a successful run of a DAG with a deadline (apache/airflow#73428); the scheduler does not.
    """
    raw = (os.environ.get("PIM_IMAGES_DEADLINE_HOURS") or "6").strip()
    if raw.lower() == "off":
        return None
    try:
        hours = float(raw)
    except ValueError:
        hours = 0
    if not hours > 0:
        raise ValueError(f"PIM_IMAGES_DEADLINE_HOURS must be a positive number of hours or off, got {raw!r}")
    return hours


DEADLINE_HOURS = _deadline_hours()
# An import still running this long after it was queued mails the `pim_images_alerts` connection.
DEADLINE = (
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=DEADLINE_HOURS),
        callback=SyncCallback(deadline_missed, kwargs={"limit": f"{DEADLINE_HOURS:g} h"}),
        name="pim_images_import runs too long",
    )
    if DEADLINE_HOURS
    else None
)

default_args = {
    # a mail per failed task when the `pim_images_alerts` connection is defined; a Slack post
    # too when PIM_IMAGES_SLACK_CONN names a webhook connection (optional provider)
    "on_failure_callback": [FailureAlert(), *slack_notifiers()],
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=2),
}


def _run_config() -> cfg.PipelineConfig:
    """This run's configuration: the YAML file overridden by the run's params (``validate_config``
    only; every later task takes the configuration it checked, see :func:`_checked_config`).

    :raises ConfigError: naming every parameter at fault.
    """
    context = get_current_context()
    conf = getattr(context.get("dag_run"), "conf", None)
    return cfg.load_config(CONFIG_FILE, overrides=cfg.run_overrides(context["params"], conf))


def _checked_config(checked: dict[str, Any]) -> cfg.PipelineConfig:
    """The configuration ``validate_config`` checked and returned (XCom), rebuilt."""
    return cfg.build_config(checked["config"])


def _staging_base() -> ObjectStoragePath:
    return staging_base()


def _run_dir() -> ObjectStoragePath:
    """One staging folder per DAG run: retries of any task find their inputs there."""
    return run_dir(get_current_context()["run_id"])


def _media_cache() -> MediaCache:
    return MediaCache(_staging_base() / "media-cache")


def _stamp() -> str:
    """The run's time in file names, the same for every try of the run: a scheduled or backfilled
    run's interval end, a manual run's own time to the microsecond (``file_stamp``)."""
    context = get_current_context()
    dag_run = context["dag_run"]
    return file_stamp(_run_type(dag_run), context.get("data_interval_end"), dag_run.run_after)


def _run_type(dag_run: Any) -> str:
    """The run's type as Airflow spells it (``manual``, ``scheduled``, ``backfill``...)."""
    run_type = dag_run.run_type
    return str(getattr(run_type, "value", run_type))


def _log_summary(stage: str, summary: Any) -> dict[str, Any]:
    """Log a stage's counts and the first of its warnings (what an ops engineer reads first),
    and return the summary for XCom; the run report keeps the first 10,000 of each stage's
    warnings and their total (``pim_images.report.MAX_REPORT_WARNINGS``)."""
    data = summary.to_dict() if hasattr(summary, "to_dict") else dict(summary)
    counts = {k: v for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    log.info("%s: %s", stage, ", ".join(f"{k}={v}" for k, v in counts.items()))
    for warning in data.get("warnings") or []:
        log.warning("%s: %s", stage, warning)
    return data


def _run_stage(stage: str, call: Callable[[], Any]) -> dict[str, Any]:
    """Run one stage, record how it ended in the run report and the metrics, success or failure.

    Bad input (configuration, catalog, connection) and refused credentials fail the task at
    once: a retry would fail the same way.
    """
    run_dir = _run_dir()
    started = time.monotonic()
    try:
        summary = call()
    except AirflowSkipException:
        raise
    except Exception as exc:
        report.record_failure(run_dir, stage, exc)
        metrics.stage_failed(stage)
        if isinstance(exc, (InputError, AkeneoAuthError)):
            raise AirflowFailException(str(exc)) from exc
        raise
    report.record_stage(run_dir, stage, summary)
    data = _log_summary(stage, summary)
    metrics.stage_ended(stage, data, time.monotonic() - started)
    return data


def _with_akeneo(stage: str, call: Callable[[Any], Any]) -> dict[str, Any]:
    """Run a stage with an Akeneo client from the connection; count its requests."""

    def with_client() -> Any:
        with AkeneoHook().get_conn() as client:
            try:
                return call(client)
            finally:
                metrics.akeneo_calls(stage, client.attempts, client.statuses)

    return _run_stage(stage, with_client)


def _render_and_deliver(target: Target, transformed: Any, checked: Any) -> Any:
    """The render and deliver tasks of one target; both skip when the run does not name it."""

    @task(task_id=f"render_{target.name}", doc_md=f"Render the files for {target.title}.")
    def render(_: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
        config = _target_config(checked, target)
        return _run_stage(
            f"render_{target.name}", lambda: target.render(config, _run_dir(), _media_cache(), _stamp())
        )

    @task(
        task_id=f"deliver_{target.name}",
        outlets=[Asset(target.asset_uri)],
        doc_md=f"Upload the rendered files to {target.title}'s drop (`{target.connection_id}`), atomically.",
    )
    def deliver(rendered: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
        config = _target_config(checked, target)
        _skip_when_empty(target, rendered)
        delivered = _run_stage(f"deliver_{target.name}", lambda: _deliver(target, rendered["files"], config))
        _describe_asset_event(target, rendered, delivered)
        return delivered

    return deliver(render(transformed, checked), checked)


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
    deadline=DEADLINE,
    tags=["pim", "akeneo", "sfcc", "bspk", "images"],
    doc_md=__doc__,
)
def pim_images_import() -> None:
    @task(retries=0)
    def validate_config() -> dict[str, Any]:
        return _run_stage("validate_config", _check_configuration)

    @task(pool=AKENEO_POOL, pool_slots=AKENEO_SLOTS["extract_structure"])
    def extract_structure(checked: dict[str, Any]) -> dict[str, Any]:
        config = _checked_config(checked)
        return _with_akeneo(
            "extract_structure", lambda client: extract_structure_stage(client, config, _run_dir())
        )

    @task(retries=0)
    def validate(_: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
        config = _checked_config(checked)
        return _run_stage("validate", lambda: validate_catalog(config, _run_dir()))

    @task(pool=AKENEO_POOL, pool_slots=AKENEO_SLOTS["extract"])
    def extract(
        _: dict[str, Any],
        checked: dict[str, Any],
        data_interval_start: datetime | None = None,
        data_interval_end: datetime | None = None,
    ) -> dict[str, Any]:
        config = _checked_config(checked)
        interval = _updated_interval(config, checked, data_interval_start, data_interval_end)
        return _with_akeneo(
            "extract",
            lambda client: extract_catalog(client, config, _run_dir(), store=state_store(), **interval),
        )

    @task(task_id="download_media", pool=AKENEO_POOL, pool_slots=AKENEO_SLOTS["download_media"])
    def download_media_task(_: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
        config = _checked_config(checked)
        return _with_akeneo(
            "download_media",
            lambda client: download_media(
                client,
                _run_dir(),
                _media_cache(),
                max_pixels=config.maxImagePixels,
                max_bytes=config.maxMediaBytes,
            ),
        )

    @task(task_id="transform")
    def transform_task(_: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
        config = _checked_config(checked)
        return _run_stage("transform", lambda: transform_catalog(config, _run_dir()))

    @task(trigger_rule="none_failed")
    def record_success(checked: dict[str, Any]) -> dict[str, Any]:
        """Remember this run once every delivery succeeded: its configuration fingerprint, and
        what it delivered (the asset -> products index, each master's variants) for the next
        differential run (docs/runs.md#state-between-runs)."""

        def record() -> dict[str, Any]:
            fingerprint = checked["fingerprint"]
            products = record_staged_run(
                state_store(),
                _run_dir(),
                get_current_context()["run_id"],
                fingerprint=fingerprint,
                seen=checked.get("state_seen", NOT_SEEN),  # a run started before this release: none
            )
            return {"fingerprint": fingerprint, "products": products}

        return _run_stage("record_success", record)

    # A teardown: it runs however the run went, and its own state never decides the run's.
    @teardown
    def publish_report() -> dict[str, Any]:
        """Join every stage's entry into the run's ``report.json`` and log its outline."""
        return _publish_report()

    checked = validate_config()
    validated = validate(extract_structure(checked), checked)
    transformed = transform_task(download_media_task(extract(validated, checked), checked), checked)
    deliveries = [_render_and_deliver(target, transformed, checked) for target in targets.registered()]
    recorded = record_success(checked)
    deliveries >> recorded >> publish_report()


def _check_configuration() -> dict[str, Any]:
    """The run's configuration, and whether its image-related part changed since the last
    successful run (which makes this run a full import)."""
    config = _run_config()
    try:
        remove_expired_runs(get_current_context()["run_id"])  # housekeeping (docs/runs.md#retention)
    except ValueError as exc:
        raise AirflowFailException(str(exc)) from exc
    fingerprint = config.fingerprint()
    store = state_store()
    adopt_legacy_fingerprint(store, _staging_base())
    last = store.last_fingerprint()
    changed = last is not None and last != fingerprint  # store.fingerprint_changed, one read
    overlapped = last == OVERLAPPED
    if overlapped:
        log.warning(
            "two runs overlapped since the last successful run (either's files may be the drops' "
            "last): this run is a full import"
        )
    elif changed:
        log.warning(
            "image-related configuration changed since the last successful run: this run is a full import"
        )
    return {
        "config": config.to_dict(),
        "fingerprint": fingerprint,
        "configuration_changed": changed and not overlapped,
        "runs_overlapped": overlapped,
        # what record_success compares with: another run recording meanwhile overlapped this one
        # (docs/runs.md#runs-side-by-side)
        "state_seen": store.last_run(),
    }


def _updated_interval(
    config: cfg.PipelineConfig, checked: dict[str, Any], start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """The extract's ``updated_from``/``updated_to``: the run's data interval for a
    differential run, nothing (the whole catalog) for a full one or after a configuration
    change."""
    if config.importMode != "differential":
        return {}
    if checked.get("configuration_changed"):
        log.warning("differential import made full: the image-related configuration changed")
        return {}
    if checked.get("runs_overlapped"):
        log.warning("differential import made full: two runs overlapped since the last successful run")
        return {}
    if start is None or end is None:
        raise AirflowFailException("importMode 'differential' needs a run with a data interval")
    return {"updated_from": start, "updated_to": end}


def _target_config(checked: dict[str, Any], target: Target) -> cfg.PipelineConfig:
    """The checked configuration; skips the task when ``target`` is not among the run's targets."""
    config = _checked_config(checked)
    if target.name not in config.targets:
        raise AirflowSkipException(f"{target.name} is not among this run's targets")
    return config


def _skip_when_empty(target: Target, rendered: dict[str, Any]) -> None:
    """Skip a delivery whose files name no product (a differential run with no change): a
    header-only CSV or an empty catalog tells the target nothing. The run report and the run's
    note say why (docs/runs.md#nothing-to-deliver)."""
    if rendered.get("products"):
        return
    reason = f"nothing to deliver to {target.title}: this run has no product for it"
    report.record_stage(_run_dir(), f"deliver_{target.name}", {"skipped": reason})
    raise AirflowSkipException(reason)


def _deliver(target: Target, files: list[str], config: cfg.PipelineConfig) -> DeliverySummary:
    context = get_current_context()
    # the run's token, the same for every try: a try removes what an earlier one left on the drop
    token = hashlib.sha256(str(context["run_id"]).encode()).hexdigest()[:16]
    remote_dir = target.remote_dir(config)
    with open_remote_files(target.connection_id) as remote:
        summary = deliver_files(
            remote, target.name, target_dir(_run_dir(), target.name), files, remote_dir, token
        )
    log.info(
        "deliver_%s: %s to %s:%s", target.name, ", ".join(summary.files), target.connection_id, remote_dir
    )
    state_store().record_delivery(
        context["run_id"],
        target.name,
        remote_dir,
        [(name, summary.sizes.get(name), summary.sha256.get(name)) for name in summary.files],
        connection_id=target.connection_id,
    )
    return summary


def _describe_asset_event(target: Target, rendered: dict[str, Any], delivered: dict[str, Any]) -> None:
    """What the delivery's asset event says (its ``extra``): the drop, each file with its size and
    SHA-256, and the renderer's counts (products, rows...), so a downstream DAG or a dashboard
    knows what arrived without reading the run report."""
    counts = {k: v for k, v in rendered.items() if isinstance(v, int) and not isinstance(v, bool)}
    counts.pop("warnings_total", None)
    event = get_current_context()["outlet_events"][Asset(target.asset_uri)]
    event.extra.update(
        {
            "run_id": get_current_context()["run_id"],
            "connection_id": target.connection_id,
            "remote_dir": delivered["remote_dir"],
            "files": [
                {"name": name, "bytes": delivered["sizes"].get(name), "sha256": delivered["sha256"].get(name)}
                for name in delivered["files"]
            ],
            **counts,
        }
    )


def _publish_report() -> dict[str, Any]:
    context = get_current_context()
    dag_run = context["dag_run"]
    run = {
        "dag_id": dag_run.dag_id,
        "run_id": dag_run.run_id,
        "data_interval_start": _iso(context.get("data_interval_start")),
        "data_interval_end": _iso(context.get("data_interval_end")),
        # the run's duration on the runs page: from its start to its report
        "start_date": _iso(getattr(dag_run, "start_date", None)),
        "end_date": _iso(datetime.now(UTC)),
        "run_type": _run_type(dag_run),
        "stamp": _stamp(),
    }
    data = report.assemble_report(_run_dir(), STAGES, run=run, task_states=_task_states())
    path = _run_dir() / report.REPORT
    log.info(
        "run %s: %d error(s), %d warning(s); report: %s (page: %s)",
        data["status"],
        len(data["errors"]),
        data["warnings_total"],
        path,
        _run_dir() / report.REPORT_PAGE,
    )
    for line in run_note(data).split("\n\n"):
        log.info("%s", line)
    for error in data["errors"]:
        log.error("%s: %s", error["stage"], error["message"])
    return {
        "status": data["status"],
        "errors": len(data["errors"]),
        "warnings_total": data["warnings_total"],
        "report": str(path),
        "page": str(_run_dir() / report.REPORT_PAGE),
    }


def _task_states() -> dict[str, str]:
    """The state of each of this run's tasks, as Airflow knows it (also for tasks that never
    started: skipped, upstream_failed)."""
    context = get_current_context()
    run_id = context["run_id"]
    states = context["ti"].get_task_states(dag_id=context["dag_run"].dag_id, run_ids=[run_id])
    return {task_id: str(state) for task_id, state in (states.get(run_id) or {}).items() if state}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


pim_images_import()
