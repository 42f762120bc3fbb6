"""The generated date window, named random streams and timestamp formatting.

Times are held as numpy ``datetime64[s]`` in Asia/Shanghai wall-clock time (China has had no
daylight saving since 1991, so the offset is always +08:00) and only get their offset when
formatted.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

DAY_S = 86_400
DB_OFFSET = "+08"
ISO_OFFSET = "+08:00"


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per purpose, so changing one part of the model does not shift
    the random numbers every later part sees."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @classmethod
    def ending(cls, end: date, days: int) -> Window:
        if days < 1:
            raise ValueError("days must be >= 1")
        return cls(end - timedelta(days=days - 1), end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start64(self) -> np.datetime64:
        return np.datetime64(self.start, "D")

    @property
    def dates(self) -> np.ndarray:
        """datetime64[D] for every day of the window."""
        return self.start64 + np.arange(self.days)

    def day_of(self, rel_day: np.ndarray | int) -> np.ndarray:
        """Relative day numbers (0 = start, negative = before the window) to datetime64[D]."""
        return self.start64 + np.asarray(rel_day, dtype=np.int64)

    def ts(self, rel_day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Local wall-clock datetime64[s] from a relative day and seconds after midnight."""
        base = self.day_of(rel_day).astype("datetime64[s]")
        return base + np.asarray(seconds, dtype=np.int64).astype("timedelta64[s]")

    @property
    def last_ts(self) -> np.datetime64:
        """23:59:59 on the last business day. The source is a snapshot taken at the end of
        end_date, so nothing in it was recorded later than this."""
        return (self.start64 + self.days).astype("datetime64[s]") - np.timedelta64(1, "s")


def fmt_dates(d: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(d, dtype="datetime64[D]"), unit="D")


def fmt_db_ts(ts: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DDTHH:MM:SS+08', which Postgres reads as timestamptz."""
    s = np.datetime_as_string(np.asarray(ts, dtype="datetime64[s]"), unit="s")
    return np.strings.add(s, DB_OFFSET)


def fmt_iso_ts(ts: np.ndarray) -> np.ndarray:
    """ISO 8601 with the offset spelled out, as the channel systems write it."""
    s = np.datetime_as_string(np.asarray(ts, dtype="datetime64[s]"), unit="s")
    return np.strings.add(s, ISO_OFFSET)


def day_of_month(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype="datetime64[D]")
    return (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def weekday(d: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (np.asarray(d, dtype="datetime64[D]").astype(np.int64) + 3) % 7


def years_before(d: date, years: float) -> np.datetime64:
    return np.datetime64(d, "D") - np.int64(round(years * 365.25))
