"""The fingerprint of the last successful run (docs/runs.md#configuration-fingerprint)."""

from __future__ import annotations

from pathlib import Path

from pim_images.state import FingerprintStore


def test_no_previous_run_is_no_change(tmp_path: Path) -> None:
    store = FingerprintStore(tmp_path)
    assert store.last() is None
    assert not store.changed("abc")


def test_a_different_fingerprint_is_a_change(tmp_path: Path) -> None:
    FingerprintStore(tmp_path).record("abc")
    store = FingerprintStore(tmp_path)
    assert store.last() == "abc"
    assert not store.changed("abc")
    assert store.changed("def")
