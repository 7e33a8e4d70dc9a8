"""Every Akeneo version users run, through the core stages (``tests/pipeline.py``): the same
catalog served by a 3.1, 3.2, 5.0, 7.0 or SaaS PIM delivers the same files (docs/akeneo.md#versions).

Each version serves its own endpoints and shapes (``pim_sandbox.catalog.versions``): no
``/products-uuid`` before 7.0, no ``/products`` on SaaS, product models without ``family``
before 3.2, an empty ``values`` as ``[]`` before 4.0. The run finds out which it talks to.
"""

from __future__ import annotations

from typing import Any

import pytest
from pipeline import run_pipeline

from pim_sandbox.environment import SandboxSettings, run_sandbox

VERSIONS = ("3.1", "3.2", "5.0", "7.0", "saas")
ENDPOINT = {
    "3.1": "/api/rest/v1/products",
    "3.2": "/api/rest/v1/products",
    "5.0": "/api/rest/v1/products",
    "7.0": "/api/rest/v1/products-uuid",
    "saas": "/api/rest/v1/products-uuid",
}
SYSTEM = {"7.0": ("7.0.45", "EE"), "saas": ("v20260301120000", "Serenity")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the default configuration per version, on the same generated catalog."""
    results = {}
    for version in VERSIONS:
        root = tmp_path_factory.mktemp(f"sftp-{version}")
        settings = SandboxSettings(sftp_root=root, products=12, models=3, akeneo_version=version)
        with run_sandbox(settings) as sandbox:
            results[version] = run_pipeline(sandbox, {}, tmp_path_factory.mktemp(f"run-{version}"))
    return results


@pytest.mark.parametrize("version", VERSIONS)
def test_each_version_delivers_what_a_70_pim_delivers(runs: dict[str, Any], version: str) -> None:
    assert runs[version].files == runs["7.0"].files
    assert runs[version].summaries["transform"].products == runs["7.0"].summaries["transform"].products


@pytest.mark.parametrize("version", VERSIONS)
def test_the_probe_names_the_products_endpoint_and_what_the_pim_tells(
    runs: dict[str, Any], version: str
) -> None:
    summary = runs[version].summaries["extract_structure"]
    assert summary.products_endpoint == ENDPOINT[version]
    assert (summary.pim_version, summary.pim_edition) == SYSTEM.get(version, (None, None))


def test_a_pre_32_pim_keeps_its_variants_variation(runs: dict[str, Any]) -> None:
    """Models without ``family`` find their family variant by its code."""
    xml = next(data for name, data in runs["3.1"].files["sfcc"].items() if name.startswith("catalog_"))
    assert b"<variation " in xml


def test_no_warning_is_added_by_an_older_version(runs: dict[str, Any]) -> None:
    for version in VERSIONS:
        assert runs[version].warnings == runs["7.0"].warnings, version
