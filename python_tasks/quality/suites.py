"""Load the expectation suites kept as JSON under ``expectations/``.

The JSON is GX 1.x ``ExpectationSuite.to_json_dict()`` output plus two conventions of ours:

* suite ``meta``: ``{"table": "schema.table", "date_column": "as_of_date"}`` names what to validate;
* expectation ``meta``: ``{"severity": "critical" | "warning"}`` says whether a failure blocks
  exports. GX 1.24 also has a native ``severity`` field; ``meta`` is the contract, and the native
  field is kept equal to it so Data Docs show the same thing.

Parsing here is plain JSON checking; building the GX object needs an active GX context, so that is
done by :func:`build_gx_suite`, called from inside the runner.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

log = logging.getLogger(__name__)

Severity = Literal["critical", "warning"]
SEVERITIES: frozenset[str] = frozenset({"critical", "warning"})

# Table and column names are spliced into SQL text (GX query assets take a string), so they must be
# plain identifiers; anything else is rejected rather than escaped.
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SuiteError(ValueError):
    """A suite file is malformed or breaks one of our conventions."""


@dataclass(frozen=True)
class SuiteSpec:
    """One suite file, checked: where it points and the raw GX JSON to build it from."""

    name: str
    schema: str
    table: str
    date_column: str
    raw: dict[str, Any]
    path: Path

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def expectation_count(self) -> int:
        return len(self.raw["expectations"])


def _identifier(value: object, what: str, path: Path) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise SuiteError(f"{path.name}: {what} must be a plain SQL identifier, got {value!r}")
    return value


def parse_suite(raw: dict[str, Any], path: Path) -> SuiteSpec:
    """Check one suite's JSON against our conventions and return its spec."""
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{path.name}: suite has no name")
    meta = raw.get("meta") or {}
    table_ref = meta.get("table")
    if not isinstance(table_ref, str) or table_ref.count(".") != 1:
        raise SuiteError(f"{path.name}: meta.table must be 'schema.table', got {table_ref!r}")
    schema, table = table_ref.split(".")
    expectations = raw.get("expectations")
    if not isinstance(expectations, list):
        raise SuiteError(f"{path.name}: 'expectations' must be a list")
    for i, exp in enumerate(expectations):
        severity = (exp.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(
                f"{path.name}: expectation #{i} ({exp.get('type')}) needs meta.severity in "
                f"{sorted(SEVERITIES)}, got {severity!r}"
            )
        native = exp.get("severity")
        if native is not None and native != severity:
            # Two answers to "does this block exports?" in one file is a bug, not a preference.
            raise SuiteError(
                f"{path.name}: expectation #{i} ({exp.get('type')}) has meta.severity={severity!r} "
                f"but severity={native!r}"
            )
    return SuiteSpec(
        name=name,
        schema=_identifier(schema, "meta.table schema", path),
        table=_identifier(table, "meta.table table", path),
        date_column=_identifier(meta.get("date_column"), "meta.date_column", path),
        raw=raw,
        path=path,
    )


def load_suites(suites_dir: Path) -> list[SuiteSpec]:
    """All ``*.json`` suites in ``suites_dir``, sorted by file name."""
    paths = sorted(Path(suites_dir).glob("*.json"))
    if not paths:
        raise SuiteError(f"no suite files (*.json) in {suites_dir}")
    specs: list[SuiteSpec] = []
    for path in paths:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path.name}: not valid JSON: {exc}") from exc
        specs.append(parse_suite(raw, path))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SuiteError(f"duplicate suite names in {suites_dir}: {names}")
    log.debug("loaded %d suites from %s: %s", len(specs), suites_dir, names)
    return specs


def build_gx_suite(spec: SuiteSpec) -> ExpectationSuite:
    """The GX ``ExpectationSuite`` for ``spec``. Needs an active GX context.

    GX logs and *drops* an expectation whose configuration it cannot parse; a gate that silently
    checks less than it claims is worse than one that fails, so the count is verified.
    """
    import great_expectations as gx

    raw = dict(spec.raw)
    raw["expectations"] = [
        # Native severity follows meta (see module docstring); GX would default it to critical.
        {**exp, "severity": exp["meta"]["severity"]}
        for exp in spec.raw["expectations"]
    ]
    raw.pop("id", None)  # ids belong to a GX store; ours is the file
    suite = gx.ExpectationSuite(**raw)
    if len(suite.expectations) != spec.expectation_count:
        raise SuiteError(
            f"{spec.path.name}: GX accepted {len(suite.expectations)} of "
            f"{spec.expectation_count} expectations; see the GX error logged above"
        )
    return suite
