"""The media stage against a sandbox that serves product photos (``photo_side``: megapixel-like
files, as a real PIM's, where its usual pictures are 24 to 96 px) and enforces Akeneo's
allowance (a 5th call in flight gets a 429).

Its threads outnumber the calls it may have in flight, so that calls go on while downloaded
photos are decoded (``media._workers``); the client's slots keep the calls in flight at the
allowance, never more. Correctness only: no timing (tests/benchmarks/bench_identify.py measures
the checks, ``bench_pipeline.py --photo-side`` the stage).
"""

from __future__ import annotations

from typing import Any

import pytest
from pipeline import run_pipeline

from pim_images import records
from pim_sandbox.environment import SandboxSettings, run_sandbox

#: a photo's side, in px: large enough to be no drawing, small enough for a quick test
SIDE = 480


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = SandboxSettings(
        sftp_root=tmp_path_factory.mktemp("sftp"),
        products=40,
        latency_ms=10,
        concurrency_limit=4,
        photo_side=SIDE,
    )
    with run_sandbox(settings) as sandbox:
        limits = sandbox.app.state.limits
        run = run_pipeline(
            sandbox, {"akeneoImageType": "both"}, tmp_path_factory.mktemp("run"), until="download_media"
        )
        return {
            "run": run,
            "sandbox_peak": limits.peak_in_flight,
            "refused": sum(limits.refused.values()),
            "media": list(records.MEDIA.read(run.run_dir)),
        }


def test_downloads_keep_the_allowance_in_flight_and_never_more(downloaded: dict[str, Any]) -> None:
    assert downloaded["refused"] == 0
    assert downloaded["sandbox_peak"] == 4
    assert downloaded["run"].peak_in_flight == 4
    assert downloaded["run"].statuses.get(429, 0) == 0


def test_every_photo_is_downloaded_and_identified_by_its_bytes(downloaded: dict[str, Any]) -> None:
    media = downloaded["media"]
    summary = downloaded["run"].summaries["download_media"]
    assert summary.downloaded == len(media) > 100
    images = [m for m in media if m.format is not None]
    assert {m.format for m in images} >= {"JPEG", "PNG"}
    assert not any(m.broken for m in media)
    # photos, not the sandbox's small drawings (a few hundred bytes to a few kB)
    jpegs = [m.size for m in images if m.format == "JPEG"]
    assert min(jpegs) > 10_000
