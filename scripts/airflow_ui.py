"""``make airflow``: the sandbox plus ``airflow standalone``, to try the DAG from the Airflow UI.

Airflow runs with SQLite metadata and the LocalExecutor in ``.demo/airflow``, ``make demo``'s
home (kept between runs, so the run history stays), the project's DAG folder and plugins, and the three
connections pointing at a sandbox with product models (so the UI shows variation groups).

- Workers: ``[core] parallelism`` is twice the machine's cores (at least 2), not Airflow's 32:
  the LocalExecutor starts that many worker processes.
- Ports, each free by default (8080 for the UI when it is free) or set: ``AIRFLOW_PORT`` (API
  server and UI), ``AIRFLOW_WORKER_LOG_PORT`` and ``AIRFLOW_TRIGGER_LOG_PORT`` (the log servers of
  the scheduler's workers and of the triggerer). The API server listens on 127.0.0.1 only.
- Login: user ``admin``, password ``AIRFLOW_ADMIN_PASSWORD`` or one generated and printed.
- The Airflow home and staging are ``make demo``'s (``.demo/airflow``, ``.demo/staging``), so the
  demo's runs show in the UI with their notes and reports; ``AIRFLOW_UI_HOME`` moves both elsewhere.
- Ctrl-C or SIGTERM stops everything: standalone runs in a process group of its own, asked to
  stop (SIGINT, as Ctrl-C would), then the whole group is terminated, then killed.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from pim_images_airflow.pools import pool_set_command
from pim_sandbox.__main__ import airflow_environment
from pim_sandbox.environment import SandboxSettings, run_sandbox

PROJECT = Path(__file__).resolve().parents[1]
#: The Airflow home: ``make demo``'s by default, so the demo's runs (their notes, their reports on
#: the "PIM images" page) are in this UI too; ``AIRFLOW_UI_HOME`` moves it (and its staging).
HOME = Path(os.environ.get("AIRFLOW_UI_HOME") or PROJECT / ".demo" / "airflow")
#: The staging base: ``make demo``'s (``.demo/staging``) with the default home, else in the home.
STAGING = HOME / "pim_images" if os.environ.get("AIRFLOW_UI_HOME") else PROJECT / ".demo" / "staging"
#: Seconds standalone gets to stop its components before the group is terminated, then killed.
STOP_GRACE = 30.0


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when nothing listens on it on this machine, else a port the system gives."""
    if preferred is not None:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port(variable: str, preferred: int | None = None) -> int:
    value = os.environ.get(variable)
    return int(value) if value else free_port(preferred)


def workers() -> int:
    """LocalExecutor workers fit for this machine: twice its cores, at least 2."""
    return max(2, 2 * (os.cpu_count() or 1))


def airflow_env(connections: dict[str, str], api_port: int, password: str) -> dict[str, str]:
    """The environment of ``airflow standalone`` and of every component it starts."""
    passwords = HOME / "simple_auth_manager_passwords.json.generated"
    passwords.write_text(f'{{"admin": "{password}"}}')
    passwords.chmod(0o600)
    return {
        **os.environ,
        **airflow_environment(connections),
        "AIRFLOW_HOME": str(HOME),
        # standalone starts its components as `airflow ...` subprocesses, found on PATH
        "PATH": f"{PROJECT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(workers()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{api_port}/execution/",
        # a task's first call to the API server takes seconds on a small, busy machine (5 s default)
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        # a task queued before the API server listens (standalone starts both at once; a busy
        # machine) retries its first call, 1 s doubling, for minutes instead of 5 tries (some 5 s)
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_port("AIRFLOW_WORKER_LOG_PORT")),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_port("AIRFLOW_TRIGGER_LOG_PORT")),
        "PIM_IMAGES_STAGING": f"file://{STAGING}",
        # the scheduler runs deadlines as it should (only `airflow dags test` cannot)
        "PIM_IMAGES_DEADLINE_HOURS": os.environ.get("PIM_IMAGES_DEADLINE_HOURS") or "6",
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop standalone and every process it started (its process group)."""
    group = process.pid
    for sig, wait in ((signal.SIGINT, STOP_GRACE), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(group):
            if process.poll() is None:
                try:
                    process.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.2)
        if not _group_alive(group):
            break
    process.poll()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> int:
    HOME.mkdir(parents=True, exist_ok=True)
    api_port = _port("AIRFLOW_PORT", preferred=8080)
    password = os.environ.get("AIRFLOW_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    settings = SandboxSettings(sftp_root=HOME.parent / "airflow-ui-sftp", products=300, models=20)
    with run_sandbox(settings) as sandbox:
        env = airflow_env(sandbox.airflow_connections(), api_port, password)
        print(f"Sandbox Akeneo at {sandbox.akeneo_url}; delivered files land in {sandbox.sftp_root}")
        print(
            f"Airflow UI: http://localhost:{api_port}  (user admin, password {password}); "
            f"{workers()} workers; Ctrl-C stops",
            flush=True,
        )
        # the Akeneo tasks' pool must exist before the scheduler sees them (docs/runs.md#akeneo-allowance)
        airflow = str(PROJECT / ".venv" / "bin" / "airflow")
        subprocess.run(
            [airflow, "db", "migrate"], env=env, cwd=PROJECT, check=True, stdout=subprocess.DEVNULL
        )
        subprocess.run(pool_set_command(airflow), env=env, cwd=PROJECT, check=True, stdout=subprocess.DEVNULL)
        process = subprocess.Popen(
            [airflow, "standalone"],
            env=env,
            cwd=PROJECT,
            start_new_session=True,  # its own process group: stopped as a whole
        )

        def on_signal(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_signal)
        try:
            return process.wait()
        except KeyboardInterrupt:
            print("Stopping Airflow...", flush=True)
            return 0
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            stop(process)


if __name__ == "__main__":
    sys.exit(main())
