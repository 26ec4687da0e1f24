"""Customers and their visits, drawn with numpy for a block of customers at a time.

Time runs on an *activity clock*: one activity day holds as much traffic as an average
calendar day, so uniform draws on it follow the shop's rhythm (evenings, weekends, the
spring/summer season, Black Friday). :class:`Clock` maps activity days to UTC microseconds.

:func:`plan_customers` decides, per customer, how far the journey goes (the stage model,
with the planted effects); :func:`plan_sessions` turns that into visits (kind, device, time,
how the visitor arrived, which tail actions end the visit), sorted by customer and time.

>>> clock = Clock("2025-01-01", 365)
>>> round(float(clock.total), 6)
365.0
>>> str(np.datetime64(int(clock.to_us(np.array([0.0]))[0]), "us"))
'2025-01-01T00:00:00.000000'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import catalogue as C

# visit kinds, in stage order before the purchase
AW, CO, DE, CHK, RETRY, RET, APP, REP, WINBACK, REVIEW, NPS, REFER, SUPPORT = range(13)
KIND_NAMES = ("awareness", "consideration", "decision", "checkout", "checkout_retry", "retention", "app",
              "repeat_purchase", "winback", "review", "nps", "refer", "support")
#: per kind: browsing pool, return-visit arrival mix, pages browsed (minimum, extra Poisson mean)
KIND_POOL = np.array([C.POOL_NAMES.index(p) for p in (
    "awareness", "consideration", "decision", "decision", "decision", "retention", "app", "decision",
    "consideration", "retention", "retention", "retention", "support")])
KIND_MIX = np.array([C.MIX_NAMES.index(m) for m in (
    "return", "return", "return", "return", "retry", "post", "app", "post", "winback", "review", "nps",
    "refer", "support")])
KIND_BROWSE_MIN = np.array([1, 1, 1, 1, 1, 1, 2, 1, 1, 0, 0, 1, 1])
KIND_BROWSE_MEAN = np.array([1.0, 1.5, 1.5, 0.3, 0.0, 0.8, 1.5, 1.0, 1.0, 0.0, 0.0, 0.0, 0.5])
PRODUCT_KINDS = np.zeros(13, dtype=bool)
PRODUCT_KINDS[[DE, CHK, RETRY, REP]] = True
MIN_GAP_DAYS = 0.5  # activity days between visit starts (>= 3 wall-clock hours)
MAX_BROWSE = 8

# checkout outcomes by device type: success, payment_form_timeout, card_declined, abandoned
OUTCOME_PARTS = ("order_completed", "payment_timeout", "card_declined", "abandoned")
SUCCESS, TIMEOUT, DECLINED, ABANDONED = range(4)
OUTCOME_P = np.array([
    [0.86, 0.00, 0.03, 0.11],  # desktop
    [0.18, 0.78, 0.00, 0.04],  # mobile: the planted payment-form bug
    [0.82, 0.00, 0.03, 0.15],  # tablet
])

# the planted content lift: consideration -> decision
DECISION_BASE = 0.24
GUIDE_LIFT = 2.0
GUIDE_SHARE = 0.30
# the planted e-mail re-engagement: repeat purchase with and without the win-back click
REPEAT_BASE = 0.20
REPEAT_WINBACK = 0.45


class Clock:
    """Activity days <-> UTC microseconds over the window ``[start, start + days)``."""

    DIURNAL = np.array([0.45, 0.25, 0.14, 0.09, 0.07, 0.08, 0.15, 0.35, 0.6, 0.8, 0.95, 1.05, 1.1, 1.05,
                        1.0, 1.0, 1.05, 1.15, 1.35, 1.5, 1.55, 1.4, 1.1, 0.75])  # US Mountain local hour
    WEEKDAY = np.array([0.95, 0.93, 0.95, 1.0, 1.02, 1.12, 1.15])  # Monday first
    SEASON = np.array([0.8, 0.8, 0.95, 1.1, 1.25, 1.3, 1.3, 1.2, 1.0, 0.9, 1.0, 1.15])  # outdoor-gear year

    def __init__(self, start: str, days: int):
        self.start_us = int(np.datetime64(start, "D").astype("datetime64[us]").astype(np.int64))
        self.hours = days * 24
        day = np.datetime64(start, "D") + np.arange(days)
        month = day.astype("datetime64[M]").astype(np.int64) % 12
        dom = (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
        dow = (day.astype(np.int64) + 3) % 7
        per_day = self.WEEKDAY[dow] * self.SEASON[month]
        black_friday = (month == 10) & (dow == 4) & (dom >= 22) & (dom <= 28)
        fridays = np.flatnonzero(black_friday)
        for shift, bump in ((0, 2.0), (1, 1.6), (2, 1.5), (3, 1.8)):  # Black Friday to Cyber Monday
            days_hit = fridays + shift
            per_day[days_hit[days_hit < days]] *= bump
        hour_of_day = (np.arange(self.hours) - 7) % 24  # UTC-7
        intensity = np.repeat(per_day, 24) * self.DIURNAL[hour_of_day]
        cum = np.concatenate([[0.0], np.cumsum(intensity)])
        self.cum = cum * (days / cum[-1])
        self.total = self.cum[-1]
        self.month = np.repeat(month, 24)

    def to_us(self, activity: np.ndarray) -> np.ndarray:
        hours = np.interp(activity, self.cum, np.arange(self.hours + 1, dtype=float))
        return self.start_us + (hours * 3_600_000_000).astype(np.int64)

    def at_hour(self, hour: float) -> float:
        """Activity time of a wall-clock hour since the start."""
        return float(np.interp(hour, np.arange(self.hours + 1, dtype=float), self.cum))

    def summer(self) -> tuple[float, float]:
        """Activity range of June-August inside the window (the whole window if it has none)."""
        hours = np.flatnonzero((self.month >= 5) & (self.month <= 7))
        if len(hours) < 24:
            return 0.0, self.latest_start()
        return self.at_hour(hours[0]), min(self.at_hour(hours[-1] + 1), self.latest_start())

    def latest_start(self) -> float:
        return self.at_hour(max(self.hours - 4, 0.0))


def _pick(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(p) / np.sum(p), rng.random(n), side="right").clip(0, len(p) - 1)


@dataclass
class Customers:
    n: int
    first_index: int  # global number of the block's first customer
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None


def plan_customers(rng: np.random.Generator, n: int, first_index: int, clock: Clock) -> Customers:
    """Per-customer draws: acquisition, devices, how far the journey goes, satisfaction."""
    acq_table = C.ACQUISITION
    acq_arrival = np.array([C.ARRIVAL_NAMES.index(a[0]) for a in acq_table])
    k = _pick(rng, np.array([a[1] for a in acq_table]), n)
    arrival = acq_arrival[k]
    entry = np.array([a[2] for a in acq_table])[k]
    quality = np.array([a[3] for a in acq_table])[k] * rng.lognormal(0.0, 0.15, n)
    mobile_share = np.array([a[4] for a in acq_table])[k]
    blowout = np.isin(arrival, [C.ARRIVAL_NAMES.index(a) for a in C.SUMMER_BLOWOUT])
    referred = arrival == C.ARRIVAL_NAMES.index("refer_a_friend")

    # devices: 1-3 browsers; the primary one follows the channel's mobile share
    u = rng.random(n)
    n_web = np.where(blowout, 1, 1 + (u < 0.25) + (u < 0.07))
    primary = np.where(rng.random(n) < mobile_share, C.MOBILE, np.where(rng.random(n) < 0.85, C.DESKTOP, C.TABLET))
    dev_lo = np.concatenate([[0], np.cumsum(n_web)[:-1]])
    dev_cust = np.repeat(np.arange(n), n_web)
    dev_rank = np.arange(len(dev_cust)) - dev_lo[dev_cust]
    second = np.where(primary[dev_cust] == C.MOBILE, np.where(rng.random(len(dev_cust)) < 0.75, C.DESKTOP, C.TABLET),
                      np.where(rng.random(len(dev_cust)) < 0.8, C.MOBILE, C.TABLET))
    dev_type = np.where(dev_rank == 0, primary[dev_cust], second)
    nonmobile = np.full(n, -1)
    cand = np.flatnonzero(dev_type != C.MOBILE)[::-1]  # last write wins -> the first non-mobile device
    nonmobile[dev_cust[cand]] = cand

    # the stage model
    reach_co = (entry == 1) | (rng.random(n) < np.minimum(0.42 * quality, 0.95))
    guide = reach_co & (rng.random(n) < GUIDE_SHARE)
    reach_de = reach_co & (rng.random(n) < np.minimum(DECISION_BASE * quality * np.where(guide, GUIDE_LIFT, 1.0), 0.95))
    signup = reach_co & ~blowout & (rng.random(n) < 0.06)
    newsletter = rng.random(n) < np.where(blowout, 0.03, 0.07)
    fitting = reach_de & ~blowout & (rng.random(n) < 0.10)
    checkout = reach_de & ~blowout & ~fitting & (rng.random(n) < np.minimum(0.5 * quality, 0.9))
    cart_only = reach_de & ~checkout & ~fitting & (rng.random(n) < np.where(blowout, 0.5, 0.3))
    target = np.where(guide & (rng.random(n) < 0.5), rng.choice(C.TENTS, n),
                      _pick(rng, np.array([p.weight for p in C.PRODUCTS]), n))

    # checkout: device and outcome (the planted mobile payment-form failure), maybe a retry
    other = dev_lo + (rng.integers(0, 1 << 30, n) % n_web)
    chk_dev = np.where(rng.random(n) < 0.6, dev_lo, other)
    outcome1 = _outcome(rng, dev_type[chk_dev])
    retry_p = np.where(outcome1 == TIMEOUT, np.where(nonmobile >= 0, 0.45, 0.2),
                       np.where(outcome1 == SUCCESS, 0.0, 0.3))
    retry = checkout & (rng.random(n) < retry_p)
    retry_dev = np.where((outcome1 == TIMEOUT) & (nonmobile >= 0), nonmobile, chk_dev)
    outcome2 = _outcome(rng, dev_type[retry_dev])
    bought_online = checkout & ((outcome1 == SUCCESS) | (retry & (outcome2 == SUCCESS)))
    store_visit = fitting & (rng.random(n) < 0.8)
    bought_pos = store_visit & (rng.random(n) < 0.65)
    buyer = bought_online | bought_pos
    had_timeout = checkout & ((outcome1 == TIMEOUT) | (retry & (outcome2 == TIMEOUT)))

    # after the purchase
    sat = np.clip(rng.normal(0.68, 0.2, n) - 0.25 * had_timeout, 0, 1)
    rating = np.clip(np.digitize(sat + rng.normal(0, 0.08, n), [0.3, 0.45, 0.6, 0.72]) + 1, 1, 5)
    nps = np.clip(np.rint(10 * sat + rng.normal(0.3, 1.0, n)), 0, 10).astype(np.int64)
    has_app = buyer & (rng.random(n) < 0.3)
    winback = buyer & (rng.random(n) < 0.4)
    repeat = buyer & (rng.random(n) < np.where(winback, REPEAT_WINBACK, REPEAT_BASE))
    support_p = np.where(buyer, 0.15, 0.0) + np.where(had_timeout, 0.3, 0.0)
    return Customers(n, first_index, dict(
        arrival=arrival, entry=entry, quality=quality, blowout=blowout, referred=referred,
        n_web=n_web, dev_lo=dev_lo, dev_cust=dev_cust, dev_type=dev_type, app_type=np.where(
            rng.random(n) < 0.85, C.MOBILE, C.TABLET),
        reach_co=reach_co, guide=guide, reach_de=reach_de, signup=signup, newsletter=newsletter,
        fitting=fitting, checkout=checkout, cart_only=cart_only, target=target,
        chk_dev=chk_dev, outcome1=outcome1, retry=retry, retry_dev=retry_dev, outcome2=outcome2,
        bought_online=bought_online, store_visit=store_visit, bought_pos=bought_pos, buyer=buyer,
        had_timeout=had_timeout, rating=rating, nps=nps, has_app=has_app, winback=winback, repeat=repeat,
        review=buyer & (rng.random(n) < 0.25), nps_answer=buyer & (rng.random(n) < 0.35),
        refer=buyer & ~referred & (nps >= 9) & (rng.random(n) < 0.45),
        n_support=((rng.random(n) < support_p).astype(np.int64) + (rng.random(n) < support_p / 5)),
        n_ret=np.where(buyer, np.minimum(rng.poisson(2.0, n), 8), 0),
        n_app=np.where(has_app, 1 + np.minimum(rng.poisson(2.0, n), 5), 0),
        n_rep=np.where(repeat, 1 + np.minimum(rng.poisson(0.4, n), 2), 0),
        store=rng.integers(0, len(C.STORES), n),
        start=_starts(rng, n, blowout, clock),
    ))


def _outcome(rng: np.random.Generator, device_type: np.ndarray) -> np.ndarray:
    cum = np.cumsum(OUTCOME_P, axis=1)[device_type]
    return (rng.random(len(device_type))[:, None] >= cum).sum(axis=1).clip(0, 3)


def _starts(rng: np.random.Generator, n: int, blowout: np.ndarray, clock: Clock) -> np.ndarray:
    lo, hi = clock.summer()
    return np.where(blowout, rng.uniform(lo, hi, n), rng.uniform(0.0, clock.latest_start(), n))


@dataclass
class Sessions:
    """One row per visit, sorted by (customer, start)."""

    cust: np.ndarray
    kind: np.ndarray
    offset: np.ndarray  # activity days since the customer's first visit
    device: np.ndarray  # block device index; app devices follow the web ones
    outcome: np.ndarray  # checkout outcome, -1 elsewhere
    product: np.ndarray
    first_of_kind: np.ndarray  # first visit of its kind for the customer
    last_of_kind: np.ndarray


def plan_sessions(rng: np.random.Generator, cu: Customers) -> Sessions:
    """Visits of each customer, with relative times (activity days since the first visit)."""
    n = cu.n
    # -- before the purchase: a chain awareness* consideration* decision* checkout retry
    n_aw = np.where(cu.entry == 0, 1 + np.minimum(rng.poisson(0.5, n), 3), 0)
    n_co = np.where(cu.reach_co, 1 + np.minimum(rng.poisson(0.7, n), 3), 0)
    n_de = np.where(cu.reach_de, 1 + np.minimum(rng.poisson(0.5, n), 3), 0)
    counts = np.stack([n_aw, n_co, n_de, cu.checkout.astype(int), cu.retry.astype(int)], axis=1)
    chain_len = counts.sum(axis=1)
    c_cust = np.repeat(np.arange(n), chain_len)
    c_pos = np.arange(len(c_cust)) - np.repeat(np.cumsum(chain_len) - chain_len, chain_len)
    bounds = np.cumsum(counts, axis=1)[c_cust]
    c_kind = (c_pos[:, None] >= bounds).sum(axis=1)  # AW, CO, DE, CHK, RETRY
    mean_gap = np.array([5.0, 3.0, 2.0, 1.5, 1.0])[c_kind]
    gap = np.where(c_pos == 0, 0.0, MIN_GAP_DAYS + rng.exponential(mean_gap))
    c_offset = _segment_cumsum(gap, c_pos == 0)
    c_outcome = np.where(c_kind == CHK, cu.outcome1[c_cust], np.where(c_kind == RETRY, cu.outcome2[c_cust], -1))
    c_device = np.where(c_kind == CHK, cu.chk_dev[c_cust], np.where(c_kind == RETRY, cu.retry_dev[c_cust], -1))

    # when the purchase (or the failed checkout, or the store visit) happened
    last_chain = np.cumsum(chain_len) - 1
    success = np.full(n, np.nan)
    ok = (c_outcome == SUCCESS) & (c_kind >= CHK)
    success[c_cust[ok]] = c_offset[ok]
    store_at = c_offset[last_chain] + 1.0 + rng.exponential(4.0, n)
    base = np.where(cu.bought_online, success, np.where(cu.store_visit, store_at, c_offset[last_chain]))
    cu.arrays["store_offset"] = store_at
    cu.arrays["base_offset"] = base
    chk_at = np.full(n, np.nan)
    chk_at[c_cust[c_kind == CHK]] = c_offset[c_kind == CHK]
    cu.arrays["checkout_offset"] = chk_at

    # -- after it: independent visits placed relative to the base, then sorted
    winback_at = base + 45 + rng.uniform(0, 30, n)
    post_counts = {
        RET: cu.n_ret, APP: cu.n_app, REP: cu.n_rep, WINBACK: cu.winback.astype(int),
        REVIEW: cu.review.astype(int), NPS: cu.nps_answer.astype(int), REFER: cu.refer.astype(int),
        SUPPORT: cu.n_support,
    }
    p_cust = np.concatenate([np.repeat(np.arange(n), c) for c in post_counts.values()])
    p_kind = np.concatenate([np.full(c.sum(), k) for k, c in post_counts.items()])
    m = len(p_cust)
    delay = {RET: (2, 45), APP: (1, 40), REP: (20, 70), REVIEW: (7, 5), NPS: (14, 10), REFER: (20, 15),
             SUPPORT: (0.5, 8)}
    lo = np.array([delay.get(k, (0, 0))[0] for k in range(13)], dtype=float)[p_kind]
    mean = np.array([delay.get(k, (0, 1))[1] for k in range(13)], dtype=float)[p_kind]
    p_offset = base[p_cust] + lo + rng.exponential(mean, m)
    p_offset = np.where(p_kind == WINBACK, winback_at[p_cust], p_offset)
    after_winback = (p_kind == REP) & cu.winback[p_cust]
    p_offset = np.where(after_winback, winback_at[p_cust] + 1 + rng.exponential(10.0, m), p_offset)
    p_outcome = np.full(m, -1)
    p_device = np.full(m, -1)

    cust = np.concatenate([c_cust, p_cust])
    kind = np.concatenate([c_kind, p_kind])
    offset = np.concatenate([c_offset, p_offset])
    outcome = np.concatenate([c_outcome, p_outcome])
    device = np.concatenate([c_device, p_device])
    order = np.lexsort((kind, offset, cust))
    cust, kind, offset, outcome, device = cust[order], kind[order], offset[order], outcome[order], device[order]
    first = np.ones(len(cust), dtype=bool)
    first[1:] = cust[1:] != cust[:-1]
    offset = _enforce_gap(offset, cust, first)

    # devices: the primary browser mostly, checkouts where decided, app visits on the app
    s = len(cust)
    free = device < 0
    other = cu.dev_lo[cust] + rng.integers(0, 1 << 30, s) % cu.n_web[cust]
    web = np.where(first | (rng.random(s) < 0.65), cu.dev_lo[cust], other)
    n_web_total = len(cu.dev_cust)
    device = np.where(free, np.where(kind == APP, n_web_total + cust, web), device)
    rep = kind == REP
    outcome = np.where(rep, _outcome(rng, cu.dev_type[np.minimum(device, n_web_total - 1)]), outcome)
    product = np.where(rep, _pick(rng, np.array([p.weight for p in C.PRODUCTS]), s), cu.target[cust])
    # first visit of each kind per customer (tail actions that happen once)
    key = cust * 16 + kind
    order = np.lexsort((offset, key))
    sk = key[order]
    fk = np.zeros(s, dtype=bool)
    fk[order[np.r_[True, sk[1:] != sk[:-1]]]] = True
    lk = np.zeros(s, dtype=bool)
    lk[order[np.r_[sk[1:] != sk[:-1], True]]] = True
    return Sessions(cust, kind, offset, device, outcome, product, fk, lk)


def _segment_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting where ``starts`` is true (values at starts are included)."""
    cs = np.cumsum(values)
    base = cs[starts] - values[starts]
    return cs - np.repeat(base, np.diff(np.r_[np.flatnonzero(starts), len(values)]))


def _enforce_gap(offset: np.ndarray, cust: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Shift visits later so consecutive visits of a customer start >= MIN_GAP_DAYS apart."""
    pos = np.arange(len(offset)) - np.repeat(np.flatnonzero(first), np.diff(np.r_[np.flatnonzero(first), len(offset)]))
    span = 1e6  # larger than any offset: keeps the running maximum inside each customer
    shifted = offset - pos * MIN_GAP_DAYS + cust * span
    return np.maximum.accumulate(shifted) - cust * span + pos * MIN_GAP_DAYS
