"""Portable expressions over touchpoint columns that several parts of journeymap share.

They mean the same on DuckDB (RE2) and Spark (Java regex).

>>> import ibis
>>> t = ibis.memtable({"properties": ['{"rating": 4, "plan":"pro"}', '{"rating":"2.5"}', None],
...                    "url": ["https://shop.example/Guides/Tent/?a=1", "app://shop/orders", "/x#top"]})
>>> t.select(r=property_value(t, "rating"), p=property_value(t, "plan"), path=url_path(t.url)).to_pyarrow().to_pylist()[:2]
[{'r': '4', 'p': 'pro', 'path': '/guides/tent'}, {'r': '2.5', 'p': None, 'path': '/orders'}]
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["number", "property_value", "url_path", "whole_seconds"]

_NUMBER = r"^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$"


def property_value(events: ir.Table, key: str) -> ir.StringValue:
    r"""The flat string or number value of ``key`` in the JSON text of ``properties``, as text.

    One regular expression, so it costs no JSON parse. Limits: nested objects are not looked
    into (a KEY inside one is found too), and a string keeps its JSON escapes (``\"``, ``\n``).
    Empty strings and JSON ``null`` are NULL.

    >>> import ibis
    >>> t = ibis.memtable({"properties": ['{"text": "say \\"hi\\"", "n": null}']})
    >>> t.select(text=property_value(t, "text"), n=property_value(t, "n")).to_pyarrow().to_pylist()
    [{'text': 'say \\"hi\\"', 'n': None}]
    """
    found = events.properties.cast("string").re_extract(
        '"' + key + r'"\s*:\s*("(?:[^"\\]|\\.)*"|[-+.0-9A-Za-z]+)', 1)
    value = ibis.ifelse(found.startswith('"'), found.substr(1, found.length() - 2),
                        ibis.ifelse(found == "null", ibis.null("string"), found))
    return value.nullif("")


def number(text: ir.StringValue) -> ir.FloatingValue:
    """``text`` as a float64 where it is a plain decimal number, else NULL (never an error)."""
    return ibis.ifelse(text.re_search(_NUMBER), text.cast("float64"), ibis.null("float64"))


def url_path(url: ir.StringValue) -> ir.StringValue:
    """The lower-cased path of a URL: scheme and host, query and fragment dropped, no trailing
    slash (but '/' for the root). A bare path is kept as it is. It is what the stage model's
    ``path`` rules and ``content`` globs are matched against.

    >>> import ibis
    >>> t = ibis.memtable({"u": ["https://x.example/Shop/Tents/?a=1", "https://x.example", "app://shop/orders",
    ...                          "/guides/tent/"]})
    >>> t.select(p=url_path(t.u)).to_pyarrow().column("p").to_pylist()
    ['/shop/tents', '/', '/orders', '/guides/tent']
    """
    # lower-case only the path (shorter than the URL); the trailing-slash regex only where needed
    path = url.re_extract(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)", 1).lower()
    trimmed = ibis.ifelse(path.endswith("/"), path.re_replace(r"/+$", ""), path)  # no back-references: Spark
    return trimmed.nullif("").fill_null("/")  # and DuckDB spell them differently


def whole_seconds(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Whole seconds since the epoch: the same number on every engine (DuckDB's epoch keeps the
    fraction, Spark's does not), so day counts agree."""
    return ts.truncate("s").epoch_seconds()
