"""Replay a dbt build's schedule offline: would a scheduling hint start the long nodes sooner?

    python -m bench.dbt_schedule_replay RUN_RESULTS --graph .crm/bench-dbt-target/graph_summary.json \
        --after int_customer_tier_rules mart_customer_value

dbt's build queue, as dbt-core 1.11 runs it (dbt/graph/queue.py, dbt/task/runnable.py): every node
gets a score, its depth in the graph with the test edges (graph_summary.json's
"with_test_edges"); a node turns ready when all its parents are done, and dbt hands every ready
node to its thread pool at once, the lowest (score, unique_id) first. The pool runs what it is
handed first in, first out. So a node that turns ready behind a queue of small tests waits for
all of them, and two long nodes that turn ready together start in name order. The replay runs
that queue again on the recorded node durations (compile to end of execute, from
run_results.json), with extra edges for the `-- depends_on:` hints being tried (and the test
edges dbt adds with them), and prints the timeline it would give. It assumes a node takes as
long as it did, whatever runs beside it: a hint is tried here, then measured at scale.
"""
from __future__ import annotations

import argparse
import heapq
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from bench.dbt_profile import NodeSpan, render_timeline, timeline


@dataclass(frozen=True)
class Graph:
    names: dict[int, str]  # graph_summary id -> unique_id
    children: dict[int, list[int]]

    @classmethod
    def from_summary(cls, summary: dict) -> Graph:
        nodes = summary["with_test_edges"]
        return cls(names={int(k): v["name"] for k, v in nodes.items()},
                   children={int(k): [int(c) for c in v.get("succ", [])] for k, v in nodes.items()})

    def with_hints(self, hints: list[tuple[int, int]]) -> Graph:
        """The graph as dbt would compile it with each (parent, child) hint as a `-- depends_on:`.

        dbt (compilation.py, add_test_edges) makes a data test a parent of every model, seed or
        snapshot downstream of all the nodes the test reads: a hint gives its child, and every
        node below it, the tests of the hint's parent and of that parent's ancestors too."""
        children = {k: list(v) for k, v in self.children.items()}
        for parent, child in hints:
            children[parent].append(child)
        tests = {k for k, name in self.names.items() if name.startswith("test.")}
        upstream: dict[int, set[int]] = {k: set() for k in self.names}  # parents, test edges left out
        for k, kids in children.items():
            if k not in tests:
                for c in kids:
                    upstream[c].add(k)
        tested = {t: upstream[t] for t in tests}  # what each test reads
        for node in _reachable({c for _, c in hints}, children):
            if not self.names[node].startswith(("model.", "seed.", "snapshot.")):
                continue
            ancestors = _reachable(upstream[node], upstream)
            for test in tests:
                if tested[test] and tested[test] <= ancestors and node not in children[test]:
                    children[test].append(node)
        return Graph(names=self.names, children=children)

    def node(self, name: str) -> int:
        """The id of a node given by unique_id or by its last part (a model's name)."""
        found = [k for k, v in self.names.items() if v == name or v.split(".")[-1] == name]
        if len(found) != 1:
            raise SystemExit(f"{name!r} names {len(found)} nodes of the graph: give the unique_id")
        return found[0]


@dataclass(frozen=True)
class Replay:
    end_s: float
    spans: list[NodeSpan]


def node_seconds(run_results: dict) -> dict[str, float]:
    """Each executed node's recorded duration, by unique_id (as the profile's timeline times it)."""
    by_name = {span.name: span.seconds for span in timeline(run_results)}
    return {r["unique_id"]: by_name[r["unique_id"].split(".")[-1]]
            for r in run_results["results"] if r["unique_id"].split(".")[-1] in by_name}


def replay(graph: Graph, seconds: dict[str, float], *, threads: int,
           extra_edges: list[tuple[int, int]] = (), per_node_s: float = 0.0) -> Replay:
    """The build's schedule with `extra_edges` (parent, child) added as dbt would add them (with
    their test edges); nodes that did not run are left out. `per_node_s` is added to each node's
    recorded time: dbt's own work between one node and the next on a thread."""
    if threads < 1:
        raise ValueError("threads must be at least 1")
    ran = {k for k, name in graph.names.items() if name in seconds}
    missing = [graph.names[k] for edge in extra_edges for k in edge if k not in ran]
    if missing:
        raise ValueError(f"not in the recorded run, so not replayed: {', '.join(missing)}")
    if extra_edges:
        graph = graph.with_hints(list(extra_edges))
    children = {k: [c for c in graph.children.get(k, []) if c in ran] for k in ran}
    waiting = {k: 0 for k in ran}
    for k in ran:
        for c in children[k]:
            waiting[c] += 1
    score = _depths(children, dict(waiting))

    ready = [(score[k], graph.names[k], k) for k in ran if waiting[k] == 0]
    heapq.heapify(ready)
    pool: deque[int] = deque()
    running: list[tuple[float, int, int]] = []  # (end, thread, node)
    free = list(range(threads))
    spans: list[NodeSpan] = []
    now = 0.0
    while len(spans) < len(ran) or running:
        while ready:  # dbt hands all that is ready to the pool, best score first
            pool.append(heapq.heappop(ready)[2])
        while free and pool:
            node, thread = pool.popleft(), free.pop(0)
            end = now + seconds[graph.names[node]] + per_node_s
            spans.append(NodeSpan(now, end, f"Thread-{thread + 1}", graph.names[node].split(".")[-1]))
            heapq.heappush(running, (end, thread, node))
        if not running:
            raise ValueError("the extra edges make a cycle: some nodes never turn ready")
        now, thread, node = heapq.heappop(running)
        free = sorted(free + [thread])
        for c in children[node]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (score[c], graph.names[c], c))
    return Replay(now, sorted(spans))


def _reachable(start: set[int], edges: dict[int, list[int]] | dict[int, set[int]]) -> set[int]:
    """`start` and every node reached from it along `edges`."""
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _depths(children: dict[int, list[int]], waiting: dict[int, int]) -> dict[int, int]:
    """dbt's score: the generation of a node in a topological sort (0 for nodes without parents)."""
    depth, level = {}, [k for k, n in waiting.items() if n == 0]
    generation = 0
    while level:
        following = []
        for k in level:
            depth[k] = generation
            for c in children[k]:
                waiting[c] -= 1
                if waiting[c] == 0:
                    following.append(c)
        level, generation = following, generation + 1
    return depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_results", type=Path)
    parser.add_argument("--graph", type=Path, required=True, help="graph_summary.json of the same build")
    parser.add_argument("--after", nargs=2, action="append", default=[], metavar=("PARENT", "CHILD"),
                        help="a hint to try: CHILD waits for PARENT (repeatable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--per-node-s", type=float, default=0.02,
                        help="dbt's own time per node, added to each recorded duration")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="hide shorter nodes")
    args = parser.parse_args()
    run_results = json.loads(args.run_results.read_text())
    graph = Graph.from_summary(json.loads(args.graph.read_text()))
    seconds = node_seconds(run_results)
    recorded = max(s.end_s for s in timeline(run_results))
    as_run = replay(graph, seconds, threads=args.threads, per_node_s=args.per_node_s)
    tried = replay(graph, seconds, threads=args.threads, per_node_s=args.per_node_s,
                   extra_edges=[(graph.node(p), graph.node(c)) for p, c in args.after])
    print(f"recorded {recorded:.1f} s; replayed as run {as_run.end_s:.1f} s; with the hints {tried.end_s:.1f} s\n")
    print("\n".join(render_timeline(tried.spans, min_seconds=args.min_seconds)))


if __name__ == "__main__":
    main()
