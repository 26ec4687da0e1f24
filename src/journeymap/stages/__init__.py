"""Journey stages: stage models as data, entry rules, and stage assignment per customer."""

from .assign import (ENTRY_COLUMNS, HISTORY_COLUMNS, as_of_time, assign_stages, customer_stages, finish_entries,
                     stage_at_touchpoint, stage_history)
from .model import (COMPARISONS, PRESETS, RULE_KEYS, Stage, StageModel, load_stage_model, parse_stage,
                    preset_names)
from .rules import stage_triggers

__all__ = [
    "COMPARISONS", "ENTRY_COLUMNS", "HISTORY_COLUMNS", "PRESETS", "RULE_KEYS", "Stage", "StageModel", "as_of_time",
    "assign_stages", "customer_stages", "finish_entries", "load_stage_model", "parse_stage", "preset_names",
    "stage_at_touchpoint", "stage_history", "stage_triggers",
]
