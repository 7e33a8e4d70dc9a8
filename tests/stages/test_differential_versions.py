"""Differential imports on PIMs before 7.0 (docs/akeneo.md#search-filters-per-version).

A differential run finds the masters whose variants changed, and reads those masters' variants
again. On 7.0 it filters products on ``parent`` (``NOT EMPTY``, ``IN``); a PIM before 7.0 refuses
those operators with a 422 (filter.md, "On their parent": ``=`` only from 3.2, nothing before),
and so does the sandbox of that version. The same changes as the property test of
``test_differential_import`` (variants disabled, deleted, made simple, moved to another master,
enabled again; a model's image changed) are made on the 3.1 and 3.2 (PAM) and 5.0 (Asset
Manager) profiles: each differential run must succeed, refresh the masters concerned, and give
what a full run gives once applied over what was delivered before.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pipeline import run_pipeline
from test_differential_import import Changer, State, applied, delivered_lists

from pim_images.media import MediaCache
from pim_images.store import StateStore, sqlite_url
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

#: version -> its asset system (the PAM up to 3.x, the Asset Manager from 4.0)
VERSIONS = {"3.1": "old", "3.2": "old", "5.0": "new"}
#: after every date the generated catalog holds
EPOCH = datetime(2027, 1, 1, tzinfo=UTC)
#: the change sets, one interval each: Changer's methods, in order
CHANGE_SETS = (("disable", "move"), ("detach", "enable"), ("delete", "model_image", "move"))


@pytest.fixture(scope="module", params=sorted(VERSIONS))
def sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    settings = SandboxSettings(
        sftp_root=tmp_path_factory.mktemp("sftp"),
        products=10,
        models=4,
        seed=11,
        akeneo_version=request.param,
    )
    with run_sandbox(settings) as running:
        yield running
        running.catalog.changes.__init__()


def test_a_differential_import_before_70_delivers_what_a_full_one_would(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    version = sandbox.catalog.profile.name
    config = {"akeneoAssetSystem": VERSIONS[version], "akeneoImageType": "both"}
    cache = MediaCache(tmp_path / "media-cache")
    store = StateStore(sqlite_url(str(tmp_path / "state.sqlite")))

    def run(name: str, **kwargs: Any) -> tuple[State, Any]:
        result = run_pipeline(sandbox, config, tmp_path / name, until="render_bspk", cache=cache, **kwargs)
        statuses = dict(result.statuses)
        assert 422 not in statuses, (name, statuses)
        return delivered_lists(result), result.summaries["extract"]

    full, _ = run("full-0", store=store, run_id="full-0")
    downstream = applied({"sfcc": {}, "bspk": {}}, full)
    changer = Changer(sandbox.catalog, random.Random(7))
    for number, kinds in enumerate(CHANGE_SETS, start=1):
        start = EPOCH + timedelta(days=number)
        changes = [getattr(changer, kind)(changer.when(start)) for kind in kinds]
        interval = (start, start + timedelta(days=1))
        differential, summary = run(f"diff-{number}", interval=interval, store=store, run_id=f"diff-{number}")
        full, _ = run(f"full-{number}")
        assert summary.differential and summary.masters_refreshed >= 1, (version, changes, summary)
        expected, got = applied(downstream, full), applied(downstream, differential)
        for target in expected:
            wrong = sorted(
                ref
                for ref in expected[target].keys() | got[target].keys()
                if expected[target].get(ref) != got[target].get(ref)
            )
            made = "; ".join(changes)
            assert not wrong, f"{version}, change set {number} ({made}): {target} differs for {wrong}"
        downstream = expected
