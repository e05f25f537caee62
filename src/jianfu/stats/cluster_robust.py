"""OLS with cluster-robust inference that holds when units are few.

CR2 with Satterthwaite df, the HTZ Wald test for blocks of coefficients, Stata's CR1 when units are
many, and the cluster bootstrap.

Respondents of one township answer alike, so their errors are correlated and OLS or HC3 standard
errors are too small. The cluster-robust sandwich with G clusters,

    V = M [Σⱼ Xⱼ′ Aⱼ eⱼ eⱼ′ Aⱼ Xⱼ] M,   M = (X′X)⁻¹,

is CR1 with Aⱼ = I scaled by G/(G − 1) · (n − 1)/(n − p) (Stata's ``vce(cluster)``, tested against
t(G − 1)). It is biased downwards and its t(G − 1) reference too liberal when G is small — real
cadre surveys cover 8–15 townships. The bias-reduced linearisation of Bell & McCaffrey (2002),
CR2, takes Aⱼ = (I − Hⱼⱼ)^(−1/2), the symmetric (generalised) inverse square root of the cluster's
block of I − H, which makes V unbiased when the errors are independent and homoscedastic (the
"working model" of OLS), and tests each contrast c′β against a t whose degrees of freedom are
estimated from the clusters (Satterthwaite; Bell & McCaffrey, 2002; Pustejovsky & Tipton, 2018).
:func:`fit_ols_clustered` uses CR2 below :data:`CR1_MIN_CLUSTERS` clusters and CR1 from there on.

**Degrees of freedom.** Write gⱼ = (I − H)ⱼ′ Aⱼ Xⱼ M c, the n-vector by which cluster j's term of
c′Vc depends on the errors. Under the working model c′Vc is a quadratic form in normal errors
with E = Σⱼ gⱼ′gⱼ and variance 2 Σⱼₖ (gⱼ′gₖ)², and the Satterthwaite df are
ν = (Σⱼ gⱼ′gⱼ)² / Σⱼₖ (gⱼ′gₖ)².

**Wald tests of q constraints** H₀: Cβ = 0 use Q = (Cb)′(CVC′)⁻¹(Cb) and the HTZ approximation of
Tipton & Pustejovsky (2015): Q/q is treated as Hotelling's T² with ν degrees of freedom, so
F = (ν − q + 1)/(ν q) · Q ~ F(q, ν − q + 1), where ν = q(q + 1) / Σ_{s,t} Var(d_st) matches the
total variance of D = Ω^(−1/2) CVC′ Ω^(−1/2), Ω = E(CVC′), to that of a Wishart. With q = 1 this is
the Satterthwaite t² test. For CR1 the test is Q/q against F(q, G − 1), as Stata's ``test``.

**Computation.** With X = QR, the cluster's block of the hat matrix is Qⱼ Qⱼ′, so the thin SVD
Qⱼ = Uⱼ Sⱼ Wⱼ′ gives Aⱼ in closed form (eigenvalues 1 − s² on Uⱼ, 1 elsewhere) at O(nⱼ p²) per
cluster instead of an nⱼ × nⱼ eigendecomposition; eigenvalues 1 − s² ≤ 10⁻¹² (a cluster fitted
exactly, as with unit dummies) get 0 in the generalised inverse, as in clubSandwich. The
double sums over pairs of clusters in ν are rearranged into sums of per-cluster q × q × p × p
arrays, so the cost is linear in G.

Values equal ``clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite")``,
``clubSandwich::Wald_test(vcov = "CR2", test = "HTZ")`` and ``sandwich::vcovCL(type = "HC1")``
(``tests/reference/cluster_robust_reference.R``).

References
----------
Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear regression
with multi-stage samples. *Survey Methodology*, 28(2), 169–181.
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for
inference with clustered errors. *Review of Economics and Statistics*, 90(3), 414–427.
Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
*Journal of Human Resources*, 50(2), 317–372.
Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. *Journal of Business & Economic
Statistics*, 36(4), 672–683.
Tipton, E., & Pustejovsky, J. E. (2015). Small-sample adjustments for tests of moderators and
model fit using robust variance estimation in meta-regression. *Journal of Educational and
Behavioral Statistics*, 40(6), 604–634.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> g = np.repeat(np.arange(10), 20)
>>> X = np.column_stack([np.ones(200), rng.normal(size=10)[g] + rng.normal(size=200)])
>>> y = X @ [1.0, 0.5] + rng.normal(size=10)[g] + rng.normal(size=200)
>>> res = fit_ols_clustered(y, X, g)      # In R: clubSandwich::coef_test(fit, "CR2", cluster = g)
>>> res.method, res.se_type
('CR2', 'CR2 (Bell–McCaffrey), Satterthwaite df')
>>> bool(res.df[1] < 9)                   # fewer than G − 1 = 9 degrees of freedom
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, stats

from jianfu.stats.estimable import NotEstimable, require, require_full_rank

__all__ = [
    "CR1_MIN_CLUSTERS",
    "SE_TYPE_CR1",
    "SE_TYPE_CR2",
    "ClusteredOLS",
    "WaldTest",
    "cluster_bootstrap_indices",
    "fit_ols_clustered",
    "satterthwaite_df",
    "vcov_cr1",
    "vcov_cr2",
    "wald_test_clustered",
    "wald_test_cr1",
    "wald_test_cr2",
]

CR1_MIN_CLUSTERS = 40
"""From this many clusters on, ``method="auto"`` uses CR1 with t(G − 1); below it, CR2.

CR1 with t(G − 1) over-rejects with few clusters (Cameron & Miller, 2015), with no sharp threshold;
40 is the analysis plan's rule. CR2 stays valid above it; CR1 there only saves computation."""

SE_TYPE_CR2 = "CR2 (Bell–McCaffrey), Satterthwaite df"
SE_TYPE_CR1 = "CR1 (Stata), t(G − 1) df"

# clubSandwich's Sym_power drops eigenvalues of I − Hⱼⱼ at or below 1e-12 (absolute).
_EIGEN_TOL = 1e-12


@dataclass(frozen=True)
class ClusteredOLS:
    """OLS estimates with cluster-robust inference, one entry per column of the design.

    ``df`` is the Satterthwaite df of each coefficient for CR2 and G − 1 for CR1; ``vcov`` is the
    cluster-robust covariance matrix; ``se_type`` says which (it contains ``CR2`` or ``CR1``).
    """

    names: tuple[str, ...]
    b: np.ndarray
    se: np.ndarray
    df: np.ndarray
    t: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    n: int
    n_clusters: int
    method: str
    se_type: str
    level: float

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table: one row per term, columns ``b, se, df, t, p, ci_low, ci_high``."""
        cols = ("b", "se", "df", "t", "p", "ci_low", "ci_high")
        return pd.DataFrame({c: getattr(self, c) for c in cols}, index=pd.Index(self.names, name="term"))


@dataclass(frozen=True)
class WaldTest:
    """A cluster-robust Wald test of H₀: Cβ = 0 with q = ``df_num`` constraints.

    ``f`` is the statistic referred to F(``df_num``, ``df_denom``); ``wald`` the unscaled
    Q = (Cb)′(CVC′)⁻¹(Cb); ``delta`` the HTZ multiplier (1 for the naive F), F = delta · Q / q.
    """

    f: float
    df_num: int
    df_denom: float
    p: float
    wald: float
    delta: float
    test: str
    se_type: str


# --- shared pieces -------------------------------------------------------------------------------------------


def _as_arrays(y, X, clusters) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, int, tuple[str, ...]]:
    """Float arrays, cluster codes 0…G−1 and column names; missing values are the caller's to drop."""
    names = tuple(str(c) for c in X.columns) if isinstance(X, pd.DataFrame) else None
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if names is None:
        names = tuple(f"x{j}" for j in range(X.shape[1]))
    labels = np.asarray(clusters)
    if len(labels) != len(X) or (y is not None and len(y) != len(X)):
        raise ValueError("y、X 与 clusters 的行数不一致 | y, X and clusters differ in length")
    if pd.isna(labels).any() or not np.isfinite(X).all():
        raise ValueError(
            "X 或 clusters 含缺失值，请先删除不完整的行 | X or clusters has missing values: drop those rows first"
        )
    codes, uniques = pd.factorize(labels, sort=True)
    if y is not None:
        y = np.asarray(y, dtype=float)
        if not np.isfinite(y).all():
            raise ValueError("y 含缺失值，请先删除不完整的行 | y has missing values: drop those rows first")
    return y, X, codes, len(uniques), names


def _check_design(X: np.ndarray, n_clusters: int) -> None:
    require(
        n_clusters >= 2,
        "只有 1 个单位，无法计算聚类稳健标准误",
        "one cluster only: no cluster-robust standard errors",
    )
    require_full_rank(X, "回归模型", "regression model")
    require(
        len(X) > X.shape[1],
        f"有效样本 {len(X)} 行，不多于参数个数 {X.shape[1]}，没有残差可用",
        f"{len(X)} rows for {X.shape[1]} parameters: no residual degrees of freedom",
    )


def _groups(codes: np.ndarray, n_clusters: int) -> list[np.ndarray]:
    """Row positions of each cluster, in code order."""
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.cumsum(np.bincount(codes, minlength=n_clusters))[:-1])


def _sym_power(a: np.ndarray, power: float) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v * w**power) @ v.T


@dataclass(frozen=True)
class _CR2Parts:
    """Per-cluster pieces of CR2 that do not depend on y.

    Kⱼ = M Xⱼ′ Aⱼ (stored as columns of a p × n matrix in row order), KKⱼ = Kⱼ Kⱼ′ and KXⱼ = Kⱼ Xⱼ
    (both G × p × p), and M = (X′X)⁻¹.
    """

    M: np.ndarray
    K: np.ndarray
    KK: np.ndarray
    KX: np.ndarray


def _cr2_parts(X: np.ndarray, codes: np.ndarray, n_clusters: int) -> _CR2Parts:
    n, p = X.shape
    Q, R = np.linalg.qr(X)
    R_inv = linalg.solve_triangular(R, np.eye(p))
    K = np.empty((p, n))
    KK = np.empty((n_clusters, p, p))
    KX = np.empty((n_clusters, p, p))
    for j, rows in enumerate(_groups(codes, n_clusters)):
        # Qⱼ = U S W′, so I − Hⱼⱼ = I − U S² U′ and Aⱼ = I + U (diag(a) − I) U′ with a = (1 − s²)^(−1/2).
        U, s, Wt = np.linalg.svd(Q[rows], full_matrices=False)
        ev = 1.0 - s**2
        a = np.divide(1.0, np.sqrt(np.where(ev > _EIGEN_TOL, ev, 1.0)), where=ev > _EIGEN_TOL, out=np.zeros_like(s))
        RW = R_inv @ Wt.T  # Kⱼ = M Xⱼ′ Aⱼ = R⁻¹ W diag(s a) U′
        K[:, rows] = (RW * (s * a)) @ U.T
        KK[j] = (RW * (s * a) ** 2) @ RW.T
        KX[j] = (RW * (s**2 * a)) @ (Wt @ R)
    return _CR2Parts(M=R_inv @ R_inv.T, K=K, KK=KK, KX=KX)


def _cluster_sums(values: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Column sums of ``values`` (n × p) within each cluster: G × p."""
    out = np.zeros((n_clusters, values.shape[1]))
    np.add.at(out, codes, values)
    return out


def _cr2_vcov(parts: _CR2Parts, resid: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    U = _cluster_sums((parts.K * resid).T, codes, n_clusters)  # row j: M Xⱼ′ Aⱼ eⱼ
    return U.T @ U


def _total_variance(parts: _CR2Parts, C: np.ndarray) -> float:
    """Σ_{s,t} Var(d_st) of D = Ω^(−1/2) CVC′ Ω^(−1/2) under the working model (the HTZ denominator).

    Cluster j's term of CVC′ is a quadratic form in the errors; the covariance of the terms of
    clusters j and k is Pⱼₖ = δⱼₖ Dⱼ − Fⱼ M Fₖ′ with Dⱼ = C KKⱼ C′ and Fⱼ = C KXⱼ (q × q and q × p),
    and Ω = Σⱼ Pⱼⱼ. For Bⱼₖ = Ω^(−1/2) Pⱼₖ Ω^(−1/2) the total is Σⱼₖ tr(Bⱼₖ²) + (tr Bⱼₖ)² (clubSandwich's
    ``total_variance_mat``). The off-diagonal parts Oⱼₖ = F̃ⱼ M F̃ₖ′ enter only through
    Σⱼₖ tr(Oⱼₖ²) and Σⱼₖ (tr Oⱼₖ)², which factor into sums over j times sums over k.
    """
    D = np.einsum("sa,jab,tb->jst", C, parts.KK, C)
    F = np.einsum("sa,jab->jsb", C, parts.KX)
    FM = F @ parts.M
    omega = D.sum(axis=0) - np.einsum("jsa,jta->st", FM, F)
    T = _sym_power(omega, -0.5)
    D = T @ D @ T
    F = np.einsum("st,jta->jsa", T, F)
    FM = F @ parts.M
    O_diag = np.einsum("jsa,jta->jst", FM, F)
    tr_D = np.trace(D, axis1=1, axis2=2)
    tr_O = np.trace(O_diag, axis1=1, axis2=2)
    diagonal = (
        np.einsum("jst,jts->", D, D) + np.sum(tr_D**2) - 2 * np.einsum("jst,jts->", D, O_diag) - 2 * np.sum(tr_D * tr_O)
    )
    # Σⱼₖ tr(Oⱼₖ²) = Σ_{stab} [Σⱼ FMⱼ[s,a] FMⱼ[t,b]] [Σₖ Fₖ[t,a] Fₖ[s,b]]; (tr Oⱼₖ)² likewise.
    phi = np.einsum("jsa,jtb->stab", FM, FM)
    cross = np.sum(phi * np.einsum("jta,jsb->stab", F, F)) + np.sum(phi * np.einsum("jsa,jtb->stab", F, F))
    return float(diagonal + cross)


def _satterthwaite(parts: _CR2Parts, contrasts: np.ndarray) -> np.ndarray:
    # With q = 1 the total variance is 2 Σⱼₖ Bⱼₖ², so ν = q(q + 1)/total is the Satterthwaite df.
    return np.array([2.0 / _total_variance(parts, c[None, :]) for c in contrasts])


def _constraint_matrix(constraints, names: tuple[str, ...]) -> np.ndarray:
    """A q × p matrix from a matrix, or from column positions / names meaning "these are all 0"."""
    p = len(names)
    arr = np.asarray(constraints)
    if arr.ndim == 2:
        C = arr.astype(float)
        if C.shape[1] != p:
            raise ValueError(f"约束矩阵应有 {p} 列 | the constraint matrix needs {p} columns, not {C.shape[1]}")
        return C
    cols = [names.index(c) if isinstance(c, str) else int(c) for c in np.atleast_1d(constraints).tolist()]
    if not cols or len(set(cols)) != len(cols) or not all(0 <= c < p for c in cols):
        raise ValueError(f"约束列无效：{cols} | invalid constraint columns {cols} for {p} coefficients")
    return np.eye(p)[cols]


def _wald_statistic(b: np.ndarray, V: np.ndarray, C: np.ndarray) -> float:
    CVC = C @ V @ C.T
    try:
        chol = linalg.cho_factor(CVC)
    except linalg.LinAlgError:
        raise NotEstimable(
            f"聚类数太少（或约束相互重复），无法对 {len(C)} 个约束做联合检验",
            f"too few clusters (or redundant constraints) for a joint test of {len(C)} constraints",
        ) from None
    Cb = C @ b
    return float(Cb @ linalg.cho_solve(chol, Cb))


# --- public API ----------------------------------------------------------------------------------------------


def vcov_cr2(X: np.ndarray, resid: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """CR2 (Bell–McCaffrey) covariance matrix of OLS coefficients.

    Parameters
    ----------
    X : array (n, p)
        Full-rank design matrix (with the constant).
    resid : array (n,)
        OLS residuals y − Xb.
    clusters : array (n,)
        Cluster label of each row.

    Returns
    -------
    ndarray (p, p)
        V = M [Σⱼ Xⱼ′ Aⱼ eⱼ eⱼ′ Aⱼ Xⱼ] M with Aⱼ = (I − Hⱼⱼ)^(−1/2), equal to
        ``clubSandwich::vcovCR(fit, cluster, type = "CR2")`` for an unweighted ``lm``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), [0.0, 1, 2, 0, 1, 3]])
    >>> e = np.array([0.5, -0.2, -0.3, 0.1, 0.4, -0.5])
    >>> vcov_cr2(X, e, [1, 1, 1, 2, 2, 2]).shape
    (2, 2)
    """
    _, X, codes, g, _ = _as_arrays(None, X, clusters)
    return _cr2_vcov(_cr2_parts(X, codes, g), np.asarray(resid, dtype=float), codes, g)


def vcov_cr1(X: np.ndarray, resid: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """CR1 covariance matrix as Stata's ``vce(cluster)``: G/(G − 1) · (n − 1)/(n − p) · M S′S M.

    Parameters
    ----------
    X : array (n, p)
        Full-rank design matrix (with the constant).
    resid : array (n,)
        OLS residuals.
    clusters : array (n,)
        Cluster label of each row.

    Returns
    -------
    ndarray (p, p)
        With S the G × p matrix of cluster score sums Σᵢ∈ⱼ xᵢ eᵢ; equal to
        ``sandwich::vcovCL(fit, cluster, type = "HC1")`` and clubSandwich's ``"CR1S"``.
    """
    _, X, codes, g, _ = _as_arrays(None, X, clusters)
    n, p = X.shape
    M = np.linalg.inv(X.T @ X)
    S = _cluster_sums(X * np.asarray(resid, dtype=float)[:, None], codes, g)
    return g / (g - 1) * (n - 1) / (n - p) * M @ S.T @ S @ M


def satterthwaite_df(X: np.ndarray, clusters: np.ndarray, contrast: np.ndarray | None = None) -> np.ndarray:
    """Satterthwaite (Bell–McCaffrey) degrees of freedom of CR2 t-tests of c′β.

    Parameters
    ----------
    X : array (n, p)
        Full-rank design matrix.
    clusters : array (n,)
        Cluster label of each row.
    contrast : array (p,) or (k, p), optional
        One contrast or one per row; by default each coefficient (the identity).

    Returns
    -------
    ndarray (k,)
        ν = (Σⱼ gⱼ′gⱼ)² / Σⱼₖ (gⱼ′gₖ)² per contrast (see the module notes); depends on X and the
        clusters only. Equal to ``df_Satt`` of ``clubSandwich::coef_test(test = "Satterthwaite")``
        and ``df`` of ``clubSandwich::linear_contrast``.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.repeat(np.arange(6), 5)
    >>> X = np.column_stack([np.ones(30), np.tile(np.arange(5.0), 6)])
    >>> satterthwaite_df(X, g).round(6).tolist()  # balanced, x varies only within clusters
    [5.0, 5.0]
    """
    _, X, codes, g, _ = _as_arrays(None, X, clusters)
    _check_design(X, g)
    C = np.eye(X.shape[1]) if contrast is None else np.atleast_2d(np.asarray(contrast, dtype=float))
    return _satterthwaite(_cr2_parts(X, codes, g), C)


def fit_ols_clustered(
    y: np.ndarray,
    X: np.ndarray | pd.DataFrame,
    clusters: np.ndarray,
    method: str = "auto",
    level: float = 0.95,
    cr1_min_clusters: int = CR1_MIN_CLUSTERS,
) -> ClusteredOLS:
    """OLS of ``y`` on ``X`` (include the constant yourself) with inference robust to ``clusters``.

    Parameters
    ----------
    y : array (n,)
        Outcome, no missing values.
    X : array or DataFrame (n, p)
        Design matrix; a DataFrame's column names become the term names.
    clusters : array (n,)
        Unit of each row (any labels).
    method : {"auto", "CR2", "CR1"}
        ``"CR2"``: Bell–McCaffrey covariance, t with Satterthwaite df per coefficient;
        ``"CR1"``: Stata's CR1, t with G − 1 df; ``"auto"``: CR2 with fewer than
        ``cr1_min_clusters`` clusters, CR1 from there on.
    level : float
        Confidence level of the intervals.
    cr1_min_clusters : int
        The switch point of ``"auto"`` (:data:`CR1_MIN_CLUSTERS`).

    Returns
    -------
    ClusteredOLS
        ``b, se, df, t, p, ci_low, ci_high`` per coefficient, ``vcov``, ``n``, ``n_clusters``,
        ``method`` and ``se_type``.

    Raises
    ------
    NotEstimable
        Fewer than 2 clusters, a rank-deficient design or no residual degrees of freedom.

    Notes
    -----
    t = b / se, p = 2 P(T_df > |t|), CI = b ± t_{df, (1 + level)/2} · se. For CR2 these are
    ``clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite")`` and ``conf_int``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(50), 4)
    >>> X = pd.DataFrame({"const": 1.0, "x": rng.normal(size=200)})
    >>> res = fit_ols_clustered(X.x * 0.3 + rng.normal(size=200), X, g)
    >>> res.method, res.df.tolist()            # 50 clusters: CR1 with G − 1 df
    ('CR1', [49.0, 49.0])
    >>> list(res.to_frame().index)
    ['const', 'x']
    """
    if method not in ("auto", "CR2", "CR1"):
        raise ValueError(f"method 应为 auto、CR2 或 CR1 | method must be 'auto', 'CR2' or 'CR1', not {method!r}")
    y, X, codes, g, names = _as_arrays(y, X, clusters)
    _check_design(X, g)
    if method == "auto":
        method = "CR1" if g >= cr1_min_clusters else "CR2"
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ b
    if method == "CR2":
        parts = _cr2_parts(X, codes, g)
        V = _cr2_vcov(parts, resid, codes, g)
        df = _satterthwaite(parts, np.eye(X.shape[1]))
        se_type = SE_TYPE_CR2
    else:
        V = vcov_cr1(X, resid, codes)
        df = np.full(X.shape[1], g - 1.0)
        se_type = SE_TYPE_CR1
    se = np.sqrt(np.diag(V))
    t = b / se
    q = stats.t.ppf(0.5 + level / 2, df)
    return ClusteredOLS(
        names=names,
        b=b,
        se=se,
        df=df,
        t=t,
        p=2 * stats.t.sf(np.abs(t), df),
        ci_low=b - q * se,
        ci_high=b + q * se,
        vcov=V,
        n=len(y),
        n_clusters=g,
        method=method,
        se_type=se_type,
        level=level,
    )


def wald_test_cr2(
    y: np.ndarray, X: np.ndarray | pd.DataFrame, clusters: np.ndarray, constraints: Sequence | np.ndarray
) -> WaldTest:
    """CR2 Wald test of H₀: Cβ = 0 with the HTZ small-sample F (Tipton & Pustejovsky, 2015).

    Parameters
    ----------
    y : array (n,)
        Outcome.
    X : array or DataFrame (n, p)
        Full-rank design matrix (with the constant).
    clusters : array (n,)
        Unit of each row.
    constraints : sequence of int or str, or array (q, p)
        Columns (positions, or names when ``X`` is a DataFrame) whose coefficients are all 0
        under H₀ — a block of a hierarchical regression for its ΔR² — or a constraint matrix C.

    Returns
    -------
    WaldTest
        F = (ν − q + 1)/(ν q) · Q on (q, ν − q + 1) df, ``test="HTZ"``.

    Raises
    ------
    NotEstimable
        The design checks of :func:`fit_ols_clustered`; CVC′ singular (more constraints than the
        clusters can identify); or ν − q + 1 ≤ 0, where the HTZ test has no reference distribution.

    Notes
    -----
    Q = (Cb)′(CV_CR2C′)⁻¹(Cb); ν is given in the module notes. Equal to
    ``clubSandwich::Wald_test(fit, constrain_zero(...), vcov = "CR2", test = "HTZ")``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> g = np.repeat(np.arange(12), 10)
    >>> X = np.column_stack([np.ones(120), rng.normal(size=(120, 3))])
    >>> w = wald_test_cr2(X @ [1, 0.5, 0, 0] + rng.normal(size=120), X, g, [2, 3])
    >>> w.test, w.df_num, bool(w.df_denom < 11)
    ('HTZ', 2, True)
    """
    y, X, codes, g, names = _as_arrays(y, X, clusters)
    _check_design(X, g)
    C = _constraint_matrix(constraints, names)
    q = len(C)
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    parts = _cr2_parts(X, codes, g)
    Q = _wald_statistic(b, _cr2_vcov(parts, y - X @ b, codes, g), C)
    nu = q * (q + 1) / _total_variance(parts, C)
    df_denom = nu - q + 1
    require(
        df_denom > 0,
        f"单位数太少（HTZ 自由度 {df_denom:.2f}），无法对 {q} 个约束做联合检验",
        f"too few clusters for a joint test of {q} constraints (HTZ denominator df {df_denom:.2f})",
    )
    delta = df_denom / nu
    f = delta * Q / q
    return WaldTest(
        f=f,
        df_num=q,
        df_denom=df_denom,
        p=float(stats.f.sf(f, q, df_denom)),
        wald=Q,
        delta=delta,
        test="HTZ",
        se_type=SE_TYPE_CR2,
    )


def wald_test_cr1(
    y: np.ndarray, X: np.ndarray | pd.DataFrame, clusters: np.ndarray, constraints: Sequence | np.ndarray
) -> WaldTest:
    """CR1 Wald test of H₀: Cβ = 0: Q/q against F(q, G − 1), as Stata's ``test`` after ``vce(cluster)``.

    Parameters and errors as :func:`wald_test_cr2`; equal to
    ``clubSandwich::Wald_test(vcov = "CR1S", test = "Naive-F")``. Use it only with many clusters.

    Parameters
    ----------
    y : array (n,)
        Outcome.
    X : array or DataFrame (n, p)
        Full-rank design matrix (with the constant).
    clusters : array (n,)
        Unit of each row.
    constraints : sequence of int or str, or array (q, p)
        As in :func:`wald_test_cr2`.

    Returns
    -------
    WaldTest
        ``test="Naive-F"``, ``delta = 1``.
    """
    y, X, codes, g, names = _as_arrays(y, X, clusters)
    _check_design(X, g)
    C = _constraint_matrix(constraints, names)
    q = len(C)
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    Q = _wald_statistic(b, vcov_cr1(X, y - X @ b, codes), C)
    return WaldTest(
        f=Q / q,
        df_num=q,
        df_denom=float(g - 1),
        p=float(stats.f.sf(Q / q, q, g - 1)),
        wald=Q,
        delta=1.0,
        test="Naive-F",
        se_type=SE_TYPE_CR1,
    )


def wald_test_clustered(
    y: np.ndarray,
    X: np.ndarray | pd.DataFrame,
    clusters: np.ndarray,
    constraints: Sequence | np.ndarray,
    method: str = "auto",
    cr1_min_clusters: int = CR1_MIN_CLUSTERS,
) -> WaldTest:
    """The Wald test that goes with :func:`fit_ols_clustered` for the same ``method``.

    HTZ with CR2 below ``cr1_min_clusters`` clusters, the naive F(q, G − 1) with CR1 from there on.

    Parameters
    ----------
    y, X, clusters, constraints
        As in :func:`wald_test_cr2`.
    method : {"auto", "CR2", "CR1"}
        As in :func:`fit_ols_clustered`.
    cr1_min_clusters : int
        The switch point of ``"auto"``.

    Returns
    -------
    WaldTest
    """
    if method not in ("auto", "CR2", "CR1"):
        raise ValueError(f"method 应为 auto、CR2 或 CR1 | method must be 'auto', 'CR2' or 'CR1', not {method!r}")
    if method == "auto":
        method = "CR1" if pd.unique(np.asarray(clusters)).size >= cr1_min_clusters else "CR2"
    return (wald_test_cr1 if method == "CR1" else wald_test_cr2)(y, X, clusters, constraints)


def cluster_bootstrap_indices(
    clusters: np.ndarray,
    n_boot: int,
    rng: np.random.Generator | int | None = None,
    with_clusters: bool = False,
) -> Iterator[np.ndarray] | Iterator[tuple[np.ndarray, np.ndarray]]:
    """Row indices of ``n_boot`` cluster-bootstrap resamples: whole clusters drawn with replacement.

    Parameters
    ----------
    clusters : array (n,)
        Unit of each row.
    n_boot : int
        Number of resamples.
    rng : numpy Generator or int, optional
        Source of randomness (a seed makes the resamples reproducible).
    with_clusters : bool
        Also yield the cluster code of each resampled row, 0…G−1 by draw, so that a unit drawn
        twice counts as two units in a cluster-robust fit of the resample.

    Returns
    -------
    iterator of ndarray of int
        Row positions of one resample (``data.iloc[rows]``), or ``(rows, codes)`` with
        ``with_clusters``. Each resample draws G cluster codes by ``rng.integers(0, G, size=G)``
        (clusters in sorted label order) and takes all rows of each drawn cluster, so a resample's
        length varies when clusters differ in size.

    Raises
    ------
    NotEstimable
        Fewer than 2 clusters.

    Notes
    -----
    The pairs cluster bootstrap (Field & Welsh, 2007; Cameron, Gelbach & Miller, 2008) keeps the
    dependence within each unit, which resampling respondents breaks: for a mean of clusters of
    size m with intraclass correlation ρ the row bootstrap understates the variance by the design
    effect 1 + (m − 1)ρ (Kish, 1965), and estimates built from means, such as an indirect effect,
    inherit the problem. Its percentile intervals rely on many clusters; Cameron, Gelbach &
    Miller (2008) find the pairs cluster bootstrap over-rejects with 5–10 clusters, so with few
    units report such an interval as approximate.

    Field, C. A., & Welsh, A. H. (2007). Bootstrapping clustered data. *Journal of the Royal
    Statistical Society B*, 69(3), 369–390. Kish, L. (1965). *Survey sampling*. Wiley.

    Examples
    --------
    >>> draws = list(cluster_bootstrap_indices(["a", "a", "b", "c", "c", "c"], n_boot=2, rng=0))
    >>> len(draws)
    2
    >>> rows, codes = next(cluster_bootstrap_indices(["a", "a", "b"], 1, rng=0, with_clusters=True))
    >>> len(rows) == len(codes)
    True
    """
    codes, uniques = pd.factorize(np.asarray(clusters), sort=True)
    g = len(uniques)
    require(g >= 2, "只有 1 个单位，无法按单位重抽样", "one unit only: units cannot be resampled")
    # Checked here, not inside the generator, so that one cluster fails at the call.
    return _resample_clusters(_groups(codes, g), n_boot, np.random.default_rng(rng), with_clusters)


def _resample_clusters(groups: list[np.ndarray], n_boot: int, rng: np.random.Generator, with_clusters: bool):
    g = len(groups)
    sizes = np.array([len(rows) for rows in groups])
    for _ in range(n_boot):
        drawn = rng.integers(0, g, size=g)
        rows = np.concatenate([groups[k] for k in drawn])
        if with_clusters:
            yield rows, np.repeat(np.arange(g), sizes[drawn])
        else:
            yield rows
