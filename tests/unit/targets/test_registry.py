"""The target registry (docs/architecture.md#targets-as-packages-behind-a-registry)."""

from __future__ import annotations

import subprocess
import sys


def test_threads_first_asking_at_once_all_see_every_builtin_target() -> None:
    """Two runs of the stages in one process (threads) first load the built-in targets together:
    none sees a half-filled registry (its configuration would refuse ``targets: [sfcc, bspk]``).
    In a fresh interpreter, since the built-in targets load once per process."""
    code = (
        "import threading\n"
        "from pim_images import targets\n"
        "start = threading.Barrier(8)\n"
        "seen = []\n"
        "def ask():\n"
        "    start.wait()\n"
        "    seen.append(targets.names())\n"
        "threads = [threading.Thread(target=ask) for _ in range(8)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(sorted(set(seen)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[('sfcc', 'bspk')]", result.stdout + result.stderr
