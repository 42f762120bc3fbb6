"""The report's figures, aggregated in Postgres: counts, sums and curves, never a customer's row.

Each section reads one or two tables with a GROUP BY on the build date, so the report costs a few
scans of the marts whatever the book's size. A section whose table does not exist (clusters before
the first clustering run, model scores before models are trained) is left out, not faked.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg

from python_tasks.db import connect

log = logging.getLogger(__name__)

# Points on the Lorenz curve: one per customer percentile is enough to draw it at any book size.
CURVE_POINTS = 100


@dataclass
class ReportData:
    as_of_date: date
    run_id: str | None
    tiers: list[dict[str, Any]] = field(default_factory=list)
    pareto: dict[str, Any] | None = None
    lorenz: list[dict[str, float]] = field(default_factory=list)
    movements: dict[str, Any] | None = None
    clusters: dict[str, Any] | None = None
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    suppressions: list[dict[str, Any]] = field(default_factory=list)
    quality: dict[str, Any] | None = None
    loads: list[dict[str, Any]] = field(default_factory=list)
    models: dict[str, Any] | None = None


def _exists(conn: psycopg.Connection, qualified: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (qualified,)).fetchone()[0]


def _columns(conn: psycopg.Connection, qualified: str) -> set[str]:
    schema, table = qualified.split(".")
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema, table),
    ).fetchall()
    return {r[0] for r in rows}


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _tiers(conn: psycopg.Connection, d: date) -> list[dict[str, Any]]:
    rows = conn.execute(
        """
        select tier_code, tier_name_en, tier_name_zh, tier_rank, count(*),
               coalesce(sum(aum_cny), 0), coalesce(sum(profit_contribution_cny), 0),
               count(*) filter (where at_risk)
        from marts.mart_customer_tier where as_of_date = %s
        group by tier_code, tier_name_en, tier_name_zh, tier_rank order by tier_rank
        """,
        (d,),
    ).fetchall()
    return [
        {"tier": r[0], "name_en": r[1], "name_zh": r[2], "rank": r[3], "customers": r[4],
         "aum_cny": float(r[5]), "profit_cny": float(r[6]), "at_risk": r[7]}
        for r in rows
    ]


def _pareto(conn: psycopg.Connection, d: date) -> dict[str, Any] | None:
    row = conn.execute(
        """
        select customers, total_profit_cny, top_20pct_profit_cny, top_20pct_profit_share,
               loss_making_customers, loss_makers_drain_cny
        from marts.mart_pareto_summary where as_of_date = %s
        """,
        (d,),
    ).fetchone()
    if row is None:
        return None
    return {"customers": row[0], "total_profit_cny": _num(row[1]), "top_20pct_profit_cny": _num(row[2]),
            "top_20pct_profit_share": _num(row[3]), "loss_making_customers": row[4],
            "loss_makers_drain_cny": _num(row[5])}


def _lorenz(conn: psycopg.Connection, d: date) -> list[dict[str, float]]:
    # The last customer of each percentile carries the cumulative share up to that percentile.
    rows = conn.execute(
        """
        select ceil(customer_percentile * %(points)s)::int as pct, max(cumulative_profit_share)
        from marts.mart_pareto where as_of_date = %(d)s
        group by 1 order by 1
        """,
        {"points": CURVE_POINTS, "d": d},
    ).fetchall()
    return [{"customer_share": r[0] / CURVE_POINTS, "profit_share": float(r[1])} for r in rows if r[1] is not None]


def _movements(conn: psycopg.Connection, d: date) -> dict[str, Any] | None:
    rows = conn.execute(
        """
        select previous_as_of_date, movement_type, coalesce(from_tier_code, '-'), coalesce(to_tier_code, '-'),
               count(*)
        from marts.mart_tier_movements where as_of_date = %s
        group by 1, 2, 3, 4 order by 2, 3, 4
        """,
        (d,),
    ).fetchall()
    if not rows:
        return None
    return {
        "previous_as_of_date": rows[0][0].isoformat() if rows[0][0] else None,
        "flows": [{"movement": r[1], "from_tier": r[2], "to_tier": r[3], "customers": r[4]} for r in rows],
    }


def _clusters(conn: psycopg.Connection, d: date) -> dict[str, Any] | None:
    profiles = conn.execute(
        """
        select cluster_id, customers, share, label, standard_offer, model_id, median_aum_cny,
               median_profit_cny, avg_digital_share, avg_product_count, median_frequency_90d
        from ml.cluster_profiles where as_of_date = %s order by cluster_id
        """,
        (d,),
    ).fetchall()
    if not profiles:
        return None
    model_id = profiles[0][5]
    features: list[str] = []
    centroids: dict[int, list[float]] = {}
    if _exists(conn, "ml.cluster_models"):
        model = conn.execute("select features, centroids from ml.cluster_models where model_id = %s",
                             (model_id,)).fetchone()
        if model:
            features, centroids = _standardised_centroids(model[0], model[1])
    return {
        "model_id": model_id,
        "features": features,
        "profiles": [
            {"cluster_id": r[0], "customers": r[1], "share": float(r[2]), "label": r[3], "offer": r[4],
             "median_aum_cny": _num(r[6]), "median_profit_cny": _num(r[7]), "avg_digital_share": _num(r[8]),
             "avg_product_count": _num(r[9]), "median_frequency_90d": _num(r[10]),
             "centroid": centroids.get(r[0])}
            for r in profiles
        ],
    }


def _standardised_centroids(features: Any, centroids: Any) -> tuple[list[str], dict[int, list[float]]]:
    """The model's centroids in its standardised feature space (``ml.cluster_models`` JSON)."""
    names = [f if isinstance(f, str) else f.get("name", str(f)) for f in (features or [])]
    by_cluster: dict[int, list[float]] = {}
    for i, c in enumerate(centroids or []):
        if isinstance(c, dict):
            cid = int(c.get("cluster_id", i))
            values = c.get("center") or []
            if isinstance(values, dict):
                values = [values.get(n) for n in names]
        else:
            cid, values = i, c
        by_cluster[cid] = [float(v) if v is not None else 0.0 for v in values]
    return names, by_cluster


def _campaigns(conn: psycopg.Connection, d: date) -> list[dict[str, Any]]:
    rows = conn.execute(
        """
        select campaign_code, channel, count(*)
        from exports.campaign_members where as_of_date = %s group by 1, 2 order by 1, 2
        """,
        (d,),
    ).fetchall()
    return [{"campaign": r[0], "channel": r[1], "customers": r[2]} for r in rows]


def _suppressions(conn: psycopg.Connection, d: date) -> list[dict[str, Any]]:
    rows = conn.execute(
        "select campaign_code, reason, customers from ops.export_suppressions where as_of_date = %s order by 1, 2",
        (d,),
    ).fetchall()
    return [{"campaign": r[0], "reason": r[1], "customers": r[2]} for r in rows]


def _latest_run(conn: psycopg.Connection, table: str, date_col: str, ts_col: str, d: date) -> str | None:
    row = conn.execute(
        f"select run_id from {table} where {date_col} = %s order by {ts_col} desc limit 1", (d,)
    ).fetchone()
    return row[0] if row else None


def _quality(conn: psycopg.Connection, d: date, run_id: str | None) -> dict[str, Any] | None:
    run = run_id if run_id and conn.execute(
        "select 1 from ops.dq_results where run_id = %s and as_of_date = %s limit 1", (run_id, d)
    ).fetchone() else _latest_run(conn, "ops.dq_results", "as_of_date", "checked_at", d)
    if run is None:
        return None
    totals = conn.execute(
        """
        select count(*), count(*) filter (where not success and severity = 'critical'),
               count(*) filter (where not success and severity <> 'critical')
        from ops.dq_results where run_id = %s and as_of_date = %s
        """,
        (run, d),
    ).fetchone()
    # Observed values of a failed expectation are aggregates (counts, shares), never row values.
    failed = conn.execute(
        """
        select suite, expectation_type, column_name, severity,
               observed->>'unexpected_count', observed->>'unexpected_percent', observed->>'observed_value'
        from ops.dq_results where run_id = %s and as_of_date = %s and not success
        order by severity = 'critical' desc, suite, expectation_type, column_name
        """,
        (run, d),
    ).fetchall()
    return {
        "run_id": run,
        "expectations": totals[0],
        "critical_failures": totals[1],
        "warnings": totals[2],
        "passed": totals[0] > 0 and totals[1] == 0,
        "failed": [
            {"suite": r[0], "expectation": r[1], "column": r[2], "severity": r[3],
             "unexpected_count": r[4], "unexpected_percent": r[5],
             "observed_value": r[6] if r[6] is None or len(r[6]) <= 40 else r[6][:40] + "…"}
            for r in failed
        ],
    }


def _loads(conn: psycopg.Connection, d: date, run_id: str | None) -> list[dict[str, Any]]:
    run = run_id if run_id and conn.execute(
        "select 1 from ops.load_audit where run_id = %s and logical_date = %s limit 1", (run_id, d)
    ).fetchone() else _latest_run(conn, "ops.load_audit", "logical_date", "finished_at", d)
    if run is None:
        return []
    rows = conn.execute(
        """
        select source, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), string_agg(distinct status, ', ')
        from ops.load_audit where run_id = %s and logical_date = %s group by source order by source
        """,
        (run, d),
    ).fetchall()
    return [{"source": r[0], "read": int(r[1]), "loaded": int(r[2]), "quarantined": int(r[3]), "status": r[4]}
            for r in rows]


def _models(conn: psycopg.Connection, d: date) -> dict[str, Any] | None:
    """Churn score distributions per tier, and each model's validation figures beside its baselines.

    Read from ``ml.customer_scores`` and ``ml.model_registry`` when the predictions have run.
    """
    out: dict[str, Any] = {}
    if _exists(conn, "ml.customer_scores") and (
            {"churn_probability", "score_source"} <= _columns(conn, "ml.customer_scores")):
        rows = conn.execute(
            """
            select s.score_source, t.tier_code, t.tier_rank,
                   least(width_bucket(s.churn_probability, 0, 1, 10), 10) as bucket, count(*)
            from ml.customer_scores s
            join marts.mart_customer_tier t on t.as_of_date = s.as_of_date and t.customer_id = s.customer_id
            where s.as_of_date = %s and s.churn_probability is not null
            group by 1, 2, 3, 4 order by 1, 3, 4
            """,
            (d,),
        ).fetchall()
        if rows:
            out["score_column"] = "churn_probability"
            out["distribution"] = [
                {"model": f"churn ({r[0]})", "tier": r[1], "bucket": int(r[3]), "customers": r[4]} for r in rows
            ]
    if _exists(conn, "ml.model_registry") and (
            {"model_name", "version", "metrics"} <= _columns(conn, "ml.model_registry")):
        # The latest version of each model; the model's bytes and feature list stay in the table.
        rows = conn.execute(
            """
            select distinct on (model_name) model_name, version, trained_as_of, validation_date, training_rows,
                   metrics
            from ml.model_registry
            where trained_as_of <= %s
            order by model_name, version desc
            """,
            (d,),
        ).fetchall()
        out["registry"] = [
            {"model": r[0], "version": r[1], "trained_as_of": r[2].isoformat(), "validated_on": r[3].isoformat(),
             "training_rows": r[4], "figures": _figures(r[5])}
            for r in rows
        ]
    return out or None


def _figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """Validation figures: ``{"model": {...}, "<baseline>": {...}, "validation_rows": n}`` kept as
    one row per scorer (the model and each baseline) and the scalars under ``"validation"``."""
    scorers: dict[str, dict[str, Any]] = {}
    scalars: dict[str, Any] = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, dict):
            scorers[key] = {k: v for k, v in value.items() if isinstance(v, (int, float, str)) or v is None}
        elif isinstance(value, (int, float, str)):
            scalars[key] = value
    if scalars:
        scorers = {"validation": scalars, **scorers}
    return scorers


def collect(dsn: str, as_of_date: date, run_id: str | None = None) -> ReportData:
    """Every section's aggregates for ``as_of_date`` (``run_id``: the run's ops rows, else the latest)."""
    data = ReportData(as_of_date=as_of_date, run_id=run_id)
    with connect(dsn) as conn:
        if _exists(conn, "marts.mart_customer_tier"):
            data.tiers = _tiers(conn, as_of_date)
        if _exists(conn, "marts.mart_pareto_summary"):
            data.pareto = _pareto(conn, as_of_date)
        if _exists(conn, "marts.mart_pareto"):
            data.lorenz = _lorenz(conn, as_of_date)
        if _exists(conn, "marts.mart_tier_movements"):
            data.movements = _movements(conn, as_of_date)
        if _exists(conn, "ml.cluster_profiles"):
            data.clusters = _clusters(conn, as_of_date)
        if _exists(conn, "exports.campaign_members"):
            data.campaigns = _campaigns(conn, as_of_date)
        if _exists(conn, "ops.export_suppressions"):
            data.suppressions = _suppressions(conn, as_of_date)
        if _exists(conn, "ops.dq_results"):
            data.quality = _quality(conn, as_of_date, run_id)
        if _exists(conn, "ops.load_audit"):
            data.loads = _loads(conn, as_of_date, run_id)
        data.models = _models(conn, as_of_date)
    return data
