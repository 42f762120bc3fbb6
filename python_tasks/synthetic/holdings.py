"""Products, accounts, daily balances, loans and cards.

Balances are modelled, not booked: each account follows a level path (random walk with the
customer's growth drift and, for churners, a fade), loans amortise on their repayment day and
cards follow a monthly spend-and-repay cycle. They are not reconciled to the cent with the
transactions table; the two tell the same story (a churner's balances fall while its
transactions fade), which is what the warehouse's signals need.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from python_tasks.synthetic import personas
from python_tasks.synthetic.copy_writer import Coded, Columns
from python_tasks.synthetic.people import NEVER, Population
from python_tasks.synthetic.sampling import seconds_between
from python_tasks.synthetic.window import Window, day_of_month, stream

log = logging.getLogger(__name__)

BALANCE_CHUNK_ACCOUNTS = 20_000  # fixed, so chunking never changes the random numbers
BALANCE_STAMP_SECONDS = 22 * 3600  # end-of-day batch posts balances at 22:00 Shanghai time
MAX_ACCOUNTS_PER_CUSTOMER = 6
# The core system keeps end-of-day balances for its last months; before that, month-end
# balances only (the archive), which keeps a two-year history small.
DAILY_BALANCE_DAYS = 120
SAVING_UP_DAYS = 60  # money gathers in the current account before a deposit or wealth opening


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    type: str
    rate: float
    monthly_fee: float = 0.0
    term_months: int = 0


PRODUCTS: tuple[Product, ...] = (
    Product("CUR_STD", "个人活期储蓄账户", "current", 0.00200),
    Product("CUR_VIP", "贵宾综合账户", "current", 0.00250),
    # Small-balance account management fee (小额账户管理费), still charged on basic accounts.
    Product("CUR_BASIC", "基础结算账户", "current", 0.00100, 1.00),
    Product("TD_6M", "六个月定期存款", "term_deposit", 0.01500, 0, 6),
    Product("TD_1Y", "一年期定期存款", "term_deposit", 0.01700, 0, 12),
    Product("TD_3Y", "三年期定期存款", "term_deposit", 0.02200, 0, 36),
    Product("WM_CASH", "现金管理类理财", "wealth", 0.02500),
    Product("WM_FIXED", "固定收益类理财", "wealth", 0.03000),
    Product("WM_BAL", "混合类理财", "wealth", 0.03500),
    Product("MORT", "个人住房贷款", "mortgage", 0.03500),
    Product("CONS", "个人消费贷款", "consumer_loan", 0.05500),
    Product("CC_STD", "标准信用卡", "credit_card", 0.00000),
    Product("CC_PLAT", "白金信用卡", "credit_card", 0.00000, 0),
)
PRODUCT_INDEX = {p.code: i for i, p in enumerate(PRODUCTS)}
P_TYPE = np.array([p.type for p in PRODUCTS])
P_RATE = np.array([p.rate for p in PRODUCTS])
P_FEE = np.array([p.monthly_fee for p in PRODUCTS])
P_TERM = np.array([p.term_months for p in PRODUCTS])
P_CODE = np.array([p.code for p in PRODUCTS])
REPRICED_PRODUCT = "TD_1Y"  # the bank cut this rate during the window: updated_at inside it

# How much of a customer's deposits sit in the current account rather than savings products.
LIQUIDITY = {
    "hnw_investor": 0.3,
    "affluent_professional": 0.7,
    "young_digital": 3.0,
    "family_mass": 1.5,
    "senior_saver": 0.4,
    "dormant_low_value": 10.0,
}
CARD_UTILISATION = {
    "hnw_investor": 0.08,
    "affluent_professional": 0.15,
    "young_digital": 0.35,
    "family_mass": 0.25,
    "senior_saver": 0.05,
    "dormant_low_value": 0.03,
}
CARD_REVOLVE = {
    "hnw_investor": 0.0,
    "affluent_professional": 0.03,
    "young_digital": 0.25,
    "family_mass": 0.15,
    "senior_saver": 0.0,
    "dormant_low_value": 0.1,
}
CARD_LIMIT = {
    "hnw_investor": 200_000,
    "affluent_professional": 80_000,
    "young_digital": 20_000,
    "family_mass": 30_000,
    "senior_saver": 10_000,
    "dormant_low_value": 5_000,
}
MORTGAGE_SCALE = {
    "hnw_investor": 3.0,
    "affluent_professional": 1.6,
    "young_digital": 0.8,
    "family_mass": 1.0,
    "senior_saver": 0.6,
    "dormant_low_value": 0.5,
}


def _by_persona(table: dict[str, float], persona: np.ndarray) -> np.ndarray:
    return np.array([table[name] for name in personas.PERSONA_NAMES])[persona]


@dataclass
class Accounts:
    account_id: np.ndarray
    cust: np.ndarray  # index into the population
    product: np.ndarray  # index into PRODUCTS
    open_rel: np.ndarray
    close_rel: np.ndarray  # NEVER when open
    updated_at: np.ndarray
    level: np.ndarray  # deposits: balance at the window start (or at opening)
    # Loans (entries for non-loans are unused)
    principal: np.ndarray
    loan_rate: np.ndarray
    term_months: np.ndarray
    pay_day: np.ndarray  # day of month of the repayment / card statement
    overdue_rel: np.ndarray  # loans stop being repaid from this day; NEVER if performing
    # Cards
    credit_limit: np.ndarray
    card_balance: np.ndarray  # (n credit cards, days) amount owed, rows in card_rows order
    card_rows: np.ndarray  # account indices of credit cards
    current_of: np.ndarray  # per customer: index of its current account
    card_of: np.ndarray  # per customer: index of its first credit card, -1 if none

    @property
    def n(self) -> int:
        return len(self.account_id)

    @property
    def ptype(self) -> np.ndarray:
        return P_TYPE[self.product]

    def exists(self, idx: np.ndarray, days: int) -> np.ndarray:
        """(len(idx), days): the account is open at the end of that day."""
        t = np.arange(days)[None, :]
        return (t >= self.open_rel[idx, None]) & (t < self.close_rel[idx, None])

    def payments_made(self, idx: np.ndarray, window: Window, shift: int = 0) -> np.ndarray:
        """(len(idx), days) loan instalments paid by the end of each day (equal-principal
        schedule); ``shift=-1`` gives the count as of the day before."""
        dates = window.dates + shift
        ym = dates.astype("datetime64[M]").astype(np.int64)
        dom = day_of_month(dates)
        open_d = window.day_of(self.open_rel[idx])
        open_ym = open_d.astype("datetime64[M]").astype(np.int64)
        k = (ym[None, :] - open_ym[:, None]) - (dom[None, :] < self.pay_day[idx, None])
        # An overdue loan stops paying: from its overdue day the count stays where it was.
        frozen_t = np.clip(self.overdue_rel[idx] - 1 - shift, 0, window.days - 1)
        k_frozen = np.take_along_axis(k, frozen_t[:, None], axis=1)
        overdue = np.arange(window.days)[None, :] + shift >= self.overdue_rel[idx, None]
        k = np.where(overdue, np.minimum(k, k_frozen), k)
        return np.clip(k, 0, self.term_months[idx, None])

    def loan_outstanding(self, idx: np.ndarray, window: Window) -> np.ndarray:
        k = self.payments_made(idx, window)
        return self.principal[idx, None] * (1.0 - k / self.term_months[idx, None])


@dataclass
class Openings:
    """Accounts opened inside the window: customer index, relative day, product type."""

    cust: np.ndarray
    day: np.ndarray
    ptype: np.ndarray


def openings(acc: Accounts, window: Window) -> Openings:
    """Non-current accounts opened inside the window (the events precursors lead up to)."""
    idx = np.flatnonzero((acc.ptype != "current") & (acc.open_rel > 0) & (acc.open_rel < window.days))
    return Openings(cust=acc.cust[idx], day=acc.open_rel[idx], ptype=acc.ptype[idx])


def products_columns(window: Window) -> Columns:
    launch = window.ts(np.full(len(PRODUCTS), -400), np.full(len(PRODUCTS), 9 * 3600))
    repriced = PRODUCT_INDEX[REPRICED_PRODUCT]
    launch[repriced] = window.ts(np.array([window.days // 2]), np.array([9 * 3600]))[0]
    return {
        "product_code": P_CODE,
        "product_name": np.array([p.name for p in PRODUCTS]),
        "product_type": P_TYPE,
        "customer_rate": P_RATE,
        "monthly_fee_cny": P_FEE,
        "updated_at": launch,
    }


def _choose_holdings(rng: np.random.Generator, pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, product index) per account, sorted by customer."""
    n = pop.n
    pi = personas.PERSONA_INDEX
    persona = pop.persona
    cur = np.full(n, PRODUCT_INDEX["CUR_STD"])
    cur[np.isin(persona, [pi["hnw_investor"], pi["affluent_professional"]])] = PRODUCT_INDEX[
        "CUR_VIP"
    ]
    basic = ((persona == pi["dormant_low_value"]) & (rng.random(n) < 0.5)) | (
        (persona == pi["young_digital"]) & (rng.random(n) < 0.1)
    )
    cur[basic] = PRODUCT_INDEX["CUR_BASIC"]
    custs, prods = [np.arange(n)], [cur]

    probs = personas.column("product_probs")[persona]  # (n, EXTRA_PRODUCT_TYPES)
    hnw_or_senior = np.isin(persona, [pi["hnw_investor"], pi["senior_saver"]])
    rich = np.isin(persona, [pi["hnw_investor"], pi["affluent_professional"]])
    for j, ptype in enumerate(personas.EXTRA_PRODUCT_TYPES):
        holds = rng.random(n) < probs[:, j]
        if ptype == "term_deposit":
            second = holds & hnw_or_senior & (rng.random(n) < 0.4)
            who = np.concatenate([np.flatnonzero(holds), np.flatnonzero(second)])
            prod = rng.choice(
                [PRODUCT_INDEX[c] for c in ("TD_6M", "TD_1Y", "TD_3Y")],
                size=len(who),
                p=[0.3, 0.4, 0.3],
            )
        elif ptype == "wealth":
            second = holds & (persona == pi["hnw_investor"]) & (rng.random(n) < 0.6)
            who = np.concatenate([np.flatnonzero(holds), np.flatnonzero(second)])
            aggressive = rich[who]
            prod = np.where(
                aggressive,
                rng.choice(
                    [PRODUCT_INDEX[c] for c in ("WM_CASH", "WM_FIXED", "WM_BAL")],
                    size=len(who),
                    p=[0.2, 0.4, 0.4],
                ),
                rng.choice(
                    [PRODUCT_INDEX[c] for c in ("WM_CASH", "WM_FIXED", "WM_BAL")],
                    size=len(who),
                    p=[0.5, 0.4, 0.1],
                ),
            )
        elif ptype == "credit_card":
            who = np.flatnonzero(holds)
            plat = rich[who] & (rng.random(len(who)) < 0.6)
            prod = np.where(plat, PRODUCT_INDEX["CC_PLAT"], PRODUCT_INDEX["CC_STD"])
        else:
            who = np.flatnonzero(holds)
            prod = np.full(len(who), PRODUCT_INDEX["MORT" if ptype == "mortgage" else "CONS"])
        custs.append(who)
        prods.append(prod)
    cust = np.concatenate(custs)
    prod = np.concatenate(prods)
    order = np.lexsort((prod, cust))  # current first (lowest product index), then by product
    cust, prod = cust[order], prod[order]
    # Rank within customer; drop anything beyond the cap.
    first = np.r_[0, np.flatnonzero(np.diff(cust)) + 1]
    rank = np.arange(len(cust)) - np.repeat(first, np.diff(np.r_[first, len(cust)]))
    keep = rank < MAX_ACCOUNTS_PER_CUSTOMER
    return cust[keep], prod[keep]


def build_accounts(pop: Population, window: Window, seed: int) -> Accounts:
    rng = stream(seed, "accounts")
    days = window.days
    cust, prod = _choose_holdings(rng, pop)
    a = len(cust)
    ptype = P_TYPE[prod]
    is_current = ptype == "current"
    persona = pop.persona[cust]

    # Opening. Life of the relationship on the relative-day axis: [lo, hi].
    lo = pop.onboard_rel[cust]
    hi = np.minimum(pop.close_rel[cust], days) - 1
    term_days = np.where(ptype == "mortgage", 0, P_TERM[prod] * 30)
    term_months = P_TERM[prod].copy()
    term_months[ptype == "mortgage"] = rng.choice(
        [240, 300, 360], size=int((ptype == "mortgage").sum())
    )
    n_cons = int((ptype == "consumer_loan").sum())
    term_months[ptype == "consumer_loan"] = rng.choice([12, 24, 36, 60], size=n_cons)
    # Fixed-term things should still be running when the window opens.
    span_back = np.where(
        ptype == "term_deposit",
        term_days,
        np.where(
            ptype == "mortgage",
            3650,
            np.where(ptype == "consumer_loan", term_months * 30 - 30, 100_000),
        ),
    )
    pre_lo = np.maximum(lo, -span_back)
    pre_hi = np.minimum(hi, -1)
    u = rng.random(a)
    open_rel = pre_lo + (u * (pre_hi - pre_lo + 1)).astype(np.int64)
    # About one product in six is opened in a given year: those fall inside the window.
    late_open = (rng.random(a) < min(0.6, 0.03 + 0.15 * days / 365)) | (pre_hi < pre_lo)
    in_lo = np.maximum(lo, 0)
    open_in = in_lo + (rng.random(a) * np.maximum(hi - in_lo + 1, 1)).astype(np.int64)
    open_rel = np.where(late_open & (hi >= in_lo), open_in, open_rel)
    open_rel = np.where(is_current, lo, np.clip(open_rel, lo, np.maximum(hi, lo)))

    # Closing.
    close_rel = np.full(a, NEVER, dtype=np.int64)
    maturity = open_rel + np.where(
        ptype == "term_deposit",
        term_days,
        np.where(ptype == "consumer_loan", term_months * 30, NEVER),
    )
    matures = (maturity >= 0) & (maturity < days)
    # Loans end at maturity; half of maturing term deposits are taken out rather than rolled.
    ends = matures & ((ptype == "consumer_loan") | (rng.random(a) < 0.5))
    close_rel[ends] = maturity[ends]
    historic = ~is_current & (open_rel < -60) & (rng.random(a) < 0.03) & (ptype != "mortgage")
    close_rel[historic] = open_rel[historic] + (
        rng.random(int(historic.sum())) * -open_rel[historic]
    ).astype(np.int64)
    close_rel[historic] = np.minimum(close_rel[historic], -1)
    # Products also close for ordinary reasons, about 4% a year.
    random_close = ~is_current & (rng.random(a) < min(0.3, 0.04 * days / 365)) & (days > 1)
    close_rel[random_close] = np.minimum(
        close_rel[random_close], rng.integers(1, max(days, 2), size=int(random_close.sum()))
    )
    # In an episode that closes products, a leaver empties most savings and cards (and pays
    # off some loans); a decoy closes the odd one.
    loanish_type = np.isin(ptype, ["mortgage", "consumer_loan"])
    shed_p = np.where(pop.leaver[cust], np.where(loanish_type, 0.15, 0.6), np.where(loanish_type, 0.0, 0.4))
    ep0 = np.maximum(pop.episode_start[cust], 0)
    ep1 = np.minimum(pop.episode_end[cust], days)
    shed = (
        pop.signals["close_products"][cust] & ~is_current & (rng.random(a) < shed_p) & (ep0 < ep1)
        & (open_rel < ep0)
    )
    close_rel[shed] = np.minimum(
        close_rel[shed], ep0[shed] + (rng.random(int(shed.sum())) * (ep1[shed] - ep0[shed])).astype(np.int64)
    )
    close_rel = np.minimum(close_rel, pop.close_rel[cust])
    close_rel = np.where(
        close_rel <= open_rel, np.where(close_rel < NEVER, open_rel + 1, close_rel), close_rel
    )
    # A relationship that ended closes everything; nothing stays open past it.
    close_rel = np.where(close_rel >= days, NEVER, close_rel)
    close_rel = np.where(
        pop.close_rel[cust] < NEVER, np.minimum(close_rel, pop.close_rel[cust]), close_rel
    )
    open_rel = np.minimum(open_rel, close_rel - 1)

    last_change = np.where(close_rel < NEVER, close_rel, open_rel)
    updated_at = window.ts(last_change, seconds_between(rng, a, 8.5, 18))

    # Deposit levels: split the customer's wealth across current, term deposits and wealth.
    deposit_like = np.isin(ptype, ["current", "term_deposit", "wealth"])
    weight = np.where(
        is_current, _by_persona(LIQUIDITY, persona), np.where(ptype == "wealth", 1.2, 1.0)
    ) * rng.gamma(3.0, 1 / 3.0, size=a)
    weight = np.where(deposit_like, weight, 0.0)
    totals = np.bincount(cust, weights=weight, minlength=pop.n)
    level = np.where(deposit_like, pop.latent_wealth[cust] * weight / totals[cust], 0.0)
    # Nobody keeps literally nothing: a floor of a few yuan on current accounts.
    level = np.where(is_current, np.maximum(level, rng.uniform(5, 200, size=a)), level)

    # Loans.
    principal = np.zeros(a)
    mort = ptype == "mortgage"
    cons = ptype == "consumer_loan"
    principal[mort] = np.round(
        1_200_000
        * _by_persona(MORTGAGE_SCALE, persona[mort])
        * np.exp(0.45 * rng.standard_normal(int(mort.sum()))),
        -4,
    )
    principal[cons] = np.round(80_000 * np.exp(0.6 * rng.standard_normal(n_cons)), -3).clip(
        10_000, 500_000
    )
    loan_rate = np.zeros(a)
    loan_rate[mort] = np.round(rng.uniform(0.033, 0.040, size=int(mort.sum())), 4)
    young = persona == personas.PERSONA_INDEX["young_digital"]
    cons_rate = rng.uniform(0.045, 0.065, size=a) + np.where(young, 0.005, 0.0)
    loan_rate[cons] = np.round(cons_rate[cons], 4)
    open_dom = day_of_month(window.day_of(open_rel))
    pay_day = np.minimum(open_dom, 28)
    overdue_rel = np.full(a, NEVER, dtype=np.int64)
    loanish = mort | cons
    overdue_p = np.where(pop.leaver[cust], 0.08, 0.015) * np.where(cons, 2.0, 1.0)
    overdue = (
        loanish & (close_rel == NEVER) & (open_rel < 0) & (rng.random(a) < overdue_p) & (days > 1)
    )
    overdue_rel[overdue] = rng.integers(1, max(days, 2), size=int(overdue.sum()))
    updated_at[overdue] = window.ts(
        overdue_rel[overdue], seconds_between(rng, int(overdue.sum()), 1, 3)
    )
    term_months = np.where(loanish, term_months, 1)

    # Credit cards.
    is_card = ptype == "credit_card"
    credit_limit = np.zeros(a)
    credit_limit[is_card] = np.round(
        _by_persona(CARD_LIMIT, persona[is_card])
        * np.exp(0.4 * rng.standard_normal(int(is_card.sum()))),
        -3,
    ).clip(3_000, 1_000_000)
    plat = prod == PRODUCT_INDEX["CC_PLAT"]
    credit_limit[plat] = np.maximum(credit_limit[plat], 50_000)
    pay_day = np.where(is_card, rng.integers(1, 29, size=a), pay_day)

    account_id = np.strings.add("A", (6_200_000_001 + np.arange(a)).astype(str))
    current_of = np.full(pop.n, -1, dtype=np.int64)
    current_of[cust[is_current]] = np.flatnonzero(is_current)
    card_rows = np.flatnonzero(is_card)
    card_of = np.full(pop.n, -1, dtype=np.int64)
    card_of[cust[card_rows][::-1]] = card_rows[::-1]  # first card wins
    accounts = Accounts(
        account_id=account_id,
        cust=cust,
        product=prod,
        open_rel=open_rel,
        close_rel=close_rel,
        updated_at=updated_at,
        level=level,
        principal=principal,
        loan_rate=loan_rate,
        term_months=term_months,
        pay_day=pay_day,
        overdue_rel=overdue_rel,
        credit_limit=credit_limit,
        card_balance=np.zeros((0, days)),
        card_rows=card_rows,
        current_of=current_of,
        card_of=card_of,
    )
    accounts.card_balance = _card_balances(accounts, pop, window, seed)
    log.info("accounts: %d (%d closed)", a, int((close_rel < NEVER).sum()))
    return accounts


def _card_balances(acc: Accounts, pop: Population, window: Window, seed: int) -> np.ndarray:
    """Amount owed on each credit card: spend builds up over the statement cycle, then the
    customer repays all but the revolving share on the statement day."""
    rng = stream(seed, "card_balances")
    idx = acc.card_rows
    days = window.days
    c = acc.cust[idx]
    persona = pop.persona[c]
    daily_spend = (
        acc.credit_limit[idx]
        * _by_persona(CARD_UTILISATION, persona)
        / 30
        * pop.activity[c]
        * rng.uniform(0.5, 1.5, size=len(idx))
    )
    revolve = _by_persona(CARD_REVOLVE, persona)
    dom = day_of_month(window.dates)
    # Days since the last statement: this month's statement day, or last month's if it is
    # still to come.
    month = window.dates.astype("datetime64[M]")
    this_stmt = month.astype("datetime64[D]")[None, :] + (acc.pay_day[idx, None] - 1)
    prev_stmt = (month - 1).astype("datetime64[D]")[None, :] + (acc.pay_day[idx, None] - 1)
    stmt = np.where(dom[None, :] >= acc.pay_day[idx, None], this_stmt, prev_stmt)
    since = (window.dates[None, :] - stmt).astype(np.int64)
    spend = (
        daily_spend[:, None]
        * pop.decline(days)[c]
        * np.exp(0.25 * rng.standard_normal((len(idx), days)))
    )
    carry = revolve[:, None] * daily_spend[:, None] * 30
    owed = np.clip(carry + spend * (since + 1), 0, acc.credit_limit[idx, None])
    # A leaver who did not close the relationship settles the card when going.
    gone = pop.leaver[c, None] & (np.arange(days)[None, :] >= pop.leave_rel[c, None])
    return np.round(np.where(gone, 0.0, owed), 2)


def _saving_up(acc: Accounts, days: int):
    """A function of current-account indices giving (len, days) extra balance: before a term
    deposit or wealth product opens in the window, its money gathers in the customer's current
    account over SAVING_UP_DAYS, and moves into the product on the opening day."""
    opening = np.flatnonzero(
        np.isin(P_TYPE[acc.product], ["term_deposit", "wealth"]) & (acc.open_rel > 0) & (acc.open_rel < days)
    )
    t = np.arange(days, dtype=float)[None, :]

    def extra(current_idx: np.ndarray) -> np.ndarray:
        out = np.zeros((len(current_idx), days))
        pos = {int(c): i for i, c in enumerate(acc.cust[current_idx])}
        rows = np.array([pos.get(int(c), -1) for c in acc.cust[opening]], dtype=np.int64)
        sel = rows >= 0
        if not sel.any():
            return out
        o = acc.open_rel[opening[sel]].astype(float)[:, None]
        ramp = np.clip((t - (o - SAVING_UP_DAYS)) / SAVING_UP_DAYS, 0.0, 1.0) * (t < o)
        np.add.at(out, rows[sel], ramp * acc.level[opening[sel]][:, None])
        return out

    return extra


def balance_chunks(acc: Accounts, pop: Population, window: Window, seed: int) -> Iterator[Columns]:
    """daily_balances rows (account, date order), a chunk of accounts at a time."""
    days = window.days
    dates = window.dates
    stamp = window.ts(np.arange(days), np.full(days, BALANCE_STAMP_SECONDS))
    t = np.arange(days, dtype=float)[None, :]
    card_pos = np.full(acc.n, -1, dtype=np.int64)
    card_pos[acc.card_rows] = np.arange(len(acc.card_rows))
    money_all = pop.balance_path(days)
    saving_up = _saving_up(acc, days)
    month_end = (window.dates + 1).astype("datetime64[M]") != window.dates.astype("datetime64[M]")
    kept_day = month_end | (np.arange(days) >= days - DAILY_BALANCE_DAYS)
    for ci, lo in enumerate(range(0, acc.n, BALANCE_CHUNK_ACCOUNTS)):
        rng = stream(seed, f"balances/{ci}")
        idx = np.arange(lo, min(lo + BALANCE_CHUNK_ACCOUNTS, acc.n))
        ptype = P_TYPE[acc.product[idx]]
        c = acc.cust[idx]
        noise = rng.standard_normal((len(idx), days))
        decline = money_all[c]
        drift = np.log(pop.growth_potential[c])[:, None] / 365.0
        bal = np.zeros((len(idx), days))
        # Relative day of the path's starting point: window start or opening.
        origin = np.maximum(acc.open_rel[idx], 0)[:, None].astype(float)
        age = np.maximum(t - origin, 0.0)

        cur = ptype == "current"
        walk = np.cumsum(0.03 * noise[cur] * (t >= origin[cur]), axis=1)
        bal[cur] = acc.level[idx][cur, None] * np.exp(walk + drift[cur] * age[cur]) * decline[cur]
        bal[cur] += saving_up(idx[cur])

        td = ptype == "term_deposit"
        accrued_from = (t - acc.open_rel[idx][td, None].astype(float)).clip(0)
        bal[td] = acc.level[idx][td, None] * (
            1 + P_RATE[acc.product[idx][td], None] * accrued_from / 365
        ) * decline[td]

        wm = ptype == "wealth"
        nav_drift = P_RATE[acc.product[idx][wm], None] / 365 + 0.5 * drift[wm]
        nav = np.cumsum(0.004 * noise[wm] * (t >= origin[wm]), axis=1) + nav_drift * age[wm]
        bal[wm] = acc.level[idx][wm, None] * np.exp(nav) * decline[wm]

        loans = np.isin(ptype, ["mortgage", "consumer_loan"])
        if loans.any():
            bal[loans] = acc.loan_outstanding(idx[loans], window)

        cards = ptype == "credit_card"
        if cards.any():
            bal[cards] = acc.card_balance[card_pos[idx[cards]]]

        rows, cols = np.nonzero(acc.exists(idx, days) & kept_day[None, :])
        yield {
            "account_id": Coded(acc.account_id, idx[rows]),
            "balance_date": dates[cols],
            "balance_cny": np.round(bal[rows, cols], 2),
            "updated_at": stamp[cols],
        }


def accounts_columns(acc: Accounts, pop: Population, window: Window) -> Columns:
    closed = acc.close_rel < NEVER
    closed_on = np.where(
        closed, window.day_of(np.where(closed, acc.close_rel, 0)), np.datetime64("NaT")
    )
    return {
        "account_id": acc.account_id,
        "customer_id": pop.customer_id[acc.cust],
        "product_code": P_CODE[acc.product],
        "opened_on": window.day_of(acc.open_rel),
        "closed_on": closed_on,
        "status": np.where(closed, "closed", "open"),
        "updated_at": acc.updated_at,
    }


def loans_columns(acc: Accounts, pop: Population, window: Window) -> Columns:
    idx = np.flatnonzero(np.isin(acc.ptype, ["mortgage", "consumer_loan"]))
    start = window.day_of(acc.open_rel[idx])
    months = start.astype("datetime64[M]") + acc.term_months[idx]
    dom = day_of_month(start)
    month_len = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(
        np.int64
    )
    maturity = months.astype("datetime64[D]") + (np.minimum(dom, month_len) - 1)
    status = np.where(
        acc.close_rel[idx] < NEVER,
        "closed",
        np.where(acc.overdue_rel[idx] < NEVER, "overdue", "performing"),
    )
    return {
        "loan_id": np.strings.add("L", (3_000_000_001 + np.arange(len(idx))).astype(str)),
        "account_id": acc.account_id[idx],
        "customer_id": pop.customer_id[acc.cust[idx]],
        "principal_cny": acc.principal[idx],
        "annual_rate": acc.loan_rate[idx],
        "start_date": start,
        "maturity_date": maturity,
        "status": status,
        "updated_at": acc.updated_at[idx],
    }


def cards_columns(acc: Accounts, pop: Population, window: Window, seed: int) -> Columns:
    rng = stream(seed, "cards")
    cur = np.flatnonzero(acc.ptype == "current")
    # Most current accounts come with a debit card; some basic/dormant ones never collected one.
    debit = cur[rng.random(len(cur)) < 0.92]
    credit = acc.card_rows
    idx = np.concatenate([debit, credit])
    order = np.argsort(idx, kind="stable")
    idx = idx[order]
    card_type = np.concatenate([np.full(len(debit), "debit"), np.full(len(credit), "credit")])[
        order
    ]
    closed = acc.close_rel[idx] < NEVER
    blocked = ~closed & (rng.random(len(idx)) < 0.01) & (window.days > 1)
    block_rel = rng.integers(0, window.days, size=len(idx))
    status = np.where(closed, "closed", np.where(blocked, "blocked", "active"))
    updated = acc.updated_at[idx].copy()
    updated[blocked] = window.ts(
        block_rel[blocked], seconds_between(rng, int(blocked.sum()), 0, 24)
    )
    return {
        "card_id": np.strings.add("K", (100_000_000_001 + np.arange(len(idx))).astype(str)),
        "account_id": acc.account_id[idx],
        "customer_id": pop.customer_id[acc.cust[idx]],
        "card_type": card_type,
        "credit_limit_cny": np.where(card_type == "credit", acc.credit_limit[idx], np.nan),
        "issued_on": window.day_of(acc.open_rel[idx]),
        "status": status,
        "updated_at": updated,
    }
