"""Everything that touches Great Expectations: one ephemeral context per gate run.

The context is in-memory (nothing GX-specific is written to disk, so the connection string with
its password never lands in a great_expectations.yml); the only files are the optional Data Docs.
Each suite becomes a *query asset* restricted to one ``as_of_date``, so every metric is computed by
Postgres over that slice: GX wraps the query as a subquery and never loads rows into pandas.

Great Expectations is imported inside the functions: importing it costs seconds and starts GX's
own machinery, which DAG parsing and unit tests of the pure parts should not pay for.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from python_tasks.quality.suites import SuiteSpec, build_gx_suite

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.data_context import EphemeralDataContext

log = logging.getLogger(__name__)

DATASOURCE_NAME = "warehouse"
DOCS_SITE_NAME = "quality_gate"
CHECKPOINT_NAME = "quality_gate"
# SUMMARY gives counts plus up to 20 example values: enough to act on, bounded in size.
RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY"}
# Keys of a result that hold actual cell values; dropped for expectations marked meta.pii.
_VALUE_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_index_query",
)
_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    expectation_type: str
    column: str | None
    severity: str
    success: bool
    observed: dict[str, Any]


@dataclass(frozen=True)
class RunOutput:
    outcomes: list[ExpectationOutcome]
    docs_path: str | None


def slice_query(spec: SuiteSpec, as_of_date: dt.date) -> str:
    """SQL selecting the rows of one ``as_of_date`` from the suite's table.

    Identifiers were checked to be plain by the suite loader; the date is a ``date``'s ISO form.
    An equality on the bare column keeps the predicate usable by an index on ``as_of_date``.
    """
    return (
        f'SELECT * FROM "{spec.schema}"."{spec.table}" '
        f"WHERE \"{spec.date_column}\" = DATE '{as_of_date.isoformat()}'"
    )


def _quiet_gx() -> None:
    """GX logs at INFO on import and per batch; keep task logs to our own lines.

    Only when nobody configured the ``great_expectations`` logger: an explicit choice wins.
    """
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:
        gx_logger.setLevel(logging.WARNING)


def _context(docs_dir: Path | None) -> EphemeralDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites: dict[str, Any] = {}
    if docs_dir is not None:
        sites[DOCS_SITE_NAME] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        # tqdm bars per metric batch would flood task logs.
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _column(kwargs: dict[str, Any]) -> str | None:
    if kwargs.get("column"):
        return str(kwargs["column"])
    if kwargs.get("column_list"):
        return ",".join(kwargs["column_list"])
    pair = [kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)]
    return ",".join(pair) or None


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports exceptions either flat or keyed by metric id; accept both shapes."""
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _scrub_pii(er: ExpectationValidationResult) -> None:
    """Drop example values from results of expectations marked ``meta.pii``.

    Counts stay; the offending phone numbers do not travel into ops.dq_results, logs or Data Docs.
    """
    config = er.expectation_config
    if config is not None and (config.meta or {}).get("pii") and er.result:
        for key in _VALUE_KEYS:
            er.result.pop(key, None)


def _outcome(suite_name: str, er: ExpectationValidationResult) -> ExpectationOutcome:
    doc = er.to_json_dict()  # JSON-safe: dates, Decimals and numpy values converted by GX
    config = doc["expectation_config"]
    meta = config.get("meta") or {}
    observed: dict[str, Any] = dict(doc.get("result") or {})
    error = _exception_message(doc.get("exception_info") or {})
    if error:
        # SQLAlchemy errors carry the whole statement; the head is what a reader needs.
        observed["exception"] = error[:_MAX_ERROR_CHARS]
    return ExpectationOutcome(
        suite=suite_name,
        expectation_type=config["type"],
        column=_column(config.get("kwargs") or {}),
        severity=str(meta["severity"]),
        success=bool(doc["success"]) and not error,
        observed=observed,
    )


def run_suites(
    url: str,
    specs: list[SuiteSpec],
    as_of_date: dt.date,
    run_id: str,
    docs_dir: Path | None = None,
) -> RunOutput:
    """Validate each suite over its table's ``as_of_date`` slice in one checkpoint run."""
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = _context(docs_dir)
    datasource = context.data_sources.add_postgres(name=DATASOURCE_NAME, connection_string=url)
    try:
        definitions = []
        for spec in specs:
            asset = datasource.add_query_asset(
                name=f"{spec.schema}_{spec.table}_{as_of_date:%Y%m%d}",
                query=slice_query(spec, as_of_date),
            )
            batch = asset.add_batch_definition_whole_table(name=f"{spec.date_column}={as_of_date}")
            suite = context.suites.add(build_gx_suite(spec))
            definitions.append(
                context.validation_definitions.add(
                    gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
                )
            )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=CHECKPOINT_NAME,
                validation_definitions=definitions,
                result_format=RESULT_FORMAT,
            )
        )
        gx_run_id = RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC))
        checkpoint_result = checkpoint.run(run_id=gx_run_id)

        outcomes: list[ExpectationOutcome] = []
        for key, suite_result in checkpoint_result.run_results.items():
            for er in suite_result.results:
                _scrub_pii(er)
            # Re-store the scrubbed result: Data Docs render from the store, not from our rows.
            context.validation_results_store.set(key, suite_result)
            outcomes.extend(_outcome(suite_result.suite_name, er) for er in suite_result.results)
        _check_complete(specs, outcomes)
        docs_path = _build_docs(context, docs_dir) if docs_dir is not None else None
        return RunOutput(outcomes=outcomes, docs_path=docs_path)
    finally:
        _dispose_engines(datasource)


def _dispose_engines(datasource: Any) -> None:
    """Close GX's pooled connections now instead of leaving them idle until garbage collection.

    The data source and its execution engine each build their own SQLAlchemy engine; both are
    cached, so asking for them here returns the ones used (or builds an unconnected one).
    """
    for get in (lambda: datasource.get_execution_engine().engine, datasource.get_engine):
        try:
            get().dispose()
        except Exception:  # noqa: BLE001 - cleanup must not mask the real error
            log.debug("could not dispose a GX engine", exc_info=True)


def _check_complete(specs: list[SuiteSpec], outcomes: list[ExpectationOutcome]) -> None:
    """Every expectation in every file must have produced exactly one outcome."""
    for spec in specs:
        got = sum(1 for o in outcomes if o.suite == spec.name)
        if got != spec.expectation_count:
            raise RuntimeError(
                f"suite {spec.name}: {got} results for {spec.expectation_count} expectations"
            )


def _build_docs(context: EphemeralDataContext, docs_dir: Path) -> str | None:
    """Build the Data Docs site; docs are a convenience, so failure here is logged, not raised."""
    try:
        context.build_data_docs(site_names=[DOCS_SITE_NAME])
        from python_tasks.reporting.data_docs_offline import make_offline

        make_offline(Path(docs_dir))  # the templates load their assets from CDNs; banks are offline
    except Exception:  # noqa: BLE001 - the verdict is already made; docs must not change it
        log.warning("building Data Docs in %s failed; continuing without", docs_dir, exc_info=True)
        return None
    index = Path(docs_dir) / "index.html"
    return str(index) if index.exists() else None
