"""Within-unit agreement and between-unit reliability for constructs about the unit (``referent: unit``).

Items worded about the unit ("我们单位……") ask respondents to report a shared property. Before such
scores are aggregated to units or used to rank them, three things are checked (Bliese, 2000;
LeBreton & Senter, 2008):

* **ICC(1)** — the share of the variance of individual scores that lies between units, from the
  one-way ANOVA: (MSB − MSW) / (MSB + (k − 1)·MSW), with k the mean group size N / G, as R
  ``multilevel::ICC1`` computes it from ``aov``;
* **ICC(2)** — the reliability of the unit means: (MSB − MSW) / MSB;
* **r_wg(j)** — within-unit agreement on a J-item scale against a uniform null (James, Demaree &
  Wolf, 1984): J(1 − s̄²/σ²_EU) / [J(1 − s̄²/σ²_EU) + s̄²/σ²_EU], s̄² the mean item variance in the
  unit, σ²_EU = (A² − 1)/12 for A response options; values outside [0, 1] are set to 0, as
  ``multilevel::rwg.j`` does. ≥ .70 is the usual threshold for "enough agreement".

References
----------
Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability. In K. J. Klein &
S. W. J. Kozlowski (Eds.), *Multilevel theory, research, and methods in organizations*
(pp. 349–381). Jossey-Bass.
James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group interrater reliability with
and without response bias. *Journal of Applied Psychology*, 69(1), 85–98.
LeBreton, J. M., & Senter, J. L. (2008). Answers to 20 questions about interrater reliability and
interrater agreement. *Organizational Research Methods*, 11(4), 815–852.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"unit": list("aaabbbccc"), "y": [4, 5, 4, 2, 1, 2, 3, 3, 4]})
>>> {k: round(v, 3) for k, v in icc(df["y"], df["unit"]).items() if k in ("icc1", "icc2")}
{'icc1': 0.836, 'icc2': 0.939}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jianfu.stats.estimable import require

__all__ = ["icc", "rwg_j", "unit_agreement"]

#: The conventional threshold of r_wg(j) for "enough agreement" (LeBreton & Senter, 2008).
RWG_THRESHOLD = 0.70


def icc(y: pd.Series, units: pd.Series) -> dict:
    """ICC(1) and ICC(2) of ``y`` across ``units`` from the one-way ANOVA (Bliese, 2000).

    Parameters
    ----------
    y : Series
        Individual scores; missing values are left out.
    units : Series
        The unit of each row.

    Returns
    -------
    dict
        ``icc1, icc2, msb, msw, k`` (the mean group size), ``n``, ``n_units``.
    """
    data = pd.DataFrame({"y": y.to_numpy(float), "g": units.to_numpy()}).dropna()
    sizes = data.groupby("g")["y"].size()
    sizes = sizes[sizes > 0]
    n, g = int(sizes.sum()), int(len(sizes))
    require(
        g >= 2 and n > g, "少于 2 个单位或每单位只有 1 人，无法计算 ICC", "fewer than 2 units or one respondent each"
    )
    means = data.groupby("g")["y"].transform("mean")
    grand = data["y"].mean()
    ssb = float(((means - grand) ** 2).sum())
    ssw = float(((data["y"] - means) ** 2).sum())
    msb, msw = ssb / (g - 1), ssw / (n - g)
    k = n / g
    require(msb > 0, "各单位均值完全相同，无法计算 ICC", "the unit means are all equal")
    return {
        "icc1": (msb - msw) / (msb + (k - 1) * msw),
        "icc2": (msb - msw) / msb,
        "msb": msb,
        "msw": msw,
        "k": k,
        "n": n,
        "n_units": g,
    }


def rwg_j(items: pd.DataFrame, units: pd.Series, n_options: int) -> pd.DataFrame:
    """r_wg(j) of each unit on a J-item scale against the uniform null distribution.

    Parameters
    ----------
    items : DataFrame
        The scale's item answers (rows: respondents); a respondent is used when every item is answered.
    units : Series
        The unit of each row.
    n_options : int
        Number of response options A (σ²_EU = (A² − 1) / 12).

    Returns
    -------
    DataFrame
        Per unit: ``rwg`` (0 when the formula leaves [0, 1]), ``n`` (complete respondents), ``mean_var``.
        Units with fewer than two complete respondents have ``rwg`` NaN.
    """
    complete = items.assign(_g=units.to_numpy()).dropna()
    j = items.shape[1]
    sigma_eu = (n_options**2 - 1) / 12
    grouped = complete.groupby("_g", sort=True)
    n = grouped.size()
    ratio = grouped.var(ddof=1).mean(axis=1) / sigma_eu  # NaN for a unit of one
    with np.errstate(divide="ignore", invalid="ignore"):
        value = j * (1 - ratio) / (j * (1 - ratio) + ratio)
    rwg = np.where(n < 2, np.nan, np.where((value >= 0) & (value <= 1), value, 0.0))
    out = pd.DataFrame({"rwg": rwg, "n": n.to_numpy(), "mean_var": ratio * sigma_eu}, index=n.index)
    return out.rename_axis("unit")


def unit_agreement(score: pd.Series, items: pd.DataFrame, units: pd.Series, n_options: int) -> dict:
    """ICC(1), ICC(2) and r_wg(j) of a unit-referent scale: whether its unit means are meaningful.

    Returns
    -------
    dict
        ``icc1, icc2, n_units, rwg_mean, rwg_median, rwg_share_ok`` (share of units with r_wg(j) ≥ .70),
        ``rwg_threshold``, ``n``.
    """
    out = {k: v for k, v in icc(score, units).items() if k in ("icc1", "icc2", "n", "n_units")}
    rwg = rwg_j(items, units, n_options)["rwg"].dropna()
    out |= {
        "rwg_mean": float(rwg.mean()) if len(rwg) else None,
        "rwg_median": float(rwg.median()) if len(rwg) else None,
        "rwg_share_ok": float((rwg >= RWG_THRESHOLD).mean()) if len(rwg) else None,
        "rwg_threshold": RWG_THRESHOLD,
    }
    return out
