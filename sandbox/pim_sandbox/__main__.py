"""``python -m pim_sandbox`` (``make sandbox``): run the sandbox until interrupted.

Prints, one per line, the ``export`` lines that point Airflow at the sandbox, then
``SFTP root: <folder>``. With those exported, from the project root::

    airflow dags test pim_images_import -c '{"akeneoLocales": ["en_US"]}'

runs the import against the sandbox with any fresh ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shlex
import signal
import threading
from pathlib import Path

from pim_sandbox.catalog import DEFECTS, PROFILES
from pim_sandbox.environment import FAULTS, SandboxSettings, run_sandbox

# The project the sandbox serves (sandbox/pim_sandbox/ -> the repository root): its dags/ and plugins/.
PROJECT = Path(__file__).resolve().parents[2]


def airflow_environment(connections: dict[str, str], airflow_db: Path | None = None) -> dict[str, str]:
    """The connections and the project's DAG folder, so that any AIRFLOW_HOME will do.

    :param airflow_db: an already migrated SQLite metadata database to point Airflow at, so
        that ``airflow dags test`` works at once in a fresh ``AIRFLOW_HOME`` (it refuses an
        unmigrated database).
    """
    env = {
        **connections,
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # `airflow dags test` fails a successful run of a DAG with a deadline (apache/airflow#73428)
        "PIM_IMAGES_DEADLINE_HOURS": "off",
    }
    if airflow_db is not None:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{airflow_db.resolve()}"
    return env


def airflow_exports(connections: dict[str, str], airflow_db: Path | None = None) -> list[str]:
    """:func:`airflow_environment` as shell ``export`` lines."""
    env = airflow_environment(connections, airflow_db)
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pim_sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=300, help="products in the generated catalog")
    parser.add_argument("--seed", type=int, default=7, help="seed of the catalog generator")
    parser.add_argument(
        "--models", type=int, default=0, help="root product models (with sub-models and variants)"
    )
    parser.add_argument(
        "--asset-system",
        choices=("new", "old"),
        default=None,
        help="Asset Manager (new) or PAM (old) assets (default: the version's)",
    )
    parser.add_argument(
        "--akeneo-version",
        choices=sorted(PROFILES),
        default=None,
        help="the Akeneo version served: its endpoints and shapes (default: 7.0; 3.2 with the PAM)",
    )
    parser.add_argument(
        "--typed-axes",
        action="store_true",
        help="the accessories' variants vary by a metric (volume) and a boolean (waterproof) axis",
    )
    parser.add_argument(
        "--many-assets",
        action="store_true",
        help="products own more lifestyle assets: some 3.1 assets a product instead of 2.4 (Asset Manager)",
    )
    parser.add_argument(
        "--photo-side",
        type=int,
        help="pictures are product photos of this side in px, as a real PIM's (a pool of a few per "
        "format; benchmarks), instead of drawings of 24 to 96 px",
    )
    parser.add_argument(
        "--defect",
        action="append",
        default=[],
        choices=sorted(DEFECTS),
        help="a rule of the connector the catalog breaks (repeatable), to see the validate stage stop a run; "
        "hostile_*: text files cannot carry, in the fields a real Akeneo lets it in",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(FAULTS),
        help="a network or server fault injected at start (repeatable): "
        + "; ".join(f"{name}: {what}" for name, (what, _) in sorted(FAULTS.items())),
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="milliseconds every Akeneo response waits (default: 0)"
    )
    parser.add_argument(
        "--media-latency-ms",
        type=float,
        help="milliseconds media downloads wait instead of --latency-ms (default: --latency-ms)",
    )
    parser.add_argument(
        "--concurrency-limit",
        type=int,
        default=0,
        help="Akeneo calls in flight per connection over which a call gets a 429 (Akeneo's: 4; default: off)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        help="Akeneo requests per second beyond which a call gets a 429 (Akeneo's: 100; default: none)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="render every binary once before serving (in parallel), so that listing the catalog the "
        "first time costs the sandbox little CPU (benchmarks); slower to start",
    )
    parser.add_argument(
        "--item-cache-mb",
        type=int,
        default=256,
        help="MiB of encoded list items kept, so that a list read again costs the sandbox next to "
        "nothing (a benchmark at 100,000 products: 2048)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--akeneo-port", type=int, default=8081)
    parser.add_argument("--sftp-port", type=int, default=2222)
    parser.add_argument("--root", type=Path, default=PROJECT / ".demo" / "sandbox-sftp", help="folder served")
    parser.add_argument("--host-key", type=Path, default=PROJECT / ".demo" / "sandbox_host_key")
    parser.add_argument(
        "--airflow-db", type=Path, help="migrated SQLite metadata DB to export (make sandbox)"
    )
    args = parser.parse_args(argv)
    settings = SandboxSettings(
        sftp_root=args.root.resolve(),
        products=args.products,
        seed=args.seed,
        host=args.host,
        akeneo_port=args.akeneo_port,
        sftp_port=args.sftp_port,
        host_key_path=args.host_key.resolve(),
        asset_system=args.asset_system,
        akeneo_version=args.akeneo_version,
        models=args.models,
        defects=tuple(args.defect),
        typed_axes=args.typed_axes,
        many_assets=args.many_assets,
        photo_side=args.photo_side,
        faults=tuple(args.fault),
        latency_ms=args.latency_ms,
        media_latency_ms=args.media_latency_ms,
        concurrency_limit=args.concurrency_limit,
        rate_limit=args.rate_limit,
        warm=args.warm,
        item_cache_mb=args.item_cache_mb,
    )
    stop, serving = threading.Event(), threading.Event()

    def terminated(number: int, frame: object) -> None:
        """SIGTERM: stop serving; before serving (a --warm catalog being made, for minutes at
        100,000 products), exit at once, so whoever stops it is not kept waiting. The warm-up's
        pool workers are ended first: a SystemExit raised while the pool forks them is no
        ``Exception``, which ``Pool.__init__`` would clean up after, and the workers forked so
        far outlived the sandbox, waiting for tasks (and holding its output pipes) for ever.
        Forked, they inherit this handler, and exit on the SIGTERM they get."""
        if not serving.is_set():
            for worker in multiprocessing.active_children():
                worker.terminate()
            raise SystemExit(128 + number)
        stop.set()

    signal.signal(signal.SIGTERM, terminated)
    with run_sandbox(settings) as sandbox:
        serving.set()
        for line in airflow_exports(sandbox.airflow_connections(), args.airflow_db):
            print(line)
        print(f"SFTP root: {sandbox.sftp_root}")
        print(
            f"# Akeneo {sandbox.catalog.profile.name} sandbox at {sandbox.akeneo_url} "
            f"({args.products} products); Ctrl-C stops",
            flush=True,
        )
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
