"""Channel file drops: contact centre, relationship managers, campaigns, consent changes.

One folder per business date, ``<landing>/<YYYY-MM-DD>/<feed>.csv``, every feed present every
day (possibly header only), written with the csv module's default dialect in the feed's
encoding (GBK for the legacy RM system). Events follow the personas: churners call to
complain and withdraw consent, RMs mostly see the rich, campaigns reach only contactable
customers.
"""

from __future__ import annotations

import csv
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from python_tasks.ingest.feeds import FEEDS
from python_tasks.synthetic import personas
from python_tasks.synthetic.holdings import Openings
from python_tasks.synthetic.people import Population
from python_tasks.synthetic.sampling import categorical, seconds_between
from python_tasks.synthetic.window import Window, fmt_dates, fmt_iso_ts, stream, weekday

log = logging.getLogger(__name__)

PI = personas.PERSONA_INDEX
N_PERSONAS = len(personas.PERSONAS)


def _per_persona(values: dict[str, float]) -> np.ndarray:
    return np.array([values[name] for name in personas.PERSONA_NAMES])


CC_CHANNELS = ("phone", "online_chat", "app_chat", "email")
CC_REASONS = (
    "balance_enquiry",
    "card_issue",
    "password_reset",
    "product_enquiry",
    "loan_enquiry",
    "address_change",
    "fee_dispute",
    "complaint",
    "account_closure",
)
CC_REASON_MIX = np.array([0.20, 0.18, 0.15, 0.14, 0.10, 0.06, 0.08, 0.07, 0.02])
CC_REASON_MIX_CHURNER = np.array([0.08, 0.05, 0.04, 0.05, 0.03, 0.02, 0.18, 0.30, 0.25])
CC_OUTCOMES = ("resolved", "callback_scheduled", "escalated", "unresolved")

RM_TYPES = ("phone_call", "wechat", "branch_meeting", "home_visit")
RM_NOTES = (
    "讨论理财产品配置",
    "客户咨询大额存单利率",
    "推荐稳健型理财产品",
    "年度资产检视",
    "客户关注基金定投",
    "介绍养老金融服务",
    "客户咨询子女教育金规划",
    "邀请客户参加答谢活动",
    "客户咨询房贷提前还款",
    "更新客户风险测评",
    "客户到期资金续作定期存款",
    "客户咨询外汇购汇额度",
)
RM_NOTES_CHURN = (
    "客户表示部分资金将转至他行",
    "客户对理财收益不满意",
    "客户询问提前支取定期存款",
    "客户反映手续费过高",
    "客户考虑将工资卡转至他行",
    "客户认为他行利率更有竞争力",
)
RM_NOTES_GROWTH = (
    "客户近期收入提升，有意增加投资",
    "客户咨询首套房贷款",
    "客户计划开设养老金账户",
    "客户希望了解私人银行服务",
)

CAMPAIGNS = ("WEALTH_REVIEW", "RETENTION_CALL", "GROWTH_ADVICE", "SELF_SERVICE_BUNDLE")
# Who is targeted by which campaign (rows: personas in PERSONAS order).
CAMPAIGN_TARGETING = {
    "hnw_investor": (0.70, 0.15, 0.15, 0.00),
    "affluent_professional": (0.45, 0.10, 0.35, 0.10),
    "young_digital": (0.00, 0.10, 0.40, 0.50),
    "family_mass": (0.10, 0.15, 0.15, 0.60),
    "senior_saver": (0.60, 0.20, 0.00, 0.20),
    "dormant_low_value": (0.00, 0.30, 0.00, 0.70),
}
RESPONSES = ("opened", "clicked", "converted", "opted_out")
CONSENT_CHANNELS = ("sms", "phone", "email", "app", "all")


@dataclass
class FeedRows:
    """Rows of one feed over the whole window: relative day + columns in feed order."""

    day: np.ndarray
    ts: np.ndarray  # datetime64[s] local; sorts rows within a day
    cust: np.ndarray
    columns: dict[str, np.ndarray]


def _bernoulli_events(rng: np.random.Generator, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.nonzero(rng.random(p.shape) < p)


def _ids(prefix: str, window: Window, day: np.ndarray) -> np.ndarray:
    """prefix + YYYYMMDD + 5-digit sequence within the day (rows already in day order)."""
    first = np.searchsorted(day, day, side="left")
    seq = np.arange(len(day)) - first + 1
    if len(day) == 0:
        return np.array([], dtype=str)
    ymd = np.strings.replace(fmt_dates(window.day_of(day)), "-", "")
    return np.strings.add(np.strings.add(prefix, ymd), np.strings.zfill(seq.astype(str), 5))


def _finish(
    prefix: str,
    id_col: str,
    window: Window,
    pop: Population,
    day: np.ndarray,
    sec: np.ndarray,
    cust: np.ndarray,
    cols: dict[str, np.ndarray],
    ts_col: str,
) -> FeedRows:
    ts = window.ts(day, sec)
    order = np.lexsort((cust, ts))
    day, ts, cust = day[order], ts[order], cust[order]
    cols = {k: v[order] for k, v in cols.items()}
    out = {id_col: _ids(prefix, window, day), "customer_id": pop.customer_id[cust]}
    out.update(cols)
    out[ts_col] = fmt_iso_ts(ts)
    return FeedRows(day, ts, cust, out)


def _in_fade(pop: Population, days: int) -> np.ndarray:
    """(customers, days): an episode in which the customer complains (a leaver's or a decoy's)."""
    return pop.in_episode(days) & pop.signals["complain"][:, None]


ENQUIRY_SHARE = 0.5  # openings preceded by a product or loan enquiry at the contact centre


def contact_centre(pop: Population, window: Window, seed: int, openings: Openings) -> FeedRows:
    rng = stream(seed, "landing/contact_centre")
    days = window.days
    fade = _in_fade(pop, days)
    base = (
        0.003
        * _per_persona(
            {
                "hnw_investor": 1.0,
                "affluent_professional": 1.0,
                "young_digital": 0.6,
                "family_mass": 1.2,
                "senior_saver": 1.6,
                "dormant_low_value": 0.3,
            }
        )[pop.persona]
    )
    p = base[:, None] * np.where(fade, 6.0, 1.0) * pop.active_mask(days)
    cust, day = _bernoulli_events(rng, p)
    churny = fade[cust, day]
    # Closing the relationship and asking for erasure both go through the contact centre.
    ended = np.flatnonzero((pop.close_rel >= 0) & (pop.close_rel < days))
    cust = np.concatenate([cust, ended])
    day = np.concatenate([day, pop.close_rel[ended]])
    churny = np.concatenate([churny, np.ones(len(ended), dtype=bool)])
    n = len(cust)
    reason = np.array(CC_REASONS, dtype="U32")[
        categorical(rng, np.where(churny[:, None], CC_REASON_MIX_CHURNER, CC_REASON_MIX))
    ]
    k = len(cust) - len(ended)
    reason[k:] = np.where(pop.is_deleted[ended], "data_erasure_request", "account_closure")
    # Half the openings are preceded by an enquiry 5-60 days before.
    asked = np.flatnonzero(rng.random(len(openings.cust)) < ENQUIRY_SHARE)
    ask_day = openings.day[asked] - rng.integers(5, 61, size=len(asked))
    asked, ask_day = asked[ask_day >= 0], ask_day[ask_day >= 0]
    loan = np.isin(openings.ptype[asked], ["mortgage", "consumer_loan"])
    cust = np.concatenate([cust, openings.cust[asked]])
    day = np.concatenate([day, ask_day])
    reason = np.concatenate([reason, np.where(loan, "loan_enquiry", "product_enquiry").astype("U32")])
    n = len(cust)
    young = pop.persona[cust] == PI["young_digital"]
    chan_w = np.where(young[:, None], [0.3, 0.2, 0.45, 0.05], [0.75, 0.1, 0.1, 0.05])
    channel = np.array(CC_CHANNELS)[categorical(rng, chan_w)]
    bad = np.isin(reason, ["complaint", "fee_dispute"])
    out_w = np.where(bad[:, None], [0.45, 0.2, 0.25, 0.1], [0.8, 0.1, 0.05, 0.05])
    outcome = np.array(CC_OUTCOMES)[categorical(rng, out_w)]
    outcome[k : k + len(ended)] = "resolved"
    sec = seconds_between(rng, n, 8, 21)
    return _finish(
        "CCI",
        "interaction_id",
        window,
        pop,
        day,
        sec,
        cust,
        {"channel": channel, "reason": reason, "outcome": outcome},
        "interaction_ts",
    )


def rm_interactions(pop: Population, window: Window, seed: int) -> FeedRows:
    rng = stream(seed, "landing/rm")
    days = window.days
    has_rm = ~np.equal(pop.rm_id, None)
    fade = pop.in_episode(days) & pop.leaver[:, None]
    per_day = (
        _per_persona(
            {
                "hnw_investor": 1 / 12,
                "affluent_professional": 1 / 45,
                "young_digital": 1 / 90,
                "family_mass": 1 / 90,
                "senior_saver": 1 / 60,
                "dormant_low_value": 0.0,
            }
        )[pop.persona]
        * has_rm
    )
    wk = np.where(weekday(window.dates) >= 5, 0.15, 1.0)
    # RMs chase the customers who are drifting away.
    p = per_day[:, None] * wk[None, :] * np.where(fade, 1.8, 1.0) * pop.active_mask(days)
    cust, day = _bernoulli_events(rng, p)
    n = len(cust)
    hnw = pop.persona[cust] == PI["hnw_investor"]
    type_w = np.where(hnw[:, None], [0.35, 0.25, 0.25, 0.15], [0.5, 0.3, 0.18, 0.02])
    itype = np.array(RM_TYPES)[categorical(rng, type_w)]
    churny = fade[cust, day] & (rng.random(n) < 0.7)
    growing = ~churny & (pop.growth_potential[cust] > 1.3) & (rng.random(n) < 0.5)
    note = np.where(
        churny,
        np.array(RM_NOTES_CHURN)[rng.integers(0, len(RM_NOTES_CHURN), n)],
        np.where(
            growing,
            np.array(RM_NOTES_GROWTH)[rng.integers(0, len(RM_NOTES_GROWTH), n)],
            np.array(RM_NOTES)[rng.integers(0, len(RM_NOTES), n)],
        ),
    )
    sec = seconds_between(rng, n, 9, 18)
    return _finish(
        "RMI",
        "interaction_id",
        window,
        pop,
        day,
        sec,
        cust,
        {"rm_id": pop.rm_id[cust].astype(str), "interaction_type": itype, "note": note},
        "interaction_ts",
    )


def campaign_responses(
    pop: Population, window: Window, seed: int, opted_out_from: np.ndarray
) -> FeedRows:
    """``opted_out_from``: per customer, the first relative day after withdrawing all consent
    (campaigns stop reaching them)."""
    rng = stream(seed, "landing/campaigns")
    days = window.days
    contactable = ~pop.do_not_contact[:, None] & (
        np.arange(days)[None, :] < opted_out_from[:, None]
    )
    p = 0.004 * contactable * pop.active_mask(days)
    cust, day = _bernoulli_events(rng, p)
    # A customer who stopped listening mostly leaves campaigns unanswered (no response row).
    ignoring = pop.in_episode(days)[cust, day] & pop.signals["ignore_campaigns"][cust]
    kept = ~ignoring | (rng.random(len(cust)) < 0.25)
    cust, day = cust[kept], day[kept]
    n = len(cust)
    target = np.array([CAMPAIGN_TARGETING[name] for name in personas.PERSONA_NAMES])[
        pop.persona[cust]
    ]
    target = target.copy()
    target[:, 1] += 3.0 * pop.churn_propensity[cust]  # retention goes to the likely leavers
    campaign = categorical(rng, target)
    growth = pop.growth_potential[cust]
    churner = pop.leaver[cust] & pop.in_episode(days)[cust, day]
    w = np.tile([0.55, 0.25, 0.12, 0.08], (n, 1))
    w[:, 2] *= np.clip(growth, 0.2, 2.0) ** 2 * np.where(churner, 0.3, 1.0)
    w[:, 3] *= np.where(churner, 3.0, 1.0)
    response = np.array(RESPONSES)[categorical(rng, w)]
    sec = seconds_between(rng, n, 9, 22)
    return _finish(
        "CPR",
        "response_id",
        window,
        pop,
        day,
        sec,
        cust,
        {"campaign_code": np.array(CAMPAIGNS)[campaign], "response": response},
        "response_ts",
    )


def consent_changes(pop: Population, window: Window, seed: int) -> FeedRows:
    rng = stream(seed, "landing/consent")
    days = window.days
    fade = _in_fade(pop, days)
    base = 0.0015 * np.where(pop.persona == PI["young_digital"], 1.5, 1.0)
    p = base[:, None] * np.where(fade, 2.5, 1.0) * pop.active_mask(days)
    cust, day = _bernoulli_events(rng, p)
    n = len(cust)
    channel = np.array(CONSENT_CHANNELS)[rng.choice(5, size=n, p=[0.25, 0.2, 0.15, 0.25, 0.15])]
    withdrawn = rng.random(n) < np.where(fade[cust, day], 0.75, 0.4)
    # An erasure request withdraws every consent on the day it is made.
    tomb = np.flatnonzero(pop.is_deleted & (pop.close_rel >= 0) & (pop.close_rel < days))
    cust = np.concatenate([cust, tomb])
    day = np.concatenate([day, pop.close_rel[tomb]])
    channel = np.concatenate([channel, np.full(len(tomb), "all")])
    withdrawn = np.concatenate([withdrawn, np.ones(len(tomb), dtype=bool)])
    sec = seconds_between(rng, len(cust), 7, 23)
    return _finish(
        "CNS",
        "change_id",
        window,
        pop,
        day,
        sec,
        cust,
        {"channel": channel, "consent": np.where(withdrawn, "withdrawn", "granted")},
        "changed_at",
    )


def apply_consent(pop: Population, consent: FeedRows, window: Window) -> None:
    """A change to 'all' channels flips do_not_contact in the core system a few minutes later."""
    all_rows = np.flatnonzero(consent.columns["channel"] == "all")
    if len(all_rows) == 0:
        return
    # Rows are in time order: the last change per customer is what the core system keeps.
    cust = consent.cust[all_rows][::-1]
    _, last = np.unique(cust, return_index=True)
    rows = all_rows[::-1][last]
    cust = consent.cust[rows]
    synced = np.minimum(consent.ts[rows] + np.timedelta64(300, "s"), window.last_ts)
    pop.do_not_contact[cust] = consent.columns["consent"][rows] == "withdrawn"
    pop.contact_updated_at[cust] = np.maximum(pop.contact_updated_at[cust], synced)


def build_feeds(
    pop: Population, window: Window, seed: int, openings: Openings
) -> dict[str, FeedRows]:
    consent = consent_changes(pop, window, seed)
    withdrawn_all = np.flatnonzero(
        (consent.columns["channel"] == "all") & (consent.columns["consent"] == "withdrawn")
    )
    opted_out_from = np.full(pop.n, window.days, dtype=np.int64)
    np.minimum.at(opted_out_from, consent.cust[withdrawn_all], consent.day[withdrawn_all] + 1)
    feeds = {
        "contact_centre_interactions": contact_centre(pop, window, seed, openings),
        "rm_interactions": rm_interactions(pop, window, seed),
        "campaign_responses": campaign_responses(pop, window, seed, opted_out_from),
        "consent_changes": consent,
    }
    for name, rows in feeds.items():
        expected = FEEDS[name].columns
        if set(rows.columns) != set(expected):
            raise AssertionError(f"{name}: columns {sorted(rows.columns)} != spec {expected}")
        rows.columns = {c: rows.columns[c] for c in expected}  # file column order = spec order
    return feeds


def write_landing(landing_dir: Path, window: Window, feeds: dict[str, FeedRows]) -> int:
    """Replace the window's date folders (and only those); returns the number of files."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    dates = fmt_dates(window.dates)
    files = 0
    bounds = {
        name: np.searchsorted(rows.day, np.arange(window.days + 1)) for name, rows in feeds.items()
    }
    for t, d in enumerate(dates):
        folder = landing_dir / str(d)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for name, rows in feeds.items():
            feed = FEEDS[name]
            lo, hi = bounds[name][t], bounds[name][t + 1]
            data = zip(*(col[lo:hi].tolist() for col in rows.columns.values()), strict=True)
            with open(folder / feed.filename(), "w", encoding=feed.encoding, newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(feed.columns)
                writer.writerows(data)
            files += 1
    log.info("landing: %d files in %d date folders under %s", files, len(dates), landing_dir)
    return files


def row_counts(feeds: dict[str, FeedRows]) -> dict[str, int]:
    return {f"landing/{name}": len(rows.day) for name, rows in feeds.items()}
