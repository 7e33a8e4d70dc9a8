"""Benchmark of the core stages against the sandbox Akeneo (not a test: it prints figures).

    .venv/bin/python tests/benchmarks/bench_pipeline.py --products 2000 [--image-type both]

For each stage: wall time, items per second, and the process's peak resident memory so far.
The baseline is a bare walk of the products list (the same pages, nothing processed): the
extract stage's ratio to it says what the pipeline adds on top of Akeneo's own pace. The
sandbox runs in the same process, so its cost (generating pages and images) is included.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import AkeneoClient
from pim_images.config import load_config
from pim_images.extract import extract_catalog, extract_structure
from pim_images.media import MediaCache, download_media
from pim_images.targets.bspk.render import render_bspk
from pim_images.targets.sfcc.render import render_sfcc
from pim_images.transform import transform_catalog
from pim_sandbox.catalog import generate_catalog
from pim_sandbox.credentials import (
    AKENEO_CLIENT_ID,
    AKENEO_CLIENT_SECRET,
    AKENEO_PASSWORD,
    AKENEO_USER,
)
from pim_sandbox.environment import create_sandbox_app
from pim_sandbox.http_server import serve_in_thread

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(name: str, items: Callable[[Any], int], call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    count = items(result)
    rate = count / elapsed
    print(f"{name:16} {elapsed:8.2f} s {count:8d} items {rate:10.1f} items/s  peak RSS {peak_mib():7.1f} MiB")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--image-type", default="images", choices=("images", "assets", "both"))
    args = parser.parse_args()
    config = load_config(CONFIG, {"akeneoImageType": args.image_type})
    app = create_sandbox_app(generate_catalog(products=args.products))
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    run_dir = Path(tempfile.mkdtemp(prefix="pim-images-bench-"))
    cache = MediaCache(run_dir / "cache")
    print(f"{args.products} products, akeneoImageType={args.image_type}, staging {run_dir}")
    with serve_in_thread(app) as url, AkeneoClient(url, credentials) as client:
        params = {"pagination_type": "search_after", "limit": 100}
        baseline = timed(
            "baseline walk",
            lambda n: n,
            lambda: sum(1 for _ in client.iter_items("/api/rest/v1/products-uuid", params)),
        )
        extract_structure(client, config, run_dir)
        extract = timed("extract", lambda s: s.products, lambda: extract_catalog(client, config, run_dir))
        timed("download_media", lambda s: s.media, lambda: download_media(client, run_dir, cache))
        timed("media (cached)", lambda s: s.from_cache, lambda: download_media(client, run_dir, cache))
    timed("transform", lambda s: s.products, lambda: transform_catalog(config, run_dir))
    timed("render_sfcc", lambda s: s.products, lambda: render_sfcc(config, run_dir, cache, "BENCH"))
    timed("render_bspk", lambda s: s.rows, lambda: render_bspk(config, run_dir, "BENCH"))
    print(f"extract / baseline walk: {extract / baseline:.2f}x")


if __name__ == "__main__":
    main()
