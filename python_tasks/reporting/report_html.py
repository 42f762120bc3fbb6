"""The run report: one HTML file with every chart and its script inside, readable offline.

Labels are bilingual (English / 中文). Plotly's JavaScript is embedded once, at the first chart;
the file needs no network and no other file, except the optional link to the GX Data Docs.
"""
from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from python_tasks.reporting.report_data import ReportData

log = logging.getLogger(__name__)

TIER_COLOURS = {"gold": "#c9a227", "profit": "#2e7d32", "potential": "#1565c0", "common": "#78909c",
                "unprofitable": "#c62828"}

MOVEMENT_LABELS = {"upgrade": "Upgrade 升级", "downgrade": "Downgrade 降级", "entry": "Entry 新进",
                   "exit": "Exit 退出"}
MOVEMENT_COLOURS = {"upgrade": "#2e7d32", "entry": "#26a69a", "downgrade": "#ef6c00", "exit": "#c62828"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:0 auto;max-width:1180px;padding:16px 24px;color:#1f2933;background:#fafbfc}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #d0d7de}
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{background:#fff;border:1px solid #d0d7de;border-radius:6px;
padding:8px 14px;min-width:150px}.kpi b{display:block;font-size:1.4em}
table{border-collapse:collapse;margin:8px 0;background:#fff}th,td{border:1px solid #d0d7de;padding:4px 8px;
font-size:.9em}td.n{text-align:right;font-variant-numeric:tabular-nums}.pass{color:#2e7d32}.fail{color:#c62828}
.note{color:#57606a;font-size:.85em}.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:8px 0}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _int(n: Any) -> str:
    return f"{int(n):,}" if n is not None else "–"


def _cny(n: Any) -> str:
    return f"{float(n):,.0f}" if n is not None else "–"


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td class='n'>{_esc(v)}</td>" if i in numeric else f"<td>{_esc(v)}</td>"
                         for i, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Charts:
    """Turns figures into divs; the first carries plotly.js, the rest reuse it."""

    def __init__(self) -> None:
        self.count = 0

    def div(self, fig: go.Figure, name: str) -> str:
        fig.update_layout(margin={"l": 60, "r": 20, "t": 50, "b": 50}, height=420, template="plotly_white",
                          font={"family": "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"})
        out = fig.to_html(full_html=False, include_plotlyjs=self.count == 0, div_id=f"chart-{name}",
                          config={"displaylogo": False, "responsive": True})
        self.count += 1
        return f"<div class='chart' data-chart='{_esc(name)}'>{out}</div>"


def _tier_section(data: ReportData, charts: _Charts) -> str:
    if not data.tiers:
        return ""
    labels = [f"{t['name_en']} {t['name_zh']}" for t in data.tiers]
    colours = [TIER_COLOURS.get(t["tier"], "#888") for t in data.tiers]
    fig = go.Figure()
    fig.add_bar(name="Customers 客户数", x=labels, y=[t["customers"] for t in data.tiers],
                marker_color=colours, yaxis="y")
    fig.add_bar(name="Profit (CNY) 利润(元)", x=labels, y=[t["profit_cny"] for t in data.tiers],
                marker_color=colours, marker_pattern_shape="/", yaxis="y2", offsetgroup=2)
    fig.update_layout(title="Customers and profit per tier 各层级客户数与利润", barmode="group",
                      yaxis={"title": "Customers 客户数"},
                      yaxis2={"title": "Profit CNY 利润(元)", "overlaying": "y", "side": "right"},
                      legend={"orientation": "h", "y": -0.15}, bargroupgap=0.1)
    fig.update_traces(offsetgroup=1, selector={"yaxis": "y"})
    rows = [[f"{t['name_en']} {t['name_zh']}", _int(t["customers"]), _cny(t["aum_cny"]), _cny(t["profit_cny"]),
             _int(t["at_risk"])] for t in data.tiers]
    table = _table(["Tier 层级", "Customers 客户数", "AUM CNY 资产(元)", "Profit CNY 利润(元)", "At risk 流失风险"],
                   rows, {1, 2, 3, 4})
    return "<h2>Tiers 客户分层</h2>" + charts.div(fig, "tiers") + table


def _pareto_section(data: ReportData, charts: _Charts) -> str:
    if not data.lorenz:
        return ""
    xs = [0.0] + [p["customer_share"] for p in data.lorenz]
    ys = [0.0] + [p["profit_share"] for p in data.lorenz]
    fig = go.Figure()
    fig.add_scatter(x=xs, y=ys, mode="lines", name="Cumulative profit share 累计利润占比",
                    line={"color": "#1565c0", "width": 3})
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Equal share 均等线",
                    line={"color": "#999", "dash": "dot"})
    share = (data.pareto or {}).get("top_20pct_profit_share")
    if share is not None:
        fig.add_scatter(x=[0.2], y=[share], mode="markers+text", name="Top 20 % 前20%客户",
                        text=[f"Top 20 % → {share:.1%}"], textposition="middle right",
                        marker={"size": 12, "color": "#c9a227"})
        fig.add_vline(x=0.2, line_dash="dash", line_color="#c9a227")
    fig.update_layout(title="Pareto (Lorenz) curve 帕累托(洛伦兹)曲线",
                      xaxis={"title": "Share of customers, most profitable first 客户占比(按利润降序)",
                             "tickformat": ".0%"},
                      yaxis={"title": "Share of total profit 利润占比", "tickformat": ".0%"},
                      legend={"orientation": "h", "y": -0.2})
    p = data.pareto or {}
    kpis = (
        "<div class='kpis'>"
        f"<div class='kpi'>Customers 客户<b>{_int(p.get('customers'))}</b></div>"
        f"<div class='kpi'>Total profit 总利润 (CNY)<b>{_cny(p.get('total_profit_cny'))}</b></div>"
        f"<div class='kpi'>Top 20 % share 前20%利润占比<b>{'' if share is None else f'{share:.1%}'}</b></div>"
        f"<div class='kpi'>Loss-makers 亏损客户<b>{_int(p.get('loss_making_customers'))}</b></div>"
        f"<div class='kpi'>Their drain 亏损额 (CNY)<b>{_cny(p.get('loss_makers_drain_cny'))}</b></div>"
        "</div>"
    )
    return "<h2>The 80/20 view 二八分析</h2>" + kpis + charts.div(fig, "pareto")


def _movement_section(data: ReportData, charts: _Charts) -> str:
    if not data.movements:
        return ("<h2>Tier movements 层级变动</h2><p class='note'>No earlier build date to compare with "
                "无可比较的上一构建日.</p>")
    flows = data.movements["flows"]
    tiers = [t["tier"] for t in data.tiers] or sorted({f["to_tier"] for f in flows} - {"-"})
    fig = go.Figure()
    for movement, label in MOVEMENT_LABELS.items():
        per_tier = {t: 0 for t in tiers}
        for f in flows:
            if f["movement"] == movement:
                key = f["from_tier"] if movement == "exit" else f["to_tier"]
                per_tier[key] = per_tier.get(key, 0) + f["customers"]
        sign = -1 if movement in ("downgrade", "exit") else 1
        fig.add_bar(name=label, x=list(per_tier), y=[sign * v for v in per_tier.values()],
                    marker_color=MOVEMENT_COLOURS[movement])
    fig.update_layout(title=f"Tier movements since {data.movements['previous_as_of_date']} "
                            f"自上一构建日以来的层级变动", barmode="relative",
                      xaxis={"title": "Tier (to; from for exits) 层级"},
                      yaxis={"title": "Customers 客户数 (− = down/out 降级/退出)"},
                      legend={"orientation": "h", "y": -0.2})
    rows = [[MOVEMENT_LABELS.get(f["movement"], f["movement"]), f["from_tier"], f["to_tier"], _int(f["customers"])]
            for f in flows]
    table = _table(["Movement 变动", "From 原层级", "To 新层级", "Customers 客户数"], rows, {3})
    return "<h2>Tier movements 层级变动</h2>" + charts.div(fig, "movements") + table


_PROFILE_FEATURES = (("median_aum_cny", "Median AUM 资产中位数"), ("median_profit_cny", "Median profit 利润中位数"),
                     ("avg_digital_share", "Digital share 数字渠道占比"),
                     ("avg_product_count", "Products 产品数"), ("median_frequency_90d", "Transactions 90d 交易次数"))


def _zscores(columns: list[list[float]]) -> list[list[float]]:
    out = []
    for col in columns:
        mean = sum(col) / len(col)
        sd = (sum((v - mean) ** 2 for v in col) / len(col)) ** 0.5
        out.append([(v - mean) / sd if sd else 0.0 for v in col])
    return out


def _cluster_section(data: ReportData, charts: _Charts) -> str:
    if not data.clusters:
        return ""
    profiles = data.clusters["profiles"]
    ylabels = [f"#{p['cluster_id']} {p['label'] or ''}" for p in profiles]
    if data.clusters["features"] and all(p["centroid"] for p in profiles):
        xlabels = data.clusters["features"]
        z = [p["centroid"] for p in profiles]
        note = "Model centroids in the standardised feature space 模型质心(标准化特征)"
    else:  # no stored model: the profile figures standardised across clusters
        xlabels = [label for _, label in _PROFILE_FEATURES]
        cols = _zscores([[float(p[key] or 0) for p in profiles] for key, _ in _PROFILE_FEATURES])
        z = [[cols[j][i] for j in range(len(cols))] for i in range(len(profiles))]
        note = "Profile figures standardised across clusters 各群画像指标标准化"
    # Beyond 3 standard deviations one outlying cluster would wash out every other cell.
    fig = go.Figure(go.Heatmap(z=z, x=xlabels, y=ylabels, colorscale="RdBu", reversescale=True, zmid=0, zmin=-3,
                               zmax=3, colorbar={"title": "z"}))
    fig.update_layout(title="Cluster profiles 客群画像 (standardised 标准化)", height=max(360, 60 * len(profiles)),
                      yaxis={"autorange": "reversed"})
    rows = [[p["cluster_id"], p["label"], p["offer"], _int(p["customers"]), f"{p['share']:.1%}",
             _cny(p["median_aum_cny"]), _cny(p["median_profit_cny"])] for p in profiles]
    table = _table(["Cluster 群", "Label 标签", "Standard offer 标准方案", "Customers 客户数", "Share 占比",
                    "Median AUM 资产中位数", "Median profit 利润中位数"], rows, {3, 4, 5, 6})
    return (f"<h2>Clusters 客群</h2><p class='note'>{_esc(note)}; model {_esc(data.clusters['model_id'])}</p>"
            + charts.div(fig, "clusters") + table)


def _campaign_section(data: ReportData, charts: _Charts) -> str:
    if not data.campaigns and not data.suppressions:
        return ""
    sizes: dict[str, int] = {}
    for c in data.campaigns:
        sizes[c["campaign"]] = sizes.get(c["campaign"], 0) + c["customers"]
    campaigns = sorted(set(sizes) | {s["campaign"] for s in data.suppressions})
    fig = go.Figure()
    fig.add_bar(name="On the list 入选", x=campaigns, y=[sizes.get(c, 0) for c in campaigns], marker_color="#2e7d32")
    for reason in sorted({s["reason"] for s in data.suppressions}):
        by_campaign = {s["campaign"]: s["customers"] for s in data.suppressions if s["reason"] == reason}
        fig.add_bar(name=f"Suppressed 排除: {reason}", x=campaigns, y=[by_campaign.get(c, 0) for c in campaigns])
    fig.update_layout(title="Campaign lists and suppressions 营销名单与排除原因", barmode="stack",
                      yaxis={"title": "Customers 客户数"}, legend={"orientation": "h", "y": -0.25})
    rows = [[c["campaign"], c["channel"], _int(c["customers"])] for c in data.campaigns]
    table = _table(["Campaign 活动", "Channel 渠道", "Customers 客户数"], rows, {2})
    srows = [[s["campaign"], s["reason"], _int(s["customers"])] for s in data.suppressions]
    stable = _table(["Campaign 活动", "Reason 排除原因", "Customers 客户数"], srows, {2}) if srows else ""
    return "<h2>Campaign lists 营销名单</h2>" + charts.div(fig, "campaigns") + table + stable


def _quality_section(data: ReportData, docs_href: str | None) -> str:
    q = data.quality
    if not q:
        return ("<h2>Data quality 数据质量</h2>"
                "<p class='fail'>The gate did not run for this date 本日未执行质量检查.</p>")
    verdict = ("<b class='pass'>PASSED 通过</b>" if q["passed"] else "<b class='fail'>FAILED 未通过</b>")
    link = f" · <a href='{_esc(docs_href)}'>Data Docs 数据文档</a>" if docs_href else ""
    out = (f"<h2>Data quality 数据质量</h2><p>Gate 质量门: {verdict} — {_int(q['expectations'])} expectations 检查项, "
           f"{_int(q['critical_failures'])} critical 严重, {_int(q['warnings'])} warnings 警告{link}</p>")
    if q["failed"]:
        rows = [[f["severity"], f["suite"], f["expectation"], f["column"] or "", f["unexpected_count"] or "",
                 f["unexpected_percent"] or "", f["observed_value"] or ""] for f in q["failed"]]
        out += _table(["Severity 级别", "Suite 套件", "Expectation 检查", "Column 字段", "Unexpected 异常数",
                       "Unexpected % 异常比例", "Observed 观测值"], rows, {4, 5})
    else:
        out += "<p class='note'>No failed expectations 无失败检查项.</p>"
    return out


def _load_section(data: ReportData, charts: _Charts) -> str:
    if not data.loads:
        return ""
    fig = go.Figure()
    sources = [lo["source"] for lo in data.loads]
    fig.add_bar(name="Loaded 已加载", y=sources, x=[lo["loaded"] for lo in data.loads], orientation="h",
                marker_color="#2e7d32")
    fig.add_bar(name="Quarantined 隔离", y=sources, x=[lo["quarantined"] for lo in data.loads], orientation="h",
                marker_color="#c62828")
    fig.update_layout(title="Load audit: rows loaded and quarantined per source 加载审计", barmode="group",
                      xaxis={"title": "Rows 行数", "type": "log"}, height=max(360, 28 * len(sources) + 140),
                      legend={"orientation": "h", "y": -0.15})
    rows = [[lo["source"], _int(lo["read"]), _int(lo["loaded"]), _int(lo["quarantined"]), lo["status"]]
            for lo in data.loads]
    table = _table(["Source 来源", "Read 读取", "Loaded 加载", "Quarantined 隔离", "Status 状态"], rows, {1, 2, 3})
    return "<h2>Load audit 加载审计</h2>" + charts.div(fig, "loads") + table


def _model_section(data: ReportData, charts: _Charts) -> str:
    m = data.models
    if not m:
        return ""
    out = "<h2>Models 模型</h2>"
    dist = m.get("distribution") or []
    for model in sorted({d["model"] for d in dist}):
        fig = go.Figure()
        for tier in dict.fromkeys(d["tier"] for d in dist if d["model"] == model):
            counts = {d["bucket"]: d["customers"] for d in dist if d["model"] == model and d["tier"] == tier}
            fig.add_bar(name=tier, x=[f"{(b - 1) / 10:.1f}–{b / 10:.1f}" for b in range(1, 11)],
                        y=[counts.get(b, 0) for b in range(1, 11)], marker_color=TIER_COLOURS.get(tier))
        fig.update_layout(title=f"{model}: score distribution per tier 各层级评分分布", barmode="group",
                          xaxis={"title": f"{m.get('score_column')} 评分"}, yaxis={"title": "Customers 客户数"})
        out += charts.div(fig, "scores-" + re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-"))
    for entry in m.get("registry") or []:
        scorers = entry["figures"]
        headers = list(dict.fromkeys(k for figures in scorers.values() for k in figures))
        rows = [[name] + [_fmt(figures.get(h)) for h in headers] for name, figures in scorers.items()]
        out += (f"<h3>{_esc(entry['model'])} v{_esc(entry['version'])}: validated on {_esc(entry['validated_on'])} "
                f"(trained as of {_esc(entry['trained_as_of'])}, {_int(entry['training_rows'])} rows) "
                f"验证结果 — model beside its baselines 模型与基线对比</h3>")
        out += _table(["Scorer 评分方法"] + headers, rows, set(range(1, len(headers) + 1)))
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def render(data: ReportData, docs_href: str | None = None) -> str:
    charts = _Charts()
    body = "".join([
        _tier_section(data, charts),
        _pareto_section(data, charts),
        _movement_section(data, charts),
        _cluster_section(data, charts),
        _campaign_section(data, charts),
        _quality_section(data, docs_href),
        _load_section(data, charts),
        _model_section(data, charts),
    ])
    run = f" · run {_esc(data.run_id)}" if data.run_id else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>CRM daily report {data.as_of_date} 客户关系日报</title><style>{_CSS}</style></head><body>"
        f"<h1>CRM daily report 客户关系日报 — {data.as_of_date}</h1>"
        f"<p class='note'>Aggregates only, no personal data 仅含汇总数据,不含个人信息{run}</p>"
        f"{body}</body></html>"
    )


def write(data: ReportData, reports_dir: Path) -> Path:
    """Write ``<reports_dir>/<date>/index.html`` (atomically: a reader never sees half a report)."""
    out = reports_dir / data.as_of_date.isoformat() / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    docs = reports_dir / "data_docs" / "index.html"
    text = render(data, docs_href="../data_docs/index.html" if docs.exists() else None)
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    log.info("report for %s written to %s (%.1f MB)", data.as_of_date, out, out.stat().st_size / 1e6)
    return out


def write_index(reports_dir: Path) -> Path:
    """``<reports_dir>/index.html``: every dated report, newest first, with the docs sites beside them."""
    dates = sorted((p.parent.name for p in reports_dir.glob("*/index.html")
                    if p.parent.name[:4].isdigit()), reverse=True)
    items = "".join(f"<li><a href='{_esc(d)}/index.html'>{_esc(d)}</a></li>" for d in dates)
    links = [("data_docs/index.html", "Data quality docs 数据质量文档 (GX Data Docs)"),
             ("dbt_docs/index.html", "Warehouse docs 数据仓库文档 (dbt docs: crm docs)")]
    docs = "".join(f"<li><a href='{h}'>{t}</a></li>" for h, t in links if (reports_dir / h).exists())
    text = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>CRM reports 客户关系报告</title>"
            f"<style>{_CSS}</style></head><body><h1>CRM reports 客户关系报告</h1>"
            f"<h2>Daily reports 日报</h2><ul>{items}</ul><h2>Documentation 文档</h2><ul>{docs}</ul></body></html>")
    out = reports_dir / "index.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
