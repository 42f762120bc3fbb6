"""A cheap check after dbt: the marts hold the business date that was asked for."""
from __future__ import annotations

from datetime import date

from python_tasks.db import connect

MARTS_WITH_DATE = ("marts.mart_customer_value", "marts.mart_customer_tier", "marts.mart_pareto_summary")


class MartsNotBuilt(RuntimeError):
    pass


def assert_marts_built(dsn: str, as_of_date: date) -> dict[str, int]:
    counts: dict[str, int] = {}
    with connect(dsn) as conn:
        for table in MARTS_WITH_DATE:
            counts[table] = conn.execute(
                f"select count(*) from {table} where as_of_date = %s", (as_of_date,)
            ).fetchone()[0]
    empty = [t for t, n in counts.items() if n == 0]
    if empty:
        raise MartsNotBuilt(f"{', '.join(empty)} hold no rows for {as_of_date}; check the dbt tasks' logs")
    return counts
