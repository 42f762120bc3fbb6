"""Validation of the prediction models on a synthetic bank, each beside its naive baseline.

    python -m bench.model_validation --customers 10000 --days 730

One synthetic bank, loaded and built as of its last date (a full build writes the feature table's
history every 30 days back); the models are trained with the time split of
python_tasks.predictions.train (fitted on earlier feature dates, validated on the latest date whose
90-day outcome is known) and scored for the last date. Prints and writes
bench/results/model_validation.md and .json: churn against today's rule flags and the best single
feature, the retention list against the base rate and the rule list, the value model against
carrying today's profit forward, next best product against popularity; training and scoring time
and the process's peak memory.
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg

from python_tasks.config import REPO_ROOT, Settings
from python_tasks.warehouse import resolve, with_dbname

RESULTS = REPO_ROOT / "bench" / "results"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figures_table(trained: dict) -> list[str]:
    lines = ["| model | figure | model | baseline |", "|---|---|---:|---:|"]
    churn = trained.get("churn", {}).get("metrics", {})
    m = churn.get("model", {})
    for name, r in churn.items():
        if name.startswith(("rule:", "best_single_feature:")):
            lines.append(f"| churn | ROC AUC / PR AUC / top-decile lift vs `{name}` | "
                         f"{m['roc_auc']:.3f} / {m['pr_auc']:.3f} / {m['top_decile_lift']:.1f} | "
                         f"{r['roc_auc']:.3f} / {r['pr_auc']:.3f} / {r['top_decile_lift']:.1f} |")
    ret = churn.get("retention_list") or {}
    if ret:
        lines.append(f"| churn | retention list ({ret['list_size']}) leaver rate vs base rate | "
                     f"{ret['model_leaver_rate']:.1%} | {ret['base_rate']:.1%} |")
        if "rule_leaver_rate" in ret:
            lines.append(f"| churn | retention list leaver rate vs rule list | {ret['model_leaver_rate']:.1%} | "
                         f"{ret['rule_leaver_rate']:.1%} |")
    value = trained.get("value", {}).get("metrics", {})
    if value.get("model"):
        v, b = value["model"], value["carry_forward"]
        lines.append(f"| value | Spearman vs carry-forward | {v['spearman']:.3f} | {b['spearman']:.3f} |")
        lines.append(f"| value | top-decile growers precision vs carry-forward | "
                     f"{v['top_decile_growth_precision']:.3f} | {b['top_decile_growth_precision']:.3f} |")
    nbp = trained.get("next_best_product", {}).get("metrics", {})
    if nbp.get("model"):
        for k in (1, 3):
            lines.append(f"| next best product | precision@{k} vs popularity | "
                         f"{nbp['model'][f'precision_at_{k}']:.3f} | {nbp['popularity'][f'precision_at_{k}']:.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true",
                        help="train and score again on the bank built by the previous run (no generation or build)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from bench.pipeline_benchmark import fresh_endpoints
    from python_tasks.access import ensure_roles
    from python_tasks.ingest.corebank import load_corebank
    from python_tasks.ingest.landing import load_landing
    from python_tasks.predictions.run import score_customers, train_models
    from python_tasks.synthetic.bank import GenerationSpec, generate
    from python_tasks.transform.dbt_build import run_dbt

    spec = GenerationSpec(customers=args.customers, days=args.days, seed=args.seed)
    end = spec.end_date
    build_s = 0.0
    if args.reuse:
        base = resolve(Settings.from_env())
        ep = type(base)(warehouse_dsn=with_dbname(base.warehouse_dsn, "bench_models_wh"),
                        source_dsn=with_dbname(base.warehouse_dsn, "bench_models_src"), embedded=base.embedded)
        with psycopg.connect(ep.warehouse_dsn) as conn:
            conn.execute("drop schema if exists ml cascade")
    else:
        ep = fresh_endpoints(resolve(Settings.from_env()), "models")
        landing = Path(tempfile.mkdtemp(prefix="crm_models_")) / "landing"
        generate(ep.source_dsn, landing, spec)
        ensure_roles(ep.warehouse_dsn)
        load_corebank(ep.source_dsn, ep.warehouse_dsn, end, f"models-{end}")
        # The channel feeds arrive as one drop per day: every day's, so contacts and complaints have history.
        day = spec.start_date
        while day <= end:
            load_landing(ep.warehouse_dsn, landing, day, f"models-{day}")
            day += timedelta(days=1)
        started = time.perf_counter()
        run_dbt(ep.warehouse_dsn, ["build"], as_of_date=end)
        build_s = time.perf_counter() - started

    started = time.perf_counter()
    trained = train_models(ep.warehouse_dsn, end)
    train_s, train_mb = time.perf_counter() - started, _peak_mb()
    started = time.perf_counter()
    scored = score_customers(ep.warehouse_dsn, end, train_if_needed=False)
    score_s, score_mb = time.perf_counter() - started, _peak_mb()

    plan = trained["plan"]
    lines = [
        f"## Prediction models, {args.customers:,} customers x {args.days} days (to {end})",
        "",
        f"Fitted on feature dates {plan['fit_dates'][0]}..{plan['fit_dates'][-1]}, calibrated on "
        f"{plan['calibration_date']}, validated on {plan['validation_date']} (its 90-day outcome), "
        f"{trained['rows']:,} training rows.",
        "",
        *figures_table(trained),
        "",
        (f"dbt build {build_s:.0f} s; " if build_s else "")
        + f"training {train_s:.0f} s (peak RSS {train_mb:,.0f} MB); scoring "
        f"{scored['customers']:,} customers in {scored['chunks']} chunks {score_s:.0f} s "
        f"(peak RSS {score_mb:,.0f} MB).",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "model_validation.md").write_text("\n".join(lines), encoding="utf-8")
    (RESULTS / "model_validation.json").write_text(json.dumps(
        {"customers": args.customers, "days": args.days, "trained": trained, "scored": scored,
         "seconds": {"dbt_build": build_s, "train": train_s, "score": score_s},
         "peak_rss_mb": {"after_training": train_mb, "after_scoring": score_mb}},
        indent=2, default=str), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
