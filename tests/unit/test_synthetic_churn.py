"""The synthetic bank's leavers: a latent propensity that shows, noisily, in several behaviours.

Built in memory (no database): a bank of 3,000 customers over 300 days. At the window's end each
of a few single behaviours is scored against the truth (who leaves in the next 90 days): each must
carry some signal, and none alone may find the leavers well, as a planted single rule would.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from python_tasks.synthetic import holdings, landing, people, transactions
from python_tasks.synthetic.window import Window

WINDOW = Window.ending(date(2026, 9, 30), 300)


@pytest.fixture(scope="module")
def bank():
    pop = people.build_population(3000, WINDOW, 17)
    acc = holdings.build_accounts(pop, WINDOW, 17)
    feeds = landing.build_feeds(pop, WINDOW, 17, holdings.openings(acc, WINDOW))
    txns = transactions.transactions_columns(pop, acc, WINDOW, 17)
    return pop, acc, feeds, txns


def _per_customer(n: int, cust: np.ndarray, mask: np.ndarray, weights=None) -> np.ndarray:
    return np.bincount(cust[mask], weights=None if weights is None else weights[mask], minlength=n)


def _single_signals(pop, acc, feeds, txns) -> dict[str, np.ndarray]:
    """Per customer, behaviours a hand-written rule would look at, as known on the last day."""
    days, n = WINDOW.days, pop.n
    cust = txns["customer_id"].codes
    day = (txns["txn_ts"].astype("datetime64[D]") - WINDOW.start64).astype(np.int64)
    recent = _per_customer(n, cust, day >= days - 90)
    before = _per_customer(n, cust, (day >= days - 180) & (day < days - 90))
    out_amount = -np.minimum(txns["amount_cny"], 0)
    outflow = _per_customer(n, cust, day >= days - 90, out_amount)
    balances = {}
    for chunk in holdings.balance_chunks(acc, pop, WINDOW, 17):
        rel = (chunk["balance_date"] - WINDOW.start64).astype(np.int64)
        deposit = np.isin(holdings.P_TYPE[acc.product[chunk["account_id"].codes]],
                          ["current", "term_deposit", "wealth"])
        for when in (days - 91, days - 1):
            sel = (rel == when) & deposit
            c = acc.cust[chunk["account_id"].codes[sel]]
            balances[when] = balances.get(when, 0) + np.bincount(c, weights=chunk["balance_cny"][sel], minlength=n)
    cc = feeds["contact_centre_interactions"]
    complaints = _per_customer(
        n, cc.cust, (cc.day >= days - 90) & np.isin(cc.columns["reason"], ["complaint", "fee_dispute"])
    )
    return {
        "activity_fall": (before + 1) / (recent + 1),
        "balance_fall": (balances[days - 91] + 1000) / (balances[days - 1] + 1000),
        "complaints": complaints.astype(float),
        "outflow": outflow / (balances[days - 91] + 1000),
    }


def test_leavers_past_future_and_silent(bank):
    pop, *_ = bank
    days = WINDOW.days
    past = pop.leave_rel < days
    assert 0.05 < past.mean() < 0.35
    assert 0.01 < pop.will_churn.mean() < 0.08
    warned = pop.leaver & (pop.episode_start < people.NEVER)
    silent_share = 1 - warned[pop.leaver].mean()
    assert 0.15 < silent_share < 0.35
    # Some past leavers closed the relationship, others just went silent.
    closed = pop.close_rel < people.NEVER
    assert closed[past].mean() > 0.3 and (~closed[past]).mean() > 0.3
    # Decoys: stayers with an episode.
    assert ((pop.episode_start < people.NEVER) & ~pop.leaver).mean() > 0.05


def test_no_single_behaviour_finds_the_leavers(bank):
    pop, acc, feeds, txns = bank
    signals = _single_signals(pop, acc, feeds, txns)
    alive = (pop.leave_rel >= WINDOW.days) & (pop.onboard_rel < WINDOW.days - 180)
    aucs = {name: roc_auc_score(pop.will_churn[alive], values[alive]) for name, values in signals.items()}
    for name, auc in aucs.items():
        assert auc < 0.8, f"{name} alone finds the leavers (AUC {auc:.2f}): a planted single rule"
    assert max(aucs.values()) > 0.55, f"no behaviour carries any signal: {aucs}"


def test_openings_have_precursors(bank):
    pop, acc, feeds, _ = bank
    opened = holdings.openings(acc, WINDOW)
    cc = feeds["contact_centre_interactions"]
    enquiry = np.isin(cc.columns["reason"], ["product_enquiry", "loan_enquiry"])
    asked_before = 0
    for c, d in zip(opened.cust, opened.day):
        asked_before += bool(np.any(enquiry & (cc.cust == c) & (cc.day < d) & (cc.day >= d - 60)))
    share = asked_before / len(opened.cust)
    assert len(opened.cust) > 200
    assert 0.3 < share < 0.8
