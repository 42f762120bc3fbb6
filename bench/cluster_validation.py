"""Do the customer clusters recover the groups the synthetic bank planted?

    python -m bench.cluster_validation            # the bank `make demo` built (latest date)
    python -m bench.cluster_validation --refits 3 # also: refit on other samples, compare

Reads the clusters the pipeline stored (ml.customer_clusters, latest date, or --date) and the
planted personas from the source database's synthetic_truth (read here only, never by the
pipeline), and reports the adjusted Rand index, a persona x cluster table with each cluster's
label, and, with --refits, how far refits on other samples agree (ARI between fits).
"""
from __future__ import annotations

import argparse
import logging
from datetime import date

import pandas as pd
import psycopg
from sklearn.metrics import adjusted_rand_score

from python_tasks.clustering.features import FEATURES, transform_frame
from python_tasks.clustering.fit import fit_sample, load_sample
from python_tasks.config import Settings
from python_tasks.warehouse import resolve

log = logging.getLogger(__name__)

K_RANGE = range(3, 9)  # as python_tasks.clustering.run_clustering chooses k


def _frame(dsn: str, query: str, *params) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def clusters_vs_truth(warehouse_dsn: str, source_dsn: str, as_of: date | None) -> tuple[float, pd.DataFrame, date]:
    if as_of is None:
        as_of = _frame(warehouse_dsn, "select max(as_of_date) as d from ml.customer_clusters").d[0]
    clusters = _frame(
        warehouse_dsn,
        "select cc.customer_id, cc.cluster_id, p.label from ml.customer_clusters cc "
        "join ml.cluster_profiles p on p.as_of_date = cc.as_of_date and p.cluster_id = cc.cluster_id "
        "where cc.as_of_date = %s", as_of)
    truth = _frame(source_dsn, "select customer_id, persona from synthetic_truth.customer_truth")
    merged = clusters.merge(truth, on="customer_id")
    ari = adjusted_rand_score(merged.persona, merged.cluster_id)
    table = pd.crosstab(merged.persona, merged.cluster_id.astype(str) + " " + merged.label)
    return float(ari), table, as_of


def refit_agreement(warehouse_dsn: str, as_of: date, refits: int) -> list[float]:
    """ARI between the clusters of fits on differently seeded samples, over all customers."""
    with psycopg.connect(warehouse_dsn) as conn:
        everyone = load_sample(conn, as_of, sample_size=10**9, seed=0)
        x = transform_frame(everyone, FEATURES)
        labels = []
        for seed in range(refits + 1):
            sample = load_sample(conn, as_of, sample_size=20_000, seed=seed + 1)
            fit = fit_sample(sample, k=None, k_range=K_RANGE, seed=seed + 1)
            labels.append(fit.kmeans.predict(fit.scaler.transform(x)))
    return [float(adjusted_rand_score(labels[0], other)) for other in labels[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, help="cluster date (default: the latest)")
    parser.add_argument("--refits", type=int, default=0, help="refits on other samples to compare")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    endpoints = resolve(Settings.from_env())
    ari, table, as_of = clusters_vs_truth(endpoints.warehouse_dsn, endpoints.source_dsn, args.date)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table)
    print(f"\nadjusted Rand index vs planted personas on {as_of}: {ari:.3f} ({int(table.values.sum()):,} customers)")
    if args.refits:
        agreement = refit_agreement(endpoints.warehouse_dsn, as_of, args.refits)
        print("refits vs first fit (ARI): " + ", ".join(f"{a:.3f}" for a in agreement))


if __name__ == "__main__":
    main()
