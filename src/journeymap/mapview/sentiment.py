"""A small lexicon-based sentiment scorer for review and survey text.

Each word found in the shipped lexicon (``sentiment_lexicon.tsv``, scores -3..+3) adds its
score; a negation word ("not", "never", "no", "n't", ...) within the three words before it
in the same clause flips and damps the score ("not good" counts -1.0, not +2); an intensifier ("very", "really",
"extremely", ...) right before it adds 50%. The text's score is the sum divided by
``sqrt(sum**2 + 15)`` (the VADER normalisation), so it lies in [-1, 1]; text with no lexicon
word scores 0. No downloads, no model: the lexicon is a plain data file inside the package.

>>> score("Great quality and worth every penny.")
0.79
>>> score("Not good at all.")
-0.25
>>> score("Terrible quality and slow support.")
-0.72
>>> score("Never again: broken on arrival.")  # negation stops at punctuation
-0.46
>>> score("")
0.0
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources

__all__ = ["lexicon", "score", "tokens"]

NEGATIONS = frozenset({
    "not", "no", "never", "none", "nothing", "neither", "nor", "without", "hardly", "barely",
    "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt", "wont", "wouldnt", "arent",
    "aint", "nobody", "nowhere",
})
INTENSIFIERS = frozenset({
    "very", "really", "extremely", "so", "super", "totally", "absolutely", "incredibly", "truly",
    "highly", "too",
})
_NEGATION_WINDOW = 3
_NEGATION_FACTOR = -0.5
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE = re.compile(r"[.,;:!?()\n]+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; "n't" endings become a separate "not".

    >>> tokens("It wasn't GOOD, really.")
    ['it', 'was', 'not', 'good', 'really']
    """
    out: list[str] = []
    for word in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        if word.endswith("n't"):
            stem = word[:-3]
            stem = {"ca": "can", "wo": "will", "sha": "shall"}.get(stem, stem)
            if stem:
                out.append(stem)
            out.append("not")
        else:
            out.append(word.replace("'", ""))
    return out


@lru_cache(maxsize=1)
def lexicon() -> tuple[dict[str, float], tuple[tuple[str, float], ...]]:
    """The shipped lexicon: (exact words, (prefix, score) pairs for words written with ``*``).

    >>> words, prefixes = lexicon()
    >>> words["great"], dict(prefixes)["disappoint"]
    (3.0, -2.0)
    """
    text = resources.files("journeymap.mapview").joinpath("sentiment_lexicon.tsv").read_text(encoding="utf-8")
    words: dict[str, float] = {}
    prefixes: list[tuple[str, float]] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, value = line.split()
        if word.endswith("*"):
            prefixes.append((word[:-1], float(value)))
        else:
            words[word] = float(value)
    prefixes.sort(key=lambda p: -len(p[0]))
    return words, tuple(prefixes)


def _word_score(word: str) -> float | None:
    words, prefixes = lexicon()
    if word in words:
        return words[word]
    for prefix, value in prefixes:
        if word.startswith(prefix):
            return value
    return None


def score(text: str | None) -> float:
    """Sentiment of ``text`` in [-1, 1], rounded to 2 decimals (0.0 for empty or neutral text).

    >>> score("I love it")
    0.61
    >>> score("I don't love it")
    -0.36
    >>> score("very disappointed")
    -0.61
    >>> score("It's okay. Does the job but nothing special.")
    -0.13
    """
    if not text:
        return 0.0
    total = 0.0
    for clause in _CLAUSE.split(text):
        total += _clause_score(tokens(clause))
    if total == 0:
        return 0.0
    return round(total / math.sqrt(total * total + 15), 2)


def _clause_score(words: list[str]) -> float:
    """Sum of word scores in one clause (negation does not reach past punctuation)."""
    total = 0.0
    for i, word in enumerate(words):
        value = _word_score(word)
        if not value:
            continue
        if i > 0 and words[i - 1] in INTENSIFIERS:
            value *= 1.5
        if any(w in NEGATIONS for w in words[max(0, i - _NEGATION_WINDOW):i]):
            value *= _NEGATION_FACTOR
        total += value
    return total
