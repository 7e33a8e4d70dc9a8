"""DAG import checks (Astronomer's dagexampletest convention, plus Airflow's parse purity).

Every DAG file imports without error, sets tags and retries, and parsing it looks up no
connection (nothing runs at parse time).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from airflow.models import DagBag
from airflow.sdk import BaseHook, DeadlineReference, Param
from airflow.sdk.exceptions import ParamValidationError

from pim_images import targets
from pim_images.config import PipelineConfig, load_config
from pim_images_airflow.pools import AKENEO_POOL_SIZE, AKENEO_SLOTS, pool_set_command

DAGS = Path(__file__).resolve().parents[2] / "dags"


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
    """The neutral stages in a chain, then a render and a deliver task per registered target;
    every task after ``validate_config`` takes the configuration it checked."""
    dag = dag_bag.dags["pim_images_import"]
    names = [t.name for t in targets.registered()]
    assert names[:2] == ["sfcc", "bspk"]
    per_target = {f"{stage}_{name}" for name in names for stage in ("render", "deliver")}
    neutral = {"validate_config", "extract_structure", "validate", "extract", "download_media", "transform"}
    assert set(dag.task_ids) == {*neutral, *per_target, "record_success", "publish_report"}
    checked = "validate_config"
    assert dag.get_task("extract_structure").upstream_task_ids == {checked}
    assert dag.get_task("validate").upstream_task_ids == {"extract_structure", checked}
    assert dag.get_task("extract").upstream_task_ids == {"validate", checked}
    assert dag.get_task("download_media").upstream_task_ids == {"extract", checked}  # its media limits
    assert dag.get_task("transform").upstream_task_ids == {"download_media", checked}
    for name in names:
        assert dag.get_task(f"render_{name}").upstream_task_ids == {"transform", checked}
        deliver = dag.get_task(f"deliver_{name}")
        assert deliver.upstream_task_ids == {f"render_{name}", checked}
        assert [o.name for o in deliver.outlets] == [f"pim-images-{name}-delivery"]
    assert dag.get_task("record_success").upstream_task_ids == {checked, *(f"deliver_{n}" for n in names)}
    report = dag.get_task("publish_report")
    assert report.is_teardown and not report.on_failure_fail_dagrun  # runs always, decides nothing
    assert report.upstream_task_ids == {"record_success"}


def _render_nothing(config, run_dir, cache, stamp):
    """The third target's renderer: the DAG is only parsed here, so its tasks never call it; it
    would render no file."""
    return SimpleNamespace(files=[], warnings=[], to_dict=lambda: {"files": []})


def test_a_registered_target_grows_the_dag_with_no_change_elsewhere() -> None:
    """One package and one registry line make a target: here the registration is the test's."""
    third = targets.Target(
        name="thirdparty",
        title="A third target",
        connection_id="thirdparty_sftp",
        render=_render_nothing,
        remote_dir=lambda config: "/thirdparty",
    )
    targets.register(third)
    try:
        dag = DagBag(dag_folder=str(DAGS)).dags["pim_images_import"]
        config = load_config(DAGS.parent / "config" / "pim_images.yaml", {"targets": ["thirdparty", "sfcc"]})
    finally:
        targets.unregister("thirdparty")
    assert config.targets == ("thirdparty", "sfcc")
    assert dag.params.get_param("targets").schema["items"]["enum"] == ["sfcc", "bspk", "thirdparty"]
    assert dag.get_task("render_thirdparty").upstream_task_ids == {"transform", "validate_config"}
    deliver = dag.get_task("deliver_thirdparty")
    assert deliver.upstream_task_ids == {"render_thirdparty", "validate_config"}
    assert [o.name for o in deliver.outlets] == ["pim-images-thirdparty-delivery"]
    assert "deliver_thirdparty" in dag.get_task("record_success").upstream_task_ids
    assert "thirdparty" not in targets.names()


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


def test_every_parameter_of_the_model_is_a_param_with_its_schema(dag_bag: DagBag) -> None:
    params = dag_bag.dags["pim_images_import"].params
    assert list(params) == list(PipelineConfig.model_fields)
    properties = PipelineConfig.model_json_schema()["properties"]
    for name, prop in properties.items():
        schema = params.get_param(name).schema
        assert schema["type"] == prop["type"] and schema["section"] == prop["section"], name
        assert schema.get("enum") == prop.get("enum"), name
        assert schema.get("format") == prop.get("format"), name  # multiline: a text area
        if "items" in prop:
            assert schema["items"].get("enum") == prop["items"].get("enum"), name
    # a multi-select: Airflow's form draws one only for an array with examples (or enum)
    assert params.get_param("targets").schema["examples"] == ["sfcc", "bspk"]
    # empty means every attribute: not a required field of the form
    assert "null" in params.get_param("akeneoImageAttributes").schema["type"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("akeneoImageImportType", "media_url"),
        ("importMode", "sometimes"),
        ("targets", ["sfcc", "amazon"]),
        ("targets", ["sfcc", "sfcc"]),
        ("akeneoLocales", []),
    ],
)
def test_a_value_the_model_refuses_is_refused_by_the_param(dag_bag: DagBag, name: str, value: object) -> None:
    param = dag_bag.dags["pim_images_import"].params.get_param(name)
    assert _like(param, param.value).resolve() == param.value
    with pytest.raises(ParamValidationError):
        _like(param, value).resolve()


def test_empty_image_attributes_are_accepted_by_the_param(dag_bag: DagBag) -> None:
    param = dag_bag.dags["pim_images_import"].params.get_param("akeneoImageAttributes")
    for value in ([], None, ["main_image"]):
        assert _like(param, value).resolve() == value


def _like(param: Param, value: object) -> Param:
    """A new Param of ``param``'s schema holding ``value`` (resolving the DAG's own would
    change its value for the other tests)."""
    return Param(value, description=param.description, **param.schema)


def test_an_import_running_past_its_deadline_mails_the_alert_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PIM_IMAGES_DEADLINE_HOURS", raising=False)
    (deadline,) = DagBag(dag_folder=str(DAGS)).dags["pim_images_import"].deadline
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(hours=6)
    assert deadline.callback.path == "pim_images_airflow.alerts.deadline_missed"
    assert deadline.callback.kwargs == {"limit": "6 h"}


def test_the_deadline_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIM_IMAGES_DEADLINE_HOURS", "1.5")
    (deadline,) = DagBag(dag_folder=str(DAGS)).dags["pim_images_import"].deadline
    assert deadline.interval == timedelta(minutes=90) and deadline.callback.kwargs == {"limit": "1.5 h"}
    monkeypatch.setenv("PIM_IMAGES_DEADLINE_HOURS", "off")  # for `airflow dags test`
    assert DagBag(dag_folder=str(DAGS)).dags["pim_images_import"].deadline is None
    monkeypatch.setenv("PIM_IMAGES_DEADLINE_HOURS", "soon")
    errors = "".join(DagBag(dag_folder=str(DAGS)).import_errors.values())
    assert "PIM_IMAGES_DEADLINE_HOURS must be a positive number of hours or off, got 'soon'" in errors


def test_akeneo_tasks_share_the_allowance_pool(dag_bag: DagBag) -> None:
    """Every task that calls Akeneo takes from ``akeneo_api`` the calls it keeps in flight, so
    concurrent runs and backfills together stay within the allowance (docs/runs.md#akeneo-allowance)."""
    dag = dag_bag.dags["pim_images_import"]
    pooled = {t.task_id: t.pool_slots for t in dag.tasks if t.pool == "akeneo_api"}
    assert pooled == {"extract_structure": 1, "extract": 4, "download_media": 4}
    assert max(pooled.values()) <= 4  # the pool's size: a task asking more would never run


def test_every_recipe_creates_the_pool_with_the_allowance() -> None:
    """The pool throttles only if it has the allowance's slots: every place that creates it (the
    compose init service, the README's recipes, docs/runs.md) says ``AKENEO_POOL_SIZE``, the
    size the tasks' slots assume; ``pool_set_command`` (make demo, make airflow, the tests) uses it."""
    root = DAGS.parent
    sizes = {
        f"{name}:{match.group(1)}"
        for name in ("docker-compose.yaml", "README.md", "docs/runs.md")
        for match in re.finditer(r"airflow pools set akeneo_api (\d+)", (root / name).read_text())
    }
    assert {s.split(":")[0] for s in sizes} == {"docker-compose.yaml", "README.md", "docs/runs.md"}
    assert {s.split(":")[1] for s in sizes} == {str(AKENEO_POOL_SIZE)}, sizes
    assert pool_set_command()[3:5] == ["akeneo_api", str(AKENEO_POOL_SIZE)]
    # the pool admits one run's media download, and never two runs' downloads at once
    assert AKENEO_POOL_SIZE == 4 and max(AKENEO_SLOTS.values()) == AKENEO_POOL_SIZE
