"""Soak (``make soak``): the same catalog imported with faults on at a set rate, then with faults off.

    .venv/bin/python tests/benchmarks/soak.py [--products 150] [--models 6] [--rate 0.03] [--sftp-rate 0.1]

Not a test: it prints a table and appends its figures to ``tests/benchmarks/soak_results.jsonl``;
it exits 1 when a goal is missed (a partial or temporary file left visible, a product whose
delivered images differ, a run that failed).

**How the stages run.** The core stages in the DAG's order, each as a task: every try a new
Akeneo client (as the DAG's ``AkeneoHook``) and a new SFTP connection; a stage that raises is
tried again up to the task's ``retries`` read from the DAG itself (``dags/pim_images_import.py``:
3 for most tasks, 0 for ``validate``), and bad input (``InputError``, refused credentials) fails
at once, as the DAG's ``_run_stage`` decides. The retry delay is not waited (the DAG's is 30 s,
doubling): a soak needs many runs, not wall time. Not ``airflow dags test``: it adds
Airflow's start and metadata database to every run, would wait the DAG's retry delays, and
leaves the client's figures (retries, requests, the faults met) in task logs, where they cannot
be summed; the soak needs those figures and a watcher beside the drops in one process. Real
task processes, killed, and Airflow's own retries are the system test's
(``tests/system/test_killed_workers.py``).

**Faults** (sandbox, ``pim_sandbox``), each drawn at random per request with a seeded generator:

- Akeneo, every request (token, lists, downloads): 429 with ``Retry-After: 1``, 500, 502, 503,
  each at ``--rate``; a slow answer (0.3 s) at 3 x ``--rate``; no answer within the client's
  timeout (``--timeout``) at ``--rate`` / 2; every access token expired every 5 s;
- Akeneo downloads: a body cut mid-transfer, the connection dropped, at ``--rate`` with its
  ``Content-Length`` announced and at ``--rate`` chunked without its last chunk;
- SFTP: the connection dropped mid-upload, a rename refused, a rename slowed by 0.3 s, each at
  ``--sftp-rate``.

Left out on purpose: faults the pipeline cannot tell from bad data in the PIM and leaves the
product out for (an HTML page with 200, a complete body of wrong bytes): Akeneo publishes no
checksum, so they are reported per product and asked again next run (docs/akeneo.md#verified-downloads),
and would count as differences here.

**What a consumer may see** is watched twice: a thread lists the drops every 10 ms (a file under
a final name whose bytes are ever not its final bytes is *partial*; a catalog XML seen before its
archive is whole is a *half set*), and the sandbox SFTP server's journal of writes and renames
(a write into a final name, not a temporary one, is partial too). Temporary files left on the
drops at the end are counted. Each run delivers under its own folders with the same stamp, so
both runs' files have the same names; products differ when their SFCC ``product`` element or
their BSPK rows differ, or are in one run only.

Every temporary folder (staging, media caches, the SFTP root, an Airflow home) is removed at the end.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import importlib.util
import io
import json
import logging
import os
import posixpath
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_pipeline import FULL, machine
from lxml import etree

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "soak_results.jsonl"
CONFIG = ROOT / "config" / "pim_images.yaml"
DAG_FILE = ROOT / "dags" / "pim_images_import.py"
STAMP = "20270101T000000Z"
SFTP_CONN_ID = "soak_sftp"
#: every media download (as pim_sandbox.environment's faults)
MEDIA = r"/(media-files/.+/download|asset-media-files/.+|assets/.+/(reference|variation)-files/.+/download)$"
#: the DAG's stages, as the bench runs them, then the deliveries
TASKS = (*FULL, "deliver_sfcc", "deliver_bspk")


def dag_retries() -> dict[str, int]:
    """Each task's ``retries`` as the DAG declares them (default_args and per-task overrides)."""
    spec = importlib.util.spec_from_file_location("soak_pim_images_import", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.pim_images_import()
    return {task: int(dag.get_task(task).retries) for task in TASKS}


@dataclass
class RunFigures:
    """What one import did."""

    name: str
    requests: int = 0
    retries: int = 0
    task_retries: int = 0
    task_failures: list[str] = field(default_factory=list)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    warnings: int = 0
    failed: str | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0


class DropWatcher:
    """Lists the SFTP root every ``interval`` seconds in a thread, as an impatient consumer would:
    every final name seen with each content it had, every temporary name, every catalog XML seen
    before its archive was whole."""

    def __init__(self, root: Path, interval: float = 0.01) -> None:
        self.root = root
        self.interval = interval
        self.seen: dict[str, set[str]] = collections.defaultdict(set)  # final path -> sha256s seen
        self.temporaries: set[str] = set()
        self.catalogs_before_archive: list[tuple[str, set[str]]] = []  # (catalog XML, archive hashes then)
        self.polls = 0
        self._stat: dict[str, tuple[int, int]] = {}
        self._hash: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-drop-watcher", daemon=True)

    def __enter__(self) -> DropWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._poll()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poll()
            time.sleep(self.interval)

    def _poll(self) -> None:
        self.polls += 1
        now: dict[str, str] = {}
        for folder, _, names in os.walk(self.root):
            for name in names:
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, self.root)
                if is_temporary(name):
                    self.temporaries.add(relative)
                    continue
                digest = self._digest(path)
                if digest is not None:
                    now[relative] = digest
                    self.seen[relative].add(digest)
        for relative in now:
            name = posixpath.basename(relative)
            if name.startswith("catalog_") and name.endswith(".xml"):
                archive = posixpath.join(
                    posixpath.dirname(relative), "pim-images_" + name.removeprefix("catalog_")[:-4] + ".zip"
                )
                self.catalogs_before_archive.append((relative, {now.get(archive, "")}))

    def _digest(self, path: str) -> str | None:
        try:
            stat = os.stat(path)
            key = (stat.st_size, stat.st_mtime_ns)
            if self._stat.get(path) != key:
                with open(path, "rb") as f:
                    self._hash[path] = hashlib.sha256(f.read()).hexdigest()
                self._stat[path] = key
            return self._hash[path]
        except FileNotFoundError:  # renamed over or removed between the listing and the read
            return None


def is_temporary(name: str) -> bool:
    """A delivery's temporary name (docs/delivery.md#atomic-upload): ``.<name>.<token>.part``."""
    return name.startswith(".") or name.endswith(".part")


def run_import(sandbox: Any, name: str, work: Path, retries: dict[str, int], timeout: float) -> RunFigures:
    """The DAG's stages against ``sandbox``, each retried as its task would be; deliveries to
    ``/<name>/sfcc`` and ``/<name>/bspk``."""
    from pim_images import targets
    from pim_images.akeneo.auth import Credentials
    from pim_images.akeneo.client import AkeneoClient
    from pim_images.akeneo.errors import AkeneoAuthError
    from pim_images.config import load_config
    from pim_images.deliver import deliver_files
    from pim_images.errors import InputError
    from pim_images.extract import extract_catalog, extract_structure
    from pim_images.media import MediaCache, download_media
    from pim_images.records import target_dir
    from pim_images.transform import transform_catalog
    from pim_images.validate import validate_catalog
    from pim_images_airflow.sftp_delivery import open_remote_files
    from pim_sandbox.credentials import AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_PASSWORD, AKENEO_USER

    overrides = {
        "akeneoImageType": "both",
        "akeneoImageImportType": "both",
        "sfccRemoteDir": f"/{name}/sfcc",
        "bspkRemoteDir": f"/{name}/bspk",
    }
    config = load_config(CONFIG, overrides=overrides)
    run_dir, cache = work / name / "run", MediaCache(work / name / "media-cache")
    run_dir.mkdir(parents=True)
    figures = RunFigures(name=name)
    credentials = Credentials(AKENEO_CLIENT_ID, AKENEO_CLIENT_SECRET, AKENEO_USER, AKENEO_PASSWORD)
    token = hashlib.sha256(f"soak-{name}".encode()).hexdigest()[:16]  # the DAG's: the run id's
    by_target = {target.name: target for target in targets.registered()}
    rendered: dict[str, list[str]] = {}

    def counting_sleep(seconds: float) -> None:
        figures.retries += 1  # the client's retry policy sleeps once before each retry
        time.sleep(seconds)

    def with_akeneo(call: Callable[[Any], Any]) -> Callable[[], Any]:
        def task() -> Any:
            with AkeneoClient(
                sandbox.akeneo_url, credentials, timeout=timeout, sleep=counting_sleep
            ) as client:
                try:
                    return call(client)
                finally:
                    figures.requests += client.attempts

        return task

    def render(target: str) -> Callable[[], Any]:
        def task() -> Any:
            summary = by_target[target].render(config, run_dir, cache, STAMP)
            rendered[target] = list(summary.files)
            return summary

        return task

    def deliver(target: str) -> Callable[[], Any]:
        def task() -> Any:
            remote_dir = by_target[target].remote_dir(config)
            with open_remote_files(SFTP_CONN_ID) as remote:
                return deliver_files(
                    remote, target, target_dir(run_dir, target), rendered[target], remote_dir, token
                )

        return task

    calls: dict[str, Callable[[], Any]] = {
        "extract_structure": with_akeneo(lambda client: extract_structure(client, config, run_dir)),
        "validate": lambda: validate_catalog(config, run_dir),
        "extract": with_akeneo(lambda client: extract_catalog(client, config, run_dir, store=None)),
        "download_media": with_akeneo(
            lambda client: download_media(
                client, run_dir, cache, max_pixels=config.maxImagePixels, max_bytes=config.maxMediaBytes
            )
        ),
        "transform": lambda: transform_catalog(config, run_dir),
        "render_sfcc": render("sfcc"),
        "render_bspk": render("bspk"),
        "deliver_sfcc": deliver("sfcc"),
        "deliver_bspk": deliver("bspk"),
    }
    started, cpu_started = time.perf_counter(), time.process_time()
    for task in TASKS:
        for attempt in range(retries[task] + 1):
            try:
                summary = calls[task]()
            except (InputError, AkeneoAuthError) as exc:  # the DAG fails these at once
                figures.failed = f"{task}: {type(exc).__name__}: {exc}"
                break
            except Exception as exc:  # as Airflow: any other error is retried
                figures.task_failures.append(f"{task} try {attempt + 1}: {type(exc).__name__}: {exc}"[:300])
                if attempt == retries[task]:
                    figures.failed = f"{task} failed on its last try: {type(exc).__name__}: {exc}"
                else:
                    figures.task_retries += 1
                continue
            figures.warnings += len(getattr(summary, "warnings", None) or [])
            break
        if figures.failed:
            break
    figures.seconds = time.perf_counter() - started
    figures.cpu_seconds = time.process_time() - cpu_started
    for target, names in rendered.items():
        folder = sandbox.sftp_root / name / target
        figures.files[target] = {n: (folder / n).read_bytes() for n in names if (folder / n).exists()}
    return figures


def inject_faults(sandbox: Any, rate: float, sftp_rate: float, timeout: float, seed: int) -> list[Any]:
    """Switch the soak's faults on; return the Akeneo rules and latencies (their ``hits``)."""
    faults = sandbox.app.state.faults
    faults.seed(seed)
    sandbox.sftp.faults.seed(seed)
    injected: list[Any] = [faults.add(r"^/api/", 429, times=None, retry_after=1, rate=rate)]
    injected += [faults.add(r"^/api/", status, times=None, rate=rate) for status in (500, 502, 503)]
    cut = b"\xff\xd8\xff\xe0" + bytes(8192)
    for chunked in (False, True):  # Content-Length announced, or chunked without its last chunk
        injected.append(
            faults.add(
                MEDIA,
                200,
                times=None,
                body=cut,
                cut_at=2048,
                chunked=chunked,
                content_type="image/jpeg",
                rate=rate,
            )
        )
    injected.append(faults.latency(0.3, r"^/api/", rate=min(1.0, 3 * rate)))
    injected.append(faults.latency(timeout + 1.0, r"^/api/", rate=rate / 2))
    sandbox.sftp.faults.cut_upload(r"\.part$", times=None, rate=sftp_rate)
    sandbox.sftp.faults.refuse_rename(r"", times=None, rate=sftp_rate)
    sandbox.sftp.faults.slow_rename(0.3, r"", rate=sftp_rate)
    return injected


class TokenExpirer:
    """Expires every access token the sandbox issued, every ``period`` seconds (the client renews)."""

    def __init__(self, faults: Any, period: float = 5.0) -> None:
        self.faults, self.period, self.count = faults, period, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-token-expirer", daemon=True)

    def __enter__(self) -> TokenExpirer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.faults.expire_tokens()
            self.count += 1


def product_views(files: dict[str, dict[str, bytes]]) -> dict[str, bytes]:
    """Product -> what was delivered of it: its SFCC ``product`` element (catalog XML) and its BSPK
    rows, as bytes to compare."""
    views: dict[str, list[bytes]] = collections.defaultdict(list)
    for name, content in sorted(files.get("sfcc", {}).items()):
        if name.startswith("catalog_") and name.endswith(".xml"):
            for element in etree.fromstring(content).iter("{*}product"):
                views[element.get("product-id")].append(etree.tostring(element, method="c14n"))
    for content in (files.get("bspk", {})[name] for name in sorted(files.get("bspk", {}))):
        for row in csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")):
            views[row["product_ref"]].append(json.dumps(row, sort_keys=True).encode())
    return {product: b"\n".join(parts) for product, parts in views.items()}


def archive_binaries(files: dict[str, dict[str, bytes]]) -> dict[str, bytes]:
    """The site-import archives' members (binaries included), member name -> bytes."""
    members = {}
    for name, content in files.get("sfcc", {}).items():
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                members.update({f"{name}/{m}": archive.read(m) for m in archive.namelist()})
    return members


def compare(faulty: RunFigures, clean: RunFigures) -> dict[str, Any]:
    """Products whose delivered images differ, and files whose bytes differ, between the runs."""
    a, b = product_views(faulty.files), product_views(clean.files)
    products = sorted(p for p in a.keys() | b.keys() if a.get(p) != b.get(p))
    ma, mb = archive_binaries(faulty.files), archive_binaries(clean.files)
    members = sorted(m for m in ma.keys() | mb.keys() if ma.get(m) != mb.get(m))
    files = sorted(
        f"{t}/{n}"
        for t in faulty.files.keys() | clean.files.keys()
        for n in faulty.files.get(t, {}).keys() | clean.files.get(t, {}).keys()
        if faulty.files.get(t, {}).get(n) != clean.files.get(t, {}).get(n)
    )
    return {"products": products, "archive_members": members, "files": files, "compared": len(b)}


def visibility(
    watcher: DropWatcher, journal: list[tuple[float, str, str, str]], sftp_root: Path, run: str
) -> dict[str, Any]:
    """Partial and temporary files a consumer could have seen in the run's folders, ``<run>/``
    under ``sftp_root`` (goal: none)."""
    final = {}
    for path in (p for p in watcher.seen if p.startswith(f"{run}/")):
        try:
            final[path] = hashlib.sha256((sftp_root / path).read_bytes()).hexdigest()
        except FileNotFoundError:
            final[path] = ""
    partial_seen = sorted(p for p in final if watcher.seen[p] - {final[p]})
    half_sets = sorted(
        {
            xml
            for xml, archive_hashes in watcher.catalogs_before_archive
            if xml in final
            and not archive_hashes
            & {final.get(posixpath.join(posixpath.dirname(xml), _archive_of(xml)), "-")}
        }
    )
    written_in_place = sorted(
        {path for _, op, path, _ in journal if op == "write" and not is_temporary(posixpath.basename(path))}
    )
    left = sorted(
        str(p.relative_to(sftp_root))
        for p in (sftp_root / run).rglob("*")
        if p.is_file() and is_temporary(p.name)
    )
    return {
        "partial_seen": partial_seen,
        "half_sets_seen": half_sets,
        "written_in_place": written_in_place,
        "temporaries_left": left,
        "temporaries_seen": len(watcher.temporaries),
        "renames": sum(1 for _, op, _, _ in journal if op == "rename"),
        "polls": watcher.polls,
    }


def _archive_of(catalog_xml: str) -> str:
    return "pim-images_" + posixpath.basename(catalog_xml).removeprefix("catalog_")[:-4] + ".zip"


def soak(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from pim_sandbox.environment import SandboxSettings, run_sandbox

    retries = dag_retries()
    # after the DAG's import, which configures Airflow's logging: a line per SFTP connection and
    # folder, and one per fault the sandbox answers (a cut body, a client gone), otherwise
    for noisy in ("paramiko", "airflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    settings = SandboxSettings(
        sftp_root=work / "sftp", products=args.products, models=args.models, seed=args.seed
    )
    with run_sandbox(settings) as sandbox:
        os.environ[f"AIRFLOW_CONN_{SFTP_CONN_ID.upper()}"] = sandbox.sftp.airflow_conn_json()
        log = sandbox.app.state.requests
        injected = inject_faults(sandbox, args.rate, args.sftp_rate, args.timeout, args.seed)
        with DropWatcher(work / "sftp") as watcher, TokenExpirer(sandbox.app.state.faults) as expirer:
            faulty = run_import(sandbox, "faults", work, retries, args.timeout)
        faulty_served = len(log)
        akeneo_faults = sum(rule.hits for rule in injected)
        sftp_faults = dict(sandbox.sftp.faults.hits)
        faulty_visible = visibility(watcher, list(sandbox.sftp.journal), work / "sftp", "faults")
        sandbox.app.state.faults.clear()
        sandbox.sftp.faults.clear()
        journal_start = len(sandbox.sftp.journal)
        with DropWatcher(work / "sftp") as clean_watcher:
            clean = run_import(sandbox, "clean", work, retries, args.timeout)
        clean_visible = visibility(
            clean_watcher, list(sandbox.sftp.journal)[journal_start:], work / "sftp", "clean"
        )
        clean_served = len(log) - faulty_served
    differences = compare(faulty, clean)
    by_kind = collections.Counter()
    for rule in injected:
        kind = (
            f"{rule.status}"
            if hasattr(rule, "status")
            else ("timeout" if rule.seconds > args.timeout else "slow")
        )
        if getattr(rule, "cut_at", None) is not None:
            kind = "cut chunked body" if rule.chunked else "cut body"
        by_kind[kind] += rule.hits
    return {
        "retries_per_task": retries,
        "runs": {
            run.name: {
                "requests": run.requests,
                "served": served,
                "retries": run.retries,
                "task_retries": run.task_retries,
                "task_failures": run.task_failures,
                "files": sum(len(f) for f in run.files.values()),
                "warnings": run.warnings,
                "failed": run.failed,
                "seconds": round(run.seconds, 2),
                "cpu_seconds": round(run.cpu_seconds, 2),
                "visible": visible,
            }
            for run, served, visible in (
                (faulty, faulty_served, faulty_visible),
                (clean, clean_served, clean_visible),
            )
        },
        "faults": {
            "akeneo": akeneo_faults,
            "akeneo_by_kind": dict(sorted(by_kind.items())),
            "tokens_expired": expirer.count,
            "sftp": sftp_faults,
            "total": akeneo_faults + expirer.count + sum(sftp_faults.values()),
        },
        "differences": differences,
    }


def report(result: dict[str, Any]) -> str:
    s, runs = result["settings"], result["runs"]
    lines = [
        f"{s['products']} products, {s['models']} root models; Akeneo faults at {s['rate']:.0%} per kind, "
        f"SFTP faults at {s['sftp_rate']:.0%} per kind, client timeout {s['timeout']:g} s, seed {s['seed']} "
        f"({result['date']}):",
        "",
        "| run | requests | faults injected | retries | task retries | files delivered | partial files seen "
        "| temporaries left | products differing | CPU s | wall s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, run in runs.items():
        v = run["visible"]
        partial = len(v["partial_seen"]) + len(v["written_in_place"]) + len(v["half_sets_seen"])
        faults = result["faults"]["total"] if name == "faults" else 0
        differing = len(result["differences"]["products"]) if name == "faults" else "-"
        lines.append(
            f"| {name} | {run['requests']} | {faults} | {run['retries']} | {run['task_retries']} "
            f"| {run['files']} | {partial} | {len(v['temporaries_left'])} | {differing} "
            f"| {run['cpu_seconds']:.1f} | {run['seconds']:.1f} |"
        )
    f = result["faults"]
    lines += [
        "",
        f"Faults: Akeneo {f['akeneo_by_kind']}, tokens expired {f['tokens_expired']} times, "
        f"SFTP {f['sftp']}.",
        f"Products compared: {result['differences']['compared']}; "
        f"differing: {result['differences']['products'][:10]}; "
        f"files differing: {result['differences']['files']}.",
    ]
    for name, run in runs.items():
        if run["failed"]:
            lines.append(f"{name} run FAILED: {run['failed']}")
        for failure in run["task_failures"][:6]:
            lines.append(f"  {name}: {failure}")
    return "\n".join(lines)


def goals_met(result: dict[str, Any]) -> bool:
    runs = result["runs"]
    visible_ok = all(
        not (v["partial_seen"] or v["written_in_place"] or v["half_sets_seen"] or v["temporaries_left"])
        for v in (run["visible"] for run in runs.values())
    )
    return (
        visible_ok
        and not any(run["failed"] for run in runs.values())
        and not result["differences"]["products"]
        and not result["differences"]["files"]
        and runs["faults"]["files"] == runs["clean"]["files"] > 0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=150)
    parser.add_argument("--models", type=int, default=6, help="root product models")
    parser.add_argument("--rate", type=float, default=0.03, help="share of Akeneo requests per fault kind")
    parser.add_argument(
        "--sftp-rate", type=float, default=0.1, help="share of SFTP uploads/renames per fault kind"
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="the Akeneo client's timeout, seconds")
    parser.add_argument("--seed", type=int, default=7, help="seed of the catalog and of the fault draws")
    parser.add_argument("--no-record", action="store_true", help="do not append to soak_results.jsonl")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pim-images-soak-"))
    previous_home = os.environ.get("AIRFLOW_HOME")
    os.environ["AIRFLOW_HOME"] = str(work / "airflow")  # the DAG file is read for its retries
    try:
        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "settings": {
                "products": args.products,
                "models": args.models,
                "rate": args.rate,
                "sftp_rate": args.sftp_rate,
                "timeout": args.timeout,
                "seed": args.seed,
            },
            **soak(args, work),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if previous_home is None:
            os.environ.pop("AIRFLOW_HOME", None)
        else:
            os.environ["AIRFLOW_HOME"] = previous_home
    result["goals_met"] = goals_met(result)
    if not args.no_record:
        with RESULTS.open("a") as out:
            out.write(json.dumps(result) + "\n")
    print(report(result))
    print(
        "goals met: 0 partial or temporary files visible, 0 products differing"
        if result["goals_met"]
        else "GOALS MISSED"
    )
    sys.exit(0 if result["goals_met"] else 1)


if __name__ == "__main__":
    main()
