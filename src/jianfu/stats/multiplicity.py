"""Many tests and how large the effects are.

Holm / Benjamini–Hochberg adjusted p-values, Hedges' g and η² / ω² of a one-way design, each
effect with its confidence interval.

**Adjusted p.** A family of m tests (the group comparisons, a correlation table, the exploratory
terms of a model) is adjusted together. With p₍₁₎ ≤ … ≤ p₍ₘ₎,

* Holm (1979), controls the family-wise error rate: p̃₍ᵢ₎ = maxₖ≤ᵢ min(1, (m − k + 1) p₍ₖ₎);
* Benjamini & Hochberg (1995), controls the false discovery rate under independence or positive
  dependence: p̃₍ᵢ₎ = minₖ≥ᵢ min(1, m p₍ₖ₎ / k).

Missing p-values (a test that could not be run) stay missing and are not counted in m, as
R's ``p.adjust``.

**Hedges' g** (Hedges, 1981) is Cohen's d with the pooled SD, times the exact small-sample
correction J(ν) = Γ(ν/2) / (√(ν/2) Γ((ν − 1)/2)), ν = n₁ + n₂ − 2. Its interval inverts the
noncentral t: t = d √(n₁n₂/(n₁ + n₂)) follows t(ν, λ) with λ = δ √(n₁n₂/(n₁ + n₂)); the limits
λ_L, λ_U solve P(T ≤ t | λ) = 1 − α/2 and α/2 (Steiger & Fouladi, 1997) and are rescaled to d and
multiplied by J, as ``effectsize::hedges_g`` does. It is exact for normal data with equal variances,
where the normal-approximation SE of Hedges & Olkin (1985) is too narrow in small groups.

**η² and ω²** of a one-way ANOVA with SS_effect on df₁ and SS_error on df₂:
η² = SS_effect / (SS_effect + SS_error) and ω² = (SS_effect − df₁ MS_error) / (SS_total + MS_error)
(Hays, 1963), the less biased estimate of the same population proportion; ω² below 0 (F < 1)
is reported as 0, the bound of the parameter. The interval is for that population proportion
(Steiger, 2004): λ_L, λ_U solve P(F ≤ F_obs | df₁, df₂, λ) = 1 − α/2 and α/2 (0 when F_obs is
too small), and λ ↦ λ / (λ + N), N = df₁ + df₂ + 1, as MBESS's ``ci.pvaf``; both η² and ω² get
that interval.

References
----------
Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: A practical and
powerful approach to multiple testing. *Journal of the Royal Statistical Society B*, 57(1), 289–300.
Hays, W. L. (1963). *Statistics for psychologists*. Holt, Rinehart and Winston.
Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related
estimators. *Journal of Educational Statistics*, 6(2), 107–128.
Hedges, L. V., & Olkin, I. (1985). *Statistical methods for meta-analysis*. Academic Press.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian Journal
of Statistics*, 6(2), 65–70.
Steiger, J. H. (2004). Beyond the F test: Effect size confidence intervals and tests of close fit
in the analysis of variance and contrast analysis. *Psychological Methods*, 9(2), 164–182.
Steiger, J. H., & Fouladi, R. T. (1997). Noncentrality interval estimation and the evaluation of
statistical models. In L. L. Harlow et al. (Eds.), *What if there were no significance tests?*
(pp. 221–257). Erlbaum.

Examples
--------
>>> adjust([0.01, 0.04, None, 0.03], "holm").round(3).tolist()   # In R: p.adjust(p, "holm")
[0.03, 0.06, nan, 0.06]
>>> adjust([0.01, 0.04, None, 0.03], "bh").round(3).tolist()     # In R: p.adjust(p, "BH")
[0.03, 0.04, nan, 0.04]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from jianfu.stats.estimable import require

__all__ = ["METHODS", "EffectSize", "OneWayAnova", "adjust", "hedges_g", "eta_squared", "omega_squared", "oneway_anova"]

METHODS = {"holm": "Holm (1979)", "bh": "Benjamini–Hochberg (1995)"}
"""Adjustment methods :func:`adjust` knows, with the reference to cite next to ``p_adj_method``."""


def adjust(p, method: str = "holm"):
    """Adjusted p-values of one family of tests, as R's ``p.adjust``.

    Parameters
    ----------
    p : array-like or Series
        Unadjusted p-values in [0, 1]; NaN / None for tests that were not run.
    method : {"holm", "bh"}
        Holm's step-down (family-wise error rate) or Benjamini–Hochberg (false discovery rate);
        case-insensitive, ``"BH"`` and R's alias ``"fdr"`` accepted.

    Returns
    -------
    ndarray or Series
        Adjusted p in the input order (a Series keeps its index); NaN where the input is NaN.

    Notes
    -----
    m counts the non-missing p only. Holm: p̃₍ᵢ₎ = maxₖ≤ᵢ min(1, (m − k + 1) p₍ₖ₎); BH:
    p̃₍ᵢ₎ = minₖ≥ᵢ min(1, m p₍ₖ₎ / k). Ties get equal adjusted values.

    Examples
    --------
    >>> import pandas as pd
    >>> adjust(pd.Series({"a": 0.01, "b": 0.02, "c": 0.5}), "holm").to_dict()
    {'a': 0.03, 'b': 0.04, 'c': 0.5}
    """
    key = method.lower()
    key = "bh" if key == "fdr" else key
    if key not in METHODS:
        raise ValueError(
            f"未知的校正方法 {method!r}，可选 holm 或 bh | unknown adjustment {method!r}: use 'holm' or 'bh'"
        )
    index = p.index if isinstance(p, pd.Series) else None
    values = np.asarray(pd.to_numeric(pd.Series(p, dtype=object), errors="raise"), dtype=float).ravel()
    ok = ~np.isnan(values)
    if ((values[ok] < 0) | (values[ok] > 1)).any():
        raise ValueError("p 值须在 0 与 1 之间 | p-values must lie between 0 and 1")
    out = np.full(values.shape, np.nan)
    q = values[ok]
    m = len(q)
    if m:
        if key == "holm":
            order = np.argsort(q, kind="stable")
            adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
        else:
            order = np.argsort(-q, kind="stable")  # largest first, as p.adjust
            adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * q[order])
        res = np.empty(m)
        res[order] = np.minimum(adj, 1.0)
        out[ok] = res
    return pd.Series(out, index=index, name=getattr(p, "name", None)) if index is not None else out


@dataclass(frozen=True)
class EffectSize:
    """An effect size with its confidence interval; ``ci_method`` names how the interval was found."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    level: float
    ci_method: str


@dataclass(frozen=True)
class OneWayAnova:
    """The classical one-way ANOVA table: between (effect) and within (error) sums of squares."""

    ss_effect: float
    ss_error: float
    df_effect: int
    df_error: int
    f: float
    p: float


def _root(fun, target: float, upper_start: float) -> float:
    """The λ ≥ 0 at which the decreasing ``fun(λ)`` equals ``target`` (0 when already below at λ = 0)."""
    if fun(0.0) <= target:
        return 0.0
    hi = max(upper_start, 1.0)
    while fun(hi) > target:
        hi *= 2
    return float(optimize.brentq(lambda lam: fun(lam) - target, 0.0, hi, xtol=1e-12, rtol=1e-12))


def _signed_root(fun, target: float, start: float) -> float:
    """The λ (any sign) at which the decreasing ``fun(λ)`` equals ``target``."""
    width = max(abs(start), 1.0)
    lo, hi = start - width, start + width
    while fun(lo) < target:
        lo -= width
        width *= 2
    while fun(hi) > target:
        hi += width
        width *= 2
    return float(optimize.brentq(lambda lam: fun(lam) - target, lo, hi, xtol=1e-12, rtol=1e-12))


def hedges_g(x, y, level: float = 0.95) -> EffectSize:
    """Hedges' g of ``x`` minus ``y`` with the noncentral-t confidence interval.

    Parameters
    ----------
    x, y : array-like
        The two groups' scores; NaN are dropped.
    level : float
        Confidence level.

    Returns
    -------
    EffectSize
        g = J(ν) (x̄ − ȳ) / s_pooled with the exact J(ν), ν = n₁ + n₂ − 2, and the interval of the
        module notes (``ci_method = "noncentral t"``).

    Raises
    ------
    NotEstimable
        Fewer than 2 scores in a group, or no variance within groups.

    Examples
    --------
    >>> r = hedges_g([5.1, 4.9, 6.2, 5.8, 6.0], [4.2, 4.8, 5.0, 4.4, 5.3, 4.6])
    >>> round(r.estimate, 4), round(r.ci_low, 4), round(r.ci_high, 4)  # tests/reference/multiplicity_reference.R
    (1.6679, 0.3138, 2.9613)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    n1, n2 = len(x), len(y)
    require(n1 >= 2 and n2 >= 2, "每组至少需要 2 个有效分数", "each group needs at least 2 scores")
    df = n1 + n2 - 2
    sd = np.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / df)
    require(sd > 0, "组内分数没有变化", "the scores do not vary within groups")
    d = (x.mean() - y.mean()) / sd
    # gammaln keeps J finite for large ν, where Γ(ν/2) itself overflows.
    j = float(np.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / np.sqrt(df / 2))
    scale = np.sqrt(n1 * n2 / (n1 + n2))
    t = d * scale
    alpha = 1 - level

    def cdf(lam: float) -> float:
        return float(stats.nct.cdf(t, df, lam))

    lo = _signed_root(cdf, 1 - alpha / 2, t)
    hi = _signed_root(cdf, alpha / 2, t)
    return EffectSize("hedges_g", float(j * d), float(j * lo / scale), float(j * hi / scale), level, "noncentral t")


def oneway_anova(values, groups) -> OneWayAnova:
    """One-way ANOVA table of ``values`` by ``groups`` (rows with a missing value are dropped).

    Parameters
    ----------
    values : array-like
        Scores.
    groups : array-like
        Group label of each score.

    Returns
    -------
    OneWayAnova
        SS between and within groups, their df (k − 1, N − k), F and its p (``summary(aov())`` in R).

    Raises
    ------
    NotEstimable
        Fewer than 2 groups, no residual df, or no variance within groups.
    """
    frame = pd.DataFrame({"y": np.asarray(values, dtype=float), "g": np.asarray(groups)}).dropna()
    k, n = frame.g.nunique(), len(frame)
    require(k >= 2, "至少需要 2 个组", "at least 2 groups are needed")
    require(n > k, "每组的人数太少，没有组内自由度", "too few scores for any within-group degrees of freedom")
    means = frame.groupby("g").y.transform("mean")
    ss_error = float(((frame.y - means) ** 2).sum())
    ss_effect = float(((means - frame.y.mean()) ** 2).sum())
    require(ss_error > 0, "组内分数没有变化", "the scores do not vary within groups")
    f = (ss_effect / (k - 1)) / (ss_error / (n - k))
    return OneWayAnova(ss_effect, ss_error, k - 1, n - k, float(f), float(stats.f.sf(f, k - 1, n - k)))


def _pve_interval(ss_effect: float, ss_error: float, df_effect: int, df_error: int, level: float) -> tuple:
    f = (ss_effect / df_effect) / (ss_error / df_error)
    alpha = 1 - level

    def cdf(lam: float) -> float:
        return float(stats.f.cdf(f, df_effect, df_error) if lam == 0 else stats.ncf.cdf(f, df_effect, df_error, lam))

    start = df_effect * max(f, 1.0)
    lam_lo, lam_hi = _root(cdf, 1 - alpha / 2, start), _root(cdf, alpha / 2, start)
    n = df_effect + df_error + 1
    return lam_lo / (lam_lo + n), lam_hi / (lam_hi + n)


def _check_table(ss_effect: float, ss_error: float, df_effect: int, df_error: int) -> None:
    require(df_effect >= 1 and df_error >= 1, "自由度不足", "not enough degrees of freedom")
    require(ss_error > 0 and ss_effect >= 0, "组内分数没有变化", "the scores do not vary within groups")


def eta_squared(ss_effect: float, ss_error: float, df_effect: int, df_error: int, level: float = 0.95) -> EffectSize:
    """η² of a one-way design from its ANOVA table, with the noncentral-F interval.

    Parameters
    ----------
    ss_effect, ss_error : float
        Between-groups and within-groups sums of squares.
    df_effect, df_error : int
        Their degrees of freedom (k − 1 and N − k).
    level : float
        Confidence level.

    Returns
    -------
    EffectSize
        η² = SS_effect / (SS_effect + SS_error); the interval is for the population proportion of
        variance (module notes, ``ci_method = "noncentral F (Steiger 2004)"``).

    Examples
    --------
    >>> t = OneWayAnova(3.76634, 10.49209, 2, 27, 4.846088, 0.01590996)     # R: PlantGrowth
    >>> round(eta_squared(t.ss_effect, t.ss_error, t.df_effect, t.df_error).estimate, 4)
    0.2641
    """
    _check_table(ss_effect, ss_error, df_effect, df_error)
    low, high = _pve_interval(ss_effect, ss_error, df_effect, df_error, level)
    return EffectSize(
        "eta_squared", ss_effect / (ss_effect + ss_error), low, high, level, "noncentral F (Steiger 2004)"
    )


def omega_squared(ss_effect: float, ss_error: float, df_effect: int, df_error: int, level: float = 0.95) -> EffectSize:
    """ω² of a one-way design from its ANOVA table, with the noncentral-F interval.

    Parameters
    ----------
    ss_effect, ss_error : float
        Between-groups and within-groups sums of squares.
    df_effect, df_error : int
        Their degrees of freedom (k − 1 and N − k).
    level : float
        Confidence level.

    Returns
    -------
    EffectSize
        ω² = (SS_effect − df_effect · MS_error) / (SS_effect + SS_error + MS_error), 0 when that is
        negative; the interval as :func:`eta_squared` (the same population proportion).

    Examples
    --------
    >>> round(omega_squared(3.76634, 10.49209, 2, 27).estimate, 4)                  # R: PlantGrowth
    0.2041
    """
    _check_table(ss_effect, ss_error, df_effect, df_error)
    ms_error = ss_error / df_error
    omega = (ss_effect - df_effect * ms_error) / (ss_effect + ss_error + ms_error)
    low, high = _pve_interval(ss_effect, ss_error, df_effect, df_error, level)
    return EffectSize("omega_squared", max(omega, 0.0), low, high, level, "noncentral F (Steiger 2004)")
