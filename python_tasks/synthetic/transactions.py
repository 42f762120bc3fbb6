"""Transactions: discretionary Poisson activity plus the scheduled flows a bank books.

Scheduled: salary / pension credits, loan instalments, credit-card repayments, monthly account
fees, and the large outgoing transfers of churners moving their money elsewhere.

Sign convention: positive = money in (salary, deposit, transfer_in), negative = money out.
``fee_cny`` is the bank's fee income on the row: a charge attached to a transfer or ATM
withdrawal, or, on a ``fee`` row, the fee itself (there ``amount_cny = -fee_cny``), so that
``sum(fee_cny)`` is the fee income.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from python_tasks.synthetic import personas
from python_tasks.synthetic.copy_writer import Coded, Columns
from python_tasks.synthetic.holdings import P_FEE, PRODUCT_INDEX, Accounts
from python_tasks.synthetic.people import NEVER, Population
from python_tasks.synthetic.sampling import categorical, daytime_seconds, numbered, seconds_between
from python_tasks.synthetic.window import DAY_S, Window, day_of_month, stream, weekday

log = logging.getLogger(__name__)

LATE_SHARE = 0.01
TYPES: tuple[str, ...] = (
    "salary",
    "deposit",
    "withdrawal",
    "transfer_in",
    "transfer_out",
    "payment",
    "fee",
    "loan_repayment",
)
T = {name: i for i, name in enumerate(TYPES)}
CH = {name: i for i, name in enumerate(personas.CHANNELS)}
SIGN = np.array([1, 1, -1, 1, -1, -1, -1, -1])

# Discretionary transactions: type mix per persona (deposit, withdrawal, transfer_in,
# transfer_out, payment).
DISCRETIONARY = np.array(
    [T["deposit"], T["withdrawal"], T["transfer_in"], T["transfer_out"], T["payment"]]
)
TYPE_MIX = {
    "hnw_investor": (0.08, 0.04, 0.25, 0.28, 0.35),
    "affluent_professional": (0.05, 0.06, 0.15, 0.22, 0.52),
    "young_digital": (0.03, 0.05, 0.12, 0.15, 0.65),
    "family_mass": (0.07, 0.10, 0.10, 0.18, 0.55),
    "senior_saver": (0.25, 0.30, 0.10, 0.10, 0.25),
    "dormant_low_value": (0.20, 0.40, 0.10, 0.10, 0.20),
}
# Typical size (CNY) of a discretionary transaction of each type, before the persona scale.
TYPE_MEDIAN = {
    T["deposit"]: 3000.0,
    T["withdrawal"]: 800.0,
    T["transfer_in"]: 3000.0,
    T["transfer_out"]: 2500.0,
    T["payment"]: 120.0,
}
# Which channels can carry which type (branch, atm, mobile, online, pos).
COMPAT = {
    T["deposit"]: (1.0, 1.0, 0.0, 0.0, 0.0),
    T["withdrawal"]: (1.0, 1.0, 0.0, 0.0, 0.0),
    T["transfer_in"]: (0.3, 0.0, 1.0, 1.0, 0.0),
    T["transfer_out"]: (1.0, 0.0, 1.0, 1.0, 0.0),
    T["payment"]: (0.0, 0.0, 1.0, 1.0, 1.0),
}
WEEKEND_FACTOR = 0.85


@dataclass
class _Part:
    cust: np.ndarray
    acc: np.ndarray
    day: np.ndarray
    sec: np.ndarray
    amount: np.ndarray  # signed
    ttype: np.ndarray
    channel: np.ndarray
    fee: np.ndarray


def _channel_seconds(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    sec = daytime_seconds(rng, len(channel), ((0.6, 12.5, 3.0), (0.4, 20.5, 1.5)))
    branch = channel == CH["branch"]
    sec[branch] = seconds_between(rng, int(branch.sum()), 9, 17)
    pos = channel == CH["pos"]
    sec[pos] = daytime_seconds(rng, int(pos.sum()), ((0.5, 12.3, 1.2), (0.5, 19.0, 2.0)))
    return sec


def _fees(
    rng: np.random.Generator,
    acc: Accounts,
    part_acc: np.ndarray,
    ttype: np.ndarray,
    channel: np.ndarray,
    amount: np.ndarray,
) -> np.ndarray:
    fee = np.zeros(len(ttype))
    # Counter transfers to other banks: 0.5%, at least 2 and at most 50 yuan.
    cross = (
        (ttype == T["transfer_out"]) & (channel == CH["branch"]) & (rng.random(len(ttype)) < 0.5)
    )
    fee[cross] = np.clip(np.round(np.abs(amount[cross]) * 0.005, 2), 2.0, 50.0)
    # Withdrawing at another bank's ATM: 2 yuan in town, 4 out of province.
    other_atm = (
        (ttype == T["withdrawal"]) & (channel == CH["atm"]) & (rng.random(len(ttype)) < 0.25)
    )
    fee[other_atm] = np.where(rng.random(int(other_atm.sum())) < 0.8, 2.0, 4.0)
    # VIP accounts have their fees waived.
    fee[acc.product[part_acc] == PRODUCT_INDEX["CUR_VIP"]] = 0.0
    return fee


def _discretionary(
    rng: np.random.Generator,
    pop: Population,
    acc: Accounts,
    window: Window,
    active: np.ndarray,
    decline: np.ndarray,
) -> _Part:
    wk = np.where(weekday(window.dates) >= 5, WEEKEND_FACTOR, 1.0)
    lam = (personas.column("txn_rate_per_day")[pop.persona] * pop.activity)[:, None] * wk[None, :]
    lam = lam * decline * active
    counts = rng.poisson(lam)
    c_idx, d_idx = np.nonzero(counts)
    reps = counts[c_idx, d_idx]
    cust = np.repeat(c_idx, reps)
    day = np.repeat(d_idx, reps)
    n = len(cust)
    persona = pop.persona[cust]

    mix = np.array([TYPE_MIX[name] for name in personas.PERSONA_NAMES])[persona]
    ttype = DISCRETIONARY[categorical(rng, mix)]
    compat = np.zeros((len(TYPES), len(personas.CHANNELS)))
    for t, row in COMPAT.items():
        compat[t] = row
    chan_w = personas.column("channel_weights")[persona] * compat[ttype]
    channel = categorical(rng, chan_w)

    median = np.zeros(len(TYPES))
    for t, m in TYPE_MEDIAN.items():
        median[t] = m
    size = (
        median[ttype]
        * personas.column("spend_scale")[persona]
        * np.exp(0.9 * rng.standard_normal(n))
    )
    atm = (ttype == T["withdrawal"]) & (channel == CH["atm"])
    size[atm] = np.clip(np.round(size[atm], -2), 100, 5000)  # ATMs pay out hundreds
    size = np.maximum(np.round(size, 2), 1.0)
    amount = SIGN[ttype] * size

    # Card-present and online purchases often go on the credit card when the customer has one.
    card = acc.card_of[cust]
    on_card = (
        (ttype == T["payment"]) & (channel != CH["mobile"]) & (card >= 0) & (rng.random(n) < 0.5)
    )
    safe_card = np.where(card >= 0, card, 0)
    on_card &= (day >= acc.open_rel[safe_card]) & (day < acc.close_rel[safe_card])
    account = np.where(on_card, card, acc.current_of[cust])
    fee = _fees(rng, acc, account, ttype, channel, amount)
    return _Part(cust, account, day, _channel_seconds(rng, channel), amount, ttype, channel, fee)


def _exodus(rng: np.random.Generator, pop: Population, acc: Accounts, window: Window) -> _Part:
    """Money moved out in a few large transfers during an episode: a leaver's 1-3, taking its
    savings elsewhere; a decoy's one (a purchase)."""
    days = window.days
    who = np.flatnonzero(
        pop.signals["move_money"]
        & (pop.episode_start < days)
        & (pop.onboard_rel <= pop.episode_start)
    )
    k = np.where(pop.leaver[who], rng.integers(1, 4, size=len(who)), 1)
    cust = np.repeat(who, k)
    lo = np.maximum(pop.episode_start[cust], 0)
    hi = np.minimum(np.minimum(pop.episode_end[cust], pop.close_rel[cust]), days)
    ok = hi > lo
    cust, lo, hi = cust[ok], lo[ok], hi[ok]
    day = lo + (rng.random(len(cust)) * (hi - lo)).astype(np.int64)
    n = len(cust)
    persona = pop.persona[cust]
    ttype = np.full(n, T["transfer_out"])
    chan_w = personas.column("channel_weights")[persona] * np.array(COMPAT[T["transfer_out"]])
    channel = categorical(rng, chan_w)
    share = np.where(pop.leaver[cust], rng.uniform(0.05, 0.2, size=n), rng.uniform(0.2, 0.5, size=n))
    amount = -np.maximum(np.round(pop.latent_wealth[cust] * share, -2), 100.0)
    account = acc.current_of[cust]
    fee = _fees(rng, acc, account, ttype, channel, amount)
    return _Part(cust, account, day, _channel_seconds(rng, channel), amount, ttype, channel, fee)


def _salaries(
    rng: np.random.Generator, pop: Population, window: Window, acc: Accounts, active: np.ndarray
) -> _Part:
    dom = day_of_month(window.dates)
    hit = (dom[None, :] == pop.salary_day[:, None]) & pop.salaried[:, None] & active
    # Payroll moved to another bank stops here: for good once a leaver's episode starts, for
    # the episode only when a decoy changed jobs.
    t = np.arange(window.days)[None, :]
    stopped_until = np.where(pop.leaver, NEVER, pop.episode_end)
    hit &= ~(
        pop.salary_stops[:, None]
        & (t >= pop.episode_start[:, None])
        & (t < stopped_until[:, None])
    )
    hit &= t < pop.leave_rel[:, None]  # gone is gone, payroll included
    cust, day = np.nonzero(hit)
    n = len(cust)
    senior = pop.persona[cust] == personas.PERSONA_INDEX["senior_saver"]
    ttype = np.where(senior, T["transfer_in"], T["salary"])  # pensions arrive as transfers
    amount = np.round(pop.income[cust] * rng.uniform(0.97, 1.03, size=n), 2)
    channel = np.full(n, CH["online"])
    return _Part(
        cust,
        acc.current_of[cust],
        day,
        seconds_between(rng, n, 8, 11),
        amount,
        ttype,
        channel,
        np.zeros(n),
    )


def _loan_repayments(
    rng: np.random.Generator, pop: Population, acc: Accounts, window: Window, active: np.ndarray
) -> _Part:
    idx = np.flatnonzero(np.isin(acc.ptype, ["mortgage", "consumer_loan"]))
    paid = acc.payments_made(idx, window)
    before = acc.payments_made(idx, window, shift=-1)
    # An instalment falls due on the day the count goes up, while the loan is on the books
    # (the last one is paid on the day it closes).
    due = (paid > before) & (
        acc.exists(idx, window.days) | (np.arange(window.days)[None, :] == acc.close_rel[idx, None])
    )
    rows, day = np.nonzero(due)
    loan = idx[rows]
    cust = acc.cust[loan]
    keep = active[cust, day]
    loan, cust, day, rows = loan[keep], cust[keep], day[keep], rows[keep]
    k = paid[rows, day]
    principal_part = acc.principal[loan] / acc.term_months[loan]
    interest = (
        acc.principal[loan] * (1 - (k - 1) / acc.term_months[loan]) * acc.loan_rate[loan] / 12
    )
    amount = -np.round(principal_part + interest, 2)
    n = len(loan)
    return _Part(
        cust,
        acc.current_of[cust],
        day,
        seconds_between(rng, n, 2, 5),
        amount,
        np.full(n, T["loan_repayment"]),
        np.full(n, CH["online"]),
        np.zeros(n),
    )


def _card_repayments(
    rng: np.random.Generator, pop: Population, acc: Accounts, window: Window, active: np.ndarray
) -> _Part:
    idx = acc.card_rows
    dom = day_of_month(window.dates)
    owed = acc.card_balance
    due = (dom[None, :] == acc.pay_day[idx, None]) & acc.exists(idx, window.days)
    due[:, 0] = False  # the statement before the window was settled before it
    rows, day = np.nonzero(due)
    cust = acc.cust[idx[rows]]
    keep = active[cust, day]
    rows, day, cust = rows[keep], day[keep], cust[keep]
    repaid = owed[rows, day - 1] - owed[rows, day]
    keep = repaid >= 1.0
    rows, day, cust, repaid = rows[keep], day[keep], cust[keep], repaid[keep]
    n = len(rows)
    persona = pop.persona[cust]
    chan_w = personas.column("channel_weights")[persona] * np.array([0.3, 0.0, 1.0, 1.0, 0.0])
    channel = categorical(rng, chan_w)
    return _Part(
        cust,
        acc.current_of[cust],
        day,
        _channel_seconds(rng, channel),
        -np.round(repaid, 2),
        np.full(n, T["payment"]),
        channel,
        np.zeros(n),
    )


def _monthly_fees(
    rng: np.random.Generator, pop: Population, acc: Accounts, window: Window
) -> _Part:
    idx = np.flatnonzero(P_FEE[acc.product] > 0)
    first = day_of_month(window.dates) == 1
    due = acc.exists(idx, window.days) & first[None, :]
    rows, day = np.nonzero(due)
    # The bank stops charging an account its customer has emptied and left.
    kept = day < pop.leave_rel[acc.cust[idx[rows]]]
    rows, day = rows[kept], day[kept]
    account = idx[rows]
    fee = P_FEE[acc.product[account]]
    n = len(account)
    return _Part(
        acc.cust[account],
        account,
        day,
        seconds_between(rng, n, 1, 2),
        -fee,
        np.full(n, T["fee"]),
        np.full(n, CH["online"]),
        fee.copy(),
    )


def transactions_columns(pop: Population, acc: Accounts, window: Window, seed: int) -> Columns:
    days = window.days
    active = pop.active_mask(days)
    decline = pop.decline(days)
    parts = [
        _discretionary(stream(seed, "txn/discretionary"), pop, acc, window, active, decline),
        _exodus(stream(seed, "txn/exodus"), pop, acc, window),
        _salaries(stream(seed, "txn/salary"), pop, window, acc, active),
        _loan_repayments(stream(seed, "txn/loans"), pop, acc, window, active),
        _card_repayments(stream(seed, "txn/cards"), pop, acc, window, active),
        _monthly_fees(stream(seed, "txn/fees"), pop, acc, window),
    ]
    cat = {f: np.concatenate([getattr(p, f) for p in parts]) for f in _Part.__dataclass_fields__}
    # Money can only move on an account that is open that day.
    ok = (
        (cat["day"] >= acc.open_rel[cat["acc"]])
        & (cat["day"] < acc.close_rel[cat["acc"]])
        & (cat["acc"] >= 0)
    )
    cat = {k: v[ok] for k, v in cat.items()}
    n = len(cat["cust"])
    order = np.lexsort((np.arange(n), cat["acc"], cat["sec"], cat["day"]))
    cat = {k: v[order] for k, v in cat.items()}

    rng = stream(seed, "txn/arrival")
    txn_ts = window.ts(cat["day"], cat["sec"])
    # Most rows are booked within minutes; about 1% arrive 1-5 days late. The source is a
    # snapshot at the end of the last day, so a delay is shortened to what still fits before
    # then, and a transaction too close to the end for a whole day's delay is booked normally.
    room = (window.last_ts - txn_ts).astype(np.int64)
    lag = rng.integers(20, 600, size=n)
    late_lag = rng.integers(1, 6, size=n) * DAY_S
    late_extra = rng.integers(0, 6 * 3600, size=n)
    late_lag = np.minimum(late_lag, (room - late_extra) // DAY_S * DAY_S) + late_extra
    late = (rng.random(n) < LATE_SHARE) & (late_lag >= DAY_S)
    lag[late] = late_lag[late]
    updated = np.minimum(txn_ts + lag.astype("timedelta64[s]"), window.last_ts)

    log.info("transactions: %d (%d late)", n, int(late.sum()))
    return {
        "txn_id": numbered("T", np.arange(n) + 1, 12),
        "account_id": Coded(acc.account_id, cat["acc"]),
        "customer_id": Coded(pop.customer_id, cat["cust"]),
        "txn_ts": txn_ts,
        "amount_cny": np.round(cat["amount"], 2),
        "txn_type": Coded(np.array(TYPES), cat["ttype"]),
        "channel": Coded(np.array(personas.CHANNELS), cat["channel"]),
        "fee_cny": np.round(cat["fee"], 2),
        "updated_at": updated,
    }
