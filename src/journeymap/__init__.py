"""journeymap: customer-journey analytics and mapping.

>>> import journeymap
>>> with journeymap.open(":memory:") as jm:
...     jm.info()["customers"]
0
"""

from .errors import (
    BackendError,
    ConfigError,
    IdentityError,
    InputError,
    JourneymapError,
    RejectThresholdExceeded,
    StoreError,
)

__version__ = "0.1.0"

# The store, the engines and the config are imported on first use (PEP 562), so importing a
# pure part such as ``journeymap.analytics.attribution`` does not load Ibis, DuckDB and pandas.
_LAZY = {
    "TABLES": "api", "Journeymap": "api", "connect": "api", "open_store": "api", "open": "api",
    "Settings": "config", "load_settings": "config", "LoadSummary": "ingest",
    "EVENT_COLUMNS": "schema", "EVENT_SCHEMA": "schema",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'journeymap' has no attribute '{name}'")
    import importlib

    module = importlib.import_module(f".{_LAZY[name]}", __name__)
    #: ``journeymap.open(path)`` opens the embedded store (the builtin ``open`` is untouched elsewhere).
    value = module.open_store if name == "open" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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
