"""Critical path first: the order in which dbt hands ready nodes to its threads.

dbt ranks ready nodes by their depth in the graph, shallowest first (``GraphQueue._get_scores``).
The daily build's longest chain is deep (raw facts, their tests, the per-day histories, the
customer chain to the tier tables), so whenever a node of that chain became ready it waited for
a thread behind shallow side models and their tests: at 1M customers the next day's
``int_customer_days`` (42 s, the longest node) waited 8.4 s behind a snapshot and
``dim_customer``, and the RM book waited behind the Pareto mart (docs/BENCHMARKS.md, session 14).

Two changes to dbt's queue, and only to the choice among ready nodes (which nodes run, and
after what, stays dbt's):

* A node's rank is the length of the slowest chain it starts: its own seconds plus the slowest
  chain of its children, each node timed by the previous build's ``run_results.json`` (one
  second where unknown).
* A node is taken off the queue only when a thread is free. dbt hands every ready node to its
  thread pool at once, where it waits first in, first out, so the rank decided nothing but ties.

Threads then take the node with the longest chain first: the critical path starts as soon as
it can, and side work fills the other threads.

Used by ``python -m python_tasks.transform.dbt_cli`` (the plain build) and installed in the
Airflow task that runs Cosmos' ``dbt build`` in process (dags/crm_dbt.py).
"""
from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import networkx as nx

log = logging.getLogger(__name__)

#: Set to "off" to keep dbt's own order.
CRITICAL_PATH_ENV = "CRM_DBT_CRITICAL_PATH"

#: A node the previous build did not time (a new node, or no previous build).
UNKNOWN_NODE_SECONDS = 1.0


def node_seconds(run_results: Path) -> dict[str, float]:
    """Execution seconds per node of an earlier build; empty if there is none to read."""
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError) as exc:
        log.info("no node timings at %s (%s): every node counts %s s", run_results, exc, UNKNOWN_NODE_SECONDS)
        return {}
    return {r["unique_id"]: float(r.get("execution_time") or 0.0) for r in results if "unique_id" in r}


def chain_seconds(graph: nx.DiGraph, seconds: Mapping[str, float]) -> dict[str, float]:
    """For each node, its own seconds plus those of the slowest chain of its descendants."""
    chain: dict[str, float] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        slowest_child = max((chain[child] for child in graph.successors(node)), default=0.0)
        chain[node] = seconds.get(node, UNKNOWN_NODE_SECONDS) + slowest_child
    return chain


def critical_path_scores(graph: nx.DiGraph, seconds: Mapping[str, float]) -> dict[str, int]:
    """dbt's queue scores (lower runs first): the slowest chain first, in milliseconds."""
    return {node: -round(total * 1000) for node, total in chain_seconds(graph, seconds).items()}


def install(run_results: Path, threads: int) -> bool:
    """Make dbt's queue (this process) run the critical path first, timed by ``run_results``,
    for a build of ``threads`` threads.

    Returns False, and leaves dbt's own order, if ``CRM_DBT_CRITICAL_PATH=off`` (to compare, or
    to rule this out) or this dbt has no queue scoring to replace.
    """
    if os.environ.get(CRITICAL_PATH_ENV, "on").lower() == "off":
        log.info("%s=off: dbt keeps its own order (shallowest first)", CRITICAL_PATH_ENV)
        return False
    try:
        from dbt.graph.queue import GraphQueue
    except ImportError:
        log.warning("dbt.graph.queue not found: dbt keeps its own order (shallowest first)")
        return False
    if not all(callable(getattr(GraphQueue, name, None)) for name in ("_get_scores", "get")):
        log.warning("this dbt's GraphQueue has no _get_scores or get: dbt keeps its own order (shallowest first)")
        return False

    # Installed twice (the DAG module loads in several processes and tests): wrap dbt's own once.
    dbt_own = getattr(GraphQueue._get_scores, "__wrapped__", GraphQueue._get_scores)

    @functools.wraps(dbt_own)
    def _get_scores(queue: GraphQueue, graph: nx.DiGraph) -> dict[str, int]:
        # Read when the build starts, before it overwrites the file with its own results.
        return critical_path_scores(graph, node_seconds(run_results))

    dbt_own_get = getattr(GraphQueue.get, "__wrapped__", GraphQueue.get)

    @functools.wraps(dbt_own_get)
    def get(queue: GraphQueue, block: bool = True, timeout: float | None = None):
        # Only dbt's main loop takes nodes; every finished node notifies some_task_done.
        with queue.some_task_done:
            while len(queue.in_progress) >= threads:
                queue.some_task_done.wait()
        return dbt_own_get(queue, block, timeout)

    GraphQueue._get_scores = _get_scores  # type: ignore[method-assign]
    GraphQueue.get = get  # type: ignore[method-assign]
    return True
