"""Run one core stage against an Akeneo (the benchmark's sandbox), in a process of its own.

    .venv/bin/python tests/benchmarks/run_stage.py STAGE --url URL --run-dir DIR --cache DIR [...]

Prints one JSON object: the stage's wall time (the call alone, not the interpreter's start) and
CPU time (``getrusage``: user and system, every thread of the process), its items, the Akeneo
requests (``client.attempts``) and statuses (``client.statuses``), the media
downloaded, and the process's peak resident memory (``VmHWM``): run alone, the stage's own peak.
With ``--urls FILE`` it also writes every URL the client requested, one a line, for the
benchmark's sequential client to replay. With ``--profile FILE`` the stage runs under
``cProfile`` and its statistics are written to ``FILE`` (``pstats``); its times then include
the profiler's overhead, so the benchmark profiles a stage in a run of its own. The stages'
arguments are the DAG's (``dags/pim_images_import.py``), as in ``tests/pipeline.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import resource
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pim_images import targets
from pim_images.akeneo.auth import Credentials
from pim_images.akeneo.client import AkeneoClient
from pim_images.config import load_config
from pim_images.extract import extract_catalog, extract_structure
from pim_images.media import MediaCache, download_media
from pim_images.store import StateStore, record_staged_run, sqlite_url
from pim_images.transform import transform_catalog
from pim_images.validate import validate_catalog
from pim_sandbox.credentials import AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_PASSWORD, AKENEO_USER

CONFIG = Path(__file__).resolve().parents[2] / "config" / "pim_images.yaml"
STAMP = "20270101T000000Z"
AKENEO_STAGES = ("extract_structure", "extract", "download_media")
STAGES = (*AKENEO_STAGES, "validate", "transform", "render_sfcc", "render_bspk", "record_success")


def peak_rss_mib() -> float:
    """The process's peak resident memory so far, in MiB (``VmHWM`` of ``/proc/self/status``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measured(call: Callable[[], Any], profile: str | None, figures: dict[str, Any]) -> Any:
    """``call()`` (see :func:`_called`), its figures added to ``figures``: ``seconds`` (wall),
    ``cpu_seconds`` (user and system, every thread of this process), ``cpu_user_seconds`` and
    ``cpu_system_seconds`` apart, and ``read_mib``: what the kernel read from the disk for the
    process meanwhile (``ru_inblock``, 512-byte blocks), files not in the page cache. A stage that
    reads files (render_sfcc reads every blob) spends system time on each block read, so its CPU
    figure depends on what the page cache held when it started."""
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = _called(call, profile)
    figures["seconds"] = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    figures["cpu_user_seconds"] = after.ru_utime - before.ru_utime
    figures["cpu_system_seconds"] = after.ru_stime - before.ru_stime
    figures["cpu_seconds"] = figures["cpu_user_seconds"] + figures["cpu_system_seconds"]
    figures["read_mib"] = round((after.ru_inblock - before.ru_inblock) * 512 / (1 << 20), 1)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(CONFIG, json.loads(args.overrides))
    run_dir, cache = Path(args.run_dir), MediaCache(Path(args.cache))
    store = StateStore(sqlite_url(args.store)) if args.store else None
    figures: dict[str, Any] = {"stage": args.stage, "requests": 0, "statuses": {}, "downloads": 0}
    if args.stage in AKENEO_STAGES:
        credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
        # the URLs asked for go to their file as they are sent (a list of 440,000 URLs held until
        # the end weighed some 100 MiB in the stage's peak RSS at 100,000 products)
        with (
            open(args.urls or os.devnull, "w") as urls,
            AkeneoClient(args.url, credentials) as client,
        ):
            lock = threading.Lock()

            def record(request: Any) -> None:
                with lock:
                    urls.write(f"{request.url}\n")

            client._http.event_hooks["request"].append(record)
            window: dict[str, Any] = {}
            if args.stage == "extract" and args.interval:
                start, end = (datetime.fromisoformat(value) for value in args.interval)
                window = {"updated_from": start, "updated_to": end, "store": store}
            elif args.stage == "extract":
                window = {"store": store}
            call: Any = {
                "extract_structure": functools.partial(extract_structure, client, config, run_dir),
                "extract": functools.partial(extract_catalog, client, config, run_dir, **window),
                "download_media": functools.partial(
                    download_media,
                    client,
                    run_dir,
                    cache,
                    max_pixels=config.maxImagePixels,
                    max_bytes=config.maxMediaBytes,
                ),
            }[args.stage]
            summary = measured(call, args.profile, figures)
            figures["requests"] = client.attempts
            figures["peak_in_flight"] = client.peak_in_flight
            figures["mean_in_flight"] = client.call_seconds / figures["seconds"] if figures["seconds"] else 0
            figures["statuses"] = {str(status): n for status, n in sorted(client.statuses.items())}
    else:
        render = {target.name: target.render for target in targets.registered()}
        call = {
            "validate": functools.partial(validate_catalog, config, run_dir),
            "transform": functools.partial(transform_catalog, config, run_dir),
            "render_sfcc": functools.partial(render["sfcc"], config, run_dir, cache, STAMP),
            "render_bspk": functools.partial(render["bspk"], config, run_dir, cache, STAMP),
            "record_success": functools.partial(
                record_staged_run, store, run_dir, args.run_id, fingerprint=config.fingerprint()
            ),
        }[args.stage]
        summary = measured(call, args.profile, figures)
    figures["items"] = _items(args.stage, summary)
    if args.stage == "extract":
        figures["listed"] = {
            "products": summary.products,
            "models": summary.product_models,
            "assets": summary.assets,
        }
    if args.stage == "download_media":
        figures["downloads"] = summary.downloaded
    figures["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return figures


def _called(call: Callable[[], Any], profile: str | None) -> Any:
    """``call()``, under ``cProfile`` when ``profile`` names a file to write its statistics to.

    The profiler keeps its own clock (wall time, read in C): a CPU clock given to it
    (``time.process_time``) is a Python call at every event, which made a render four times
    slower under it and charged small functions (``len``) with the clock's own cost. Its
    shares of the total are what to read on a busy machine, not its seconds."""
    if not profile:
        return call()
    profiler = cProfile.Profile()
    try:
        return profiler.runcall(call)
    finally:
        profiler.dump_stats(profile)


def _items(stage: str, summary: Any) -> int | None:
    """What the stage's items/s counts: the records listed for the extract (products, product
    models and assets: each came in a list page), media files for the media stage, products
    for the others."""
    if stage == "download_media":
        return summary.media
    if stage == "record_success":
        return summary
    if stage == "extract":
        return summary.products + summary.product_models + summary.assets
    if stage in {"transform", "render_sfcc", "render_bspk"}:
        return summary.products
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--url", help="the Akeneo's base URL")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--overrides", default="{}", help="DAG params over config/pim_images.yaml (JSON)")
    parser.add_argument("--store", help="SQLite file of the state store")
    parser.add_argument("--run-id", default="bench")
    parser.add_argument("--interval", nargs=2, metavar=("FROM", "TO"), help="a differential extract (ISO)")
    parser.add_argument("--urls", help="write the URLs the client requested to this file")
    parser.add_argument("--profile", help="run the stage under cProfile, its statistics to this file")
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
