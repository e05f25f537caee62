"""Descriptive statistics of scale scores, their correlations, and group comparisons.

The correlation matrix comes with p-values and stars; groups are compared by Welch's t and Welch's
ANOVA with effect sizes; after Welch's ANOVA come Games–Howell comparisons of every pair of groups and
η² with its noncentral-F interval.

References
----------
Welch, B. L. (1951). On the comparison of several mean values: An alternative approach.
*Biometrika*, 38(3/4), 330–336.
Delacre, M., Lakens, D., & Leys, C. (2017). Why psychologists should by default use Welch's
t-test instead of Student's t-test. *International Review of Social Psychology*, 30(1), 92–101.
Games, P. A., & Howell, J. F. (1976). Pairwise multiple comparison procedures with unequal n's and/or
variances: A Monte Carlo study. *Journal of Educational Statistics*, 1(2), 113–125.
Steiger, J. H. (2004). Beyond the F test: Effect size confidence intervals and tests of close fit in the
analysis of variance and contrast analysis. *Psychological Methods*, 9(2), 164–182.

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
from scipy import optimize, special, stats

from jianfu.stats.cluster_robust import wald_test_clustered
from jianfu.stats.estimable import NotEstimable, not_estimable

__all__ = [
    "stars",
    "describe",
    "correlation_table",
    "compare_groups",
    "games_howell",
    "eta_squared",
    "is_cluster_attribute",
]


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


#: Gauss–Legendre nodes for the studentized range: 128 for z (the smallest of k standard normals) over
#: [−8.5, 8.5], where φ(z) < 10⁻¹⁵ outside, and 64 for s = χ_ν/√ν between its 10⁻¹⁵ and 1 − 10⁻¹⁵ quantiles.
#: 128 z nodes keep the error below 10⁻¹⁰ up to k = 100 groups (48 would give 10⁻⁴ at k = 20).
_Z_NODES, _Z_WEIGHTS = np.polynomial.legendre.leggauss(128)
_Z = 8.5 * _Z_NODES
_PHI_W = 8.5 * _Z_WEIGHTS * np.exp(-(_Z**2) / 2) / np.sqrt(2 * np.pi)
_PHI_Z = stats.norm.cdf(_Z)
_S_NODES, _S_WEIGHTS = np.polynomial.legendre.leggauss(64)
#: Above this many degrees of freedom s = 1: the range of k normals itself (10⁻¹⁵ from the limit).
_DF_INFINITE = 1e9
#: Below this many degrees of freedom the s-nodes are spread as u³ from 0 (see :func:`_chi_nodes`).
_DF_SMALL = 30.0


def _chi_nodes(df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes s and weights g (shape df.shape + (64,)) for integrals over s = χ_ν/√ν.

    Above :data:`_DF_SMALL` the density is near-normal and Gauss–Legendre between its 10⁻¹⁵ quantiles is
    exact to rounding. Below, its factor s^(ν−1) is not smooth at 0 (ν = 1.5 would cost four digits), so
    the nodes sit on s = s_max·u³, u ∈ [0, 1], where the integrand is u^(3ν−1) times a smooth function.
    """
    finite = df < _DF_INFINITE
    nu = np.where(finite, df, 1.0)
    small = finite & (nu < _DF_SMALL)
    lo = np.where(finite & ~small, np.sqrt(stats.chi2.ppf(1e-15, nu) / nu), np.where(small, 0.0, 1.0))
    hi = np.where(finite, np.sqrt(stats.chi2.isf(1e-15, nu) / nu), 1.0)
    u = (_S_NODES + 1) / 2
    linear = (lo + hi)[..., None] / 2 + (hi - lo)[..., None] / 2 * _S_NODES
    s = np.where(small[..., None], hi[..., None] * u**3, linear)
    jacobian = np.where(small[..., None], hi[..., None] * 3 * u**2 / 2, (hi - lo)[..., None] / 2)
    d = nu[..., None]
    log_c = d / 2 * np.log(d) - special.gammaln(d / 2) - (d / 2 - 1) * np.log(2)
    g = np.exp(log_c + (d - 1) * np.log(s) - d * s**2 / 2) * jacobian * _S_WEIGHTS
    return s, np.where(finite[..., None], g, _S_WEIGHTS / 2)


def _studentized_range(q, k, df) -> tuple[np.ndarray, np.ndarray]:
    """Upper tail P(Q > q) of the studentized range of k means with df error degrees of freedom, and its density.

    P(Q ≤ q) = ∫ g_ν(s) W(qs) ds with W(w) = k ∫ φ(z) [Φ(z + w) − Φ(z)]^(k−1) dz the range CDF of k standard
    normals and g_ν the density of s = χ_ν/√ν (Copenhaver & Holland, 1988); both integrals by Gauss–Legendre
    quadrature, vectorised over q, k and df (scipy's ``studentized_range`` integrates adaptively and takes
    0.1–2 s per value; a survey's post hoc tables need thousands). Accurate to about 10⁻⁸ (tested against
    R's ``ptukey`` and the exact k = 2 case, Q = √2·|t|), finer than ``ptukey`` for ν < 10 or ν > 25 000.
    Unlike ``ptukey`` it takes 1 ≤ ν < 2, which Welch's df reaches when a group has two respondents.
    """
    q, k, df = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (q, k, df)))
    s, g = _chi_nodes(df)
    w = (q[..., None] * s)[..., None]
    kk = k[..., None, None]
    width = np.clip(special.ndtr(_Z + w) - _PHI_Z, 0, 1)
    cdf = (kk * width ** (kk - 1) * _PHI_W).sum(axis=-1)
    phi_zw = np.exp(-((_Z + w) ** 2) / 2) / np.sqrt(2 * np.pi)
    density = (kk * (kk - 1) * phi_zw * width ** (kk - 2) * _PHI_W).sum(axis=-1)
    return (g * (1 - cdf)).sum(axis=-1), (g * s * density).sum(axis=-1)


def _studentized_range_quantile(p: float, k, df) -> np.ndarray:
    """The p-quantile of the studentized range (R's ``qtukey``): Newton's method from Lund & Lund's (1983) start."""
    k, df = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(df, dtype=float))
    # AS 190.2 starting value, as R's qtukey.
    ps = 0.5 - 0.5 * p
    yi = np.sqrt(np.log(1 / ps**2))
    t = yi + ((((yi * -0.453642210148e-04 - 0.204231210125) * yi - 0.342242088547) * yi - 1) * yi + 0.322232421088) / (
        (((yi * 0.38560700634e-02 + 0.103537752850) * yi + 0.531103462366) * yi + 0.588581570495) * yi
        + 0.993484626060e-01
    )
    small = df < 120
    t = np.where(small, t + (t**3 + t) / df / 4, t)
    c = 0.8832 - 0.2368 * t + np.where(small, -1.214 / df + 1.208 * t / df, 0)
    q = t * (c * np.log(k - 1) + 1.4142)
    for _ in range(50):
        sf, density = _studentized_range(q, k, df)
        step = ((1 - p) - sf) / density
        q = np.maximum(q - step, q / 2)
        if np.all(np.abs(step) < 1e-10 * q):
            break
    return q


def games_howell(groups: dict, ci: float = 0.95) -> list[dict]:
    """Games–Howell pairwise comparisons of group means with unequal variances and sizes.

    Parameters
    ----------
    groups : dict
        Group name → array of scores, in the order the comparisons are listed.
    ci : float
        Simultaneous coverage of the intervals.

    Returns
    -------
    list of dict
        One per pair (i < j in the order of ``groups``): ``group1, group2, diff`` (mean of group1 minus
        mean of group2), ``se, t, df, p`` (adjusted for all k(k − 1)/2 pairs by the studentized range),
        ``ci_low, ci_high``. Statistics are None for a pair whose two groups both have no variance.

    Notes
    -----
    For groups i, j with means m, variances v and sizes n: SE = √(vᵢ/nᵢ + vⱼ/nⱼ), t = (mᵢ − mⱼ)/SE, Welch's
    df = (vᵢ/nᵢ + vⱼ/nⱼ)² / ((vᵢ/nᵢ)²/(nᵢ − 1) + (vⱼ/nⱼ)²/(nⱼ − 1)); p = P(Q_{k,df} > √2·|t|) and the
    interval is (mᵢ − mⱼ) ± q_{1−α; k, df}/√2 · SE, with Q the studentized range of k groups (Games &
    Howell, 1976). It is the post hoc test that goes with Welch's ANOVA: neither assumes equal variances.
    ``rstatix::games_howell_test`` reports the same p and interval for mⱼ − mᵢ.

    References
    ----------
    Games, P. A., & Howell, J. F. (1976). Pairwise multiple comparison procedures with unequal n's and/or
    variances: A Monte Carlo study. *Journal of Educational Statistics*, 1(2), 113–125.
    Copenhaver, M. D., & Holland, B. (1988). Computation of the distribution of the maximum studentized range
    statistic with application to multiple significance testing of simple effects. *Journal of Statistical
    Computation and Simulation*, 30(1), 1–15.

    Examples
    --------
    R's ``PlantGrowth`` (dried plant weight under a control and two treatments):

    >>> ctrl = [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14]
    >>> trt1 = [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69]
    >>> trt2 = [6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26]
    >>> gh = games_howell({"ctrl": ctrl, "trt1": trt1, "trt2": trt2})
    >>> [(r["group1"], r["group2"], round(r["p"], 4)) for r in gh]  # In R: rstatix::games_howell_test(...)
    [('ctrl', 'trt1', 0.4746), ('ctrl', 'trt2', 0.1129), ('trt1', 'trt2', 0.0237)]
    """
    names = list(groups)
    values = [np.asarray(groups[g], dtype=float) for g in names]
    k = len(values)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    if k < 2:
        return []
    m = np.array([v.mean() for v in values])
    n = np.array([len(v) for v in values], dtype=float)
    u = np.array([v.var(ddof=1) for v in values]) / n
    i, j = np.array(pairs).T
    se = np.sqrt(u[i] + u[j])
    ok = se > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = m[i] - m[j]
        t = diff / se
        df = (u[i] + u[j]) ** 2 / (u[i] ** 2 / (n[i] - 1) + u[j] ** 2 / (n[j] - 1))
    p = np.full(len(pairs), np.nan)
    half = np.full(len(pairs), np.nan)
    if ok.any():
        p[ok] = np.clip(_studentized_range(np.sqrt(2) * np.abs(t[ok]), k, df[ok])[0], 0, 1)
        half[ok] = _studentized_range_quantile(ci, k, df[ok]) / np.sqrt(2) * se[ok]

    def num(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    return [
        {
            "group1": str(names[a]),
            "group2": str(names[b]),
            "diff": float(diff[r]),
            "se": num(se[r]) if ok[r] else None,
            "t": num(t[r]) if ok[r] else None,
            "df": num(df[r]) if ok[r] else None,
            "p": num(p[r]),
            "ci_low": num(diff[r] - half[r]),
            "ci_high": num(diff[r] + half[r]),
        }
        for r, (a, b) in enumerate(pairs)
    ]


def _noncentrality_interval(f: float, df1: float, df2: float, ci: float) -> tuple[float, float]:
    """Bounds of the noncentrality λ of F(df1, df2, λ) at which the observed F is the upper/lower (1 − ci)/2 point."""
    a = (1 - ci) / 2

    def cdf(lam: float) -> float:
        return float(stats.f.cdf(f, df1, df2) if lam == 0 else stats.ncf.cdf(f, df1, df2, lam))

    def solve(target: float) -> float:
        if cdf(0.0) <= target:
            return 0.0
        hi = max(f * df1, 1.0)
        while cdf(hi) > target:
            hi *= 2
        return float(optimize.brentq(lambda lam: cdf(lam) - target, 0.0, hi, xtol=1e-12, rtol=1e-12))

    return solve(1 - a), solve(a)


def eta_squared(groups: dict | list, ci: float = 0.95) -> dict:
    """η² and ω² of a one-way design, with the confidence interval of η² from the noncentral F.

    Parameters
    ----------
    groups : dict or list
        Arrays of scores, one per group (dict values are used).
    ci : float
        Coverage of the two-sided interval.

    Returns
    -------
    dict
        ``eta2`` (SS_between / SS_total), ``eta2_ci`` [low, high], ``omega2``, and the classic one-way
        ``f``, ``df1``, ``df2`` the interval inverts, ``ci_method``.

    Notes
    -----
    With k groups and N scores: F = (SS_b/(k − 1)) / (SS_w/(N − k)). The interval inverts the noncentral F
    (Steiger, 2004): λ_L and λ_U solve P(F(k − 1, N − k, λ) ≤ F_obs) = 1 − α/2 and α/2 (0 when F_obs is
    below that point of the central F), and η² = λ/(λ + N) at each bound, since λ = N·f² for a fixed-effects
    one-way design. ``effectsize::eta_squared(ci = .95, alternative = "two.sided")`` finds the same λ bounds
    but maps them by λ/(λ + N − k), which moves the bounds up for small N (PlantGrowth, N = 30: upper bound
    .490 there, .464 here; they agree as N grows). ω² = (SS_b − (k − 1)·MS_w) / (SS_total + MS_w) (Hays),
    less biased than η², reported as 0 when negative (as ``effectsize::omega_squared``); no interval is
    given for it.

    The interval is based on the classic equal-variance F, the F that η² is a function of, also when the
    test reported is Welch's F: Welch's statistic has no noncentral-F counterpart for η², so with
    markedly unequal group variances the interval is approximate.

    References
    ----------
    Steiger, J. H. (2004). Beyond the F test: Effect size confidence intervals and tests of close fit in the
    analysis of variance and contrast analysis. *Psychological Methods*, 9(2), 164–182.
    Olejnik, S., & Algina, J. (2003). Generalized eta and omega squared statistics. *Psychological
    Methods*, 8(4), 434–447.

    Examples
    --------
    >>> ctrl = [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14]
    >>> trt1 = [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69]
    >>> trt2 = [6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26]
    >>> e = eta_squared([ctrl, trt1, trt2])  # In R: effectsize::eta_squared(aov(weight ~ group, PlantGrowth))
    >>> round(e["eta2"], 4), [round(b, 4) for b in e["eta2_ci"]], round(e["omega2"], 4)
    (0.2641, [0.0099, 0.4639], 0.2041)
    """
    values = [np.asarray(v, dtype=float) for v in (groups.values() if isinstance(groups, dict) else groups)]
    allv = np.concatenate(values)
    n, k = len(allv), len(values)
    ss_total = float(((allv - allv.mean()) ** 2).sum())
    ss_between = float(sum(len(v) * (v.mean() - allv.mean()) ** 2 for v in values))
    ss_within = ss_total - ss_between
    df1, df2 = k - 1, n - k
    out = {"eta2": None, "eta2_ci": None, "omega2": None, "f": None, "df1": df1, "df2": df2, "ci_method": None}
    if ss_total <= 0 or df1 < 1 or df2 < 1:
        return out
    ms_within = ss_within / df2
    omega2 = (ss_between - df1 * ms_within) / (ss_total + ms_within)
    out |= {"eta2": ss_between / ss_total, "omega2": max(omega2, 0.0)}
    if ss_within > 0:
        f = (ss_between / df1) / ms_within
        lo, hi = _noncentrality_interval(f, df1, df2, ci)
        out |= {
            "f": f,
            "eta2_ci": [lo / (lo + n), hi / (hi + n)],
            "ci_method": "noncentral F (Steiger 2004), classic one-way F",
        }
    return out


def hedges_g(a: np.ndarray, b: np.ndarray) -> float:
    """Hedges' g of two independent samples (as ``pingouin.compute_effsize(a, b, eftype="hedges")``).

    Cohen's d on the pooled SD, (ā − b̄) / √[((n_a − 1)s²_a + (n_b − 1)s²_b) / (n_a + n_b − 2)], times
    the small-sample correction 1 − 3 / (4(n_a + n_b) − 9) (Hedges, 1981).

    Examples
    --------
    >>> round(hedges_g(np.array([1.0, 2, 3, 4]), np.array([2.0, 3, 4, 5, 6])), 4)
    -0.9108
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(a), len(b)
    pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (na + nb) - 9)))


def welch_anova(groups: list[np.ndarray]) -> dict:
    """Welch's (1951) heteroscedastic one-way ANOVA: ``{F, df1, df2, p}`` (as R's ``oneway.test``).

    With wⱼ = nⱼ/s²ⱼ, the weighted grand mean ỹ = Σwⱼȳⱼ / Σwⱼ, r groups and
    Λ = 3 Σ (1 − wⱼ/Σw)² / (nⱼ − 1) / (r² − 1):
    F = [Σ wⱼ(ȳⱼ − ỹ)² / (r − 1)] / [1 + 2Λ(r − 2)/3] on (r − 1, 1/Λ) df.

    Examples
    --------
    >>> res = welch_anova([np.array([1.0, 2, 3, 4]), np.array([2.0, 3, 4, 5, 6]), np.array([5.0, 7, 6, 9])])
    >>> round(res["F"], 4), round(res["df2"], 3)   # In R: oneway.test(y ~ g): F = 7.1434, denom df = 6.4375
    (7.1434, 6.437)
    """
    n = np.array([len(g) for g in groups], dtype=float)
    means = np.array([np.mean(g) for g in groups])
    var = np.array([np.var(g, ddof=1) for g in groups])
    r = len(groups)
    w = n / var
    grand = np.sum(w * means) / w.sum()
    lam = 3 * np.sum((1 - w / w.sum()) ** 2 / (n - 1)) / (r**2 - 1)
    F = np.sum(w * (means - grand) ** 2) / (r - 1) / (1 + 2 * lam * (r - 2) / 3)
    return {"F": float(F), "df1": float(r - 1), "df2": float(1 / lam), "p": float(stats.f.sf(F, r - 1, 1 / lam))}


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
    ``levels``, else of appearance). More groups: Welch's one-way ANOVA with η², its 95% interval and ω²
    (:func:`eta_squared`; the interval inverts the classic one-way F, see there), and Games–Howell
    comparisons of every pair of groups (:func:`games_howell`), the post hoc test that, like Welch's F,
    does not assume equal variances. Groups with fewer than ``min_group`` scores are left out and named.

    When ``clusters`` names the unit column and ``by`` is an attribute of the unit (every
    respondent of a unit has the same value, as a unit's ``level``), respondents are not
    independent replications of the group difference: the test is then a cluster-robust Wald test
    of the group dummies in an OLS of the outcome (CR2 with the HTZ test below 40 units, CR1 with
    F(q, G − 1) from 40; :mod:`jianfu.stats.cluster_robust`), and ``clustered`` is True. The
    effect size stays the descriptive Hedges' g or η², without an interval or post hoc tests (both
    would treat respondents as independent).

    Returns
    -------
    list of dict
        One per outcome: ``outcome, by, test, statistic, df1, df2, p, effect, effect_size,
        groups[{group, n, mean, sd}], dropped_groups, clustered``; ``eta2_ci`` ([low, high]),
        ``eta2_ci_method``, ``omega2``, ``posthoc`` (list of :func:`games_howell` rows) and
        ``posthoc_method`` ("Games-Howell"), filled for Welch's ANOVA and None / [] otherwise; and
        ``se_type``, ``n_clusters`` when clustered.
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
        codes, uniques = pd.factorize(sub[by])  # one pass; a string comparison per group costs one each
        order = [g for g in (levels or []) if g in keep] + [g for g in uniques if g not in (levels or [])]
        position = {g: i for i, g in enumerate(uniques)}
        values = sub[y].to_numpy(dtype=float)
        groups = {g: values[codes == position[g]] for g in order}
        desc = [
            {"group": str(g), "n": int(len(v)), "mean": float(v.mean()), "sd": float(v.std(ddof=1))}
            for g, v in groups.items()
        ]
        entry = {
            "outcome": y,
            "by": by,
            "groups": desc,
            "dropped_groups": [str(g) for g in sizes.index if g not in keep],
            "eta2_ci": None,
            "eta2_ci_method": None,
            "omega2": None,
            "posthoc": [],
            "posthoc_method": None,
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
                entry |= {"effect": "hedges_g", "effect_size": hedges_g(*values)}
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
                "effect_size": hedges_g(a, b),
            }
        elif len(keep) > 2 and varies:
            res = welch_anova(list(groups.values()))
            effect = eta_squared(groups)
            entry |= {
                "test": "Welch F",
                "statistic": res["F"],
                "df1": res["df1"],
                "df2": res["df2"],
                "p": res["p"],
                "effect": "eta_squared",
                "effect_size": effect["eta2"],
                "eta2_ci": effect["eta2_ci"],
                "eta2_ci_method": effect["ci_method"],
                "omega2": effect["omega2"],
                "posthoc": games_howell({str(g): v for g, v in groups.items()}),
                "posthoc_method": "Games-Howell",
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
