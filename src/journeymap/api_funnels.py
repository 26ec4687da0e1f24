"""The funnels part of :class:`journeymap.Journeymap` (see :mod:`journeymap.api_behaviour` for the shared helpers)."""

from __future__ import annotations

__all__ = ["FunnelsMixin"]


class FunnelsMixin:
    """Methods of :class:`~journeymap.Journeymap` about funnels."""
