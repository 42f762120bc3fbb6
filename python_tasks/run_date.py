"""Which business date a DAG run builds.

A scheduled run, a backfill and `crm run` carry a logical date: they build its date (``ds``).
A run triggered from the UI or the REST API has no logical date in Airflow 3: it builds the
``business_date`` it was given, or else the day before it was triggered in the bank's time
zone (the day a scheduled run at that moment would have built). An explicit ``business_date``
wins over a logical date, so a past day can be rebuilt from the trigger form.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BANK_TIMEZONE = ZoneInfo("Asia/Shanghai")
BUSINESS_DATE_PARAM = "business_date"


class BusinessDateError(ValueError):
    pass


def resolve_business_date(given: str | date | None, logical_date: datetime | None,
                          run_after: datetime | None) -> date:
    """The date a run builds: ``given`` (the run's param), else its logical date, else the day
    before ``run_after`` in the bank's time zone."""
    if isinstance(given, date):
        return given
    if given:
        try:
            return date.fromisoformat(str(given).strip())
        except ValueError:
            raise BusinessDateError(
                f"business_date {given!r} is not a date: give it as YYYY-MM-DD (or leave it empty "
                "for the day before the run)") from None
    if logical_date is not None:
        # Airflow's `ds`: the logical date's calendar day in UTC. `crm run --date D` (logical date
        # D 00:00 UTC) and a scheduled run build the day they always built.
        return logical_date.date() if logical_date.tzinfo is None else logical_date.astimezone(UTC).date()
    if run_after is None:
        raise BusinessDateError("the run has neither a business_date, a logical date nor a run_after time")
    return run_after.astimezone(BANK_TIMEZONE).date() - timedelta(days=1)

