"""What serving guarantees cost: the contact mart replaced in place against a table swap, and the
gate's list fingerprint, at a given scale. Plain SQL on a throw-away database.

    python -m bench.serving_bench --rows 1000000 [--dsn "host=127.0.0.1 user=postgres dbname=postgres"]
"""
from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import date

import psycopg
from psycopg import sql

from python_tasks.quality.gate_record import FINGERPRINT_SQL
from python_tasks.warehouse import with_dbname

# The shape of marts.mart_customer_contactability.
_ROWS = """
select date '2026-09-30' as as_of_date, 'C' || lpad(i::text, 8, '0') as customer_id, '张伟' || i as full_name,
       '138' || lpad(i::text, 8, '0') as mobile, 'u' || i || '@example.com' as email, 'sms' as preferred_channel,
       i %% 10 <> 0 as is_contactable, case when i %% 10 = 0 then 'do_not_contact' end as suppression_reason
from generate_series(1, %(n)s) as i
"""
_MEMBERS = """
select date '2026-09-30' as as_of_date, 'CMP' || (i %% 5) as campaign_code, 'C' || lpad(i::text, 8, '0') as customer_id,
       '张伟' || i as full_name, '138' || lpad(i::text, 8, '0') as mobile, 'sms' as channel, 'gold' as tier_code,
       i %% 6 as cluster_id, 'high AUM; AUM_HIGH' as reason
from generate_series(1, %(n)s) as i
"""


def _timed(conn: psycopg.Connection, statements: list[str], n: int) -> float:
    started = time.perf_counter()
    with conn.transaction():
        for s in statements:
            conn.execute(s, {"n": n})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    args = parser.parse_args()
    name = f"serving_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(with_dbname(args.dsn, name)) as conn:
            conn.execute("create table contact as " + _ROWS, {"n": args.rows})
            conn.execute("create view masked as select customer_id, left(full_name, 1) as name from contact")
            conn.execute("create table members as " + _MEMBERS, {"n": args.rows})
            conn.commit()
            swap, in_place, fingerprint = [], [], []
            for _ in range(args.repeat):
                swap.append(_timed(conn, [
                    "create table contact__new as " + _ROWS,
                    "alter table contact rename to contact__old",
                    "alter table contact__new rename to contact",
                    "drop table contact__old cascade",
                ], args.rows))
                conn.execute("create view masked as select customer_id, left(full_name, 1) as name from contact")
                conn.commit()
                in_place.append(_timed(conn, ["delete from contact", "insert into contact " + _ROWS], args.rows))
                # A day apart, autovacuum has reclaimed the deleted rows: measure from that state.
                with psycopg.connect(with_dbname(args.dsn, name), autocommit=True) as maintenance:
                    maintenance.execute("vacuum contact")
                started = time.perf_counter()
                conn.execute(FINGERPRINT_SQL.replace("exports.campaign_members", "members"),
                             (date(2026, 9, 30),)).fetchone()
                fingerprint.append(time.perf_counter() - started)
                conn.commit()
        print(f"rows: {args.rows:,}; median of {args.repeat}")
        print(f"contact mart, table swap (drops the view): {statistics.median(swap):.2f} s")
        print(f"contact mart, replaced in place (delete + insert): {statistics.median(in_place):.2f} s")
        print(f"list fingerprint (count + sum of row hashes): {statistics.median(fingerprint):.2f} s")
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
