"""Pure rules of the campaign exports: Excel-safe cells, catalog checks."""
from __future__ import annotations

from pathlib import Path

import pytest

from python_tasks.exports.catalog import CatalogError, load_catalog
from python_tasks.exports.files import excel_mobile, excel_safe


@pytest.mark.parametrize("value", ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tcmd"])
def test_cells_that_excel_would_evaluate_are_defused(value):
    assert excel_safe(value) == "'" + value


# Every form Excel, LibreOffice Calc or WPS evaluates: an operator first (ASCII or full-width, which
# WPS and Excel's IME input treat as the ASCII one), after any leading whitespace, or a cell that
# starts with a tab, carriage return or line feed.
@pytest.mark.parametrize("value", [
    "=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", " =1", "  +cmd|' /C calc'!A0",
    "\u3000=1", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", " \uff1dHYPERLINK(\"x\")", "\tplain",
])
def test_every_evaluated_form_is_defused(value):
    assert excel_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["张伟", "Gold customer", 42, None, "A-1", "'=already defused", ""])
def test_ordinary_cells_are_left_alone(value):
    assert excel_safe(value) == value


def test_mobile_is_grouped_so_excel_keeps_it_as_text():
    assert excel_mobile("13812345678") == "138-1234-5678"
    assert excel_mobile(None) is None
    assert excel_mobile("12345") == "12345"


def test_shipped_catalog_covers_every_tier():
    campaigns = load_catalog()
    assert {t for c in campaigns for t in c.tiers} == {"gold", "profit", "potential", "common", "unprofitable"}
    assert len({c.code for c in campaigns}) == len(campaigns)


def test_catalog_rejects_an_unknown_tier(tmp_path: Path):
    bad = tmp_path / "catalog.yml"
    bad.write_text(
        "campaigns:\n  - {code: X, name: X, tiers: [platinum], channels: [sms], reason: r}\n", encoding="utf-8"
    )
    with pytest.raises(CatalogError, match="platinum"):
        load_catalog(bad)


def test_catalog_rejects_duplicate_codes(tmp_path: Path):
    bad = tmp_path / "catalog.yml"
    bad.write_text(
        "campaigns:\n"
        "  - {code: X, name: X, tiers: [gold], channels: [sms], reason: r}\n"
        "  - {code: X, name: Y, tiers: [gold], channels: [sms], reason: r}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="duplicate"):
        load_catalog(bad)
