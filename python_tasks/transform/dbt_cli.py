"""``dbt``, with the critical path first (dbt_schedule): ``python -m python_tasks.transform.dbt_cli build``.

The arguments are dbt's. Node timings come from the run_results.json of the target path the
build writes to (``--target-path``, else DBT_TARGET_PATH, else the project's target/); the
threads from ``--threads``, else the profile in ``--profiles-dir``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from python_tasks.transform import dbt_schedule
from python_tasks.transform.dbt_build import dbt_threads


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def target_path(argv: list[str]) -> Path:
    project_dir = Path(_option(argv, "--project-dir") or Path.cwd())
    return Path(_option(argv, "--target-path") or os.environ.get("DBT_TARGET_PATH") or project_dir / "target")


def threads(argv: list[str]) -> int:
    given = _option(argv, "--threads")
    return int(given) if given else dbt_threads(Path(_option(argv, "--profiles-dir") or Path.cwd()))


def main() -> None:
    argv = sys.argv[1:]
    dbt_schedule.install(target_path(argv) / "run_results.json", threads(argv))
    from dbt.cli.main import cli

    # As dbt's own console script: dbt's exit codes (0 success, 1 a node failed, 2 an error).
    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
