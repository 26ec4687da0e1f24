"""The two engines agree on a trivial aggregate (guards the fixtures themselves)."""

import pyarrow as pa

from .conftest import frame


def test_group_count_is_identical_on_both_engines(backend):
    t = backend.table("smoke", pa.table({"customer": ["a", "b", "a"], "n": [1, 2, 3]}))
    out = frame(t.group_by("customer").agg(total=t.n.sum()))
    assert out.to_dict("records") == [{"customer": "a", "total": 4}, {"customer": "b", "total": 2}]
