"""The campaign catalog, read and checked once."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

TIERS = {"gold", "profit", "potential", "common", "unprofitable"}
CHANNELS = {"sms", "phone", "email", "app"}
# expected_profit_lost: churn probability x annual profit; predicted_uplift: predicted minus current
# annual profit (only customers with a positive uplift are listed).
RANK_BY = {"expected_profit_lost", "predicted_uplift"}


@dataclass(frozen=True)
class Campaign:
    code: str
    name: str
    name_zh: str
    tiers: tuple[str, ...]
    channels: tuple[str, ...]
    frequency_cap_days: int
    reason: str
    only_at_risk: bool | None = None
    use_cluster_offer: bool = False
    # Ranking by a score of ml.customer_scores, and how many the team can contact (None: all).
    rank_by: str | None = None
    capacity: int | None = None
    offer_next_best_product: bool = False


class CatalogError(ValueError):
    pass


def load_catalog(path: Path | None = None) -> list[Campaign]:
    text = path.read_text() if path else files("python_tasks.exports").joinpath("campaign_catalog.yml").read_text()
    doc = yaml.safe_load(text)
    campaigns = []
    for entry in doc.get("campaigns", []):
        c = Campaign(
            code=entry["code"],
            name=entry["name"],
            name_zh=entry.get("name_zh", entry["name"]),
            tiers=tuple(entry["tiers"]),
            channels=tuple(entry["channels"]),
            frequency_cap_days=int(entry.get("frequency_cap_days", 0)),
            reason=entry["reason"],
            only_at_risk=entry.get("only_at_risk"),
            use_cluster_offer=bool(entry.get("use_cluster_offer", False)),
            rank_by=entry.get("rank_by"),
            capacity=int(entry["capacity"]) if entry.get("capacity") is not None else None,
            offer_next_best_product=bool(entry.get("offer_next_best_product", False)),
        )
        if c.rank_by is not None and c.rank_by not in RANK_BY:
            raise CatalogError(f"campaign {c.code}: unknown rank_by {c.rank_by!r}; use one of {sorted(RANK_BY)}")
        if c.capacity is not None and c.capacity < 1:
            raise CatalogError(f"campaign {c.code}: capacity must be a positive number of customers")
        if not set(c.tiers) <= TIERS:
            raise CatalogError(f"campaign {c.code}: unknown tiers {set(c.tiers) - TIERS}; use {sorted(TIERS)}")
        if not set(c.channels) <= CHANNELS:
            raise CatalogError(f"campaign {c.code}: unknown channels {set(c.channels) - CHANNELS}")
        campaigns.append(c)
    codes = [c.code for c in campaigns]
    if len(codes) != len(set(codes)):
        raise CatalogError(f"duplicate campaign codes in catalog: {codes}")
    return campaigns
