"""Channel file drops against a real Postgres: every bad-input case ends in raw or quarantine, counted."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

from python_tasks.config import REPO_ROOT
from python_tasks.db import connect
from python_tasks.ingest.bootstrap import ensure_ops_schema
from python_tasks.ingest.feeds import FEEDS, Feed
from python_tasks.ingest.landing import load_file, load_landing
from python_tasks.ingest.test_hooks import ENV_BLOCK_DELAY
from python_tasks.synthetic.bank import GenerationSpec, generate
from python_tasks.synthetic.dirt import DirtSpec
from tests.pgtools import create_database, drop_database

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
FEED = Feed("events", "utf-8", ("event_id", "customer_id", "event_ts", "note"), "event_id")
TYPED = Feed("payments", "utf-8", ("payment_id", "amount_cny", "paid_at"), "payment_id",
             types=(("amount_cny", "numeric"),))
HEADER = "event_id,customer_id,event_ts,note\n"


def good(i: int) -> str:
    return f"E{i:05d},C{i:08d},2026-09-30T10:{i % 60:02d}:00+08:00,note {i}\n"


def load(dsn: str, feed: Feed, path: Path, d: date = D, run_id: str = "run-1"):
    with connect(dsn) as conn:
        ensure_ops_schema(conn)
        conn.commit()
        return load_file(conn, feed, path, d, run_id)


def rows(dsn: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def one(dsn: str, query: str, *params):
    return rows(dsn, query, *params)[0][0]


def audit(dsn: str, source: str = "landing.events") -> list[tuple]:
    return rows(dsn, "select rows_read, rows_loaded, rows_quarantined, status from ops.load_audit "
                     "where source = %s order by audit_id", source)


def quarantine(dsn: str, source: str = "landing.events") -> list[tuple]:
    return rows(dsn, "select line_number, reason_code from ops.quarantine where source = %s order by line_number",
                source)


def write(tmp_path: Path, content: bytes | str, name: str = "events.csv", d: date = D) -> Path:
    path = tmp_path / d.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_clean_file_loads_every_line_with_its_load_metadata(fresh_db, tmp_path):
    path = write(tmp_path, HEADER + "".join(good(i) for i in range(1, 101)))
    result = load(fresh_db, FEED, path)
    assert (result.read, result.loaded, result.quarantined, result.path_taken) == (100, 100, 0, "fast")
    assert rows(fresh_db, "select min(_source_line), max(_source_line), count(distinct _source_line), "
                          "count(distinct _run_id), count(distinct _source_file), min(_logical_date) "
                          "from raw.channel__events__with_meta") == [(2, 101, 100, 1, 1, D)]
    assert one(fresh_db, "select count(*) from raw.channel__events__with_meta "
                         "where _loaded_at is null or _file_sha256 = '' or _run_id <> 'run-1'") == 0
    assert one(fresh_db, "select _source_line from raw.channel__events where event_id = 'E00042'") == 43
    assert audit(fresh_db) == [(100, 100, 0, "loaded")]


def test_rerun_of_same_date_adds_no_rows(fresh_db, tmp_path):
    path = write(tmp_path, HEADER + "".join(good(i) for i in range(1, 11)) + "E00001,C1,2026-09-30,dup\n")
    load(fresh_db, FEED, path)
    load(fresh_db, FEED, path, run_id="run-2")
    assert one(fresh_db, "select count(*) from raw.channel__events") == 10
    assert quarantine(fresh_db) == [(12, "duplicate_key_in_batch")]
    assert audit(fresh_db) == [(11, 10, 1, "loaded_with_quarantine")]  # replaced, not piled up


def test_every_kind_of_bad_line_is_quarantined_with_line_number_and_reason(fresh_db, tmp_path):
    lines = [HEADER.encode()] + [good(i).encode() for i in range(1, 11)]
    lines[3] = b"E00003,C3,not-a-time,x\n"  # line 4
    lines[5] = b"E00005,C5,2026-09-30T10:00:00+08:00,x,surplus\n"  # line 6: wrong column count
    lines[6] = "E00006,C6,2026-09-30T10:00:00+08:00,caf\u00e9".encode("latin-1") + b"\n"  # line 7: not UTF-8
    lines[8] = b",C8,2026-09-30T10:00:00+08:00,x\n"  # line 9: missing key
    lines[9] = b"E00001,C9,2026-09-30T10:00:00+08:00,x\n"  # line 10: duplicate of line 2
    lines[10] = b"E00010,C10,2026-02-30T10:00:00+08:00,x\n"  # line 11: no such date
    result = load(fresh_db, FEED, write(tmp_path, b"".join(lines)))
    assert (result.read, result.loaded, result.quarantined, result.path_taken) == (10, 4, 6, "exact")
    assert quarantine(fresh_db) == [(4, "bad_timestamp"), (6, "wrong_column_count"), (7, "invalid_encoding"),
                                    (9, "missing_key"), (10, "duplicate_key_in_batch"), (11, "bad_timestamp")]
    assert one(fresh_db, "select raw_line from ops.quarantine where line_number = 4") == "E00003,C3,not-a-time,x"
    assert sorted(r[0] for r in rows(fresh_db, "select _source_line from raw.channel__events")) == [2, 3, 5, 8]
    assert audit(fresh_db) == [(10, 4, 6, "loaded_with_quarantine")]


def test_bad_values_in_a_structurally_clean_file_are_caught_on_the_fast_path(fresh_db, tmp_path):
    body = [good(i) for i in range(1, 8)]
    body[2] = "E00003,C3,yesterday,x\n"
    body[4] = "E00001,C5,2026-09-30T10:00:00+08:00,x\n"
    result = load(fresh_db, FEED, write(tmp_path, HEADER + "".join(body)))
    assert (result.read, result.loaded, result.quarantined, result.path_taken) == (7, 5, 2, "fast")
    assert quarantine(fresh_db) == [(4, "bad_timestamp"), (6, "duplicate_key_in_batch")]


def test_value_of_the_wrong_type_is_quarantined(fresh_db, tmp_path):
    path = write(tmp_path, "payment_id,amount_cny,paid_at\nP1,12.50,2026-09-30\nP2,twelve,2026-09-30\n"
                           "P3,-3,2026-09-30\n", name="payments.csv")
    result = load(fresh_db, TYPED, path)
    assert (result.read, result.loaded, result.quarantined) == (3, 2, 1)
    assert quarantine(fresh_db, "landing.payments") == [(3, "wrong_type")]


@pytest.mark.parametrize("content", [b"", HEADER.encode()], ids=["zero_bytes", "header_only"])
def test_empty_file_loads_nothing_and_is_audited(fresh_db, tmp_path, content):
    result = load(fresh_db, FEED, write(tmp_path, content))
    assert (result.read, result.loaded, result.quarantined) == (0, 0, 0)
    assert audit(fresh_db) == [(0, 0, 0, "loaded")]
    assert one(fresh_db, "select count(*) from raw.channel__events") == 0


def test_unexpected_column_is_ignored_and_recorded_as_drift(fresh_db, tmp_path):
    body = "".join(good(i).rstrip("\n") + ",surprise\n" for i in range(1, 6))
    result = load(fresh_db, FEED, write(tmp_path, HEADER.rstrip("\n") + ",channel_v2\n" + body))
    assert (result.read, result.loaded, result.quarantined) == (5, 5, 0)
    assert rows(fresh_db, "select change, column_name, severity from ops.schema_drift") == \
        [("extra_column", "channel_v2", "warning")]
    assert one(fresh_db, "select note from raw.channel__events where event_id = 'E00002'") == "note 2"


def test_missing_required_column_quarantines_the_whole_batch(fresh_db, tmp_path):
    body = "".join(",".join(good(i).split(",")[:3]) + "\n" for i in range(1, 6))
    result = load(fresh_db, FEED, write(tmp_path, "event_id,customer_id,event_ts\n" + body))
    assert (result.read, result.loaded, result.quarantined) == (5, 0, 5)
    assert quarantine(fresh_db) == [(n, "missing_required_column") for n in range(2, 7)]
    assert "note" in one(fresh_db, "select min(detail) from ops.quarantine")


def test_quoted_fields_with_delimiters_and_line_breaks_keep_their_line_numbers(fresh_db, tmp_path):
    text = (HEADER + good(1) + 'E00002,C2,2026-09-30T10:00:00+08:00,"a, b and ""c"""\n'
            + 'E00003,C3,2026-09-30T10:00:00+08:00,"two\nlines"\n' + good(4))
    result = load(fresh_db, FEED, write(tmp_path, text))
    assert (result.read, result.loaded, result.quarantined) == (4, 4, 0)
    assert rows(fresh_db, "select event_id, note, _source_line from raw.channel__events order by 1") == [
        ("E00001", "note 1", 2), ("E00002", 'a, b and "c"', 3), ("E00003", "two\nlines", 4), ("E00004", "note 4", 6)]


def test_semicolon_delimited_crlf_file_in_column_order_of_its_own(fresh_db, tmp_path):
    text = "note;event_ts;customer_id;event_id\r\n" + "".join(
        f"n{i};2026-09-30T10:00:00+08:00;C{i};E{i}\r\n" for i in range(1, 6))
    result = load(fresh_db, FEED, write(tmp_path, text))
    assert (result.read, result.loaded, result.quarantined, result.path_taken) == (5, 5, 0, "fast")
    assert one(fresh_db, "select note from raw.channel__events where event_id = 'E3'") == "n3"


def test_gbk_file_is_detected_when_the_feed_says_auto(fresh_db, tmp_path):
    feed = Feed("events", "auto", FEED.columns, FEED.key)
    text = HEADER + "E1,C1,2026-09-30T10:00:00+08:00,讨论理财产品配置\n"
    result = load(fresh_db, feed, write(tmp_path, text.encode("gbk")))
    assert (result.read, result.loaded) == (1, 1)
    assert one(fresh_db, "select note from raw.channel__events") == "讨论理财产品配置"


def test_generated_dirt_is_quarantined_line_for_line(pg_admin_dsn, fresh_db, tmp_path):
    source = create_database(pg_admin_dsn, "dirtsrc")
    try:
        spec = GenerationSpec(customers=3000, days=4, seed=5, end_date=D,
                              dirt=DirtSpec(line_rate=0.2, file_rate=0.2))
        generated = generate(source, tmp_path, spec)
    finally:
        drop_database(pg_admin_dsn, source)
    assert generated.dirt, "dirt was planted"
    kinds = {k for f in generated.dirt.values() for k in [*f.lines.values(), f.file_kind] if k}
    assert {"bad_timestamp", "wrong_column_count", "invalid_encoding", "duplicate_key", "missing_key"} <= kinds
    for d in (date(2026, 9, 27), date(2026, 9, 28), date(2026, 9, 29), D):
        load_landing(fresh_db, tmp_path, d, f"run-{d}")
    reason = {"bad_timestamp": "bad_timestamp", "wrong_column_count": "wrong_column_count",
              "invalid_encoding": "invalid_encoding", "duplicate_key": "duplicate_key_in_batch",
              "missing_key": "missing_key"}
    for rel, dirt in generated.dirt.items():
        day, name = rel.split("/")
        source_name = "landing." + name.removesuffix(".csv")
        got = rows(fresh_db, "select line_number, reason_code from ops.quarantine "
                             "where logical_date = %s and source = %s order by 1", date.fromisoformat(day), source_name)
        if dirt.file_kind == "missing_column":
            assert got == [(n, "missing_required_column") for n in range(2, dirt.data_lines_written + 2)], rel
        else:
            assert got == sorted((n, reason[k]) for n, k in dirt.lines.items()), rel
        if dirt.file_kind == "extra_column":
            assert one(fresh_db, "select count(*) from ops.schema_drift where logical_date = %s and source = %s",
                       date.fromisoformat(day), source_name) == 1
    # the audit holds read = loaded + quarantined for every file, and read = the data lines written
    for feed in FEEDS.values():
        for d, read, loaded, quarantined in rows(
                fresh_db, "select logical_date, rows_read, rows_loaded, rows_quarantined from ops.load_audit "
                          "where source = %s", f"landing.{feed.name}"):
            path = tmp_path / d.isoformat() / feed.filename()
            data_lines = max(len(path.read_bytes().splitlines()) - 1, 0)
            assert (read, loaded + quarantined) == (data_lines, data_lines), path
            assert one(fresh_db, f"select count(*) from raw.channel__{feed.name} where _logical_date = %s", d) == loaded


def _copy_progress(admin_dsn: str, dbname: str) -> int:
    return one(admin_dsn, "select coalesce(max(bytes_processed), 0) from pg_stat_progress_copy p "
                          "join pg_database d on d.oid = p.datid where d.datname = %s", dbname)


def test_file_load_killed_mid_copy_then_rerun_loads_exact_counts(pg_admin_dsn, fresh_db, tmp_path):
    from psycopg.conninfo import conninfo_to_dict

    n = 60_000  # about 4 MB: several COPY blocks
    path = write(tmp_path, HEADER + "".join(good(i) for i in range(1, n + 1)))
    code = ("import sys; from datetime import date; from pathlib import Path; "
            "import psycopg; from python_tasks.ingest.landing import load_file; "
            "from python_tasks.ingest.feeds import Feed; "
            f"FEED = Feed('events', 'utf-8', {FEED.columns!r}, 'event_id'); "
            "conn = psycopg.connect(sys.argv[1]); "
            f"load_file(conn, FEED, Path(sys.argv[2]), date.fromisoformat('{D}'), 'killed')")
    load(fresh_db, FEED, write(tmp_path, HEADER, name="warmup.csv"))  # schema and tables exist before the kill
    child = subprocess.Popen([sys.executable, "-c", code, fresh_db, str(path)], cwd=REPO_ROOT,
                             env=dict(os.environ, **{ENV_BLOCK_DELAY: "0.5"}))
    try:
        deadline = time.monotonic() + 60
        while _copy_progress(pg_admin_dsn, conninfo_to_dict(fresh_db)["dbname"]) == 0:
            assert time.monotonic() < deadline and child.poll() is None, "the load never reached its COPY"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    result = load(fresh_db, FEED, path, run_id="rerun")
    assert (result.read, result.loaded, result.quarantined) == (n, n, 0)
    assert one(fresh_db, "select count(*), count(distinct event_id) from raw.channel__events") == n
    assert one(fresh_db, "select count(distinct event_id) from raw.channel__events") == n
    assert audit(fresh_db)[-1] == (n, n, 0, "loaded")
    assert one(fresh_db, "select count(*) from ops.load_audit where run_id = 'killed'") == 0
    assert partitions(fresh_db) == ["channel__events__20260930"]  # the killed load's staging died with it
    assert one(fresh_db, "select count(*) from pg_class where relname like 'channel\\_\\_events\\_\\_load%%'") == 0


def partitions(dsn: str, table: str = "channel__events") -> list[str]:
    return [r[0] for r in rows(dsn, "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
                                    "join pg_class p on p.oid = i.inhparent where p.relname = %s order by 1", table)]


def test_every_value_the_client_certifies_passes_the_server_checks(fresh_db):
    """The client skips the SQL checks for lines it certifies: the server must agree with each one."""
    from psycopg import sql

    from python_tasks.ingest.landing_checks import _invalid
    from python_tasks.ingest.precheck import Prechecker, PrecheckPlan
    from tests.unit.test_ingest_precheck import SEEDS, fuzz

    with psycopg.connect(fresh_db) as conn:
        ensure_ops_schema(conn)
        for type_ in SEEDS:
            feed = Feed("t", "utf-8", ("k", "v"), "k", types=(("v", type_),))
            values = fuzz(type_, 3000, seed=11)
            checker = Prechecker(PrecheckPlan.for_file(feed, ("k", "v"), ",", b"\n", "utf-8"))
            checker.add_block(b"".join(b"K%d,%s\n" % (i, v) for i, v in enumerate(values)), 0)
            uncertain = set(checker.result().uncertain_lines.tolist())
            certified = [v.decode() for i, v in enumerate(values) if i not in uncertain]
            rejected = conn.execute(sql.SQL("select v from unnest(%s::text[]) as t(v) where {}").format(
                _invalid("v", type_)), (certified,)).fetchall()
            assert rejected == [], (type_, rejected[:10])
            if type_ != "boolean":
                assert len(certified) > 100, type_  # the fuzz reaches the certified side


def test_bad_lines_and_duplicates_far_into_the_file_keep_exact_line_numbers(fresh_db, tmp_path, monkeypatch):
    from python_tasks.ingest import landing

    monkeypatch.setattr(landing, "BLOCK_BYTES", 4096)  # ~80 lines a block: the dirt lands in late blocks
    body = [good(i) for i in range(1, 2001)]
    body[1499] = "E01500,C1500,2026-02-29T10:00:00+08:00,no such day\n"  # line 1501
    body[1799] = "E00003,C1800,2026-09-30T10:00:00+08:00,repeats line 4\n"  # line 1801
    body[1899] = " ,C1900,2026-09-30T10:00:00+08:00,blank key\n"  # line 1901
    body[1949] = "E01950,C1950,now,not a time\n"  # line 1951
    body[1959] = "E01960,C1960,2024-02-29 10:00:00,a real leap day\n"  # uncertain on the client, valid
    body[1999] = "E02000,C2000,2026-09-30T10:00:00+08:00,no line break at the end"
    result = load(fresh_db, FEED, write(tmp_path, HEADER + "".join(body)))
    assert (result.read, result.loaded, result.quarantined, result.path_taken) == (2000, 1996, 4, "fast")
    assert quarantine(fresh_db) == [(1501, "bad_timestamp"), (1801, "duplicate_key_in_batch"),
                                    (1901, "missing_key"), (1951, "bad_timestamp")]
    assert one(fresh_db, "select detail from ops.quarantine where line_number = 1801") == \
        "event_id=E00003 already on line 4 of this file"
    assert rows(fresh_db, "select _source_line, customer_id from raw.channel__events "
                          "where event_id in ('E00003', 'E01960', 'E02000') order by 1") == \
        [(4, "C00000003"), (1961, "C1960"), (2001, "C2000")]
    assert one(fresh_db, "select count(*), count(distinct _source_line) from raw.channel__events") == 1996
    assert audit(fresh_db) == [(2000, 1996, 4, "loaded_with_quarantine")]


def test_key_written_with_and_without_quotes_is_a_duplicate(fresh_db, tmp_path):
    text = HEADER + good(1) + '"E00001",C2,2026-09-30T10:00:00+08:00,"quoted, with a comma"\n' + good(3)
    result = load(fresh_db, FEED, write(tmp_path, text))
    assert (result.read, result.loaded, result.quarantined, result.path_taken) == (3, 2, 1, "fast")
    assert quarantine(fresh_db) == [(3, "duplicate_key_in_batch")]
    assert audit(fresh_db) == [(3, 2, 1, "loaded_with_quarantine")]


def test_rerun_swaps_in_a_new_partition_for_its_date_only(fresh_db, tmp_path):
    other_day = date(2026, 10, 1)
    load(fresh_db, FEED, write(tmp_path, HEADER + "".join(good(i) for i in range(1, 31))))
    load(fresh_db, FEED, write(tmp_path, HEADER + "".join(good(i) for i in range(1, 21)), d=other_day),
         d=other_day)
    rerun = write(tmp_path, HEADER + "".join(good(i) for i in range(1, 11)) + "E00001,C1,x,dup\n", name="v2.csv")
    result = load(fresh_db, FEED, rerun, run_id="run-2")
    assert (result.read, result.loaded, result.quarantined) == (11, 10, 1)
    assert rows(fresh_db, "select _logical_date, count(*), min(_run_id), min(_source_file) "
                          "from raw.channel__events__with_meta group by 1 order by 1") == \
        [(D, 10, "run-2", str(rerun)), (other_day, 20, "run-1", str(tmp_path / "2026-10-01" / "events.csv"))]
    assert partitions(fresh_db) == ["channel__events__20260930", "channel__events__20261001"]
    assert quarantine(fresh_db) == [(12, "bad_timestamp")]
    assert audit(fresh_db) == [(20, 20, 0, "loaded"), (11, 10, 1, "loaded_with_quarantine")]
    assert one(fresh_db, "select count(*) from ops.load_batches") == 3
    assert one(fresh_db, "select count(*) from pg_class where relname like 'channel\\_\\_events\\_\\_load\\_%%'") == 0


def test_empty_rerun_leaves_the_date_empty(fresh_db, tmp_path):
    load(fresh_db, FEED, write(tmp_path, HEADER + "".join(good(i) for i in range(1, 6))))
    result = load(fresh_db, FEED, write(tmp_path, HEADER, name="empty.csv"), run_id="run-2")
    assert (result.read, result.loaded, result.quarantined) == (0, 0, 0)
    assert one(fresh_db, "select count(*) from raw.channel__events") == 0
    assert partitions(fresh_db) == []
    assert audit(fresh_db) == [(0, 0, 0, "loaded")]


def test_raw_table_from_before_partitioning_is_converted_with_its_metadata(fresh_db, tmp_path):
    with psycopg.connect(fresh_db) as conn:
        ensure_ops_schema(conn)
        conn.execute("create table raw.channel__events (event_id text, customer_id text, event_ts text, note text, "
                     "_run_id text not null, _logical_date date not null, _source_file text not null, "
                     "_source_line bigint not null, _file_sha256 text not null, "
                     "_loaded_at timestamptz not null default now())")
        conn.execute("insert into raw.channel__events select 'E' || i, 'C' || i, '2026-09-29T10:00:00+08:00', 'n', "
                     "'old-run', '2026-09-29', '/old/events.csv', i + 1, 'abc' from generate_series(1, 7) i")
        conn.execute("create schema staging")  # as dbt's staging views read raw
        conn.execute("create view staging.stg_events as select distinct on (event_id) * from raw.channel__events "
                     "order by event_id, _loaded_at desc, _source_line desc")
    result = load(fresh_db, FEED, write(tmp_path, HEADER + "".join(good(i) for i in range(1, 4))))
    assert (result.read, result.loaded, result.quarantined) == (3, 3, 0)
    new_file = str(tmp_path / D.isoformat() / "events.csv")
    new_sha = one(fresh_db, "select sha256 from ops.file_registry")
    assert rows(fresh_db, "select _logical_date, count(*), min(_run_id), min(_source_file), min(_file_sha256), "
                          "max(_source_line) from raw.channel__events__with_meta group by 1 order by 1") == [
        (date(2026, 9, 29), 7, "old-run", "/old/events.csv", "abc", 8), (D, 3, "run-1", new_file, new_sha, 4)]
    assert quarantine(fresh_db) == []
    assert audit(fresh_db) == [(3, 3, 0, "loaded")]
    assert one(fresh_db, "select relkind from pg_class where relname = 'channel__events'") == "p"
    assert partitions(fresh_db) == ["channel__events__20260929", "channel__events__20260930"]
    # the view read the old table: it went with it, and reads the new one once dbt recreates it
    assert one(fresh_db, "select count(*) from pg_class where relname = 'stg_events'") == 0


def test_backslashes_and_quotes_late_in_the_file_are_read_as_csv(fresh_db, tmp_path, monkeypatch):
    from python_tasks.ingest import landing

    monkeypatch.setattr(landing, "BLOCK_BYTES", 4096)  # the escapes sit many blocks in
    body = [good(i) for i in range(1, 1001)]
    body[899] = "E00900,C900,2026-09-30T10:00:00+08:00,C:\\new\\table \\N\n"
    body[949] = 'E00950,C950,2026-09-30T10:00:00+08:00,"say ""hi"""\n'
    result = load(fresh_db, FEED, write(tmp_path, HEADER + "".join(body)))
    assert (result.read, result.loaded, result.quarantined, result.path_taken) == (1000, 1000, 0, "fast")
    assert rows(fresh_db, "select note, _source_line from raw.channel__events where event_id in ('E00900', 'E00950') "
                          "order by 1") == [("C:\\new\\table \\N", 901), ('say "hi"', 951)]
    assert audit(fresh_db) == [(1000, 1000, 0, "loaded")]


def test_empty_values_load_as_empty_text_not_null(fresh_db, tmp_path):
    lines = [HEADER, "E1,,2026-09-30T10:00:00+08:00,\n", 'E2,"",2026-09-30T10:00:00+08:00,x\n']
    for name, content, empty in (("plain.csv", lines[:2], 1), ("quoted.csv", lines, 2)):  # text, then CSV format
        load(fresh_db, FEED, write(tmp_path, "".join(content), name=name))
        assert one(fresh_db, "select count(*) from raw.channel__events where customer_id is null or note is null") == 0
        assert one(fresh_db, "select count(*) from raw.channel__events where customer_id = ''") == empty
    assert quarantine(fresh_db) == []
    assert audit(fresh_db) == [(2, 2, 0, "loaded")]
