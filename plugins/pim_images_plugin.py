"""The PIM images pipeline's Airflow plugin: run notes written from each run's report."""

from __future__ import annotations

from typing import ClassVar

from airflow.plugins_manager import AirflowPlugin

from pim_images_airflow import run_notes


class PimImagesPlugin(AirflowPlugin):
    """Registers the run-note listener (:mod:`pim_images_airflow.run_notes`)."""

    name = "pim_images"
    listeners: ClassVar[list] = [run_notes]
