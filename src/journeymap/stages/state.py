"""Stage history kept in the embedded store, brought up to date incrementally.

The store keeps ``stage_history`` (:data:`~journeymap.stages.assign.HISTORY_COLUMNS`), the
loads it has seen (``stage_loads``) and a copy of the identity map it was computed with
(``stage_identity``). A refresh recomputes only the customers that changed: those with
touchpoints from new loads, and those whose identifiers moved (a merge or a split by identity
stitching: the old and the new customer ids). Everyone else keeps their rows. A different
stage model (any change to stages, rules or regression) recomputes everyone.

>>> import journeymap
>>> from journeymap.demo import DemoSpec, write_demo_files
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> files = write_demo_files(folder, DemoSpec(customers=300, seed=3))
>>> jm = journeymap.open(":memory:")
>>> _ = jm.load(folder / "events")
>>> first = jm.refresh_stages()
>>> (first.full, first.customers_recomputed == first.customers)
(True, True)
>>> jm.refresh_stages().customers_recomputed
0
>>> jm.close()
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass

from .assign import HISTORY_COLUMNS, stage_history
from .model import StageModel
from .rules import stage_triggers

__all__ = ["StageRefresh", "model_fingerprint", "refresh_stage_history"]

_DDL = {
    "stage_history": """CREATE TABLE IF NOT EXISTS stage_history (customer_id VARCHAR, stage VARCHAR,
        stage_index BIGINT, entered_at TIMESTAMPTZ, trigger_event_id VARCHAR, trigger_event VARCHAR,
        skipped BOOLEAN, exited_at TIMESTAMPTZ, exit_event_id VARCHAR, last_held_at TIMESTAMPTZ)""",
    "stage_loads": "CREATE TABLE IF NOT EXISTS stage_loads (load_id VARCHAR)",
    "stage_identity": "CREATE TABLE IF NOT EXISTS stage_identity (id_type VARCHAR, id_value VARCHAR, customer_id VARCHAR)",
}


@dataclass
class StageRefresh:
    """What a refresh did."""

    full: bool
    customers: int
    customers_recomputed: int
    new_loads: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def model_fingerprint(model: StageModel) -> str:
    """Changes whenever anything that decides stage entries changes."""
    return hashlib.sha256(repr((model.stages, model.regression)).encode()).hexdigest()[:16]


def _run(con, sql: str, params: list | None = None) -> list:
    """Execute and drain, so the connection is free for the Ibis backend that shares it."""
    return con.execute(sql, params or []).fetchall()


_IDENTITY_PRINT = "SELECT count(*) || ':' || coalesce(sum(hash(id_type, id_value, customer_id)), 0) FROM {table}"


def _meta(con, key: str) -> str | None:
    row = next(iter(_run(con, "SELECT value FROM meta WHERE key = ?", [key])), None)
    return row[0] if row else None


def _customers(con) -> int:
    return _run(con, "SELECT count(*) FROM stage_history WHERE stage_index = 0")[0][0]  # everyone enters stage 0


def refresh_stage_history(store, backend, model: StageModel) -> StageRefresh:
    """Bring ``stage_history`` in ``store`` up to date with its events for ``model``."""
    started = time.perf_counter()
    con = store.con
    for ddl in _DDL.values():
        _run(con, ddl)
    fingerprint = model_fingerprint(model)
    full = _meta(con, "stage_model") != fingerprint
    identity_print = _run(con, _IDENTITY_PRINT.format(table="identity_map"))[0][0]
    events = backend.table("events")
    if full:
        history = stage_history(stage_triggers(events, model), model).select(*HISTORY_COLUMNS)
        # written once, straight into place (the old history is replaced when it is complete)
        _run(con, f"CREATE OR REPLACE TABLE stage_history AS {backend.compile(history)}")
        _run(con, "BEGIN TRANSACTION")
        new_loads = _run(con, "SELECT count(*) FROM loads")[0][0]
        recomputed = _customers(con)
    else:
        new_loads = _run(con, "SELECT count(*) FROM loads WHERE load_id NOT IN (SELECT load_id FROM stage_loads)"
                         )[0][0]
        moved = identity_print != _meta(con, "stage_identity")
        if not new_loads and not moved:  # nothing happened since the last refresh
            return StageRefresh(False, _customers(con), 0, 0, round(time.perf_counter() - started, 3))
        identity_diff = """
            UNION SELECT customer_id FROM (SELECT * FROM identity_map EXCEPT SELECT * FROM stage_identity)
            UNION SELECT customer_id FROM (SELECT * FROM stage_identity EXCEPT SELECT * FROM identity_map)"""
        _run(con, f"""CREATE OR REPLACE TEMP TABLE _stage_changed AS
            SELECT DISTINCT customer_id FROM events
              WHERE load_id IN (SELECT load_id FROM loads EXCEPT SELECT load_id FROM stage_loads)
            {identity_diff if moved else ""}""")
        recomputed = _run(con, "SELECT count(*) FROM _stage_changed")[0][0]
        if recomputed:
            changed = backend.table("_stage_changed")
            history = stage_history(stage_triggers(events.semi_join(changed, "customer_id"), model), model)
            backend.create_table("_stage_new", history.select(*HISTORY_COLUMNS), overwrite=True, temp=True)
        _run(con, "BEGIN TRANSACTION")
        if recomputed:
            _run(con, "DELETE FROM stage_history WHERE customer_id IN (SELECT customer_id FROM _stage_changed)")
            _run(con, "INSERT INTO stage_history SELECT * FROM _stage_new")
    _run(con, "CREATE OR REPLACE TABLE stage_loads AS SELECT load_id FROM loads")
    _run(con, "CREATE OR REPLACE TABLE stage_identity AS SELECT id_type, id_value, customer_id FROM identity_map")
    _run(con, "INSERT OR REPLACE INTO meta VALUES ('stage_model', ?)", [fingerprint])
    _run(con, "INSERT OR REPLACE INTO meta VALUES ('stage_identity', ?)", [identity_print])
    _run(con, "COMMIT")
    _run(con, "DROP TABLE IF EXISTS _stage_new")
    return StageRefresh(full, _customers(con), recomputed, new_loads, round(time.perf_counter() - started, 3))
