"""Internal-consistency reliability of a scale: Cronbach's α and McDonald's ω_total.

ω comes from signed one-factor loadings, with a bootstrap interval, the kind of ω it is and a warning
naming any item that loads negatively (:func:`omega`). Also the item analysis reviewers ask for
(item-rest correlations, α if an item is deleted).

Both are computed on complete cases (listwise over the scale's items), on reverse-keyed
items of accepted rows only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "OMEGA_KIND",
    "Omega",
    "ReliabilityWarning",
    "cronbach_alpha",
    "omega",
    "omega_total",
    "one_factor_ml",
    "item_analysis",
    "response_distribution",
]


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
    >>> df = pg.read_dataset("cronbach_wide_missing")     # pingouin: 0.8017, CI (0.581, 0.933)
    >>> round(cronbach_alpha(df)[0], 4)
    0.8017
    """
    data = items.dropna()
    if data.shape[1] < 2 or len(data) < 3:
        return float("nan"), (float("nan"), float("nan"))
    n, k = data.shape
    C = np.cov(data.to_numpy(dtype=float), rowvar=False)
    alpha = k / (k - 1) * (1 - np.trace(C) / C.sum())
    # Feldt's interval on F(n − 1, (n − 1)(k − 1)), rounded to 3 places as pingouin reports it
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1 - (1 - alpha) * stats.f.isf((1 - ci) / 2, df1, df2)
    upper = 1 - (1 - alpha) * stats.f.isf(1 - (1 - ci) / 2, df1, df2)
    return float(alpha), (round(float(lower), 3), round(float(upper), 3))


#: Which ω this module reports: the report and the JSON say so next to the value.
OMEGA_KIND = "omega_total (one factor, standardised items)"

#: Lower bound of a uniqueness, as ``factanal`` and factor_analyzer: a loading that pushes an item's
#: uniqueness onto it is a Heywood case.
PSI_MIN = 0.005

#: Bootstrap resamples of ω's percentile interval. With B = 1000 the Monte-Carlo error of a 2.5% / 97.5%
#: endpoint is about 0.08 bootstrap standard errors (it is returned as ``ci_mc_error``).
OMEGA_N_BOOT = 1000

#: Resampled rows (B × n) one ω interval may draw: above 4000 complete rows B shrinks to 4·10⁶ / n, never
#: below :data:`OMEGA_MIN_BOOT`. The interval narrows as 1/√n, so its Monte-Carlo error in ω units stays
#: about where it is at n = 4000 (≈ .001 for a typical scale); 16 scales of 20 000 rows take a few seconds.
OMEGA_MAX_DRAWS = 4_000_000

#: Fewest resamples of a capped interval (0.19 bootstrap SEs of Monte-Carlo error at each endpoint).
OMEGA_MIN_BOOT = 200

#: Seed of ω's bootstrap, so that a rerun reports the same interval.
OMEGA_SEED = 20240601


class ReliabilityWarning(UserWarning):
    """A reliability estimate that needs the reader's attention (an item loading negatively, a Heywood case)."""


@dataclass(frozen=True)
class Omega:
    """McDonald's ω_total of one scale, its bootstrap interval and what the reader must be told.

    Attributes
    ----------
    omega : float
        The estimate (NaN when not estimable; ``reason`` then says why).
    ci : tuple of float or None
        Percentile bootstrap interval, None when ``n_boot`` was 0 or the estimate is NaN.
    ci_level : float
        Coverage of ``ci``.
    n_boot : int
        Bootstrap resamples that gave an estimate (resamples in which an item did not vary are left out).
    ci_mc_error : float or None
        Monte-Carlo standard error of the interval's endpoints (the larger of the two), from the spread of
        the order statistics within ±1 binomial SE of each endpoint's rank.
    loadings : dict
        Signed standardised loadings, oriented so that their sum is positive.
    negative_items : tuple of str
        Items whose loading is negative: probably reverse-keyed and not reversed.
    warnings : tuple of dict
        ``{"zh": ..., "en": ...}`` messages, one per negative loading, Heywood case or constant item.
    n : int
        Complete rows used.
    kind : str
        :data:`OMEGA_KIND`.
    reason : dict or None
        ``{"zh": ..., "en": ...}`` when ω could not be estimated.
    """

    omega: float
    ci: tuple[float, float] | None
    ci_level: float
    n_boot: int
    ci_mc_error: float | None
    loadings: dict[str, float]
    negative_items: tuple[str, ...]
    warnings: tuple[dict, ...]
    n: int
    kind: str = OMEGA_KIND
    reason: dict | None = None

    def to_dict(self) -> dict:
        """JSON-ready: NaN as None, tuples as lists, ``estimable``/``reason`` only when not estimable."""

        def num(v: float | None) -> float | None:
            return None if v is None or not np.isfinite(v) else float(v)

        out = {
            "omega": num(self.omega),
            "ci": [num(self.ci[0]), num(self.ci[1])] if self.ci else None,
            "ci_level": self.ci_level,
            "ci_method": "percentile bootstrap" if self.ci else None,
            "n_boot": self.n_boot,
            "ci_mc_error": num(self.ci_mc_error),
            "kind": self.kind,
            "loadings": {k: num(v) for k, v in self.loadings.items()},
            "negative_items": list(self.negative_items),
            "warnings": list(self.warnings),
            "n": self.n,
        }
        if self.reason is not None:
            out |= {"estimable": False, "reason": self.reason}
        return out


def _ml_step(R: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of Jöreskog's fixed point: new uniquenesses, the loadings given ``psi``, and the ML discrepancy."""
    root = np.sqrt(psi)
    theta, vectors = np.linalg.eigh(R / root[..., :, None] / root[..., None, :])
    lam = root * vectors[..., :, -1] * np.sqrt(np.maximum(theta[..., -1] - 1, 0))[..., None]
    rest = theta[..., :-1]
    discrepancy = (rest - np.log(rest)).sum(axis=-1)
    new = np.clip(np.diagonal(R, axis1=-2, axis2=-1) - lam**2, PSI_MIN, 1)
    return new, lam, discrepancy


def one_factor_ml(R: np.ndarray, psi: np.ndarray | None = None, tol: float = 1e-10, max_iter: int = 1000) -> tuple:
    """One-factor maximum-likelihood loadings of one correlation matrix or a stack of them.

    Parameters
    ----------
    R : ndarray, shape (k, k) or (B, k, k)
        Correlation matrices.
    psi : ndarray, optional
        Starting uniquenesses, broadcastable to (..., k); default ``1 − 0.5 / diag(R⁻¹)`` as ``factanal``.
    tol : float
        Largest change of a uniqueness at which the iteration stops.
    max_iter : int
        Accelerated iterations at most (three fixed-point steps each).

    Returns
    -------
    loadings, uniquenesses : ndarray, shape (..., k)
        Loadings oriented so that their sum is positive; uniquenesses bounded below by :data:`PSI_MIN`.
    converged : ndarray of bool, shape (...)

    Notes
    -----
    Jöreskog's (1967) fixed point of the ML equations: given Ψ, the loadings are
    λ = Ψ^½ v √(max(θ − 1, 0)) with θ, v the largest eigenvalue and its vector of Ψ^−½ R Ψ^−½; then
    Ψ = diag(R − λλᵀ). The fixed point alone crawls near a Heywood case (thousands of steps when a
    uniqueness heads for 0, as in small bootstrap resamples), so it is accelerated by SQUAREM (Varadhan &
    Roland, 2008), falling back to the plain step whenever the extrapolated one does not lower the ML
    discrepancy Σ_{m>1}(θ_m − ln θ_m). One batched ``eigh`` per step works on a whole stack of bootstrap
    matrices at once. The solution is ``factanal(covmat = R, factors = 1)``'s.

    References
    ----------
    Jöreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis. *Psychometrika*,
    32(4), 443–482.
    Varadhan, R., & Roland, C. (2008). Simple and globally convergent methods for accelerating the
    convergence of any EM algorithm. *Scandinavian Journal of Statistics*, 35(2), 335–353.
    """
    R = np.asarray(R, dtype=float)
    batch, k = R.shape[:-2], R.shape[-1]
    flat = R.reshape(-1, k, k)
    finite = np.isfinite(flat).all(axis=(1, 2))
    if psi is None:
        psi = np.full((len(flat), k), np.nan)
        psi[finite] = np.clip(1 - 0.5 / np.diagonal(np.linalg.inv(flat[finite]), axis1=-2, axis2=-1), PSI_MIN, 1)
    else:
        psi = np.broadcast_to(psi, (*batch, k)).reshape(-1, k).copy()
    change = np.full(len(flat), np.nan)
    # Each matrix iterates until it converges: a stack of bootstrap resamples is not held back by its
    # slowest members (near-Heywood resamples of a small sample take the full max_iter).
    active = np.flatnonzero(finite)
    for _ in range(max_iter):
        if active.size == 0:
            break
        Ra, pa = flat[active], psi[active]
        p1 = _ml_step(Ra, pa)[0]
        p2, _, f2 = _ml_step(Ra, p1)
        r, v = p1 - pa, p2 - 2 * p1 + pa
        rn, vn = np.linalg.norm(r, axis=-1), np.linalg.norm(v, axis=-1)
        alpha = np.clip(np.where(vn > 1e-14, -rn / np.where(vn > 1e-14, vn, 1), -1.0), -1e4, -1.0)[..., None]
        jump, _, f_jump = _ml_step(Ra, np.clip(pa - 2 * alpha * r + alpha**2 * v, PSI_MIN, 1))
        new = np.where((f_jump <= f2 + 1e-12)[..., None], jump, p2)
        change[active] = np.abs(new - pa).max(axis=-1)
        psi[active] = new
        active = active[~(change[active] < tol)]
    lam = np.full((len(flat), k), np.nan)
    if finite.any():
        lam[finite] = _ml_step(flat[finite], psi[finite])[1]
    sign = np.where(lam.sum(axis=-1) < 0, -1.0, 1.0)
    lam = lam * sign[:, None]
    return lam.reshape(*batch, k), psi.reshape(*batch, k), (change < tol).reshape(batch)[()]


def _omega_from(lam: np.ndarray, psi: np.ndarray) -> np.ndarray:
    total = lam.sum(axis=-1) ** 2
    return total / (total + psi.sum(axis=-1))


def _bootstrap_correlations(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Correlation matrices of ``n_boot`` case resamples of ``x``, NaN where an item did not vary.

    A resample enters only through its first and second moments, so each is a vector of resampling counts
    times a column of products: ``counts @ [z, zᵢzⱼ]`` for a block of resamples, with blocks small enough
    to keep memory near 16 MB whatever n is.
    """
    n, k = x.shape
    z = x - x.mean(axis=0)
    iu = np.triu_indices(k)
    products = np.column_stack([z, z[:, iu[0]] * z[:, iu[1]]])
    out = np.empty((n_boot, k, k))
    block = max(1, 2_000_000 // n)
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float)
        moments = counts @ products / n
        mean, second = moments[:, :k], moments[:, k:]
        cov = np.empty((b, k, k))
        cov[:, iu[0], iu[1]] = cov[:, iu[1], iu[0]] = second - mean[:, iu[0]] * mean[:, iu[1]]
        sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[start : start + b] = np.where(
                sd.min(axis=1)[:, None, None] > 0, cov / sd[:, :, None] / sd[:, None, :], np.nan
            )
    return out


def _quantile_mc_error(ordered: np.ndarray, p: float) -> float:
    """Monte-Carlo SE of the p-quantile of ``ordered`` bootstrap values: half the spread of ranks Bp ± √(Bp(1−p))."""
    B = len(ordered)
    half = np.sqrt(B * p * (1 - p))
    lo, hi = int(max(np.floor(B * p - half), 0)), int(min(np.ceil(B * p + half), B - 1))
    return float((ordered[hi] - ordered[lo]) / 2)


def omega(
    items: pd.DataFrame,
    ci: float = 0.95,
    n_boot: int = OMEGA_N_BOOT,
    seed: int = OMEGA_SEED,
    max_draws: int = OMEGA_MAX_DRAWS,
) -> Omega:
    """McDonald's ω_total with signed loadings, a percentile bootstrap interval and warnings.

    Parameters
    ----------
    items : DataFrame
        The scale's item responses after reverse keying (rows with a missing item are left out).
    ci : float
        Coverage of the two-sided percentile interval.
    n_boot : int
        Bootstrap resamples of the complete rows (all rows, none capped); 0 skips the interval. Fewer are
        drawn when ``n_boot × n`` would exceed ``max_draws`` (see :data:`OMEGA_MAX_DRAWS`); the result says
        how many were used and their Monte-Carlo error.
    seed : int
        Seed of the resampling.
    max_draws : int
        Budget of resampled rows, B × n; B never drops below :data:`OMEGA_MIN_BOOT` for it.

    Returns
    -------
    Omega
        Estimate, interval, its Monte-Carlo error, signed loadings, ``kind`` and ``warnings``.

    Notes
    -----
    A one-factor ML model of the item correlations gives standardised loadings λᵢ and uniquenesses ψᵢ;
    ω = (Σλᵢ)² / ((Σλᵢ)² + Σψᵢ), the reliability of the unit-weighted sum of standardised items
    (McDonald, 1999). The loadings keep their signs: an item that was not reverse-keyed loads negatively,
    which lowers ω and names the item in ``warnings``. Taking |λᵢ| instead, or letting ``psych::omega``
    flip the item (its default), reports the ω of a scale that was never scored. The denominator is the
    model-implied variance of the sum, as ``semTools::compRelSEM(obs.var = FALSE)``; ``psych::omega``'s
    ``omega.tot`` divides by the observed variance 1ᵀR1 instead and differs in the third decimal.

    The interval resamples complete rows and refits the one-factor model in each resample (Kelley &
    Pornprasertmanit, 2016, recommend the bootstrap for ω). Resamples in which an item does not vary are
    dropped and ``n_boot`` counts the rest.

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
    Kelley, K., & Pornprasertmanit, S. (2016). Confidence intervals for population reliability
    coefficients: Evaluation of methods, recommendations, and software for composite measures.
    *Psychological Methods*, 21(1), 69–92.
    Dunn, T. J., Baguley, T., & Brunsden, V. (2014). From alpha to omega: A practical solution to the
    pervasive problem of internal consistency estimation. *British Journal of Psychology*, 105(3), 399–412.

    Examples
    --------
    Holzinger & Swineford's visual tests, then the same with ``x2`` entered the wrong way round:

    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()[["x1", "x2", "x3"]]
    >>> r = omega(hs, n_boot=0)          # In R: semTools::compRelSEM(cfa(..., std.lv = TRUE), obs.var = FALSE)
    >>> round(r.omega, 3), r.kind
    (0.635, 'omega_total (one factor, standardised items)')
    >>> bad = omega(hs.assign(x2=-hs["x2"]), n_boot=0)
    >>> bad.negative_items, round(bad.omega, 3)
    (('x2',), 0.278)
    """
    data = items.dropna().astype(float)
    notes: list[dict] = []
    constant = [str(c) for c in data.columns if not data[c].std() > 0]
    if constant:
        names = "、".join(constant)
        notes.append(
            {
                "zh": f"题目 {names} 没有变异，未纳入 ω",
                "en": f"item(s) {', '.join(constant)} did not vary and were left out of ω",
            }
        )
        data = data.drop(columns=constant)
    n, k = data.shape
    if k < 3 or n <= k:
        return Omega(
            float("nan"),
            None,
            ci,
            0,
            None,
            {},
            (),
            tuple(notes),
            n,
            reason={
                "zh": f"需要至少 3 道有变异的题目且完整作答多于题目数（现有 {k} 题、{n} 份）",
                "en": f"needs at least 3 varying items and more complete rows than items ({k} items, {n} rows)",
            },
        )
    x = data.to_numpy()
    lam, psi, _ = one_factor_ml(np.corrcoef(x, rowvar=False))
    estimate = float(_omega_from(lam, psi))
    names = [str(c) for c in data.columns]
    negative = tuple(name for name, v in zip(names, lam, strict=True) if v < 0)
    for name, v in zip(names, lam, strict=True):
        if v < 0:
            notes.append(
                {
                    "zh": f"题目 {name} 的载荷为负（{v:.2f}）：可能是反向题未反向计分；ω 按带符号的载荷计算",
                    "en": f"item {name} loads negatively ({v:.2f}): probably a reverse-keyed item that was not "
                    "reversed; ω uses the signed loadings",
                }
            )
    for name, u in zip(names, psi, strict=True):
        if u <= PSI_MIN:
            notes.append(
                {
                    "zh": f"题目 {name} 的唯一性方差降到下限 {PSI_MIN}（Heywood 情形）：ω 可能偏高，请检查该题",
                    "en": f"item {name}'s uniqueness reached its lower bound of {PSI_MIN} (a Heywood case): ω may "
                    "be inflated; check the item",
                }
            )
    interval, mc_error, used = None, None, 0
    if n_boot > 0:
        n_boot = min(n_boot, max(OMEGA_MIN_BOOT, max_draws // n))
        boot_R = _bootstrap_correlations(x, n_boot, np.random.default_rng(seed))
        ok = ~np.isnan(boot_R).any(axis=(1, 2))
        b_lam, b_psi, converged = one_factor_ml(boot_R[ok], psi=psi, tol=1e-7)
        values = np.sort(_omega_from(b_lam, b_psi)[converged])
        used = len(values)
        if used >= 2:
            a = (1 - ci) / 2
            interval = tuple(float(q) for q in np.quantile(values, [a, 1 - a]))
            mc_error = max(_quantile_mc_error(values, a), _quantile_mc_error(values, 1 - a))
    return Omega(
        omega=estimate,
        ci=interval,
        ci_level=ci,
        n_boot=used,
        ci_mc_error=mc_error,
        loadings=dict(zip(names, map(float, lam), strict=True)),
        negative_items=negative,
        warnings=tuple(notes),
        n=n,
    )


def omega_total(items: pd.DataFrame) -> float:
    """McDonald's ω_total from a one-factor ML model of the item correlations, signed loadings.

    The point estimate of :func:`omega` (see there for the formula). A negative loading, a Heywood case
    or a constant item is reported by a :class:`ReliabilityWarning` naming the item.

    Parameters
    ----------
    items : DataFrame
        The scale's reverse-keyed item responses (listwise complete rows are used).

    Returns
    -------
    float
        ω, NaN with fewer than 3 varying items or no more complete rows than items.

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
    """
    result = omega(items, n_boot=0)
    for note in result.warnings:
        warnings.warn(f"{note['zh']} | {note['en']}", ReliabilityWarning, stacklevel=2)
    return result.omega


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
