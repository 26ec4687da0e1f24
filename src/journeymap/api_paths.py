"""The paths part of :class:`journeymap.Journeymap` (see :mod:`journeymap.api_behaviour` for the shared helpers)."""

from __future__ import annotations

__all__ = ["PathsMixin"]


class PathsMixin:
    """Methods of :class:`~journeymap.Journeymap` about paths."""
