"""``make airflow``: the sandbox plus ``airflow standalone``, to try the DAG from the Airflow UI.

Airflow runs with SQLite metadata and the LocalExecutor in ``.demo/airflow-ui`` (kept between
runs, so the run history stays), the project's DAG folder, and the three connections pointing
at the sandbox. Log in as ``admin`` / ``admin``. Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pim_images_airflow.pools import pool_set_command
from pim_sandbox.__main__ import airflow_environment
from pim_sandbox.environment import SandboxSettings, run_sandbox

PROJECT = Path(__file__).resolve().parents[1]
HOME = PROJECT / ".demo" / "airflow-ui"
PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))


def main() -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    passwords = HOME / "simple_auth_manager_passwords.json.generated"
    passwords.write_text(json.dumps({"admin": "admin"}))
    settings = SandboxSettings(sftp_root=PROJECT / ".demo" / "airflow-ui-sftp", products=300)
    with run_sandbox(settings) as sandbox:
        env = {
            **os.environ,
            **airflow_environment(sandbox.airflow_connections()),
            "AIRFLOW_HOME": str(HOME),
            # standalone starts its components as `airflow ...` subprocesses, found on PATH
            "PATH": f"{PROJECT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__PORT": str(PORT),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{PORT}/execution/",
            "PIM_IMAGES_STAGING": f"file://{HOME / 'pim_images'}",
        }
        print(f"Sandbox Akeneo at {sandbox.akeneo_url}; delivered files land in {sandbox.sftp_root}")
        print(f"Airflow UI: http://localhost:{PORT}  (user admin, password admin); Ctrl-C stops", flush=True)
        # the Akeneo tasks' pool must exist before the scheduler sees them (docs/runs.md#akeneo-allowance)
        airflow = str(PROJECT / ".venv" / "bin" / "airflow")
        subprocess.run(
            [airflow, "db", "migrate"], env=env, cwd=PROJECT, check=True, stdout=subprocess.DEVNULL
        )
        subprocess.run(pool_set_command(airflow), env=env, cwd=PROJECT, check=True, stdout=subprocess.DEVNULL)
        process = subprocess.Popen(
            [str(PROJECT / ".venv" / "bin" / "airflow"), "standalone"], env=env, cwd=PROJECT
        )
        try:
            process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
