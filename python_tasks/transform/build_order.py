"""Refuse a build date earlier than what the marts already hold, before anything is loaded or built.

The tier history is date-effective: a date can be graded only after every date before it. dbt
refuses an earlier date too, but only when it reaches the history, after the value, tier, Pareto
and contactability marts were already rebuilt for that date. This check runs first, on the dates
the stored data shows were built: the dates dbt records in ops.build_state (a date that changed no
grade too), the tier history's version starts and ends, and the movements' dates. The rewind,
rewind_tier_history, removes all three from the date it rewinds to, so that date is accepted again.
A table not there yet (a new warehouse) shows nothing.
"""
from __future__ import annotations

import logging
from datetime import date

from python_tasks.db import connect

log = logging.getLogger(__name__)

# Each query gives the latest build date a table shows, or null.
_LATEST_BUILT = {
    "ops.build_state": "select max(as_of_date) from ops.build_state",
    "marts.mart_customer_tier_history":
        "select max(greatest(valid_from, valid_to)) from marts.mart_customer_tier_history",
    "marts.mart_tier_movements": "select max(as_of_date) from marts.mart_tier_movements",
}


class EarlierDateRefused(RuntimeError):
    pass


def latest_built_date(conn) -> date | None:
    """The latest build date the stored marts show, or None (a new warehouse)."""
    latest: date | None = None
    for table, query in _LATEST_BUILT.items():
        if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
            continue
        found = conn.execute(query).fetchone()[0]
        if found is not None and (latest is None or found > latest):
            latest = found
    return latest


def check_build_date(dsn: str, as_of_date: date) -> dict[str, str | None]:
    """Raise EarlierDateRefused when ``as_of_date`` is before the latest date built; the same date
    (a re-run) and later dates pass."""
    with connect(dsn) as conn:
        latest = latest_built_date(conn)
    if latest is not None and as_of_date < latest:
        raise EarlierDateRefused(
            f"the marts were built for {latest}, after the requested date {as_of_date}: an earlier date cannot be "
            f"built in between, and nothing was loaded or rebuilt. To rebuild from {as_of_date}, rewind the tier "
            f"history first (CRM_AS_OF_DATE={as_of_date} dbt run-operation rewind_tier_history "
            f"--args '{{from_date: {as_of_date}}}' in dbt_project/), then run every date from it on again, in order."
        )
    log.info("build date %s accepted (latest built: %s)", as_of_date, latest)
    return {"as_of_date": as_of_date.isoformat(), "latest_built": latest.isoformat() if latest else None}
