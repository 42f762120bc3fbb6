"""The offline replay of dbt's build queue that scheduling hints are tried on."""
import pytest

from bench.dbt_schedule_replay import Graph, node_seconds, replay

# Two long loads and three small nodes, all without parents; `child` needs long_a.
SUMMARY = {"with_test_edges": {
    "0": {"name": "model.p.long_a", "succ": [5]},
    "1": {"name": "model.p.long_b", "succ": []},
    "2": {"name": "model.p.x1", "succ": []},
    "3": {"name": "model.p.x2", "succ": []},
    "4": {"name": "model.p.x3", "succ": []},
    "5": {"name": "model.p.child", "succ": []},
}}
SECONDS = {"model.p.long_a": 10.0, "model.p.long_b": 12.0, "model.p.x1": 1.0, "model.p.x2": 1.0,
           "model.p.x3": 1.0, "model.p.child": 5.0}


def _starts(result):
    return {span.name: span.start_s for span in result.spans}


def test_what_turned_ready_first_runs_first_in_name_order():
    graph = Graph.from_summary(SUMMARY)
    result = replay(graph, SECONDS, threads=2)
    # Both loads take the two threads; the small nodes queue before child, which turns ready
    # at 10 s and waits behind them for a thread until 12 s.
    assert _starts(result) == {"long_a": 0.0, "long_b": 0.0, "x1": 10.0, "x2": 11.0, "x3": 12.0, "child": 12.0}
    assert result.end_s == 17.0


def test_a_hint_that_holds_one_load_back_lets_the_small_nodes_go_first():
    graph = Graph.from_summary(SUMMARY)
    result = replay(graph, SECONDS, threads=2, extra_edges=[(graph.node("x3"), graph.node("long_b"))])
    starts = _starts(result)
    assert (starts["long_b"], starts["child"]) == (3.0, 10.0)
    assert result.end_s == 15.0


def test_a_hint_that_closes_a_cycle_is_refused():
    graph = Graph.from_summary(SUMMARY)
    with pytest.raises(ValueError, match="cycle"):
        replay(graph, SECONDS, threads=2, extra_edges=[(graph.node("child"), graph.node("long_a"))])


def test_a_name_must_pick_one_node():
    graph = Graph.from_summary({"with_test_edges": {
        "0": {"name": "model.p.same", "succ": []}, "1": {"name": "seed.p.same", "succ": []}}})
    with pytest.raises(SystemExit, match="2 nodes"):
        graph.node("same")
    assert graph.node("seed.p.same") == 1


def test_durations_come_from_compile_start_to_execute_end():
    run = {"results": [{"unique_id": "model.p.a", "thread_id": "Thread-1 (worker)", "timing": [
        {"name": "compile", "started_at": "2026-09-30T00:00:01Z", "completed_at": "2026-09-30T00:00:02Z"},
        {"name": "execute", "started_at": "2026-09-30T00:00:02Z", "completed_at": "2026-09-30T00:00:05.5Z"}]},
        {"unique_id": "model.p.skipped", "timing": []}]}
    assert node_seconds(run) == {"model.p.a": 4.5}
