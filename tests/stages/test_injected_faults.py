"""The faults ``make sandbox SANDBOX_ARGS="--fault NAME"`` injects, at stage level: what a run
shows for each (docs/akeneo.md#verified-downloads, docs/akeneo.md#the-pims-origin-only,
docs/bad-input.md#media-limits, docs/delivery.md#what-a-consumer-sees)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline import run_pipeline

from pim_images.akeneo.errors import AkeneoError, AkeneoOriginError
from pim_images.deliver import DeliveryError
from pim_images.media import MediaCache
from pim_sandbox.environment import FAULTS, Sandbox, SandboxSettings, run_sandbox

CONF = {"targets": ["sfcc"]}


@pytest.fixture
def sandbox_with(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A function: fault name -> a running sandbox with that fault set."""
    contexts = []

    def start(fault: str, **settings_: object) -> Sandbox:
        settings = SandboxSettings(
            sftp_root=tmp_path_factory.mktemp("sftp"), products=6, seed=7, faults=(fault,), **settings_
        )
        context = run_sandbox(settings)
        contexts.append(context)
        return context.__enter__()

    yield start
    for context in contexts:
        context.__exit__(None, None, None)


def test_every_fault_is_described() -> None:
    assert all(what for what, _ in FAULTS.values())


def test_cut_media_are_retried_and_the_run_delivers(sandbox_with, tmp_path: Path) -> None:
    delivered = run_pipeline(sandbox_with("cut-media"), CONF, tmp_path)
    assert delivered.summaries["download_media"].unusable == 0
    assert delivered.files["sfcc"]


def test_html_pages_for_media_are_reported_and_not_cached(sandbox_with, tmp_path: Path) -> None:
    delivered = run_pipeline(sandbox_with("html-media"), CONF, tmp_path, until="download_media")
    refused = [w for w in delivered.warnings["download_media"] if "text/html, not a media file" in w]
    assert len(refused) == 3


def test_a_bomb_is_skipped_by_the_pixel_limit(sandbox_with, tmp_path: Path) -> None:
    delivered = run_pipeline(sandbox_with("bomb"), CONF, tmp_path, until="download_media")
    bombs = [
        w for w in delivered.warnings["download_media"] if "too large: Image size (361000000 pixels)" in w
    ]
    assert len(bombs) == 1


def test_a_foreign_next_link_stops_the_run_naming_it(sandbox_with, tmp_path: Path) -> None:
    with pytest.raises(AkeneoOriginError, match=r"http://pim\.attacker\.example/api/rest/v1/products-uuid"):
        run_pipeline(sandbox_with("foreign-next"), CONF, tmp_path, until="extract")


def test_a_token_endpoint_answering_html_is_named(sandbox_with, tmp_path: Path) -> None:
    with pytest.raises(AkeneoError, match=r"POST /api/oauth/v1/token.*text/html"):
        run_pipeline(sandbox_with("token-html"), CONF, tmp_path, until="extract_structure")


@pytest.mark.parametrize(("fault", "message"), [("refuse-rename", "rename"), ("cut-upload", "upload")])
def test_sftp_faults_fail_the_delivery_naming_server_and_path(
    sandbox_with, tmp_path: Path, fault: str, message: str
) -> None:
    sandbox = sandbox_with(fault)
    with pytest.raises(DeliveryError, match=rf"sftp://.*:{sandbox.sftp.port} .*{message} /sfcc/catalog/"):
        run_pipeline(sandbox, CONF, tmp_path)


def test_faults_keep_the_shape_of_the_sandboxs_akeneo_version(sandbox_with, tmp_path: Path) -> None:
    """On a 3.2 PIM: PAM files are media too, and products are read from ``/products``."""
    pam = {"akeneoImageType": "assets", "akeneoAssetSystem": "old", **CONF}
    delivered = run_pipeline(
        sandbox_with("html-media", akeneo_version="3.2"), pam, tmp_path, until="download_media"
    )
    assert any("text/html, not a media file" in w for w in delivered.warnings["download_media"])
    with pytest.raises(AkeneoOriginError, match=r"http://pim\.attacker\.example/"):
        run_pipeline(
            sandbox_with("foreign-next", akeneo_version="5.0"), CONF, tmp_path / "b", until="extract"
        )


def test_a_body_ended_by_a_closed_connection_is_never_cached_as_good(sandbox_with, tmp_path: Path) -> None:
    """Half a JPEG with neither Content-Length nor chunked encoding, ended by closing the
    connection: the client cannot see the cut (docs/akeneo.md#verified-downloads). The run
    leaves its products out and does not cache the verdict; the next run asks again and gets
    the whole file."""
    sandbox = sandbox_with("unframed-cut-media")
    cache = MediaCache(tmp_path / "cache")
    first = run_pipeline(sandbox, CONF, tmp_path / "first", until="download_media", cache=cache)
    cut = [
        w for w in first.warnings["download_media"] if "its end unconfirmed by the server; not cached" in w
    ]
    assert len(cut) == 1 and "the products using it are left out" in cut[0]
    assert first.summaries["download_media"].unusable == 1
    assert sandbox.app.state.requests.matching(r"/media-files/.+/download$", status=200)

    again = run_pipeline(sandbox, CONF, tmp_path / "again", until="download_media", cache=cache)
    assert again.summaries["download_media"].downloaded == 1  # only the cut one, asked again
    assert again.summaries["download_media"].unusable == 0
    assert not again.warnings["download_media"]
