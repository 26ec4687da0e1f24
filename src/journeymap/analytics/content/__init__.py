"""Content consumption tells the stage: the content catalogue, content-to-stage classification,
the stage a customer's recent content indicates, and which content moves customers on.

- :func:`content_catalogue` — one row per page / app screen (content id, url, title, tags, views)
- :func:`classify_content` — each item's stage, by the stage model's URL globs, else a TF-IDF
  text classifier trained only on the stage descriptions and keywords
- :func:`content_stage_by_customer` — per customer: action stage vs recent-content stage
- :func:`content_effectiveness` — per item and stage: readers vs non-readers reaching the next
  stage, with Wilson and Newcombe 95% intervals, ranked by the uplift's lower bound

Pure functions: Ibis tables in, Ibis tables out (``docs/content.md`` has every column).
"""

from .by_customer import BY_CUSTOMER_COLUMNS, DEFAULT_RECENT, content_stage_by_customer
from .catalogue import CONTENT_TYPES, content_catalogue, content_id, content_views
from .classify import CLASSIFICATION_SCHEMA, DEFAULT_MIN_SCORE, KEYWORD_WEIGHT, classify_content, stage_scores
from .effectiveness import (CONTENT_STAGE_CHOICES, DEFAULT_MIN_CUSTOMERS, DEFAULT_VISIT_MINUTES,
                            EFFECTIVENESS_COLUMNS, content_effectiveness, newcombe_interval, wilson_interval)

__all__ = [
    "BY_CUSTOMER_COLUMNS", "CLASSIFICATION_SCHEMA", "CONTENT_STAGE_CHOICES", "CONTENT_TYPES", "DEFAULT_MIN_CUSTOMERS",
    "DEFAULT_MIN_SCORE", "DEFAULT_RECENT", "DEFAULT_VISIT_MINUTES", "EFFECTIVENESS_COLUMNS", "KEYWORD_WEIGHT",
    "classify_content", "content_catalogue", "content_effectiveness", "content_id",
    "content_stage_by_customer", "content_views", "newcombe_interval", "stage_scores", "wilson_interval",
]
