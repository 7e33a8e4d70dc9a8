"""Every Akeneo path and query lives in ``pim_images.akeneo`` (its ``resources`` module): the
stages name resources, never URLs or query parameters. The sandbox is not part of the core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pim_images

CORE = Path(pim_images.__file__).parent
#: Keys that only an Akeneo query or search filter has (pagination.md, filter.md).
QUERY_KEYS = frozenset({"search", "pagination_type", "search_after", "limit", "operator"})


def _core_modules() -> list[Path]:
    outside = (CORE / "akeneo", CORE / "sandbox")
    return sorted(p for p in CORE.rglob("*.py") if not any(p.is_relative_to(o) for o in outside))


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes (module, class, function): prose may name a path."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _offences(path: Path, root: Path = CORE) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    where = path.relative_to(root)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "/api/rest/v1" in node.value
            and id(node) not in docstrings
        ):
            found.append(f"{where}:{node.lineno}: Akeneo path {node.value!r}")
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if keys & QUERY_KEYS:
                found.append(f"{where}:{node.lineno}: Akeneo query keys {sorted(keys & QUERY_KEYS)}")
    return found


def test_the_scan_sees_the_core_and_catches_a_path(tmp_path: Path) -> None:
    modules = {p.name for p in _core_modules()}
    assert {"extract.py", "assets.py", "models.py", "media.py", "validate.py"} <= modules
    bad = tmp_path / "bad.py"
    bad.write_text('"""Reads /api/rest/v1/products-uuid."""\nP = f"/api/rest/v1/x/{1}"\nQ = {"limit": 1}\n')
    assert sorted(o.split(":")[1] for o in _offences(bad, tmp_path)) == ["2", "3"]  # not the docstring


@pytest.mark.parametrize("module", _core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_no_akeneo_path_or_query_outside_akeneo(module: Path) -> None:
    assert _offences(module) == []
