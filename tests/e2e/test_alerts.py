"""Failure alerts through Airflow's notifier mechanism, to a webhook receiver this test runs:
a failed quality gate and the failed run, each one alert, from a real `airflow dags test`."""
from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from python_tasks.config import DAGS_DIR
from python_tasks.orchestration import _airflow

pytestmark = [pytest.mark.e2e]

PROBE_DIR = Path(__file__).with_name("alert_probe")


@pytest.fixture
def receiver():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", received
    server.shutdown()


def test_a_failed_quality_gate_and_the_failed_run_each_send_an_alert(receiver, tmp_path):
    url, received = receiver
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__DAGS_FOLDER=str(PROBE_DIR),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__OPENLINEAGE__DISABLED="True",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'airflow.db'}",
               PYTHONPATH=os.pathsep.join([str(DAGS_DIR), os.environ.get("PYTHONPATH", "")]),
               CRM_ALERT_WEBHOOK_URL=url)
    subprocess.run([_airflow(), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    proc = subprocess.run([_airflow(), "dags", "test", "crm_alert_probe", "-c", '{"business_date": "2026-09-30"}'],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 or "failed" in proc.stdout.lower()
    kinds = sorted(alert["kind"] for alert in received)
    assert kinds == ["quality_gate_failed", "run_failed"], (kinds, proc.stdout[-3000:], proc.stderr[-3000:])
    gate = next(a for a in received if a["kind"] == "quality_gate_failed")
    assert gate["task_id"] == "quality_gate" and gate["business_date"] == "2026-09-30"
    assert "mart_customer_tier" in gate["error"] and "3 unexpected of 300" in gate["error"]
    assert gate["title"] == "[crm] crm_alert_probe data-quality gate failed for 2026-09-30"
    run = next(a for a in received if a["kind"] == "run_failed")
    assert run["dag_id"] == "crm_alert_probe" and run["business_date"] == "2026-09-30"
