"""The synthetic journey generator behind ``journeymap demo``.

A seeded population of customers of *Trailhead Outfitters*, a fictional outdoor-gear
retailer, who reach the shop through a dozen channels, browse content of every journey
stage on 1-3 browsers and the app, identify, buy (online or in a store), come back, review,
answer NPS surveys, refer friends and call support. Rows are what trackers send (raw URLs
with UTM tags and click ids, referrers, clear e-mails on identify calls), plus a CRM export
with its own column names. Effects are planted for the analyses to find
(:data:`PLANTED_EFFECTS`); ``docs/demo.md`` describes all of it.

Generation is vectorised per block of 5,000 customers, each from its own random stream,
so memory is bounded by ``batch_customers`` and the data do not depend on the batch size.

>>> spec = DemoSpec(customers=200, seed=7, days=120)
>>> batches = list(generate_touchpoints(spec, batch_customers=150))
>>> len(batches), batches[0].schema.field("timestamp").type
(2, TimestampType(timestamp[us, tz=UTC]))
>>> sorted(set(batches[0].column("type").to_pylist()))
['identify', 'page', 'screen', 'track']
>>> [e.name for e in PLANTED_EFFECTS][:3]
['summer_blowout_never_buys', 'mobile_checkout_failure', 'tent_guide_lift']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .crm import CRM_COLUMN_MAP, CRM_COLUMNS, broken_reason, crm_rows, write_crm_rows
from .journeys import BLOCK, RAW_SCHEMA, build_block
from .population import Clock

__all__ = [
    "CRM_COLUMNS",
    "CRM_COLUMN_MAP",
    "PLANTED_EFFECTS",
    "RAW_SCHEMA",
    "DemoFiles",
    "DemoSpec",
    "PlantedEffect",
    "broken_reason",
    "generate_touchpoints",
    "write_demo_files",
]

#: Customers per Parquet part written by :func:`write_demo_files`.
PART_CUSTOMERS = 20_000


@dataclass(frozen=True)
class DemoSpec:
    """What to simulate: how many customers, the random seed, and the time window."""

    customers: int = 10_000
    seed: int = 42
    start: str = "2025-01-01"
    days: int = 365


@dataclass
class DemoFiles:
    """What :func:`write_demo_files` wrote."""

    events_dir: Path
    crm_csv: Path
    crm_column_map: dict[str, str]
    events: int
    crm_rows: int  # data rows in the CSV, broken ones included
    crm_broken_rows: int


@dataclass(frozen=True)
class PlantedEffect:
    """An effect built into the demo population, and how an analysis should see it."""

    name: str
    description: str
    how_to_see: str
    expected: str


PLANTED_EFFECTS: tuple[PlantedEffect, ...] = (
    PlantedEffect(
        "summer_blowout_never_buys",
        "Paid-social campaign utm_campaign=summer_blowout (Facebook + Instagram, June-August) brings ~15% of "
        "customers' first visits, and none of them ever buys.",
        "Channel/campaign breakdown of a visit -> order_completed funnel, or first-touch attribution by "
        "utm_campaign: summer_blowout has a large share of visitors and zero conversions and zero revenue.",
        "10k customers, seed 42: 1,513 customers (15%; 14% of browsers' first visits), 0 order_completed; "
        "other paid-social campaigns convert 1-5%.",
    ),
    PlantedEffect(
        "mobile_checkout_failure",
        "On mobile, checkout_started is mostly followed by checkout_error (error_code payment_form_timeout); "
        "desktop and tablet checkouts complete normally.",
        "Funnel checkout_started -> order_completed broken down by properties.device; the pain-point lane "
        "shows checkout_error on mobile; some customers retry on desktop (cross-device).",
        "10k customers, seed 42: order_completed / checkout_started = 17% on mobile, 86% on desktop, 77% on "
        "tablet; 80% of mobile checkouts end in payment_form_timeout.",
    ),
    PlantedEffect(
        "tent_guide_lift",
        "Consideration-stage customers who read the guide /guides/choosing-the-right-tent (\"How to choose the "
        "right tent\") are about twice as likely to reach the decision stage (product pages, add_to_cart).",
        "Content influence on stage progression: among customers reaching consideration, decision rate of "
        "guide readers vs non-readers; the content lane of the journey map.",
        "10k customers, seed 42: decision rate 56% of guide readers vs 26% of other consideration-stage "
        "customers (2.2x); guide reading is independent of channel.",
    ),
    PlantedEffect(
        "winback_email_lifts_repeat",
        "Buyers who click the win-back e-mail (utm_campaign=winback_60d, 45-75 days after their first order) "
        "buy again about twice as often.",
        "Retention / repeat-purchase rate of buyers split by whether they had an email touch with "
        "utm_campaign=winback_60d.",
        "Planned: a repeat-purchase visit for 45% of clickers vs 20% of other buyers; observed on 10k "
        "customers, seed 42: 30% vs 11% of buyers order again (2.8x).",
    ),
)


def _check(spec: DemoSpec, batch_customers: int) -> None:
    if spec.customers < 1 or spec.days < 1 or batch_customers < 1:
        raise ValueError("customers, days and batch_customers must be at least 1")


def _chunks(spec: DemoSpec, batch_customers: int, with_crm: bool) -> Iterator[tuple[list[pa.RecordBatch], list]]:
    """Chunks of ``batch_customers`` customers (the last may be smaller) as slices of blocks,
    with their CRM rows."""
    _check(spec, batch_customers)
    clock = Clock(spec.start, spec.days)
    pending: list[pa.RecordBatch] = []
    pending_crm: list = []
    have = 0
    for b in range(-(-spec.customers // BLOCK)):
        size = min(BLOCK, spec.customers - b * BLOCK)
        block = build_block(spec.seed, b, size, clock)
        crm = crm_rows(np.random.default_rng([spec.seed, b, 1]), block, clock,
                       force_each_fault=(b == 0)) if with_crm else []
        crm_cust = np.array([r[0] for r in crm], dtype=np.int64)
        lo = 0
        while lo < size:
            hi = lo + min(batch_customers - have, size - lo)
            r0, r1 = np.searchsorted(block.row_customer, [lo, hi])
            pending.append(block.batch.slice(r0, r1 - r0))
            c0, c1 = np.searchsorted(crm_cust, [lo, hi])
            pending_crm.extend(crm[c0:c1])
            have += hi - lo
            lo = hi
            if have == batch_customers:
                yield pending, pending_crm
                pending, pending_crm, have = [], [], 0
        del block
    if pending:
        yield pending, pending_crm


def generate_touchpoints(spec: DemoSpec, batch_customers: int = 20_000) -> Iterator[pa.RecordBatch]:
    """Web and app touchpoints of successive chunks of ``batch_customers`` customers.

    Columns are :data:`RAW_SCHEMA` (canonical names; ``email`` in clear, URLs with their query
    strings). Rows of a customer are consecutive and in time order. Memory is bounded by
    ``batch_customers`` whatever ``spec.customers``; the rows do not depend on it.
    """
    for slices, _ in _chunks(spec, batch_customers, with_crm=False):
        yield slices[0] if len(slices) == 1 else pa.concat_batches(slices)


def write_demo_files(folder: str | Path, spec: DemoSpec, *,
                     progress: Callable[[int], None] | None = None) -> DemoFiles:
    """Write ``folder/events/part-NNNNN.parquet`` (one part per batch) and ``folder/crm_export.csv``.

    ``progress(events_written)`` is called after each part. Existing parts in
    ``folder/events`` are replaced.

    >>> import tempfile
    >>> files = write_demo_files(tempfile.mkdtemp(), DemoSpec(customers=300, days=60))
    >>> files.crm_column_map["crm_contact_id"], files.events > 300, files.crm_broken_rows >= 0
    ('user_id', True, True)
    """
    folder = Path(folder)
    events_dir = folder / "events"
    events_dir.mkdir(parents=True, exist_ok=True)
    for old in events_dir.glob("part-*.parquet"):
        old.unlink()
    crm_csv = folder / "crm_export.csv"
    events = crm_total = crm_broken = 0
    with open(crm_csv, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(CRM_COLUMNS) + "\n")
        for i, (slices, crm) in enumerate(_chunks(spec, PART_CUSTOMERS, with_crm=True)):
            with pq.ParquetWriter(events_dir / f"part-{i:05d}.parquet", RAW_SCHEMA, compression="zstd") as part:
                for piece in slices:  # one row group per block slice: no concatenated copy
                    part.write_batch(piece)
                    events += piece.num_rows
            written, broken = write_crm_rows(handle, crm, crm_total + 1)
            crm_total += written
            crm_broken += broken
            if progress is not None:
                progress(events)
    return DemoFiles(events_dir, crm_csv, dict(CRM_COLUMN_MAP), events, crm_total, crm_broken)
