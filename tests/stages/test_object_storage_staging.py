"""Staging in a bucket (docs/runs.md#staging): the core stages run with their run folder and
media cache in an S3-compatible server (moto's, over HTTP) through Airflow's ``ObjectStoragePath``,
as on a cluster whose workers share no disk, and deliver the same bytes as a run on local disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from airflow.sdk import ObjectStoragePath
from object_store import S3Store, run_s3_server
from pipeline import Delivered, run_pipeline

from pim_images.media import MediaCache
from pim_images_airflow.staging import staging_base
from pim_sandbox.environment import Sandbox, SandboxSettings, run_sandbox

CONN_ID = "pim_images_staging_test"
#: images and assets, links and files: every staging file and the cache's blobs and keys
CONF = {"akeneoImageType": "both", "akeneoImageImportType": "both"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("sftp")
    with run_sandbox(SandboxSettings(sftp_root=root, products=12, models=2, seed=11)) as running:
        yield running


@pytest.fixture(scope="module")
def store() -> Iterator[S3Store]:
    with run_s3_server() as running, running.connection(CONN_ID):
        yield running


@pytest.fixture(scope="module")
def local_run(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Delivered:
    return run_pipeline(sandbox, CONF, tmp_path_factory.mktemp("local"))


@pytest.fixture(scope="module")
def base(store: S3Store) -> Iterator[ObjectStoragePath]:
    """The staging base of ``PIM_IMAGES_STAGING=s3://<conn>@<bucket>/cluster``, as the DAG gets it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIM_IMAGES_STAGING", store.staging_url(CONN_ID, "cluster"))
        yield staging_base()


@pytest.fixture(scope="module")
def bucket_run(sandbox: Sandbox, base: ObjectStoragePath) -> Delivered:
    return run_pipeline(sandbox, CONF, base / "runs" / "one", cache=MediaCache(base / "media-cache"))


def test_stages_with_staging_in_a_bucket_deliver_the_local_bytes(
    store: S3Store, base: ObjectStoragePath, local_run: Delivered, bucket_run: Delivered
) -> None:
    assert (base.protocol, base.conn_id) == ("s3", CONN_ID)
    assert set(bucket_run.files) == {"sfcc", "bspk"}
    for target, files in local_run.files.items():
        assert bucket_run.files[target].keys() == files.keys()
        for name, content in files.items():
            assert bucket_run.files[target][name] == content, f"{target} {name} differs from the local run's"
    keys = store.keys("cluster/")
    # every stage's files are in the bucket, the cache's blobs under their hash
    assert {"cluster/runs/one/products.jsonl", "cluster/runs/one/media.jsonl"} <= keys.keys()
    assert any(k.startswith("cluster/media-cache/blobs/") for k in keys)
    entries = [k for k in keys if k.startswith("cluster/media-cache/keys/")]
    assert len(entries) == bucket_run.summaries["download_media"].downloaded
    # written in place: no temporary object left behind (a rename on a bucket is a copy)
    assert not [k for k in keys if k.endswith(".part")]


def test_a_second_run_reads_the_bucket_cache(
    sandbox: Sandbox, base: ObjectStoragePath, bucket_run: Delivered
) -> None:
    cache = MediaCache(base / "media-cache")
    second = run_pipeline(sandbox, CONF, base / "runs" / "two", cache=cache, until="download_media")
    assert second.summaries["download_media"].downloaded == 0
    assert second.summaries["download_media"].from_cache == bucket_run.summaries["download_media"].media


def test_a_torn_blob_in_the_bucket_is_downloaded_again(
    sandbox: Sandbox, store: S3Store, base: ObjectStoragePath, bucket_run: Delivered
) -> None:
    """A writer killed mid-upload can leave a short object under a blob's name (a buffered upload
    is committed when its stream closes): the cache checks a blob's size and replaces it."""
    client = store.client()
    blob = sorted(store.keys("cluster/media-cache/blobs/"))[0]
    whole = client.get_object(Bucket=store.bucket, Key=blob)["Body"].read()
    client.put_object(Bucket=store.bucket, Key=blob, Body=whole[: len(whole) // 2])

    cache = MediaCache(base / "media-cache")
    again = run_pipeline(sandbox, CONF, base / "runs" / "three", cache=cache, until="download_media")
    assert again.summaries["download_media"].downloaded >= 1
    repaired = client.get_object(Bucket=store.bucket, Key=blob)["Body"].read()
    assert hashlib.sha256(repaired).hexdigest() == blob.rsplit("/", 1)[1]
