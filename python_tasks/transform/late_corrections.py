"""Fold the late-data corrections of int_customer_days into the stored history, after the build.

The daily build keeps a late transaction or a late account record as a correction row
(dbt_project/macros/customer_day_corrections.sql) instead of rewriting the customer's later days,
which keeps that rewrite off the path to the tiers. A reader of an earlier date then adds every
correction with ``correction_date <= date < absorbed_from``. Left alone, those pile up: a late
account record's correction rows span the weeks since the account opened, so after a few weeks of
daily runs each window bound of int_customer_value would sum well over a million of them at 1M
customers. This step moves them into the stored rows once the day's marts are built: each stored
day a correction spans takes its running-total deltas (and, on its own day, its day values), then
the correction goes.

Stored rows plus remaining corrections hold the same corrected history before and after, and the
move is one transaction, so a reader sees one or the other, never half. A late arrival for an
already folded day is still taken against stored plus corrected values (the stored ones now hold
what the correction held). Re-running the fold finds nothing to move.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from python_tasks.db import connect

log = logging.getLogger(__name__)

DAYS = "int.int_customer_days"
CORRECTIONS = "int.int_customer_days__corrections"

# A correction's columns that add to the stored day values of its own day.
DAY_VALUES = ("aum_day_cny", "deposit_day_cny", "wealth_day_cny", "loan_day_cny", "annual_interest_margin_cny",
              "annual_wealth_fee_cny", "annual_account_cost_cny", "txn_count", "digital_txn_count", "monetary_cny",
              "channel_cost_cny", "fee_income_cny")
# Each running total and the correction column that adds to it on every day it spans
# (customer_day_running_totals() in the macro file).
RUNNING_TOTALS = {
    "cum_balance_days": "balance_day_delta", "cum_aum_cny": "aum_day_cny",
    "cum_interest_margin_cny": "annual_interest_margin_cny", "cum_wealth_fee_cny": "annual_wealth_fee_cny",
    "cum_account_cost_cny": "annual_account_cost_cny", "cum_txn_count": "txn_count",
    "cum_digital_txn_count": "digital_txn_count", "cum_monetary_cny": "monetary_cny",
    "cum_channel_cost_cny": "channel_cost_cny", "cum_fee_income_cny": "fee_income_cny",
}


@dataclass(frozen=True)
class FoldResult:
    corrections_folded: int
    stored_days_updated: int
    seconds: float


def _moved_sql() -> str:
    """Per stored customer-day, what the corrections in crm_fold_corrections add to it."""
    same_day = ",\n    ".join(f"coalesce(sum(f.{c}) filter (where f.correction_date = d.day), 0) as {c}"
                               for c in DAY_VALUES)
    spanning = ",\n    ".join(f"sum(f.{delta}) as d_{cum}" for cum, delta in RUNNING_TOTALS.items())
    return f"""
create temporary table crm_fold_moved on commit drop as
select
    f.customer_id,
    d.day as balance_date,
    coalesce(bool_or(f.adds_balance) filter (where f.correction_date = d.day), false) as adds_balance,
    {same_day},
    {spanning},
    max(f.correction_date) filter (where f.has_txn) as last_txn_date
from crm_fold_corrections as f
-- Every stored day a correction spans: from its own day to the day before it was absorbed.
cross join lateral (
    select day::date as day from generate_series(f.correction_date, f.absorbed_from - 1, interval '1 day') as day
) as d
group by f.customer_id, d.day
"""


def _update_sql() -> str:
    sets = ",\n    ".join(
        ["has_balance = stored.has_balance or moved.adds_balance"]
        + [f"{c} = stored.{c} + moved.{c}" for c in DAY_VALUES]
        + [f"{cum} = stored.{cum} + moved.d_{cum}" for cum in RUNNING_TOTALS]
        # greatest() skips nulls: where no transaction was corrected, the stored recency stands.
        + ["last_txn_date = greatest(stored.last_txn_date, moved.last_txn_date)"])
    return f"""
update {DAYS} as stored
set {sets}
from crm_fold_moved as moved
where stored.balance_date = moved.balance_date and stored.customer_id = moved.customer_id
"""


class FoldWouldLoseCorrections(RuntimeError):
    pass


REBUILD = "Rebuild: CRM_AS_OF_DATE=<date> dbt build --full-refresh --select int_customer_days+"


def fold_late_corrections(dsn: str) -> FoldResult:
    """Move every correction into the stored days it spans; returns what moved."""
    started = time.perf_counter()
    with connect(dsn) as conn:
        if conn.execute("select to_regclass(%s)", (CORRECTIONS,)).fetchone()[0] is None:
            log.info("late corrections: no %s yet (int_customer_days not built): nothing to fold", CORRECTIONS)
            return FoldResult(0, 0, time.perf_counter() - started)
        # The build writes both tables, and crm_rebuild_marts may build while crm_daily folds: the
        # lock makes the fold and a build wait for each other instead of interleaving. The
        # corrections first, as the build takes them (its pre-hook's create index if not exists),
        # or each would hold the table the other waits for (a deadlock, one of them rolled back).
        conn.execute(f"lock table {CORRECTIONS}, {DAYS} in share row exclusive mode")
        conn.execute(f"create temporary table crm_fold_corrections on commit drop as select * from {CORRECTIONS}")
        corrections = conn.execute(f"delete from {CORRECTIONS}").rowcount
        if corrections == 0:
            return FoldResult(0, 0, time.perf_counter() - started)
        empty = conn.execute("select count(*) from crm_fold_corrections where absorbed_from <= correction_date"
                             ).fetchone()[0]
        if empty:
            raise FoldWouldLoseCorrections(
                f"{empty} corrections in {CORRECTIONS} are absorbed on or before their own day (no stored day "
                f"lacks them; the build never writes one); nothing was folded. {REBUILD}")
        conn.execute(_moved_sql())
        spans = conn.execute("select count(*) from crm_fold_moved").fetchone()[0]
        updated = conn.execute(_update_sql()).rowcount
        if updated != spans:
            # The build corrects only a customer with a stored row on the late day, and rows are
            # dense from there: a span without its row means the history was changed by hand.
            raise FoldWouldLoseCorrections(
                f"{spans - updated} of {spans} customer-days spanned by late corrections have no stored row "
                f"in {DAYS}; nothing was folded. {REBUILD}")
    seconds = time.perf_counter() - started
    log.info("late corrections: %d folded into %d stored customer-days in %.1fs", corrections, updated, seconds)
    return FoldResult(corrections, updated, seconds)
