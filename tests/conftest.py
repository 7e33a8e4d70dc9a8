"""Shared test fixtures: project paths, SFCC schemas (the product's copy), an isolated Airflow home.

Airflow reads its configuration when first imported, so the environment is set here, at
collection time, before any test module imports it: a throw-away ``AIRFLOW_HOME`` and the
project's DAG folder, so no test touches a developer's own Airflow.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from pim_images.targets.sfcc.schema import sfcc_schema

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="pim-images-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, True)  # every session left one in the temp folder
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["PIM_IMAGES_STAGING"] = f"file://{_AIRFLOW_HOME}/pim_images"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The system tests (a scheduler, a cluster, a browser: the longest) first, so that with
    ``pytest -n`` (``make test``) one worker starts them at once while the others take the rest
    (:class:`_Scheduling`)."""
    # stable: the tests of each part keep their order
    items.sort(key=lambda item: item.get_closest_marker("system") is None)


class _Scheduling:
    """With ``--dist loadscope`` (``make test``), pytest-xdist's scheduling of whole modules,
    but the system tests all on one worker, one after another, as they run alone: each starts
    its own Airflow, cluster or browser, and two at once on this 2-core machine would be slower
    than in turn. A module's tests stay on one worker, so its module fixtures (a sandbox, a DAG
    run, a logged-in browser) start once. (xdist's ``loadgroup`` marks do not group under
    pytest 9.2: the node id it renames is read-only there.)"""

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadscope":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class ModulesAndSystemTogether(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                module = nodeid.split("::", 1)[0]
                return "tests/system" if module.startswith("tests/system/") else module

        return ModulesAndSystemTogether(config, log)


def pytest_configure(config: pytest.Config) -> None:
    # the hook is xdist's: a plugin that names it is refused without xdist (``-p no:xdist``)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_Scheduling(), "pim-images-scheduling")


@pytest.fixture(scope="session")
def catalog_schema() -> etree.XMLSchema:
    """SFCC's catalog.xsd: the copy the product ships and validates its own output with."""
    return sfcc_schema("catalog.xsd")


@pytest.fixture(scope="session")
def metadata_schema() -> etree.XMLSchema:
    return sfcc_schema("metadata.xsd")


def assert_valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    """Parse and validate; the failure message lists the schema's complaints."""
    document = etree.fromstring(xml)
    if not schema.validate(document):
        raise AssertionError("XML does not validate:\n" + "\n".join(str(e) for e in schema.error_log))
    return document


def assert_golden(case: str, name: str, actual: bytes) -> None:
    """Compare with ``tests/golden/<case>/<name>``; ``UPDATE_GOLDEN=1`` rewrites it (only then)."""
    path = GOLDEN / case / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 once and review it"
    assert actual == path.read_bytes(), f"{name} differs from golden {path}"


@pytest.fixture(scope="session")
def validate_catalog(catalog_schema: etree.XMLSchema):
    """A function: catalog XML bytes -> parsed root, failing the test if the schema refuses it."""
    return lambda xml: assert_valid(catalog_schema, xml)


@pytest.fixture(scope="session")
def validate_metadata(metadata_schema: etree.XMLSchema):
    """A function: metadata XML bytes -> parsed root, failing the test if the schema refuses it."""
    return lambda xml: assert_valid(metadata_schema, xml)


@pytest.fixture(scope="session")
def golden():
    """A function ``(case, name, bytes)`` comparing with a golden file."""
    return assert_golden
