"""Offline sentiment of review texts: a lexicon shipped with the code, no model download.

An AFINN-style word list (lexicon.tsv: word, score in -5..5) with negation handling ("not good"
flips the sign of the next two words). The score is the mean of the matched words' scores scaled to
-1..1; labels: positive >= 0.05, negative <= -0.05, neutral otherwise. Deterministic, fast enough
for a Spark UDF over every review, and it works in pods with no internet.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("lexicon.tsv")
NEGATIONS = frozenset({"not", "no", "never", "isn't", "wasn't", "don't", "doesn't", "didn't", "hardly", "without"})
WORD = re.compile(r"[a-z][a-z']*")


@lru_cache(maxsize=1)
def lexicon() -> dict[str, int]:
    words: dict[str, int] = {}
    for line in LEXICON_PATH.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, score = line.split("\t")
            words[word] = int(score)
    return words


def score(text: str | None) -> float:
    """Sentiment in [-1, 1]; 0.0 for empty text or text with no lexicon word."""
    if not text:
        return 0.0
    words = lexicon()
    total, hits, negate = 0, 0, 0
    for token in WORD.findall(text.lower()):
        if token in NEGATIONS:
            negate = 2
            continue
        value = words.get(token)
        if value is not None:
            total += -value if negate else value
            hits += 1
        negate = max(0, negate - 1)
    return round(max(-1.0, min(1.0, total / (hits * 5))), 4) if hits else 0.0


def label(value: float) -> str:
    return "positive" if value >= 0.05 else "negative" if value <= -0.05 else "neutral"
