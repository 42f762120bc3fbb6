"""Cluster names and offers: deterministic rules relative to the population."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest

from python_tasks.clustering.profiles import (
    BORROWING,
    DIGITAL,
    DORMANT,
    MASS,
    NEW,
    SAVERS,
    STANDARD_OFFERS,
    WEALTHY,
    ClusterProfile,
    base_label,
    name_clusters,
)

POP = ClusterProfile(
    cluster_id=None, customers=10_000, median_aum_cny=20_000, median_profit_cny=800,
    avg_digital_share=0.5, avg_branch_share=0.1, avg_product_count=2.5, median_frequency_90d=40,
    median_loan_exposure_cny=0, borrower_share=0.25, median_recency_days=5,
    median_tenure_months=60,
)


def _p(cid: int, **kw: float) -> ClusterProfile:
    return replace(POP, cluster_id=cid, customers=1000, **kw)


WEALTHY_P = _p(0, median_aum_cny=2_500_000, median_profit_cny=25_000, avg_product_count=6)
DORMANT_P = _p(1, median_aum_cny=300, median_frequency_90d=0, median_recency_days=365,
               avg_digital_share=0.05)
BORROW_P = _p(2, borrower_share=0.95, median_loan_exposure_cny=800_000)
DIGITAL_P = _p(3, avg_digital_share=0.9, median_frequency_90d=150)
SAVER_P = _p(4, avg_digital_share=0.2, avg_branch_share=0.4, median_aum_cny=80_000,
             median_frequency_90d=10)


@pytest.mark.parametrize(
    ("profile", "label"),
    [
        (WEALTHY_P, WEALTHY),
        (DORMANT_P, DORMANT),
        (BORROW_P, BORROWING),
        (DIGITAL_P, DIGITAL),
        (SAVER_P, SAVERS),
        (_p(5, avg_digital_share=0.55, median_frequency_90d=20, median_tenure_months=6), NEW),
        (_p(6, avg_digital_share=0.55, median_frequency_90d=20), MASS),
    ],
)
def test_archetypes(profile: ClusterProfile, label: str) -> None:
    assert base_label(profile, POP) == label


def test_wealthy_needs_real_money_even_in_a_poor_book() -> None:
    poor = replace(POP, median_aum_cny=100)
    assert base_label(_p(0, median_aum_cny=5_000), poor) != WEALTHY


def test_dormant_but_rich_is_not_low_balance() -> None:
    assert base_label(replace(DORMANT_P, median_aum_cny=90_000), POP) != DORMANT


def test_no_branch_label_without_branch_activity() -> None:
    """Savers who bank by card and app are not "branch-loyal", however little is digital."""
    card_only = replace(SAVER_P, avg_digital_share=0.1, avg_branch_share=0.0)
    assert base_label(card_only, POP) != SAVERS
    barely = replace(SAVER_P, avg_branch_share=0.12)  # above the book, but no real share
    assert base_label(barely, POP) != SAVERS


def test_names_and_offers_are_deterministic_and_order_free() -> None:
    profiles = [WEALTHY_P, DORMANT_P, BORROW_P, DIGITAL_P, SAVER_P]
    first = name_clusters(profiles, POP)
    shuffled = profiles[:]
    random.Random(1).shuffle(shuffled)
    assert name_clusters(shuffled, POP) == first
    assert first[0].standard_offer == "wealth product subscription via app"
    assert first[1].standard_offer == "reactivation SMS with fee waiver"
    assert first[2].standard_offer == "credit card instalment plan"
    assert first[3].standard_offer == "mobile banking bundle"
    assert first[4].standard_offer == "term deposit auto-renewal"


def test_duplicate_labels_are_told_apart_by_balance() -> None:
    a = replace(DIGITAL_P, cluster_id=7, median_aum_cny=10_000)
    b = replace(DIGITAL_P, cluster_id=2, median_aum_cny=40_000)
    names = name_clusters([a, b], POP)
    assert names[2].label == f"{DIGITAL} (higher balance)"
    assert names[7].label == f"{DIGITAL} (lower balance)"
    c = replace(DIGITAL_P, cluster_id=9, median_aum_cny=25_000)
    names = name_clusters([a, b, c], POP)
    assert [names[i].label for i in (2, 9, 7)] == [
        f"{DIGITAL} (balance tier {i})" for i in (1, 2, 3)
    ]
    assert len({n.label for n in names.values()}) == 3


def test_every_label_has_an_offer() -> None:
    for label in (WEALTHY, DORMANT, BORROWING, DIGITAL, SAVERS, NEW, MASS):
        assert STANDARD_OFFERS[label]


def test_population_row_is_not_a_cluster() -> None:
    with pytest.raises(ValueError):
        name_clusters([POP], POP)
