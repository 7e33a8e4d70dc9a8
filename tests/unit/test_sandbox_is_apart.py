"""The sandbox is a development package apart from the product (docs/architecture.md): the runtime
requirements name none of its servers, neither package imports the other, and the sandbox still finds the
project it serves."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import pim_images
import pim_sandbox
from pim_sandbox.__main__ import airflow_environment

ROOT = Path(__file__).resolve().parents[2]
#: Dependencies only the sandbox's servers need (requirements-dev.txt).
SANDBOX_ONLY = {"fastapi", "uvicorn", "asyncssh"}


def _requirement_names(path: Path) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {canonicalize_name(Requirement(line).name) for line in lines if line and not line.startswith("-")}


def test_runtime_requirements_name_no_sandbox_only_dependency() -> None:
    runtime = _requirement_names(ROOT / "requirements.txt")
    assert "apache-airflow" in runtime
    assert runtime.isdisjoint(SANDBOX_ONLY), sorted(runtime & SANDBOX_ONLY)
    assert SANDBOX_ONLY <= _requirement_names(ROOT / "requirements-dev.txt")


def _loaded_after_importing(modules: list[str], prefix: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m == {prefix!r} or m.startswith({prefix + '.'!r}))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_sandbox_never_imports_the_product() -> None:
    modules = [m.name for m in pkgutil.walk_packages(pim_sandbox.__path__, "pim_sandbox.")]
    assert "pim_sandbox.akeneo_app" in modules
    result = _loaded_after_importing(modules, "pim_images")
    assert result.returncode == 0, result.stdout + result.stderr


def test_product_never_imports_the_sandbox() -> None:
    modules = [m.name for m in pkgutil.walk_packages(pim_images.__path__, "pim_images.")]
    result = _loaded_after_importing(modules, "pim_sandbox")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sandbox_points_airflow_at_the_project_folders() -> None:
    env = airflow_environment({})
    assert (Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) / "pim_images_import.py").is_file(), env
    assert (Path(env["AIRFLOW__CORE__PLUGINS_FOLDER"]) / "pim_images_airflow").is_dir(), env
