"""The fold's column lists against the corrections table the dbt project defines.

The fold (python_tasks/transform/late_corrections.py) names every column it moves; the table and
the running-total mapping live in dbt_project/macros/customer_day_corrections.sql. A column added
there and not here would stay behind in a deleted correction: lost.
"""
from __future__ import annotations

import re

from python_tasks.config import DBT_PROJECT_DIR
from python_tasks.transform.late_corrections import DAY_VALUES, RUNNING_TOTALS, _moved_sql, _update_sql

MACROS = (DBT_PROJECT_DIR / "macros" / "customer_day_corrections.sql").read_text("utf-8")
# Columns that say where and when a correction applies, not what it adds.
KEYS = {"customer_id", "correction_date", "absorbed_from", "adds_balance", "balance_day_delta", "has_txn",
        "_logical_date"}


def _table_columns() -> set[str]:
    body = re.search(r"create table if not exists \{\{ corrections \}\} \((.*?)\);", MACROS, re.S).group(1)
    return {line.split()[0] for line in body.strip().splitlines()}


def _running_totals() -> dict[str, str]:
    body = re.search(r"macro customer_day_running_totals\(\).*?return\(\{(.*?)\}\)", MACROS, re.S).group(1)
    return dict(re.findall(r"'(\w+)': '(\w+)'", body))


def test_every_value_column_of_the_table_is_moved():
    assert _table_columns() - KEYS == set(DAY_VALUES)


def test_the_running_totals_are_the_projects():
    assert RUNNING_TOTALS == _running_totals()


def test_every_stored_column_the_fold_touches_is_set_once():
    update = _update_sql()
    targets = re.findall(r"^\s*(?:set )?(\w+) = (?:stored\.|greatest\()", update, re.M)
    assert len(targets) == len(set(targets))
    assert set(targets) == {"has_balance", "last_txn_date", *DAY_VALUES, *RUNNING_TOTALS}
    moved = _moved_sql()
    for cum, delta in RUNNING_TOTALS.items():
        assert f"sum(f.{delta}) as d_{cum}" in moved
