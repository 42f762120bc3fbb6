"""The campaign catalog, read and checked once."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

TIERS = {"gold", "profit", "potential", "common", "unprofitable"}
CHANNELS = {"sms", "phone", "email", "app"}


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
        )
        if not set(c.tiers) <= TIERS:
            raise CatalogError(f"campaign {c.code}: unknown tiers {set(c.tiers) - TIERS}; use {sorted(TIERS)}")
        if not set(c.channels) <= CHANNELS:
            raise CatalogError(f"campaign {c.code}: unknown channels {set(c.channels) - CHANNELS}")
        campaigns.append(c)
    codes = [c.code for c in campaigns]
    if len(codes) != len(set(codes)):
        raise CatalogError(f"duplicate campaign codes in catalog: {codes}")
    return campaigns
