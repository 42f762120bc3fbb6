"""Which business date a run builds: scheduled, backfilled, `crm run`, or triggered by hand."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from python_tasks.run_date import BusinessDateError, resolve_business_date

UTC = UTC


def test_a_given_business_date_wins():
    assert resolve_business_date("2026-09-30", datetime(2026, 10, 5, tzinfo=UTC), None) == date(2026, 9, 30)


def test_a_run_with_a_logical_date_builds_its_ds():
    # `crm run --date 2026-09-30` is `dags test crm_daily 2026-09-30`: logical date 00:00 UTC.
    assert resolve_business_date(None, datetime(2026, 9, 30, tzinfo=UTC), None) == date(2026, 9, 30)
    # The scheduled run fired at midnight in Shanghai (16:00 UTC the day before) builds that day.
    assert resolve_business_date("", datetime(2026, 9, 30, 16, tzinfo=UTC), None) == date(2026, 9, 30)


def test_a_manual_run_without_a_date_builds_the_day_before_it_was_triggered_in_the_bank():
    # 2026-10-01 01:00 in Shanghai is still 2026-09-30 in UTC: the bank's calendar decides.
    triggered = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    assert resolve_business_date(None, None, triggered) == date(2026, 9, 30)
    assert resolve_business_date(None, None, datetime(2026, 9, 30, 10, 0, tzinfo=UTC)) == date(2026, 9, 29)


def test_a_malformed_business_date_says_how_to_give_it():
    with pytest.raises(BusinessDateError, match="YYYY-MM-DD"):
        resolve_business_date("30/09/2026", None, datetime(2026, 10, 1, tzinfo=UTC))
