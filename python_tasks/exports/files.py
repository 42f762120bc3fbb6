"""Write the campaign lists to files marketing can open, each with a manifest and an audit row.

CSV is UTF-8 with a BOM so Excel shows Chinese names correctly; Parquet is for tools. Files are
written to a temporary name and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from python_tasks.db import connect
from python_tasks.exports.catalog import Campaign, load_catalog

log = logging.getLogger(__name__)

COLUMNS = ("campaign_code", "customer_id", "full_name", "mobile", "channel", "tier_code", "cluster_id", "reason")
CHUNK_ROWS = 50_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportBlocked(RuntimeError):
    """The data-quality gate did not pass for this run: nothing may be exported."""


@dataclass(frozen=True)
class ExportedFile:
    campaign_code: str
    path: str
    file_format: str
    rows: int
    sha256: str


def excel_safe(value: object) -> object:
    """Stop spreadsheet formula injection from free text (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def excel_mobile(mobile: str | None) -> str | None:
    """Group as 138-1234-5678: Excel keeps it as text instead of 1.38E+10."""
    if mobile and len(mobile) == 11 and mobile.isdigit():
        return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    return mobile


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def assert_gate_passed(conn, run_id: str, as_of_date: date) -> None:
    row = conn.execute(
        """
        select count(*), count(*) filter (where not success and severity = 'critical')
        from ops.dq_results where run_id = %s and as_of_date = %s
        """,
        (run_id, as_of_date),
    ).fetchone()
    if row[0] == 0:
        raise ExportBlocked(f"no data-quality results for run {run_id} on {as_of_date}: run the DQ gate first")
    if row[1] > 0:
        raise ExportBlocked(
            f"data-quality gate failed for run {run_id} on {as_of_date} ({row[1]} critical expectation(s)); "
            "see ops.dq_results. Nothing was exported."
        )


def _write_campaign(conn, campaign: Campaign, as_of_date: date, out_dir: Path) -> list[ExportedFile]:
    csv_path = out_dir / f"{campaign.code}.csv"
    pq_path = out_dir / f"{campaign.code}.parquet"
    csv_tmp = csv_path.with_suffix(".csv.tmp")
    pq_tmp = pq_path.with_suffix(".parquet.tmp")
    schema = pa.schema([(c, pa.int32() if c == "cluster_id" else pa.string()) for c in COLUMNS])
    rows = 0
    with conn.cursor(name=f"export_{campaign.code.lower()}") as cur, \
            csv_tmp.open("w", encoding="utf-8-sig", newline="") as fh, \
            pq.ParquetWriter(pq_tmp, schema) as writer:
        cur.itersize = CHUNK_ROWS
        cur.execute(
            f"select {', '.join(COLUMNS)} from exports.campaign_members "
            "where as_of_date = %s and campaign_code = %s order by customer_id",
            (as_of_date, campaign.code),
        )
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        while batch := cur.fetchmany(CHUNK_ROWS):
            for r in batch:
                rec = list(r)
                rec[3] = excel_mobile(rec[3])
                out.writerow([excel_safe(v) for v in rec])
            writer.write_table(pa.Table.from_pylist([dict(zip(COLUMNS, r)) for r in batch], schema=schema))
            rows += len(batch)
    os.replace(csv_tmp, csv_path)
    os.replace(pq_tmp, pq_path)
    return [
        ExportedFile(campaign.code, str(csv_path), "csv", rows, _sha256(csv_path)),
        ExportedFile(campaign.code, str(pq_path), "parquet", rows, _sha256(pq_path)),
    ]


def export_campaign_files(dsn: str, as_of_date: date, run_id: str, export_dir: Path,
                          campaigns: list[Campaign] | None = None) -> list[dict]:
    """Write every campaign's files for ``as_of_date`` once the gate passed. Idempotent per date."""
    campaigns = campaigns if campaigns is not None else load_catalog()
    out_dir = export_dir / as_of_date.isoformat()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[ExportedFile] = []
    with connect(dsn) as conn:
        assert_gate_passed(conn, run_id, as_of_date)
        for c in campaigns:
            files_ = _write_campaign(conn, c, as_of_date, out_dir)
            suppressed = dict(conn.execute(
                "select reason, customers from ops.export_suppressions where as_of_date = %s and campaign_code = %s",
                (as_of_date, c.code),
            ).fetchall())
            manifest = {
                "campaign_code": c.code,
                "campaign_name": c.name,
                "campaign_name_zh": c.name_zh,
                "as_of_date": as_of_date.isoformat(),
                "run_id": run_id,
                "generated_at": datetime.now(UTC).isoformat(),
                "rows": files_[0].rows,
                "files": [{"path": Path(f.path).name, "format": f.file_format, "sha256": f.sha256} for f in files_],
                "csv_encoding": "utf-8-sig",
                "suppressed": suppressed,
                "dq_gate": "passed",
            }
            manifest_path = out_dir / f"{c.code}.manifest.json"
            tmp = manifest_path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
            os.replace(tmp, manifest_path)
            written.extend(files_)
        conn.execute("delete from ops.export_log where as_of_date = %s and run_id = %s", (as_of_date, run_id))
        with conn.cursor().copy(
            "copy ops.export_log (run_id, as_of_date, campaign_code, file_path, file_format, rows_exported, sha256) "
            "from stdin"
        ) as cp:
            for f in written:
                cp.write_row((run_id, as_of_date, f.campaign_code, f.path, f.file_format, f.rows, f.sha256))
    log.info("exported %d files to %s", len(written), out_dir)
    return [f.__dict__ for f in written]
