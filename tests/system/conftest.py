"""System tests: the project's own programs running as ops run them (a scheduler, a browser)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "system: starts a whole system (Airflow standalone, a browser)")
