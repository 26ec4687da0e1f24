"""Pain points and opportunities of a stage, stated in words with their numbers.

The builder computes the aggregates; these functions only phrase them. Number formats:

>>> pct(0.384), pct(0.004), pct(0.0), pct(None)
('38%', '<1%', '0%', '–')
>>> days(0.0), days(0.03), days(0.25), days(3.25), days(12.0)
('0 days', 'under an hour', '6 hours', '3.2 days', '12 days')
>>> plural(1, "customer"), plural(1200, "customer")
('1 customer', '1,200 customers')
"""

from __future__ import annotations

from typing import Any

from .model import ContentItem, LaneItem, MapStage, StageKpis

__all__ = ["days", "opportunities", "pain_points", "pct", "plural"]

DROP_TAG = "__drop__"
SLOW_TAG = "__slow__"


def pct(x: float | None) -> str:
    """A share as a whole percentage ("<1%" for small non-zero shares)."""
    if x is None:
        return "\u2013"
    if 0 < x < 0.005:
        return "<1%"
    return f"{x * 100:.0f}%"


def days(x: float | None) -> str:
    """A duration in days, in words."""
    if x is None:
        return "\u2013"
    if x <= 0:
        return "0 days"
    if x < 1 / 24:
        return "under an hour"
    if x < 1:
        hours = round(x * 24)
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if x < 10:
        text = f"{x:.1f}".rstrip("0").rstrip(".")
        return f"{text} day" + ("s" if text != "1" else "")
    return f"{x:.0f} days"


def plural(n: int, word: str) -> str:
    """``n`` with thousands separators and ``word``, plural unless n == 1."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def pain_points(stage: MapStage, kpis: dict[int, StageKpis], labels: dict[int, str],
                problems: dict[str, Any], min_customers: int, n_stages: int) -> list[str]:
    """Drop-off, time to the next stage, errors, support contacts and poor ratings of a stage.

    The drop-off sentence is tagged :data:`DROP_TAG` and the time sentence :data:`SLOW_TAG`; the
    builder marks the largest and slowest across stages and removes the tags.
    """
    k, i = stage.kpis, stage.index
    out: list[str] = []
    nxt = labels.get(i + 1)
    if nxt is not None and k.customers and k.dropped:
        out.append(f"{DROP_TAG}{k.dropped:,} of {plural(k.customers, 'customer')} ({pct(k.dropped / k.customers)}) "
                   f"did not move on from {stage.label} to {nxt}.")
    if nxt is not None and k.median_days_to_next:
        p90 = f" (p90 {days(k.p90_days_to_next)})" if k.p90_days_to_next is not None else ""
        out.append(f"{SLOW_TAG}It takes a median {days(k.median_days_to_next)} to move on "
                   f"from {stage.label} to {nxt}{p90}.")
    out.extend(_error_sentences(stage, problems, min_customers))
    support = problems.get("support")
    if support and support["customers"] and (support["customers"] >= min_customers
                                             or (k.customers and support["customers"] / k.customers >= 0.05)):
        topics = sorted(problems.get("topics", []), key=lambda r: (-r["customers"], r["topic"]))
        top = f"; top topic {topics[0]['topic']} ({plural(topics[0]['customers'], 'customer')})" if topics else ""
        share = f" ({pct(support['customers'] / k.customers)} of {stage.label})" if k.customers else ""
        out.append(f"{plural(support['customers'], 'customer')}{share} contacted support "
                   f"({plural(support['count'], 'contact')}){top}.")
    em = stage.emotions
    if em.nps is not None and em.nps < 0:
        out.append(f"NPS is {em.nps:+.0f} here: {em.detractors:,} detractors vs {em.promoters:,} promoters "
                   f"(of {plural(em.nps_count, 'answer')}).")
    if em.rating is not None and em.rating < 3.5:
        out.append(f"Reviews average only {em.rating:.1f} / 5 (of {plural(em.rating_count, 'review')}).")
    return out


def _error_sentences(stage: MapStage, problems: dict[str, Any], min_customers: int) -> list[str]:
    out = []
    codes = problems.get("codes", [])
    by_device = problems.get("by_family_device", [])
    for fam in sorted(problems.get("by_family", []), key=lambda r: (-r["failed"], r["family"])):
        if not fam["failed"]:
            continue
        error = fam["family"]
        mine = sorted((c for c in codes if c["event"] == error and c["error_code"]),
                      key=lambda c: (-c["customers"], c["error_code"]))
        code = f" ({mine[0]['error_code']})" if mine else ""
        attempts = problems.get("attempt_names", {}).get(error)
        if fam["attempted"]:
            overall = fam["failed_after_attempt"] / fam["attempted"]
            devices = [d for d in by_device if d["family"] == error and d["device"]
                       and d["attempted"] >= min_customers]
            worst = max(devices, key=lambda d: (d["failed_after_attempt"] / d["attempted"], d["attempted"]),
                        default=None)
            who = f"customers with {attempts}" if attempts else "customers who tried"
            if worst is not None and len(devices) > 1 and worst["failed_after_attempt"] / worst["attempted"] >= 1.5 * overall:
                out.append(f"{pct(worst['failed_after_attempt'] / worst['attempted'])} of {who} on "
                           f"{worst['device']} hit {error}{code}: {worst['failed_after_attempt']:,} of "
                           f"{worst['attempted']:,} (all devices: {pct(overall)}).")
            elif fam["attempted"] >= min_customers or fam["failed"] >= min_customers:
                out.append(f"{pct(overall)} of {who} hit {error}{code}: "
                           f"{fam['failed_after_attempt']:,} of {fam['attempted']:,}.")
        elif stage.kpis.customers:
            out.append(f"{plural(fam['failed'], 'customer')} ({pct(fam['failed'] / stage.kpis.customers)} of "
                       f"{stage.label}) hit {error}{code}.")
    return out


def opportunities(stage: MapStage, labels: dict[int, str], best_content: list[ContentItem],
                  channels: list[LaneItem], min_customers: int, n_stages: int,
                  active_conversion: float | None = None) -> list[str]:
    """Content with the best uplift, the channel converting best to the next stage (against
    ``active_conversion``: the share of customers with touchpoints in the stage who moved on), promoters."""
    out: list[str] = []
    nxt = labels.get(stage.index + 1)
    if nxt is not None:
        for item in best_content[:2]:
            lift = f" ({item.lift:.1f}\u00d7 as often)" if item.lift else ""
            out.append(f"Customers who viewed \u201c{item.display}\u201d moved on to {nxt} at "
                       f"{pct(item.rate_with)} vs {pct(item.rate_without)} of those who did not{lift}; "
                       f"{plural(item.customers, 'viewer')}.")
        overall = active_conversion
        enough = max(min_customers, round(0.02 * stage.kpis.customers))
        good = [c for c in channels if c.customers >= enough and c.conversion_to_next is not None
                and overall is not None and c.conversion_to_next > overall]
        if good:
            best = max(good, key=lambda c: (c.conversion_to_next, c.customers))
            out.append(f"Customers reached via {best.name} moved on to {nxt} at {pct(best.conversion_to_next)} "
                       f"vs {pct(overall)} of all customers active in {stage.label} "
                       f"({plural(best.customers, 'customer')}).")
    em = stage.emotions
    if em.nps is not None and em.nps >= 30 and em.promoters:
        out.append(f"{plural(em.promoters, 'promoter')} (NPS {em.nps:+.0f}): ask them for a review or a referral.")
    return out
