"""The report page: every section present when its data is, self-contained, bilingual."""
from __future__ import annotations

import re
from datetime import date

from python_tasks.reporting import report_html
from python_tasks.reporting.report_data import ReportData


def _data() -> ReportData:
    d = ReportData(as_of_date=date(2026, 9, 30), run_id="manual__x")
    d.tiers = [
        {"tier": "gold", "name_en": "Gold", "name_zh": "金牌", "rank": 1, "customers": 10, "aum_cny": 9e6,
         "profit_cny": 5e5, "at_risk": 1},
        {"tier": "common", "name_en": "Common", "name_zh": "普通", "rank": 4, "customers": 90, "aum_cny": 1e6,
         "profit_cny": 1e4, "at_risk": 5},
    ]
    d.pareto = {"customers": 100, "total_profit_cny": 5.1e5, "top_20pct_profit_cny": 4.5e5,
                "top_20pct_profit_share": 0.8824, "loss_making_customers": 3, "loss_makers_drain_cny": 900.0}
    d.lorenz = [{"customer_share": i / 100, "profit_share": min(1.0, (i / 100) ** 0.3)} for i in range(1, 101)]
    d.movements = {"previous_as_of_date": "2026-09-29",
                   "flows": [{"movement": "upgrade", "from_tier": "common", "to_tier": "gold", "customers": 2},
                             {"movement": "exit", "from_tier": "common", "to_tier": "-", "customers": 1}]}
    d.clusters = {"model_id": "m1", "features": [], "profiles": [
        {"cluster_id": c, "customers": 50, "share": 0.5, "label": f"label {c}", "offer": "offer",
         "median_aum_cny": 100.0 * (c + 1), "median_profit_cny": 10.0, "avg_digital_share": 0.5,
         "avg_product_count": 2.0 + c, "median_frequency_90d": 3.0, "centroid": None} for c in (0, 1)]}
    d.campaigns = [{"campaign": "GOLD_REVIEW", "channel": "phone", "customers": 8}]
    d.suppressions = [{"campaign": "GOLD_REVIEW", "reason": "do_not_contact", "customers": 2}]
    d.quality = {"run_id": "manual__x", "expectations": 20, "critical_failures": 1, "warnings": 0, "passed": False,
                 "failed": [{"suite": "marts", "expectation": "expect_column_values_to_not_be_null",
                             "column": "tier_code", "severity": "critical", "unexpected_count": "3",
                             "unexpected_percent": "3.0", "observed_value": None}]}
    d.loads = [{"source": "core.customers", "read": 100, "loaded": 99, "quarantined": 1, "status": "loaded"}]
    return d


def test_every_section_renders_with_its_chart_and_bilingual_titles():
    page = report_html.render(_data(), docs_href="../data_docs/index.html")
    for chart in ("tiers", "pareto", "movements", "clusters", "campaigns", "loads"):
        assert f"data-chart='{chart}'" in page
    for heading in ("Tiers 客户分层", "The 80/20 view 二八分析", "Tier movements 层级变动", "Clusters 客群",
                    "Campaign lists 营销名单", "Data quality 数据质量", "Load audit 加载审计"):
        assert f"<h2>{heading}</h2>" in page
    for chart_title in ("Pareto (Lorenz) curve", "Tier movements since 2026-09-29"):
        assert chart_title in page
    assert "FAILED 未通过" in page and "expect_column_values_to_not_be_null" in page
    assert "href='../data_docs/index.html'" in page
    assert "88.2%" in page  # the KPI and the marked point on the curve


def test_plotly_is_embedded_once_and_nothing_loads_from_the_network():
    page = report_html.render(_data())
    assert page.count("plotly.js v") == 1  # the library's banner, once
    tags = re.findall(r"<script\b[^>]*>", page)
    assert tags and all("src=" not in tag for tag in tags)


def test_sections_without_data_are_left_out_not_faked():
    d = ReportData(as_of_date=date(2026, 9, 30), run_id=None)
    page = report_html.render(d)
    assert "data-chart=" not in page
    assert "The gate did not run" in page and "No earlier build date" in page


def test_labels_are_escaped():
    d = _data()
    d.clusters["profiles"][0]["label"] = "<script>alert(1)</script>"
    assert "<script>alert(1)</script>" not in report_html.render(d)
