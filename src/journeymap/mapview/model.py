"""The customer journey map as plain data: stages as columns, lanes as rows.

A :class:`JourneyMap` holds one :class:`MapStage` per stage of the stage model, in order.
Each stage carries its lanes:

- ``description``: the customer's goal and mindset (from the stage model)
- ``kpis``: :class:`StageKpis` (customers, share of all, conversion to next, time in stage)
- ``actions``: top tracked events while in the stage (:class:`LaneItem`)
- ``touchpoints``: the channel mix of touchpoints while in the stage (:class:`LaneItem`)
- ``content``: top pages/screens viewed while in the stage (:class:`ContentItem`)
- ``emotions``: rating, NPS and review sentiment (:class:`Emotions`), or no data
- ``pain_points`` and ``opportunities``: sentences with numbers

:func:`build_journey_map` computes it from touchpoints and stage entries; the renderers in
:mod:`journeymap.mapview.html` draw it. Nothing here touches a database.

>>> stage = MapStage(name="awareness", label="Awareness", index=0, description="Looking around.",
...                  kpis=StageKpis(customers=120, share=1.0, conversion_to_next=0.25))
>>> jm = JourneyMap(title="Customer journey map", subtitle="All customers", stages=[stage])
>>> jm.stage("awareness").kpis.customers
120
>>> "Awareness" in jm.to_html()
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "ContentItem",
    "Emotions",
    "JourneyMap",
    "LaneItem",
    "MapStage",
    "StageKpis",
    "build_journey_map",
]


@dataclass
class StageKpis:
    """The numbers of one stage.

    ``share``: customers / all customers on the map; ``conversion_to_next``: customers of the
    next stage / customers of this one (None for the last stage); ``median_days_in_stage``: over
    customers who did not skip it (current customers count up to ``as_of``);
    ``median_days_to_next``: entering this stage -> entering the next, over those who moved on.
    """

    customers: int
    share: float
    conversion_to_next: float | None = None
    dropped: int | None = None
    median_days_in_stage: float | None = None
    median_days_to_next: float | None = None
    p90_days_to_next: float | None = None
    skipped: int = 0
    current: int | None = None


@dataclass
class LaneItem:
    """One row of a ranked lane: an action (event name) or a channel.

    ``count``: touchpoints; ``customers``: distinct customers; ``share``: count / the stage's
    total of this lane (touchpoints: share of touchpoints; actions: share of stage customers);
    ``conversion_to_next``: share of these customers who reached the next stage (channels).
    """

    name: str
    count: int
    customers: int
    share: float | None = None
    conversion_to_next: float | None = None


@dataclass
class ContentItem:
    """A page or screen viewed while in the stage (``views`` touchpoints by ``customers``).

    From the content-effectiveness analytics, when it has a row for the item in this stage:
    ``rate_with`` / ``rate_without``: share who reached the next stage among the stage's
    customers who viewed it / did not; ``uplift`` = rate_with - rate_without with its 95%
    interval ``uplift_low``..``uplift_high``; ``lift`` = rate_with / rate_without.
    """

    content_id: str
    path: str | None
    title: str | None
    views: int
    customers: int
    rate_with: float | None = None
    rate_without: float | None = None
    uplift: float | None = None
    uplift_low: float | None = None
    uplift_high: float | None = None
    lift: float | None = None

    @property
    def display(self) -> str:
        """The title if there is one, else the path (else the content id)."""
        return self.title or self.path or self.content_id


@dataclass
class Emotions:
    """How customers feel in a stage, with the counts behind each number.

    ``rating``: mean review rating (1-5) over ``rating_count`` reviews; ``nps`` = % promoters
    (9-10) - % detractors (0-6) over ``nps_count`` answers; ``sentiment``: mean lexicon score of
    review texts in [-1, 1] over ``sentiment_count`` texts. Each is None when there is no data.

    >>> Emotions(rating=4.0, rating_count=10, nps=20.0, nps_count=5).score
    0.35
    >>> Emotions().has_data, Emotions().score
    (False, None)
    """

    rating: float | None = None
    rating_count: int = 0
    nps: float | None = None
    nps_count: int = 0
    promoters: int = 0
    detractors: int = 0
    sentiment: float | None = None
    sentiment_count: int = 0

    @property
    def has_data(self) -> bool:
        return self.rating is not None or self.nps is not None or self.sentiment is not None

    @property
    def score(self) -> float | None:
        """One emotion score in [-1, 1] for the curve: the mean of the available parts
        ((rating - 3) / 2, NPS / 100, sentiment); None when there is no data."""
        parts = []
        if self.rating is not None:
            parts.append((self.rating - 3) / 2)
        if self.nps is not None:
            parts.append(self.nps / 100)
        if self.sentiment is not None:
            parts.append(self.sentiment)
        return round(sum(parts) / len(parts), 2) if parts else None


@dataclass
class MapStage:
    """One column of the map: a stage and its lanes."""

    name: str
    label: str
    index: int
    description: str
    kpis: StageKpis
    actions: list[LaneItem] = field(default_factory=list)
    touchpoints: list[LaneItem] = field(default_factory=list)
    content: list[ContentItem] = field(default_factory=list)
    emotions: Emotions = field(default_factory=Emotions)
    pain_points: list[str] = field(default_factory=list)
    opportunities: list[str] = field(default_factory=list)


@dataclass
class JourneyMap:
    """A customer journey map: title, subtitle (segment, date range), stages in order.

    Render it with :meth:`to_html` / :meth:`save`; in Jupyter it shows itself.
    """

    title: str
    subtitle: str
    stages: list[MapStage]
    as_of: datetime | None = None
    segment: str | None = None
    model_name: str | None = None
    customers: int = 0
    touchpoints: int = 0
    start: datetime | None = None
    end: datetime | None = None

    def stage(self, name: str) -> MapStage:
        """The stage called ``name``."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage '{name}' on this map (stages: {', '.join(s.name for s in self.stages)})")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (datetimes as ISO strings)."""
        data = asdict(self)
        for key in ("as_of", "start", "end"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        for stage, raw in zip(self.stages, data["stages"]):
            raw["emotions"]["score"] = stage.emotions.score
        return data

    def to_html(self) -> str:
        """The whole map as one self-contained HTML document."""
        from .html import render_html

        return render_html(self)

    def _repr_html_(self) -> str:
        from .html import render_fragment

        return render_fragment(self)

    def save(self, path: str | Path) -> Path:
        """Write the map as one self-contained HTML file; returns the path."""
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        return path


def build_journey_map(*args: Any, **kwargs: Any) -> JourneyMap:
    """Compute a :class:`JourneyMap`; see :func:`journeymap.mapview.builder.build_journey_map`."""
    from .builder import build_journey_map as build

    return build(*args, **kwargs)
