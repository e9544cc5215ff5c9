"""Leave-one-corpus-out: knowledge learned from a rule corpus may only be used to score the other corpus.

An indicator source derived from a corpus is named after it: "<corpus>" or "<corpus>_<what>" (e.g.
"sigma_event_names"). None exists today (docs/mapping.md); the evaluator calls `assert_held_out` before
scoring each corpus, so one added later cannot flatter the corpus it was learned from.
"""

from __future__ import annotations

from collections.abc import Iterable


def derived_from(source: str, corpus: str) -> bool:
    """Whether an indicator source is knowledge learned from `corpus`."""
    source, corpus = source.lower(), corpus.lower()
    return source == corpus or source.startswith(corpus + "_")


def assert_held_out(indicator_sources: Iterable[str], corpus: str) -> None:
    """Refuse to score `corpus` while any indicator in play was learned from it."""
    leaked = sorted({s for s in indicator_sources if derived_from(s, corpus)})
    if leaked:
        raise RuntimeError(f"indicators derived from {corpus} ({', '.join(leaked)}) are in play while scoring "
                           f"{corpus}: exclude them for this corpus first")
