"""Load the channel drops a warehouse has never seen, for the dates before its first daily run.

A new installation starts its daily runs on one date, but the bank's channel systems have
dropped files for months before it: contact-centre calls, campaign responses, consent changes
and RM meetings that the point-in-time features count over windows of up to a year. This loads
every date folder under the landing directory before ``until``, oldest first, each file through
the normal loader (same checks, quarantine and audit; a date loaded again replaces its batch).
Each feed is loaded on a connection of its own, two feeds at a time: the feeds are separate raw
tables, and one date's four small files cost more in round trips than in work.
"""
from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from python_tasks.db import connect
from python_tasks.ingest.arrival import MissingDropError, drop_path, missing_drops
from python_tasks.ingest.bootstrap import ensure_ops_schema
from python_tasks.ingest.feeds import FEEDS, Feed
from python_tasks.ingest.landing import load_file

log = logging.getLogger(__name__)

_DATE_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
PARALLEL_FEEDS = 2


def history_dates(landing_dir: Path, until: date) -> list[date]:
    """The date folders under ``landing_dir`` dated before ``until``, oldest first."""
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing directory {landing_dir} does not exist: set CRM_LANDING_DIR")
    dates = [date.fromisoformat(p.name) for p in landing_dir.iterdir()
             if p.is_dir() and _DATE_FOLDER.fullmatch(p.name)]
    return sorted(d for d in dates if d < until)


def _load_feed(warehouse_dsn: str, landing_dir: Path, feed: Feed, dates: list[date], run_id: str) -> int:
    with connect(warehouse_dsn) as conn:
        for day in dates:
            load_file(conn, feed, drop_path(landing_dir, day, feed), day, f"{run_id}-{day}")
    return len(dates)


def load_landing_history(warehouse_dsn: str, landing_dir: Path, until: date, run_id: str) -> int:
    """Load every date folder before ``until``; returns how many dates were loaded. A date with
    a file missing is an error naming the files, before anything is loaded."""
    dates = history_dates(landing_dir, until)
    feeds = list(FEEDS.values())
    missing = [m for day in dates for m in missing_drops(landing_dir, day, feeds)]
    if missing:
        raise MissingDropError(
            f"{len(missing)} channel file(s) missing before {until}, e.g. {missing[0]}: "
            "restore them, or load the history from a later date"
        )
    with connect(warehouse_dsn) as conn:
        ensure_ops_schema(conn)
        conn.commit()
    with ThreadPoolExecutor(max_workers=PARALLEL_FEEDS) as pool:
        futures = [pool.submit(_load_feed, warehouse_dsn, landing_dir, feed, dates, run_id) for feed in feeds]
        for future in futures:
            future.result()
    log.info("channel history: %d dates x %d feeds loaded before %s", len(dates), len(feeds), until)
    return len(dates)
