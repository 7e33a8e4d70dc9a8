"""The code cites the project's own docs/ (docs/README.md): every citation names a page and a
heading that exist, and nothing cites a document outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p
    for folder in ("include", "plugins", "dags", "scripts", "tests", "sandbox")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in (".py", ".toml", ".yaml") and "golden" not in p.parts and ".venv" not in p.parts
] + [ROOT / "README.md", ROOT / "config" / "pim_images.yaml"]
CITATION = re.compile(r"docs/([\w-]+\.md)(?:#([\w-]+))?")


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _citations() -> list[tuple[str, str, str | None]]:
    found = []
    for source in SOURCES:
        text = source.read_text(encoding="utf-8", errors="replace")
        for match in CITATION.finditer(text):
            found.append((str(source.relative_to(ROOT)), match.group(1), match.group(2)))
    return found


def test_the_code_cites_docs_pages() -> None:
    assert len(_citations()) > 20


@pytest.mark.parametrize(("source", "page", "anchor"), _citations())
def test_each_citation_names_an_existing_page_and_heading(source: str, page: str, anchor: str | None) -> None:
    path = ROOT / "docs" / page
    assert path.exists(), f"{source} cites docs/{page}, which does not exist"
    if anchor:
        assert anchor in _anchors(path), f"{source} cites docs/{page}#{anchor}: no such heading"


def test_nothing_cites_the_specification_outside_the_repository() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if p.name != Path(__file__).name and re.search(r"spec §|shared/docs", p.read_text(errors="replace"))
    ]
    assert offenders == []
