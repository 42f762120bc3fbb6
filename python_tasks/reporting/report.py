"""Build the run report for a date: aggregates from the warehouse, one offline HTML file."""
from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

from python_tasks.reporting import report_data, report_html

log = logging.getLogger(__name__)


def build_report(dsn: str, as_of_date: date, reports_dir: Path, run_id: str | None = None) -> Path:
    """Write ``<reports_dir>/<date>/index.html``; ``run_id`` picks the run's ops rows (else the latest)."""
    started = time.perf_counter()
    data = report_data.collect(dsn, as_of_date, run_id)
    if not data.tiers:  # a run that failed before the marts still gets its gate and load sections
        log.warning("marts.mart_customer_tier holds no rows for %s: the report shows the loads and the gate only",
                    as_of_date)
    path = report_html.write(data, reports_dir)
    report_html.write_index(reports_dir)
    log.info("report built in %.2fs", time.perf_counter() - started)
    return path
