"""Watermarks of the incremental core-banking extract: which rows each logical date owns.

A position is ``(updated_at, key)``: the row's last-change time, ties broken by its primary key
(as text, in the "C" collation so the order never depends on a locale). Positions are totally
ordered, so a boundary that falls inside a group of rows sharing one ``updated_at`` still splits
them cleanly: each row is on exactly one side.

The window rule (per source table; ``D`` is the logical date being loaded):

* lower bound, exclusive: the high position of the latest loaded date before ``D``; the very
  beginning if there is none.
* upper bound, inclusive: the low position of the earliest loaded date after ``D`` if there is
  one (``D`` is being re-run or backfilled behind a later date), otherwise every row with
  ``updated_at`` before the end of ``D`` in the bank's time zone.
* the high position stored for ``D`` is that upper bound when a later date pins it, otherwise the
  last position actually moved (or the lower bound when nothing moved). Storing what was moved,
  not the calendar cut, means a row committed late at the very end of ``D`` is still picked up by
  the next date.

So loaded dates always tile the position line without gap or overlap, whatever order they run in:
re-running a date moves the same rows again (it cannot reach into a later date's window) and a
date first run behind a later one gets only what the later one left (nothing, when the later run
already pulled it). To split history into per-date batches, backfill in date order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

BANK_TZ = ZoneInfo("Asia/Shanghai")
# Before any row a core system holds. In UTC: Asia/Shanghai in 1900 was local mean time (+08:05:43),
# which reads like a corrupt offset in the load log.
EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Position:
    updated_at: datetime
    key: str  # '' sorts before every real key: (t, '') is "just before anything at t"

    def __str__(self) -> str:
        return f"{self.updated_at.isoformat()}/{self.key!r}"


START = Position(EPOCH, "")


@dataclass(frozen=True)
class Window:
    low: Position  # exclusive
    high: Position | None  # inclusive; None: up to the cutoff
    cutoff: datetime  # exclusive bound on updated_at when ``high`` is None

    @property
    def pinned(self) -> bool:
        return self.high is not None


def end_of_day(logical_date: date) -> datetime:
    """The first instant after the business day in the bank's time zone (an exclusive bound)."""
    return datetime.combine(logical_date + timedelta(days=1), datetime.min.time(), BANK_TZ)


def window_for(wh: psycopg.Connection, source: str, logical_date: date) -> Window:
    before = wh.execute(
        """
        select high_wm, high_key from ops.watermarks
        where source = %s and logical_date < %s order by logical_date desc limit 1
        """,
        (source, logical_date),
    ).fetchone()
    after = wh.execute(
        """
        select low_wm, low_key from ops.watermarks
        where source = %s and logical_date > %s order by logical_date limit 1
        """,
        (source, logical_date),
    ).fetchone()
    low = Position(before[0], before[1]) if before else START
    high = Position(after[0], after[1]) if after else None
    return Window(low=low, high=high, cutoff=end_of_day(logical_date))


def record(wh: psycopg.Connection, *, source: str, logical_date: date, window: Window, high: Position,
           rows: int, run_id: str) -> None:
    wh.execute(
        """
        insert into ops.watermarks (source, logical_date, low_wm, low_key, high_wm, high_key, rows_moved, run_id)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (source, logical_date) do update
           set low_wm = excluded.low_wm, low_key = excluded.low_key,
               high_wm = excluded.high_wm, high_key = excluded.high_key,
               rows_moved = excluded.rows_moved, run_id = excluded.run_id, loaded_at = now()
        """,
        (source, logical_date, window.low.updated_at, window.low.key, high.updated_at, high.key, rows, run_id),
    )
