"""Customer personas: the latent segments whose behaviour the warehouse has to rediscover.

All numbers are per persona; individual customers scatter around them. Shares sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANNELS: tuple[str, ...] = ("branch", "atm", "mobile", "online", "pos")
CONTACT_CHANNELS: tuple[str, ...] = ("sms", "phone", "email", "app")
# Product types an account can hold besides the current account everybody has.
EXTRA_PRODUCT_TYPES: tuple[str, ...] = (
    "term_deposit",
    "wealth",
    "mortgage",
    "consumer_loan",
    "credit_card",
)


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    age_range: tuple[int, int]
    max_tenure_years: float
    # Deposits + wealth held with the bank: lognormal around a median; sigma sets the tail.
    wealth_median_cny: float
    wealth_sigma: float
    churn_beta: tuple[float, float]  # Beta(a, b) for churn_propensity
    growth_median: float  # expected value multiple in a year
    txn_rate_per_day: float  # mean Poisson rate of discretionary transactions
    spend_scale: float  # multiplies typical transaction amounts
    channel_weights: tuple[float, ...]  # over CHANNELS
    contact_weights: tuple[float, ...]  # over CONTACT_CHANNELS (preferred channel)
    product_probs: tuple[float, ...]  # P(holds) per EXTRA_PRODUCT_TYPES
    salaried_share: float  # gets a monthly salary (or pension) credit
    income_median_cny: float  # monthly
    email_share: float


# fmt: off
# Channel weights are over (branch, atm, mobile, online, pos); contact weights over
# (sms, phone, email, app); product probabilities over (term_deposit, wealth, mortgage,
# consumer_loan, credit_card).
PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="hnw_investor", share=0.03, age_range=(35, 70), max_tenure_years=15,
        wealth_median_cny=4_000_000, wealth_sigma=1.0, churn_beta=(1.2, 22.0),
        growth_median=1.12, txn_rate_per_day=0.3, spend_scale=8.0,
        channel_weights=(0.20, 0.05, 0.35, 0.30, 0.10), contact_weights=(0.10, 0.55, 0.20, 0.15),
        product_probs=(0.80, 0.95, 0.15, 0.02, 0.45),
        salaried_share=0.55, income_median_cny=80_000, email_share=0.7,
    ),
    Persona(
        name="affluent_professional", share=0.15, age_range=(28, 55), max_tenure_years=15,
        wealth_median_cny=450_000, wealth_sigma=0.6, churn_beta=(1.2, 15.0),
        growth_median=1.20, txn_rate_per_day=0.45, spend_scale=3.0,
        channel_weights=(0.08, 0.07, 0.45, 0.25, 0.15), contact_weights=(0.25, 0.25, 0.20, 0.30),
        product_probs=(0.60, 0.60, 0.35, 0.05, 0.55),
        salaried_share=0.90, income_median_cny=28_000, email_share=0.6,
    ),
    Persona(
        name="young_digital", share=0.30, age_range=(20, 32), max_tenure_years=8,
        wealth_median_cny=25_000, wealth_sigma=0.7, churn_beta=(1.5, 11.0),
        growth_median=1.35, txn_rate_per_day=0.55, spend_scale=0.8,
        channel_weights=(0.02, 0.05, 0.55, 0.13, 0.25), contact_weights=(0.30, 0.05, 0.05, 0.60),
        product_probs=(0.10, 0.15, 0.05, 0.25, 0.60),
        salaried_share=0.85, income_median_cny=9_000, email_share=0.5,
    ),
    Persona(
        name="family_mass", share=0.27, age_range=(30, 50), max_tenure_years=15,
        wealth_median_cny=60_000, wealth_sigma=0.6, churn_beta=(1.5, 17.0),
        growth_median=1.05, txn_rate_per_day=0.38, spend_scale=1.0,
        channel_weights=(0.10, 0.15, 0.40, 0.15, 0.20), contact_weights=(0.35, 0.25, 0.05, 0.35),
        product_probs=(0.30, 0.15, 0.45, 0.20, 0.45),
        salaried_share=0.88, income_median_cny=11_000, email_share=0.35,
    ),
    Persona(
        name="senior_saver", share=0.15, age_range=(60, 85), max_tenure_years=15,
        wealth_median_cny=280_000, wealth_sigma=0.7, churn_beta=(1.5, 28.0),
        growth_median=1.00, txn_rate_per_day=0.2, spend_scale=0.9,
        channel_weights=(0.45, 0.35, 0.08, 0.04, 0.08), contact_weights=(0.25, 0.70, 0.02, 0.03),
        product_probs=(0.85, 0.40, 0.03, 0.00, 0.05),
        salaried_share=0.95, income_median_cny=4_500, email_share=0.1,
    ),
    Persona(
        name="dormant_low_value", share=0.10, age_range=(18, 75), max_tenure_years=15,
        wealth_median_cny=1_500, wealth_sigma=1.2, churn_beta=(2.0, 6.0),
        growth_median=0.95, txn_rate_per_day=0.02, spend_scale=0.3,
        channel_weights=(0.30, 0.40, 0.15, 0.05, 0.10), contact_weights=(0.60, 0.25, 0.05, 0.10),
        product_probs=(0.05, 0.00, 0.00, 0.02, 0.05),
        salaried_share=0.10, income_median_cny=3_000, email_share=0.1,
    ),
)
# fmt: on

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
PERSONA_INDEX: dict[str, int] = {p.name: i for i, p in enumerate(PERSONAS)}


def column(attr: str) -> np.ndarray:
    """A persona attribute as an array indexed by persona number (for fancy indexing)."""
    return np.array([getattr(p, attr) for p in PERSONAS])


def shares() -> np.ndarray:
    s = column("share").astype(float)
    return s / s.sum()
