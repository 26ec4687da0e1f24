"""The funnels commands of the CLI (same API as Python)."""

from __future__ import annotations
