"""Write the campaign lists to files marketing can open, each with a manifest and an audit row.

CSV is UTF-8 with a BOM so Excel shows Chinese names correctly, every cell a spreadsheet would
evaluate defused (cell_safety). Parquet is raw data for tools: the values as the list table holds
them, read by code, never opened in a spreadsheet. Files are written to a temporary name and
renamed, so a reader never sees half a file; they are readable by their owner and group only.
The rows written are the rows the gate validated: the export reads them in one snapshot with
the check of the gate's fingerprint (quality/gate_record.py).
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
from python_tasks.exports.cell_safety import excel_safe
from python_tasks.quality.gate_record import ExportBlocked, assert_rows_gated

log = logging.getLogger(__name__)

COLUMNS = ("campaign_code", "customer_id", "full_name", "mobile", "channel", "tier_code", "cluster_id", "reason",
           "score_source", "churn_probability", "next_best_product", "next_best_product_probability",
           "score_reasons_en", "score_reasons_zh")
_NUMBERS = {"cluster_id": pa.int32(), "churn_probability": pa.float64(), "next_best_product_probability": pa.float64()}
CHUNK_ROWS = 50_000
# Campaign lists hold contact data: the owner (the export job) and its group (marketing's readers)
# only, whatever the process umask.
FILE_MODE = 0o640
DIR_MODE = 0o750

__all__ = ["ExportBlocked", "excel_safe", "excel_mobile", "export_campaign_files"]


@dataclass(frozen=True)
class ExportedFile:
    campaign_code: str
    path: str
    file_format: str
    rows: int
    sha256: str


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


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, with the export file mode."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, path)


def _write_campaign(conn, campaign: Campaign, as_of_date: date, out_dir: Path) -> list[ExportedFile]:
    csv_path = out_dir / f"{campaign.code}.csv"
    pq_path = out_dir / f"{campaign.code}.parquet"
    csv_tmp = csv_path.with_suffix(".csv.tmp")
    pq_tmp = pq_path.with_suffix(".parquet.tmp")
    schema = pa.schema([(c, _NUMBERS.get(c, pa.string())) for c in COLUMNS])
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
    for tmp, final in ((csv_tmp, csv_path), (pq_tmp, pq_path)):
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, final)
    return [
        ExportedFile(campaign.code, str(csv_path), "csv", rows, _sha256(csv_path)),
        ExportedFile(campaign.code, str(pq_path), "parquet", rows, _sha256(pq_path)),
    ]


def export_campaign_files(dsn: str, as_of_date: date, run_id: str, export_dir: Path,
                          campaigns: list[Campaign] | None = None) -> list[dict]:
    """Write every campaign's files for ``as_of_date`` if the gate passed over exactly these rows.

    Idempotent per date: a re-run rewrites the files and replaces the date's export_log rows.
    """
    campaigns = campaigns if campaigns is not None else load_catalog()
    out_dir = export_dir / as_of_date.isoformat()
    written: list[ExportedFile] = []
    with connect(dsn) as conn:
        # One snapshot for the fingerprint check and every row read after it.
        conn.execute("set transaction isolation level repeatable read")
        gate = assert_rows_gated(conn, as_of_date)
        out_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(out_dir, DIR_MODE)
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
                "dq_gate_run_id": gate.run_id,
                "dq_gate_list_checksum": gate.fingerprint.checksum,
            }
            write_private(out_dir / f"{c.code}.manifest.json",
                          json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
            written.extend(files_)
        # The date's rows, whichever run wrote them: a re-run of the date replaces them.
        conn.execute("delete from ops.export_log where as_of_date = %s", (as_of_date,))
        with conn.cursor().copy(
            "copy ops.export_log (run_id, as_of_date, campaign_code, file_path, file_format, rows_exported, sha256) "
            "from stdin"
        ) as cp:
            for f in written:
                cp.write_row((run_id, as_of_date, f.campaign_code, f.path, f.file_format, f.rows, f.sha256))
    log.info("exported %d files to %s", len(written), out_dir)
    return [f.__dict__ for f in written]
