"""Render a :class:`~journeymap.mapview.model.JourneyMap` as one self-contained HTML file.

Stages are columns, lanes are rows with a row header. Everything is inline: CSS in a
``<style>`` element, charts as inline SVG, no scripts, no fonts or images fetched from
anywhere, so the file opens offline and prints (A3 landscape). Every string that comes from
data (stage labels, event names, channels, titles, URLs) is HTML-escaped.

>>> from journeymap.mapview.model import JourneyMap, MapStage, StageKpis
>>> stage = MapStage(name="s", label="<script>alert(1)</script>", index=0, description="",
...                  kpis=StageKpis(customers=1, share=1.0))
>>> page = render_html(JourneyMap(title="Map", subtitle="", stages=[stage]))
>>> "<script>alert" in page, "&lt;script&gt;alert(1)&lt;/script&gt;" in page
(False, True)
"""

from __future__ import annotations

import re
from html import escape
from typing import Iterable

from .model import ContentItem, Emotions, JourneyMap, LaneItem, MapStage
from .text import days, pct

__all__ = ["CHANNEL_COLOURS", "STAGE_COLOURS", "render_fragment", "render_html"]

#: Stage header colours, in stage order (repeats after eight stages).
STAGE_COLOURS = ("#2f6db5", "#1f9a8a", "#5a9a2a", "#d99a1e", "#d4602f", "#8a56b0", "#3f7f95", "#b5527a")
#: Channel colours, given to channels in order of their share of all touchpoints on the map.
CHANNEL_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                   "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295")

#: Emotion points resting on fewer answers than this are drawn hollow and say so.
SMALL_SAMPLE = 30

LANES = (
    ("description", "Goal &amp; mindset", "What the customer wants at this stage"),
    ("kpis", "KPIs", "Customers, conversion to the next stage, time in stage"),
    ("actions", "Actions", "Top tracked events while in the stage"),
    ("touchpoints", "Touchpoints", "Channel mix of touchpoints while in the stage"),
    ("content", "Content", "Top pages and screens viewed while in the stage"),
    ("emotions", "Emotions", "Review rating, NPS and review sentiment"),
    ("pain_points", "Pain points", "Drop-offs, slow steps, errors, support contacts"),
    ("opportunities", "Opportunities", "Content and channels that move customers on"),
)

CSS = """
.jm-map{--ink:#1d2733;--muted:#5d6b7a;--line:#e3e8ee;--pain:#c5362b;--pain-bg:#fdf0ee;--opp:#17804a;
 --opp-bg:#ecf7f0;font-family:"Helvetica Neue",Helvetica,Arial,"Liberation Sans","DejaVu Sans",sans-serif;
 color:var(--ink);background:#fff;font-size:13px;line-height:1.4;padding:28px 32px;box-sizing:border-box}
.jm-map *{box-sizing:border-box}
.jm-head{display:flex;justify-content:space-between;align-items:flex-end;gap:24px;
 border-bottom:3px solid var(--ink);padding-bottom:12px;margin-bottom:18px}
.jm-head h1{font-size:30px;margin:0;letter-spacing:-.5px}
.jm-head .jm-sub{font-size:15px;color:var(--muted);margin-top:4px}
.jm-meta{text-align:right;color:var(--muted);font-size:12px}
.jm-grid{display:grid;grid-template-columns:150px repeat(var(--n),minmax(190px,1fr));column-gap:10px}
.jm-rowhead{padding:12px 10px 12px 0;border-top:1px solid var(--line)}
.jm-rowhead b{display:block;font-size:13px;text-transform:uppercase;letter-spacing:.6px}
.jm-rowhead span{display:block;color:var(--muted);font-size:11px;margin-top:2px}
.jm-cell{padding:12px 2px;border-top:1px solid var(--line);min-width:0;overflow-wrap:anywhere}
.jm-stage{position:relative;color:#fff;padding:12px 14px 12px 22px;margin-bottom:6px;min-width:0;
 clip-path:polygon(0 0,calc(100% - 14px) 0,100% 50%,calc(100% - 14px) 100%,0 100%,12px 50%)}
.jm-stage.jm-first{clip-path:polygon(0 0,calc(100% - 14px) 0,100% 50%,calc(100% - 14px) 100%,0 100%);
 padding-left:14px}
.jm-stage .jm-no{font-size:11px;opacity:.85;text-transform:uppercase;letter-spacing:.8px}
.jm-stage .jm-label{font-size:18px;font-weight:700;line-height:1.2}
.jm-stage .jm-count{font-size:12px;opacity:.95}
.jm-desc{font-style:italic;color:#34414f}
.jm-kpis{display:grid;grid-template-columns:1fr 1fr;gap:6px}
.jm-kpi{background:#f5f7fa;border-radius:6px;padding:6px 8px}
.jm-kpi b{display:block;font-size:17px;line-height:1.2}
.jm-kpi span{font-size:11px;color:var(--muted)}
.jm-bar{height:6px;background:#eef1f5;border-radius:3px;overflow:hidden;margin:3px 0 2px}
.jm-bar i{display:block;height:100%;border-radius:3px}
.jm-list{list-style:none;margin:0;padding:0}
.jm-list li{margin:0 0 7px}
.jm-name{font-weight:600;display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.jm-num{color:var(--muted);font-size:11px}
.jm-mix{display:flex;height:14px;border-radius:3px;overflow:hidden;margin-bottom:8px}
.jm-mix i{display:block;height:100%}
.jm-sw{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:5px;vertical-align:0}
.jm-badge{display:inline-block;font-size:11px;font-weight:700;padding:0 5px;border-radius:8px;margin-left:4px}
.jm-up{background:var(--opp-bg);color:var(--opp)}
.jm-down{background:var(--pain-bg);color:var(--pain)}
.jm-flat{background:#eef1f5;color:var(--muted)}
.jm-curve{grid-column:2/-1;border-top:1px solid var(--line);padding-top:6px}
.jm-curve svg{display:block;width:100%;height:150px;overflow:visible}
.jm-emo b{font-size:15px}
.jm-nodata{color:#9aa5b1;font-style:italic}
.jm-note{border-radius:6px;padding:7px 9px;margin:0 0 7px;font-size:12.5px}
.jm-pain{background:var(--pain-bg);border-left:4px solid var(--pain)}
.jm-opp{background:var(--opp-bg);border-left:4px solid var(--opp)}
.jm-foot{margin-top:20px;padding-top:12px;border-top:3px solid var(--ink);display:flex;flex-wrap:wrap;
 gap:8px 26px;color:var(--muted);font-size:11.5px}
.jm-foot .jm-key{display:inline-flex;align-items:center;gap:6px}
.jm-foot .jm-box{display:inline-block;width:22px;height:12px;border-radius:3px}
.jm-foot p{margin:0;flex-basis:100%}
@media print{@page{size:A3 landscape;margin:10mm}.jm-map{padding:0}}
"""


def _e(value: object) -> str:
    """HTML-escape any value (quotes too, so it is safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def _num(n: int | None) -> str:
    return "\u2013" if n is None else f"{n:,}"


def _bar(share: float | None, colour: str) -> str:
    width = max(0.0, min(1.0, share or 0.0)) * 100
    return f'<div class="jm-bar"><i style="width:{width:.1f}%;background:{colour}"></i></div>'


def _channel_colours(jm: JourneyMap) -> dict[str, str]:
    totals: dict[str, int] = {}
    for stage in jm.stages:
        for item in stage.touchpoints:
            totals[item.name] = totals.get(item.name, 0) + item.count
    order = sorted(totals, key=lambda c: (-totals[c], c))
    return {c: CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)] for i, c in enumerate(order)}


def _stage_header(stage: MapStage, colour: str, first: bool) -> str:
    cls = "jm-stage jm-first" if first else "jm-stage"
    return (f'<div class="{cls}" style="background:{colour}"><div class="jm-no">Stage {stage.index + 1}</div>'
            f'<div class="jm-label">{_e(stage.label)}</div>'
            f'<div class="jm-count">{_num(stage.kpis.customers)} customers \u00b7 {pct(stage.kpis.share)}</div></div>')


def _kpis(stage: MapStage, last: bool) -> str:
    k = stage.kpis
    tiles = [(_num(k.customers), "customers")]
    if not last:
        tiles += [(pct(k.conversion_to_next), "move on to the next stage"),
                  (days(k.median_days_to_next), "median time to the next stage")]
    else:
        tiles += [(_num(k.current), "here now")]
    tiles.append((days(k.median_days_in_stage), "median time in stage"))
    if not last:
        tiles.append((_num(k.current), "still here"))
    tiles.append((_num(k.skipped), "skipped it"))
    body = "".join(f'<div class="jm-kpi"><b>{_e(v)}</b><span>{_e(label)}</span></div>' for v, label in tiles)
    return f'<div class="jm-kpis">{body}</div>'


def _actions(items: list[LaneItem], colour: str) -> str:
    if not items:
        return '<span class="jm-nodata">No tracked actions</span>'
    rows = []
    for a in items:
        rows.append(f'<li><span class="jm-name" title="{_e(a.name)}">{_e(a.name)}</span>{_bar(a.share, colour)}'
                    f'<span class="jm-num">{_num(a.customers)} customers ({pct(a.share)}) \u00b7 '
                    f'{_num(a.count)}\u00d7</span></li>')
    return f'<ul class="jm-list">{"".join(rows)}</ul>'


def _touchpoints(items: list[LaneItem], colours: dict[str, str]) -> str:
    if not items:
        return '<span class="jm-nodata">No touchpoints</span>'
    rest = max(0.0, 1.0 - sum(i.share or 0 for i in items))
    segments = "".join(f'<i style="width:{(i.share or 0) * 100:.2f}%;background:{colours.get(i.name, "#999")}" '
                       f'title="{_e(i.name)} {pct(i.share)}"></i>' for i in items)
    if rest > 0.0005:
        segments += f'<i style="width:{rest * 100:.2f}%;background:#d5dbe2" title="other {pct(rest)}"></i>'
    rows = "".join(
        f'<li><span class="jm-name" title="{_e(i.name)}"><span class="jm-sw" '
        f'style="background:{colours.get(i.name, "#999")}"></span>{_e(i.name)} '
        f'<span class="jm-num">{pct(i.share)}</span></span><span class="jm-num">{_num(i.count)} touchpoints'
        + (f" \u00b7 {pct(i.conversion_to_next)} move on" if i.conversion_to_next is not None else "")
        + "</span></li>" for i in items)
    return f'<div class="jm-mix">{segments}</div><ul class="jm-list">{rows}</ul>'


def _content(items: list[ContentItem]) -> str:
    if not items:
        return '<span class="jm-nodata">No pages or screens</span>'
    rows = []
    for c in items:
        badge = ""
        if c.uplift is not None:
            sure = c.uplift_low is not None and c.uplift_high is not None
            cls = "jm-up" if sure and c.uplift_low > 0 else "jm-down" if sure and c.uplift_high < 0 else "jm-flat"
            interval = (f" (95% CI {c.uplift_low * 100:+.0f} to {c.uplift_high * 100:+.0f} pts)" if sure else "")
            badge = (f'<span class="jm-badge {cls}" title="moved on {pct(c.rate_with)} vs {pct(c.rate_without)}'
                     f'{interval}">{c.uplift * 100:+.0f} pts</span>')
        rows.append(f'<li><span class="jm-name" title="{_e(c.path or c.content_id)}">{_e(c.display)}</span>'
                    f'<span class="jm-num">{_num(c.views)} views \u00b7 {_num(c.customers)} customers</span>'
                    f'{badge}</li>')
    return f'<ul class="jm-list">{"".join(rows)}</ul>'


def _emotion_cell(em: Emotions) -> str:
    if not em.has_data:
        return '<span class="jm-nodata">No data (no reviews, NPS answers or review texts here)</span>'
    parts = []
    if em.rating is not None:
        parts.append(f'<li><b>\u2605 {em.rating:.1f}</b> / 5 <span class="jm-num">rating \u00b7 '
                     f'{_num(em.rating_count)} reviews</span></li>')
    if em.nps is not None:
        parts.append(f'<li><b>NPS {em.nps:+.0f}</b> <span class="jm-num">{_num(em.nps_count)} answers \u00b7 '
                     f'{_num(em.promoters)} promoters, {_num(em.detractors)} detractors</span></li>')
    if em.sentiment is not None:
        parts.append(f'<li><b>{em.sentiment:+.2f}</b> <span class="jm-num">review sentiment (\u22121..+1) \u00b7 '
                     f'{_num(em.sentiment_count)} texts</span></li>')
    return f'<ul class="jm-list jm-emo">{"".join(parts)}</ul>'


def _curve(stages: list[MapStage], colours: list[str]) -> str:
    """An SVG line of each stage's emotion score (-1..1) at the centre of its column."""
    n = len(stages)
    height, top, bottom = 150, 22, 22

    def y(score: float) -> float:
        return top + (1 - (score + 1) / 2) * (height - top - bottom)

    def x(i: int) -> str:
        return f"{(i + 0.5) / n * 100:.3f}%"

    parts = [f'<line x1="0" x2="100%" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#c9d1da" stroke-dasharray="4 4"/>',
             f'<text x="0" y="{y(1) + 4:.1f}" font-size="10" fill="#8794a1">positive</text>',
             f'<text x="0" y="{y(0) - 4:.1f}" font-size="10" fill="#8794a1">neutral</text>',
             f'<text x="0" y="{y(-1) + 4:.1f}" font-size="10" fill="#8794a1">negative</text>']
    points = [(i, s.emotions.score) for i, s in enumerate(stages) if s.emotions.score is not None]
    for (i, a), (j, b) in zip(points, points[1:]):
        dash = "" if j == i + 1 else ' stroke-dasharray="6 5"'
        parts.append(f'<line x1="{x(i)}" y1="{y(a):.1f}" x2="{x(j)}" y2="{y(b):.1f}" stroke="#1d2733" '
                     f'stroke-width="2.5"{dash}/>')
    for i, score in points:
        em = stages[i].emotions
        answers = max(em.rating_count, em.nps_count, em.sentiment_count)
        fill = "#17804a" if score > 0.1 else "#c5362b" if score < -0.1 else "#8794a1"
        small = answers < SMALL_SAMPLE
        ring = f'fill="#fff" stroke="{fill}" stroke-width="2.5"' if small else f'fill="{fill}" stroke="#fff" stroke-width="2"'
        parts.append(f'<circle cx="{x(i)}" cy="{y(score):.1f}" r="7" {ring}/>')
        label_y = y(score) - 13 if score < 0.55 else y(score) + 24
        note = f" (only {answers})" if small else ""
        parts.append(f'<text x="{x(i)}" y="{label_y:.1f}" text-anchor="middle" font-size="13" font-weight="700" '
                     f'fill="{fill}">{score:+.2f}{note}</text>')
    for i, s in enumerate(stages):
        if s.emotions.score is None:
            parts.append(f'<text x="{x(i)}" y="{y(0) + 16:.1f}" text-anchor="middle" font-size="11" '
                         f'fill="#9aa5b1" font-style="italic">no data</text>')
    return (f'<div class="jm-curve"><svg role="img" aria-label="Emotion score by stage" '
            f'>{"".join(parts)}</svg></div>')


_NUMBER = re.compile(r"(?<![A-Za-z_\d])([+\u2212-]?\d[\d,.]*(?:%|\u00d7| pts)?)")


def _emphasise_numbers(sentence: str) -> str:
    """Escape ``sentence`` and set its numbers in bold (split first, so entities stay whole)."""
    pieces = _NUMBER.split(sentence)
    return "".join(f"<b>{_e(p)}</b>" if i % 2 else _e(p) for i, p in enumerate(pieces))


def _notes(sentences: Iterable[str], cls: str, empty: str) -> str:
    items = [f'<div class="jm-note {cls}">{_emphasise_numbers(s)}</div>' for s in sentences]
    return "".join(items) or f'<span class="jm-nodata">{_e(empty)}</span>'


def render_fragment(jm: JourneyMap) -> str:
    """The map as one ``<div>`` with its own ``<style>`` (for Jupyter and for embedding)."""
    n = len(jm.stages)
    colours = [STAGE_COLOURS[i % len(STAGE_COLOURS)] for i in range(n)]
    channel_colours = _channel_colours(jm)
    out = [f'<div class="jm-map"><style>{CSS}</style>']
    meta = []
    if jm.model_name:
        meta.append(f"Stage model: {_e(jm.model_name)}")
    if jm.as_of is not None:
        meta.append(f"As of {jm.as_of:%d %b %Y}")
    meta.append(f"{jm.touchpoints:,} touchpoints")
    out.append(f'<header class="jm-head"><div><h1>{_e(jm.title)}</h1><div class="jm-sub">{_e(jm.subtitle)}</div>'
               f'</div><div class="jm-meta">{"<br>".join(meta)}</div></header>')
    out.append(f'<div class="jm-grid" style="--n:{n}">')
    out.append('<div></div>')
    out.extend(_stage_header(s, colours[i], i == 0) for i, s in enumerate(jm.stages))
    for lane, name, help_text in LANES:
        out.append(f'<div class="jm-rowhead"><b>{name}</b><span>{help_text}</span></div>')
        if lane == "emotions":
            out.append(_curve(jm.stages, colours))
            out.append('<div></div>')
        for i, s in enumerate(jm.stages):
            last = i == n - 1
            if lane == "description":
                body = f'<div class="jm-desc">{_e(s.description)}</div>'
            elif lane == "kpis":
                body = _kpis(s, last)
            elif lane == "actions":
                body = _actions(s.actions, colours[i])
            elif lane == "touchpoints":
                body = _touchpoints(s.touchpoints, channel_colours)
            elif lane == "content":
                body = _content(s.content)
            elif lane == "emotions":
                body = _emotion_cell(s.emotions)
            elif lane == "pain_points":
                body = _notes(s.pain_points, "jm-pain", "None found")
            else:
                body = _notes(s.opportunities, "jm-opp", "None found")
            border = ' style="border-top:none"' if lane == "emotions" else ""
            out.append(f'<div class="jm-cell"{border}>{body}</div>')
    out.append("</div>")
    out.append(
        '<footer class="jm-foot">'
        '<span class="jm-key"><span class="jm-box" style="background:#fdf0ee;border-left:4px solid #c5362b"></span>'
        'Pain point</span>'
        '<span class="jm-key"><span class="jm-box" style="background:#ecf7f0;border-left:4px solid #17804a"></span>'
        'Opportunity</span>'
        '<span class="jm-key"><span class="jm-badge jm-up">+12 pts</span> content whose viewers moved on more '
        'often (95% interval above 0)</span>'
        '<span class="jm-key"><svg width="16" height="16"><circle cx="8" cy="8" r="6" fill="#17804a"/></svg>'
        'Emotion score: mean of (rating \u2212 3) / 2, NPS / 100 and review sentiment, \u22121..+1'
        f' (hollow: fewer than {SMALL_SAMPLE} answers)</span>'
        '<p>A customer is in a stage from entering it until entering the next. Actions, touchpoints, content and '
        'emotions count the touchpoints made while in the stage. Conversion: customers who reached the next stage '
        '/ customers of this stage. Generated by journeymap.</p>'
        '</footer></div>')
    return "".join(out)


def render_html(jm: JourneyMap) -> str:
    """The map as a complete, self-contained HTML document (no external resources, no scripts)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(jm.title)}</title><style>body{{margin:0;background:#fff}}</style></head><body>"
            f"{render_fragment(jm)}</body></html>\n")
