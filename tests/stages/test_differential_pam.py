"""Change detection with the old asset system, the PAM of PIM < 4.0 (docs/runs.md#differential-import).

The PAM has no ``updated`` date nor filter on assets: a differential run reads every asset and
compares it with the checksum the state store kept. A new reference file keeps the asset's routes
(``/assets/{code}/reference-files/{locale}/download``) and changes its file ``code`` and bytes
(pam.md); the products linking the asset must be re-exported with the new image, and a run over
an unchanged catalog must re-export nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pipeline import run_pipeline
from test_differential_import import State, applied, delivered_lists

from pim_images.media import MediaCache
from pim_images.store import StateStore, sqlite_url
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

CONFIG = {"akeneoAssetSystem": "old", "akeneoImageType": "both"}
#: after every date the generated catalog holds
EPOCH = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(
        sftp_root=tmp_path_factory.mktemp("sftp"), products=8, seed=5, akeneo_version="3.2"
    )
    with run_sandbox(settings) as running:
        yield running
        running.catalog.changes.__init__()


def _packshot_owners(sandbox: Sandbox) -> dict[str, list[str]]:
    """Packshot asset code -> identifiers of the products whose collections name it."""
    catalog = sandbox.catalog
    owners: dict[str, list[str]] = {}
    for header in catalog.iter_headers():
        for codes in catalog.product_asset_codes(header.index).values():
            for code in codes:
                owners.setdefault(code, []).append(header.identifier)
    packshots = {h.code for h in catalog.iter_asset_headers("packshots")}
    return {code: refs for code, refs in owners.items() if code in packshots}


def test_a_new_pam_reference_file_re_exports_the_products_linking_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cache = MediaCache(tmp_path / "media-cache")
    store = StateStore(sqlite_url(str(tmp_path / "state.sqlite")))

    def run(name: str, day: int | None = None, **kwargs: Any) -> tuple[State, Any]:
        interval = (EPOCH + timedelta(days=day), EPOCH + timedelta(days=day + 1)) if day else None
        result = run_pipeline(
            sandbox, CONFIG, tmp_path / name, until="render_bspk", cache=cache, interval=interval, **kwargs
        )
        return delivered_lists(result), result.summaries["extract"]

    before, _ = run("full-0", store=store, run_id="full-0")

    unchanged, summary = run("diff-1", day=1, store=store, run_id="diff-1")
    assert (summary.products, summary.assets_changed) == (0, 0)
    assert unchanged == {"sfcc": {}, "bspk": {}}

    owners = _packshot_owners(sandbox)
    code = min(owners)
    source = next(c for c in sorted(owners) if not set(owners[c]) & set(owners[code]))
    sandbox.catalog.changes.upload_pam_files(code, source)
    try:
        changed, summary = run("diff-2", day=2, store=store, run_id="diff-2")
        full, _ = run("full-2")
    finally:
        sandbox.catalog.changes.__init__()
    assert summary.assets_changed == 1
    for target in ("sfcc", "bspk"):
        assert sorted(changed[target]) == sorted(owners[code]), target
        for ref in owners[code]:
            assert changed[target][ref] == full[target][ref], (target, ref)
            assert changed[target][ref] != before[target][ref], (target, ref, "the new file is delivered")
    assert applied(before, changed) == applied(before, full)
