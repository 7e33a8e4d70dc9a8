"""An S3-compatible server for tests: moto's server (``ThreadedMotoServer``), a real HTTP server
speaking the S3 API on a free local port, with a bucket and the Airflow connection that reaches it.

Staging in a bucket (docs/runs.md#staging) is addressed as ``s3://<conn id>@<bucket>/<prefix>``:
:meth:`S3Store.staging_url` builds it, and :meth:`S3Store.connection` sets the ``aws``
connection (``AIRFLOW_CONN_*``) Airflow's ``ObjectStoragePath`` reads the endpoint and the keys
from. The stage tests and the system test (``tests/system``) use it alike.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3

ACCESS_KEY = "pim-images-test"
SECRET_KEY = "pim-images-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Store:
    """A running S3-compatible server and one bucket on it.

    :ivar endpoint: ``http://127.0.0.1:<port>``.
    """

    endpoint: str
    bucket: str

    def client(self):  # -> botocore S3 client
        """A boto3 S3 client of the server, to look at the bucket from outside Airflow."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def connection_json(self) -> str:
        """The ``aws`` connection of the server, as ``AIRFLOW_CONN_<ID>`` takes it (JSON)."""
        extra = {"endpoint_url": self.endpoint, "region_name": REGION}
        return json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY, "extra": extra})

    def staging_url(self, conn_id: str, prefix: str) -> str:
        """``PIM_IMAGES_STAGING`` for a staging base under ``prefix`` in the bucket."""
        return f"s3://{conn_id}@{self.bucket}/{prefix.strip('/')}"

    def keys(self, prefix: str = "") -> dict[str, int]:
        """Every object under ``prefix``: key -> size in bytes."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}

    @contextmanager
    def connection(self, conn_id: str) -> Iterator[str]:
        """The Airflow connection ``conn_id`` pointing at this server, for the block."""
        variable = f"AIRFLOW_CONN_{conn_id.upper()}"
        previous = os.environ.get(variable)
        os.environ[variable] = self.connection_json()
        try:
            yield conn_id
        finally:
            if previous is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = previous


@contextmanager
def run_s3_server(bucket: str | None = None) -> Iterator[S3Store]:
    """Start moto's S3 server on a free port of 127.0.0.1 with ``bucket`` created; stop it on exit.

    moto keeps its buckets in the process, not in the server: a later server of the same
    process (a test module after another, on one pytest worker) would see an earlier one's
    objects. So each server gets a new bucket by default (``pim-images-staging-<random>``)."""
    from moto.server import ThreadedMotoServer

    bucket = bucket or f"pim-images-staging-{secrets.token_hex(4)}"

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        store = S3Store(endpoint=f"http://{host}:{port}", bucket=bucket)
        store.client().create_bucket(Bucket=bucket)
        yield store
        # the objects would stay in the process's memory until it ends
        urllib.request.urlopen(urllib.request.Request(f"{store.endpoint}/moto-api/reset", method="POST"))
    finally:
        server.stop()
