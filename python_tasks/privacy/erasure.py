"""Erasure everywhere: an erased customer keeps no personal data in any layer, nor in a file.

Core banking sends an erasure as a tombstone (``is_deleted``) in the customer feed. dbt nulls the
personal columns in staging and in every snapshot version and leaves erased customers out of the
marts; this step does what dbt does not own, after the marts are built and before the day's lists:

- raw: the personal columns of every stored version, in raw.corebank__customers and
  raw.corebank__contact_details (the key and the tombstone stay, so the next build honours it);
- the campaign lists: the customer's rows on every earlier date's list;
- export files already written: each CSV and Parquet file that listed the customer is rewritten
  without them, its manifest records the rewrite (rows removed, when, which run; no customer id),
  and ops.export_log carries the new row count and checksum;
- an audit row per customer and run date in ops.erasure_log, written only when something changed.

It then checks every table of every layer that has a personal column: any value left for an
erased customer fails the task, naming the tables, so no list is built on top of it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from psycopg import sql

from python_tasks.db import connect
from python_tasks.exports.files import write_private

log = logging.getLogger(__name__)

# The personal columns of the core system's customer and contact tables (the snapshots'
# meta.personal_columns list the same): they go; keys, dates and status stay.
PERSONAL_COLUMNS = ("full_name", "gender", "birth_date", "resident_id", "city", "occupation",
                    "mobile", "email", "address")
RAW_TABLES = ("raw.corebank__customers", "raw.corebank__contact_details")
LAYERS = ("raw", "stg", "int", "marts", "snapshots", "exports")

DDL = """
create schema if not exists ops;
create table if not exists ops.erasure_log (
    customer_id      text not null,
    as_of_date       date not null,
    run_id           text not null,
    raw_rows         bigint not null,
    list_rows        bigint not null,
    files_rewritten  bigint not null,
    applied_at       timestamptz not null default now(),
    primary key (customer_id, as_of_date)
);
"""


class ErasureIncomplete(RuntimeError):
    pass


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is not None


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position", (schema, name))]


def erased_customers(conn: psycopg.Connection) -> list[str]:
    """Every customer core banking ever sent a tombstone for (an erasure is never undone)."""
    if not _exists(conn, "raw.corebank__customers"):
        return []
    return [r[0] for r in conn.execute(
        "select distinct customer_id from raw.corebank__customers where is_deleted and customer_id is not null")]


def personal_data_of(dsn: str, customer_ids: list[str], schemas: tuple[str, ...] = LAYERS) -> dict[str, int]:
    """Per table with a customer_id and a personal column: rows that hold a personal value of one
    of ``customer_ids``. Empty when nothing is left."""
    found: dict[str, int] = {}
    if not customer_ids:
        return found
    with connect(dsn) as conn:
        tables = conn.execute(
            """
            select c.table_schema, c.table_name, array_agg(c.column_name::text order by c.ordinal_position)
            from information_schema.columns c
            join information_schema.tables t using (table_schema, table_name)
            where c.table_schema = any(%s) and c.column_name = any(%s)
              and t.table_type in ('BASE TABLE', 'VIEW')
              and exists (select 1 from information_schema.columns k where k.table_schema = c.table_schema
                          and k.table_name = c.table_name and k.column_name = 'customer_id')
            group by 1, 2 order by 1, 2
            """, (list(schemas), list(PERSONAL_COLUMNS))).fetchall()
        for schema, table, columns in tables:
            held = sql.SQL(" or ").join(
                sql.SQL("({} is not null and {}::text <> '')").format(sql.Identifier(c), sql.Identifier(c))
                for c in columns)
            n = conn.execute(sql.SQL("select count(*) from {} where customer_id = any(%s) and ({})").format(
                sql.Identifier(schema, table), held), (customer_ids,)).fetchone()[0]
            if n:
                found[f"{schema}.{table}"] = n
    return found


def _null_raw(conn: psycopg.Connection, erased: list[str]) -> dict[str, int]:
    """Null the personal columns of every raw version; rows changed per customer."""
    changed: dict[str, int] = defaultdict(int)
    for table in RAW_TABLES:
        if not _exists(conn, table):
            continue
        columns = [c for c in _columns(conn, table) if c in PERSONAL_COLUMNS]
        if not columns:
            continue
        schema, name = table.split(".")
        stmt = sql.SQL("update {} set {} where customer_id = any(%s) and ({}) returning customer_id").format(
            sql.Identifier(schema, name),
            sql.SQL(", ").join(sql.SQL("{} = null").format(sql.Identifier(c)) for c in columns),
            sql.SQL(" or ").join(sql.SQL("{} is not null").format(sql.Identifier(c)) for c in columns))
        for (customer_id,) in conn.execute(stmt, (erased,)).fetchall():
            changed[customer_id] += 1
    return changed


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite_csv(path: Path, erased: set[str]) -> int:
    """Rewrite a campaign CSV without the erased customers' lines; returns lines removed."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    key = header.index("customer_id")
    kept = [r for r in body if r[key] not in erased]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(kept)
    write_private(path, out.getvalue().encode("utf-8-sig"))
    return len(body) - len(kept)


def _rewrite_parquet(path: Path, erased: set[str]) -> int:
    table = pq.read_table(path)
    kept = table.filter(pc.invert(pc.is_in(table.column("customer_id"), value_set=pa.array(sorted(erased)))))
    out = pa.BufferOutputStream()
    pq.write_table(kept, out)
    write_private(path, out.getvalue().to_pybytes())
    return table.num_rows - kept.num_rows


def _rewrite_files(conn: psycopg.Connection, list_date: date, campaign_code: str, erased: set[str],
                   run_id: str, as_of_date: date) -> int:
    """Rewrite the date's files of one campaign without ``erased``; returns files rewritten."""
    if not _exists(conn, "ops.export_log"):
        return 0
    paths = conn.execute(
        "select distinct file_path, file_format from ops.export_log where as_of_date = %s and campaign_code = %s",
        (list_date, campaign_code)).fetchall()
    rewritten, removed, rows_left = 0, 0, None
    for file_path, file_format in paths:
        path = Path(file_path)
        if not path.exists():
            log.warning("%s (listed in ops.export_log) is gone: nothing to rewrite", path)
            continue
        if file_format == "csv":
            removed = _rewrite_csv(path, erased)
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows_left = sum(1 for _ in csv.reader(fh)) - 1
        elif file_format == "parquet":
            removed = max(removed, _rewrite_parquet(path, erased))
            rows_left = pq.read_metadata(path).num_rows
        else:
            raise ErasureIncomplete(f"{path}: unknown export format {file_format!r}; rewrite it by hand")
        conn.execute("update ops.export_log set rows_exported = %s, sha256 = %s where file_path = %s",
                     (rows_left, _sha256(path), file_path))
        rewritten += 1
    if rewritten:
        _record_in_manifest(Path(paths[0][0]).parent / f"{campaign_code}.manifest.json", removed, rows_left,
                            run_id, as_of_date)
    return rewritten


def _record_in_manifest(manifest_path: Path, removed: int, rows_left: int | None, run_id: str,
                        as_of_date: date) -> None:
    if not manifest_path.exists():
        return
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    folder = manifest_path.parent
    for f in manifest.get("files", []):
        f["sha256"] = _sha256(folder / f["path"])
    if rows_left is not None:
        manifest["rows"] = rows_left
    manifest.setdefault("erasures", []).append({
        "reason": "erasure request",
        "rows_removed": removed,
        "applied_at": datetime.now(UTC).isoformat(),
        "run_id": run_id,
        "as_of_date": as_of_date.isoformat(),
    })
    write_private(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))


def apply_erasures(dsn: str, as_of_date: date, run_id: str) -> dict[str, int]:
    """Apply every erasure received so far (idempotent); then fail if personal data is left."""
    with connect(dsn) as conn:
        conn.execute(DDL)
        erased = erased_customers(conn)
        lists: list[tuple[date, str, list[str]]] = []
        if erased and _exists(conn, "exports.campaign_members"):
            lists = conn.execute(
                "select as_of_date, campaign_code, array_agg(customer_id order by customer_id) "
                "from exports.campaign_members where customer_id = any(%s) group by 1, 2 order by 1, 2",
                (erased,)).fetchall()
        files: dict[str, int] = defaultdict(int)
        list_rows: dict[str, int] = defaultdict(int)
        total_files = 0
        # Files first: if a rewrite fails, the transaction rolls back and the next run finds the
        # same list rows and rewrites again.
        for list_date, campaign_code, customers in lists:
            n = _rewrite_files(conn, list_date, campaign_code, set(customers), run_id, as_of_date)
            total_files += n
            for c in customers:
                files[c] += n
                list_rows[c] += 1
        if lists:
            conn.execute("delete from exports.campaign_members where customer_id = any(%s)", (erased,))
        raw_rows = _null_raw(conn, erased) if erased else {}
        changed = sorted(set(raw_rows) | set(list_rows))
        with conn.cursor() as cur:
            cur.executemany(
                """
                insert into ops.erasure_log (customer_id, as_of_date, run_id, raw_rows, list_rows, files_rewritten)
                values (%s, %s, %s, %s, %s, %s)
                on conflict (customer_id, as_of_date) do update set run_id = excluded.run_id,
                    raw_rows = excluded.raw_rows, list_rows = excluded.list_rows,
                    files_rewritten = excluded.files_rewritten, applied_at = now()
                """,
                [(c, as_of_date, run_id, raw_rows.get(c, 0), list_rows.get(c, 0), files.get(c, 0)) for c in changed])
    left = personal_data_of(dsn, erased)
    if left:
        raise ErasureIncomplete(
            "personal data of erased customers is still stored in "
            + ", ".join(f"{t} ({n} rows)" for t, n in left.items())
            + ": the table's model or loader must null it (see docs/data-guarantees.md, Erasure)."
        )
    report = {"erased_customers": len(erased), "customers": len(changed), "raw_rows": sum(raw_rows.values()),
              "list_rows": sum(list_rows.values()), "files_rewritten": total_files}
    log.info("erasure for %s: %s", as_of_date, report)
    return report
