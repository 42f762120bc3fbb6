"""Critical path first: the order dbt's queue hands ready nodes to its threads."""
import json
import threading

import networkx as nx
import pytest
from dbt.graph.queue import GraphQueue

from python_tasks.transform import dbt_schedule
from python_tasks.transform.dbt_schedule import chain_seconds, critical_path_scores, node_seconds


def _daily_build() -> nx.DiGraph:
    """The shape of the next day at 1M: a shallow side model beside a deep, slow chain."""
    return nx.DiGraph([
        ("fct_transactions", "test_fct"), ("test_fct", "txn_days"), ("txn_days", "customer_days"),
        ("customer_days", "windows"), ("windows", "value"),
        ("stg_customers", "snapshot"), ("snapshot", "dim_customer"), ("dim_customer", "value"),
    ])


SECONDS = {"fct_transactions": 9.7, "test_fct": 0.4, "txn_days": 6.4, "customer_days": 41.7,
           "windows": 11.1, "value": 8.4, "stg_customers": 0.2, "snapshot": 6.4, "dim_customer": 6.3}


def test_a_chain_counts_its_own_time_and_its_slowest_branch():
    chain = chain_seconds(_daily_build(), SECONDS)
    assert chain["value"] == pytest.approx(8.4)
    assert chain["customer_days"] == pytest.approx(41.7 + 11.1 + 8.4)
    assert chain["fct_transactions"] == pytest.approx(9.7 + 0.4 + 6.4 + 41.7 + 11.1 + 8.4)
    assert chain["snapshot"] == pytest.approx(6.4 + 6.3 + 8.4)


def test_a_node_the_last_build_did_not_time_counts_one_second():
    chain = chain_seconds(nx.DiGraph([("new_model", "new_test")]), {})
    assert chain == {"new_model": 2.0, "new_test": 1.0}


def test_the_slow_chain_ranks_before_the_shallow_side_model():
    scores = critical_path_scores(_daily_build(), SECONDS)
    # dbt's own order ranks by depth: the snapshot (depth 1) before customer_days (depth 3).
    assert scores["customer_days"] < scores["snapshot"]
    assert scores["fct_transactions"] < scores["stg_customers"]
    assert all(isinstance(score, int) for score in scores.values())


def test_timings_come_from_an_earlier_run_results(tmp_path):
    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"results": [
        {"unique_id": "model.crm.int_customer_days", "execution_time": 41.7},
        {"unique_id": "test.crm.not_null_x", "execution_time": None},
    ]}))
    assert node_seconds(run_results) == {"model.crm.int_customer_days": 41.7, "test.crm.not_null_x": 0.0}
    assert node_seconds(tmp_path / "missing.json") == {}
    (tmp_path / "broken.json").write_text("{")
    assert node_seconds(tmp_path / "broken.json") == {}


def _ready_order(graph: nx.DiGraph) -> list[str]:
    queue = GraphQueue(graph, manifest=None, selected=set(graph))
    order = []
    while not queue.inner.empty():
        order.append(queue.inner.get()[1])
    return order


def test_installed_dbt_queue_hands_out_the_critical_path_first(tmp_path, monkeypatch):
    # dbt's own scoring for the baseline (importing the DAGs installs ours), restored after the test.
    monkeypatch.setattr(GraphQueue, "_get_scores", getattr(GraphQueue._get_scores, "__wrapped__", GraphQueue._get_scores))
    graph = nx.DiGraph([("a_side", "a_side_child"), ("z_critical", "z_critical_child")])
    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"results": [
        {"unique_id": "a_side", "execution_time": 3.0}, {"unique_id": "a_side_child", "execution_time": 1.0},
        {"unique_id": "z_critical", "execution_time": 40.0}, {"unique_id": "z_critical_child", "execution_time": 9.0},
    ]}))
    assert _ready_order(graph) == ["a_side", "z_critical"]  # dbt's own: same depth, by name

    assert dbt_schedule.install(run_results, threads=2)
    assert _ready_order(graph) == ["z_critical", "a_side"]
    assert dbt_schedule.install(run_results, threads=2)  # again: still one layer over dbt's own
    assert GraphQueue._get_scores.__wrapped__.__qualname__ == "GraphQueue._get_scores"
    assert GraphQueue.get.__wrapped__.__qualname__ == "GraphQueue.get"


class _Manifest:
    """What GraphQueue.get asks of a manifest: the node, to tell a microbatch model."""

    def expect(self, unique_id):
        return unique_id


def test_a_node_leaves_the_queue_only_when_a_thread_is_free(tmp_path, monkeypatch):
    """dbt's main loop takes every ready node at once into its pool's first-in-first-out queue.
    With one thread busy on `first`, the side node must stay in the queue until the thread is
    free, so that `first`'s slow child, ready by then, goes ahead of it."""
    for name in ("_get_scores", "get"):
        monkeypatch.setattr(GraphQueue, name, getattr(getattr(GraphQueue, name), "__wrapped__", getattr(GraphQueue, name)))
    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"results": [
        {"unique_id": "first", "execution_time": 5.0}, {"unique_id": "slow_child", "execution_time": 40.0},
        {"unique_id": "side", "execution_time": 3.0},
    ]}))
    dbt_schedule.install(run_results, threads=1)
    graph = nx.DiGraph([("first", "slow_child")])
    graph.add_node("side")
    queue = GraphQueue(graph, _Manifest(), set(graph))
    assert queue.get() == "first"

    taken = []
    main_loop = threading.Thread(target=lambda: taken.append(queue.get()))
    main_loop.start()
    main_loop.join(timeout=0.3)
    assert taken == []  # the one thread is busy: nothing leaves the queue

    queue.mark_done("first")
    main_loop.join(timeout=5)
    assert taken == ["slow_child"]


def test_off_keeps_dbts_own_order(tmp_path, monkeypatch):
    for name in ("_get_scores", "get"):
        monkeypatch.setattr(GraphQueue, name, getattr(getattr(GraphQueue, name), "__wrapped__", getattr(GraphQueue, name)))
    monkeypatch.setenv("CRM_DBT_CRITICAL_PATH", "off")
    assert not dbt_schedule.install(tmp_path / "run_results.json", threads=2)
    assert not hasattr(GraphQueue.get, "__wrapped__")
