"""Where Airflow's OpenLineage provider sends its events.

``OPENLINEAGE_URL`` set: to that server (Marquez or any OpenLineage HTTP endpoint;
``OPENLINEAGE_ENDPOINT`` if it is not ``api/v1/lineage``). Otherwise one JSON file per event
under ``$CRM_HOME/lineage/``, to read or to replay into a server later.
"""
from __future__ import annotations

import json
from pathlib import Path

from python_tasks.config import Settings

NAMESPACE = "crm"


def lineage_dir(settings: Settings) -> Path:
    return settings.home / "lineage"


def openlineage_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The provider's settings for Airflow processes started with ``env``."""
    url = env.get("OPENLINEAGE_URL")
    if url:
        transport = {"type": "http", "url": url, "endpoint": env.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")}
    else:
        lineage_dir(settings).mkdir(parents=True, exist_ok=True)
        # append=False: a file per event, so processes running at once never interleave lines.
        transport = {"type": "file", "log_file_path": str(lineage_dir(settings) / "event"), "append": False}
    return {"AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": env.get("OPENLINEAGE_NAMESPACE", NAMESPACE)}


def read_events(settings: Settings) -> list[dict]:
    """Every event the file transport wrote, oldest first."""
    return [json.loads(p.read_text()) for p in sorted(lineage_dir(settings).glob("event*"))]
