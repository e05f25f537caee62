"""Descriptive statistics of scale scores, their correlation matrix with p-values and stars,
and group comparisons (Welch's t and Welch's ANOVA with effect sizes).

References
----------
Welch, B. L. (1951). On the comparison of several mean values: An alternative approach.
*Biometrika*, 38(3/4), 330–336.
Delacre, M., Lakens, D., & Leys, C. (2017). Why psychologists should by default use Welch's
t-test instead of Student's t-test. *International Review of Social Psychology*, 30(1), 92–101.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats

from jianfu.stats.estimable import not_estimable

__all__ = ["stars", "describe", "correlation_table", "compare_groups"]


def stars(p: float | None) -> str:
    """``***`` p < .001, ``**`` p < .01, ``*`` p < .05, else empty.

    Examples
    --------
    >>> [stars(p) for p in (0.0004, 0.004, 0.04, 0.4, None)]
    ['***', '**', '*', '', '']
    """
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def describe(scores: pd.DataFrame) -> pd.DataFrame:
    """n, mean, SD, min, max, skewness and excess kurtosis of each column."""
    return pd.DataFrame(
        {
            "n": scores.notna().sum(),
            "mean": scores.mean(),
            "sd": scores.std(ddof=1),
            "min": scores.min(),
            "max": scores.max(),
            "skew": scores.skew(),
            "kurtosis": scores.kurt(),
        }
    )


def correlation_table(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Pearson correlations on pairwise-complete cases with two-sided p-values and pairwise n,
    as ``psych::corr.test(adjust = "none")``.

    Returns
    -------
    dict
        ``r``, ``p`` and ``n``, each a square DataFrame over the columns of ``scores``.
    """
    x = scores.astype(float)
    r = x.corr()
    present = x.notna().to_numpy(dtype=float)
    n = pd.DataFrame(present.T @ present, index=x.columns, columns=x.columns)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt((n - 2) / (1 - r**2))
        p = 2 * stats.t.sf(np.abs(t), n - 2)
    p = pd.DataFrame(p, index=x.columns, columns=x.columns)
    p = p.mask(np.eye(len(p), dtype=bool), 0.0)
    return {"r": r, "p": p, "n": n.astype(int)}


def compare_groups(
    data: pd.DataFrame, outcomes: list[str], by: str, levels: list[str] | None = None, min_group: int = 2
) -> list[dict]:
    """Compare each outcome's mean across the groups of ``by``.

    Two groups: Welch's t-test with Hedges' g (first group minus second, groups in the order of
    ``levels``, else of appearance). More groups: Welch's one-way ANOVA with η². Groups with
    fewer than ``min_group`` scores are left out and named.

    Returns
    -------
    list of dict
        One per outcome: ``outcome, by, test, statistic, df1, df2, p, effect, effect_size,
        groups[{group, n, mean, sd}], dropped_groups``.
    """
    out = []
    for y in outcomes:
        sub = data[[y, by]].dropna()
        sizes = sub.groupby(by, observed=True)[y].size()
        keep = sizes.index[sizes >= min_group].tolist()
        sub = sub[sub[by].isin(keep)]
        order = [g for g in (levels or []) if g in keep] + [g for g in sub[by].unique() if g not in (levels or [])]
        groups = {g: sub.loc[sub[by] == g, y].to_numpy(dtype=float) for g in order}
        desc = [
            {"group": str(g), "n": int(len(v)), "mean": float(v.mean()), "sd": float(v.std(ddof=1))}
            for g, v in groups.items()
        ]
        entry = {
            "outcome": y,
            "by": by,
            "groups": desc,
            "dropped_groups": [str(g) for g in sizes.index if g not in keep],
        }
        varies = sum(float(np.nan_to_num(v.var(ddof=1))) for v in groups.values()) > 0
        if len(keep) == 2 and varies:
            a, b = groups.values()
            t = stats.ttest_ind(a, b, equal_var=False)
            va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
            df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
            entry |= {
                "test": "Welch t",
                "statistic": float(t.statistic),
                "df1": float(df),
                "df2": None,
                "p": float(t.pvalue),
                "effect": "hedges_g",
                "effect_size": float(pg.compute_effsize(a, b, eftype="hedges")),
            }
        elif len(keep) > 2 and varies:
            res = pg.welch_anova(data=sub.assign(**{by: sub[by].astype(str)}), dv=y, between=by).iloc[0]
            entry |= {
                "test": "Welch F",
                "statistic": float(res["F"]),
                "df1": float(res["ddof1"]),
                "df2": float(res["ddof2"]),
                "p": float(res["p_unc"] if "p_unc" in res else res["p-unc"]),
                "effect": "eta_squared",
                "effect_size": float(res["np2"]),
            }
        else:
            why = (
                (
                    f"每组至少需 {min_group} 人，满足条件的组少于 2 个",
                    f"fewer than 2 groups with at least {min_group} respondents",
                )
                if len(keep) < 2
                else ("各组内分数没有变化", "the scores do not vary within groups")
            )
            entry |= {
                "test": None,
                "statistic": None,
                "df1": None,
                "df2": None,
                "p": None,
                "effect": None,
                "effect_size": None,
                **not_estimable(*why),
            }
        out.append(entry)
    return out
