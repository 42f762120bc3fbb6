"""Time clustering on a large synthetic mart in a throw-away database.

    python -m python_tasks.clustering.bench --rows 1000000

Not part of the API or the test suite. The admin DSN comes from CRM_TEST_PG_ADMIN_DSN
(default: local postgres superuser); the database is dropped at the end unless --keep.
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import time
from datetime import date

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from python_tasks.clustering import run_clustering, store
from python_tasks.clustering.features import transform_frame
from python_tasks.clustering.fit import load_sample

log = logging.getLogger(__name__)

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

MART_DDL = """
create schema if not exists marts;
create table marts.mart_customer_features (
    feature_date date not null, customer_id text not null, deposit_balance numeric(18, 2),
    loan_balance numeric(18, 2), profit_90d numeric(18, 2), txn_count_90d integer,
    digital_share_90d numeric(6, 4), branch_share_90d numeric(6, 4), pos_share_90d numeric(6, 4),
    age_years integer, product_count integer, rm_contacts_90d integer, tenure_days integer,
    days_since_last_txn integer, primary key (feature_date, customer_id)
);
"""

# Four behaviour groups (g = i % 4): wealthy, digital, borrowing, dormant. Normals by Box-Muller
# because Postgres 15 has no random_normal().
GENERATE = """
insert into marts.mart_customer_features
select %(d)s, 'C' || lpad(i::text, 9, '0'),
       round(exp((array[14.73, 10.31, 9.62, 5.70])[g + 1] + 0.5 * n1)::numeric, 2),
       round(case when g = 2 then exp(13.59 + 0.4 * n2)
                  when u < 0.05 then exp(10.8 + n2) else 0 end::numeric, 2),
       round(case when g = 3 then -exp(2.3 + 0.5 * n2)
                  else exp((array[8.7, 5.9, 7.7])[g + 1] + 0.4 * n2) end::numeric, 2),
       greatest(0, round((array[25, 150, 60, 0.1])[g + 1] * exp(0.3 * n1)))::int,
       round(least(1, greatest(0, (array[0.5, 0.9, 0.5, 0.05])[g + 1] + 0.1 * n2))::numeric, 4),
       round(least(1, greatest(0, (array[0.2, 0.01, 0.1, 0.05])[g + 1] + 0.05 * n1))::numeric, 4),
       round(least(1, greatest(0, (array[0.1, 0.1, 0.3, 0.05])[g + 1] + 0.05 * n2))::numeric, 4),
       (array[35, 20, 30, 18])[g + 1] + floor(u * (array[35, 12, 20, 57])[g + 1])::int,
       (array[5, 2, 3, 1])[g + 1] + floor(u * (array[4, 2, 3, 1])[g + 1])::int,
       case when g = 0 then floor(u * 6)::int else 0 end,
       ((array[60, 12, 24, 36])[g + 1] + floor(u * 200)::int) * 30,
       case when g = 3 then case when u < 0.2 then null else 200 + floor(u * 1800)::int end
            else floor(u * 10)::int end
from (
    select i, i %% 4 as g, random() as u,
           sqrt(-2 * ln(greatest(random(), 1e-12))) * cos(2 * pi() * random()) as n1,
           sqrt(-2 * ln(greatest(random(), 1e-12))) * cos(2 * pi() * random()) as n2
    from generate_series(1, %(n)s) i
) s
"""


def _timed(label: str, timings: dict[str, float], fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    timings[label] = time.perf_counter() - started
    log.info("%s: %.2fs", label, timings[label])
    return out


def _verify(dsn: str, as_of: date) -> float:
    """Share of customers whose SQL cluster equals the numpy/sklearn-style argmin."""
    with psycopg.connect(dsn) as conn:
        model_id = conn.execute(
            "select model_id from ml.customer_clusters where as_of_date = %s limit 1", (as_of,)
        ).fetchone()[0]
        model = store.get_model(conn, model_id)
        frame = load_sample(conn, as_of, sample_size=10**12, seed=0)
        got = pd.DataFrame(
            conn.execute(
                "select customer_id, cluster_id from ml.customer_clusters where as_of_date = %s",
                (as_of,),
            ).fetchall(),
            columns=["customer_id", "cluster_id"],
        )
    assert model is not None
    z = (transform_frame(frame, model.features) - model.scaler_mean) / model.scaler_scale
    d2 = ((z[:, None, :] - model.centroids[None, :, :]) ** 2).sum(-1)
    frame["expected"] = np.asarray(model.cluster_ids)[d2.argmin(1)]
    merged = frame[["customer_id", "expected"]].merge(got, on="customer_id")
    return float((merged["expected"] == merged["cluster_id"]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--verify", action="store_true", help="compare SQL labels with numpy")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    admin = os.environ.get("CRM_TEST_PG_ADMIN_DSN", DEFAULT_ADMIN_DSN)
    name = f"clusterbench_{secrets.token_hex(4)}"
    parts = conninfo_to_dict(admin)
    parts["dbname"] = name
    dsn = make_conninfo(**parts)
    as_of = date(2024, 6, 30)
    timings: dict[str, float] = {}
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(MART_DDL)
            _timed("generate", timings, conn.execute, GENERATE, {"d": as_of, "n": args.rows})
            conn.execute("vacuum analyze marts.mart_customer_features")
        first = _timed("run (fit + score + profiles)", timings, run_clustering, dsn, as_of)
        second = _timed("rerun (reuse model, replace date)", timings, run_clustering, dsn, as_of)
        log.info("first run: %s", {k: v for k, v in first.items() if k != "selection"})
        log.info("rerun refitted=%s scored=%d", second["refitted"], second["scored"])
        if args.verify:
            share = _timed("verify", timings, _verify, dsn, as_of)
            log.info("SQL label == numpy argmin for %.6f of customers", share)
        for label, seconds in timings.items():
            log.info("TIMING %-36s %8.2fs", label, seconds)
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
                )


if __name__ == "__main__":
    main()
