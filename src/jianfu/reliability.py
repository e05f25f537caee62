"""Internal-consistency reliability of a scale: Cronbach's α and McDonald's ω_total.

Both are computed on complete cases (listwise over the scale's items), on reverse-keyed
items of accepted rows only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg

__all__ = ["cronbach_alpha", "omega_total"]


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
    >>> # In R: psych::alpha(df)
    >>> df = pg.read_dataset("cronbach_wide_missing")   # doctest: +SKIP
    >>> round(cronbach_alpha(df)[0], 4)                   # doctest: +SKIP
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
