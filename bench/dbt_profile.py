"""Where a dbt build's time went: a timeline of its nodes, and the statements of one node.

    python -m bench.dbt_profile bench/results/dbt_scale_benchmark_1000000_next_day_run_results.json
    python -m bench.dbt_profile RUN_RESULTS --log dbt_project/logs/dbt.log --node int_customer_balance_days

The timeline (from dbt's run_results.json) shows when each node started and ended on which
thread, so the critical path and the waits for a thread can be read off it; the statement list
(from dbt's debug log, which prints every statement's status and duration) splits one model into
its hooks, query, insert and analyse. The scale benchmark writes both for its builds, so a slow
day comes with its profile.
"""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, order=True)
class NodeSpan:
    start_s: float  # offset from the first node's start
    end_s: float
    thread: str
    name: str

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Statement:
    status: str  # what Postgres answered, e.g. "INSERT 0 583142"
    seconds: float


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def timeline(run_results: dict) -> list[NodeSpan]:
    """Every executed node of a run, ordered by start: compile and execute, as dbt timed them."""
    spans = []
    for result in run_results["results"]:
        timing = {t["name"]: t for t in result.get("timing", [])}
        if "execute" not in timing or not timing["execute"].get("completed_at"):
            continue  # skipped, or failed before it ran
        began = timing.get("compile", timing["execute"])["started_at"]
        spans.append((_ts(began), _ts(timing["execute"]["completed_at"]),
                      (result.get("thread_id") or "").split(" ")[0], result["unique_id"].split(".")[-1]))
    if not spans:
        return []
    origin = min(s[0] for s in spans)
    return sorted(NodeSpan((s - origin).total_seconds(), (e - origin).total_seconds(), thread, name)
                  for s, e, thread, name in spans)


_LOG_LINE = re.compile(r"^\S+ \[\w+\s*\] \[(?P<thread>[\w-]+) \(\]: (?P<message>.*)$")
_STATUS = re.compile(r"^SQL status: (?P<status>.*) in (?P<seconds>[\d.]+) seconds$")


def node_statements(log_lines: list[str], node: str, *, last_run_only: bool = True) -> list[Statement]:
    """The statements dbt ran for `node` (a model name), in order, from dbt's debug log.

    The log holds every invocation since it was created: by default only the last one's."""
    if last_run_only:
        starts = [i for i, line in enumerate(log_lines) if "Running with dbt=" in line]
        log_lines = log_lines[starts[-1]:] if starts else log_lines
    running: dict[str, str] = {}  # thread -> node it runs
    found: list[Statement] = []
    for line in log_lines:
        parsed = _LOG_LINE.match(line)
        if not parsed:
            continue
        thread, message = parsed["thread"], parsed["message"]
        if message.startswith("Began running node "):
            running[thread] = message.rsplit(".", 1)[-1]
        elif message.startswith("Finished running node "):
            running.pop(thread, None)
        elif running.get(thread) == node and (status := _STATUS.match(message)):
            found.append(Statement(status["status"], float(status["seconds"])))
    return found


def render_timeline(spans: list[NodeSpan], *, min_seconds: float = 1.0) -> list[str]:
    rows = [f"| {s.start_s:.1f} | {s.end_s:.1f} | {s.seconds:.1f} | {s.thread} | {s.name} |"
            for s in spans if s.seconds >= min_seconds]
    return ["| start | end | seconds | thread | node |", "|---:|---:|---:|---|---|", *rows]


def render_statements(statements: list[Statement], *, min_seconds: float = 0.2) -> str:
    shown = [f"{s.status} {s.seconds:.1f}s" for s in statements if s.seconds >= min_seconds]
    total = sum(s.seconds for s in statements)
    return f"{total:.1f} s in {len(statements)} statements; " + ", ".join(shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_results", type=Path)
    parser.add_argument("--min-seconds", type=float, default=1.0, help="hide shorter nodes")
    parser.add_argument("--log", type=Path, help="dbt's debug log (dbt_project/logs/dbt.log)")
    parser.add_argument("--node", action="append", default=[], help="a model whose statements to list")
    args = parser.parse_args()
    print("\n".join(render_timeline(timeline(json.loads(args.run_results.read_text())),
                                    min_seconds=args.min_seconds)))
    if args.log and args.node:
        lines = args.log.read_text(errors="replace").splitlines()
        for node in args.node:
            print(f"\n{node}: {render_statements(node_statements(lines, node))}")


if __name__ == "__main__":
    main()
