"""Which scale means may be compared across groups and survey waves: measurement invariance per scale.

Every first-order scale is put through the configural → metric → scalar ladder
(:func:`jianfu.stats.invariance.invariance_ladder`, multi-group CFA, Chen 2007 rule) across the
groups of each demographic the plan names, and across the waves of one instrument version. A
composite (e.g. the mean of five burden dimensions) is as comparable as its weakest dimension.
Means are compared only at full or partial scalar invariance; below that the report says why.

Examples
--------
>>> weakest(["scalar", "partial_scalar", "metric"])
'metric'
>>> comparable("partial_scalar"), comparable("metric")
(True, False)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from jianfu.instrument import Instrument
from jianfu.scoring import keyed_items
from jianfu.stats.invariance import DECISIONS, RULE_TEXT, invariance_ladder

__all__ = ["DECISION_TEXT", "RULE_TEXT", "comparable", "invariance_across", "invariance_by_group", "weakest"]

#: What each decision allows, as the report says it.
DECISION_TEXT = {
    "scalar": ("完全标量不变：可比较均值", "scalar invariance: means comparable"),
    "partial_scalar": (
        "部分标量不变：可比较均值（已释放部分截距）",
        "partial scalar: means comparable (some intercepts freed)",
    ),
    "metric": ("仅度量不变：可比较相关与回归，不比较均值", "metric only: relations comparable, means not"),
    "configural": ("仅形态不变：不比较均值", "configural only: means not comparable"),
    "not_tested": ("未能检验（样本或题目不足）", "not tested (too few rows or items)"),
}

#: The keys of a ladder result kept in the summary (score tests of every constraint are left out).
_KEEP = (
    "configural",
    "metric",
    "scalar",
    "partial_scalar",
    "strict",
    "decision",
    "freed",
    "search",
    "latent_means",
    "reference_group",
    "groups",
    "n",
    "n_dropped",
    "estimable",
    "reason",
)


def comparable(decision: str | None) -> bool:
    """Whether means may be compared at this decision (full or partial scalar invariance)."""
    return decision in ("scalar", "partial_scalar")


def weakest(decisions: list[str]) -> str:
    """The weakest of several decisions (a composite is as invariant as its weakest dimension)."""
    return min(decisions, key=DECISIONS.index) if decisions else "not_tested"


def invariance_across(keyed: pd.DataFrame, groups: pd.Series, inst: Instrument) -> dict[str, dict[str, Any]]:
    """The ladder of every scale across the groups in ``groups`` (aligned with ``keyed``).

    Parameters
    ----------
    keyed : DataFrame
        Item responses with reverse-keyed items already reversed (:func:`jianfu.scoring.keyed_items`).
    groups : Series
        The group of each row (a demographic or the wave); rows without a group are left out.
    inst : Instrument
        Gives the scales, their items and the composites.

    Returns
    -------
    dict
        ``{scale_id: ladder}`` with the keys of :func:`~jianfu.stats.invariance.invariance_ladder`
        (without the per-constraint score tests); a composite gets ``{decision, from_subscales}``.
    """
    data = keyed.assign(_group=groups.to_numpy()).dropna(subset=["_group"])
    data["_group"] = data["_group"].astype(str)
    out: dict[str, dict[str, Any]] = {}
    for s in inst.first_order_scales:
        items = [i.id for i in s.items if i.id in data]
        if len(items) < 3:
            continue
        result = invariance_ladder(data[[*items, "_group"]], {s.id: items}, "_group")
        out[s.id] = {k: result[k] for k in _KEEP if k in result}
    for c in inst.scales:
        if c.is_composite and all(sub in out for sub in c.subscales):
            decision = weakest([out[sub]["decision"] for sub in c.subscales])
            out[c.id] = {"decision": decision, "from_subscales": list(c.subscales), "freed": []}
    return out


def invariance_by_group(accepted: pd.DataFrame, inst: Instrument, group_ids: list[str]) -> dict[str, Any]:
    """``psychometrics.invariance``: ``{group_id: {scale_id: ladder}}`` for each demographic named."""
    keyed = keyed_items(accepted, inst)
    return {g: invariance_across(keyed, accepted[g], inst) for g in group_ids if g in accepted}
