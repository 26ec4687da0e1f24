"""journeymap: customer-journey analytics and mapping.

>>> import journeymap
>>> with journeymap.open(":memory:") as jm:
...     jm.info()["customers"]
0
"""

from .api import TABLES, Journeymap, connect, open_store
from .config import Settings, load_settings
from .errors import (
    BackendError,
    ConfigError,
    IdentityError,
    InputError,
    JourneymapError,
    RejectThresholdExceeded,
    StoreError,
)
from .ingest import LoadSummary
from .schema import EVENT_COLUMNS, EVENT_SCHEMA

__version__ = "0.1.0"

#: ``journeymap.open(path)`` opens the embedded store (the builtin ``open`` is untouched elsewhere).
open = open_store  # noqa: A001 - the public name the docs promise

__all__ = sorted([
    "BackendError",
    "ConfigError",
    "EVENT_COLUMNS",
    "EVENT_SCHEMA",
    "IdentityError",
    "InputError",
    "Journeymap",
    "JourneymapError",
    "LoadSummary",
    "RejectThresholdExceeded",
    "Settings",
    "StoreError",
    "TABLES",
    "connect",
    "load_settings",
    "open",
])
