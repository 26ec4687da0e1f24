"""Visits -> touchpoint rows: one Arrow record batch per block of customers.

Every block of :data:`BLOCK` customers is drawn from its own random stream
(``numpy.random.default_rng([seed, block])``), so the population is the same however it
is cut into batches. The rows are what a browser or app tracker sends: page/screen views,
track events and identify calls, with UTM tags and click ids inside the landing URL and the
browser's referrer; channels are left to the ingest to classify.

>>> block = build_block(seed=1, block=0, customers=50, clock=Clock("2025-01-01", 90))
>>> block.batch.schema.names == RAW_SCHEMA.names
True
>>> block.batch.num_rows > 50
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import catalogue as C
from .population import (APP, CHK, CO, DE, KIND_BROWSE_MEAN, KIND_BROWSE_MIN, KIND_MIX, KIND_POOL, MAX_BROWSE,
                         NPS, OUTCOME_PARTS, PRODUCT_KINDS, REFER, REP, RET, RETRY, REVIEW, SUPPORT, TIMEOUT,
                         Clock, Customers, Sessions, plan_customers, plan_sessions)

BLOCK = 5000  # customers per random stream
US = 1_000_000

RAW_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("timestamp", pa.timestamp("us", tz="UTC")), ("type", pa.string()),
    ("event", pa.string()), ("anonymous_id", pa.string()), ("user_id", pa.string()), ("email", pa.string()),
    ("device_id", pa.string()), ("url", pa.string()), ("referrer", pa.string()), ("page_title", pa.string()),
    ("revenue", pa.float64()), ("currency", pa.string()), ("properties", pa.string()),
])
_TYPES = pa.array(["page", "screen", "track", "identify", "identify"])
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_TOKEN = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", dtype=np.uint8)


@dataclass
class Block:
    batch: pa.RecordBatch
    row_customer: np.ndarray  # block customer of each row (non-decreasing)
    customers: Customers
    sessions: Sessions
    known: np.ndarray  # customer has a user_id in the web data
    start: np.ndarray  # activity time of each customer's first visit
    identified_at: np.ndarray  # activity time from which the customer is known (inf if never)
    user_ids: list[str]
    emails: list[str]


def fixed_width(chars: np.ndarray) -> pa.StringArray:
    """An (n, w) uint8 array of ASCII -> n strings of width w, without a Python loop."""
    n, w = chars.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))


def uuid_strings(rng: np.random.Generator, n: int) -> pa.StringArray:
    """n random version-4 UUIDs as text.

    >>> s = uuid_strings(np.random.default_rng(0), 2).to_pylist()
    >>> [len(x) for x in s], s[0][14]
    ([36, 36], '4')
    """
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for src, dst in ((slice(0, 8), slice(0, 8)), (slice(8, 12), slice(9, 13)), (slice(12, 16), slice(14, 18)),
                     (slice(16, 20), slice(19, 23)), (slice(20, 32), slice(24, 36))):
        out[:, dst] = hexed[:, src]
    return fixed_width(out)


def tokens(rng: np.random.Generator, n: int, width: int) -> pa.StringArray:
    return fixed_width(_TOKEN[rng.integers(0, 64, (n, width))])


def _masked(indices: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(indices, pa.int64(), mask=~valid)


@lru_cache(maxsize=1)
def _static_properties() -> tuple[pa.StringArray, np.ndarray, int]:
    """Every properties JSON that has no per-event value, and offsets by property kind."""
    parts: dict[int, list[dict]] = {
        C.P_NONE: [{}],
        C.P_PRODUCT: [{"product_id": p.slug, "product": p.name, "category": p.category, "price": p.price}
                      for p in C.PRODUCTS],
        C.P_NEWSLETTER: [{"form": "footer"}],
        C.P_SIGNUP: [{"method": "email"}],
        C.P_LOGIN: [{"method": "password"}],
        C.P_FITTING: [{"store": s} for s in C.STORES],
        C.P_ERROR: [{"error_code": e, "step": "payment"} for e in C.CHECKOUT_ERRORS],
        C.P_TOPIC: [{"topic": t} for t in C.SUPPORT_TOPICS],
    }
    offsets = np.zeros(12, dtype=np.int64)
    width = 0
    for kind, rows in parts.items():
        offsets[kind] = width
        width += len(rows)
    texts = [json.dumps({"device": d, **row}, separators=(",", ":")) for d in C.DEVICES
             for rows in parts.values() for row in rows]
    return pa.array(texts, pa.string()), offsets, width


def build_block(seed: int, block: int, customers: int, clock: Clock) -> Block:
    """The touchpoints of customers ``block * BLOCK`` .. ``+ customers`` (customers <= BLOCK)."""
    cat = C.compile_catalogue()
    rng = np.random.default_rng([seed, block])
    first_index = block * BLOCK
    cu = plan_customers(rng, customers, first_index, clock)
    se = plan_sessions(rng, cu)
    n, s = cu.n, len(se.cust)
    gidx = first_index + np.arange(n)
    user_ids = [f"C{g + 1:08d}" for g in gidx.tolist()]
    fn = rng.integers(0, len(C.FIRST_NAMES), n).tolist()
    ln = rng.integers(0, len(C.LAST_NAMES), n).tolist()
    dom = rng.integers(0, 2, n).tolist()
    emails = [f"{C.FIRST_NAMES[a]}.{C.LAST_NAMES[b]}{g + 1}@{C.EMAIL_DOMAINS[d]}"
              for a, b, g, d in zip(fn, ln, gidx.tolist(), dom)]
    ref_codes = tokens(rng, n, 8)

    # referred customers arrive after an advocate's referral_sent; unmatched ones come direct
    arrival0 = cu.arrival.copy()
    start = cu.start.copy()
    refer_idx = np.flatnonzero(se.kind == REFER)
    referred = np.flatnonzero(cu.referred)
    perm = rng.permutation(len(refer_idx))[: len(referred)]
    k = len(perm)
    arrive = cu.start[se.cust[refer_idx[perm]]] + se.offset[refer_idx[perm]] + 0.3 + rng.exponential(3.0, k)
    ok = arrive <= clock.latest_start()
    start[referred[:k][ok]] = arrive[ok]
    advocate = np.full(n, -1)
    advocate[referred[:k][ok]] = se.cust[refer_idx[perm]][ok]
    arrival0[cu.referred & (advocate < 0)] = C.ARRIVAL_NAMES.index("direct_home")

    at = start[se.cust] + se.offset
    keep = at <= clock.at_hour(clock.hours - 3)
    first = np.r_[True, se.cust[1:] != se.cust[:-1]]

    # identification: the first visit with signup, fitting or checkout identifies the customer;
    # each device's first visit after that starts with a login
    mask = np.zeros(s, dtype=np.int64)
    bit = C.PART_BIT
    kind = se.kind
    is_chk = np.isin(kind, [CHK, RETRY, REP])
    mask |= np.where(first & cu.newsletter[se.cust], bit["newsletter"], 0)
    mask |= np.where((kind == CO) & se.first_of_kind & cu.guide[se.cust], bit["guide"], 0)
    signup = (kind == CO) & se.first_of_kind & cu.signup[se.cust]
    fitting = (kind == DE) & se.last_of_kind & cu.fitting[se.cust]
    mask |= np.where(signup, bit["signup"], 0) | np.where(fitting, bit["fitting"], 0)
    mask |= np.where(((kind == DE) & se.last_of_kind & cu.cart_only[se.cust]) | is_chk, bit["add_to_cart"], 0)
    mask |= np.where(is_chk, bit["checkout"], 0)
    for o, part in enumerate(OUTCOME_PARTS):
        mask |= np.where(is_chk & (se.outcome == o), bit[part], 0)
    mask |= np.where(kind == REVIEW, bit["review"], 0) | np.where(kind == NPS, bit["nps"], 0)
    mask |= np.where(kind == REFER, bit["refer"], 0)
    chat = rng.random(s) < 0.5
    mask |= np.where((kind == SUPPORT) & chat, bit["support_chat"], 0)
    mask |= np.where((kind == SUPPORT) & ~chat, bit["support_ticket"], 0)
    mask |= np.where((kind == APP) & (rng.random(s) < 0.04), bit["app_support_chat"], 0)
    identifying = np.flatnonzero(signup | fitting | is_chk)
    ident_cust, pos = np.unique(se.cust[identifying], return_index=True)
    first_ident = identifying[pos]
    ident_off = np.full(n, np.inf)
    ident_off[ident_cust] = se.offset[first_ident]
    mask[first_ident] |= bit["identify"]
    known = se.offset >= ident_off[se.cust]
    kn = np.flatnonzero(known)
    kn = kn[np.lexsort((se.offset[kn], se.device[kn]))]
    first_on_device = kn[np.r_[True, se.device[kn][1:] != se.device[kn][:-1]][: len(kn)]]
    login = np.zeros(s, dtype=bool)
    login[first_on_device] = True
    login[first_ident] = False
    known_at_start = known.copy()
    known_at_start[first_on_device] = False

    browse = np.minimum(KIND_BROWSE_MIN[kind] + rng.poisson(KIND_BROWSE_MEAN[kind]), MAX_BROWSE)

    # how each visit arrived
    mix = KIND_MIX[kind]
    pick = C.draw(cat.mix_cum, mix, rng.random(s))
    arrival = cat.mix_arrivals[pick]
    email_ok = (kind >= RET) | cu.newsletter[se.cust] | known
    arrival = np.where(cat.mix_email[pick] & ~email_ok, C.ARRIVAL_NAMES.index("direct"), arrival)
    arrival = np.where(first, arrival0[se.cust], arrival)
    # back to the product page before adding it to the cart, unless the visit is already there
    n_pre = (cat.arrival_landing[arrival] >= 0) + browse
    away = (browse > 1) | (login & (n_pre == 1))
    mask |= np.where(((mask & bit["add_to_cart"]) > 0) & away, bit["product_again"], 0)
    topic = np.where(cu.had_timeout[se.cust] & (rng.random(s) < 0.6), C.SUPPORT_TOPICS.index("payment_problem"),
                     rng.integers(0, len(C.SUPPORT_TOPICS), s))

    sel = np.flatnonzero(keep)
    known_customer = np.zeros(n, dtype=bool)
    known_customer[se.cust[sel][known[sel]]] = True
    sess = dict(cust=se.cust[sel], kind=kind[sel], device=se.device[sel], outcome=se.outcome[sel],
                product=se.product[sel], mask=mask[sel], login=login[sel], known_at_start=known_at_start[sel],
                arrival=arrival[sel], topic=topic[sel], wall=clock.to_us(at[sel]), index=sel,
                browse=browse[sel])
    batch, row_customer = _events(rng, cat, cu, sess, block, user_ids, emails, ref_codes, advocate)
    identified_at = start + ident_off
    return Block(batch, row_customer, cu, se, known_customer, start, identified_at, user_ids, emails)


def _events(rng, cat: C.Catalogue, cu: Customers, ss: dict, block: int, user_ids, emails, ref_codes, advocate):
    s = len(ss["cust"])
    kind = ss["kind"]
    # ---- steps: [landing] [login] browsing... tail...
    n_browse = ss["browse"]
    override = cat.arrival_landing[ss["arrival"]]
    has_ov = (override >= 0).astype(np.int64)
    n_pre = has_ov + n_browse
    masks, mask_inv = np.unique(ss["mask"], return_inverse=True)
    tails = [cat.tail(int(m)) for m in masks]
    tail_len = np.array([len(t) for t in tails], dtype=np.int64)
    tail_off = np.r_[0, np.cumsum(tail_len)[:-1]]
    tail_flat = np.array([x for t in tails for x in t] or [0], dtype=np.int64)
    login = ss["login"]
    n_steps = n_pre + login + tail_len[mask_inv]
    st_sess = np.repeat(np.arange(s), n_steps)
    p = np.arange(len(st_sess)) - np.repeat(np.cumsum(n_steps) - n_steps, n_steps)
    lp = np.where(login, np.minimum(1, n_pre), -1)[st_sess]
    is_login = p == lp
    q = p - (login[st_sess] & (p > lp))
    pre = q < n_pre[st_sess]
    b = q - has_ov[st_sess]
    st_kind = kind[st_sess]
    pool_step = cat.pool_steps[C.draw(cat.pool_cum, KIND_POOL[st_kind], rng.random(len(st_sess)))]
    product_step = np.array([cat.step_index["product:" + pr.slug] for pr in C.PRODUCTS])[ss["product"][st_sess]]
    pre_step = np.where((b < 0), override[st_sess],
                        np.where((b == 0) & PRODUCT_KINDS[st_kind], product_step, pool_step))
    tail_step = tail_flat[np.clip(tail_off[mask_inv[st_sess]] + q - n_pre[st_sess], 0, len(tail_flat) - 1)]
    login_step = np.where(st_kind == APP, cat.step_index["login_app"], cat.step_index["login_web"])
    tail_step = np.where(tail_step == cat.step_index["part:product_again:0"], product_step, tail_step)
    step = np.where(is_login, login_step, np.where(pre, pre_step, tail_step))

    # ---- events
    step_len = cat.step_len[step]
    e_sess = np.repeat(st_sess, step_len)
    e_step = np.repeat(step, step_len)
    m = len(e_sess)
    tmpl = cat.step_start[e_step] + (np.arange(m) - np.repeat(np.cumsum(step_len) - step_len, step_len))
    ek = cat.ev_kind[tmpl]
    is_page = ek <= C.SCREEN
    first = np.r_[True, e_sess[1:] != e_sess[:-1]]
    idx = np.arange(m)
    ctx = np.maximum.accumulate(np.where(is_page, idx, 0))
    first_idx = np.repeat(np.flatnonzero(first), np.diff(np.r_[np.flatnonzero(first), m]))
    page = cat.ev_page[tmpl][ctx]
    gap = np.where(is_page, 8 * US + np.minimum(rng.exponential(50 * US, m), 292 * US),
                   US + rng.uniform(0, 3 * US, m)).astype(np.int64)
    gap[first] = 0
    cs = np.cumsum(gap)
    ts = ss["wall"][e_sess] + cs - cs[first_idx]

    cust = ss["cust"][e_sess]
    device = ss["device"][e_sess]
    n_web = len(cu.dev_cust)
    on_app = kind[e_sess] == APP
    dev_type = np.where(on_app, cu.app_type[cust], cu.dev_type[np.minimum(device, n_web - 1)])

    # identity columns
    ident_user = ek == C.IDENTIFY_USER
    cu_ident = np.cumsum(ident_user)
    has_user = ss["known_at_start"][e_sess] | (cu_ident - cu_ident[first_idx] + ident_user[first_idx] > 0)
    anon = uuid_strings(rng, n_web + cu.n)  # web browsers, then one app install per customer
    app_ids = pc.utf8_upper(uuid_strings(rng, cu.n))
    user_arr = pa.array(user_ids, pa.string())
    email_arr = pa.array(emails, pa.string())

    # url, referrer, title: of the page the event happened on; the landing page keeps its query
    slot = cat.arrival_slot[ss["arrival"]]
    clicks = tokens(rng, s, 32)
    codes = ref_codes.take(_masked(advocate[ss["cust"]], advocate[ss["cust"]] >= 0))
    slot_text = pc.if_else(pa.array(slot == C.CLICK_ID), clicks,
                           pc.if_else(pa.array(slot == C.REF_CODE), pc.fill_null(codes, ""), ""))
    query = pc.binary_join_element_wise(cat.arrival_query.take(pa.array(ss["arrival"])), slot_text, "")
    on_landing = ctx == first_idx
    url = pc.binary_join_element_wise(cat.page_url.take(pa.array(page)), query.take(_masked(e_sess, on_landing)),
                                      "", null_handling="replace", null_replacement="")
    ref_pick = C.draw(cat.referrer_cum, ss["arrival"], rng.random(s))
    external = cat.referrer_url.take(pa.array(ref_pick))
    prev_page = np.where(first, -1, ctx[np.maximum(idx - 1, 0)])  # meaningful on page events
    ref_src = prev_page[ctx]
    internal = url.take(_masked(np.maximum(ref_src, 0), (ref_src >= 0) & ~on_app))
    referrer = pc.coalesce(internal, external.take(_masked(e_sess, (ref_src < 0) & ~on_app)))

    # properties, revenue
    static, offsets, width = _static_properties()
    pk = cat.ev_props[tmpl]
    product = np.where(cat.step_product[e_step] >= 0, cat.step_product[e_step], ss["product"][e_sess])
    error = np.where(ss["outcome"][e_sess] == TIMEOUT, 0, 1)
    sub = np.select([pk == C.P_PRODUCT, pk == C.P_FITTING, pk == C.P_ERROR, pk == C.P_TOPIC],
                    [product, cu.store[cust], error, ss["topic"][e_sess]], 0)
    props = static.take(pa.array(dev_type * width + offsets[pk] + sub))
    dynamic = np.flatnonzero(np.isin(pk, [C.P_ORDER, C.P_REVIEW, C.P_NPS, C.P_REFERRAL]))
    is_order = pk == C.P_ORDER
    qty = 1 + (rng.random(m) < 0.12)
    extras = np.where(rng.random(m) < 0.35, rng.lognormal(3.0, 0.6, m), 0.0)
    revenue = np.round(cat.product_price[product] * qty + extras, 2)
    if len(dynamic):
        texts = []
        codes_py = ref_codes.to_pylist()
        review_pick = rng.integers(0, 3, m)
        for i, kind_i, d, c, pr, sx, q_, r in zip(
                dynamic.tolist(), pk[dynamic].tolist(), dev_type[dynamic].tolist(), cust[dynamic].tolist(),
                product[dynamic].tolist(), ss["index"][e_sess[dynamic]].tolist(), qty[dynamic].tolist(),
                review_pick[dynamic].tolist()):
            row: dict = {"device": C.DEVICES[d]}
            if kind_i == C.P_ORDER:
                row.update(order_id=f"TH{block * 1_000_000 + sx:010d}", product_id=C.PRODUCTS[pr].slug,
                           quantity=q_)
            elif kind_i == C.P_REVIEW:
                rating = int(cu.rating[c])
                row.update(product_id=C.PRODUCTS[pr].slug, rating=rating, review_text=C.REVIEW_TEXTS[rating][r])
            elif kind_i == C.P_NPS:
                row.update(score=int(cu.nps[c]))
            else:
                row.update(referral_code=codes_py[c], method="email" if r else "link")
            texts.append(json.dumps(row, separators=(",", ":")))
        dyn_mask = np.zeros(m, dtype=bool)
        dyn_mask[dynamic] = True
        props = pc.replace_with_mask(props, pa.array(dyn_mask), pa.array(texts, pa.string()))

    columns = [
        uuid_strings(rng, m),
        pa.array(ts, pa.timestamp("us", tz="UTC")),
        _TYPES.take(pa.array(ek)),
        pa.array(cat.event_names).take(pa.array(cat.ev_name[tmpl])),
        anon.take(pa.array(np.where(on_app, n_web + cust, device))),
        user_arr.take(_masked(cust, has_user)),
        email_arr.take(_masked(cust, (ek == C.IDENTIFY_USER) | (ek == C.IDENTIFY_EMAIL))),
        app_ids.take(_masked(cust, on_app)),
        url,
        referrer,
        cat.page_title.take(pa.array(page)),
        pa.array(revenue, pa.float64(), mask=~is_order),
        pc.if_else(pa.array(is_order), "USD", pa.scalar(None, pa.string())),
        props,
    ]
    return pa.RecordBatch.from_arrays(columns, schema=RAW_SCHEMA), cust
