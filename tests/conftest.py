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


def _is_system(config: pytest.Config, path: Path) -> bool:
    """Whether a test file is one of the system tests (``tests/system``)."""
    return path.is_relative_to(config.rootpath / "tests" / "system")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a pytest-xdist worker (``make test``), the system tests (a scheduler, a cluster, a
    browser: the longest) first, so that one worker starts them at once while the others take
    the rest (:func:`pytest_xdist_make_scheduler`). In one process the order stays the files'."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # stable: the tests of each part keep their order
        items.sort(key=lambda item: not _is_system(config, item.path))


@pytest.hookimpl(optionalhook=True)  # xdist's hook: unknown without it (``-p no:xdist``)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``pytest -n`` (``--dist load``, its default, or ``loadscope``: ``make test``),
    xdist's scheduling of whole modules, with all the system tests on one worker, one after
    another as they run alone. A module's tests stay on one worker, so its module fixtures (a
    sandbox, a DAG run, a logged-in browser) start once. Each system test starts its own Airflow,
    cluster or browser: two at once on a 2-core machine are slower than in turn, and the
    standalone Airflows of the backfill and killed-worker tests would share Airflow's default
    log-server ports. (xdist's ``loadgroup`` marks do not group under pytest 9.2: xdist renames
    ``item._nodeid``, which pytest 9.2 no longer reads.) Other ``--dist`` modes are xdist's."""
    if config.getvalue("dist") not in ("load", "loadscope"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndSystemTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tests/system" if _is_system(config, config.rootpath / module) else module

    return ModulesAndSystemTogether(config, log)


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
