"""The content catalogue: one row per content item (page or app screen) seen in the touchpoints.

A content item is identified by its **content_id**: the URL lower-cased, without query and
fragment and without trailing slashes, with an ``http://`` or ``https://`` scheme dropped (so
the host stays, and the same page over http and https is one item); other schemes are kept
(``app://trailhead/orders`` stays as it is). A bare path (``/guides/tent``) is its own id.
Touchpoints without a URL are not content.

>>> import ibis
>>> from datetime import datetime, timezone
>>> ts = [datetime(2025, 1, d, tzinfo=timezone.utc) for d in (1, 2, 3, 4)]
>>> events = ibis.memtable({
...     "event_id": ["e1", "e2", "e3", "e4"], "timestamp": ts,
...     "type": ["page", "page", "screen", "track"], "event": ["page_view", "page_view", "screen_view", "add"],
...     "customer_id": ["c1", "c2", "c1", "c1"],
...     "url": ["https://Shop.example/Guides/Tent/?utm_source=x", "http://shop.example/guides/tent#top",
...             "app://shop/orders", "https://shop.example/cart"],
...     "page_title": ["How to choose a tent", "How to choose a tent", "Orders", None],
...     "properties": ['{"tags": ["tents", "Guides"]}', None, None, None]})
>>> content_catalogue(events).select("content_id", "path", "views", "customers", "tags").to_pyarrow().to_pylist()
... # doctest: +NORMALIZE_WHITESPACE
[{'content_id': 'shop.example/guides/tent', 'path': '/guides/tent', 'views': 2, 'customers': 2,
  'tags': 'guides, tents'},
 {'content_id': 'app://shop/orders', 'path': '/orders', 'views': 1, 'customers': 1, 'tags': None}]
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from ...errors import InputError
from ...touchpoints import url_path

__all__ = ["CONTENT_TYPES", "content_catalogue", "content_id", "content_views", "require_columns"]

#: Message types that are content views.
CONTENT_TYPES: tuple[str, ...] = ("page", "screen")

_NO_QUERY = r"^([^?#]*)"


def require_columns(table: ir.Table, columns: tuple[str, ...], what: str, hint: str) -> None:
    """Raise :class:`~journeymap.errors.InputError` naming the first column ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{what} has no column '{missing[0]}' (needs: {', '.join(columns)})",
                         column=missing[0], hint=hint)


def content_id(url: ir.StringValue) -> ir.StringValue:
    """The content id of a URL (see the module docs); NULL for a NULL or empty URL.

    >>> import ibis
    >>> t = ibis.memtable({"u": ["HTTPS://www.X.example/Blog/A/?q=1#f", "https://www.x.example/", "/a/b/",
    ...                          "app://shop/Home", "", None]})
    >>> t.select(id=content_id(t.u)).to_pyarrow().column("id").to_pylist()
    ['www.x.example/blog/a', 'www.x.example', '/a/b', 'app://shop/home', None, None]
    """
    stripped = url.lower().re_extract(_NO_QUERY, 1).re_replace(r"^https?://", "").re_replace(r"/+$", "")
    bare_root = url.lower().re_extract(_NO_QUERY, 1).re_search(r"^/+$")
    return ibis.ifelse(bare_root, "/", stripped.nullif(""))


def content_views(events: ir.Table) -> ir.Table:
    """Page and screen touchpoints that have a URL, with their ``content_id``.

    Columns: event_id, customer_id, timestamp, content_id, url (without query and fragment),
    page_title (NULL if the events have none), properties (NULL if the events have none).
    """
    require_columns(events, ("event_id", "timestamp", "type", "customer_id", "url"), "the events table",
                    "pass the store's events (journeymap.open(...).events()) or a table with the canonical "
                    "columns of journeymap.schema")
    views = events.filter(events.type.isin(CONTENT_TYPES), events.customer_id.notnull())
    title = views.page_title.cast("string") if "page_title" in views.columns else ibis.null("string")
    props = views.properties.cast("string") if "properties" in views.columns else ibis.null("string")
    out = views.select(
        event_id=views.event_id.cast("string"), customer_id=views.customer_id.cast("string"),
        timestamp=views.timestamp, content_id=content_id(views.url.cast("string")),
        url=views.url.cast("string").re_extract(_NO_QUERY, 1), page_title=title.nullif(""), properties=props,
    )
    return out.filter(out.content_id.notnull())


def _most_common(views: ir.Table, column: str) -> ir.Table:
    """content_id -> the most common non-NULL value of ``column``; ties -> the smallest value."""
    counts = views.filter(views[column].notnull()).group_by(["content_id", column]).aggregate(n=ibis._.count())
    ranked = counts.mutate(rank=ibis.row_number().over(
        group_by="content_id", order_by=[ibis.desc("n"), ibis.asc(column)]))
    return ranked.filter(ranked["rank"] == 0).select("content_id", column)


def _tags(views: ir.Table) -> ir.Table:
    """content_id -> its distinct tags, sorted and joined with ', ' (lower-cased, trimmed).

    Tags come from ``properties.tags`` (a JSON string or list of strings) and
    ``properties.category`` (a string).
    """
    props = views.properties
    raw_tags = props.re_extract(r'"tags"\s*:\s*(\[[^\]]*\]|"[^"]*")', 1).nullif("")
    raw_category = props.re_extract(r'"category"\s*:\s*("[^"]*")', 1).nullif("")
    both = views.select("content_id", raw=ibis.coalesce(raw_tags, "").concat(",", ibis.coalesce(raw_category, "")))
    both = both.filter(both.raw != ",")
    cleaned = both.raw.re_replace(r'[\[\]"]', "")
    exploded = both.select("content_id", tag=cleaned.split(",").unnest())
    exploded = exploded.mutate(tag=exploded.tag.strip().lower())
    distinct = exploded.filter(exploded.tag != "").distinct()
    grouped = distinct.group_by("content_id").aggregate(tag_list=distinct.tag.collect())
    return grouped.select("content_id", tags=grouped.tag_list.sort().join(", "))


def content_catalogue(events: ir.Table) -> ir.Table:
    """One row per content item seen in page and screen touchpoints.

    Columns:

    - ``content_id``: the normalised URL (see the module docs)
    - ``url``: the most common full URL of the item without query and fragment (original case)
    - ``path``: the lower-cased path (host dropped), which the stage model's content globs match
    - ``title``: the most common non-empty ``page_title`` (NULL if it never had one)
    - ``tags``: distinct ``properties.tags`` / ``properties.category`` values, lower-cased,
      sorted, joined with ``', '`` (NULL if none)
    - ``views``: page/screen touchpoints; ``customers``: distinct customers
    - ``first_seen`` / ``last_seen``: first and last view

    Ties of the most common url or title go to the smallest value (byte order), on every backend.
    Rows are ordered by views (most first), then content_id.
    """
    views = content_views(events)
    stats = views.group_by("content_id").aggregate(
        views=views.count(), customers=views.customer_id.nunique(),
        first_seen=views.timestamp.min(), last_seen=views.timestamp.max())
    url = _most_common(views, "url")
    title = _most_common(views.mutate(title=views.page_title), "title")
    tags = _tags(views)
    out = stats.left_join(url, "content_id").left_join(title, "content_id").left_join(tags, "content_id")
    return out.select(
        stats.content_id, url.url, path=url_path(url.url), title=title.title, tags=tags.tags,
        views=stats.views.cast("int64"), customers=stats.customers.cast("int64"),
        first_seen=stats.first_seen, last_seen=stats.last_seen,
    ).order_by([ibis.desc("views"), "content_id"])
