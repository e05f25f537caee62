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

from pathlib import Path
from typing import Any

import pandas as pd

from jianfu.instrument import Instrument, InstrumentError, load_instrument
from jianfu.scoring import keyed_items
from jianfu.stats.invariance import DECISIONS, RULE_TEXT, invariance_ladder

__all__ = [
    "DECISION_TEXT",
    "RULE_TEXT",
    "carried_items",
    "carried_scales",
    "comparable",
    "earlier_versions",
    "invariance_across",
    "invariance_by_group",
    "rows_as",
    "weakest",
]

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


def _major(version: str) -> str:
    return version.split(".")[0]


def carried_items(inst: Instrument, old: Instrument) -> dict[str, str]:
    """``{item id in inst: item id in old}`` for the items ``inst`` declares unchanged from ``old``.

    An item declares it with ``same_as: v<major>.<id>`` (e.g. ``v1.dl1``): identical text,
    response scale and keying, so its answers mean the same in both versions. An item that keeps
    an old id without ``same_as`` is a different question and is not carried.
    """
    prefix = f"v{_major(old.version)}."
    old_ids = {i.id for i in old.items}
    out = {}
    for item in inst.items:
        if item.same_as and item.same_as.startswith(prefix) and item.same_as[len(prefix) :] in old_ids:
            out[item.id] = item.same_as[len(prefix) :]
    return out


def carried_scales(inst: Instrument, old: Instrument) -> list[str]:
    """The scales of ``inst`` whose every item is carried from ``old`` (composites: every subscale).

    Only these scales may be compared between a wave of ``old`` and a wave of ``inst``: a scale
    with one reworded item measures something else, however close the wording.
    """
    carried = carried_items(inst, old)
    out = [s.id for s in inst.first_order_scales if all(i.id in carried for i in s.items)]
    out += [c.id for c in inst.composite_scales if all(sub in out for sub in c.subscales)]
    return out


def rows_as(inst: Instrument, old: Instrument, rows: pd.DataFrame) -> pd.DataFrame:
    """Stored rows of ``old`` with the carried items renamed to ``inst``'s ids; other items blank.

    Demographics and bookkeeping columns (``wave``, ``status``, …) are kept as they are.

    Examples
    --------
    >>> from jianfu import paths
    >>> v2 = load_instrument(paths.DEFAULT_INSTRUMENT)
    >>> v1 = load_instrument(paths.INSTRUMENTS_DIR / "cadre_burden_v1.yaml")
    >>> carried_scales(v2, v1)
    ['digital_literacy']
    >>> old = pd.DataFrame({"dl1": [4], "ap1": [2], "wave": ["2025-06"]})
    >>> rows_as(v2, v1, old)[["dl1", "ap7", "wave"]]
       dl1  ap7     wave
    0    4  NaN  2025-06
    """
    carried = carried_items(inst, old)
    old_items = {i.id for i in old.items}
    keep = rows[[c for c in rows.columns if c not in old_items]].copy()
    for item in inst.items:
        source = carried.get(item.id)
        keep[item.id] = rows[source] if source in rows else float("nan")
    return keep


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def earlier_versions(inst: Instrument, directory: str | Path | None = None) -> list[Instrument]:
    """The earlier versions of ``inst`` (same ``id``) whose YAML lies beside it, oldest first.

    ``directory`` defaults to the folder ``inst`` was loaded from. Files that do not load as an
    instrument (analysis plans, synthetic-data settings, drafts) are skipped.
    """
    folder = Path(directory) if directory else (inst.source_path.parent if inst.source_path else None)
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name.count(".") > 1 or (inst.source_path and path.resolve() == inst.source_path.resolve()):
            continue  # x.analysis.yaml, x.synth.yaml: not instruments
        try:
            other = load_instrument(path)
        except (InstrumentError, ValueError):
            continue
        if other.id == inst.id and _version_key(other.version) < _version_key(inst.version):
            found.append(other)
    return sorted(found, key=lambda o: _version_key(o.version))
