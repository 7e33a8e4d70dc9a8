"""The configuration fingerprint between runs (docs/runs.md#configuration-fingerprint): a change
of any image-related parameter makes the next run full, which the SFCC connector leaves its users
to remember; this pipeline notices.

The fingerprint lives in the state store (:mod:`pim_images.store`); releases before it kept it in
``state/last_successful_fingerprint.json`` under the staging base, which
:func:`adopt_legacy_fingerprint` moves into the store once.
"""

from __future__ import annotations

from pim_images import staging
from pim_images.staging import StagingPath
from pim_images.store import StateStore

LEGACY_FINGERPRINT = "last_successful_fingerprint.json"


def adopt_legacy_fingerprint(store: StateStore, base: StagingPath) -> str | None:
    """Move the fingerprint an earlier release left under ``base/state/`` into ``store`` when the
    store has none yet (so an upgrade is not reported as a configuration change, nor misses
    one); returns the store's fingerprint."""
    last = store.last_fingerprint()
    path = base / "state" / LEGACY_FINGERPRINT
    if last is None and path.exists():
        last = staging.read_json(path)["fingerprint"]
        store.record_fingerprint(last)
    return last
