"""The paths commands of the CLI (same API as Python)."""

from __future__ import annotations
