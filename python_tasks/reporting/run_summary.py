"""The run summary: tiers, the 80/20 view, clusters, data quality, exports. Written as JSON."""
from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

from python_tasks.db import connect

log = logging.getLogger(__name__)


def _table_exists(conn, qualified: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (qualified,)).fetchone()[0]


def collect(dsn: str, as_of_date: date, run_id: str) -> dict:
    summary: dict = {"as_of_date": as_of_date.isoformat(), "run_id": run_id}
    with connect(dsn) as conn:
        if _table_exists(conn, "marts.mart_customer_tier"):
            summary["tiers"] = [
                {"tier": r[0], "name_en": r[1], "name_zh": r[2], "customers": r[3], "profit_cny": float(r[4])}
                for r in conn.execute(
                    """
                    select tier_code, tier_name_en, tier_name_zh, count(*), sum(profit_contribution_cny)
                    from marts.mart_customer_tier where as_of_date = %s
                    group by tier_code, tier_name_en, tier_name_zh, tier_rank order by tier_rank
                    """,
                    (as_of_date,),
                )
            ]
        if _table_exists(conn, "marts.mart_pareto_summary"):
            row = conn.execute(
                """
                select customers, total_profit_cny, top_20pct_profit_share, loss_making_customers,
                       loss_makers_drain_cny
                from marts.mart_pareto_summary where as_of_date = %s
                """,
                (as_of_date,),
            ).fetchone()
            if row:
                summary["pareto"] = {
                    "customers": row[0],
                    "total_profit_cny": float(row[1]),
                    "top_20pct_profit_share": float(row[2]) if row[2] is not None else None,
                    "loss_making_customers": row[3],
                    "loss_makers_drain_cny": float(row[4]),
                }
        if _table_exists(conn, "ml.cluster_profiles"):
            summary["clusters"] = [
                {"cluster_id": r[0], "customers": r[1], "label": r[2], "standard_offer": r[3], "model_id": r[4]}
                for r in conn.execute(
                    """
                    select cluster_id, customers, label, standard_offer, model_id
                    from ml.cluster_profiles where as_of_date = %s order by cluster_id
                    """,
                    (as_of_date,),
                )
            ]
        if _table_exists(conn, "ml.scoring_runs"):
            row = conn.execute(
                "select score_source, customers, models, warnings from ml.scoring_runs where as_of_date = %s",
                (as_of_date,),
            ).fetchone()
            if row:
                summary["predictions"] = {"score_source": row[0], "customers": row[1], "models": row[2],
                                          "warnings": row[3]}
                mean_p, likely = conn.execute(
                    "select avg(churn_probability), count(*) filter (where churn_probability >= 0.5) "
                    "from ml.customer_scores where as_of_date = %s", (as_of_date,)).fetchone()
                summary["predictions"]["mean_churn_probability"] = float(mean_p) if mean_p is not None else None
                summary["predictions"]["likely_leavers"] = likely
                summary["predictions"]["next_best_products"] = {
                    r[0]: r[1] for r in conn.execute(
                        "select next_best_product, count(*) from ml.customer_scores where as_of_date = %s "
                        "and next_best_product is not null group by 1 order by 2 desc", (as_of_date,))}
        if _table_exists(conn, "ops.dq_results"):
            row = conn.execute(
                """
                select count(*), count(*) filter (where not success and severity = 'critical'),
                       count(*) filter (where not success and severity <> 'critical')
                from ops.dq_results where run_id = %s and as_of_date = %s
                """,
                (run_id, as_of_date),
            ).fetchone()
            summary["data_quality"] = {
                "expectations": row[0],
                "critical_failures": row[1],
                "warnings": row[2],
                "passed": row[0] > 0 and row[1] == 0,
            }
        if _table_exists(conn, "ops.export_log"):
            summary["exports"] = [
                {"campaign": r[0], "format": r[1], "rows": r[2], "path": r[3]}
                for r in conn.execute(
                    """
                    select campaign_code, file_format, rows_exported, file_path
                    from ops.export_log where run_id = %s and as_of_date = %s order by campaign_code, file_format
                    """,
                    (run_id, as_of_date),
                )
            ]
        if _table_exists(conn, "ops.load_audit"):
            summary["loads"] = [
                {"source": r[0], "read": r[1], "loaded": r[2], "quarantined": r[3]}
                for r in conn.execute(
                    """
                    select source, rows_read, rows_loaded, rows_quarantined
                    from ops.load_audit where run_id = %s and logical_date = %s order by source
                    """,
                    (run_id, as_of_date),
                )
            ]
        summary["source_contracts"] = _source_contracts(conn, as_of_date, run_id)
        if _table_exists(conn, "ops.misfiled_files"):
            summary["misfiled_files"] = [
                {"source": r[0], "file": r[1], "same_bytes_as_date": r[2].isoformat(), "same_bytes_as_file": r[3]}
                for r in conn.execute(
                    "select source, source_file, other_logical_date, other_source_file from ops.misfiled_files "
                    "where logical_date = %s order by source, other_logical_date", (as_of_date,))
            ]
    return summary


def _source_contracts(conn, as_of_date: date, run_id: str) -> dict:
    """Rows the loaders kept out of raw for breaking a source contract (source_contracts.yml), and
    batches that failed on one. The quarantine holds the date's latest load of each source."""
    from python_tasks.ingest.contracts import REASONS

    out: dict = {"quarantined": [], "failed": []}
    if _table_exists(conn, "ops.quarantine"):
        out["quarantined"] = [
            {"source": r[0], "reason": r[1], "rows": r[2], "examples": r[3]}
            for r in conn.execute(
                """
                select source, reason_code, count(*), (array_agg(detail order by quarantine_id))[1:3]
                from ops.quarantine where logical_date = %s and reason_code = any(%s)
                group by source, reason_code order by source, reason_code
                """, (as_of_date, list(REASONS)))
        ]
    if _table_exists(conn, "ops.load_audit"):
        out["failed"] = [{"source": r[0], "detail": r[1]} for r in conn.execute(
            "select source, detail from ops.load_audit where logical_date = %s and run_id = %s "
            "and status = 'contract_failed' order by source", (as_of_date, run_id))]
    return out


def write(summary: dict, reports_dir: Path) -> Path:
    out = reports_dir / summary["as_of_date"] / "run_summary.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


def render(summary: dict) -> str:
    """A plain-text view for the terminal and the task log."""
    lines = [f"CRM daily run for {summary['as_of_date']} (run {summary['run_id']})", ""]
    if "tiers" in summary:
        lines.append("Customers per tier:")
        for t in summary["tiers"]:
            lines.append(f"  {t['name_en']:<16} {t['name_zh']:<4} {t['customers']:>8,}"
                         f"   profit {t['profit_cny']:>16,.0f} CNY")
    if "pareto" in summary:
        p = summary["pareto"]
        share = p["top_20pct_profit_share"]
        lines.append("")
        lines.append(f"Top 20% of customers bring {share:.1%} of profit" if share is not None
                     else "Top 20% share: undefined (total profit is zero)")
        lines.append(f"Loss-makers: {p['loss_making_customers']:,} customers "
                     f"drain {p['loss_makers_drain_cny']:,.0f} CNY a year")
    if summary.get("clusters"):
        lines.append("")
        lines.append("Clusters:")
        for c in summary["clusters"]:
            lines.append(f"  #{c['cluster_id']:<3} {c['label']:<40} {c['customers']:>8,}  -> {c['standard_offer']}")
    if "predictions" in summary:
        lines.append("")
        lines.extend(render_predictions(summary["predictions"]))
    if "data_quality" in summary:
        dq = summary["data_quality"]
        lines.append("")
        lines.append(f"Data quality: {'PASSED' if dq['passed'] else 'FAILED'} "
                     f"({dq['expectations']} expectations, {dq['critical_failures']} critical failures, "
                     f"{dq['warnings']} warnings)")
    contracts = summary.get("source_contracts") or {}
    if contracts.get("quarantined") or contracts.get("failed"):
        lines.append("")
        total = sum(c["rows"] for c in contracts["quarantined"])
        lines.append(f"Source contracts: {total:,} rows quarantined, {len(contracts['failed'])} batch(es) failed")
        for c in contracts["quarantined"]:
            lines.append(f"  {c['source']:<36} {c['reason']:<16} {c['rows']:>7,}  e.g. {c['examples'][0]}")
        for f in contracts["failed"]:
            lines.append(f"  {f['source']:<36} FAILED: {f['detail'][:200]}")
    for m in summary.get("misfiled_files") or []:
        lines.append("")
        lines.append(f"Misfiled? {m['file']} has the same bytes as {m['same_bytes_as_file']} "
                     f"(loaded for {m['same_bytes_as_date']}); put the right file in the wrong date's folder "
                     "and re-run that date")
    if summary.get("exports"):
        lines.append("")
        lines.append("Exports:")
        for e in summary["exports"]:
            lines.append(f"  {e['rows']:>7,} rows  {e['path']}")
    elif "exports" in summary:
        lines.append("")
        lines.append("Exports: none written for this run")
    return "\n".join(lines)


def _f(value, fmt: str = ".3f") -> str:
    return "n/a" if value is None else format(value, fmt)


def render_predictions(p: dict) -> list[str]:
    """Scores of the run: their source and each model's validation figures beside its baseline."""
    if p["score_source"] == "rules":
        lines = [f"Predictions: RULE SCORES for {p['customers']:,} customers (no trained model: "
                 "too little history); the lists are ranked by today's value rules"]
    else:
        lines = [f"Predictions: model scores for {p['customers']:,} customers "
                 "(validated on a later period than trained, beside a naive baseline)"]
    models = p.get("models") or {}
    churn = (models.get("churn") or {}).get("metrics") or {}
    if churn:
        m = churn.get("model", {})
        lines.append(f"  churn v{models['churn']['version']:<3} ROC AUC {_f(m.get('roc_auc'))}"
                     f"  PR AUC {_f(m.get('pr_auc'))}"
                     f"  top-decile lift {_f(m.get('top_decile_lift'), '.1f')}"
                     f"  (validation {churn.get('validation_rows')}"
                     f" customers, {churn.get('leavers_in_validation')} left)")
        for name, r in churn.items():
            if name.startswith(("rule:", "best_single_feature:")):
                lines.append(f"    vs {name:<38} ROC AUC {_f(r.get('roc_auc'))}  PR AUC {_f(r.get('pr_auc'))}"
                             f"  top-decile lift {_f(r.get('top_decile_lift'), '.1f')}")
        ret = churn.get("retention_list") or {}
        if ret:
            lines.append(f"    retention list of {ret['list_size']}: leavers {_f(ret['model_leaver_rate'], '.1%')}"
                         f" vs base {_f(ret['base_rate'], '.1%')}"
                         + (f", rule list {_f(ret['rule_leaver_rate'], '.1%')}" if "rule_leaver_rate" in ret else ""))
    value = (models.get("value") or {}).get("metrics") or {}
    if value:
        m, b = value.get("model", {}), value.get("carry_forward", {})
        lines.append(f"  value v{models['value']['version']:<3} Spearman {_f(m.get('spearman'))} vs carry-forward "
                     f"{_f(b.get('spearman'))}; top-decile growers precision {_f(m.get('top_decile_growth_precision'))}"
                     f" vs {_f(b.get('top_decile_growth_precision'))}")
    nbp = (models.get("next_best_product") or {}).get("metrics") or {}
    if nbp:
        m, b = nbp.get("model", {}), nbp.get("popularity", {})
        lines.append(f"  next best product v{models['next_best_product']['version']:<3} precision@1 "
                     f"{_f(m.get('precision_at_1'))} vs popularity {_f(b.get('precision_at_1'))}; precision@3 "
                     f"{_f(m.get('precision_at_3'))} vs {_f(b.get('precision_at_3'))}")
    if p.get("mean_churn_probability") is not None:
        lines.append(f"  mean churn probability {p['mean_churn_probability']:.1%}; "
                     f"{p.get('likely_leavers', 0):,} customers at 50% or more")
    if p.get("next_best_products"):
        lines.append("  next best product: " + ", ".join(f"{k} {v:,}" for k, v in p["next_best_products"].items()))
    for w in p.get("warnings") or []:
        lines.append(f"  WARNING: {w}")
    return lines


class RunIncomplete(RuntimeError):
    pass


def log_and_check(summary: dict) -> None:
    """Log the summary; raise when the run did not get as far as passing the gate and exporting."""
    log.info("\n%s", render(summary))
    dq = summary.get("data_quality") or {}
    if not dq.get("expectations"):
        raise RunIncomplete(f"run {summary['run_id']} stopped before the data-quality gate; see the failed task's log")
    if not dq.get("passed"):
        raise RunIncomplete(f"data-quality gate failed for {summary['as_of_date']}: exports were blocked")
    if not summary.get("exports"):
        raise RunIncomplete(f"no export files were recorded for run {summary['run_id']}")
