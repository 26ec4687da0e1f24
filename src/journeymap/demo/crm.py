"""The second source: a store POS / CRM export with its own column names.

Rows are store visits, in-store purchases and support calls of customers who are already
known in the web data (``crm_contact_id`` is their ``user_id``, ``contact_email`` their
e-mail, sometimes capitalised differently), so identity stitching joins the two sources.
About 1% of rows are deliberately broken, one fault each, for the rejects listing.

>>> CRM_COLUMNS
('activity_id', 'occurred_at', 'activity', 'crm_contact_id', 'contact_email', 'store', 'amount', 'currency', 'notes')
>>> broken_reason(["A1", "yesterday", "store_visit", "C1", "", "Boulder", "", "", ""])
'timestamp'
>>> broken_reason(["A1", "2025-05-01T10:00:00Z", "pos_purchase", "C1", "", "Boulder", "49.90", "USD", ""])
"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

import numpy as np

from . import catalogue as C
from .population import TIMEOUT, Clock

CRM_COLUMNS: tuple[str, ...] = ("activity_id", "occurred_at", "activity", "crm_contact_id", "contact_email",
                                "store", "amount", "currency", "notes")
#: CRM column -> canonical column; ``store`` and ``notes`` end up in ``properties``.
CRM_COLUMN_MAP: dict[str, str] = {
    "activity_id": "event_id", "occurred_at": "timestamp", "activity": "event", "crm_contact_id": "user_id",
    "contact_email": "email", "amount": "revenue", "currency": "currency",
}
BROKEN_KINDS = ("timestamp", "identifiers", "amount", "fields")
BROKEN_SHARE = 0.01
_BAD_TIMESTAMPS = ("31/02/2025 25:61", "yesterday afternoon", "2025-13-45 10:00", "N/A")
_BAD_AMOUNTS = ("USD 129.95", "forty-nine", "$89,00", "tbd")
_NOTES = {
    "fitting": ("boot & pack fitting appointment", "fitting, tried three sizes", "fitting booked online"),
    "walk_in": ("walk-in", "walk-in, browsed tents", "picked up online order"),
    "pos": ("paid by card", "paid cash, used rewards points", "bought in store after fitting"),
    "call_timeout": ("payment form froze on phone, could not pay", "checkout kept timing out on mobile, frustrated"),
    "call": ("asked about order status", "return request, wrong size", "warranty question"),
}


def crm_rows(rng: np.random.Generator, block, clock: Clock, *, force_each_fault: bool = False) -> list[tuple]:
    """CRM rows of one block: (customer, wall_us, fields..., broken kind or -1), sorted by customer, time."""
    cu = block.customers
    n = cu.n
    end = clock.at_hour(clock.hours - 1)
    known = block.known
    start = block.start
    rows: list[tuple[int, float, str, float | None, str, str]] = []  # cust, at, activity, amount, store, notes

    def add(mask: np.ndarray, at: np.ndarray, activity: str, note_key: str, amount: np.ndarray | None = None,
            store: np.ndarray | None = None) -> None:
        ok = mask & known & (at <= end) & (at >= block.identified_at)
        notes = rng.integers(0, len(_NOTES[note_key]), n)
        for c in np.flatnonzero(ok).tolist():
            rows.append((c, float(at[c]), activity, None if amount is None else float(amount[c]),
                         "Customer Care" if store is None else C.STORES[int(store[c])], _NOTES[note_key][notes[c]]))

    price = C.compile_catalogue().product_price[cu.target]
    amount = np.round(price * (1 + (rng.random(n) < 0.15)) + np.where(rng.random(n) < 0.5, rng.lognormal(3.0, 0.6, n), 0), 2)
    visit_at = start + cu.store_offset
    add(cu.store_visit, visit_at, "store_visit", "fitting", store=cu.store)
    add(cu.bought_pos, visit_at + 0.02 + rng.uniform(0, 0.03, n), "pos_purchase", "pos", amount, cu.store)
    walk_in = cu.bought_online & (rng.random(n) < 0.10)
    walk_at = start + cu.base_offset + 3 + rng.exponential(40.0, n)
    add(walk_in, walk_at, "store_visit", "walk_in", store=cu.store)
    add(walk_in & (rng.random(n) < 0.5), walk_at + 0.02 + rng.uniform(0, 0.03, n), "pos_purchase", "pos",
        amount, cu.store)
    timeout_first = cu.checkout & (cu.outcome1 == TIMEOUT)
    add(timeout_first & (rng.random(n) < 0.3), start + cu.checkout_offset + 0.05 + rng.exponential(0.5, n),
        "support_call", "call_timeout")
    add(cu.buyer & (rng.random(n) < 0.05), start + cu.base_offset + 1 + rng.exponential(20.0, n),
        "support_call", "call")
    rows.sort(key=lambda r: (r[0], r[1]))
    if not rows:
        return []
    wall = clock.to_us(np.array([r[1] for r in rows]))
    when = np.datetime_as_string(wall.astype("datetime64[us]").astype("datetime64[s]"))
    broken = np.where(rng.random(len(rows)) < BROKEN_SHARE, rng.integers(0, len(BROKEN_KINDS), len(rows)), -1)
    if force_each_fault and len(rows) >= 2 * len(BROKEN_KINDS):
        for k in range(len(BROKEN_KINDS)):
            broken[(2 * k + 1) * len(rows) // (2 * len(BROKEN_KINDS))] = k
    style = rng.random(len(rows))
    pick = rng.integers(0, 4, len(rows))
    out = []
    for i, (c, _, activity, amt, store, notes) in enumerate(rows):
        email = block.emails[c]
        contact = block.user_ids[c]
        if style[i] < 0.12:
            local, domain = email.split("@")
            email = local.capitalize() + "@" + domain.capitalize()
        elif style[i] < 0.16:
            email = ""
        elif style[i] < 0.20:
            contact = ""
        fields = [when[i] + "Z", activity, contact, email, store,
                  "" if amt is None else f"{amt:.2f}", "" if amt is None else "USD", notes]
        kind = int(broken[i])
        if kind == 0:
            fields[0] = _BAD_TIMESTAMPS[pick[i]]
        elif kind == 1:
            fields[2] = fields[3] = ""
        elif kind == 2:
            fields[5] = _BAD_AMOUNTS[pick[i]]
        elif kind == 3:
            fields[7] = "walk-in, paid cash"
        out.append((c, int(wall[i]), fields, kind))
    return out


def write_crm_rows(handle: TextIO, rows: list[tuple], first_id: int) -> tuple[int, int]:
    """Append rows to an open CSV (header already written); returns (rows written, broken rows)."""
    writer = csv.writer(handle, lineterminator="\n")
    broken = 0
    for i, (_, _, fields, kind) in enumerate(rows):
        record = [f"ACT-{first_id + i:08d}", *fields]
        if kind == 3:  # an unquoted comma in the notes: one field too many
            handle.write(",".join(record) + "\n")
        else:
            writer.writerow(record)
        broken += kind >= 0
    return len(rows), broken


def broken_reason(record: list[str]) -> str | None:
    """Why a CRM record would be rejected at ingest (the fault planted in it), or None.

    Mirrors the ingest checks the demo relies on: field count, timestamp, identifiers, amount.
    """
    if len(record) != len(CRM_COLUMNS):
        return "fields"
    row = dict(zip(CRM_COLUMNS, record))
    try:
        datetime.fromisoformat(row["occurred_at"])
    except ValueError:
        return "timestamp"
    if not row["crm_contact_id"].strip() and not row["contact_email"].strip():
        return "identifiers"
    if row["amount"].strip():
        try:
            float(row["amount"])
        except ValueError:
            return "amount"
    return None
