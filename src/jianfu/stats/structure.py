"""Factor structure of an item set.

Sampling adequacy, sphericity, parallel analysis, EFA, and Harman's single-factor test for
common-method variance.

All functions take reverse-keyed item responses, or a :class:`Correlation` computed once: the
sample correlations when every row is complete, otherwise the maximum-likelihood (EM) correlations
of all rows, so that scattered non-response drops nobody.

References
----------
Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
*Psychometrika*, 30(2), 179–185.
Glorfeld, L. W. (1995). An improvement on Horn's parallel analysis methodology for selecting
the correct number of factors to retain. *Educational and Psychological Measurement*, 55(3), 377–393.
Kaiser, H. F. (1974). An index of factorial simplicity. *Psychometrika*, 39(1), 31–36.
Podsakoff, P. M., MacKenzie, S. B., Lee, J.-Y., & Podsakoff, N. P. (2003). Common method biases
in behavioral research. *Journal of Applied Psychology*, 88(5), 879–903.

Examples
--------
The nine ability tests of Holzinger & Swineford (1939), shipped with semopy:

>>> from semopy.examples import holzinger39
>>> items = holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]
>>> round(kmo(items)["overall"], 3)          # In R: psych::KMO(items)$MSA
0.752
>>> parallel_analysis(items)["n_factors"]      # the three factors of the classic model
3
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Correlation",
    "correlation",
    "kmo",
    "bartlett_sphericity",
    "parallel_analysis",
    "efa",
    "uls_objective",
    "harman_single_factor",
]

#: Harman's test flags common-method variance when the first factor explains more than half of the
#: variance, the rule Podsakoff et al. (2003) describe; it is weak evidence either way.
HARMAN_THRESHOLD = 0.50


@dataclass(frozen=True)
class Correlation:
    """The item correlation matrix the structure statistics start from, and how it was estimated.

    ``method`` is ``"complete"`` (every row answered every item: the sample correlations) or
    ``"em"`` (maximum-likelihood correlations from all rows by EM, :func:`jianfu.stats.fiml.em_moments`,
    so that scattered non-response does not drop respondents); ``n`` counts the rows used.
    """

    matrix: pd.DataFrame
    n: int
    method: str


def correlation(items: pd.DataFrame | Correlation) -> Correlation:
    """Item correlations from all rows: sample correlations when complete, EM (ML) estimates otherwise.

    >>> import pandas as pd
    >>> c = correlation(pd.DataFrame({"a": [1, 2, 3, 4.0], "b": [2, 1, 4, 3.0]}))
    >>> c.method, c.n, round(float(c.matrix.loc["a", "b"]), 2)
    ('complete', 4, 0.6)
    """
    if isinstance(items, Correlation):
        return items
    data = items.astype(float).dropna(how="all")
    data = data.loc[:, data.std() > 0]
    if not data.isna().to_numpy().any():
        return Correlation(data.corr(), len(data), "complete")
    from jianfu.stats.fiml import em_moments

    em = em_moments(data)
    sd = np.sqrt(np.diag(em.cov.to_numpy()))
    matrix = pd.DataFrame(em.cov.to_numpy() / np.outer(sd, sd), index=em.cov.index, columns=em.cov.columns)
    return Correlation(matrix, int(em.n), "em")


def kmo(items: pd.DataFrame | Correlation) -> dict:
    """Kaiser–Meyer–Olkin measure of sampling adequacy, overall and per item (``psych::KMO``).

    From the correlation matrix R and the partial correlations −R⁻¹ᵢⱼ / √(R⁻¹ᵢᵢ R⁻¹ⱼⱼ):
    KMO = Σ r² / (Σ r² + Σ partial²) over i ≠ j (per item: over its row).
    """
    c = correlation(items)
    R = c.matrix.to_numpy()
    inv = np.linalg.pinv(R)
    d = np.sqrt(np.diag(inv))
    partial = -inv / np.outer(d, d)
    off = ~np.eye(len(R), dtype=bool)
    r2, p2 = np.where(off, R**2, 0), np.where(off, partial**2, 0)
    per_item = r2.sum(axis=1) / (r2.sum(axis=1) + p2.sum(axis=1))
    return {
        "overall": float(r2.sum() / (r2.sum() + p2.sum())),
        "items": dict(zip(c.matrix.columns, map(float, per_item), strict=True)),
        "n": c.n,
        "correlation": c.method,
    }


def bartlett_sphericity(items: pd.DataFrame | Correlation) -> dict:
    """Bartlett's test that the correlation matrix is an identity (``psych::cortest.bartlett``).

    χ² = −(N − 1 − (2p + 5)/6) · ln|R|, df = p(p − 1)/2.
    """
    c = correlation(items)
    n, p = c.n, c.matrix.shape[1]
    logdet = np.linalg.slogdet(c.matrix.to_numpy())[1]
    chi2 = -(n - 1 - (2 * p + 5) / 6) * logdet
    df = p * (p - 1) // 2
    return {"chi2": float(chi2), "df": int(df), "p": float(stats.chi2.sf(chi2, df)), "n": n}


#: What the eigenvalues of each kind of parallel analysis are, for the report.
PARALLEL_KINDS = {
    "fa": {
        "zh": "约相关矩阵（对角线为复相关平方 SMC）的特征值，与随后的 minres 因子分析同类",
        "en": "eigenvalues of the reduced correlation matrix (SMC on the diagonal), the kind of the minres EFA "
        "that follows",
    },
    "pc": {"zh": "相关矩阵的特征值（主成分）", "en": "eigenvalues of the correlation matrix (principal components)"},
}


def _eigenvalues(R: np.ndarray, kind: str, inverse=np.linalg.pinv) -> np.ndarray:
    """Eigenvalues, largest first, of correlation matrices (k × k or a stack) or of their SMC-reduced form.

    ``inverse`` gives the SMCs: the pseudo-inverse, which an observed matrix may need, or, for matrices
    known to be positive definite (the random draws), the plain inverse at a tenth of its cost.
    """
    if kind == "fa":
        smc = 1 - 1 / np.diagonal(inverse(R), axis1=-2, axis2=-1)
        R = R.copy()
        idx = np.arange(R.shape[-1])
        R[..., idx, idx] = smc
    return np.linalg.eigvalsh(R)[..., ::-1]


def parallel_analysis(
    items: pd.DataFrame | Correlation,
    n_iter: int = 200,
    quantile: float = 0.95,
    seed: int = 20240601,
    kind: str = "fa",
) -> dict:
    """Horn's parallel analysis with the 95th-percentile criterion, on factor or component eigenvalues.

    Parameters
    ----------
    items : DataFrame or Correlation
        Reverse-keyed item responses, or their :class:`Correlation` (which carries ``n``).
    n_iter : int
        Random correlation matrices drawn.
    quantile : float
        Quantile of the random eigenvalues an observed one must exceed (Glorfeld, 1995).
    seed : int
        Seed of the random matrices.
    kind : {"fa", "pc"}
        ``"fa"`` (default): eigenvalues of the reduced correlation matrix, squared multiple correlations on
        the diagonal, for observed and random matrices alike (Humphreys & Ilgen, 1969), the common-factor
        kind of the minres EFA that follows; as ``psych::fa.parallel(fa = "fa", SMC = TRUE)``.
        ``"pc"``: eigenvalues of the correlation matrix, Horn's (1965) principal components, as
        ``fa.parallel(fa = "pc")``.

    Returns
    -------
    dict
        ``n_factors``, ``observed`` and ``random`` eigenvalues (lists, largest first), ``quantile``,
        ``n_iter``, ``n``, ``kind`` and ``kind_label`` (``{"zh", "en"}``: which eigenvalues were compared).

    Notes
    -----
    A factor is retained while its observed eigenvalue exceeds the ``quantile`` of the eigenvalues of
    the same kind from correlation matrices of uncorrelated normal data of the same size; counting
    stops at the first that does not (as ``fa.parallel``). The random correlation matrices are drawn
    directly: the sample covariance of N standard-normal rows is Wishart(N − 1, I)/(N − 1), so each draw
    costs O(p³) whatever N is, which keeps this fast on 10⁵ respondents. SMC = 1 − 1/(R⁻¹)ᵢᵢ.

    Comparing principal-component eigenvalues with a common-factor EFA mixes two models: the reduced
    matrix is what a minres or ML EFA factors. Both kinds can over-extract on large samples (on
    ``psych::bfi``'s 25 items, 2436 complete rows, ``fa.parallel`` suggests 8 factors with SMC and 5
    components); the suggestion is a starting point for the EFA, not a verdict.

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    *Psychometrika*, 30(2), 179–185.
    Humphreys, L. G., & Ilgen, D. R. (1969). Note on a criterion for the number of common factors.
    *Educational and Psychological Measurement*, 29(3), 571–578.
    Glorfeld, L. W. (1995). An improvement on Horn's parallel analysis methodology for selecting the
    correct number of factors to retain. *Educational and Psychological Measurement*, 55(3), 377–393.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> items = holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]
    >>> pa = parallel_analysis(items)   # In R: psych::fa.parallel(items, fa = "fa", SMC = TRUE)
    >>> pa["kind"], pa["n_factors"], round(pa["observed"][0], 4)
    ('fa', 3, 2.712)
    """
    if kind not in PARALLEL_KINDS:
        raise ValueError(f"kind must be one of {sorted(PARALLEL_KINDS)}, not {kind!r}")
    c = correlation(items)
    n, p = c.n, c.matrix.shape[1]
    observed = _eigenvalues(c.matrix.to_numpy(), kind)
    rng = np.random.default_rng(seed)
    wishart = stats.wishart(df=n - 1, scale=np.eye(p))
    draws = np.atleast_3d(wishart.rvs(size=n_iter, random_state=rng)).reshape(n_iter, p, p)
    sd = np.sqrt(np.einsum("kii->ki", draws))
    corr = draws / sd[:, :, None] / sd[:, None, :]
    # Wishart(N − 1, I) draws (scipy requires N − 1 ≥ p) are positive definite almost surely
    random = np.quantile(_eigenvalues(corr, kind, inverse=np.linalg.inv), quantile, axis=0)
    above = observed > random
    n_factors = int(p if above.all() else np.argmin(above))
    return {
        "n_factors": n_factors,
        "observed": observed.tolist(),
        "random": random.tolist(),
        "quantile": quantile,
        "n_iter": n_iter,
        "n": n,
        "kind": kind,
        "kind_label": PARALLEL_KINDS[kind],
    }


def uls_objective(psi: np.ndarray, R: np.ndarray, n_factors: int) -> tuple[float, np.ndarray]:
    """The MINRES (unweighted least squares) discrepancy of uniquenesses ``psi`` and its gradient.

    Parameters
    ----------
    psi : ndarray (p,)
        Uniquenesses; the reduced matrix C is R with 1 − ψ on the diagonal.
    R : ndarray (p, p)
        Correlation matrix.
    n_factors : int
        Factors m.

    Returns
    -------
    f, gradient
        f = ‖C − LL′‖², L from the m largest eigenpairs of C (eigenvalues floored at 100 ε, as
        factor_analyzer's objective and R's ``fac``), and ∂f/∂ψ = −2 diag(C − LL′).

    Notes
    -----
    C − LL′ = Σₖ (θₖ − ℓₖ) vₖvₖ′ with ℓₖ the retained (floored) eigenvalue, 0 beyond the m-th, so
    f = Σₖ (θₖ − ℓₖ)²; with ∂θₖ/∂C_ii = v_ik² and ∂ℓₖ/∂θₖ = 1 exactly where θₖ = ℓₖ,
    ∂f/∂C_ii = 2 Σₖ (θₖ − ℓₖ) v_ik² = 2 (C − LL′)_ii, and ∂C_ii/∂ψᵢ = −1. Supplying it saves
    L-BFGS-B the p + 1 evaluations per step of a finite-difference gradient.

    Examples
    --------
    >>> R = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
    >>> psi, h = np.array([0.5, 0.6, 0.8]), 1e-6
    >>> f, g = uls_objective(psi, R, 1)
    >>> up, down = uls_objective(psi + [h, 0, 0], R, 1)[0], uls_objective(psi - [h, 0, 0], R, 1)[0]
    >>> bool(abs(g[0] - (up - down) / (2 * h)) < 1e-7)
    True
    """
    C = R.copy()
    C[np.diag_indices_from(C)] = 1 - psi
    values, vectors = np.linalg.eigh(C)
    values, vectors = values[::-1][:n_factors], vectors[:, ::-1][:, :n_factors]
    loadings = vectors * np.sqrt(np.maximum(values, np.finfo(float).eps * 100))
    residual = C - loadings @ loadings.T
    return float(np.sum(residual**2)), -2.0 * np.diag(residual)


def _factor_analyzer(**kwargs):
    """factor_analyzer's ``FactorAnalyzer`` whose MINRES fit is given :func:`uls_objective`'s gradient.

    The same start (1 − SMC), bounds, optimiser (L-BFGS-B), normalisation, rotation and sign
    conventions; only the finite-difference gradient (≈ p + 1 objective evaluations per step: about
    700 eigendecompositions for 60 items) is replaced by the exact one.
    """
    from factor_analyzer import FactorAnalyzer
    from factor_analyzer.utils import smc
    from scipy.optimize import minimize

    class GradientMinres(FactorAnalyzer):
        def _fit_factor_analysis(self, corr_mtx):
            if self.method != "minres":
                return super()._fit_factor_analysis(corr_mtx)
            p = corr_mtx.shape[0]
            start = (np.diag(corr_mtx) - smc(corr_mtx).T).squeeze() if self.use_smc else np.full(p, 0.5)
            res = minimize(
                uls_objective,
                start,
                args=(corr_mtx, self.n_factors),
                jac=True,
                method="L-BFGS-B",
                bounds=[self.bounds] * p if self.bounds is not None else None,
                options={"maxiter": 1000},
            )
            if not res.success:
                warnings.warn(f"Failed to converge: {res.message}", stacklevel=2)
            return self._normalize_uls(res.x, corr_mtx, self.n_factors)

    return GradientMinres(**kwargs)


def efa(items: pd.DataFrame | Correlation, n_factors: int, rotation: str = "oblimin", method: str = "minres") -> dict:
    """Exploratory factor analysis (factor_analyzer, MINRES with :func:`uls_objective`'s exact gradient).

    Oblique rotation by default. Returns loadings (items × factors), communalities, the variance
    explained per factor and, for oblique rotations, the factor correlation matrix.
    """
    c = correlation(items)
    columns = c.matrix.columns
    n_factors = max(1, min(n_factors, len(columns) - 1))
    fa = _factor_analyzer(
        n_factors=n_factors, rotation=rotation if n_factors > 1 else None, method=method, is_corr_matrix=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa.fit(c.matrix.to_numpy())
    names = [f"F{k + 1}" for k in range(n_factors)]
    variance, proportion, cumulative = fa.get_factor_variance()
    phi = getattr(fa, "phi_", None)
    return {
        "loadings": pd.DataFrame(fa.loadings_, index=columns, columns=names),
        "communalities": pd.Series(fa.get_communalities(), index=columns),
        "variance": pd.DataFrame(
            {"ss_loadings": variance, "proportion": proportion, "cumulative": cumulative}, index=names
        ),
        "factor_correlations": pd.DataFrame(phi, index=names, columns=names) if phi is not None else None,
        "rotation": rotation if n_factors > 1 else None,
        "method": method,
        "n": c.n,
        "correlation": c.method,
    }


def harman_single_factor(items: pd.DataFrame | Correlation) -> dict:
    """Harman's single-factor test: the variance share of the first unrotated principal component.

    The share of total variance of all items, as in the SPSS procedure reviewers ask for.

    Flagged when the share exceeds 50% (the rule Podsakoff et al., 2003, describe). Passing it does
    not rule common-method variance out (Podsakoff et al., 2003): it is weak evidence, and the
    report says so.
    """
    c = correlation(items)
    eig = np.linalg.eigvalsh(c.matrix.to_numpy())[::-1]
    share = float(eig[0] / c.matrix.shape[1])
    return {
        "share": share,
        "threshold": HARMAN_THRESHOLD,
        "flagged": share > HARMAN_THRESHOLD,
        "n_items": int(c.matrix.shape[1]),
        "n": c.n,
    }
