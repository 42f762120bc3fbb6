"""Backtest of the value model: does today's predicted profit rank customers by what they bring next?

    python -m bench.clv_backtest --customers 10000 --days 90 --holdout-days 30

One synthetic bank; the warehouse is loaded and built as of D1 = end - holdout (the prediction),
then the holdout days are loaded and the marts rebuilt as of D2 = end with the activity window
set to exactly the holdout, so profit_contribution_cny at D2 is the realised profit of (D1, D2]
(annualised). Reports Spearman rank correlations, and how the modelled retention separates the
customers the generator planted as churners (synthetic_truth, read here only).
Writes bench/results/clv_backtest.md.
"""
from __future__ import annotations

import argparse
import json
import logging
import tempfile
from datetime import timedelta
from pathlib import Path

import pandas as pd
import psycopg

from python_tasks.config import REPO_ROOT, Settings
from python_tasks.warehouse import resolve

RESULTS = REPO_ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--holdout-days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from bench.pipeline_benchmark import fresh_endpoints
    from python_tasks.access import ensure_roles
    from python_tasks.ingest.corebank import load_corebank
    from python_tasks.ingest.landing import load_landing
    from python_tasks.synthetic.bank import GenerationSpec, generate
    from python_tasks.transform.dbt_build import run_dbt

    ep = fresh_endpoints(resolve(Settings.from_env()), "clv")
    spec = GenerationSpec(customers=args.customers, days=args.days, seed=args.seed)
    d2 = spec.end_date
    d1 = d2 - timedelta(days=args.holdout_days)
    landing = Path(tempfile.mkdtemp(prefix="crm_clv_")) / "landing"
    generate(ep.source_dsn, landing, spec)
    ensure_roles(ep.warehouse_dsn)

    def load(day):
        load_corebank(ep.source_dsn, ep.warehouse_dsn, day, f"clv-{day}")
        load_landing(ep.warehouse_dsn, landing, day, f"clv-{day}")

    def build(day, **extra_vars):
        args = ["build", "--vars", json.dumps(extra_vars)] if extra_vars else ["build"]
        run_dbt(ep.warehouse_dsn, args, as_of_date=day)

    load(d1)
    build(d1)
    with psycopg.connect(ep.warehouse_dsn) as conn:
        predicted = pd.DataFrame(conn.execute(
            "select customer_id, predicted_annual_profit_cny, profit_contribution_cny, lifetime_value_cny, "
            "annual_retention from marts.mart_customer_value").fetchall(),
            columns=["customer_id", "predicted", "profit_at_d1", "clv", "retention"]).set_index("customer_id")
    # Days between D1 and D2 arrive as one batch (the loader tiles them); the facts pick it up.
    load(d2)
    build(d2, activity_window_days=args.holdout_days)
    with psycopg.connect(ep.warehouse_dsn) as conn:
        realised = pd.DataFrame(conn.execute(
            "select customer_id, profit_contribution_cny from marts.mart_customer_value").fetchall(),
            columns=["customer_id", "realised"]).set_index("customer_id")
    with psycopg.connect(ep.source_dsn) as conn:
        truth = pd.DataFrame(conn.execute(
            "select customer_id, will_churn from synthetic_truth.customer_truth").fetchall(),
            columns=["customer_id", "will_churn"]).set_index("customer_id")

    df = predicted.join(realised, how="inner").join(truth, how="left").astype(
        {"predicted": float, "profit_at_d1": float, "clv": float, "realised": float, "retention": float})
    spearman = lambda a, b: df[a].corr(df[b], method="spearman")  # noqa: E731
    churn = df.groupby("will_churn")["retention"].mean()
    lines = [
        f"## Value model backtest, {args.customers:,} customers; predict at {d1}, realise ({d1}, {d2}]",
        "",
        "| Spearman rank correlation with realised next-period profit | rho |",
        "|---|---:|",
        f"| predicted annual profit at D1 (the model) | {spearman('predicted', 'realised'):.3f} |",
        f"| profit contribution at D1 (naive baseline: next = last) | {spearman('profit_at_d1', 'realised'):.3f} |",
        f"| lifetime value at D1 | {spearman('clv', 'realised'):.3f} |",
        "",
        f"Customers compared: {len(df):,}. Mean modelled annual retention: planted churners "
        f"{churn.get(True, float('nan')):.3f}, others {churn.get(False, float('nan')):.3f}.",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "clv_backtest.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
