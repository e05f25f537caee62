"""Descriptive statistics of scale scores, their correlations, and group comparisons.

The correlation matrix comes with p-values and stars; groups are compared by Welch's t and Welch's
ANOVA with effect sizes.

References
----------
Welch, B. L. (1951). On the comparison of several mean values: An alternative approach.
*Biometrika*, 38(3/4), 330–336.
Delacre, M., Lakens, D., & Leys, C. (2017). Why psychologists should by default use Welch's
t-test instead of Student's t-test. *International Review of Social Psychology*, 30(1), 92–101.

Examples
--------
>>> from semopy.examples import holzinger39
>>> r = compare_groups(holzinger39.get_data(), ["x1"], "school")[0]   # In R: t.test(x1 ~ school)
>>> r["test"], round(r["statistic"], 3), round(r["p"], 3)
('Welch t', 0.084, 0.933)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats

from jianfu.stats.cluster_robust import wald_test_clustered
from jianfu.stats.estimable import NotEstimable, not_estimable

__all__ = ["stars", "describe", "correlation_table", "compare_groups", "is_cluster_attribute"]


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
    """Pearson correlations on pairwise-complete cases with two-sided p-values and pairwise n.

    As ``psych::corr.test(adjust = "none")``.

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


def is_cluster_attribute(data: pd.DataFrame, by: str, clusters: str) -> bool:
    """Whether ``by`` is a property of the cluster (one value per unit), like a unit's ``level``.

    >>> df = pd.DataFrame({"unit": ["a", "a", "b", "b"], "level": ["镇", "镇", "街", "街"], "g": [1, 2, 1, 2]})
    >>> is_cluster_attribute(df, "level", "unit"), is_cluster_attribute(df, "g", "unit")
    (True, False)
    """
    sub = data[[by, clusters]].dropna()
    return bool(len(sub)) and bool((sub.groupby(clusters, observed=True)[by].nunique() <= 1).all())


def _clustered_test(sub: pd.DataFrame, y: str, by: str, clusters: str, order: list) -> dict:
    """Group means compared by OLS on group dummies with cluster-robust (CR2/HTZ or CR1) inference."""
    dummies = pd.get_dummies(pd.Categorical(sub[by], categories=order), drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(sub)), dummies.to_numpy()])
    test = wald_test_clustered(sub[y].to_numpy(float), X, sub[clusters].to_numpy(), list(range(1, X.shape[1])))
    return {
        "test": "Wald (CR2, HTZ)" if test.se_type.startswith("CR2") else "Wald (CR1)",
        "statistic": float(test.f),
        "df1": float(test.df_num),
        "df2": float(test.df_denom),
        "p": float(test.p),
        "se_type": test.se_type,
        "n_clusters": int(sub[clusters].nunique()),
    }


def compare_groups(
    data: pd.DataFrame,
    outcomes: list[str],
    by: str,
    levels: list[str] | None = None,
    min_group: int = 2,
    clusters: str | None = None,
) -> list[dict]:
    """Compare each outcome's mean across the groups of ``by``.

    Two groups: Welch's t-test with Hedges' g (first group minus second, groups in the order of
    ``levels``, else of appearance). More groups: Welch's one-way ANOVA with η². Groups with
    fewer than ``min_group`` scores are left out and named.

    When ``clusters`` names the unit column and ``by`` is an attribute of the unit (every
    respondent of a unit has the same value, as a unit's ``level``), respondents are not
    independent replications of the group difference: the test is then a cluster-robust Wald test
    of the group dummies in an OLS of the outcome (CR2 with the HTZ test below 40 units, CR1 with
    F(q, G − 1) from 40; :mod:`jianfu.stats.cluster_robust`), and ``clustered`` is True. The
    effect size stays the descriptive Hedges' g or η².

    Returns
    -------
    list of dict
        One per outcome: ``outcome, by, test, statistic, df1, df2, p, effect, effect_size,
        groups[{group, n, mean, sd}], dropped_groups, clustered`` (and ``se_type``,
        ``n_clusters`` when clustered).
    """
    clustered = (
        clusters is not None and clusters in data and by != clusters and is_cluster_attribute(data, by, clusters)
    )
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
        entry["clustered"] = bool(clustered)
        if clustered and len(keep) >= 2 and varies:
            cl = data.loc[sub.index, clusters]
            try:
                entry |= _clustered_test(sub.assign(**{clusters: cl}).dropna(subset=[clusters]), y, by, clusters, order)
            except NotEstimable as exc:
                entry |= {"test": None, "statistic": None, "df1": None, "df2": None, "p": None, **exc.result()}
            values = list(groups.values())
            if len(keep) == 2:
                entry |= {"effect": "hedges_g", "effect_size": float(pg.compute_effsize(*values, eftype="hedges"))}
            else:
                allv = np.concatenate(values)
                ss_between = sum(len(v) * (v.mean() - allv.mean()) ** 2 for v in values)
                ss_total = float(((allv - allv.mean()) ** 2).sum())
                entry |= {"effect": "eta_squared", "effect_size": float(ss_between / ss_total) if ss_total else None}
        elif len(keep) == 2 and varies:
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
