"""The dbt tasks' preparation: schemas exist before two Cosmos tasks can race to create them."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from python_tasks.transform.dbt_build import ensure_dbt_schemas

pytestmark = pytest.mark.integration


def _manifest(tmp_path: Path) -> Path:
    nodes = {
        "model.p.a": {"resource_type": "model", "schema": "stg"},
        "model.p.b": {"resource_type": "model", "schema": "marts"},
        "seed.p.c": {"resource_type": "seed", "schema": "ref"},
        "snapshot.p.d": {"resource_type": "snapshot", "schema": "snapshots"},
        "test.p.e": {"resource_type": "test", "schema": "dbt_test__audit"},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def test_creates_the_schemas_of_models_seeds_and_snapshots_only(fresh_db: str, tmp_path: Path) -> None:
    assert ensure_dbt_schemas(fresh_db, _manifest(tmp_path)) == ["marts", "ref", "snapshots", "stg"]
    with psycopg.connect(fresh_db) as conn:
        present = {r[0] for r in conn.execute("select nspname from pg_namespace")}
    assert {"marts", "ref", "snapshots", "stg"} <= present
    assert "dbt_test__audit" not in present


def test_runs_at_the_same_moment_do_not_fail(fresh_db: str, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ensure_dbt_schemas(fresh_db, manifest), range(8)))
    assert all(r == results[0] for r in results)


def test_a_missing_manifest_says_how_to_make_one(fresh_db: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="crm dbt-parse"):
        ensure_dbt_schemas(fresh_db, tmp_path / "manifest.json")

