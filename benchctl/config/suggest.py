"""Did-you-mean hints for a name that is not known: a key, a case, a fault, an action."""

from __future__ import annotations

import difflib
from typing import Iterable


def close_names(word: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names closest to `word` (case differences count for little), best first."""
    known = list(known)
    by_lower: dict[str, str] = {}
    for name in known:
        by_lower.setdefault(name.lower(), name)
    return [by_lower[m] for m in difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=0.6)]


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """'; did you mean 'X'?' for the closest known name, '' when none is close."""
    close = close_names(str(word), known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def did_you_mean_aside(word: str, known: Iterable[str]) -> str:
    """" (did you mean 'X'?)" for a name in a list of names, '' when none is close."""
    close = close_names(str(word), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
