"""Near-duplicate statements: character-shingle Jaccard similarity on normalised text.

Two statements are compared as sets of overlapping character 3-grams of their words after
lower-casing, folding punctuation to spaces and collapsing whitespace, so "We need more
buses!" and "we need more  buses" are identical (1.0) and a word changed or reordered costs a
few shingles. The score is |A ∩ B| / |A ∪ B|; it is symmetric, 1 for identical normal forms and
0 for texts with no 3-gram in common.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TypeVar

_K = TypeVar("_K")
_WORD = re.compile(r"[^\w]+", re.UNICODE)
SHINGLE = 3


def normalise(text: str) -> str:
    """Lower case, accents kept, punctuation and runs of spaces to one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(w for w in _WORD.split(folded) if w)


def shingles(text: str) -> frozenset[str]:
    """The character 3-grams of the normalised text (the text itself when shorter)."""
    plain = normalise(text)
    if len(plain) <= SHINGLE:
        return frozenset([plain]) if plain else frozenset()
    return frozenset(plain[i:i + SHINGLE] for i in range(len(plain) - SHINGLE + 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' shingle sets (0 when both are empty)."""
    return _jaccard(shingles(a), shingles(b))


def _jaccard(x: frozenset[str], y: frozenset[str]) -> float:
    union = len(x | y)
    return len(x & y) / union if union else 0.0


def nearest(text: str, candidates: Mapping[_K, str] | Iterable[tuple[_K, str]], *,
            threshold: float = 0.0, limit: int = 3) -> list[tuple[_K, float]]:
    """The candidates most like ``text`` with similarity ≥ ``threshold``, best first (ties
    keep the candidates' order)."""
    pairs = candidates.items() if isinstance(candidates, Mapping) else candidates
    own = shingles(text)
    scored = [(key, _jaccard(own, shingles(other))) for key, other in pairs]
    kept = [(key, s) for key, s in scored if s >= threshold and s > 0]
    kept.sort(key=lambda pair: -pair[1])
    return kept[:limit]
