"""Failure alerts: a mail per failed task of an import, through the SMTP provider
(docs/runs.md#alerts).

Alerts are configured by connection only: an ``smtp`` connection ``pim_images_alerts`` (host,
port, login/password; extras as the SMTP provider reads them, e.g. ``from_email``,
``disable_ssl``, ``disable_tls``) with the extra ``to`` (one address or a comma-separated list).
Without that connection no mail is sent (logged). The mail names the DAG, the run, the task,
the error as the task raised it (which names the offending code or value and the rule) and
where the run report is. The notifier runs where the task ran, after its last try.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseHook, BaseNotifier
from airflow.sdk.exceptions import AirflowNotFoundException

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
        try:
            connection = BaseHook.get_connection(self.smtp_conn_id)
        except AirflowNotFoundException:
            log.info("no alert mail: connection %r is not defined", self.smtp_conn_id)
            return
        to = [a.strip() for a in str(connection.extra_dejson.get("to") or "").split(",") if a.strip()]
        if not to:
            log.warning("no alert mail: connection %r has no 'to' extra", self.smtp_conn_id)
            return
        ti = context["ti"]
        subject, html = failure_mail(
            dag_id=ti.dag_id,
            run_id=context["run_id"],
            task_id=ti.task_id,
            error=str(context.get("exception") or "unknown error"),
            report=str(run_dir(context["run_id"]) / REPORT_PAGE),
        )
        with SmtpHook(smtp_conn_id=self.smtp_conn_id) as hook:
            hook.send_email_smtp(to=to, subject=subject, html_content=html)
        log.info("alert mailed to %s", ", ".join(to))
