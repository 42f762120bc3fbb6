"""Readable names and standard offers for clusters. Pure functions: no database, no clock.

Each cluster is compared with the whole population of the same date, so names follow the
shape of the book rather than fixed CNY cut-offs (except a floor for "wealthy", which must
mean real money even in a low-balance book). Rules are checked in order; the first that
fits names the cluster. Every offer is low-cost and self-service: these segments are served
at scale, not by relationship managers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

WEALTHY = "wealthy investors"
DORMANT = "dormant low balance"
BORROWING = "borrowing families"
DIGITAL = "digital everyday spenders"
SAVERS = "branch-loyal savers"
NEW = "new-to-bank starters"
MASS = "occasional mass market"

STANDARD_OFFERS: Mapping[str, str] = {
    WEALTHY: "wealth product subscription via app",
    DORMANT: "reactivation SMS with fee waiver",
    BORROWING: "credit card instalment plan",
    DIGITAL: "mobile banking bundle",
    SAVERS: "term deposit auto-renewal",
    NEW: "digital onboarding journey with e-statement",
    MASS: "mobile banking bundle",
}

# Thresholds, with the reason each exists.
WEALTH_AUM_RATIO = 3.0          # median AUM at least 3x the book's median...
WEALTH_MIN_AUM_CNY = 200_000.0  # ...and a real amount, not 3x of almost nothing
DORMANT_RECENCY_DAYS = 90.0     # a quarter without a transaction
DORMANT_FREQ_RATIO = 0.25       # and far fewer transactions than a typical customer
BORROWER_MIN_SHARE = 0.5        # most of the cluster has a loan...
BORROWER_LIFT = 1.5             # ...clearly more than the book, or larger loans
BORROWER_LOAN_RATIO = 2.0
DIGITAL_MIN_SHARE = 0.6         # most transactions via app/online
BRANCH_MIN_SHARE = 0.2          # "branch-loyal": a real share of transactions at the counter...
BRANCH_LIFT = 1.5               # ...and clearly more than the book
NEW_TENURE_MONTHS = 12.0


@dataclass(frozen=True)
class ClusterProfile:
    """Per-cluster (or, with ``cluster_id`` None, whole-population) statistics."""

    cluster_id: int | None
    customers: int
    median_aum_cny: float = 0.0
    median_profit_cny: float = 0.0
    avg_digital_share: float = 0.0
    avg_branch_share: float = 0.0
    avg_product_count: float = 0.0
    median_frequency_90d: float = 0.0
    median_loan_exposure_cny: float = 0.0
    borrower_share: float = 0.0
    median_recency_days: float = 0.0
    median_tenure_months: float = 0.0
    median_age_years: float = 0.0


@dataclass(frozen=True)
class ClusterName:
    label: str
    standard_offer: str


def base_label(p: ClusterProfile, pop: ClusterProfile) -> str:
    """The segment name for one cluster, before duplicates are told apart."""
    if p.median_aum_cny >= max(WEALTH_AUM_RATIO * pop.median_aum_cny, WEALTH_MIN_AUM_CNY):
        return WEALTHY
    if (
        p.median_recency_days >= DORMANT_RECENCY_DAYS
        and p.median_frequency_90d <= max(1.0, DORMANT_FREQ_RATIO * pop.median_frequency_90d)
        and p.median_aum_cny <= pop.median_aum_cny
    ):
        return DORMANT
    if p.borrower_share >= BORROWER_MIN_SHARE and (
        p.borrower_share >= BORROWER_LIFT * pop.borrower_share
        or p.median_loan_exposure_cny >= BORROWER_LOAN_RATIO * pop.median_loan_exposure_cny
    ):
        return BORROWING
    if (
        p.avg_digital_share >= max(DIGITAL_MIN_SHARE, pop.avg_digital_share)
        and p.median_frequency_90d >= pop.median_frequency_90d
    ):
        return DIGITAL
    if (
        p.avg_branch_share >= max(BRANCH_MIN_SHARE, BRANCH_LIFT * pop.avg_branch_share)
        and p.median_aum_cny >= pop.median_aum_cny
    ):
        return SAVERS
    if p.median_tenure_months <= NEW_TENURE_MONTHS:
        return NEW
    return MASS


def _qualifiers(n: int) -> list[str]:
    if n == 2:
        return ["higher balance", "lower balance"]
    return [f"balance tier {i}" for i in range(1, n + 1)]


def name_clusters(
    profiles: Sequence[ClusterProfile], population: ClusterProfile
) -> dict[int, ClusterName]:
    """Label and standard offer per cluster id. Labels are unique within one call.

    Clusters sharing a base label are told apart by median AUM (highest first, then cluster
    id), so the result does not depend on the order of ``profiles``.
    """
    groups: dict[str, list[ClusterProfile]] = {}
    for p in profiles:
        if p.cluster_id is None:
            raise ValueError("cluster profiles need a cluster_id")
        groups.setdefault(base_label(p, population), []).append(p)
    out: dict[int, ClusterName] = {}
    for label, members in groups.items():
        offer = STANDARD_OFFERS[label]
        if len(members) == 1:
            out[int(members[0].cluster_id)] = ClusterName(label, offer)  # type: ignore[arg-type]
            continue
        ordered = sorted(members, key=lambda p: (-p.median_aum_cny, p.cluster_id))
        for p, q in zip(ordered, _qualifiers(len(ordered))):
            out[int(p.cluster_id)] = ClusterName(f"{label} ({q})", offer)  # type: ignore[arg-type]
    return out
