"""Settings read once from the environment, at the edge (CLI or Airflow task adapter)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
DAGS_DIR = REPO_ROOT / "dags"


@dataclass(frozen=True)
class Settings:
    """Where things live. Every path can be moved with an environment variable."""

    home: Path
    landing_dir: Path
    export_dir: Path
    reports_dir: Path
    pg_dsn: str | None
    source_dsn: str | None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("CRM_HOME", REPO_ROOT / ".crm")).resolve()
        return cls(
            home=home,
            landing_dir=Path(env.get("CRM_LANDING_DIR", home / "landing")).resolve(),
            export_dir=Path(env.get("CRM_EXPORT_DIR", home / "exports")).resolve(),
            reports_dir=Path(env.get("CRM_REPORTS_DIR", home / "reports")).resolve(),
            pg_dsn=env.get("CRM_PG_DSN") or None,
            source_dsn=env.get("CRM_SOURCE_DSN") or None,
        )
