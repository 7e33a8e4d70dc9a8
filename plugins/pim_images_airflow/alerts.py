"""Alerts by mail, through the SMTP provider (docs/runs.md#alerts): a mail per failed task of
an import, and a mail when an import runs past its deadline.

Alerts are configured by connection only: an ``smtp`` connection ``pim_images_alerts`` (host,
port, login/password; extras as the SMTP provider reads them, e.g. ``from_email``,
``disable_ssl``, ``disable_tls``) with the extra ``to`` (one address or a comma-separated list).
Without that connection no mail is sent (logged).

- :class:`FailureAlert`: the mail names the DAG, the run, the task, the error as the task raised
  it (which names the offending code or value and the rule) and where the run report is. The
  notifier runs where the task ran, after its last try.
- :func:`deadline_missed`: the callback of the DAG's ``DeadlineAlert`` (Airflow runs it through
  the executor when a run is still going that long after it was queued): the mail names the
  run, when it was queued and started, the limit, and where its page is in the UI.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseHook, BaseNotifier
from airflow.sdk.exceptions import AirflowNotFoundException
from jinja2 import Environment

from pim_images.outline import failure_mail
from pim_images.report import REPORT_PAGE
from pim_images_airflow.staging import run_dir

log = logging.getLogger(__name__)

ALERT_CONN_ID = "pim_images_alerts"


class FailureAlert(BaseNotifier):
    """Mail a task's failure to the addresses of the ``pim_images_alerts`` connection.

    :param smtp_conn_id: the SMTP connection (its extra ``to`` lists the recipients).
    """

    template_fields = ()

    def __init__(self, smtp_conn_id: str = ALERT_CONN_ID) -> None:
        super().__init__()
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Any) -> None:
        ti = context["ti"]
        subject, html = failure_mail(
            dag_id=ti.dag_id,
            run_id=context["run_id"],
            task_id=ti.task_id,
            error=str(context.get("exception") or "unknown error"),
            report=str(run_dir(context["run_id"]) / REPORT_PAGE),
        )
        send_alert(self.smtp_conn_id, subject, html)


def deadline_missed(context: dict[str, Any], limit: str, smtp_conn_id: str = ALERT_CONN_ID) -> None:
    """Mail that an import is still running past its deadline.

    :param context: what Airflow passes a deadline callback: ``dag_run`` (the run as the REST
        API shows it: ``dag_id``, ``run_id``, ``queued_at``, ``start_date``... as JSON) and
        ``deadline`` (``deadline_time``).
    :param limit: the deadline as people read it (``6 h``), from the DAG.
    :param smtp_conn_id: the SMTP connection (its extra ``to`` lists the recipients).
    """
    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    subject, html = deadline_mail(
        dag_id=str(run.get("dag_id") or "pim_images_import"),
        run_id=str(run.get("run_id") or "unknown run"),
        queued_at=_shown(run.get("queued_at")),
        start_date=_shown(run.get("start_date")),
        deadline=_shown(deadline),
        limit=limit,
    )
    send_alert(smtp_conn_id, subject, html)


def deadline_mail(
    *, dag_id: str, run_id: str, queued_at: str, start_date: str, deadline: str, limit: str
) -> tuple[str, str]:
    """The subject and HTML body of a deadline alert."""
    subject = f"PIM images import still running after {limit}: run {run_id}"
    body = _DEADLINE.render(
        dag_id=dag_id,
        run_id=run_id,
        queued_at=queued_at,
        start_date=start_date,
        deadline=deadline,
        limit=limit,
        page=f"/dags/{dag_id}/runs/{run_id}",
    )
    return subject, body


def send_alert(smtp_conn_id: str, subject: str, html: str) -> bool:
    """Mail ``subject`` and ``html`` to the ``to`` addresses of the connection.

    :return: whether a mail was sent (not when the connection or its ``to`` is missing: logged).
    """
    try:
        connection = BaseHook.get_connection(smtp_conn_id)
    except AirflowNotFoundException:
        log.info("no alert mail: connection %r is not defined", smtp_conn_id)
        return False
    to = [a.strip() for a in str(connection.extra_dejson.get("to") or "").split(",") if a.strip()]
    if not to:
        log.warning("no alert mail: connection %r has no 'to' extra", smtp_conn_id)
        return False
    with SmtpHook(smtp_conn_id=smtp_conn_id) as hook:
        hook.send_email_smtp(to=to, subject=subject, html_content=html)
    log.info("alert mailed to %s: %s", ", ".join(to), subject)
    return True


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else "unknown"


_DEADLINE = Environment(autoescape=True).from_string(
    """<p>The run <code>{{ run_id }}</code> of <code>{{ dag_id }}</code> is still running
{{ limit }} after it was queued (queued {{ queued_at }}, started {{ start_date }};
deadline {{ deadline }}).</p>
<p>Its tasks' states and logs are in the Airflow UI at <code>{{ page }}</code>; the run report
is written when the run ends.</p>
"""
)
