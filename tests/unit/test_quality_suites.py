"""The suite files in expectations/ and the loader's checks on them (no database needed)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from python_tasks.config import EXPECTATIONS_DIR
from python_tasks.quality.gx_runner import slice_query
from python_tasks.quality.suites import SuiteError, build_gx_suite, load_suites, parse_suite

TIERS = ["gold", "profit", "potential", "common", "unprofitable"]


@pytest.fixture(scope="module")
def specs():
    return {s.name: s for s in load_suites(EXPECTATIONS_DIR)}


@pytest.fixture(scope="module")
def gx_context():
    import great_expectations as gx

    return gx.get_context(mode="ephemeral")


def rules(spec) -> set[tuple]:
    """(type, column, severity, bounds/value set) for each expectation, order-free."""
    out = set()
    for e in spec.raw["expectations"]:
        kw = e["kwargs"]
        column = kw.get("column") or (",".join(kw["column_list"]) if "column_list" in kw else None)
        extra = (kw.get("min_value"), kw.get("max_value"), tuple(kw.get("value_set") or ()),
                 kw.get("regex"))
        out.add((e["type"], column, e["meta"]["severity"], extra))
    return out


def test_three_suites_with_their_targets(specs) -> None:
    assert {n: (s.qualified_table, s.date_column) for n, s in specs.items()} == {
        "customer_value": ("marts.mart_customer_value", "as_of_date"),
        "customer_tier": ("marts.mart_customer_tier", "as_of_date"),
        "campaign_members": ("exports.campaign_members", "as_of_date"),
    }


def test_customer_value_rules(specs) -> None:
    none = (None, None, (), None)
    assert rules(specs["customer_value"]) == {
        ("expect_table_row_count_to_be_between", None, "critical", (1, None, (), None)),
        ("expect_column_values_to_not_be_null", "customer_id", "critical", none),
        ("expect_column_values_to_be_unique", "customer_id", "critical", none),
        ("expect_column_values_to_be_between", "aum_cny", "critical", (0, None, (), None)),
        ("expect_column_values_to_be_between", "loan_exposure_cny", "critical",
         (0, None, (), None)),
        ("expect_column_values_to_be_between", "r_score", "critical", (1, 5, (), None)),
        ("expect_column_values_to_be_between", "f_score", "critical", (1, 5, (), None)),
        ("expect_column_values_to_be_between", "m_score", "critical", (1, 5, (), None)),
        ("expect_column_values_to_be_between", "digital_share", "critical", (0, 1, (), None)),
        ("expect_column_values_to_be_between", "product_count", "warning", (1, 20, (), None)),
        ("expect_column_values_to_be_between", "tenure_months", "warning", (0, None, (), None)),
    }


def test_customer_tier_rules(specs) -> None:
    none = (None, None, (), None)
    assert rules(specs["customer_tier"]) == {
        ("expect_table_row_count_to_be_between", None, "critical", (1, None, (), None)),
        ("expect_column_values_to_not_be_null", "customer_id", "critical", none),
        ("expect_column_values_to_be_unique", "customer_id", "critical", none),
        ("expect_column_values_to_be_in_set", "tier_code", "critical",
         (None, None, tuple(TIERS), None)),
        ("expect_column_values_to_not_be_null", "policy_version", "critical", none),
        ("expect_column_values_to_not_be_null", "reason_codes", "critical", none),
        ("expect_column_values_to_not_be_null", "tier_name_zh", "warning", none),
    }


def test_campaign_members_rules(specs) -> None:
    none = (None, None, (), None)
    assert rules(specs["campaign_members"]) == {
        ("expect_table_row_count_to_be_between", None, "critical", (0, None, (), None)),
        ("expect_column_values_to_not_be_null", "customer_id", "critical", none),
        ("expect_column_values_to_not_be_null", "mobile", "critical", none),
        ("expect_compound_columns_to_be_unique", "campaign_code,customer_id", "critical", none),
        ("expect_column_values_to_be_in_set", "channel", "critical",
         (None, None, ("sms", "phone", "email", "app"), None)),
        ("expect_column_values_to_match_regex", "mobile", "critical",
         (None, None, (), r"^1[3-9][0-9]{9}$")),
        ("expect_column_values_to_be_in_set", "tier_code", "critical",
         (None, None, tuple(TIERS), None)),
        ("expect_column_values_to_not_be_null", "reason", "warning", none),
    }


def test_gx_builds_every_expectation_with_native_severity(specs, gx_context) -> None:
    for spec in specs.values():
        suite = build_gx_suite(spec)
        assert len(suite.expectations) == spec.expectation_count
        assert [e.severity.value for e in suite.expectations] == [
            e["meta"]["severity"] for e in spec.raw["expectations"]
        ]
        assert suite.meta["table"] == spec.qualified_table


def test_slice_query_filters_one_date(specs) -> None:
    from datetime import date

    query = slice_query(specs["customer_tier"], date(2024, 6, 30))
    assert query == (
        'SELECT * FROM "marts"."mart_customer_tier" WHERE "as_of_date" = DATE \'2024-06-30\''
    )


def _raw() -> dict:
    return json.loads((EXPECTATIONS_DIR / "customer_tier.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["expectations"][0]["meta"].pop("severity"), "meta.severity"),
        (lambda r: r["expectations"][0]["meta"].update(severity="info"), "meta.severity"),
        (lambda r: r["expectations"][0].update(severity="warning"), "but severity="),
        (lambda r: r["meta"].update(table="mart_customer_tier"), "schema.table"),
        (lambda r: r["meta"].update(table="marts.x; drop table y"), "plain SQL identifier"),
        (lambda r: r["meta"].pop("date_column"), "date_column"),
        (lambda r: r.update(name=""), "no name"),
    ],
    ids=["no-severity", "info-severity", "native-disagrees", "no-schema", "injection",
         "no-date-column", "no-name"],
)
def test_parse_rejects_broken_suites(mutate, message) -> None:
    raw = _raw()
    mutate(raw)
    with pytest.raises(SuiteError, match=message):
        parse_suite(raw, Path("customer_tier.json"))


def test_unknown_expectation_type_is_an_error_not_a_silent_drop(gx_context) -> None:
    raw = copy.deepcopy(_raw())
    raw["expectations"].append(
        {"type": "expect_no_such_thing", "kwargs": {}, "meta": {"severity": "critical"}}
    )
    spec = parse_suite(raw, Path("customer_tier.json"))
    with pytest.raises(SuiteError, match="accepted 7 of 8"):
        build_gx_suite(spec)


def test_load_rejects_empty_dir_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no suite files"):
        load_suites(tmp_path)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(_raw()), encoding="utf-8")
    with pytest.raises(SuiteError, match="duplicate suite names"):
        load_suites(tmp_path)
