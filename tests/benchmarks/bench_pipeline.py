"""Benchmark of the core stages against the sandbox Akeneo at a set latency (``make bench``).

    .venv/bin/python tests/benchmarks/bench_pipeline.py [--products 2000] [--models 20] [--latency-ms 50]

Not a test: it measures, prints a table and appends its figures to ``tests/benchmarks/results.jsonl``.

- The sandbox runs in a process of its own (``python -m pim_sandbox``) with Akeneo's limits on
  (good-practices.md): every response waits ``--latency-ms``, a 5th call in flight on one
  connection or a 101st request in a second gets a 429.
- Each stage runs alone in a subprocess (``run_stage.py``), so its peak RSS is its own.
- The API ceiling: 4 calls in flight, at most 100 items a page, ``L`` s a call: 4 x 100 / L
  products/s for a listing, 4 / L files/s for downloads. Its ratio is given for the stages
  that call Akeneo for their items (extract, download_media).
- The sequential client: the same requests as the stage (replayed from the URLs it asked for),
  one at a time with a bare ``httpx`` client, nothing processed; a sample of
  ``--sequential-sample`` requests at most, its time scaled to all of them. ``seq x`` is its time
  over the stage's: above 1, the stage is faster than one request at a time.
- Then a differential run with no change (the interval after every update of the catalog): its
  stage time, requests and downloads.

Every temporary folder (staging, media cache, the sandbox's SFTP root) is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from pim_sandbox.credentials import AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_PASSWORD, AKENEO_USER

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.jsonl"
RUNNER = HERE / "run_stage.py"
FULL = (
    "extract_structure",
    "validate",
    "extract",
    "download_media",
    "transform",
    "render_sfcc",
    "render_bspk",
)
#: after the catalog's last update (pim_sandbox.catalog: updates end on 2026-11-01)
NO_CHANGE = ("2027-01-01T00:00:00+00:00", "2027-01-02T00:00:00+00:00")
MAX_IN_FLIGHT, PAGE = 4, 100


def start_sandbox(args: argparse.Namespace, root: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m pim_sandbox`` with the latency and limits; return it and its Akeneo URL."""
    command = [
        sys.executable,
        "-m",
        "pim_sandbox",
        f"--products={args.products}",
        f"--models={args.models}",
        f"--latency-ms={args.latency_ms}",
        "--concurrency-limit=4",
        "--rate-limit=100",
        "--akeneo-port=0",
        "--sftp-port=0",
        f"--root={root / 'sftp'}",
        f"--host-key={root / 'host_key'}",
    ]
    sandbox = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert sandbox.stdout is not None
    for line in sandbox.stdout:
        found = re.search(r"sandbox at (\S+) ", line)
        if found:
            return sandbox, found.group(1)
    raise RuntimeError(f"the sandbox stopped before serving (exit {sandbox.wait()})")


def run_stage(
    stage: str, url: str, run_dir: Path, cache: Path, overrides: dict[str, Any], *extra: str
) -> dict:
    command = [sys.executable, str(RUNNER), stage, f"--url={url}", f"--run-dir={run_dir}", f"--cache={cache}"]
    command += [f"--overrides={json.dumps(overrides)}", *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{stage} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def sequential_seconds(url: str, urls: list[str], sample: int) -> float:
    """Time to GET ``urls`` one at a time with a bare client (a sample of them, scaled to all)."""
    gets = [u for u in urls if "/oauth/" not in u]
    if not gets:
        return 0.0
    chosen = gets[:: max(1, len(gets) // sample)][:sample]
    body = {"grant_type": "password", "username": AKENEO_USER, "password": AKENEO_PASSWORD}
    with httpx.Client(base_url=url, timeout=60) as http:
        answer = http.post("/api/oauth/v1/token", json=body, auth=(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET))
        http.headers["Authorization"] = f"Bearer {answer.raise_for_status().json()['access_token']}"
        started = time.perf_counter()
        for get in chosen:
            while http.get(get).status_code == 429:  # never expected one at a time; waits as told
                time.sleep(1)
        elapsed = time.perf_counter() - started
    return elapsed * len(gets) / len(chosen)


def ceiling(stage: str, latency: float) -> float | None:
    """The API ceiling in the stage's items/s, for the stages whose items come from Akeneo calls."""
    return {"extract": MAX_IN_FLIGHT * PAGE / latency, "download_media": MAX_IN_FLIGHT / latency}.get(stage)


def measure(args: argparse.Namespace, work: Path, url: str) -> dict[str, Any]:
    overrides = {"akeneoImageType": args.image_type, "akeneoImageImportType": "both"}
    cache, store = work / "cache", str(work / "state.sqlite")
    latency = args.latency_ms / 1000
    rows = []
    for stage in FULL:
        urls = work / f"{stage}.urls"
        extra = [f"--urls={urls}"] if stage in {"extract", "download_media"} else []
        extra += [f"--store={store}"] if stage == "extract" else []
        row = run_stage(stage, url, work / "full", cache, overrides, *extra)
        if row["items"] and row["seconds"]:
            row["items_per_s"] = row["items"] / row["seconds"]
        top = ceiling(stage, latency)
        if top and row.get("items_per_s"):
            row["ceiling_ratio"] = row["items_per_s"] / top
        if extra:
            sequential = sequential_seconds(url, urls.read_text().split(), args.sequential_sample)
            row["sequential_s"] = sequential
            row["sequential_ratio"] = sequential / row["seconds"]
        rows.append(row)
        print(_row_line(row), flush=True)
    recorded = run_stage("record_success", url, work / "full", cache, overrides, f"--store={store}")
    rerun: dict[str, Any] = {"seconds": 0.0, "requests": 0, "downloads": 0, "statuses": {}, "peak_rss_mib": 0}
    for stage in FULL:
        extra = [f"--store={store}"] + (["--interval", *NO_CHANGE] if stage == "extract" else [])
        row = run_stage(stage, url, work / "no-change", cache, overrides, *extra)
        rerun["seconds"] += row["seconds"]
        rerun["requests"] += row["requests"]
        rerun["downloads"] += row["downloads"]
        rerun["peak_rss_mib"] = max(rerun["peak_rss_mib"], row["peak_rss_mib"])
        for status, n in row["statuses"].items():
            rerun["statuses"][status] = rerun["statuses"].get(status, 0) + n
        if stage == "extract":
            rerun["products"] = row["items"]
    print(
        f"no-change differential run: {rerun['seconds']:.2f} s of stage time, {rerun['requests']} requests, "
        f"{rerun['downloads']} downloads, {rerun['products']} products extracted",
        flush=True,
    )
    return {"rows": rows, "recorded": recorded["items"], "no_change": rerun}


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


HEADER = (
    "| stage | wall s | items | items/s | x API ceiling | x sequential | peak RSS MiB | requests | 429s "
    "| downloads |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def _row_line(row: dict[str, Any]) -> str:
    cells = [
        row["stage"],
        _fmt(row["seconds"], ".2f"),
        _fmt(row.get("items"), "d"),
        _fmt(row.get("items_per_s"), ",.0f"),
        _fmt(row.get("ceiling_ratio"), ".0%"),
        _fmt(row.get("sequential_ratio"), ".2f"),
        _fmt(row["peak_rss_mib"], ".0f"),
        str(row["requests"]),
        str(row["statuses"].get("429", 0)),
        str(row["downloads"]),
    ]
    return "| " + " | ".join(cells) + " |"


def markdown(result: dict[str, Any]) -> str:
    """The README's table of one run's figures."""
    s, machine = result["settings"], result["machine"]
    rerun = result["no_change"]
    lines = [
        f"{s['products']:,} products, {s['models']} root models, akeneoImageType={s['image_type']}, "
        f"{s['latency_ms']:g} ms latency, 4 calls in flight and 100 requests/s at most "
        f"({result['date']}, {machine['system']}, {machine['cpus']} CPUs, Python {machine['python']}):",
        "",
        HEADER,
        *(_row_line(row) for row in result["rows"]),
        "",
        f"No-change differential run: {rerun['seconds']:.2f} s of stage time, {rerun['requests']} requests, "
        f"{rerun['statuses'].get('429', 0)} x 429, {rerun['downloads']} downloads, "
        f"peak RSS {rerun['peak_rss_mib']:.0f} MiB.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--models", type=int, default=20, help="root product models")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--image-type", default="both", choices=("images", "assets", "both"))
    parser.add_argument(
        "--sequential-sample", type=int, default=300, help="requests the sequential client makes"
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pim-images-bench-"))
    sandbox = None
    try:
        sandbox, url = start_sandbox(args, work)
        print(f"{args.products} products, {args.models} models, {args.latency_ms:g} ms, sandbox at {url}")
        print(HEADER, flush=True)
        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "system": " ".join(platform.uname()[:3] + platform.uname()[4:5]),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "settings": {
                "products": args.products,
                "models": args.models,
                "latency_ms": args.latency_ms,
                "image_type": args.image_type,
                "concurrency_limit": 4,
                "rate_limit": 100,
                "sequential_sample": args.sequential_sample,
            },
            **measure(args, work, url),
        }
    finally:
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    if not args.no_record:
        with RESULTS.open("a") as out:
            out.write(json.dumps(result) + "\n")
    print()
    print(markdown(result))


if __name__ == "__main__":
    main()
