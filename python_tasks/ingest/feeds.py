"""The channel file drops: what each feed looks like and how it is encoded.

Files arrive in ``<landing>/<YYYY-MM-DD>/<feed>.csv``. The legacy relationship-manager system
still writes GBK; everything else is UTF-8.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feed:
    name: str
    encoding: str
    columns: tuple[str, ...]
    key: str

    def filename(self) -> str:
        return f"{self.name}.csv"


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
