"""How fast the channel-drop loader is, against pandas ``to_sql`` and a bare COPY of the same file.

    python -m bench.load_benchmark --rows 1000000 [--rows 10000000] [--to-sql-rows 100000] [--repeat 5]

One transactions CSV per scale (like core.transactions, ~115 bytes a line) is written once and
loaded by three methods, each in a child process of its own against a fresh database:

* ``loader``: ``python_tasks.ingest.landing.load_file`` - every guarantee of a real load: line
  numbers and load metadata on every row (``_load_id`` -> ops.load_batches, ``_logical_date``,
  ``_source_line``, ``_loaded_at``), type/key/duplicate checks, quarantine, audit, file registry
  by sha256, the date's partition swapped in atomically. The client checks and hashes the file
  (numpy, ``precheck``) while the server parses it, so it uses a second core where bare COPY
  uses one; lines the client cannot vouch for are checked in SQL;
* ``bare_copy``: ``COPY ... FROM STDIN (FORMAT csv)`` of the file into a text table - the ceiling;
* ``to_sql``: ``pandas.read_csv`` + ``DataFrame.to_sql(method="multi")``. It is far too slow for
  millions of rows, so it runs on the first ``--to-sql-rows`` lines and its rows/s is
  extrapolated (said so in the table).

With ``--repeat N`` the loader and bare COPY run N times each, alternating (which one goes first
alternates too), and each cell is the median run: on a shared machine one run of each says little.

Peak memory is the child's own peak RSS (``getrusage(RUSAGE_SELF)``), i.e. the client side; the
Postgres server's memory is not included. Results go to ``bench/results/load_benchmark.md``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results" / "load_benchmark.md"
COLUMNS = ("txn_id", "account_id", "customer_id", "txn_ts", "amount_cny", "txn_type", "channel", "fee_cny",
           "updated_at")
TXN_TYPES = ("salary", "deposit", "withdrawal", "transfer_in", "transfer_out", "payment", "fee", "loan_repayment")
CHANNELS = ("branch", "atm", "mobile", "online", "pos")
LOGICAL_DATE = date(2026, 9, 30)
METHODS = ("loader", "bare_copy", "to_sql")

log = logging.getLogger("bench.load_benchmark")


def bench_feed():
    from python_tasks.ingest.feeds import Feed

    return Feed("bench_transactions", "utf-8", COLUMNS, "txn_id",
                types=(("amount_cny", "numeric"), ("fee_cny", "numeric")))


def write_file(path: Path, rows: int, seed: int = 1) -> None:
    """A deterministic transactions file, written in chunks (never all in memory)."""
    import numpy as np

    if path.exists() and path.stat().st_size > 0:
        return
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        chunk = 200_000
        for lo in range(0, rows, chunk):
            n = min(chunk, rows - lo)
            acct = rng.integers(0, 2_000_000, n)
            sec = rng.integers(0, 86_400, n)
            amt = np.round(rng.lognormal(5, 1.5, n) * np.where(rng.random(n) < 0.5, -1, 1), 2)
            typ = rng.integers(0, len(TXN_TYPES), n)
            chan = rng.integers(0, len(CHANNELS), n)
            lines = [
                f"T{lo + i:012d},A{a:010d},C{a // 3:08d},"
                f"2026-09-30T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00,"
                f"{m:.2f},{TXN_TYPES[t]},{CHANNELS[c]},0.00,"
                f"2026-09-30T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00\n"
                for i, (a, s, m, t, c) in enumerate(zip(acct.tolist(), sec.tolist(), amt.tolist(), typ.tolist(),
                                                        chan.tolist()))
            ]
            fh.writelines(lines)
    tmp.rename(path)


# ---------------------------------------------------------------- child side: one method, one run

def run_loader(dsn: str, path: Path, limit: int | None) -> int:
    from python_tasks.db import connect
    from python_tasks.ingest.bootstrap import ensure_ops_schema
    from python_tasks.ingest.landing import load_file

    with connect(dsn) as conn:
        ensure_ops_schema(conn)
        conn.commit()
        result = load_file(conn, bench_feed(), path, LOGICAL_DATE, "bench")
    assert result.read == result.loaded, result
    return result.loaded


def run_bare_copy(dsn: str, path: Path, limit: int | None) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("create table bare (" + ", ".join(f"{c} text" for c in COLUMNS) + ")")
        with path.open("rb") as fh, conn.cursor() as cur:
            with cur.copy("copy bare from stdin (format csv, header true)") as cp:
                while block := fh.read(1 << 20):
                    cp.write(block)
            return cur.rowcount


def run_to_sql(dsn: str, path: Path, limit: int | None) -> int:
    import pandas as pd
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy import URL, create_engine

    parts = conninfo_to_dict(dsn)
    url = URL.create("postgresql+psycopg", username=parts.get("user"), password=parts.get("password"),
                     host=parts.get("host"), port=parts.get("port"), database=parts.get("dbname"),
                     query={"host": parts["host"]} if str(parts.get("host", "")).startswith("/") else {})
    engine = create_engine(url)
    frame = pd.read_csv(path, nrows=limit, dtype=str)
    # Postgres caps a statement at 65535 parameters: 9 columns x 5000 rows stays under it.
    frame.to_sql("to_sql_target", engine, if_exists="replace", index=False, method="multi", chunksize=5000)
    engine.dispose()
    return len(frame)


def child(method: str, dsn: str, path: Path, limit: int | None) -> None:
    started = time.perf_counter()
    rows = {"loader": run_loader, "bare_copy": run_bare_copy, "to_sql": run_to_sql}[method](dsn, path, limit)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak_kb / 1024}))


# ---------------------------------------------------------------- parent side

@dataclass
class Measurement:
    method: str
    scale: int
    rows: int
    seconds: float
    mb: float  # megabytes of CSV loaded
    peak_mb: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.seconds


def admin_dsn() -> str:
    if os.environ.get("CRM_BENCH_ADMIN_DSN"):
        return os.environ["CRM_BENCH_ADMIN_DSN"]
    import pgserver
    from psycopg.conninfo import make_conninfo

    pgdata = REPO_ROOT / ".crm" / "bench-pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_conninfo(pgserver.get_server(pgdata, cleanup_mode=None).get_uri("postgres"))


def measure(method: str, admin: str, path: Path, scale: int, limit: int | None) -> Measurement:
    sys.path.insert(0, str(REPO_ROOT))
    from tests.pgtools import create_database, drop_database

    dsn = create_database(admin, f"bench_{method}")
    try:
        out = subprocess.run([sys.executable, "-m", "bench.load_benchmark", "--child", method, "--dsn", dsn,
                              "--file", str(path)] + (["--limit", str(limit)] if limit else []),
                             cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{method} failed:\n{exc.stderr[-3000:]}") from exc
    finally:
        drop_database(admin, dsn)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    size = path.stat().st_size * (result["rows"] / scale)
    m = Measurement(method, scale, result["rows"], result["seconds"], size / 1e6, result["peak_mb"])
    log.info("%-9s %10d rows in %7.1fs: %10.0f rows/s %6.1f MB/s, peak %.0f MB", method, m.rows, m.seconds,
             m.rows_per_s, m.mb_per_s, m.peak_mb)
    return m


def render(results: list[Measurement], to_sql_rows: int, repeat: int = 1) -> str:
    lines = [
        "| rows in file | method | rows timed | seconds | rows/s | MB/s | peak RSS (client) "
        "| vs bare COPY | vs to_sql |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scale in sorted({m.scale for m in results}):
        at = {m.method: m for m in results if m.scale == scale}
        for m in (at[k] for k in METHODS if k in at):
            note = " (extrapolated)" if m.method == "to_sql" and m.rows < scale else ""
            vs_bare = m.rows_per_s / at["bare_copy"].rows_per_s if "bare_copy" in at else float("nan")
            vs_sql = m.rows_per_s / at["to_sql"].rows_per_s if "to_sql" in at else float("nan")
            lines.append(f"| {scale:,} | {m.method}{note} | {m.rows:,} | {m.seconds:.1f} | {m.rows_per_s:,.0f} | "
                         f"{m.mb_per_s:.1f} | {m.peak_mb:.0f} MB | {vs_bare:.2f} | {vs_sql:.1f}x |")
    lines += ["", f"to_sql runs on the first {to_sql_rows:,} lines of the file; its rows/s is taken as the rate "
                  "for the whole file. Peak RSS is the loading client process; the Postgres server is not "
                  "counted. " + (f"Loader and bare COPY: median of {repeat} alternating runs each"
                                   if repeat > 1 else "One run per cell")
                  + ", same machine, same embedded Postgres 16."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows in the file (repeat for several scales)")
    parser.add_argument("--to-sql-rows", type=int, default=100_000, help="slice timed for to_sql")
    parser.add_argument("--repeat", type=int, default=1, help="runs of loader and bare COPY each (median kept)")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / ".crm" / "bench")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.dsn, args.file, args.limit)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin = admin_dsn()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: list[Measurement] = []
    for scale in args.rows or [1_000_000]:
        path = args.workdir / f"transactions_{scale}.csv"
        write_file(path, scale)
        runs: dict[str, list[Measurement]] = {"loader": [], "bare_copy": []}
        for i in range(args.repeat):
            for method in (("loader", "bare_copy") if i % 2 == 0 else ("bare_copy", "loader")):
                runs[method].append(measure(method, admin, path, scale, None))
        for method, ms in runs.items():
            results.append(sorted(ms, key=lambda m: m.seconds)[len(ms) // 2])
            if args.repeat > 1:
                log.info("%s at %d rows, seconds per run: %s", method, scale, ", ".join(f"{m.seconds:.1f}" for m in ms))
        results.append(measure("to_sql", admin, path, scale, min(args.to_sql_rows, scale)))
    table = render(results, args.to_sql_rows, args.repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("# Load benchmark: channel-drop loader vs to_sql vs bare COPY\n\n" + table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
