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

Slack, optional (docs/runs.md#alerts): with Airflow's Slack provider installed (not a
dependency of the project) and ``PIM_IMAGES_SLACK_CONN`` naming a ``slackwebhook`` connection,
:func:`slack_notifiers` adds the provider's ``SlackWebhookNotifier`` to the failure callbacks
and :func:`deadline_missed` posts there too.
"""

from __future__ import annotations

import logging
import os
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
#: the environment variable naming the Slack webhook connection (read where the DAG is parsed,
#: and where a deadline callback runs)
SLACK_CONN_VARIABLE = "PIM_IMAGES_SLACK_CONN"
#: the optional install line the README gives
SLACK_PROVIDER = "apache-airflow-providers-slack==9.11.1"
#: the failure message on Slack: a Jinja template of the failed task's context
SLACK_FAILURE_TEXT = (
    ":red_circle: PIM images import failed: task *{{ ti.task_id }}* in run `{{ run_id }}` "
    "of `{{ ti.dag_id }}`\n```{{ exception }}```\n"
    "Run page: /dags/{{ ti.dag_id }}/runs/{{ run_id }}; the run report is report.html in the "
    "run's folder under PIM_IMAGES_STAGING (the UI's PIM images page links it)."
)


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


def slack_notifiers() -> list[BaseNotifier]:
    """The Slack failure notifier when ``PIM_IMAGES_SLACK_CONN`` names a connection: Airflow's
    ``SlackWebhookNotifier`` posting :data:`SLACK_FAILURE_TEXT`; none when the variable is unset.

    :raises ImportError: the variable is set but the Slack provider is not installed; the DAG's
        import error names the line to install.
    """
    conn_id = (os.environ.get(SLACK_CONN_VARIABLE) or "").strip()
    if not conn_id:
        return []
    try:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
    except ImportError as exc:
        raise ImportError(
            f"{SLACK_CONN_VARIABLE}={conn_id!r} needs Airflow's Slack provider: "
            f"pip install {SLACK_PROVIDER} -c constraints.txt"
        ) from exc
    return [SlackWebhookNotifier(slack_webhook_conn_id=conn_id, text=SLACK_FAILURE_TEXT)]


def post_to_slack(text: str) -> bool:
    """Post ``text`` through the ``PIM_IMAGES_SLACK_CONN`` connection with the Slack provider's
    webhook hook; ``False`` (logged) when the variable is unset or the provider missing."""
    conn_id = (os.environ.get(SLACK_CONN_VARIABLE) or "").strip()
    if not conn_id:
        return False
    try:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
    except ImportError:
        log.warning("no Slack alert: %s is set but %s is not installed", SLACK_CONN_VARIABLE, SLACK_PROVIDER)
        return False
    SlackWebhookHook(slack_webhook_conn_id=conn_id).send_text(text)
    log.info("alert posted to Slack (%s)", conn_id)
    return True


def deadline_missed(context: dict[str, Any], limit: str, smtp_conn_id: str = ALERT_CONN_ID) -> None:
    """Mail that an import is still running past its deadline.

    :param context: what Airflow passes a deadline callback: ``dag_run`` (the run as the REST
        API shows it: ``dag_id``, ``dag_run_id``, ``queued_at``, ``start_date``... as JSON) and
        ``deadline`` (``deadline_time``).
    :param limit: the deadline as people read it (``6 h``), from the DAG.
    :param smtp_conn_id: the SMTP connection (its extra ``to`` lists the recipients).
    """
    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    # the REST API's shape names the run id dag_run_id (DAGRunResponse); run_id is the ORM's name
    run_id = str(run.get("dag_run_id") or run.get("run_id") or "unknown run")
    subject, html = deadline_mail(
        dag_id=str(run.get("dag_id") or "pim_images_import"),
        run_id=run_id,
        queued_at=_shown(run.get("queued_at")),
        start_date=_shown(run.get("start_date")),
        deadline=_shown(deadline),
        limit=limit,
    )
    send_alert(smtp_conn_id, subject, html)
    post_to_slack(
        f":hourglass: {subject}; run page: /dags/{run.get('dag_id') or 'pim_images_import'}/runs/{run_id}"
    )


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
