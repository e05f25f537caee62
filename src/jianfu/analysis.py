"""The analysis stage: scale statistics and the plan's models, on accepted rows only."""

from __future__ import annotations

import math

import pandas as pd

from .instrument import Instrument
from .plan import Plan
from .regression import fit_hierarchical
from .reliability import cronbach_alpha, omega_total
from .scoring import keyed_items

__all__ = ["scale_statistics", "run_models", "analysis_frame"]


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def scale_statistics(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument) -> dict[str, dict]:
    """n, mean, SD, α (with 95% CI) and ω per scale.

    First-order scales: α and ω over their reverse-keyed items, listwise. The second-order
    composite: α and ω over its subscale scores (each subscale one indicator).
    """
    keyed = keyed_items(accepted, inst)
    out: dict[str, dict] = {}
    for s in inst.scales:
        col = scores[s.id].dropna()
        if s.is_composite:
            block = scores[list(s.subscales)]
        else:
            block = keyed[[i.id for i in s.items if i.id in keyed]]
        alpha, ci = cronbach_alpha(block)
        out[s.id] = {"n": int(col.size), "mean": _num(col.mean()), "sd": _num(col.std(ddof=1)),
                     "alpha": _num(alpha), "alpha_ci": [_num(ci[0]), _num(ci[1])],
                     "omega": _num(omega_total(block)), "n_items": int(block.shape[1]),
                     "n_complete": int(len(block.dropna()))}
    return out


def analysis_frame(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Scale scores joined with demographics: the data every model is fitted on."""
    demo = accepted[[d.id for d in inst.demographics if d.id in accepted]]
    return pd.concat([scores, demo], axis=1)


def run_models(data: pd.DataFrame, plan: Plan, inst: Instrument) -> dict[str, dict]:
    categorical = {d.id: list(d.options) for d in inst.demographics if d.options}
    return {m.id: {"label": m.label.model_dump() if m.label else None, "hypothesis": m.hypothesis,
                   **fit_hierarchical(data, m, categorical)} for m in plan.models}
