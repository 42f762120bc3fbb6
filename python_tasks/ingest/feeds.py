"""The channel file drops: what each feed looks like and how it is encoded.

Files arrive in ``<landing>/<YYYY-MM-DD>/<feed>.csv``. The legacy relationship-manager system
still writes GBK; everything else is UTF-8. A feed whose encoding is not known can say "auto"
(see ``csv_format.detect_encoding``). Raw keeps every value as text, as received; the declared
types are what the loader checks before it accepts a line.
"""
from __future__ import annotations

from dataclasses import dataclass

AUTO_ENCODING = "auto"
CHECKED_TYPES = ("timestamptz", "date", "numeric", "integer", "bigint", "boolean")


@dataclass(frozen=True)
class Feed:
    name: str
    encoding: str  # a Python codec name, or "auto"
    columns: tuple[str, ...]
    key: str
    # (column, postgres type) checked on load. Columns named *_ts or *_at are timestamptz
    # unless listed here; everything else is free text.
    types: tuple[tuple[str, str], ...] = ()

    def filename(self) -> str:
        return f"{self.name}.csv"

    def column_types(self) -> dict[str, str]:
        declared = dict(self.types)
        unknown = set(declared.values()) - set(CHECKED_TYPES)
        if unknown:
            raise ValueError(f"feed {self.name}: cannot check types {sorted(unknown)}; use one of {CHECKED_TYPES}")
        inferred = {c: "timestamptz" for c in self.columns if c.endswith(("_ts", "_at"))}
        return {c: declared.get(c, inferred.get(c)) for c in self.columns if declared.get(c, inferred.get(c))}


FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        Feed(
            "contact_centre_interactions",
            "utf-8",
            ("interaction_id", "customer_id", "interaction_ts", "channel", "reason", "outcome"),
            "interaction_id",
        ),
        Feed(
            "rm_interactions",
            "gbk",
            ("interaction_id", "customer_id", "rm_id", "interaction_ts", "interaction_type", "note"),
            "interaction_id",
        ),
        Feed(
            "campaign_responses",
            "utf-8",
            ("response_id", "campaign_code", "customer_id", "response_ts", "response"),
            "response_id",
        ),
        Feed(
            "consent_changes",
            "utf-8",
            ("change_id", "customer_id", "channel", "consent", "changed_at"),
            "change_id",
        ),
    )
}
