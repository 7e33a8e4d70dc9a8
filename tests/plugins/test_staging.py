"""``PIM_IMAGES_STAGING``, the one setting of where staging lives (docs/runs.md#staging)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pim_images_airflow.staging import run_dir, staging_base


def test_a_plain_folder_is_local_staging(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIM_IMAGES_STAGING", str(tmp_path / "staging"))
    base = staging_base()
    assert base.protocol == "file"
    assert base.path == str(tmp_path / "staging")


def test_the_default_is_under_airflow_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PIM_IMAGES_STAGING")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert staging_base().path == str(tmp_path / "pim_images")


def test_a_bucket_names_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIM_IMAGES_STAGING", "s3://pim_staging@images-bucket/pim/prod")
    folder = run_dir("manual__2026-03-01T00:00:00+00:00")
    assert (folder.protocol, folder.conn_id) == ("s3", "pim_staging")
    assert folder.path == "images-bucket/pim/prod/runs/manual__2026-03-01T00_00_00_00_00"
