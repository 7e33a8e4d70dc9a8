"""The run's time in delivered file names (docs/delivery.md#idempotent-names)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pim_images.deliver import file_stamp

END = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_scheduled_or_backfilled_run_is_named_by_its_interval_end() -> None:
    later = END + timedelta(minutes=7)
    assert file_stamp("scheduled", END, later) == "20260302T000000Z"
    assert file_stamp("backfill", END, later) == file_stamp("backfill", END, later + timedelta(hours=1))


def test_two_manual_runs_on_one_interval_get_two_names() -> None:
    first = datetime(2026, 3, 2, 9, 15, 30, 250000, tzinfo=UTC)
    second = first + timedelta(microseconds=1)
    assert file_stamp("manual", END, first) == "20260302T091530250000Z"
    assert file_stamp("manual", END, first) != file_stamp("manual", END, second)
    assert file_stamp("asset_triggered", END, second) == "20260302T091530250001Z"


def test_stamps_are_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert file_stamp("manual", None, datetime(2026, 3, 2, 10, 0, tzinfo=paris)) == "20260302T090000000000Z"
