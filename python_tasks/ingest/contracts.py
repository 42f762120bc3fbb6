"""Source contracts: rules a source row must meet to enter raw, configured in ``source_contracts.yml``.

Rules: keys neither empty nor padded with spaces, dates neither after the business date nor
before the bank existed, references to rows that exist (an account's customer). Both loaders
check the date's batch in SQL before committing it; per source, a violating row is quarantined
(``ops.quarantine``, reason = rule, detail naming the key) or the whole batch fails with the keys
named (:class:`ContractViolationError`). The checks sit in the loaders, not in dbt: staging models
feed contract-enforced marts, so a row that breaks a rule must not reach them, and the loaders
already keep every row they do not load, with a reason and a count.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from psycopg import sql

from python_tasks.ingest.watermarks import end_of_day

log = logging.getLogger(__name__)

CONTRACTS_FILE = Path(__file__).with_name("source_contracts.yml")
ENV_CONTRACTS_FILE = "CRM_SOURCE_CONTRACTS"  # another file, e.g. for a bank with other tables
EMPTY_KEY, PADDED_KEY, FUTURE_DATE, BEFORE_FOUNDING, ORPHAN = (
    "empty_key", "padded_key", "future_date", "before_founding", "orphan")
REASONS = (EMPTY_KEY, PADDED_KEY, FUTURE_DATE, BEFORE_FOUNDING, ORPHAN)
ACTIONS = ("quarantine", "fail")
MAX_KEYS_NAMED = 20


class ContractViolationError(ValueError):
    """A batch broke a source contract whose action is ``fail``: nothing of it was loaded."""


@dataclass(frozen=True)
class Contract:
    source: str
    founding_date: date
    on_violation: str = "quarantine"
    keys: tuple[str, ...] = ()
    not_future: tuple[str, ...] = ()
    not_before_founding: tuple[str, ...] = ()
    references: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (source, column)
    key: str | None = None

    @property
    def row_key(self) -> str | None:
        return self.key or (self.keys[0] if self.keys else None)


def raw_table(source: str) -> sql.Composed:
    """raw.corebank__<table> for core.<table>, raw.channel__<feed> for landing.<feed>."""
    kind, _, name = source.partition(".")
    prefix = {"core": "corebank__", "landing": "channel__"}.get(kind)
    if prefix is None or not name:
        raise ValueError(f"source {source!r}: name it core.<table> or landing.<feed>")
    return sql.Identifier("raw", prefix + name)


def _parse(path: Path) -> dict[str, Contract]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    founding = doc.get("founding_date")
    if not isinstance(founding, date):
        raise ValueError(f"{path}: founding_date must be a date (YYYY-MM-DD), got {founding!r}")
    contracts = {}
    for source, spec in (doc.get("sources") or {}).items():
        spec = dict(spec or {})
        unknown = set(spec) - {"on_violation", "keys", "not_future", "not_before_founding", "references", "key"}
        if unknown:
            raise ValueError(f"{path}: {source} has unknown setting(s) {sorted(unknown)}")
        action = spec.get("on_violation", "quarantine")
        if action not in ACTIONS:
            raise ValueError(f"{path}: {source}.on_violation must be one of {ACTIONS}, got {action!r}")
        refs = {}
        for column, target in (spec.get("references") or {}).items():
            target_source, _, target_column = str(target).rpartition(".")
            raw_table(target_source)  # validates the name
            refs[column] = (target_source, target_column)
        raw_table(source)
        contracts[source] = Contract(source, founding, action, tuple(spec.get("keys") or ()),
                                     tuple(spec.get("not_future") or ()),
                                     tuple(spec.get("not_before_founding") or ()), refs, spec.get("key"))
    return contracts


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> dict[str, Contract]:
    return _parse(Path(path))


def contract_for(source: str) -> Contract | None:
    path = Path(os.environ.get(ENV_CONTRACTS_FILE, CONTRACTS_FILE))
    return _load_cached(str(path), path.stat().st_mtime).get(source)


def checkable(conn, contract: Contract) -> Contract:
    """The contract without references to raw tables never loaded (a load of some tables only):
    those cannot be judged, and are logged rather than every row called an orphan."""
    refs = {}
    for column, (target, target_col) in contract.references.items():
        if conn.execute("select to_regclass(%s) is not null", (raw_table(target).as_string(conn),)).fetchone()[0]:
            refs[column] = (target, target_col)
        else:
            log.warning("%s: %s is not checked against %s.%s, which was never loaded", contract.source, column,
                        target, target_col)
    return replace(contract, references=refs)


@dataclass(frozen=True)
class Rule:
    condition: sql.Composable  # true when the row breaks the rule
    reason: str
    detail: sql.Composable  # a text expression naming the key and the value
    # A cheaper test, true for every row breaking this rule (and maybe a sibling rule sharing the
    # same object): what a good row pays. The exact condition then only sees the few bad rows.
    screen: sql.Composable | None = None


def rules(contract: Contract, logical_date: date, *, kinds: dict[str, str], cast: bool,
          orphans: dict[str, list[str]] | None = None) -> list[Rule]:
    """The contract's rules as SQL over the rows of a batch aliased ``r``.

    ``kinds``: column -> 'date' or 'timestamptz' for the dated columns. ``cast``: the columns are
    text (channel feeds, already type-checked) and are cast to their kind before comparing.
    ``orphans``: column -> values known to reference nothing (found in the source system); without
    it, a reference is looked up in the referenced source's raw table, any loaded date."""
    def col(c: str) -> sql.Composable:
        return sql.SQL("r.{}").format(sql.Identifier(c))

    def value(c: str) -> sql.Composable:
        if c not in kinds:
            raise ValueError(f"{contract.source}: {c} is not a date or timestamp column; check the contract")
        return sql.SQL("{}::{}").format(col(c), sql.SQL(kinds[c])) if cast else col(c)

    key = contract.row_key
    who = sql.SQL("format('%s=%L: ', {}, {}::text)").format(sql.Literal(key), col(key)) if key else sql.Literal("")
    out: list[Rule] = []
    for c in contract.keys:
        prefix = sql.Literal("") if c == key else who  # the value names the row already
        # Empty, blank or padded: empty, or a space first or last (btrim trims spaces only).
        screen = sql.SQL("({c}::text = '' or {c}::text like ' %' or {c}::text like '% ')").format(c=col(c))
        out.append(Rule(sql.SQL("btrim({}::text) = ''").format(col(c)), EMPTY_KEY,
                        sql.SQL("{} || {}").format(prefix, sql.Literal(f"{c} is empty")), screen))
        out.append(Rule(sql.SQL("{c}::text <> btrim({c}::text)").format(c=col(c)), PADDED_KEY,
                        sql.SQL("{} || format('%s=%L has leading or trailing spaces', {}, {}::text)").format(
                            prefix, sql.Literal(c), col(c)), screen))
    # A column checked at both ends is cast once, into a range test.
    ranges = {}
    for c in set(contract.not_future) & set(contract.not_before_founding):
        after = date.fromordinal(logical_date.toordinal() + 1)
        bounds = (sql.SQL("daterange({}::date, {}::date)").format(sql.Literal(contract.founding_date),
                                                                  sql.Literal(after))
                  if kinds.get(c) == "date" else
                  sql.SQL("tstzrange({}::date::timestamptz, {}::timestamptz)").format(
                      sql.Literal(contract.founding_date), sql.Literal(end_of_day(logical_date))))
        ranges[c] = sql.SQL("not ({} @> {})").format(bounds, value(c))
    for c in contract.not_future:
        # A date is a business day: after the business date is the future. A timestamp is the
        # future from the end of the business day (Asia/Shanghai) on.
        limit = (sql.Literal(date.fromordinal(logical_date.toordinal() + 1)) if kinds.get(c) == "date"
                 else sql.SQL("{}::timestamptz").format(sql.Literal(end_of_day(logical_date))))
        out.append(Rule(sql.SQL("{} >= {}").format(value(c), limit), FUTURE_DATE,
                        sql.SQL("{} || format('%s=%s is after the business date %s', {}, {}::text, {})").format(
                            who, sql.Literal(c), col(c), sql.Literal(logical_date.isoformat())), ranges.get(c)))
    for c in contract.not_before_founding:
        out.append(Rule(sql.SQL("{} < {}::date").format(value(c), sql.Literal(contract.founding_date)),
                        BEFORE_FOUNDING,
                        sql.SQL("{} || format('%s=%s is before the bank was founded (%s)', {}, {}::text, {})").format(
                            who, sql.Literal(c), col(c), sql.Literal(contract.founding_date.isoformat())),
                        ranges.get(c)))
    for c, (target, target_col) in contract.references.items():
        detail = sql.SQL("{} || format('%s=%L is not in %s', {}, {}::text, {})").format(
            who, sql.Literal(c), col(c), sql.Literal(f"{target}.{target_col}"))
        if orphans is None:
            condition = sql.SQL("not exists (select 1 from {t} x where x.{tc} = r.{c})").format(
                t=raw_table(target), tc=sql.Identifier(target_col), c=sql.Identifier(c))
        elif orphans.get(c):
            condition = sql.SQL("{}::text = any({})").format(col(c), sql.Literal(orphans[c]))
        else:
            continue
        out.append(Rule(condition, ORPHAN, detail))
    return out


_ALL_ROWS = sql.SQL("true")


def find_sql(rules_: list[Rule], table: sql.Composable, where: sql.Composable = _ALL_ROWS) -> sql.Composed:
    """(ctid, reason, detail) of each row of ``table`` breaking a rule, the first rule it breaks.

    The row rules share one scan; each reference is its own anti-join (a NOT EXISTS inside a CASE
    or an OR would be probed row by row)."""
    def branch(rank: int, conds: list[Rule]) -> sql.Composed:
        reason = sql.SQL("case {} end").format(sql.SQL(" ").join(
            sql.SQL("when {} then {}").format(r.condition, sql.Literal(r.reason)) for r in conds))
        detail = sql.SQL("case {} end").format(sql.SQL(" ").join(
            sql.SQL("when {} then {}").format(r.condition, r.detail) for r in conds))
        screens = list({id(s): s for s in (r.screen or r.condition for r in conds)}.values())
        return sql.SQL("select r.ctid as row_ctid, {} as rank, {} as reason, {} as detail from {} r "
                       "where ({}) and ({})").format(
            sql.Literal(rank), reason, detail, table, where, sql.SQL(" or ").join(screens))

    plain = [r for r in rules_ if r.reason != ORPHAN]
    branches = ([branch(0, plain)] if plain else []) + [
        branch(i + 1, [r]) for i, r in enumerate(r for r in rules_ if r.reason == ORPHAN)]
    return sql.SQL("select distinct on (row_ctid) row_ctid, reason, detail from ({}) v order by row_ctid, rank").format(
        sql.SQL(" union all ").join(branches))


def violation_summary(rows: list[tuple[str, str]]) -> str:
    """'n row(s) break ... (reason: count, ...): detail; detail' from (reason, detail) rows."""
    counts: dict[str, int] = {}
    for reason, _ in rows:
        counts[reason] = counts.get(reason, 0) + 1
    examples = "; ".join(d for _, d in rows[:MAX_KEYS_NAMED])
    return (f"{len(rows)} row(s) break the source contract ("
            + ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) + f"): {examples}")


def failure_message(contract: Contract, what: str, rows: list[tuple[str, str]]) -> str:
    return (f"{what}: {violation_summary(rows)}. Nothing of this batch was loaded ({contract.source} fails on a "
            f"contract violation): fix these rows in the source and re-run the date, or set on_violation: "
            f"quarantine for {contract.source} in {os.environ.get(ENV_CONTRACTS_FILE, CONTRACTS_FILE)}.")
