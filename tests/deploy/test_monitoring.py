"""deploy/statsd-exporter/mapping.yml names the pipeline's StatsD metrics (docs/runs.md#metrics)
as deploy/grafana/pim-images-dashboard.json queries them. That every metric the dashboard
queries comes from a name a real run emits: tests/dags/test_import_dag.py."""

from __future__ import annotations

import json

import pytest
from monitoring import DASHBOARD, dashboard_metrics, mapped, mapping, series


@pytest.mark.parametrize(
    ("statsd", "prometheus"),
    [
        ("airflow.pim_images.akeneo.throttled", ("pim_images_akeneo_throttled_total", {}, "")),
        (
            "airflow.pim_images.download_media.duration",
            ("pim_images_stage_duration_seconds", {"stage": "download_media"}, "histogram"),
        ),
        (
            "airflow.pim_images.render_sfcc.warnings",
            ("pim_images_stage_warnings_total", {"stage": "render_sfcc"}, ""),
        ),
        ("airflow.pim_images.extract.failed", ("pim_images_stage_failed_total", {"stage": "extract"}, "")),
        (
            "airflow.pim_images.deliver_sfcc.files",
            ("pim_images_stage_files_total", {"stage": "deliver_sfcc"}, ""),
        ),
        (
            "airflow.pim_images.download_media.from_cache",
            ("pim_images_download_media_from_cache_total", {}, ""),
        ),
        ("airflow.scheduler.heartbeat", None),  # Airflow's own: the exporter's default naming
    ],
)
def test_the_mapping_names_each_kind_of_metric(statsd: str, prometheus: tuple | None) -> None:
    assert mapped(statsd, mapping()) == prometheus


def test_a_dashboard_query_of_a_name_no_mapping_produces_is_caught() -> None:
    """The check the DAG test makes can fail: a misspelt metric is not among the series."""
    produced = series(["airflow.pim_images.transform.images"], mapping())
    assert produced == {"pim_images_transform_images_total"}
    assert not {"pim_images_transform_image_total"} <= produced


def test_the_dashboard_is_grafana_json_with_the_panels_ops_read() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [p["title"] for p in dashboard["panels"]] == [
        "Products",
        "Images",
        "Downloads and cache hits",
        "Bytes",
        "Warnings by stage",
        "Akeneo requests, 429s and 5xx",
        "Stage durations",
    ]
    assert {t["name"] for t in dashboard["templating"]["list"]} == {"datasource"}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
    assert "pim_images_akeneo_throttled_total" in dashboard_metrics()
