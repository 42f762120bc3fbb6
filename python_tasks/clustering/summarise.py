"""Per-date cluster profiles: statistics aggregated in SQL, names from :mod:`profiles`."""
from __future__ import annotations

import logging
from datetime import date

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from python_tasks.clustering.features import DATE_COLUMN, SOURCE_TABLE
from python_tasks.clustering.profiles import ClusterName, ClusterProfile, name_clusters

log = logging.getLogger(__name__)

# grouping sets: one pass gives every cluster and the whole population (cluster_id null),
# which the naming rules compare against. Recency is capped as in the features, so "never
# transacted" does not drag medians to absurd values. Profit is the trailing 90 days' profit
# as a yearly figure.
_STATS = sql.SQL(
    """
select cc.cluster_id,
       count(*) as customers,
       percentile_cont(0.5) within group (order by m.deposit_balance::float8) as median_aum_cny,
       percentile_cont(0.5) within group (order by m.profit_90d::float8 * 365 / 90)
           as median_profit_cny,
       avg(m.digital_share_90d::float8) as avg_digital_share,
       avg(m.branch_share_90d::float8) as avg_branch_share,
       avg(m.product_count::float8) as avg_product_count,
       percentile_cont(0.5) within group (order by m.txn_count_90d::float8)
           as median_frequency_90d,
       percentile_cont(0.5) within group (order by coalesce(m.loan_balance, 0)::float8)
           as median_loan_exposure_cny,
       avg(case when coalesce(m.loan_balance, 0) > 0 then 1.0 else 0.0 end)::float8
           as borrower_share,
       percentile_cont(0.5) within group (
           order by least(greatest(coalesce(m.days_since_last_txn, 365), 0), 365)::float8
       ) as median_recency_days,
       percentile_cont(0.5) within group (order by m.tenure_days::float8 / 30.44)
           as median_tenure_months,
       percentile_cont(0.5) within group (order by m.age_years::float8) as median_age_years
from ml.customer_clusters cc
join {table} m on m.{date_column} = cc.as_of_date and m.customer_id = cc.customer_id
where cc.as_of_date = %s
group by grouping sets ((cc.cluster_id), ())
order by cc.cluster_id nulls first
"""
).format(table=sql.Identifier(*SOURCE_TABLE), date_column=sql.Identifier(DATE_COLUMN))


def _profile(row: dict) -> ClusterProfile:
    def f(key: str) -> float:
        value = row[key]
        return 0.0 if value is None else float(value)

    return ClusterProfile(
        cluster_id=row["cluster_id"],
        customers=int(row["customers"]),
        median_aum_cny=f("median_aum_cny"),
        median_profit_cny=f("median_profit_cny"),
        avg_digital_share=f("avg_digital_share"),
        avg_branch_share=f("avg_branch_share"),
        avg_product_count=f("avg_product_count"),
        median_frequency_90d=f("median_frequency_90d"),
        median_loan_exposure_cny=f("median_loan_exposure_cny"),
        borrower_share=f("borrower_share"),
        median_recency_days=f("median_recency_days"),
        median_tenure_months=f("median_tenure_months"),
        median_age_years=f("median_age_years"),
    )


def compute_profiles(
    conn: psycopg.Connection, as_of_date: date
) -> tuple[list[ClusterProfile], ClusterProfile | None]:
    """Cluster profiles of the scored date, and the population profile (None if no rows)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_STATS, (as_of_date,)).fetchall()
    # The grouping-sets total row is told apart by cluster_id null (cluster_id is not null).
    population = next((_profile(r) for r in rows if r["cluster_id"] is None), None)
    clusters = [_profile(r) for r in rows if r["cluster_id"] is not None]
    return clusters, population


def save_profiles(
    conn: psycopg.Connection,
    as_of_date: date,
    model_id: str,
    profiles: list[ClusterProfile],
    names: dict[int, ClusterName],
) -> None:
    """Replace the date's profiles (idempotent per date)."""
    total = sum(p.customers for p in profiles)
    with conn.transaction():
        conn.execute("delete from ml.cluster_profiles where as_of_date = %s", (as_of_date,))
        with conn.cursor() as cur:
            cur.executemany(
                """
                insert into ml.cluster_profiles (as_of_date, model_id, cluster_id, customers,
                    share, median_aum_cny, median_profit_cny, avg_digital_share,
                    avg_product_count, median_frequency_90d, label, standard_offer)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                [
                    (
                        as_of_date, model_id, p.cluster_id, p.customers,
                        p.customers / total if total else 0.0,
                        round(p.median_aum_cny, 2), round(p.median_profit_cny, 2),
                        round(p.avg_digital_share, 4), round(p.avg_product_count, 2),
                        round(p.median_frequency_90d, 1),
                        names[p.cluster_id].label, names[p.cluster_id].standard_offer,
                    )
                    for p in profiles
                    if p.cluster_id is not None
                ],
            )
    log.info("stored %d cluster profiles for %s", len(profiles), as_of_date)


def refresh_profiles(
    conn: psycopg.Connection, as_of_date: date, model_id: str
) -> list[tuple[ClusterProfile, ClusterName]]:
    """Aggregate, name and store the date's profiles; returns them in cluster-id order."""
    clusters, population = compute_profiles(conn, as_of_date)
    if population is None:
        save_profiles(conn, as_of_date, model_id, [], {})
        return []
    names = name_clusters(clusters, population)
    save_profiles(conn, as_of_date, model_id, clusters, names)
    return [(p, names[p.cluster_id]) for p in clusters if p.cluster_id is not None]
