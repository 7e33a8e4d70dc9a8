"""What the pipeline remembers between runs: the configuration fingerprint of the last
successful run (docs/runs.md#configuration-fingerprint: a change of any image-related parameter makes the next
run full, which the SFCC connector leaves its users to remember; this pipeline notices)."""

from __future__ import annotations

from pim_images import staging
from pim_images.staging import StagingPath

FINGERPRINT = "last_successful_fingerprint.json"


class FingerprintStore:
    """The fingerprint of the last successful run, under the staging base (shared by runs)."""

    def __init__(self, base: StagingPath) -> None:
        self.path = base / "state" / FINGERPRINT

    def last(self) -> str | None:
        return staging.read_json(self.path)["fingerprint"] if self.path.exists() else None

    def record(self, fingerprint: str) -> None:
        staging.write_json(self.path, {"fingerprint": fingerprint})

    def changed(self, fingerprint: str) -> bool:
        """True when a previous successful run used another image configuration."""
        last = self.last()
        return last is not None and last != fingerprint
