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


def test_a_hint_brings_the_tests_of_its_parent_with_it_as_dbt_compiles_it():
    # fact -> t_fact (a test of fact); side needs nothing. A hint `side after fact` makes dbt wait
    # for fact's test too, and it takes the only thread before side.
    graph = Graph.from_summary({"with_test_edges": {
        "0": {"name": "model.p.fact", "succ": [1]},
        "1": {"name": "test.p.t_fact", "succ": []},
        "2": {"name": "model.p.side", "succ": []},
    }})
    seconds = {"model.p.fact": 2.0, "test.p.t_fact": 3.0, "model.p.side": 1.0}
    hinted = graph.with_hints([(0, 2)])
    assert 2 in hinted.children[1]  # the test edge dbt adds
    result = replay(graph, seconds, threads=1, extra_edges=[(0, 2)])
    assert _starts(result) == {"fact": 0.0, "t_fact": 2.0, "side": 5.0}


def test_a_deeper_node_turning_ready_with_a_shallower_one_queues_after_it_whatever_its_name():
    # R (5 s) on one thread; p0 -> p1 -> q_blocker hold the other. When R ends, z_shallow (depth 1)
    # and a_deep (depth 2, through p0 -> p1) turn ready together for one free thread.
    graph = Graph.from_summary({"with_test_edges": {
        "0": {"name": "model.p.r", "succ": [4, 5]},
        "1": {"name": "model.p.p0", "succ": [2, 3]},
        "2": {"name": "model.p.p1", "succ": [4]},
        "3": {"name": "model.p.q_blocker", "succ": []},
        "4": {"name": "model.p.a_deep", "succ": []},
        "5": {"name": "model.p.z_shallow", "succ": []},
    }})
    seconds = {"model.p.r": 5.0, "model.p.p0": 1.0, "model.p.p1": 1.0, "model.p.q_blocker": 10.0,
               "model.p.a_deep": 1.0, "model.p.z_shallow": 1.0}
    starts = _starts(replay(graph, seconds, threads=2))
    assert (starts["q_blocker"], starts["z_shallow"], starts["a_deep"]) == (2.0, 5.0, 6.0)


def test_dbts_own_time_per_node_adds_to_each_node_on_a_thread():
    graph = Graph.from_summary(SUMMARY)
    assert replay(graph, SECONDS, threads=1, per_node_s=0.5).end_s == sum(SECONDS.values()) + 6 * 0.5


def test_a_hint_on_a_node_that_did_not_run_or_no_threads_is_refused():
    graph = Graph.from_summary(SUMMARY)
    ran = {k: v for k, v in SECONDS.items() if k != "model.p.x1"}
    with pytest.raises(ValueError, match="x1"):
        replay(graph, ran, threads=2, extra_edges=[(graph.node("x1"), graph.node("long_b"))])
    with pytest.raises(ValueError, match="threads"):
        replay(graph, SECONDS, threads=0)
