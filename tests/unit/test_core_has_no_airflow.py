"""The core never imports Airflow (docs/architecture.md#core-without-airflow): import every core module in a
clean interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pim_images


def test_importing_every_core_module_loads_no_airflow() -> None:
    modules = [m.name for m in pkgutil.walk_packages(pim_images.__path__, "pim_images.")]
    assert "pim_images.targets.sfcc.render" in modules
    # The sandbox is a development package of its own (pim_sandbox), not part of the product.
    assert not [name for name in modules if "sandbox" in name], modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
