"""Customers, their contact details and the latent truth behind them.

The population is held column-wise in numpy arrays (one entry per customer_id) so that the
account, transaction and landing generators can index it without pandas overhead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from python_tasks.synthetic import identity, personas, reference
from python_tasks.synthetic.copy_writer import Columns
from python_tasks.synthetic.sampling import (
    categorical,
    exact_count,
    numbered,
    pick,
    seconds_between,
)
from python_tasks.synthetic.window import Window, stream

log = logging.getLogger(__name__)

NEVER = 1_000_000  # relative day meaning "not closed"

DUPLICATE_PERSON_SHARE = 0.01  # people holding a second customer_id
TOMBSTONE_SHARE = 0.003  # erasure requests inside the window
HORIZON_DAYS = 90  # the truth's will_churn: leaves within this many days after the window
CLOSE_ON_LEAVING_SHARE = 0.55  # leavers who close the relationship; the rest just go silent
SILENT_LEAVER_SHARE = 0.15  # leavers who show no warning at all before they go
DECOY_SHARE = 0.12  # stayers with a passing episode that looks like one warning sign
# Each warning sign shows in a leaver's episode with its own probability, independently, so no
# single behaviour (and no single hand-written rule) finds most leavers.
SIGNAL_P = {
    "fade": 0.65,  # discretionary activity fades
    "complain": 0.55,  # complaints, contact-centre calls, consent withdrawals
    "close_products": 0.50,  # savings, wealth, cards closed
    "move_money": 0.55,  # balances moved out in large transfers
    "salary": 0.50,  # payroll moved to another bank
    "ignore_campaigns": 0.60,  # stops responding to campaigns
}
SIGNALS: tuple[str, ...] = tuple(SIGNAL_P)
GONE_LEVEL = 0.0  # activity and balances left by a leaver who did not close the relationship
ONBOARDED_IN_WINDOW_SHARE = 0.015
PROFILE_CHANGE_SHARE = 0.05
CONTACT_CHANGE_SHARE = 0.03
DO_NOT_CONTACT_SHARE = 0.05


@dataclass
class Population:
    customer_id: np.ndarray
    person_key: np.ndarray
    persona: np.ndarray  # index into personas.PERSONAS
    gender: np.ndarray  # 'M' / 'F'
    birth_date: np.ndarray  # datetime64[D]
    resident_id: np.ndarray
    full_name: np.ndarray
    city: np.ndarray
    district: np.ndarray
    branch_code: np.ndarray
    occupation: np.ndarray  # object, None where unknown
    onboard_rel: np.ndarray  # relative day of onboarding (0 = window start)
    close_rel: np.ndarray  # relative day the relationship ended, NEVER if it did not
    status: np.ndarray
    is_deleted: np.ndarray
    updated_at: np.ndarray  # datetime64[s], local time
    churn_propensity: np.ndarray
    will_churn: np.ndarray  # leaves in the HORIZON_DAYS after the window (truth only)
    growth_potential: np.ndarray
    latent_wealth: np.ndarray  # deposits + wealth at the window start
    leave_rel: np.ndarray  # relative day the customer leaves (NEVER if not by window + horizon)
    episode_start: np.ndarray  # relative day a warning episode starts (leavers and decoys; NEVER if none)
    episode_end: np.ndarray  # relative day it ends (a leaver's leave day; a decoy recovers)
    signals: dict[str, np.ndarray]  # per SIGNALS name: shows in the episode
    decline_floor: np.ndarray  # activity a fading episode ends at (fraction of normal)
    money_floor: np.ndarray  # balances a money-moving episode ends at (fraction of normal)
    activity: np.ndarray  # individual multiplier on the persona transaction rate
    salaried: np.ndarray
    income: np.ndarray  # monthly salary / pension
    salary_day: np.ndarray
    salary_stops: np.ndarray  # churners moving their payroll elsewhere
    mobile: np.ndarray
    email: np.ndarray  # object, None where not given
    address: np.ndarray
    preferred_channel: np.ndarray
    do_not_contact: np.ndarray
    contact_updated_at: np.ndarray
    rm_id: np.ndarray  # object, None without a relationship manager

    @property
    def n(self) -> int:
        return len(self.customer_id)

    def persona_names(self) -> np.ndarray:
        return np.array(personas.PERSONA_NAMES)[self.persona]

    def active_mask(self, days: int) -> np.ndarray:
        """(customers, days): the relationship exists on that day."""
        t = np.arange(days)[None, :]
        return (t >= self.onboard_rel[:, None]) & (t < self.close_rel[:, None])

    @property
    def leaver(self) -> np.ndarray:
        return self.leave_rel < NEVER

    def in_episode(self, days: int) -> np.ndarray:
        """(customers, days): inside the warning episode (a leaver's or a decoy's)."""
        t = np.arange(days)[None, :]
        return (t >= self.episode_start[:, None]) & (t < self.episode_end[:, None])

    def _episode_path(self, days: int, shows: np.ndarray, floor: np.ndarray) -> np.ndarray:
        """(customers, days) multiplier: 1; a straight fade to ``floor`` across the episode where
        the sign ``shows``; after a leaver leaves, GONE_LEVEL; a decoy's fade recovers."""
        t = np.arange(days, dtype=float)[None, :]
        t0 = self.episode_start[:, None].astype(float)
        span = np.maximum(self.episode_end[:, None] - t0, 1.0)
        frac = np.clip((t - t0) / span, 0.0, 1.0)
        faded = np.where(shows[:, None], 1.0 - frac * (1.0 - floor[:, None]), 1.0)
        out = np.where(self.in_episode(days), faded, 1.0)
        gone = self.leaver[:, None] & (t >= self.leave_rel[:, None])
        return np.where(gone, GONE_LEVEL, out)

    def decline(self, days: int) -> np.ndarray:
        """(customers, days) multiplier on discretionary activity."""
        return self._episode_path(days, self.signals["fade"], self.decline_floor)

    def balance_path(self, days: int) -> np.ndarray:
        """(customers, days) multiplier on deposit and wealth balances: only money moved out
        (or a leaver gone) lowers them; a decoy's big outflow (a purchase) stays spent."""
        path = self._episode_path(days, self.signals["move_money"], self.money_floor)
        t = np.arange(days)[None, :]
        spent = (~self.leaver & self.signals["move_money"])[:, None] & (t >= self.episode_end[:, None])
        return np.where(spent, self.money_floor[:, None], path)


def _names(rng: np.random.Generator, gender: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    n = len(gender)
    sur, w = zip(*reference.SURNAMES, strict=True)
    surname = pick(rng, sur, n, np.array(w))
    era = np.where(birth_year < 1965, "old", np.where(birth_year < 1992, "mid", "new"))
    given = np.empty(n, dtype=object)
    two_chars = rng.random(n) < np.where(era == "old", 0.6, 0.75)
    for (g, e), chars in reference.GIVEN_CHARS.items():
        sel = np.flatnonzero((gender == g) & (era == e))
        pool = np.array(list(chars))
        first = pool[rng.integers(0, len(pool), size=len(sel))]
        second = pool[rng.integers(0, len(pool), size=len(sel))]
        given[sel] = np.where(two_chars[sel], np.strings.add(first, second), first)
    return np.strings.add(surname, given.astype(str))


def _addresses(rng: np.random.Generator, city: np.ndarray, district: np.ndarray) -> np.ndarray:
    n = len(city)
    parts = [
        np.strings.add(city, "市"),
        district,
        pick(rng, reference.ROADS, n),
        np.strings.add(rng.integers(1, 1500, n).astype(str), "号"),
        pick(rng, reference.COMMUNITIES, n),
        np.strings.add(rng.integers(1, 30, n).astype(str), "栋"),
        np.strings.add(rng.integers(1, 6, n).astype(str), "单元"),
        np.strings.add((rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)).astype(str), "室"),
    ]
    out = parts[0]
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return out


def _emails(rng: np.random.Generator, has: np.ndarray) -> np.ndarray:
    n = len(has)
    domain = pick(rng, reference.EMAIL_DOMAINS, n, np.array([0.45, 0.25, 0.12, 0.08, 0.10]))
    syll = np.array(reference.PINYIN_SYLLABLES)
    local = np.strings.add(
        np.strings.add(syll[rng.integers(0, len(syll), n)], syll[rng.integers(0, len(syll), n)]),
        rng.integers(1, 9999, n).astype(str),
    )
    qq = rng.integers(10_000_000, 3_999_999_999, n).astype(str)  # QQ mail uses the QQ number
    local = np.where(domain == "qq.com", qq, local)
    email = np.strings.add(np.strings.add(local, "@"), domain).astype(object)
    email[~has] = None
    return email


def build_population(n: int, window: Window, seed: int) -> Population:
    rng = stream(seed, "population")
    days = window.days
    P = personas.PERSONAS
    persona = rng.choice(len(P), size=n, p=personas.shares())

    # A few people hold a second customer_id: same person, same identity, new relationship.
    n_dup = exact_count(DUPLICATE_PERSON_SHARE, n, minimum=1 if n >= 50 else 0)
    order = rng.permutation(n)
    dup, src = order[:n_dup], order[n_dup : 2 * n_dup]
    persona[dup] = persona[src]
    person_idx = np.arange(n)
    person_idx[dup] = src

    male_share = np.where(persona == personas.PERSONA_INDEX["hnw_investor"], 0.62, 0.49)
    is_male = rng.random(n) < male_share
    lo = personas.column("age_range")[persona, 0]
    hi = personas.column("age_range")[persona, 1]
    age_days = (rng.uniform(lo, hi + 1) * 365.25).astype(np.int64)
    birth = np.datetime64(window.end, "D") - age_days
    is_male[dup], birth[dup] = is_male[src], birth[src]
    gender = np.where(is_male, "M", "F")
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970

    # Residence. The rich cluster in the tier-1 cities.
    city_w = np.array([c.weight for c in reference.CITIES])
    tier1 = np.array([c.abbr in ("SH", "BJ", "SZ") for c in reference.CITIES])
    rich = np.isin(
        persona,
        [personas.PERSONA_INDEX["hnw_investor"], personas.PERSONA_INDEX["affluent_professional"]],
    )
    weights = np.where(rich[:, None] & tier1[None, :], city_w * 1.6, city_w[None, :])
    city_idx = categorical(rng, weights)
    moved = rng.random(n_dup) < 0.3
    city_idx[dup] = np.where(moved, city_idx[dup], city_idx[src])
    city_names = np.array([c.name for c in reference.CITIES])
    district_pick = rng.random(n)
    district = np.empty(n, dtype=object)
    region = np.empty(n, dtype=object)
    branch = np.empty(n, dtype=object)
    branch_pick = rng.random(n)
    for ci, c in enumerate(reference.CITIES):
        sel = city_idx == ci
        k = (district_pick[sel] * len(c.districts)).astype(int)
        district[sel] = np.array([d.name for d in c.districts])[k]
        region[sel] = np.array([d.region_code for d in c.districts])[k]
        b = (branch_pick[sel] * c.branches).astype(int) + 1
        branch[sel] = numbered(c.abbr, b, 3)
    # People born elsewhere keep their birthplace's code on the ID card.
    migrant = rng.random(n) < np.where(birth_year < 1960, 0.1, 0.3)
    region = np.where(migrant, pick(rng, reference.ORIGIN_REGION_CODES, n), region).astype(str)

    resident_id = identity.make_resident_ids(rng, region, birth, is_male)
    full_name = _names(rng, gender, birth_year)
    resident_id[dup], full_name[dup] = resident_id[src], full_name[src]

    customer_id = np.strings.add("C", (10_000_001 + np.arange(n)).astype(str))
    person_key = numbered("P", person_idx + 1, 8)

    occ_draw = rng.random(n)
    occupation = np.empty(n, dtype=object)
    for pi, p in enumerate(P):
        sel = persona == pi
        jobs = reference.OCCUPATIONS[p.name]
        occupation[sel] = np.array(jobs)[(occ_draw[sel] * len(jobs)).astype(int)]
    age = (np.datetime64(window.end, "D") - birth).astype(np.int64) / 365.25
    occupation[(age >= 60) & (persona == personas.PERSONA_INDEX["dormant_low_value"])] = "退休人员"
    occupation[(age > 28) & (occupation == "学生")] = "无业"
    occupation[(age > 26) & (occupation == "研究生")] = "工程师"
    occupation[rng.random(n) < 0.04] = None  # never captured at onboarding

    # Tenure: onboarded some time in the last max_tenure years, not before turning 18.
    start = window.start64
    earliest = np.maximum(
        birth + int(18 * 365.25),
        start - (personas.column("max_tenure_years")[persona] * 365.25).astype(np.int64),
    )
    earliest_rel = (earliest - start).astype(np.int64)
    onboard_rel = earliest_rel + (rng.random(n) * np.maximum(-earliest_rel, 0)).astype(np.int64)
    onboard_rel = np.minimum(onboard_rel, -1)
    in_window = (rng.random(n) < ONBOARDED_IN_WINDOW_SHARE) | (earliest_rel >= 0)
    onboard_rel[in_window] = rng.integers(0, days, size=int(in_window.sum()))

    # Latent traits.
    med = personas.column("wealth_median_cny")[persona]
    sig = personas.column("wealth_sigma")[persona]
    latent_wealth = np.round(med * np.exp(sig * rng.standard_normal(n)), 2)
    a = personas.column("churn_beta")[persona, 0]
    b = personas.column("churn_beta")[persona, 1]
    churn_propensity = rng.beta(a, b)
    leave_rel, episode_start, episode_end, signals, decline_floor, money_floor = _leaving(
        rng, churn_propensity, onboard_rel, days
    )
    will_churn = (leave_rel >= days) & (leave_rel < days + HORIZON_DAYS)

    # Tombstones (erasure requests) happen to people who were customers when the window opened;
    # past leavers who closed the relationship are closed on their leave day.
    status = np.full(n, "active", dtype=object)
    is_deleted = np.zeros(n, dtype=bool)
    close_rel = np.full(n, NEVER, dtype=np.int64)
    eligible = np.flatnonzero((onboard_rel < -30) & (leave_rel >= days))
    n_tomb = exact_count(TOMBSTONE_SHARE, n, minimum=1 if n >= 100 else 0)
    tomb = rng.permutation(eligible)[:n_tomb]
    close_rel[tomb] = rng.integers(1 if days > 1 else 0, days, size=len(tomb))
    is_deleted[tomb] = True
    closes = (leave_rel < days) & (rng.random(n) < CLOSE_ON_LEAVING_SHARE)
    close_rel[closes] = leave_rel[closes]
    status[close_rel < NEVER] = "closed"

    young = persona == personas.PERSONA_INDEX["young_digital"]
    income_med = personas.column("income_median_cny")[persona]
    income = np.round(
        income_med * (latent_wealth / med) ** 0.25 * np.exp(0.3 * rng.standard_normal(n)), 2
    )
    growth = personas.column("growth_median")[persona] * np.exp(0.12 * rng.standard_normal(n))
    # Young, well-paid customers are the ones about to become affluent.
    growth = np.where(young & (income > income_med * 1.3), growth * 1.25, growth)
    growth = np.where(leave_rel < NEVER, growth * rng.uniform(0.3, 0.9, size=n), growth)
    activity = np.exp(0.45 * rng.standard_normal(n) - 0.1)
    salaried = rng.random(n) < personas.column("salaried_share")[persona]
    senior = persona == personas.PERSONA_INDEX["senior_saver"]
    salary_day = np.where(senior, 15, rng.choice(np.array([5, 10, 15, 20, 25, 28]), size=n))
    salary_stops = signals["salary"]

    # updated_at: the last profile change, usually long before the window.
    biz_seconds = seconds_between(rng, n, 8, 20)
    upd_rel = np.where(
        onboard_rel < 0, onboard_rel + (rng.random(n) * -onboard_rel).astype(np.int64), onboard_rel
    )
    changed = (rng.random(n) < PROFILE_CHANGE_SHARE) & (onboard_rel < days - 1)
    upd_rel[changed] = rng.integers(np.maximum(onboard_rel[changed], 0) + 0, days)
    ended = close_rel < NEVER
    upd_rel[ended] = close_rel[ended]
    updated_at = window.ts(upd_rel, biz_seconds)

    # Contact details.
    mobile = identity.make_mobiles(rng, n)
    same_phone = rng.random(n_dup) < 0.7
    mobile[dup] = np.where(same_phone, mobile[src], mobile[dup])
    email = _emails(rng, rng.random(n) < personas.column("email_share")[persona])
    address = _addresses(rng, city_names[city_idx], district.astype(str))
    contact_w = personas.column("contact_weights")[persona]
    preferred = np.array(personas.CONTACT_CHANNELS)[categorical(rng, contact_w)]
    preferred = np.where((preferred == "email") & np.equal(email, None), "sms", preferred)
    do_not_contact = rng.random(n) < DO_NOT_CONTACT_SHARE
    c_rel = np.where(
        onboard_rel < 0, onboard_rel + (rng.random(n) * -onboard_rel).astype(np.int64), onboard_rel
    )
    c_changed = (rng.random(n) < CONTACT_CHANGE_SHARE) & (onboard_rel < days - 1)
    c_rel[c_changed] = rng.integers(np.maximum(onboard_rel[c_changed], 0), days)
    contact_updated_at = window.ts(c_rel, seconds_between(rng, n, 8, 22))
    # An erasure request also stops all marketing immediately.
    do_not_contact[tomb] = True
    contact_updated_at[tomb] = np.maximum(contact_updated_at[tomb], updated_at[tomb])

    rm_id = _assign_rms(rng, persona, latent_wealth, city_idx)

    log.info(
        "population: %d customer_ids, %d duplicates, %d tombstones, %d closed, %d past leavers,"
        " %d future leavers",
        n,
        n_dup,
        len(tomb),
        int((close_rel < NEVER).sum()),
        int((leave_rel < days).sum()),
        int(will_churn.sum()),
    )
    return Population(
        customer_id=customer_id,
        person_key=person_key,
        persona=persona,
        gender=gender,
        birth_date=birth,
        resident_id=resident_id,
        full_name=full_name,
        city=city_names[city_idx],
        district=district.astype(str),
        branch_code=branch.astype(str),
        occupation=occupation,
        onboard_rel=onboard_rel,
        close_rel=close_rel,
        status=status,
        is_deleted=is_deleted,
        updated_at=updated_at,
        churn_propensity=churn_propensity,
        will_churn=will_churn,
        growth_potential=growth,
        latent_wealth=latent_wealth,
        leave_rel=leave_rel,
        episode_start=episode_start,
        episode_end=episode_end,
        signals=signals,
        decline_floor=decline_floor,
        money_floor=money_floor,
        activity=activity,
        salaried=salaried,
        income=income,
        salary_day=salary_day,
        salary_stops=salary_stops,
        mobile=mobile,
        email=email,
        address=address,
        preferred_channel=preferred,
        do_not_contact=do_not_contact,
        contact_updated_at=contact_updated_at,
        rm_id=rm_id,
    )


def _leaving(
    rng: np.random.Generator, propensity: np.ndarray, onboard_rel: np.ndarray, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Who leaves and when, and the warning episode before it.

    ``propensity`` is the chance of leaving within a year. A leaver's day falls anywhere from
    three months after onboarding to the end of the truth's horizon past the window: before
    the window's end they are past leavers (in the data), after it future leavers (truth only).
    Most leavers show an episode of 60-200 days before they go, in which each warning sign
    shows independently (SIGNAL_P); SILENT_LEAVER_SHARE show nothing. Decoys, stayers with a
    60-150 day episode of one sign, make every sign alone an imperfect rule."""
    n = len(propensity)
    span = days + HORIZON_DAYS
    first = np.maximum(onboard_rel + 90, 0)
    leaves = (rng.random(n) < 1.0 - (1.0 - propensity) ** (span / 365.0)) & (first < span)
    leave_rel = np.full(n, NEVER, dtype=np.int64)
    leave_rel[leaves] = first[leaves] + (rng.random(int(leaves.sum())) * (span - first[leaves])).astype(
        np.int64
    )
    warned = leaves & (rng.random(n) >= SILENT_LEAVER_SHARE)
    signals = {name: warned & (rng.random(n) < p) for name, p in SIGNAL_P.items()}
    # A warned leaver shows at least one sign.
    none = warned & ~np.any(np.stack(list(signals.values())), axis=0)
    pick_one = rng.integers(0, len(SIGNALS), size=n)
    for i, name in enumerate(SIGNALS):
        signals[name] |= none & (pick_one == i)
    episode_start = np.full(n, NEVER, dtype=np.int64)
    episode_end = np.full(n, NEVER, dtype=np.int64)
    episode_start[warned] = leave_rel[warned] - rng.integers(60, 201, size=int(warned.sum()))
    episode_end[warned] = leave_rel[warned]

    decoy = ~leaves & (rng.random(n) < DECOY_SHARE)
    episode_start[decoy] = rng.integers(0, max(days, 1), size=int(decoy.sum()))
    episode_end[decoy] = episode_start[decoy] + rng.integers(60, 151, size=int(decoy.sum()))
    decoy_sign = rng.integers(0, len(SIGNALS), size=n)
    for i, name in enumerate(SIGNALS):
        signals[name] |= decoy & (decoy_sign == i)
    decline_floor = rng.uniform(0.1, 0.5, size=n)
    money_floor = rng.uniform(0.1, 0.5, size=n)
    return leave_rel, episode_start, episode_end, signals, decline_floor, money_floor


def _assign_rms(
    rng: np.random.Generator, persona: np.ndarray, wealth: np.ndarray, city_idx: np.ndarray
) -> np.ndarray:
    """Relationship managers look after the rich: every HNW, most affluent, wealthy seniors.
    About 40 clients per RM, each RM in one city."""
    pi = personas.PERSONA_INDEX
    covered = (
        (persona == pi["hnw_investor"])
        | ((persona == pi["affluent_professional"]) & (rng.random(len(persona)) < 0.6))
        | ((persona == pi["senior_saver"]) & (wealth > 500_000))
    )
    rm = np.empty(len(persona), dtype=object)
    next_id = 1
    for ci in range(len(reference.CITIES)):
        sel = np.flatnonzero(covered & (city_idx == ci))
        k = max(1, -(-len(sel) // 40))
        numbers = next_id + rng.integers(0, k, size=len(sel))
        rm[sel] = numbered("RM", numbers, 4)
        next_id += k
    return rm


# ---- columns for loading (see copy_writer for the conventions) ----------------------------


def customers_columns(pop: Population, window: Window) -> Columns:
    return {
        "customer_id": pop.customer_id,
        "full_name": pop.full_name,
        "gender": pop.gender,
        "birth_date": pop.birth_date,
        "resident_id": pop.resident_id,
        "city": pop.city,
        "occupation": pop.occupation,
        "branch_code": pop.branch_code,
        "onboarded_on": window.day_of(pop.onboard_rel),
        "status": pop.status.astype(str),
        "is_deleted": pop.is_deleted,
        "updated_at": pop.updated_at,
    }


def contacts_columns(pop: Population) -> Columns:
    return {
        "customer_id": pop.customer_id,
        "mobile": pop.mobile,
        "email": pop.email,
        "address": pop.address,
        "preferred_channel": pop.preferred_channel,
        "do_not_contact": pop.do_not_contact,
        "updated_at": pop.contact_updated_at,
    }


def truth_columns(pop: Population, window: Window) -> Columns:
    return {
        "customer_id": pop.customer_id,
        "person_key": pop.person_key,
        "persona": pop.persona_names(),
        "churn_propensity": np.round(pop.churn_propensity, 6),
        "will_churn": pop.will_churn,
        "leaves_on": np.where(
            pop.leave_rel < NEVER, window.day_of(np.minimum(pop.leave_rel, NEVER // 2)), np.datetime64("NaT")
        ),
        "churn_warning": pop.leaver & (pop.episode_start < NEVER),
        "growth_potential": np.round(pop.growth_potential, 4),
        "latent_wealth_cny": pop.latent_wealth,
    }
