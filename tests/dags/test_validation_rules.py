"""Every rule of the validate stage, broken on purpose, through ``airflow dags test``.

For each error the run must stop before anything is rendered or delivered, name the code or
value at fault in the task log and in the run's ``report.json``, and leave the SFTP drop as it
was. Warnings must not stop the run and must all be in the report. A rule broken in a run
that breaks several is asserted on its own, so each test fails if its rule is removed; each
DAG run is shared by the tests of the rules it breaks (a run costs ~10 s).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath

from pim_images.state import FingerprintStore
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

pytestmark = pytest.mark.e2e

PRODUCTS = 24
NOT_RUN = (
    "extract",
    "download_media",
    "transform",
    "render_sfcc",
    "render_bspk",
    "deliver_sfcc",
    "deliver_bspk",
)
LINKS = {
    "akeneoImageType": "assets",
    "akeneoImageImportType": "media_link",
    "akeneoImageLinkViewTypesMapping": '{"url_large": ["large"], "url_thumb": ["small"]}',
}


@dataclass(frozen=True)
class Run:
    """One finished DAG run: its CLI output, its run report and the drop before and after."""

    result: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    drop_before: list[Path]
    drop_after: list[Path]

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    def errors(self, stage: str) -> list[str]:
        return [e["message"] for e in self.report["errors"] if e["stage"] == stage]

    def warnings(self, stage: str) -> list[str]:
        return [w["message"] for w in self.report["warnings"] if w["stage"] == stage]

    def started(self, task: str) -> bool:
        return f"[DAG TEST] starting task_id={task} " in self.output


RunDag = Callable[..., Run]


@pytest.fixture(scope="module")
def dag_run(tmp_path_factory: pytest.TempPathFactory, dag_env, run_dag) -> Iterator[Callable[..., Run]]:
    """A function running the DAG once against a sandbox of its own (``settings``), with
    ``conf``; ``prepare(sandbox, env)`` may break the sandbox or the environment first."""

    def run(
        conf: dict[str, Any],
        *,
        prepare: Callable[[Sandbox, dict[str, str]], None] | None = None,
        **settings: Any,
    ) -> Run:
        root = tmp_path_factory.mktemp("sftp")
        staging = tmp_path_factory.mktemp("staging")
        with run_sandbox(SandboxSettings(sftp_root=root, products=PRODUCTS, seed=7, **settings)) as sandbox:
            env = {**dag_env(sandbox), "PIM_IMAGES_STAGING": f"file://{staging}"}
            if prepare:
                prepare(sandbox, env)
            before = _files(root)
            result = run_dag(env, "2026-03-01", conf)
            after = _files(root)
        reports = sorted(staging.glob("runs/*/report.json"))
        assert len(reports) <= 1
        report = json.loads(reports[0].read_text()) if reports else {}
        return Run(result, report, before, after)

    yield run


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*"))


def assert_stopped_before_delivery(run: Run, failed_stage: str) -> None:
    """The run failed at ``failed_stage``: no later stage started, nothing was delivered, and
    the report says so."""
    assert run.result.returncode != 0 or run.report["status"] == "failed"
    assert run.started(failed_stage), run.output[-3000:]
    later = NOT_RUN[NOT_RUN.index(failed_stage) + 1 :] if failed_stage in NOT_RUN else NOT_RUN
    for task in later:
        assert not run.started(task), f"{task} ran"
    assert run.drop_after == run.drop_before
    assert run.report["status"] == "failed"
    assert run.report["stages"][failed_stage]["status"] == "failed"
    for task in ("render_sfcc", "render_bspk", "deliver_sfcc", "deliver_bspk"):
        # the report is written as soon as the run cannot go on: Airflow may not yet have
        # marked the stages that will never run
        assert run.report["stages"][task]["status"] in ("not run", "upstream_failed")
    assert run.errors(failed_stage), run.report["errors"]


# -- configuration errors (validate_config, before any call to Akeneo) ------------------------


@pytest.fixture(scope="module")
def bad_configuration(dag_run) -> Run:
    return dag_run(
        {
            **LINKS,
            "akeneoImageViewTypes": '{"views": ["large"]}',
            "akeneoImageLinkViewTypesMapping": '{"url_large": "large"}',
            "akeneoExternalImageLocation": "",
            "targets": ["sfcc"],
            "akeneoScope": "e-commerce",
        }
    )


def test_bad_configuration_stops_the_run_before_akeneo_is_called(bad_configuration: Run) -> None:
    assert_stopped_before_delivery(bad_configuration, "validate_config")
    assert not bad_configuration.started("extract_structure")


def test_view_types_of_another_shape_are_named(bad_configuration: Run) -> None:
    assert bad_configuration.errors("validate_config")[0] == (
        "akeneoImageViewTypes: unknown key(s) 'views'; expected only 'view-types'"
    )
    assert "akeneoImageViewTypes: unknown key(s) 'views'" in bad_configuration.output


def test_a_link_mapping_of_another_shape_is_named(bad_configuration: Run) -> None:
    assert (
        "akeneoImageLinkViewTypesMapping: 'url_large' must map to a non-empty list of view types, got 'large'"
        in bad_configuration.errors("validate_config")
    )


def test_links_without_an_external_location_are_refused(bad_configuration: Run) -> None:
    assert (
        "akeneoExternalImageLocation: required when links are imported (akeneoImageImportType 'media_link')"
        in bad_configuration.errors("validate_config")
    )


def test_a_channel_code_that_is_not_a_code_is_named(bad_configuration: Run) -> None:
    assert any(
        "akeneoScope" in e and "'e-commerce'" in e for e in bad_configuration.errors("validate_config")
    )


def test_an_external_location_that_is_not_http_is_refused(dag_run) -> None:
    run = dag_run({**LINKS, "akeneoExternalImageLocation": "ftp://cdn.example.com/images/"})
    assert_stopped_before_delivery(run, "validate_config")
    assert run.errors("validate_config") == [
        "akeneoExternalImageLocation: 'ftp://cdn.example.com/images/' is not an absolute http(s) URL"
    ]


def test_an_unknown_value_of_an_enumerated_parameter_is_refused_at_trigger(dag_run) -> None:
    """The DAG's params carry the enums: Airflow refuses the run before it exists (the trigger
    form offers only the allowed values). The YAML file's values are checked by validate_config."""
    run = dag_run({"akeneoImageImportType": "media_url"})
    assert run.result.returncode != 0
    assert "Invalid input for param akeneoImageImportType: 'media_url' is not one of" in run.output
    assert not run.started("validate_config")
    assert run.report == {}  # no run, no report
    assert run.drop_after == run.drop_before


# -- catalog errors (validate, after the structure is read, before any product) --------------


@pytest.fixture(scope="module")
def broken_catalog(dag_run) -> Run:
    return dag_run(
        {
            **LINKS,
            "akeneoImageLinkViewTypesMapping": json.dumps(
                {"url_large": ["large"], "url_huge": ["huge"], "alt_text": ["alt"]}
            ),
            "akeneoScope": "webshop",
        },
        defects=("localizable_collection", "missing_asset_family"),
    )


def test_catalog_errors_stop_the_run_before_any_product_is_read(broken_catalog: Run) -> None:
    assert_stopped_before_delivery(broken_catalog, "validate")
    assert broken_catalog.report["stages"]["extract_structure"]["status"] == "success"


def test_a_localizable_or_scopable_collection_is_named(broken_catalog: Run) -> None:
    errors = broken_catalog.errors("validate")
    suffix = "; it must be neither (the locale and channel are read from the asset values)"
    assert f"asset collection attribute 'packshots' is localizable{suffix}" in errors
    assert f"asset collection attribute 'lifestyle_assets' is scopable{suffix}" in errors
    assert f"asset collection attribute 'packshots' is localizable{suffix}" in broken_catalog.output


def test_a_collection_of_a_missing_asset_family_is_named(broken_catalog: Run) -> None:
    assert (
        "asset collection attribute 'retired_assets': asset family 'retired_media' does not exist in Akeneo"
        in broken_catalog.errors("validate")
    )


def test_a_mapped_attribute_missing_from_an_asset_family_is_named(broken_catalog: Run) -> None:
    errors = broken_catalog.errors("validate")
    for family in ("cdn_images", "lifestyle", "packshots", "user_guides"):
        assert (
            f"akeneoImageLinkViewTypesMapping: asset family {family!r} has no attribute 'url_huge'" in errors
        )
    assert not any("'url_large'" in e for e in errors)  # in every family, and a media_link


def test_a_mapped_attribute_that_is_not_a_link_is_named(broken_catalog: Run) -> None:
    assert (
        "akeneoImageLinkViewTypesMapping: attribute 'alt_text' of asset family 'packshots' "
        "is of type 'text', not media_link"
    ) in broken_catalog.errors("validate")


def test_an_unknown_channel_is_named(broken_catalog: Run) -> None:
    assert "akeneoScope: channel 'webshop' does not exist in Akeneo" in broken_catalog.errors("validate")


# -- Akeneo refuses, or lacks an endpoint ----------------------------------------------------


def test_an_asset_manager_missing_from_the_pim_is_named(dag_run) -> None:
    run = dag_run({"akeneoImageType": "assets", "akeneoAssetSystem": "new"}, asset_system="old")
    assert_stopped_before_delivery(run, "validate")
    assert run.errors("validate") == [
        "akeneoAssetSystem 'new': this PIM has no Asset Manager "
        "(GET /api/rest/v1/asset-families answered 404); it exists on PIM >= 4.0; "
        "a 3.x PIM's PAM is akeneoAssetSystem 'old'"
    ]


def test_a_pam_missing_from_the_pim_is_named(dag_run) -> None:
    run = dag_run({"akeneoImageType": "assets", "akeneoAssetSystem": "old"}, asset_system="new")
    assert_stopped_before_delivery(run, "validate")
    assert run.errors("validate") == [
        "akeneoAssetSystem 'old': this PIM has no PAM (GET /api/rest/v1/assets answered 404); "
        "it exists on PIM < 4.0 only; the Asset Manager is akeneoAssetSystem 'new'"
    ]


def _retried(env: dict[str, str]) -> None:
    """Retries on, as in production: an auth failure must still fail at the first try."""
    env["PIM_IMAGES_TASK_RETRIES"] = "2"


def test_refused_credentials_fail_at_once_naming_what_to_check(dag_run) -> None:
    def wrong_password(sandbox: Sandbox, env: dict[str, str]) -> None:
        _retried(env)
        connection = json.loads(env["AIRFLOW_CONN_AKENEO_DEFAULT"])
        env["AIRFLOW_CONN_AKENEO_DEFAULT"] = json.dumps({**connection, "password": "wrong"})

    run = dag_run({}, prepare=wrong_password)
    assert_stopped_before_delivery(run, "extract_structure")
    (error,) = run.errors("extract_structure")
    assert error.startswith("Akeneo POST /api/oauth/v1/token answered ")
    assert "check the connection's login/password and its client_id/client_secret extras" in error
    assert "up_for_retry" not in run.output.lower()


def test_a_missing_permission_fails_at_once_naming_the_endpoint(dag_run) -> None:
    def forbidden(sandbox: Sandbox, env: dict[str, str]) -> None:
        _retried(env)
        sandbox.app.state.faults.add(r"/api/rest/v1/attributes$", 403, times=None)

    run = dag_run({}, prepare=forbidden)
    assert_stopped_before_delivery(run, "extract_structure")
    (error,) = run.errors("extract_structure")
    assert error.startswith("Akeneo GET /api/rest/v1/attributes answered 403: ")
    assert "Web API permissions" in error
    assert "up_for_retry" not in run.output.lower()


# -- warnings: the image is skipped, the run goes on, the report keeps each -------------------


@pytest.fixture(scope="module")
def warned(dag_run) -> Run:
    def previous_run_with_another_configuration(sandbox: Sandbox, env: dict[str, str]) -> None:
        FingerprintStore(ObjectStoragePath(env["PIM_IMAGES_STAGING"])).record("another configuration")

    return dag_run(
        {**LINKS, "akeneoImageType": "both", "akeneoImageImportType": "both"},
        prepare=previous_run_with_another_configuration,
    )


def test_warnings_do_not_stop_the_run(warned: Run) -> None:
    assert warned.result.returncode == 0, warned.output[-3000:]
    assert warned.report["status"] == "success"
    assert warned.report["errors"] == []
    delivered = {p.suffix for p in warned.drop_after} - {p.suffix for p in warned.drop_before}
    assert {".zip", ".xml", ".csv"} <= delivered
    assert warned.report["stages"]["deliver_bspk"]["status"] == "success"


def test_the_report_counts_every_warning_of_every_stage(warned: Run) -> None:
    stages = warned.report["stages"]
    assert warned.report["warnings_total"] == sum(s["warnings_total"] for s in stages.values()) > 0
    assert len(warned.report["warnings"]) == warned.report["warnings_total"]  # under the report's cap


def test_a_link_outside_the_external_location_is_a_warning(warned: Run) -> None:
    outside = [w for w in warned.warnings("transform") if "is not under akeneoExternalImageLocation" in w]
    assert any("'https://" in w and "sku_00011_cdn" in w for w in outside), warned.warnings("transform")
    assert outside[0] in warned.output


def test_bytes_that_are_not_an_image_are_a_warning(warned: Run) -> None:
    undecodable = [w for w in warned.warnings("download_media") if "not" in w and "image" in w]
    assert undecodable, warned.report["warnings"][:20]
    assert all(w.endswith("its images are skipped") for w in undecodable)


def test_an_image_type_bspk_does_not_take_is_a_warning(warned: Run) -> None:
    refused = [w for w in warned.warnings("render_bspk") if "is not taken by BSPK (JPG and PNG only)" in w]
    assert any("'SKU-00004'" in w and "GIF" in w for w in refused), warned.warnings("render_bspk")


def test_an_unknown_asset_code_is_a_warning(warned: Run) -> None:
    assert any(
        "collection 'packshots': asset 'sku_00009_deleted' does not exist; skipped" in w
        for w in warned.warnings("transform")
    ), warned.warnings("transform")


def test_a_configuration_change_is_reported(warned: Run) -> None:
    assert warned.report["configuration_changed"] is True
    assert warned.report["configuration"]["akeneoImageType"] == "both"
    assert "differential import made full" not in warned.output  # a full import anyway
    assert "image-related configuration changed since the last successful run" in warned.output
