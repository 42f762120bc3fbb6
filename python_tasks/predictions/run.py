"""Entry points for the DAGs and the CLI: train the models, score a date (training first when no
model exists or the registry's is stale, falling back to labelled rule scores without history)."""
from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from python_tasks.predictions import registry
from python_tasks.predictions.drift import PSI_WARNING
from python_tasks.predictions.fallback import score_with_rules
from python_tasks.predictions.features import (
    feature_columns,
    feature_dates,
    feature_table_exists,
    load_dates,
    table_columns,
)
from python_tasks.predictions.model import CHURN, NEXT_BEST_PRODUCT, VALUE, limited_threads
from python_tasks.predictions.score import score_date
from python_tasks.predictions.train import (
    HORIZON_DAYS,
    InsufficientHistory,
    plan_split,
    train_churn,
    train_next_best_product,
    train_value,
)

log = logging.getLogger(__name__)

MAX_TRAINING_ROWS = 1_500_000  # customers are sampled (the same ones on every date) above this
RETRAIN_AFTER_DAYS = 7


def train_models(dsn: str, as_of: date, *, horizon_days: int = HORIZON_DAYS,
                 max_rows: int = MAX_TRAINING_ROWS, seed: int = 42) -> dict[str, Any]:
    """Train and register churn, value and next-best-product models on the history up to ``as_of``.
    Raises InsufficientHistory when churn cannot be trained; value and products are skipped alone."""
    with limited_threads(), psycopg.connect(dsn, autocommit=True) as conn:
        registry.ensure_schema(conn)
        if not feature_table_exists(conn):
            raise InsufficientHistory("marts.mart_customer_features is not built yet")
        dates = feature_dates(conn, as_of)
        plan = plan_split(dates, horizon_days)
        columns = table_columns(conn)
        features = feature_columns(columns)
        wanted = sorted({*plan.final_fit_dates, plan.calibration_date, plan.validation_date,
                         *[d + timedelta(days=horizon_days) for d in plan.final_fit_dates + [plan.validation_date]]}
                        & set(dates))
        total = conn.execute("select count(*) from marts.mart_customer_features where feature_date = any(%s)",
                             (wanted,)).fetchone()[0]
        fraction = min(1.0, max_rows / max(1, total))
        frame = load_dates(conn, wanted, columns, sample_fraction=fraction)
        log.info("training on %d rows (%.0f%% of customers) over %d feature dates up to %s",
                 len(frame), 100 * fraction, len(wanted), as_of)
        out: dict[str, Any] = {"plan": {"fit_dates": [str(d) for d in plan.fit_dates],
                                        "calibration_date": str(plan.calibration_date),
                                        "validation_date": str(plan.validation_date)},
                               "rows": len(frame), "customer_fraction": fraction}
        churn = train_churn(frame, features, plan, horizon_days, seed)
        out[CHURN] = {"version": registry.save(conn, churn, as_of), "metrics": churn.metrics}
        for name, trainer in ((VALUE, train_value), (NEXT_BEST_PRODUCT, train_next_best_product)):
            try:
                bundle = trainer(frame, features, plan, horizon_days, seed)
            except InsufficientHistory as exc:
                log.warning("%s model not trained: %s", name, exc)
                out[name] = {"skipped": str(exc)}
                continue
            out[name] = {"version": registry.save(conn, bundle, as_of), "metrics": bundle.metrics}
    return out


def _usable(reg: registry.Registered | None, as_of: date, features: list[str], retrain_after_days: int) -> bool:
    return (reg is not None and as_of - reg.trained_as_of <= timedelta(days=retrain_after_days)
            and list(reg.bundle.features) == list(features))


def _warnings(drift: dict, churn: registry.Registered) -> list[str]:
    out = []
    moved = {f: v for f, v in drift.get("feature_psi", {}).items() if v > PSI_WARNING}
    if moved:
        top = sorted(moved.items(), key=lambda kv: -kv[1])[:5]
        listed = ", ".join(f"{f} {v:.2f}" for f, v in top)
        out.append(f"feature drift (PSI > {PSI_WARNING:.2f}): {listed}")
    if drift.get("score_psi") is not None and drift["score_psi"] > PSI_WARNING:
        out.append(f"churn score distribution moved since training (PSI {drift['score_psi']:.2f})")
    base = churn.bundle.metrics.get("model", {}).get("base_rate")
    mean = drift.get("mean_score")
    if base and mean is not None and not (0.5 * base <= mean <= 2 * base):
        out.append(f"churn calibration: mean predicted {mean:.3f} against {base:.3f} leavers in validation")
    return out


def score_customers(dsn: str, as_of: date, *, retrain_after_days: int = RETRAIN_AFTER_DAYS,
                    chunk_rows: int = 20_000, train_if_needed: bool = True) -> dict[str, Any]:
    """Score every customer of ``as_of`` into ml.customer_scores (replacing the date)."""
    with limited_threads(), psycopg.connect(dsn, autocommit=True) as conn:
        registry.ensure_schema(conn)
        has_features = feature_table_exists(conn) and bool(feature_dates(conn, as_of))
        features = feature_columns(table_columns(conn)) if has_features else []
        trained: dict[str, Any] = {}
        warnings: list[str] = []
        churn = registry.latest(conn, CHURN, as_of) if has_features else None
        if has_features and train_if_needed and not _usable(churn, as_of, features, retrain_after_days):
            try:
                trained = train_models(dsn, as_of)
            except InsufficientHistory as exc:
                churn = registry.latest(conn, CHURN, as_of)
                fallback = (f"the older version {churn.version} is used" if churn else "rule scores used")
                warnings.append(f"not enough history to train a churn model ({exc}); {fallback}")
                log.warning("%s", warnings[-1])
            churn = registry.latest(conn, CHURN, as_of)
        elif not has_features:
            warnings.append("no feature table rows for this date; rule scores used")
        if churn is not None and list(churn.bundle.features) != features:
            warnings.append(f"churn model version {churn.version} reads other features than the table holds; "
                            "rule scores used until it is retrained")
            churn = None
        value = registry.latest(conn, VALUE, as_of) if churn else None
        products = registry.latest(conn, NEXT_BEST_PRODUCT, as_of) if churn else None
        value = value if value and list(value.bundle.features) == features else None
        products = products if products and list(products.bundle.features) == features else None
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", (registry.LOCK_KEY,))
            if churn is None:
                customers, drift, source, models = score_with_rules(conn, as_of), {}, "rules", {}
                chunks = 1
            else:
                columns = table_columns(conn)
                result = score_date(conn, as_of, churn, value, products, columns, chunk_rows)
                customers, drift, source, chunks = result.customers, result.drift, "model", result.chunks
                models = {r.name: {"version": r.version, "trained_as_of": str(r.trained_as_of),
                                   "metrics": registry._jsonable(r.bundle.metrics)}
                          for r in (churn, value, products) if r is not None}
                warnings += _warnings(drift, churn)
            conn.execute(
                """
                insert into ml.scoring_runs (as_of_date, score_source, customers, models, drift, warnings)
                values (%s, %s, %s, %s, %s, %s)
                on conflict (as_of_date) do update set score_source = excluded.score_source,
                    customers = excluded.customers, models = excluded.models, drift = excluded.drift,
                    warnings = excluded.warnings, scored_at = now()
                """,
                (as_of, source, customers, Jsonb(models), Jsonb(registry._jsonable(drift)), Jsonb(warnings)),
            )
    log.info("scored %d customers for %s from %s; %s", customers, as_of, source, warnings or "no warnings")
    return {"as_of_date": str(as_of), "score_source": source, "customers": customers, "chunks": chunks,
            "trained": sorted(k for k in trained if k in (CHURN, VALUE, NEXT_BEST_PRODUCT)), "warnings": warnings}
