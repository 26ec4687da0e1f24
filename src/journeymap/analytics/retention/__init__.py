"""Retention, lifecycle, stickiness and repeat purchases: pure functions, Ibis tables in and out.

Every analytic reads an event log (:func:`journeymap.analytics.steps.event_log`, with stage
entries as ``stage:NAME`` events when a step is a stage) and first reduces it to one row per
customer and period (:func:`~journeymap.analytics.retention.activity.activity`), which is small.
Periods are hour, day, week or month in UTC; weeks start on Monday
(:mod:`~journeymap.analytics.retention.periods`).

- :func:`retention_table` (:mod:`.cohorts`): cohort x period retention, PostHog's model;
- :func:`lifecycle_table` (:mod:`.lifecycle`): new / returning / resurrecting / dormant;
- :func:`stickiness_table` (:mod:`.stickiness`): customers by number of active periods;
- :func:`repeat_purchase_summary`, :func:`purchase_count_distribution` (:mod:`.purchases`).
"""

from .cohorts import COHORT_TYPES, COUNTING, RELATIVE_TO, RETENTION_COLUMNS, check_choice, check_periods, \
    retention_table
from .lifecycle import LIFECYCLE_COLUMNS, LIFECYCLE_STATUSES, lifecycle_table
from .periods import PERIODS, check_period, period_number, period_number_of, period_start
from .purchases import DISTRIBUTION_COLUMNS, SUMMARY_COLUMNS, purchase_count_distribution, purchases, \
    repeat_purchase_summary
from .stickiness import STICKINESS_COLUMNS, WITHIN, stickiness_table

__all__ = ["COHORT_TYPES", "COUNTING", "DISTRIBUTION_COLUMNS", "LIFECYCLE_COLUMNS", "LIFECYCLE_STATUSES", "PERIODS",
           "RELATIVE_TO", "RETENTION_COLUMNS", "STICKINESS_COLUMNS", "SUMMARY_COLUMNS", "WITHIN", "check_choice",
           "check_period", "check_periods", "lifecycle_table", "period_number", "period_number_of", "period_start",
           "purchase_count_distribution", "purchases", "repeat_purchase_summary", "retention_table",
           "stickiness_table"]
