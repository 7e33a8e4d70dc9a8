"""DAG import checks (Astronomer's dagexampletest convention, plus Airflow's parse purity).

Every DAG file imports without error, sets tags and retries, and parsing it looks up no
connection (nothing runs at parse time).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from airflow.models import DagBag
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import ParamValidationError

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED_TASKS = {
    "validate_config",
    "extract_structure",
    "validate",
    "extract",
    "download_media",
    "transform",
    "render_sfcc",
    "render_bspk",
    "deliver_sfcc",
    "deliver_bspk",
    "record_success",
    "publish_report",
}


@pytest.fixture(scope="module")
def dag_bag() -> DagBag:
    with mock.patch.object(BaseHook, "get_connection") as get_connection:
        bag = DagBag(dag_folder=str(DAGS))
    assert not get_connection.called, "a DAG looked up a connection while being parsed"
    return bag


def test_no_import_errors(dag_bag: DagBag) -> None:
    assert dag_bag.import_errors == {}, "\n".join(f"{k}: {v}" for k, v in dag_bag.import_errors.items())
    assert "pim_images_import" in dag_bag.dags


def test_dag_id_is_file_stem(dag_bag: DagBag) -> None:
    for dag_id, dag in dag_bag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_tags_retries_and_timeouts(dag_bag: DagBag) -> None:
    for dag in dag_bag.dags.values():
        assert dag.tags, f"{dag.dag_id} has no tags"
        for task in dag.tasks:
            assert task.execution_timeout is not None and task.execution_timeout <= timedelta(hours=6)
            if task.task_id not in ("validate_config", "validate"):  # input errors are not retried
                assert task.retries >= 2, f"{task.task_id} retries {task.retries}"
                assert task.retry_delay.total_seconds() > 0


def test_one_task_per_stage_in_order(dag_bag: DagBag) -> None:
    dag = dag_bag.dags["pim_images_import"]
    assert {t.task_id for t in dag.tasks} == EXPECTED_TASKS
    assert dag.get_task("extract_structure").upstream_task_ids == {"validate_config"}
    assert dag.get_task("validate").upstream_task_ids == {"extract_structure"}
    assert dag.get_task("extract").upstream_task_ids == {"validate"}
    assert dag.get_task("download_media").upstream_task_ids == {"extract"}
    assert dag.get_task("transform").upstream_task_ids == {"download_media"}
    assert dag.get_task("render_sfcc").upstream_task_ids == {"transform"}
    assert dag.get_task("render_bspk").upstream_task_ids == {"transform"}
    assert dag.get_task("deliver_sfcc").upstream_task_ids == {"render_sfcc"}
    assert dag.get_task("deliver_bspk").upstream_task_ids == {"render_bspk"}
    assert [o.name for o in dag.get_task("deliver_sfcc").outlets] == ["pim-images-sfcc-delivery"]
    assert dag.get_task("record_success").upstream_task_ids == {
        "validate_config",
        "deliver_sfcc",
        "deliver_bspk",
    }
    report = dag.get_task("publish_report")
    assert report.is_teardown and not report.on_failure_fail_dagrun  # runs always, decides nothing
    assert report.upstream_task_ids == {"record_success"}


def test_a_broken_configuration_file_is_an_import_error_naming_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (DAGS.parent / "config" / "pim_images.yaml").read_text()
    broken = text.replace("importMode: full", "importMode: sometimes").replace(
        "akeneoImageType: images", "akeneoImageType: pictures"
    )
    assert broken.count("sometimes") == 1 and broken.count("pictures") == 1
    (tmp_path / "pim_images.yaml").write_text(broken)
    monkeypatch.setenv("PIM_IMAGES_CONFIG", str(tmp_path / "pim_images.yaml"))
    bag = DagBag(dag_folder=str(DAGS))
    assert "pim_images_import" not in bag.dags
    (error,) = bag.import_errors.values()
    assert "invalid configuration" in error
    assert "importMode: 'sometimes' is not one of full, differential" in error
    assert "akeneoImageType: 'pictures' is not one of images, assets, both" in error


def test_params_form_has_typed_params_with_enums(dag_bag: DagBag) -> None:
    params = dag_bag.dags["pim_images_import"].params
    image_type = params.get_param("akeneoImageType")
    assert image_type.schema["enum"] == ["images", "assets", "both"]
    assert image_type.description and image_type.schema["title"]
    assert params.get_param("targets").schema["items"]["enum"] == ["sfcc", "bspk"]
    assert params["akeneoScope"] == "ecommerce"


def test_an_unknown_value_of_an_enumerated_parameter_is_refused_at_trigger(dag_bag: DagBag) -> None:
    """The DAG's params carry the enums: Airflow refuses the run before it exists (the trigger
    form offers only the allowed values). The YAML file's values are checked by validate_config."""
    params = copy.deepcopy(dag_bag.dags["pim_images_import"].params)
    with pytest.raises(ParamValidationError, match="akeneoImageImportType: 'media_url' is not one of"):
        params["akeneoImageImportType"] = "media_url"
