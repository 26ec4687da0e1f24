"""Which journey stage a content item serves: URL rules first, then a text classifier.

1. **URL rules.** Each stage of the model lists ``content`` path globs (``'*'`` = anything,
   ``'?'`` = one character, case-insensitive, matched against the whole lower-cased path).
   Of the globs that match an item's path, the most specific wins: the one with the most
   literal (non-wildcard) characters, ties to the earlier stage in model order. So
   ``/reviews/write`` (advocacy) beats ``/reviews/*`` (consideration) whatever their order.
   ``method = 'url_rule'``.
2. **Text classifier.** Otherwise the item's title, path words and tags are compared with each
   stage's *document*: its label, description and keywords (keywords count
   :data:`KEYWORD_WEIGHT` times). That is the only training signal, so it works on a new site
   with no labelled content. Words are lower-cased, stop words dropped (words a stage lists as
   keywords are never stop words), and reduced by a light suffix stemmer so that "choosing" and
   "choose", "reviews" and "review" meet. Each document is a TF-IDF vector (sublinear term
   frequency ``1 + ln tf``; smooth inverse document frequency ``ln((1 + N) / (1 + df)) + 1``
   over the stage documents *and* the catalogue's items, so words every page of the site
   carries weigh little); the score of a stage is the cosine similarity of the two vectors.
   The best stage wins (ties to the earlier stage), ``method = 'text'``, if its score is at
   least ``min_score``; else ``method = 'unclassified'`` and stage is NULL.

The catalogue is small (one row per distinct URL), so it is pulled to Python for this step
and the result comes back as an Ibis table (a memtable, usable with the backend's tables).

>>> from types import SimpleNamespace as S
>>> model = S(stages=(
...     S(name="learn", label="Learn", description="The visitor learns about a problem.",
...       keywords=("guide", "how"), content=("/blog/*",), index=0),
...     S(name="compare", label="Compare", description="The visitor compares options.",
...       keywords=("compare", "review", "choose"), content=(), index=1)))
>>> import ibis
>>> items = ibis.memtable({"content_id": ["x/blog/a", "x/tents", "x/sign-in"], "path": ["/blog/a", "/tents", "/sign-in"],
...                        "title": ["Anything", "Tent reviews: choosing yours", "Sign in"], "tags": [None, None, None]})
>>> classify_content(items, model).select("content_id", "stage", "method").to_pyarrow().to_pylist()
... # doctest: +NORMALIZE_WHITESPACE
[{'content_id': 'x/blog/a', 'stage': 'learn', 'method': 'url_rule'},
 {'content_id': 'x/sign-in', 'stage': None, 'method': 'unclassified'},
 {'content_id': 'x/tents', 'stage': 'compare', 'method': 'text'}]
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from typing import Any, Iterable, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from ...engine import backend_of
from ...errors import ConfigError
from ...stages.rules import glob_regex
from .catalogue import require_columns

__all__ = [
    "CLASSIFICATION_SCHEMA", "DEFAULT_MIN_SCORE", "KEYWORD_WEIGHT", "STOP_WORDS", "classify_content",
    "glob_specificity", "match_glob", "stage_scores", "stem", "tokens",
]

#: Times a stage keyword counts in the stage's document, against once for a description word.
KEYWORD_WEIGHT = 3
#: Below this cosine similarity an item stays unclassified.
DEFAULT_MIN_SCORE = 0.1

#: English function words, and URL noise. A word a stage lists as a keyword is never dropped.
STOP_WORDS: frozenset[str] = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each else etc even ever every few for from
further get gets had has have having he her here hers herself him himself his how i if in into is it its
itself just may me might more most much must my myself no nor not now of off on once one only or other
our ours ourselves out over own per same shall she should so some such than that the their theirs them
themselves then there these they this those through to too under until up upon us very via was we were
what when where which while who whom whose why will with within without would yet you your yours
yourself yourselves www com org net html htm php asp aspx jsp index amp
""".split())

CLASSIFICATION_SCHEMA = ibis.schema({
    "content_id": "string", "stage": "string", "stage_index": "int64", "method": "string",
    "score": "float64", "runner_up_stage": "string", "margin": "float64",
})

_WORD = re.compile(r"[^\W_]+")


def stem(word: str) -> str:
    """A light suffix stemmer: plural -s/-ies, then -ing/-ed, then a final -e, then a doubled
    final consonant. Meant to make word forms meet, not to produce words.

    >>> [stem(w) for w in ("choosing", "choose", "reviews", "review", "pricing", "price", "stories",
    ...                    "shipping", "confirmed", "need", "class", "guides")]
    ['choos', 'choos', 'review', 'review', 'pric', 'pric', 'story', 'ship', 'confirm', 'need', 'class', 'guid']
    """
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def tokens(text: str | None, stop_words: Iterable[str] = STOP_WORDS) -> list[str]:
    """Lower-cased, stemmed words of ``text``: letters and digits, at least 2 characters,
    not only digits, stop words dropped.

    >>> tokens("How to choose the right tent / guides/choosing-the-right-tent")
    ['choos', 'right', 'tent', 'guid', 'choos', 'right', 'tent']
    """
    if not text:
        return []
    stop = stop_words if isinstance(stop_words, (set, frozenset)) else frozenset(stop_words)
    words = _WORD.findall(str(text).lower())
    return [stem(w) for w in words if len(w) >= 2 and not w.isdigit() and w not in stop]


def _glob_regex(glob: str) -> re.Pattern[str]:
    return re.compile(glob_regex((glob,)), re.DOTALL)  # the stage rules' own glob syntax


def match_glob(glob: str, path: str) -> bool:
    """Whether ``path`` matches the content glob (whole path, case-insensitive).

    >>> match_glob("/blog/*", "/blog/a/b"), match_glob("/blog/*", "/blog"), match_glob("/", "/")
    (True, False, True)
    """
    return _glob_regex(glob).fullmatch(path.lower()) is not None


def glob_specificity(glob: str) -> int:
    """Literal (non-wildcard) characters of a glob: the more, the more specific.

    >>> glob_specificity("/reviews/write"), glob_specificity("/reviews/*")
    (14, 9)
    """
    return sum(ch not in "*?" for ch in glob)


def _stages(model: Any) -> Sequence[Any]:
    stages = tuple(getattr(model, "stages", ()) or ())
    if not stages:
        raise ConfigError("the stage model has no stages", field="stages",
                          hint="use a preset (load_stage_model(preset='default')) or define [[stages.stage]] tables")
    for s in stages:
        for attr in ("name", "label", "description", "keywords", "content", "index"):
            if not hasattr(s, attr):
                raise ConfigError(f"stage {getattr(s, 'name', s)!r} has no '{attr}'", field="stages.stage",
                                  hint="pass a journeymap StageModel (journeymap.stages.load_stage_model)")
    return stages


def _url_rule(path: str | None, stages: Sequence[Any]) -> Any | None:
    if path is None:
        return None
    best, best_key = None, None
    for order, s in enumerate(stages):
        for glob in s.content:
            if match_glob(glob, path):
                key = (-glob_specificity(glob), order)
                if best_key is None or key < best_key:
                    best, best_key = s, key
    return best


def _vectors(docs: list[Counter], idf: dict[str, float], vocab: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(docs), len(vocab)))
    for i, counts in enumerate(docs):
        for term, tf in counts.items():
            out[i, vocab[term]] = (1.0 + math.log(tf)) * idf[term]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def stage_scores(texts: Sequence[str | None], model: Any) -> np.ndarray:
    """Cosine similarity of each text with each stage's document: an array (texts x stages).

    >>> from types import SimpleNamespace as S
    >>> model = S(stages=(S(name="a", label="Learn", description="", keywords=("guide",), content=(), index=0),
    ...                   S(name="b", label="Buy", description="", keywords=("price",), content=(), index=1)))
    >>> stage_scores(["Pricing", "A guide", "Nothing"], model).round(3).tolist()
    [[0.0, 0.861], [0.861, 0.0], [0.0, 0.0]]
    """
    stages = _stages(model)
    keyword_words = {w for s in stages for k in s.keywords for w in _WORD.findall(str(k).lower())}
    stop = STOP_WORDS - keyword_words
    stage_docs = []
    for s in stages:
        counts = Counter(tokens(f"{s.label} {s.description}", stop))
        for k in s.keywords:
            for t in tokens(k, stop):
                counts[t] += KEYWORD_WEIGHT
        stage_docs.append(counts)
    item_docs = [Counter(tokens(t, stop)) for t in texts]
    all_docs = stage_docs + item_docs
    df: Counter = Counter()
    for d in all_docs:
        df.update(d.keys())
    n = len(all_docs)
    idf = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
    vocab = {t: i for i, t in enumerate(sorted(df))}
    return _vectors(item_docs, idf, vocab) @ _vectors(stage_docs, idf, vocab).T


def _item_text(title: Any, path: Any, tags: Any) -> str:
    parts = [str(x) for x in (title, path, tags) if isinstance(x, str) and x]
    return " ".join(parts)


def classify_content(catalogue: ir.Table, model: Any, *, min_score: float = DEFAULT_MIN_SCORE) -> ir.Table:
    """Classify each item of :func:`~journeymap.analytics.content.content_catalogue` to a stage.

    Needs the catalogue columns ``content_id``, ``path``, ``title`` (``tags`` is used if present).
    Returns one row per item, ordered by content_id:

    - ``content_id``
    - ``stage`` / ``stage_index``: the stage the item serves; NULL when unclassified
    - ``method``: ``url_rule``, ``text`` or ``unclassified``
    - ``score``: the best stage's cosine similarity (text and unclassified; NULL for url_rule)
    - ``runner_up_stage``: the second-best stage by text score (NULL for url_rule, or when no
      second stage shares a word with the item)
    - ``margin``: best score minus the runner-up's score (NULL for url_rule)
    """
    require_columns(catalogue, ("content_id", "path", "title"), "the content catalogue",
                    "pass the result of content_catalogue(events)")
    if not 0.0 <= min_score <= 1.0:
        raise ConfigError(f"min_score must be between 0 and 1 (got {min_score})", field="content.min_score",
                          hint="e.g. 0.1; a cosine similarity below it leaves an item unclassified")
    stages = _stages(model)
    cols = ["content_id", "path", "title"] + (["tags"] if "tags" in catalogue.columns else [])
    items = catalogue.select(*cols).to_pyarrow().to_pylist()
    items.sort(key=lambda r: r["content_id"])
    texts = [_item_text(r["title"], r["path"], r.get("tags")) for r in items]
    scores = stage_scores(texts, model) if items else np.zeros((0, len(stages)))
    rows = []
    for r, row_scores in zip(items, scores):
        rule = _url_rule(r["path"], stages)
        if rule is not None:
            rows.append((r["content_id"], rule.name, int(rule.index), "url_rule", None, None, None))
            continue
        order = sorted(range(len(stages)), key=lambda i: (-row_scores[i], i))  # ties -> earlier stage
        best = order[0]
        second = order[1] if len(order) > 1 else None
        best_score = float(row_scores[best])
        second_score = float(row_scores[second]) if second is not None else 0.0
        runner_up = stages[second].name if second is not None and second_score > 0 else None
        margin = best_score - second_score
        if best_score >= min_score and best_score > 0:
            s = stages[best]
            rows.append((r["content_id"], s.name, int(s.index), "text", best_score, runner_up, margin))
        else:
            rows.append((r["content_id"], None, None, "unclassified", best_score, runner_up, margin))
    return _small_table(rows, CLASSIFICATION_SCHEMA, like=catalogue)


_spark_names = itertools.count()


def _small_table(rows: list[tuple], schema: ibis.Schema, *, like: ir.Table) -> ir.Table:
    """A small result computed in Python as an Ibis table usable with ``like``'s backend.

    A memtable everywhere but on Spark, where Ibis turns a memtable's NULL strings into 'NaN'
    and its integers into NULL (through pandas): there the rows become a temporary view.
    """
    backend = backend_of(like)
    if backend.name == "pyspark":
        ddl = ", ".join(f"`{name}` {_SPARK_TYPES[str(dtype).rstrip('!')]}" for name, dtype in schema.items())
        name = f"_jm_content_{next(_spark_names)}"
        backend._session.createDataFrame(rows, schema=ddl).createOrReplaceTempView(name)
        return backend.table(name)
    names = list(schema.names)
    return ibis.memtable(pa.Table.from_pylist([dict(zip(names, r)) for r in rows], schema=schema.to_pyarrow()))


_SPARK_TYPES = {"string": "string", "int64": "bigint", "float64": "double", "boolean": "boolean"}
