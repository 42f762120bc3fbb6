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
    return summary


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
    if "data_quality" in summary:
        dq = summary["data_quality"]
        lines.append("")
        lines.append(f"Data quality: {'PASSED' if dq['passed'] else 'FAILED'} "
                     f"({dq['expectations']} expectations, {dq['critical_failures']} critical failures, "
                     f"{dq['warnings']} warnings)")
    if summary.get("exports"):
        lines.append("")
        lines.append("Exports:")
        for e in summary["exports"]:
            lines.append(f"  {e['rows']:>7,} rows  {e['path']}")
    elif "exports" in summary:
        lines.append("")
        lines.append("Exports: none written for this run")
    return "\n".join(lines)


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
