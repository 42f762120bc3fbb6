"""The check behind the channel-drop sensor: wait, succeed, or fail at the deadline naming the file."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from python_tasks.ingest.arrival import ArrivalPolicy, MissingDropError, check_arrival
from python_tasks.ingest.feeds import FEEDS
from python_tasks.ingest.watermarks import BANK_TZ

D = date(2026, 9, 30)
POLICY = ArrivalPolicy(deadline_hours=6, poke_seconds=60)
BEFORE = datetime(2026, 10, 1, 5, 0, tzinfo=BANK_TZ)
AFTER = datetime(2026, 10, 1, 6, 0, tzinfo=BANK_TZ)


def drop_all(landing, except_feed: str | None = None) -> None:
    folder = landing / D.isoformat()
    folder.mkdir(parents=True)
    for feed in FEEDS.values():
        if feed.name != except_feed:
            (folder / feed.filename()).write_text("header\n")


def test_all_files_present_is_ready(tmp_path):
    drop_all(tmp_path)
    assert check_arrival(tmp_path, D, policy=POLICY, now=lambda: AFTER) is True


def test_missing_file_before_the_deadline_keeps_waiting(tmp_path):
    drop_all(tmp_path, except_feed="rm_interactions")
    assert check_arrival(tmp_path, D, policy=POLICY, now=lambda: BEFORE) is False


def test_missing_file_at_the_deadline_fails_naming_the_file(tmp_path):
    drop_all(tmp_path, except_feed="rm_interactions")
    with pytest.raises(MissingDropError, match=r"2026-09-30/rm_interactions\.csv"):
        check_arrival(tmp_path, D, policy=POLICY, now=lambda: AFTER)


def test_sensor_timeout_reaches_the_deadline_but_never_below_one_poke():
    assert POLICY.sensor_timeout_seconds(D, BEFORE) == pytest.approx(3600)
    assert POLICY.sensor_timeout_seconds(D, AFTER + timedelta(days=3)) == 1.0


def test_policy_reads_the_environment():
    policy = ArrivalPolicy.from_env({"CRM_DROP_DEADLINE_HOURS": "2.5", "CRM_DROP_POKE_SECONDS": "30"})
    assert (policy.deadline_hours, policy.poke_seconds) == (2.5, 30)
