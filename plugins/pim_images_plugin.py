"""The PIM images pipeline's Airflow plugin: run notes written from each run's report, and the
"PIM images" page of the UI (recent runs, a trend, each run's report)."""

from __future__ import annotations

from typing import ClassVar

from airflow.plugins_manager import AirflowPlugin

from pim_images_airflow import run_notes, runs_page


class PimImagesPlugin(AirflowPlugin):
    """Registers the run-note listener (:mod:`pim_images_airflow.run_notes`), the runs page's app
    under the API server (:mod:`pim_images_airflow.runs_page`, ``/pim-images/``) and its entry in
    the UI's navigation (an iframe at ``/plugin/pim-images``)."""

    name = "pim_images"
    listeners: ClassVar[list] = [run_notes]
    fastapi_apps: ClassVar[list] = [
        {"app": runs_page.AirflowApp(), "url_prefix": runs_page.URL_PREFIX, "name": "PIM images runs"}
    ]
    external_views: ClassVar[list] = [
        {
            "name": "PIM images",
            # relative to the UI's base URL: the iframe shows the app mounted above
            "href": runs_page.URL_PREFIX.lstrip("/") + "/",
            "url_route": "pim-images",
            "destination": "nav",  # no category: a top-level entry of the navigation
        }
    ]
