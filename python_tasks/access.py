"""Postgres roles the warehouse grants to. Created here so dbt grants never point at nothing."""
from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from python_tasks.db import connect

log = logging.getLogger(__name__)

# Who may do what: BI reads marts, marketing reads contact data for exports.
ROLES: dict[str, str] = {
    "crm_bi_reader": "BI tools: read the contract-enforced marts",
    "crm_marketing_export": "Marketing export: read campaign lists and contactability",
    "crm_relationship_manager": "Relationship managers: their own customers in mart_rm_book (row-level security)",
}


def ensure_roles(dsn: str) -> list[str]:
    """Create missing NOLOGIN group roles; returns the ones created."""
    created = []
    with connect(dsn, autocommit=True) as conn:
        for role, why in ROLES.items():
            if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
                continue
            try:
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
                conn.execute(sql.SQL("comment on role {} is {}").format(sql.Identifier(role), sql.Literal(why)))
                created.append(role)
            except psycopg.errors.DuplicateObject:
                pass  # another run created it at the same moment
            except psycopg.errors.InsufficientPrivilege as exc:
                raise PermissionError(
                    f"cannot create role {role}: {exc}. Ask the DBA to run `create role {role} nologin`."
                ) from exc
    if created:
        log.info("created roles %s", created)
    return created
