"""A listener that writes each import run's note from its run report (docs/runs.md#run-report).

Airflow shows a run's note in its grid and on the run's page ("Add a note..." otherwise). The
tasks cannot write it (the Task SDK has no verb for notes), so this listener does, in the
process that ends the run (the scheduler, or ``airflow dags test``): when a run of the import
DAG succeeds or fails, it reads ``report.json`` (written by the teardown ``publish_report``,
which runs before the run ends) and sets the note to its outline
(:func:`pim_images.outline.run_note`), ending with a link to the run's report on the UI's
"PIM images" page (:mod:`pim_images_airflow.runs_page`). A missing or unreadable report is
logged, never raised: a listener must not break the scheduler.
"""

from __future__ import annotations

import json
import logging

from airflow.configuration import conf
from airflow.listeners import hookimpl
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from sqlalchemy import select
from sqlalchemy.orm import object_session

from pim_images.outline import run_note
from pim_images.report import REPORT
from pim_images.staging import run_folder
from pim_images_airflow.runs_page import URL_PREFIX
from pim_images_airflow.staging import run_dir

log = logging.getLogger(__name__)

#: The DAGs whose runs get a note.
DAG_IDS = frozenset({"pim_images_import"})


@hookimpl
def on_dag_run_success(dag_run: DagRun, msg: str) -> None:
    write_note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: DagRun, msg: str) -> None:
    write_note(dag_run)


def write_note(dag_run: DagRun) -> None:
    """Set the run's note from its report, unless a person already wrote one.

    The run is changed in the session it is bound to (the scheduler's, committed with the run's
    new state); a run no session holds (``airflow dags test`` passes one) is read again and
    changed in a session of its own.
    """
    if dag_run.dag_id not in DAG_IDS:
        return
    path = run_dir(dag_run.run_id) / REPORT
    try:
        with path.open("rb") as f:
            note = run_note(json.loads(f.read().decode("utf-8")))
        note += f"\n\n[Report page]({report_url(dag_run.run_id)})"
        session = object_session(dag_run)
        if session is not None:
            _set_note(dag_run, note)
            return
        with create_session() as own:
            run = own.scalar(select(DagRun).where(DagRun.id == dag_run.id))
            if run is not None:
                _set_note(run, note)
    except Exception:  # a listener never breaks the scheduler; the report is still there
        log.exception("no run note for %s (report %s)", dag_run.run_id, path)


def report_url(run_id: str) -> str:
    """The run's report page under the API server (``[api] base_url``, else the server's root)."""
    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}{URL_PREFIX}/{run_folder(run_id)}/"


def _set_note(run: DagRun, note: str) -> None:
    if not run.note:  # a note a person wrote stays
        run.note = note
