"""The notifier behind the CRM DAGs' failure callbacks (destinations: python_tasks.alerts)."""
from __future__ import annotations

from airflow.sdk import BaseNotifier

from python_tasks.alerts import Alert, send
from python_tasks.run_date import BUSINESS_DATE_PARAM, BusinessDateError, resolve_business_date


class CrmAlertNotifier(BaseNotifier):
    """Send an :class:`Alert` of ``kind`` built from the failed task's or run's context."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def render_template_fields(self, context, jinja_env=None) -> None:
        # Nothing here is templated. (`airflow dags test` also hands DAG callbacks a serialized
        # DAG, which has no template environment to render with.)
        return None

    def notify(self, context) -> None:
        run = context.get("dag_run")
        ti = context.get("ti") or context.get("task_instance")
        params = context.get("params") or {}
        try:
            day = resolve_business_date(params.get(BUSINESS_DATE_PARAM), getattr(run, "logical_date", None),
                                        getattr(run, "run_after", None)).isoformat()
        except BusinessDateError:
            day = None
        error = context.get("exception") or context.get("reason")
        send(Alert(
            kind=self.kind,
            dag_id=getattr(run, "dag_id", None) or context["dag"].dag_id,
            run_id=getattr(run, "run_id", ""),
            business_date=day,
            task_id=getattr(ti, "task_id", None) if self.kind != "run_failed" else None,
            error=str(error) if error else None,
            log_url=getattr(ti, "log_url", None) if self.kind != "run_failed" else None,
        ))
