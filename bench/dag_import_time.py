"""How long the dag processor takes to import each DAG file: `python -m bench.dag_import_time`.

Each round imports each DAG file in a fresh interpreter of its own (as the dag processor's child
does), timed as Airflow's own DagBag statistics report it. Prints the median per file.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from python_tasks.config import DAGS_DIR

ROUND = f"""
import json
from airflow.dag_processing.dagbag import BundleDagBag
import sys
bag = BundleDagBag(dag_folder=sys.argv[1], bundle_path={str(DAGS_DIR)!r})
assert not bag.import_errors, bag.import_errors
print(json.dumps([sum(s.duration.total_seconds() for s in bag.dagbag_stats),
                  sum(s.task_num for s in bag.dagbag_stats)]))
"""


def _ignored() -> set[str]:
    lines = (DAGS_DIR / ".airflowignore").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from python_tasks.transform.dbt_build import parse_manifest

    parse_manifest("host=localhost dbname=crm user=postgres")  # the DAGs render dbt tasks from it
    files = sorted(p for p in DAGS_DIR.glob("*.py") if p.name not in _ignored())
    rounds: list[dict] = []
    for _ in range(args.rounds):
        stats: dict = {}
        for path in files:
            out = subprocess.run([sys.executable, "-c", ROUND, str(path)], capture_output=True, text=True,
                                 check=True).stdout
            stats[path.name] = json.loads(out.strip().splitlines()[-1])
        rounds.append(stats)
    for file in sorted(rounds[0]):
        seconds = statistics.median(r[file][0] for r in rounds)
        print(f"{file:<28} {seconds:6.2f} s  ({rounds[0][file][1]} tasks, median of {args.rounds})")


if __name__ == "__main__":
    main()
