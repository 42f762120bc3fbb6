"""Alerts to the people on call: what failed, for which business date, and where to look.

Free of Airflow: the notifier in dags/crm_alerts.py builds an :class:`Alert` from a failed
task's or run's context and calls :func:`send`. Where alerts go is set by the environment:

- ``CRM_ALERT_WEBHOOK_URL``: each alert POSTed there as JSON (a chat or incident tool's
  incoming webhook, or a relay in front of one).

With no destination set, an alert is logged and nothing else happens.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

WEBHOOK_ENV = "CRM_ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Alert:
    kind: str  # "quality_gate_failed" | "task_failed" | "run_failed"
    dag_id: str
    run_id: str
    business_date: str | None
    task_id: str | None
    error: str | None
    log_url: str | None

    @property
    def title(self) -> str:
        what = {"quality_gate_failed": "data-quality gate failed", "run_failed": "run failed"}.get(
            self.kind, f"task {self.task_id} failed")
        return f"[crm] {self.dag_id} {what} for {self.business_date or self.run_id}"


def send(alert: Alert, env: dict[str, str] | None = None) -> list[str]:
    """Deliver ``alert`` to every destination configured; returns the destinations reached.

    A destination that fails is logged, not raised: an alert must never fail the task it reports.
    """
    env = dict(os.environ if env is None else env)
    log.warning("%s: %s", alert.title, (alert.error or "").splitlines()[0] if alert.error else "")
    reached = []
    url = env.get(WEBHOOK_ENV)
    if url:
        body = json.dumps({"title": alert.title, **asdict(alert)}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS):
                reached.append("webhook")
        except OSError as exc:
            log.error("alert webhook %s unreachable (%s): the alert is only in this log", url, exc)
    return reached
