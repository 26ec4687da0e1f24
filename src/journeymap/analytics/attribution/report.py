"""Credits as tables: one row per model and channel, with shares, removal effects and spend.

>>> import numpy as np
>>> from .models import Credits
>>> c = Credits(("email", "search"), np.array([1.0, 3.0]), np.array([10.0, 30.0]))
>>> rows = credit_rows([("linear", c)], "channel", spend={"email": 5.0, "search": 60.0})
>>> [(r["channel"], r["conversions"], r["share"], r["cost_per_conversion"], r["roas"]) for r in rows]
[('search', 3.0, 0.75, 20.0, 0.5), ('email', 1.0, 0.25, 5.0, 2.0)]
"""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa

from .models import Credits

__all__ = ["CREDIT_COLUMNS", "credit_rows", "credit_table"]

#: Columns of an attribution table, after the model and the level's column.
CREDIT_COLUMNS = ("conversions", "value", "share", "value_share", "removal_effect", "spend",
                  "cost_per_conversion", "roas")


def credit_rows(results: Sequence[tuple[str, Credits]], level: str, *, spend: dict[str, float] | None = None) -> list[dict]:
    """Rows (model, ``level``, conversions, value, share, value_share, removal_effect, spend,
    cost_per_conversion, roas), each model's channels by credited conversions, descending.
    Spend columns are null without ``spend``; a channel with spend and no credit has an
    infinite cost per conversion shown as null and ROAS 0."""
    rows = []
    for model, credits in results:
        total_conv = float(credits.conversions.sum())
        total_value = float(credits.value.sum())
        names = list(credits.channels)
        if spend:
            names += sorted(set(spend) - set(names))  # spend on a channel no path reached
        index = {c: i for i, c in enumerate(credits.channels)}
        block = []
        for name in names:
            i = index.get(name)
            conversions = float(credits.conversions[i]) if i is not None else 0.0
            value = float(credits.value[i]) if i is not None else 0.0
            effect = None
            if credits.removal_effect is not None and i is not None:
                effect = float(credits.removal_effect[i])
            cost = spend.get(name) if spend else None
            block.append({
                "model": model, level: name, "conversions": conversions, "value": value,
                "share": conversions / total_conv if total_conv else 0.0,
                "value_share": value / total_value if total_value else 0.0,
                "removal_effect": effect, "spend": cost,
                "cost_per_conversion": cost / conversions if cost is not None and conversions > 0 else None,
                "roas": value / cost if cost else None,
            })
        block.sort(key=lambda r: (-r["conversions"], -r["value"], r[level]))
        rows += block
    return rows


def credit_table(rows: list[dict], level: str) -> pa.Table:
    """``rows`` of :func:`credit_rows` as Arrow, typed even when empty."""
    schema = pa.schema([("model", pa.string()), (level, pa.string()), *((c, pa.float64()) for c in CREDIT_COLUMNS)])
    return pa.Table.from_pylist(rows, schema=schema)
