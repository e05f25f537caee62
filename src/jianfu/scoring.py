"""Scale scores from coded item responses, by the brief's scoring conventions.

* Reverse-keyed item: ``min + max − x`` on its response scale.
* First-order scale: mean of the answered items (after reverse-keying) when at least
  ``min_answered`` (default 75%) of the scale's items are answered; otherwise missing.
* Second-order composite: mean of its subscale scores, each weighing the same whatever its
  number of items; missing if any subscale score is missing.

Examples
--------
>>> import pandas as pd
>>> reverse_key(pd.Series([1.0, 5.0, 2.0]), 1, 5).tolist()
[5.0, 1.0, 4.0]
"""

from __future__ import annotations

import pandas as pd

from jianfu.instrument import Instrument

__all__ = ["reverse_key", "keyed_items", "score_scales"]


def reverse_key(x: pd.Series, lo: int, hi: int) -> pd.Series:
    """Reverse a response on a ``lo..hi`` scale: ``lo + hi − x`` (an involution)."""
    return lo + hi - x


def keyed_items(frame: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Item responses with reverse-keyed items reversed (only items present in ``frame``)."""
    out = {}
    for s in inst.first_order_scales:
        rs = inst.response_scales[s.response_scale]
        for item in s.items:
            if item.id in frame:
                col = frame[item.id].astype(float)
                out[item.id] = reverse_key(col, rs.min, rs.max) if item.reverse else col
    return pd.DataFrame(out, index=frame.index)


def score_scales(frame: pd.DataFrame, inst: Instrument, min_answered: float = 0.75) -> pd.DataFrame:
    """One column per scale (first-order and composite), in instrument order."""
    keyed = keyed_items(frame, inst)
    scores: dict[str, pd.Series] = {}
    for s in inst.first_order_scales:
        cols = [i.id for i in s.items if i.id in keyed]
        block = keyed[cols] if cols else pd.DataFrame(index=frame.index)
        enough = block.notna().sum(axis=1) >= min_answered * len(s.items)
        scores[s.id] = block.mean(axis=1).where(enough)
    for s in inst.composite_scales:
        subs = pd.DataFrame({k: scores[k] for k in s.subscales})
        scores[s.id] = subs.mean(axis=1).where(subs.notna().all(axis=1))
    return pd.DataFrame({s.id: scores[s.id] for s in inst.scales}, index=frame.index)
