"""Internal-consistency reliability of a scale: Cronbach's α and McDonald's ω_total.

Also the item analysis reviewers ask for (item-rest correlations, α if an item is deleted).

Both are computed on complete cases (listwise over the scale's items), on reverse-keyed
items of accepted rows only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg

__all__ = ["cronbach_alpha", "omega_total", "item_analysis", "response_distribution"]


def cronbach_alpha(items: pd.DataFrame, ci: float = 0.95) -> tuple[float, tuple[float, float]]:
    """Cronbach's α with its parametric confidence interval (listwise deletion).

    Notes
    -----
    α = k/(k−1) · (1 − Σσ²ᵢ / σ²ₜ). The CI is Feldt's F-based interval, as in pingouin and
    ``psych::alpha``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika*, 16(3), 297–334.

    Examples
    --------
    pingouin ships the data of its own documented example; ``psych::alpha`` in R gives .8017 on its
    complete rows too.

    >>> import pingouin as pg
    >>> df = pg.read_dataset("cronbach_wide_missing")
    >>> round(cronbach_alpha(df)[0], 4)
    0.8017
    """
    data = items.dropna()
    if data.shape[1] < 2 or len(data) < 3:
        return float("nan"), (float("nan"), float("nan"))
    alpha, interval = pg.cronbach_alpha(data=data, nan_policy="listwise", ci=ci)
    return float(alpha), (float(interval[0]), float(interval[1]))


def omega_total(items: pd.DataFrame) -> float:
    """McDonald's ω_total from a one-factor maximum-likelihood model of the item correlations.

    Notes
    -----
    With standardised loadings λᵢ and uniquenesses ψᵢ = 1 − λᵢ², ω = (Σλᵢ)² / ((Σλᵢ)² + Σψᵢ).
    This is the congeneric reliability of the unit-weighted sum of standardised items.

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
    """
    from factor_analyzer import FactorAnalyzer

    data = items.dropna()
    if data.shape[1] < 3 or len(data) <= data.shape[1]:
        return float("nan")
    data = data.loc[:, data.std() > 0]
    if data.shape[1] < 3:
        return float("nan")
    fa = FactorAnalyzer(n_factors=1, rotation=None, method="ml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa.fit(data.to_numpy(dtype=float))
    lam = np.abs(fa.loadings_[:, 0])
    psi = 1 - lam**2
    return float(lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum()))


def _alpha(cov: np.ndarray) -> float:
    k = cov.shape[0]
    return k / (k - 1) * (1 - np.trace(cov) / cov.sum())


def item_analysis(items: pd.DataFrame) -> pd.DataFrame:
    """Item analysis of a scale, one row per item.

    n, mean, SD, skewness, excess kurtosis, corrected item-total (item-rest) correlation and α if
    the item is deleted, as ``psych::alpha``'s ``r.drop`` and ``alpha.drop$raw_alpha`` (complete cases).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [1, 3, 3, 4, 5]})
    >>> float(item_analysis(df).loc["a", "item_rest_r"].round(3))
    0.97
    """
    data = items.dropna().astype(float)
    x = data.to_numpy()
    cov = np.cov(x, rowvar=False)
    total = x.sum(axis=1)
    k = x.shape[1]
    rest_r, alpha_del = [], []
    for j in range(k):
        rest = total - x[:, j]
        rest_r.append(float(np.corrcoef(x[:, j], rest)[0, 1]) if rest.std() > 0 and x[:, j].std() > 0 else float("nan"))
        keep = [i for i in range(k) if i != j]
        alpha_del.append(float(_alpha(cov[np.ix_(keep, keep)])) if k > 2 else float("nan"))
    return pd.DataFrame(
        {
            "n": len(data),
            "mean": data.mean(),
            "sd": data.std(ddof=1),
            "skew": data.skew(),
            "kurtosis": data.kurt(),
            "item_rest_r": rest_r,
            "alpha_if_deleted": alpha_del,
        },
        index=data.columns,
    )


def response_distribution(items: pd.DataFrame, codes: list[int]) -> pd.DataFrame:
    """Share of answers per response code, per item (missing answers excluded), plus n."""
    data = items.astype(float)
    table = pd.DataFrame({c: (data == c).sum() for c in codes})
    n = data.notna().sum()
    share = table.div(n.where(n > 0), axis=0)
    share["n"] = n
    return share
