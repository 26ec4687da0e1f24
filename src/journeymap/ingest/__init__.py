"""The outside world -> canonical touchpoints: readers, column mapping, validation, loads."""

from .mapping import parse_map_option, plan_columns
from .pipeline import FileSummary, LoadSummary, run_load

__all__ = ["FileSummary", "LoadSummary", "parse_map_option", "plan_columns", "run_load"]
