"""Have the day's channel files arrived? The check behind the DAG's sensor, free of Airflow.

The sensor pokes ``check_arrival`` until every file is there. Each logical date has a deadline
(``deadline_hours`` after the end of the business day, Asia/Shanghai); once it has passed, the
check stops waiting and fails with the names of the missing files, so a backfill of an old date
with a missing file fails at once instead of waiting out the sensor's timeout.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from python_tasks.ingest.feeds import FEEDS, Feed
from python_tasks.ingest.watermarks import BANK_TZ, end_of_day

log = logging.getLogger(__name__)

ENV_DEADLINE_HOURS = "CRM_DROP_DEADLINE_HOURS"
ENV_POKE_SECONDS = "CRM_DROP_POKE_SECONDS"
DEFAULT_DEADLINE_HOURS = 6.0  # files are due by 06:00 the morning after the business day
DEFAULT_POKE_SECONDS = 300


class MissingDropError(FileNotFoundError):
    """A feed's file for the logical date has not arrived (by its deadline)."""


@dataclass(frozen=True)
class ArrivalPolicy:
    deadline_hours: float = DEFAULT_DEADLINE_HOURS
    poke_seconds: int = DEFAULT_POKE_SECONDS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ArrivalPolicy:
        env = dict(os.environ if env is None else env)
        return cls(float(env.get(ENV_DEADLINE_HOURS, DEFAULT_DEADLINE_HOURS)),
                   int(env.get(ENV_POKE_SECONDS, DEFAULT_POKE_SECONDS)))

    def deadline(self, logical_date: date) -> datetime:
        return end_of_day(logical_date) + timedelta(hours=self.deadline_hours)

    def sensor_timeout_seconds(self, logical_date: date, now: datetime) -> float:
        """How long a sensor started ``now`` may wait (at least one poke)."""
        return max((self.deadline(logical_date) - now).total_seconds(), 1.0)


def drop_path(landing_dir: Path, logical_date: date, feed: Feed) -> Path:
    return Path(landing_dir) / logical_date.isoformat() / feed.filename()


def missing_drops(landing_dir: Path, logical_date: date, feeds: Iterable[Feed]) -> list[Path]:
    return [p for p in (drop_path(landing_dir, logical_date, f) for f in feeds) if not p.exists()]


def check_arrival(landing_dir: Path, logical_date: date, *, feeds: tuple[str, ...] | None = None,
                  policy: ArrivalPolicy | None = None,
                  now: Callable[[], datetime] = lambda: datetime.now(BANK_TZ)) -> bool:
    """True when every file is there; False to keep waiting; MissingDropError after the deadline."""
    policy = policy or ArrivalPolicy.from_env()
    missing = missing_drops(landing_dir, logical_date, [FEEDS[n] for n in (feeds or tuple(FEEDS))])
    if not missing:
        return True
    deadline = policy.deadline(logical_date)
    names = ", ".join(str(m) for m in missing)
    if now() >= deadline:
        raise MissingDropError(
            f"channel file drop(s) for {logical_date} still missing at the deadline {deadline.isoformat()}: "
            f"{names}. Ask the channel team to resend, then clear this task to load the date.")
    log.info("waiting for %s (deadline %s)", names, deadline.isoformat())
    return False
