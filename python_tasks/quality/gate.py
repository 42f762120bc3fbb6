"""The data-quality gate: validate the marts and the export for one date, record, decide.

``run_quality_gate`` never raises because data is bad; it returns a :class:`GateResult`.
``enforce`` turns a failed result into :class:`QualityGateFailed`, so a caller (the Airflow task
adapter, the CLI) chooses where to stop. A missing table or column is a failed expectation (GX
reports the SQL error per expectation; we record it as ``observed.exception``), so the gate fails
closed. Problems that leave nothing to record raise instead: database unreachable, a malformed
suite file.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from python_tasks.quality.connection import effective_params, sqlalchemy_url
from python_tasks.quality.gate_record import list_fingerprint, record_gate
from python_tasks.quality.gx_runner import ExpectationOutcome, run_suites
from python_tasks.quality.results_store import ResultRow, replace_results
from python_tasks.quality.suites import SuiteSpec, load_suites

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResult:
    passed: bool  # False when any expectation with severity "critical" failed
    run_id: str
    as_of_date: dt.date
    suites: list[dict]  # per suite: name, table, success, evaluated, failed_critical, failed_warning
    failures: list[dict]  # per failed expectation: suite, expectation_type, column, severity, observed
    docs_path: str | None  # Data Docs index.html, if built


class QualityGateFailed(RuntimeError):
    """Raised by :func:`enforce` when a critical expectation failed."""

    def __init__(self, message: str, result: GateResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def _check_args(as_of_date: dt.date, run_id: str) -> None:
    # datetime is a date subclass; its ISO form carries a time and a zone choice the caller
    # should make, not us.
    if isinstance(as_of_date, dt.datetime) or not isinstance(as_of_date, dt.date):
        raise TypeError(f"as_of_date must be a datetime.date, got {type(as_of_date).__name__}")
    if not run_id or not isinstance(run_id, str):
        raise ValueError("run_id must be a non-empty string")


def _resolve_url(dsn: str) -> str:
    """SQLAlchemy URL for GX, using what libpq actually connected to for unspecified parts."""
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        info = conn.info
        connected = {"host": info.host, "port": info.port, "user": info.user, "dbname": info.dbname}
    return sqlalchemy_url(effective_params(dsn, connected))


def summarise(
    specs: list[SuiteSpec], outcomes: list[ExpectationOutcome]
) -> tuple[bool, list[dict], list[dict]]:
    """(passed, per-suite summaries, failures) from the expectation outcomes."""
    suites: list[dict] = []
    failures: list[dict] = []
    for spec in specs:
        mine = [o for o in outcomes if o.suite == spec.name]
        failed = [o for o in mine if not o.success]
        failures.extend(
            {
                "suite": o.suite,
                "expectation_type": o.expectation_type,
                "column": o.column,
                "severity": o.severity,
                "observed": o.observed,
            }
            for o in failed
        )
        suites.append(
            {
                "name": spec.name,
                "table": spec.qualified_table,
                # GX's meaning: every expectation held, warnings included. The gate's verdict is
                # `GateResult.passed`, which only looks at critical ones.
                "success": not failed,
                "evaluated": len(mine),
                "failed_critical": sum(1 for o in failed if o.severity == "critical"),
                "failed_warning": sum(1 for o in failed if o.severity == "warning"),
            }
        )
    passed = not any(f["severity"] == "critical" for f in failures)
    return passed, suites, failures


def run_quality_gate(
    dsn: str,
    as_of_date: dt.date,
    run_id: str,
    *,
    suites_dir: Path,
    docs_dir: Path | None = None,
) -> GateResult:
    """Validate every suite in ``suites_dir`` for ``as_of_date`` and record it in ops.dq_results,
    with the verdict and a fingerprint of the list rows validated in ops.dq_gate (the export
    checks it).

    Rows already stored for ``as_of_date`` (by any run) are replaced.
    """
    _check_args(as_of_date, run_id)
    started = time.perf_counter()
    specs = load_suites(Path(suites_dir))
    url = _resolve_url(dsn)
    with psycopg.connect(dsn, connect_timeout=10, autocommit=True) as conn:
        validated = list_fingerprint(conn, as_of_date)
    output = run_suites(url, specs, as_of_date, run_id, Path(docs_dir) if docs_dir else None)
    passed, suites, failures = summarise(specs, output.outcomes)

    rows = [
        ResultRow(o.suite, o.expectation_type, o.column, o.severity, o.success, o.observed)
        for o in output.outcomes
    ]
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        # GX read the lists in its own snapshots: rows written meanwhile were not all validated.
        if list_fingerprint(conn, as_of_date) != validated:
            passed = False
            failures.append({"suite": "campaign_members", "expectation_type": "lists_unchanged_while_validated",
                             "column": None, "severity": "critical",
                             "observed": {"exception": "the campaign lists changed while the gate ran"}})
        replace_results(conn, run_id, as_of_date, rows)
        record_gate(conn, as_of_date, run_id, passed=passed, fingerprint=validated)

    for f in failures:
        level = logging.ERROR if f["severity"] == "critical" else logging.WARNING
        log.log(level, "dq %s failed: %s", f["severity"], _describe(f))
    log.info(
        "quality gate run_id=%s as_of_date=%s %s: %d suites, %d expectations, %d failed "
        "(%d critical) in %.2fs",
        run_id, as_of_date, "PASSED" if passed else "FAILED", len(suites), len(rows),
        len(failures), sum(s["failed_critical"] for s in suites), time.perf_counter() - started,
    )
    return GateResult(
        passed=passed,
        run_id=run_id,
        as_of_date=as_of_date,
        suites=suites,
        failures=failures,
        docs_path=output.docs_path,
    )


def _describe(failure: dict[str, Any]) -> str:
    """One line per failure: suite.expectation(column) plus the number that matters."""
    where = f"({failure['column']})" if failure.get("column") else ""
    observed = failure.get("observed") or {}
    if "exception" in observed:
        detail = f"error: {str(observed['exception']).splitlines()[0]}"
    elif "unexpected_count" in observed:
        detail = f"{observed['unexpected_count']} unexpected of {observed.get('element_count')}"
        sample = observed.get("partial_unexpected_list")
        if sample:
            detail += f", e.g. {sample[:3]}"
    elif "observed_value" in observed:
        detail = f"observed {observed['observed_value']}"
    else:
        detail = "failed"
    return f"{failure['suite']}.{failure['expectation_type']}{where}: {detail}"


def enforce(result: GateResult) -> None:
    """Raise :class:`QualityGateFailed` if the gate did not pass; otherwise do nothing."""
    if result.passed:
        return
    critical = [f for f in result.failures if f["severity"] == "critical"]
    lines = "\n".join(f"  - {_describe(f)}" for f in critical)
    raise QualityGateFailed(
        f"data-quality gate failed for run_id={result.run_id} as_of_date={result.as_of_date}: "
        f"{len(critical)} critical expectation(s) failed:\n{lines}",
        result,
    )
