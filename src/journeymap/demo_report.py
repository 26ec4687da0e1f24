"""The summary `journeymap demo` prints: population, channels, identity merges, loads, rejects.

Built from the public API only (the same numbers `journeymap info` and Python give).
"""

from __future__ import annotations

import ibis

from .api import Journeymap
from .ingest import LoadSummary

__all__ = ["demo_report", "identity_merge_stats"]


def identity_merge_stats(jm: Journeymap) -> dict:
    """How stitching joined identifiers: known customers, anonymous ids stitched to them,
    cross-device customers (2+ anonymous or device ids), over-linked identifiers."""
    idmap = jm.identity_map()
    per_customer = idmap.group_by("customer_id").agg(
        known=(idmap.id_type == "user_id").any(),
        browsers=(idmap.id_type.isin(["anonymous_id", "device_id"])).sum(),
        identifiers=idmap.count(),
    )
    totals = per_customer.aggregate(
        customers=per_customer.count(),
        known_customers=per_customer.known.sum(),
        anonymous_only_customers=(~per_customer.known).sum(),
        cross_device_customers=(per_customer.browsers >= 2).sum(),
        merged_customers=(per_customer.identifiers >= 2).sum(),
        stitched_browsers=ibis.ifelse(per_customer.known, per_customer.browsers, 0).sum(),
    ).to_pyarrow().to_pylist()[0]
    totals = {k: int(v or 0) for k, v in totals.items()}
    totals["overlinked_identifiers"] = int(jm.overlinked().count().to_pyarrow().as_py())
    return totals


def demo_report(jm: Journeymap, loads: list[LoadSummary], planted_effects) -> dict:
    """Tables (title -> rows) summarising a demo store."""
    events = jm.events()
    info = jm.info()
    # first touch per customer (ties by event_id): the acquisition mix, next to the touchpoint mix
    first = events.filter(events.customer_id.notnull()).mutate(
        _n=ibis.row_number().over(group_by="customer_id", order_by=["timestamp", "event_id"]))
    first = first.filter(first._n == 0).group_by("channel").agg(first_touch_customers=ibis._.count())
    per_channel = events.group_by("channel").agg(touchpoints=events.count(), customers=events.customer_id.nunique())
    joined = per_channel.left_join(first, "channel")
    channels = (joined.select(joined.channel, joined.touchpoints, joined.customers,
                              first_touch_customers=joined.first_touch_customers.fill_null(0))
                .order_by([ibis.desc("touchpoints"), "channel"]).to_pyarrow().to_pylist())
    merges = identity_merge_stats(jm)
    rejects = (jm.rejects().order_by(["file", "row"]).limit(10)
               .select("file", "row", "column", "reason").to_pyarrow().to_pylist())
    for row in rejects:
        row["file"] = row["file"].rsplit("/", 1)[-1]
    load_rows = [{"file": f.file.rsplit("/", 1)[-1] if f.format == "csv" else f.file.rsplit("/", 2)[-2] + "/…",
                  "format": f.format, "rows": f.rows_read, "new": f.accepted,
                  "already stored": f.duplicates, "rejected": f.rejected}
                 for summary in loads for f in summary.files]
    # fold the many Parquet parts of the generated events into one row
    folded: dict[tuple, dict] = {}
    for row in load_rows:
        key = (row["file"], row["format"])
        if key in folded:
            for k in ("rows", "new", "already stored", "rejected"):
                folded[key][k] += row[k]
        else:
            folded[key] = dict(row)
    population = [
        {"what": "customers", "value": info["customers"]},
        {"what": "known customers (identified)", "value": merges["known_customers"]},
        {"what": "anonymous-only visitors", "value": merges["anonymous_only_customers"]},
        {"what": "touchpoints", "value": info["events"]},
        {"what": "first touchpoint", "value": info["first_touchpoint"]},
        {"what": "last touchpoint", "value": info["last_touchpoint"]},
    ]
    identity = [
        {"what": "browsers/devices stitched to known customers", "value": merges["stitched_browsers"]},
        {"what": "cross-device customers (2+ browsers/devices)", "value": merges["cross_device_customers"]},
        {"what": "customers merged from 2+ identifiers", "value": merges["merged_customers"]},
        {"what": "over-linked identifiers kept out of merging", "value": merges["overlinked_identifiers"]},
    ]
    effects = [{"planted effect": e.name, "what to look for": e.description} for e in planted_effects]
    return {
        "info": info,
        "identity": merges,
        "tables": {
            "Population": population,
            "Touchpoints per channel (internal page views count as direct; "
            "first touch = the customer's first touchpoint)": channels,
            "Identity stitching": identity,
            "Loads": list(folded.values()),
            f"Rejected rows ({info['rejects']:,} in all; `journeymap rejects` lists them)": rejects,
            "Planted effects (for the analyses of later chapters to find)": effects,
        },
    }
