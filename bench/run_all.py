"""Run every benchmark at its default scale: `make bench`."""
from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ["bench.pipeline_benchmark", "--customers", "10000", "--days", "90"],
    ["bench.load_benchmark", "--rows", "1000000"],
    # 1,000,000 customers take about 75 minutes and 60 GB here: run that scale by hand.
    ["bench.dbt_scale_benchmark", "--customers", "100000", "--days", "30"],
    ["bench.clv_backtest", "--customers", "10000", "--days", "90", "--holdout-days", "30"],
]

if __name__ == "__main__":
    failed = 0
    for module, *args in BENCHMARKS:
        print(f"== {module} {' '.join(args)}", flush=True)
        failed |= subprocess.run([sys.executable, "-m", module, *args]).returncode
    sys.exit(1 if failed else 0)
