"""The deadline alert's callback (plugins/pim_images_airflow/alerts.py) mails a local SMTP
server through the ``pim_images_alerts`` connection, as the failure alert does."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from smtp_server import SmtpServer

from pim_images_airflow.alerts import deadline_missed, post_to_slack, slack_notifiers

#: What Airflow passes a deadline callback (``Deadline.handle_miss``): the run as the REST API
#: shows it (``DAGRunResponse``: its id is ``dag_run_id``), and the deadline.
CONTEXT = {
    "dag_run": {
        "dag_id": "pim_images_import",
        "dag_run_id": "scheduled__2026-05-01T00:00:00+00:00",
        "queued_at": "2026-05-02T00:00:03Z",
        "start_date": "2026-05-02T00:00:05Z",
        "state": "running",
    },
    "deadline": {"id": "0197", "deadline_time": datetime(2026, 5, 2, 6, 0, 3, tzinfo=UTC)},
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


def test_a_missed_deadline_mails_the_alert_connection(
    smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PIM_IMAGES_ALERTS", smtp.connection("ops@example.com, pim@example.com"))
    deadline_missed(context=CONTEXT, limit="6 h")
    (mail,) = smtp.messages
    assert mail["To"] == "ops@example.com, pim@example.com"
    assert mail["Subject"] == (
        "PIM images import still running after 6 h: run scheduled__2026-05-01T00:00:00+00:00"
    )
    body = mail.get_body(("html",)).get_content()
    assert "still running\n6 h after it was queued (queued 2026-05-02T00:00:03Z" in body
    assert "deadline 2026-05-02T06:00:03+00:00" in body
    assert "/dags/pim_images_import/runs/scheduled__2026-05-01T00:00:00+00:00" in body


def test_without_the_connection_no_mail_is_sent(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_PIM_IMAGES_ALERTS", raising=False)
    deadline_missed(context=CONTEXT, limit="6 h")
    assert smtp.messages == []


def test_slack_is_off_without_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIM_IMAGES_SLACK_CONN", raising=False)
    assert slack_notifiers() == []
    assert post_to_slack("a text") is False


def test_slack_without_its_provider_names_the_line_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Slack provider is optional (docs/runs.md#alerts): with the variable set and the
    provider missing (hidden here), the DAG's import error says what to install."""
    monkeypatch.setenv("PIM_IMAGES_SLACK_CONN", "pim_images_slack")
    monkeypatch.setitem(sys.modules, "airflow.providers.slack", None)
    with pytest.raises(
        ImportError, match=r"pip install apache-airflow-providers-slack==9\.11\.1 -c constraints\.txt"
    ):
        slack_notifiers()
    assert post_to_slack("a text") is False  # a deadline callback still mails, and logs why not Slack
