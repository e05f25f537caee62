"""What the report shows beyond the models.

Who answered, how units compare, what they wrote, and how this wave compares with earlier ones.

Unit figures are suppressed for units with fewer than ``MIN_UNIT_N`` accepted respondents:
a mean over three cadres of one township identifies people, so it is never computed into the
output at all, only marked as suppressed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from jianfu.comparability import DECISION_TEXT, comparable, invariance_across
from jianfu.instrument import Instrument
from jianfu.scoring import keyed_items, score_scales
from jianfu.stats.partial_overlap import overlap_t

__all__ = ["MIN_UNIT_N", "sample_profile", "unit_comparison", "open_answers", "wave_comparison"]

MIN_UNIT_N = 5
#: Open answers carried into the summary and the report (the store keeps them all).
MAX_OPEN_ANSWERS = 2000


def _num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def sample_profile(accepted: pd.DataFrame, inst: Instrument) -> list[dict]:
    """Counts and shares of each demographic's levels among accepted rows.

    Levels are in instrument order; missing answers are counted as 未填写 / not given. Free-text
    demographics report only how many distinct values there are (``unit``: the number of units).
    """
    out = []
    n = len(accepted)
    for d in inst.demographics:
        if d.id not in accepted:
            continue
        col = accepted[d.id].replace("", np.nan)
        if d.options:
            counts = col.value_counts()
            levels = [
                {"level": lv, "n": int(counts.get(lv, 0)), "share": _num(counts.get(lv, 0) / n) if n else None}
                for lv in d.options
            ]
            missing = int(col.isna().sum())
            if missing:
                levels.append({"level": None, "n": missing, "share": _num(missing / n)})
            out.append({"id": d.id, "levels": levels})
        else:
            out.append({"id": d.id, "distinct": int(col.nunique()), "missing": int(col.isna().sum())})
    return out


def unit_comparison(
    data: pd.DataFrame, scales: list[str], unit: str = "unit", min_n: int = MIN_UNIT_N, extra: list[str] = ("level",)
) -> list[dict]:
    """Per unit: n and the mean of each scale; ``suppressed`` (and no means) below ``min_n``.

    Rows are sorted by the first scale's mean, highest first, suppressed units last.
    """
    if unit not in data:
        return []
    grouped = data.groupby(unit, sort=True)
    sizes = grouped.size()
    means = grouped[list(scales)].mean().to_dict("index")
    firsts = {e: grouped[e].first() for e in extra if e in data}  # a unit has one level: its first answer
    rows = []
    for name, n in sizes.items():
        row = {"unit": str(name), "n": int(n), "suppressed": bool(n < min_n)}
        for e, values in firsts.items():
            v = values.get(name)
            row[e] = None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        row["means"] = None if row["suppressed"] else {s: _num(v) for s, v in means[name].items()}
        rows.append(row)
    key = scales[0] if scales else None
    return sorted(rows, key=lambda r: (r["suppressed"], -((r["means"] or {}).get(key) or 0)))


def open_answers(accepted: pd.DataFrame, inst: Instrument, limit: int = MAX_OPEN_ANSWERS) -> list[dict]:
    """Non-empty open answers (already masked at ingest), per question, up to ``limit`` in all."""
    out = []
    for q in inst.open_questions:
        if q.id not in accepted:
            continue
        answers = accepted[q.id].dropna().astype(str).str.strip()
        answers = answers[(answers != "") & (~answers.isin(["无", "没有", "暂无", "无。"]))]
        out.append({"id": q.id, "n": int(len(answers)), "answers": answers.head(limit).tolist()})
        limit = max(0, limit - len(answers))
    return out


def _mean_ci(x: pd.Series, level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    x = x.dropna()
    if len(x) < 2:
        return (_num(x.mean()) if len(x) else None), None, None
    m, se = x.mean(), x.std(ddof=1) / np.sqrt(len(x))
    h = stats.t.ppf(1 - (1 - level) / 2, len(x) - 1) * se
    return _num(m), _num(m - h), _num(m + h)


def wave_comparison(
    stored: pd.DataFrame, inst: Instrument, current: str, versions: dict[str, dict] | None = None
) -> dict | None:
    """Scale means with 95% CIs per wave of accepted stored rows, and the change since the previous wave.

    Waves are ordered by their labels (``2026-05`` before ``2026-11``); ``current`` is compared
    with the wave just before it. A change (its CI by the partially overlapping t-test: cadres who
    answered both waves, linked by the keyed hash of their ID, are paired, the others independent;
    Welch's test when no one is linked) is given only for a
    scale with at least partial scalar invariance across the two waves (multi-group CFA,
    :mod:`jianfu.comparability`); otherwise ``withheld`` says why in zh and en. None with fewer
    than two waves.

    ``versions`` names the waves collected with an earlier version of the questionnaire:
    ``{wave: {"version": "1.0", "scales": [scale ids whose items are all unchanged]}}``, their rows
    already mapped onto ``inst`` (:func:`jianfu.comparability.rows_as`). Such a wave shows means,
    and enters a comparison, only for those scales; for the others the change is withheld because
    the items differ between the versions.
    """
    if stored.empty or "wave" not in stored:
        return None
    rows = stored[stored["status"] == "accepted"]
    waves = sorted(rows["wave"].dropna().unique())
    if len(waves) < 2 or current not in waves:
        return None
    versions = versions or {}
    scores = score_scales(rows, inst)
    by_wave = {w: scores[rows["wave"].to_numpy() == w] for w in waves}
    link = rows["_respondent_key"] if "_respondent_key" in rows else pd.Series(None, index=rows.index, dtype=object)
    keys = {w: link[rows["wave"].to_numpy() == w] for w in waves}
    previous = waves[waves.index(current) - 1] if waves.index(current) > 0 else None
    # A scale enters the comparison only where both waves asked exactly its items.
    asked = {w: set(versions[w]["scales"]) if w in versions else {s.id for s in inst.scales} for w in waves}
    shared = asked[current] & asked[previous] if previous else set()
    invariance: dict = {}
    if previous:
        pair = rows["wave"].isin([previous, current]).to_numpy()
        keyed = keyed_items(rows[pair], inst)
        unshared = [i.id for s in inst.first_order_scales if s.id not in shared for i in s.items]
        invariance = invariance_across(keyed.drop(columns=unshared), rows.loc[pair, "wave"], inst)
    table = []
    for s in inst.scales:
        entry = {"scale": s.id, "waves": {}}
        for w in waves:
            if s.id not in asked[w]:
                entry["waves"][w] = {
                    "n": 0,
                    "mean": None,
                    "ci_low": None,
                    "ci_high": None,
                    "version": versions[w]["version"],
                }
                continue
            m, lo, hi = _mean_ci(by_wave[w][s.id])
            entry["waves"][w] = {"n": int(by_wave[w][s.id].notna().sum()), "mean": m, "ci_low": lo, "ci_high": hi}
        if previous and s.id not in shared:
            other = versions.get(previous, versions.get(current, {})).get("version", "?")
            entry["invariance"] = "not_tested"
            entry["withheld"] = {
                "zh": f"未比较均值：该量表的题目在问卷 {other} 版与 {inst.version} 版之间有改动"
                "（仅比较题目完全相同的量表）。",
                "en": f"Means not compared: the scale's items differ between questionnaire versions {other} and "
                f"{inst.version} (only scales whose items are identical are compared).",
            }
        elif previous:
            a, b = by_wave[current][s.id].dropna(), by_wave[previous][s.id].dropna()
            decision = invariance.get(s.id, {}).get("decision", "not_tested")
            entry["invariance"] = decision
            if not comparable(decision):
                zh, en = DECISION_TEXT[decision]
                entry["withheld"] = {
                    "zh": f"未比较均值：两轮之间{zh}（测量不变性未达到标量水平，均值差异可能来自题目含义的变化）。",
                    "en": f"Means not compared: across the two waves, {en} (without scalar invariance a difference "
                    "may reflect a change in what the items measure).",
                }
            elif len(a) > 1 and len(b) > 1:
                # Respondents linked by their keyed hash are paired; the rest count as independent.
                res = overlap_t(a, b, keys[current].reindex(a.index), keys[previous].reindex(b.index))
                entry["change"] = {
                    "from": previous,
                    "diff": _num(res.diff),
                    "ci_low": _num(res.ci_low),
                    "ci_high": _num(res.ci_high),
                    "p": _num(res.p),
                    "df": _num(res.df),
                    "method": res.method,
                    "n_linked": res.n_linked,
                }
        table.append(entry)
    return {
        "waves": waves,
        "current": current,
        "previous": previous,
        "scales": table,
        # Waves asked with an earlier questionnaire version: which version, and which scales are shared.
        "versions": {w: dict(v) for w, v in versions.items() if w in waves},
        # The ladder per scale across the two waves compared: the reason a change is or is not shown.
        "invariance": invariance,
    }
