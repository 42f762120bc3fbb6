"""``dbt``, with the critical path first (dbt_schedule): ``python -m python_tasks.transform.dbt_cli build``.

The arguments are dbt's. Node timings come from the run_results.json of the target path the
build writes to (``--target-path``, else DBT_TARGET_PATH, else the project's target/).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from python_tasks.transform import dbt_schedule


def _target_path(argv: list[str]) -> Path:
    if "--target-path" in argv:
        return Path(argv[argv.index("--target-path") + 1])
    project_dir = Path(argv[argv.index("--project-dir") + 1]) if "--project-dir" in argv else Path.cwd()
    return Path(os.environ.get("DBT_TARGET_PATH") or project_dir / "target")


def main() -> None:
    dbt_schedule.install(_target_path(sys.argv[1:]) / "run_results.json")
    from dbt.cli.main import cli

    # As dbt's own console script: dbt's exit codes (0 success, 1 a node failed, 2 an error).
    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
