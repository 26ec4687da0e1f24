"""The customer journey map: a data model built from the analytics, and its renderers.

:func:`build_journey_map` computes a :class:`JourneyMap` (stages as columns; lanes for the
stage description, KPIs, actions, touchpoints, content, emotions, pain points and
opportunities); :func:`render_html` turns it into one self-contained HTML file;
:func:`screenshot` photographs that file with headless Chromium.
"""

from __future__ import annotations

from .html import render_html
from .model import (
    ContentItem,
    Emotions,
    JourneyMap,
    LaneItem,
    MapStage,
    StageKpis,
    build_journey_map,
)
from .screenshot import screenshot
from .sentiment import score as sentiment_score

__all__ = [
    "ContentItem",
    "Emotions",
    "JourneyMap",
    "LaneItem",
    "MapStage",
    "StageKpis",
    "build_journey_map",
    "render_html",
    "screenshot",
    "sentiment_score",
]
