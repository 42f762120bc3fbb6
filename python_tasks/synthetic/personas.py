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
    "term_deposit", "wealth", "mortgage", "consumer_loan", "credit_card",
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
    churn_beta: tuple[float, float]          # Beta(a, b) for churn_propensity
    growth_median: float                     # expected value multiple in a year
    txn_rate_per_day: float                  # mean Poisson rate of discretionary transactions
    spend_scale: float                       # multiplies typical transaction amounts
    channel_weights: tuple[float, ...]       # over CHANNELS
    contact_weights: tuple[float, ...]       # over CONTACT_CHANNELS (preferred channel)
    product_probs: tuple[float, ...]         # P(holds) per EXTRA_PRODUCT_TYPES
    salaried_share: float                    # gets a monthly salary (or pension) credit
    income_median_cny: float                 # monthly
    email_share: float


PERSONAS: tuple[Persona, ...] = (
    Persona("hnw_investor", 0.03, (35, 70), 15, 4_000_000, 1.0, (1.2, 22.0), 1.12, 0.5, 8.0,
            (0.20, 0.05, 0.35, 0.30, 0.10), (0.10, 0.55, 0.20, 0.15),
            (0.80, 0.95, 0.15, 0.02, 0.45), 0.55, 80_000, 0.7),
    Persona("affluent_professional", 0.15, (28, 55), 15, 450_000, 0.85, (1.2, 15.0), 1.20, 0.7, 3.0,
            (0.08, 0.07, 0.45, 0.25, 0.15), (0.25, 0.25, 0.20, 0.30),
            (0.60, 0.60, 0.35, 0.05, 0.55), 0.90, 28_000, 0.6),
    Persona("young_digital", 0.30, (20, 32), 8, 25_000, 1.0, (1.5, 11.0), 1.35, 0.9, 0.8,
            (0.02, 0.05, 0.55, 0.13, 0.25), (0.30, 0.05, 0.05, 0.60),
            (0.10, 0.15, 0.05, 0.25, 0.60), 0.85, 9_000, 0.5),
    Persona("family_mass", 0.27, (30, 50), 15, 60_000, 0.9, (1.5, 17.0), 1.05, 0.6, 1.0,
            (0.10, 0.15, 0.40, 0.15, 0.20), (0.35, 0.25, 0.05, 0.35),
            (0.30, 0.15, 0.45, 0.20, 0.45), 0.88, 11_000, 0.35),
    Persona("senior_saver", 0.15, (60, 85), 15, 280_000, 0.9, (1.5, 28.0), 1.00, 0.3, 0.9,
            (0.45, 0.35, 0.08, 0.04, 0.08), (0.25, 0.70, 0.02, 0.03),
            (0.85, 0.40, 0.03, 0.00, 0.05), 0.95, 4_500, 0.1),
    Persona("dormant_low_value", 0.10, (18, 75), 15, 1_500, 1.2, (2.0, 6.0), 0.95, 0.03, 0.3,
            (0.30, 0.40, 0.15, 0.05, 0.10), (0.60, 0.25, 0.05, 0.10),
            (0.05, 0.00, 0.00, 0.02, 0.05), 0.10, 3_000, 0.1),
)

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
PERSONA_INDEX: dict[str, int] = {p.name: i for i, p in enumerate(PERSONAS)}


def column(attr: str) -> np.ndarray:
    """A persona attribute as an array indexed by persona number (for fancy indexing)."""
    return np.array([getattr(p, attr) for p in PERSONAS])


def shares() -> np.ndarray:
    s = column("share").astype(float)
    return s / s.sum()
