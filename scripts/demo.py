"""``make demo``: run the import DAG once, end to end, through Airflow, against the sandbox.

Starts the sandbox Akeneo and SFTP servers, runs ``airflow dags test pim_images_import`` in a
throw-away Airflow home (SQLite metadata) under ``.demo/``, then reads back what landed on the
SFTP server and prints a short summary. The delivered files stay in ``.demo/sftp/``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from lxml import etree

from pim_images.targets.sfcc.render import CATALOG_NS
from pim_images_airflow.pools import pool_set_command
from pim_sandbox.__main__ import airflow_environment
from pim_sandbox.environment import SandboxSettings, run_sandbox

PROJECT = Path(__file__).resolve().parents[1]
DEMO = PROJECT / ".demo"
PRODUCTS = int(os.environ.get("DEMO_PRODUCTS", "300"))
ASSET_SYSTEM = os.environ.get("DEMO_ASSET_SYSTEM", "new")
MODELS = int(os.environ.get("DEMO_MODELS", "20"))


def airflow_env(connections: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **airflow_environment(connections)}
    env["AIRFLOW_HOME"] = str(DEMO / "airflow")
    env["PIM_IMAGES_STAGING"] = f"file://{DEMO / 'staging'}"
    return env


def run(command: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        result = subprocess.run(
            command, env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-60:]
        sys.exit(
            f"{' '.join(command[:3])} failed (exit {result.returncode}); last lines of {log}:\n"
            + "\n".join(tail)
        )


def summarize(sftp_root: Path) -> None:
    files = sorted(p for p in sftp_root.rglob("*") if p.is_file())
    print(f"\nDelivered to the sandbox SFTP server (local folder {sftp_root}):")
    for path in files:
        print(f"  {path.relative_to(sftp_root)}  ({path.stat().st_size} bytes)")
    for path in files:
        if path.suffix == ".csv":
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
            products = len({r["product_ref"] for r in rows})
            print(f"BSPK {path.name}: {len(rows)} image rows for {products} products")
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                catalog = etree.fromstring(archive.read(next(n for n in names if n.endswith("/catalog.xml"))))
            ns = {"c": CATALOG_NS}
            products = len(catalog.xpath("c:product", namespaces=ns))
            masters = len(catalog.xpath("c:product[c:images/c:image-group/c:variation]", namespaces=ns))
            with_images = len(catalog.xpath("c:product[c:images/c:image-group]", namespaces=ns))
            images = len(catalog.xpath("//c:image", namespaces=ns))
            binaries = sum("/static/default/" in n for n in names)
            print(
                f"SFCC {path.name}: {products} products ({with_images} with images, {masters} masters with "
                "variation groups), "
                f"{images} image references, {binaries} binaries"
            )


def main() -> None:
    shutil.rmtree(DEMO / "sftp", ignore_errors=True)
    shutil.rmtree(DEMO / "airflow", ignore_errors=True)
    shutil.rmtree(DEMO / "staging" / "runs", ignore_errors=True)
    (DEMO / "airflow").mkdir(parents=True)
    log = DEMO / "airflow-run.log"
    log.write_bytes(b"")
    airflow = str(PROJECT / ".venv" / "bin" / "airflow")
    settings = SandboxSettings(
        sftp_root=DEMO / "sftp", products=PRODUCTS, asset_system=ASSET_SYSTEM, models=MODELS
    )
    with run_sandbox(settings) as sandbox:
        print(
            f"Sandbox Akeneo at {sandbox.akeneo_url} ({PRODUCTS} products), SFTP on port {sandbox.sftp.port}"
        )
        env = airflow_env(sandbox.airflow_connections())
        print("Preparing the Airflow metadata database (SQLite)...", flush=True)
        run([airflow, "db", "migrate"], env, log)
        run(pool_set_command(airflow), env, log)  # the Akeneo tasks' pool (docs/runs.md#akeneo-allowance)
        print("Running the DAG pim_images_import (airflow dags test)...", flush=True)
        run([airflow, "dags", "test", "pim_images_import", "-c", os.environ.get("DEMO_CONF", "{}")], env, log)
    summarize(DEMO / "sftp")
    summarize_report(DEMO / "staging")
    print(f"\nAirflow log of the run: {log}")


def summarize_report(staging: Path) -> None:
    """The run report's outline: what an ops engineer reads first."""
    for path in sorted(staging.glob("runs/*/report.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        by_stage = Counter(w["stage"] for w in report["warnings"])
        print(
            f"\nRun report {path}: {report['status']}, {len(report['errors'])} error(s), "
            f"{report['warnings_total']} warning(s)"
            + (f" ({', '.join(f'{stage} {n}' for stage, n in by_stage.items())})" if by_stage else "")
        )


if __name__ == "__main__":
    main()
