"""Faults and hostile answers from the Akeneo side, over real HTTP against the sandbox.

A bad network (bodies cut short, pages answered with 200, redirects) and a hostile or
misconfigured PIM (links to other hosts, codes that climb, image bombs): every byte kept is
verified, nothing transient is cached, and the token never leaves the PIM's API
(docs/akeneo.md#verified-downloads, docs/akeneo.md#the-pims-origin-only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import re
import tempfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from pim_images import records
from pim_images.akeneo import resources
from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import AkeneoClient
from pim_images.akeneo.errors import AkeneoError, AkeneoOriginError
from pim_images.akeneo.retry import RetryPolicy
from pim_images.config import load_config
from pim_images.extract import extract_catalog, extract_structure
from pim_images.media import MediaCache, download_media
from pim_sandbox.catalog import generate_catalog
from pim_sandbox.credentials import AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_PASSWORD, AKENEO_USER
from pim_sandbox.environment import create_sandbox_app
from pim_sandbox.http_server import serve_in_thread

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"
CREDENTIALS = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, object]]:
    app = create_sandbox_app(generate_catalog(products=8, seed=3))
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def foreign() -> Iterator[tuple[str, object]]:
    """Another server (same host, other port): it must never receive a request."""
    app = create_sandbox_app(generate_catalog(products=1, seed=1))
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def app(sandbox, foreign):
    _, app = sandbox
    for server in (app, foreign[1]):
        server.state.faults.clear()
        server.state.requests.clear()
    yield app
    app.state.faults.clear()


@pytest.fixture
def client(sandbox) -> Iterator[AkeneoClient]:
    url, _ = sandbox
    policy = RetryPolicy(max_attempts=3, base=0.0, cap=0.0)
    with AkeneoClient(url, CREDENTIALS, retry=policy) as c:
        yield c


@pytest.fixture(scope="module")
def run_dir(sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    url, _ = sandbox
    run = tmp_path_factory.mktemp("run")
    config = load_config(CONFIG)
    with AkeneoClient(url, CREDENTIALS) as c:
        extract_structure(c, config, run)
        extract_catalog(c, config, run)
    return run


@pytest.fixture(scope="module")
def jpeg(sandbox, run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """A JPEG of the run: its media key (download path) and its bytes."""
    url, _ = sandbox
    cache = MediaCache(tmp_path_factory.mktemp("first-cache"))
    with AkeneoClient(url, CREDENTIALS) as c:
        download_media(c, run_dir, cache)
    record = next(r for r in records.MEDIA.read(run_dir) if r.format == "JPEG")
    return record.key, cache.blob(record.sha256).read_bytes()


def _record(run_dir: Path, key: str) -> records.MediaRecord:
    return next(r for r in records.MEDIA.read(run_dir) if r.key == key)


def _on(key: str) -> str:
    return re.escape(key) + "$"


# -- verified transfers ----------------------------------------------------------------------------


def test_a_body_cut_short_is_retried_and_the_whole_file_kept(client, app, run_dir, jpeg, tmp_path) -> None:
    key, content = jpeg
    app.state.faults.add(_on(key), 200, body=content, cut_at=len(content) // 2, content_type="image/jpeg")
    download_media(client, run_dir, MediaCache(tmp_path))
    assert _record(run_dir, key).sha256 == hashlib.sha256(content).hexdigest()
    # the CRC-32 the archive writes without reading the blob: of the whole file, not the cut
    assert _record(run_dir, key).crc32 == zlib.crc32(content)
    assert len(app.state.requests.matching(_on(key))) == 2


def test_a_body_cut_on_every_attempt_fails_and_caches_nothing(client, app, run_dir, jpeg, tmp_path) -> None:
    key, content = jpeg
    app.state.faults.add(_on(key), 200, times=None, body=content, cut_at=100, content_type="image/jpeg")
    cache = MediaCache(tmp_path)
    with pytest.raises(AkeneoError, match=re.escape(key)):
        download_media(client, run_dir, cache)
    assert cache.lookup(key) is None


def test_a_truncated_jpeg_is_not_an_image(client, app, run_dir, jpeg, tmp_path) -> None:
    key, _ = jpeg
    buffer = io.BytesIO()
    noise = random.Random(7).randbytes(128 * 128 * 3)
    Image.frombytes("RGB", (128, 128), noise).save(buffer, "JPEG")
    cut = buffer.getvalue()[: len(buffer.getvalue()) * 4 // 5]  # Pillow's verify() passes this
    app.state.faults.add(_on(key), 200, body=cut, content_type="image/jpeg")
    summary = download_media(client, run_dir, MediaCache(tmp_path))
    assert _record(run_dir, key).error == "not a decodable image (OSError)"
    assert any(key in w for w in summary.warnings)


def test_an_html_page_answered_with_200_is_refused_and_asked_again(
    client, app, run_dir, jpeg, tmp_path
) -> None:
    key, content = jpeg
    app.state.faults.add(_on(key), 200, body="<html>Please log in</html>")
    cache = MediaCache(tmp_path)
    first = download_media(client, run_dir, cache)
    assert "answered 200 with text/html, not a media file" in _record(run_dir, key).error
    assert any(key in w for w in first.warnings)
    download_media(client, run_dir, cache)
    assert _record(run_dir, key).sha256 == hashlib.sha256(content).hexdigest()  # not cached: asked again


def test_a_redirect_within_the_origin_is_followed(client, app, sandbox, jpeg) -> None:
    key, content = jpeg
    url, _ = sandbox
    moved = key.replace("/download", "/moved")
    app.state.faults.add(re.escape(moved) + "$", 302, body=b"", headers={"Location": f"{url}{key}"})
    with tempfile.TemporaryFile() as out:
        download = client.download(moved, out, max_bytes=10**8)
    assert download.sha256 == hashlib.sha256(content).hexdigest()
    assert download.crc32 == zlib.crc32(content)


def test_a_redirect_to_another_origin_is_refused_before_sending(
    client, app, foreign, run_dir, jpeg, tmp_path
):
    key, _ = jpeg
    elsewhere = f"{foreign[0]}{key}"
    app.state.faults.add(_on(key), 302, body=b"", headers={"Location": elsewhere})
    download_media(client, run_dir, MediaCache(tmp_path))
    assert elsewhere in _record(run_dir, key).error
    assert len(foreign[1].state.requests) == 0  # no token, no request


# -- the PIM's origin only -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["foreign", "http-to-https"])
def test_a_next_link_elsewhere_is_refused_before_sending(client, app, sandbox, foreign, where: str) -> None:
    url, _ = sandbox
    base = foreign[0] if where == "foreign" else url.replace("http://", "https://")
    href = f"{base}/api/rest/v1/families?page=2"
    app.state.faults.add(
        r"/families$", 200, body={"_links": {"next": {"href": href}}, "_embedded": {"items": []}}
    )
    with pytest.raises(AkeneoOriginError, match=re.escape(href.split("?")[0])):
        list(client.iter_items("/api/rest/v1/families"))
    assert len(foreign[1].state.requests) == 0


def test_a_media_code_cannot_climb_out_of_its_path(client, app) -> None:
    path = resources.media_file_download("a/../../../../products-uuid/x")
    assert "/../" not in path
    with tempfile.TemporaryFile() as out, pytest.raises(AkeneoOriginError, match="refused"):
        client.download(path, out, max_bytes=10**8)
    assert len(app.state.requests.matching("products-uuid")) == 0


# -- limits ------------------------------------------------------------------------------------------


def test_an_image_over_the_pixel_limit_is_skipped_and_not_cached(
    client, app, run_dir, jpeg, tmp_path
) -> None:
    key, _ = jpeg
    buffer = io.BytesIO()
    Image.new("1", (4000, 3000)).save(buffer, "PNG")  # 12 megapixels in a few kilobytes
    app.state.faults.add(_on(key), 200, body=buffer.getvalue(), content_type="image/png")
    cache = MediaCache(tmp_path)
    download_media(client, run_dir, cache, max_pixels=10_000_000)
    assert _record(run_dir, key).error == "too large: 4000x3000 pixels, over maxImagePixels 10000000"
    assert cache.lookup(key) is None


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_file_over_the_size_limit_is_refused(client, app, run_dir, jpeg, tmp_path, chunked: bool) -> None:
    key, content = jpeg
    if chunked:  # no size announced: the limit is counted while streaming
        app.state.faults.add(_on(key), 200, body=content, chunked=True, content_type="image/jpeg")
    cache = MediaCache(tmp_path)
    download_media(client, run_dir, cache, max_bytes=len(content) - 1)
    assert f"{len(content) - 1} (maxMediaBytes)" in _record(run_dir, key).error
    assert cache.lookup(key) is None


def test_pillows_own_limit_is_left_alone() -> None:
    assert Image.MAX_IMAGE_PIXELS == (1024 * 1024 * 1024 // 4 // 3)


# -- the media cache ---------------------------------------------------------------------------------


def test_a_torn_cache_entry_is_named_and_replaced(client, app, run_dir, jpeg, tmp_path) -> None:
    key, content = jpeg
    cache = MediaCache(tmp_path)
    download_media(client, run_dir, cache)
    entry = cache.key_entry(key)
    entry.write_bytes(entry.read_bytes()[:10])  # a kill or a full disk mid-write, in the old code
    summary = download_media(client, run_dir, cache)
    assert summary.downloaded == 1
    assert any(str(entry) in w and "downloaded again" in w for w in summary.warnings)
    assert cache.lookup(key).sha256 == hashlib.sha256(content).hexdigest()


def test_concurrent_writers_of_one_file_never_clash(tmp_path) -> None:
    cache = MediaCache(tmp_path)
    content = b"x" * 200_000
    with ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(lambda i: cache.store(f"k/{i % 2}", content), range(40)))
    assert {r.sha256 for r in stored} == {hashlib.sha256(content).hexdigest()}
    assert cache.blob(stored[0].sha256).read_bytes() == content
    assert not list(tmp_path.rglob("*.part"))


# -- token endpoint and TLS --------------------------------------------------------------------------


def test_a_token_endpoint_answering_html_is_named(client, app) -> None:
    app.state.faults.add(r"/oauth/v1/token$", 200, body="<html>proxy login</html>")
    with pytest.raises(AkeneoError, match=r"POST /api/oauth/v1/token.*answered text/html"):
        client.get_json("/api/rest/v1/channels")


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """The sandbox over HTTPS with a self-signed certificate the client does not trust."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    app = create_sandbox_app(generate_catalog(products=1, seed=1))
    with serve_in_thread(
        app, ssl_certfile=str(folder / "cert.pem"), ssl_keyfile=str(folder / "key.pem")
    ) as url:
        yield url, app


def test_a_certificate_failure_is_not_retried(tls_sandbox) -> None:
    url, _ = tls_sandbox
    with AkeneoClient(url, CREDENTIALS, retry=RetryPolicy(max_attempts=4, base=0.0, cap=0.0)) as c:
        with pytest.raises(AkeneoError, match=r"CERTIFICATE_VERIFY_FAILED.*not retried"):
            c.get_json("/api/rest/v1/channels")
