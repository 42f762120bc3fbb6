"""Memory and time of training and scoring at scale, on a planted feature table.

    python -m bench.model_scale --customers 1000000 --history-customers 125000 --dates 12

Writes marts.mart_customer_features in a database of its own: ``--history-customers`` customers
on every one of ``--dates`` feature dates (30 days apart), and ``--customers`` on the last date.
Training runs in one child process and scoring in another, so each one's peak resident memory is
its own (ru_maxrss). Scoring streams the last date in chunks; run it at two sizes to see whether
its memory grows with the customers. Writes bench/results/model_scale.md.
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from datetime import date

import psycopg

from python_tasks.config import REPO_ROOT, Settings
from python_tasks.warehouse import resolve

RESULTS = REPO_ROOT / "bench" / "results"
START = date(2025, 1, 1)


def _write(dsn: str, frame, create: bool) -> None:
    numeric = [c for c in frame.columns if c not in ("feature_date", "customer_id")]
    with psycopg.connect(dsn) as conn:
        if create:
            conn.execute("create schema if not exists marts")
            conn.execute("drop table if exists marts.mart_customer_features")
            conn.execute("create table marts.mart_customer_features (feature_date date not null, customer_id text "
                         "not null, " + ", ".join(f"{c} double precision" for c in numeric) + ")")
        with conn.cursor().copy(f"copy marts.mart_customer_features (feature_date, customer_id, {', '.join(numeric)}) "
                                "from stdin") as copy:
            for row in frame[["feature_date", "customer_id", *numeric]].itertuples(index=False, name=None):
                copy.write_row(row)


def build_table(dsn: str, customers: int, history_customers: int, dates: int) -> date:
    from tests.prediction_frames import planted_bank

    history = planted_bank(customers=history_customers, dates=dates, seed=1, start=START)
    last = max(history.feature_date)
    _write(dsn, history, create=True)
    extra = customers - history_customers
    offset = history_customers
    while extra > 0:  # more customers on the last date only, in slices to keep this process small
        n = min(extra, 200_000)
        part = planted_bank(customers=n, dates=1, seed=offset, start=last)
        part["customer_id"] = [f"X{offset + i:08d}" for i in range(n)]
        _write(dsn, part, create=False)
        extra -= n
        offset += n
    with psycopg.connect(dsn) as conn:
        conn.execute("alter table marts.mart_customer_features add primary key (feature_date, customer_id)")
        conn.execute("analyze marts.mart_customer_features")
    return last


def _phase(dsn: str, phase: str, as_of: date, chunk_rows: int) -> None:
    from python_tasks.predictions.run import score_customers, train_models

    started = time.perf_counter()
    if phase == "train":
        out = train_models(dsn, as_of)
        summary = {"rows": out["rows"], "customer_fraction": out["customer_fraction"],
                   "churn_roc_auc": out["churn"]["metrics"]["model"]["roc_auc"]}
    else:
        out = score_customers(dsn, as_of, chunk_rows=chunk_rows, train_if_needed=False)
        summary = {"customers": out["customers"], "chunks": out["chunks"]}
    summary["seconds"] = time.perf_counter() - started
    summary["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(summary), flush=True)


def _child(dsn: str, phase: str, as_of: date, chunk_rows: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.model_scale", "--phase", phase, "--dsn", dsn,
                           "--as-of", as_of.isoformat(), "--chunk-rows", str(chunk_rows)],
                          capture_output=True, text=True, cwd=REPO_ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise RuntimeError(f"{phase} failed:\n{proc.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--history-customers", type=int, default=125_000)
    parser.add_argument("--dates", type=int, default=12)
    parser.add_argument("--chunk-rows", type=int, default=20_000)
    parser.add_argument("--phase", choices=["train", "score"])
    parser.add_argument("--dsn")
    parser.add_argument("--as-of")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    if args.phase:
        _phase(args.dsn, args.phase, date.fromisoformat(args.as_of), args.chunk_rows)
        return

    from bench.pipeline_benchmark import fresh_endpoints

    ep = fresh_endpoints(resolve(Settings.from_env()), "modelscale")
    started = time.perf_counter()
    last = build_table(ep.warehouse_dsn, args.customers, args.history_customers, args.dates)
    write_s = time.perf_counter() - started
    train = _child(ep.warehouse_dsn, "train", last, args.chunk_rows)
    score = _child(ep.warehouse_dsn, "score", last, args.chunk_rows)
    lines = [
        f"## Model training and scoring at scale: {args.customers:,} customers scored, "
        f"{args.history_customers:,} x {args.dates} feature dates of history",
        "",
        "| phase | rows | time | peak RSS |",
        "|---|---:|---:|---:|",
        f"| train churn, value, next best product | {train['rows']:,} | {train['seconds']:.0f} s | "
        f"{train['peak_rss_mb']:,.0f} MB |",
        f"| score (chunks of {args.chunk_rows:,}) | {score['customers']:,} in {score['chunks']} chunks | "
        f"{score['seconds']:.0f} s | {score['peak_rss_mb']:,.0f} MB |",
        "",
        f"Table written in {write_s:.0f} s. Churn ROC AUC on the planted table {train['churn_roc_auc']:.3f}.",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"model_scale_{args.customers}.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
