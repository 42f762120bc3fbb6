"""The benchmark's profile of a dbt build: node timeline and per-node statements."""
from bench.dbt_profile import node_statements, render_statements, render_timeline, timeline


def _result(node: str, thread: str, start: str, end: str) -> dict:
    return {
        "unique_id": f"model.crm_warehouse.{node}",
        "thread_id": f"{thread} (worker)",
        "timing": [
            {"name": "compile", "started_at": f"2026-09-30T00:00:{start}Z",
             "completed_at": f"2026-09-30T00:00:{start}Z"},
            {"name": "execute", "started_at": f"2026-09-30T00:00:{start}Z",
             "completed_at": f"2026-09-30T00:00:{end}Z"},
        ],
    }


def test_timeline_orders_nodes_by_start_from_the_first_one():
    run = {"results": [
        _result("int_customer_days", "Thread-2", "12.0", "50.0"),
        _result("fct_daily_balances", "Thread-1", "02.0", "11.5"),
        {"unique_id": "model.crm_warehouse.skipped", "timing": []},
    ]}
    spans = timeline(run)
    assert [(s.name, s.start_s, s.end_s, s.thread) for s in spans] == [
        ("fct_daily_balances", 0.0, 9.5, "Thread-1"),
        ("int_customer_days", 10.0, 48.0, "Thread-2"),
    ]
    table = render_timeline(spans, min_seconds=10.0)
    assert table[2:] == ["| 10.0 | 48.0 | 38.0 | Thread-2 | int_customer_days |"]


LOG = """\
10:00:00.000001 [info ] [MainThread]: Running with dbt=1.11.16
10:00:01.000000 [debug] [Thread-1 (]: Began running node model.crm_warehouse.int_customer_days
10:00:02.000000 [debug] [Thread-1 (]: SQL status: SELECT 99 in 9.000 seconds
10:00:03.000000 [debug] [Thread-1 (]: Finished running node model.crm_warehouse.int_customer_days
10:00:04.000000 [info ] [MainThread]: Running with dbt=1.11.16
10:00:05.000000 [debug] [Thread-1 (]: Began running node model.crm_warehouse.int_customer_days
10:00:05.500000 [debug] [Thread-2 (]: Began running node model.crm_warehouse.dim_customer
10:00:06.000000 [debug] [Thread-1 (]: SQL status: SELECT 1155019 in 18.659 seconds
10:00:06.100000 [debug] [Thread-2 (]: SQL status: INSERT 0 3825 in 0.226 seconds
10:00:07.000000 [debug] [Thread-1 (]: SQL status: INSERT 0 1155019 in 5.443 seconds
10:00:07.100000 [debug] [Thread-1 (]: SQL status: COMMIT in 0.001 seconds
10:00:08.000000 [debug] [Thread-1 (]: Finished running node model.crm_warehouse.int_customer_days
10:00:09.000000 [debug] [Thread-1 (]: SQL status: SELECT 1 in 0.300 seconds
"""


def test_statements_of_one_node_from_the_last_run_only():
    statements = node_statements(LOG.splitlines(), "int_customer_days")
    assert [(s.status, s.seconds) for s in statements] == [
        ("SELECT 1155019", 18.659), ("INSERT 0 1155019", 5.443), ("COMMIT", 0.001)]
    assert render_statements(statements) == "24.1 s in 3 statements; SELECT 1155019 18.7s, INSERT 0 1155019 5.4s"
    every_run = node_statements(LOG.splitlines(), "int_customer_days", last_run_only=False)
    assert every_run[0].status == "SELECT 99"
