"""Missing answers: how many, whether they look random, and multiple imputation with Rubin's rules.

* :func:`missingness_table` — per item, the number and share of missing answers.
* :func:`little_mcar` — Little's (1988) χ² test of missing completely at random, from the EM
  estimates of μ and Σ (:func:`jianfu.stats.fiml.em_moments`).
* :func:`impute_chained` — m completed datasets by chained equations with predictive mean matching
  (van Buuren & Groothuis-Oudshoorn, 2011; mice's default ``pmm``).
* :func:`pool_rubin` — Rubin's (1987) rules with the Barnard–Rubin (1999) small-sample degrees of
  freedom, as ``mice::pool``; :func:`pool_ols` fits an OLS to each completed dataset and pools it.

References
----------
Barnard, J., & Rubin, D. B. (1999). Small-sample degrees of freedom with multiple imputation.
*Biometrika*, 86(4), 948–955.
Little, R. J. A. (1988). A test of missing completely at random for multivariate data with missing
values. *Journal of the American Statistical Association*, 83(404), 1198–1202.
Rubin, D. B. (1987). *Multiple imputation for nonresponse in surveys*. Wiley.
van Buuren, S. (2018). *Flexible imputation of missing data* (2nd ed.). CRC Press.
van Buuren, S., & Groothuis-Oudshoorn, K. (2011). mice: Multivariate imputation by chained
equations in R. *Journal of Statistical Software*, 45(3), 1–67.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from jianfu.stats.estimable import NotEstimable, require
from jianfu.stats.fiml import _evaluate, _Patterns, em_moments

__all__ = [
    "missingness_table",
    "little_mcar",
    "LittleMCAR",
    "impute_chained",
    "pool_rubin",
    "pool_ols",
]


def missingness_table(items: pd.DataFrame) -> pd.DataFrame:
    """Per item: answers present, answers missing and the share missing.

    Parameters
    ----------
    items : DataFrame
        One column per item; NaN (or None) marks a missing answer.

    Returns
    -------
    DataFrame
        Index: the items in column order. Columns ``n`` (rows), ``n_observed``, ``n_missing`` and
        ``share_missing`` (0–1). ``attrs`` holds ``rows_complete`` (rows with every item) and
        ``cells_missing`` (share of all cells).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> d = pd.DataFrame({"q1": [1, 2, np.nan, 4], "q2": [1, np.nan, np.nan, 2], "q3": [1, 2, 3, 4]})
    >>> t = missingness_table(d)
    >>> t[["n_missing", "share_missing"]]
        n_missing  share_missing
    q1          1           0.25
    q2          2           0.50
    q3          0           0.00
    >>> t.attrs["rows_complete"]
    2
    """
    miss = items.isna()
    n = len(items)
    out = pd.DataFrame(
        {
            "n": n,
            "n_observed": (~miss).sum().astype(int),
            "n_missing": miss.sum().astype(int),
        },
        index=items.columns,
    )
    out["share_missing"] = out.n_missing / n if n else np.nan
    out.attrs["rows_complete"] = int((~miss.any(axis=1)).sum())
    out.attrs["cells_missing"] = float(miss.to_numpy().mean()) if miss.size else float("nan")
    return out


@dataclass(frozen=True)
class LittleMCAR:
    """Little's MCAR test: d² referred to χ²(df); ``n`` rows with any value, ``n_patterns`` among them."""

    statistic: float
    df: int
    p: float
    n: int
    n_patterns: int

    def to_dict(self) -> dict:
        """JSON-ready ``{statistic, df, p, n, n_patterns}``."""
        return {"statistic": self.statistic, "df": self.df, "p": self.p, "n": self.n, "n_patterns": self.n_patterns}


def little_mcar(items: pd.DataFrame, tol: float = 1e-12) -> LittleMCAR:
    """Little's (1988) χ² test that the items are missing completely at random.

    Parameters
    ----------
    items : DataFrame
        Numeric items; NaN marks a missing value. Rows with no value are left out.
    tol : float
        Convergence tolerance of the EM estimates (:func:`jianfu.stats.fiml.em_moments`).

    Returns
    -------
    LittleMCAR
        ``statistic`` d², ``df``, ``p``, ``n`` and ``n_patterns``.

    Raises
    ------
    NotEstimable
        No missing value (nothing to test), or moments that EM cannot estimate.

    Notes
    -----
    With μ̂ and Σ̂ the ML (EM) estimates from all rows, and for each missingness pattern j its n_j
    rows, observed items o_j (p_j of them) and their mean ȳ_j,

        d² = Σ_j n_j (ȳ_j − μ̂_oj)′ Σ̂_oj⁻¹ (ȳ_j − μ̂_oj),    df = Σ_j p_j − p,

    asymptotically χ²(df) under MCAR (Little, 1988, eq. 5). As ``naniar::mcar_test`` (and
    BaylorEdPsych's ``LittleMCAR`` before it), Σ̂ is the ML estimate (divisor n). A small p says the
    item means differ between patterns, so the missingness is not completely at random — which
    FIML and multiple imputation allow (MAR); a large p does not prove MCAR.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> x = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    >>> mcar = x.mask(rng.random((300, 3)) < 0.15)
    >>> little_mcar(mcar).p > 0.05                    # holes at random: no evidence against MCAR
    True
    >>> mar = x.copy(); mar.loc[x.a > 0.5, "b"] = np.nan  # b missing when a is high
    >>> little_mcar(mar).p < 0.001                    # In R: naniar::mcar_test(mar)
    True
    """
    require(bool(items.isna().to_numpy().any()), "没有缺失值，无需检验", "no missing values: nothing to test")
    em = em_moments(items, tol=tol)
    Y = items.to_numpy(dtype=float, na_value=np.nan)
    Y = Y[~np.isnan(Y).all(axis=1)]
    obs = ~np.isnan(Y)
    packed = np.ascontiguousarray(np.packbits(obs, axis=1))
    _, first, code, counts = np.unique(
        packed.view(f"V{packed.shape[1]}").ravel(), return_index=True, return_inverse=True, return_counts=True
    )
    code = code.ravel()
    sums = np.zeros((len(counts), Y.shape[1]))
    np.add.at(sums, code, np.where(obs, Y, 0.0))
    keys = obs[first]
    means = np.where(keys, sums / counts[:, None], np.nan)
    # One row per pattern (its mean); Pⱼ(ȳⱼ − μ̂) comes from the likelihood machinery of the FIML fit.
    mu, sigma = em.mean.to_numpy(), em.cov.to_numpy()
    pat = _Patterns.from_array(means)
    W = _evaluate(pat, mu, sigma, full=False).W
    quad = np.einsum("ij,ij->i", np.where(keys, means - mu, 0.0), W)
    d2 = float(np.sum(counts * quad))
    df = int(keys.sum() - Y.shape[1])
    return LittleMCAR(
        statistic=d2,
        df=df,
        p=float(stats.chi2.sf(d2, df)) if df > 0 else float("nan"),
        n=len(Y),
        n_patterns=len(counts),
    )


# --- multiple imputation --------------------------------------------------------------------------------------


def _predictors(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as they are; complete non-numeric columns as dummies (first level dropped)."""

    def is_number(c) -> bool:
        return pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])

    numeric = [c for c in frame.columns if is_number(c)]
    other = [c for c in frame.columns if not is_number(c)]
    bad = [str(c) for c in other if frame[c].isna().any()]
    if bad:
        raise NotEstimable(
            f"非数值列 {', '.join(bad)} 有缺失，无法按数值插补",
            f"non-numeric column(s) {', '.join(bad)} have missing values and cannot be imputed as numbers",
        )
    X = frame[numeric].astype(float)
    if other:
        dummies = pd.get_dummies(frame[other].astype("category"), drop_first=True, dtype=float)
        X = pd.concat([X, dummies], axis=1)
    return X


def _norm_draw(gram: np.ndarray, j: int, n: int, rng: np.random.Generator, ridge: float = 1e-5):
    """β̂ and a posterior draw β* of a normal linear model (mice's ``.norm.draw``) from a Gram matrix.

    ``gram`` is Z′Z over the rows where column ``j`` (the outcome) is observed, ``n`` their number;
    the predictors are every other column of Z. Working from Z′Z keeps a sweep at O(N·k) instead
    of copying and multiplying the N × k predictor matrix for every variable.
    """
    others = np.delete(np.arange(len(gram)), j)
    xtx_raw = gram[np.ix_(others, others)]
    xty = gram[others, j]
    xtx = xtx_raw.copy()
    xtx[np.diag_indices_from(xtx)] += ridge * np.diag(xtx)
    V = np.linalg.inv(xtx)
    V = (V + V.T) / 2
    beta = V @ xty
    rss = max(gram[j, j] - 2 * beta @ xty + beta @ xtx_raw @ beta, 0.0)
    df = max(n - len(others), 1)
    sigma_star = np.sqrt(rss / rng.chisquare(df))
    beta_star = beta + np.linalg.cholesky(V) @ rng.standard_normal(len(others)) * sigma_star
    return others, beta, beta_star


def _pmm(yhat_obs: np.ndarray, yhat_mis: np.ndarray, y_obs: np.ndarray, donors: int, rng) -> np.ndarray:
    """For each missing value, the observed value of one of the ``donors`` closest predictions, at random."""
    order = np.argsort(yhat_obs)  # ties in any fixed order: the donor among them is drawn at random anyway
    sorted_hat = yhat_obs[order]
    n_obs = len(order)
    d = min(donors, n_obs)
    width = min(2 * d, n_obs)
    # The d nearest predictions lie in the 2d sorted places around the insertion point.
    start = np.clip(np.searchsorted(sorted_hat, yhat_mis) - d, 0, n_obs - width)
    window = start[:, None] + np.arange(width)[None, :]
    dist = np.abs(sorted_hat[window] - yhat_mis[:, None])
    dist += rng.random(dist.shape) * 1e-10 * (1 + np.abs(yhat_mis[:, None]))  # random tie-break, as mice
    nearest = np.argsort(dist, axis=1)[:, :d]
    rows = np.arange(len(yhat_mis))
    pick = nearest[rows, rng.integers(0, d, size=len(yhat_mis))]
    return y_obs[order[window[rows, pick]]]


def impute_chained(
    frame: pd.DataFrame,
    m: int = 20,
    seed: int | None = None,
    max_iter: int = 10,
    donors: int = 5,
) -> list[pd.DataFrame]:
    """Multiple imputation by chained equations with predictive mean matching (as ``mice(method = "pmm")``).

    Parameters
    ----------
    frame : DataFrame
        The analysis variables and any auxiliaries. Numeric columns with missing values are imputed;
        complete non-numeric columns (e.g. a unit's level) are used as dummy-coded predictors.
    m : int
        Number of completed datasets.
    seed : int, optional
        Seed of the random generator, for reproducible imputations.
    max_iter : int
        Sweeps over the incomplete variables per dataset (mice's ``maxit``, default there 5).
    donors : int
        Candidate donors per missing value (mice's ``donors``).

    Returns
    -------
    list of DataFrame
        ``m`` copies of ``frame`` with every missing numeric value filled by an observed value.

    Raises
    ------
    NotEstimable
        A non-numeric column with missing values, or a column with no observed value.

    Notes
    -----
    Each dataset starts from random draws of the observed values. A sweep visits the incomplete
    variables in column order; for variable y with observed rows o and missing rows u, a linear
    regression of y on all other variables (their current values, an intercept, ridge 10⁻⁵ as mice)
    gives β̂ and a draw β* from its posterior (σ*² = RSS / χ²_df, β* = β̂ + σ* chol(V) z). Each
    missing yᵤ is then replaced by the observed value of a donor drawn at random among the
    ``donors`` observed rows whose x_oβ̂ is closest to x_uβ* (type-1 matching; van Buuren, 2018,
    §3.4). PMM imputes only values that occur in the data, so Likert items stay on their scale.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"x": rng.normal(size=50)})
    >>> d["y"] = (2 * d.x + rng.normal(size=50)).round(1)
    >>> d.loc[:9, "y"] = np.nan
    >>> imps = impute_chained(d, m=3, seed=1)         # In R: mice(d, m = 3, method = "pmm")
    >>> len(imps), int(imps[0].y.isna().sum()), bool(imps[0].y.isin(d.y.dropna()).all())
    (3, 0, True)
    """
    require(m >= 1, "插补次数 m 至少为 1", "m must be at least 1")
    X_all = _predictors(frame)
    miss = X_all.isna()
    incomplete = [c for c in X_all.columns if miss[c].any()]
    empty = [c for c in incomplete if miss[c].all()]
    if empty:
        raise NotEstimable(
            f"列 {', '.join(map(str, empty))} 没有任何观测值，无法插补",
            f"column(s) {', '.join(map(str, empty))} have no observed value to impute from",
        )
    rng = np.random.default_rng(seed)
    values = X_all.to_numpy(dtype=float)
    col = {c: i + 1 for i, c in enumerate(X_all.columns)}  # column 0 of Z is the intercept
    masks = {c: miss[c].to_numpy() for c in incomplete}
    # Row numbers instead of masks, and each variable's observed values (they never change): a
    # sweep then touches the N rows only for the predictions x_oβ̂.
    mis = {c: np.flatnonzero(masks[c]) for c in incomplete}
    obs = {c: np.flatnonzero(~masks[c]) for c in incomplete}
    observed = {c: values[obs[c], col[c] - 1] for c in incomplete}
    out = []
    for _ in range(m):
        Z = np.column_stack([np.ones(len(values)), values])
        for c in incomplete:
            Z[mis[c], col[c]] = rng.choice(observed[c], size=len(mis[c]))
        for _ in range(max_iter if incomplete else 0):
            ztz = Z.T @ Z  # afresh each sweep, so that the rank-one updates below cannot drift
            for c in incomplete:
                j, u = col[c], mis[c]
                Zu = Z[u]
                others, beta, beta_star = _norm_draw(ztz - Zu.T @ Zu, j, len(obs[c]), rng)
                b = np.zeros(Z.shape[1])
                b[others] = beta
                new = _pmm((Z @ b)[obs[c]], Zu[:, others] @ beta_star, observed[c], donors, rng)
                delta = new - Zu[:, j]
                change = Zu.T @ delta
                ztz[:, j] += change
                ztz[j, :] += change
                ztz[j, j] += delta @ delta
                Z[u, j] = new
        current = Z
        done = frame.copy()
        for c in incomplete:
            done[c] = current[:, col[c]]
        out.append(done)
    return out


def pool_rubin(
    estimates,
    variances,
    n: int | None = None,
    *,
    df_complete=None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Pool estimates from m imputed datasets by Rubin's rules, with Barnard–Rubin degrees of freedom.

    Parameters
    ----------
    estimates : DataFrame or array (m, k)
        One row per imputed dataset, one column per parameter.
    variances : DataFrame or array (m, k)
        The squared standard errors, same shape.
    n : int, optional
        Complete-data sample size; the complete-data df is then n − k (k = number of columns: pass
        all coefficients of the model), as ``mice`` takes ``df.residual`` of an lm.
    df_complete : float or array (k,), optional
        The complete-data df directly (overrides ``n``), e.g. per coefficient of a cluster-robust fit.
        With neither, df_com = ∞ (Rubin's original df).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per parameter: ``estimate`` (Q̄), ``ubar`` (Ū), ``b`` (B), ``total_var`` (T), ``se``,
        ``df``, ``dfcom``, ``riv``, ``lambda``, ``fmi``, ``statistic`` (Q̄/√T), ``p``, ``ci_low``,
        ``ci_high``, ``m`` — mice's ``pool()$pooled`` and ``summary(pool(), conf.int = TRUE)``.

    Notes
    -----
    Q̄ = mean Q̂ₗ, Ū = mean Uₗ, B = var Q̂ₗ (divisor m − 1), T = Ū + (1 + 1/m)B;
    r = (1 + 1/m)B/Ū, λ = (1 + 1/m)B/T. Barnard & Rubin (1999):
    ν_old = (m − 1)/λ², ν_obs = (ν_com + 1)/(ν_com + 3) · ν_com(1 − λ), ν = ν_old ν_obs/(ν_old + ν_obs)
    (λ floored at 10⁻⁴ as mice); fmi = (r + 2/(ν + 3))/(1 + r). Tests and intervals use t(ν).

    Examples
    --------
    >>> import numpy as np
    >>> est = np.array([[1.0, 0.50], [1.2, 0.55], [0.9, 0.45]])
    >>> var = np.array([[0.04, 0.010], [0.05, 0.012], [0.04, 0.011]])
    >>> res = pool_rubin(est, var, n=100)             # In R: mice::pool.scalar / pool(fit)
    >>> res[["estimate", "b", "total_var"]].round(4)
       estimate       b  total_var
    0    1.0333  0.0233     0.0744
    1    0.5000  0.0025     0.0143
    """
    names = list(estimates.columns) if isinstance(estimates, pd.DataFrame) else None
    Q = np.asarray(estimates, dtype=float)
    U = np.asarray(variances, dtype=float)
    require(Q.ndim == 2 and Q.shape == U.shape, "估计值与方差的形状不一致", "estimates and variances differ in shape")
    m, k = Q.shape
    require(m >= 2, "至少需要 2 个插补数据集", "at least 2 imputed datasets are needed")
    if df_complete is not None:
        dfcom = np.broadcast_to(np.asarray(df_complete, dtype=float), (k,)).copy()
    elif n is not None:
        dfcom = np.full(k, float(n - k))
    else:
        dfcom = np.full(k, np.inf)
    qbar = Q.mean(axis=0)
    ubar = U.mean(axis=0)
    b = Q.var(axis=0, ddof=1)
    t = ubar + (1 + 1 / m) * b
    riv = (1 + 1 / m) * b / ubar
    lam = (1 + 1 / m) * b / t
    lam_floor = np.maximum(lam, 1e-4)
    df_old = (m - 1) / lam_floor**2
    with np.errstate(invalid="ignore"):
        df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam_floor)
        df = np.where(np.isinf(dfcom), df_old, df_old * df_obs / (df_old + df_obs))
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    se = np.sqrt(t)
    stat = qbar / se
    crit = stats.t.ppf(0.5 + level / 2, df)
    return pd.DataFrame(
        {
            "estimate": qbar,
            "ubar": ubar,
            "b": b,
            "total_var": t,
            "se": se,
            "df": df,
            "dfcom": dfcom,
            "riv": riv,
            "lambda": lam,
            "fmi": fmi,
            "statistic": stat,
            "p": 2 * stats.t.sf(np.abs(stat), df),
            "ci_low": qbar - crit * se,
            "ci_high": qbar + crit * se,
            "m": m,
        },
        index=pd.Index(names, name="term") if names is not None else None,
    )


def pool_ols(
    frames: Sequence[pd.DataFrame],
    outcome: str,
    predictors: Sequence[str] | None = None,
    *,
    design: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    cluster: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Fit the same OLS to each imputed dataset and pool the coefficients by Rubin's rules.

    Parameters
    ----------
    frames : sequence of DataFrame
        The completed datasets (:func:`impute_chained`).
    outcome : str
        The dependent variable.
    predictors : sequence of str, optional
        Numeric predictor columns; an intercept ``(Intercept)`` is added.
    design : callable, optional
        Instead of ``predictors``: builds the predictor columns from a dataset (e.g. dummies and
        centred products via :func:`jianfu.stats.regression.design_matrix`); an intercept is added.
    cluster : str, optional
        Unit column: standard errors become cluster-robust (:func:`jianfu.stats.cluster_robust.
        fit_ols_clustered`, CR2 below 40 units) and each coefficient's complete-data df is its mean
        cluster df over the datasets; otherwise classical OLS with df = n − k.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        :func:`pool_rubin`'s table, one row per coefficient; ``attrs``: ``n`` (rows per dataset),
        ``m`` and ``se_type``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"x": rng.normal(size=200)})
    >>> d["y"] = 1 + 0.5 * d.x + rng.normal(size=200)
    >>> d.loc[rng.random(200) < 0.2, "x"] = np.nan
    >>> res = pool_ols(impute_chained(d, m=5, seed=3), "y", ["x"])   # In R: pool(with(imp, lm(y ~ x)))
    >>> list(res.index), res.attrs["n"], round(float(res.loc["x", "estimate"]), 1)
    (['(Intercept)', 'x'], 200, 0.5)
    """
    from jianfu.stats.cluster_robust import fit_ols_clustered

    require(len(frames) >= 2, "至少需要 2 个插补数据集", "at least 2 imputed datasets are needed")
    require(
        (predictors is None) != (design is None),
        "predictors 与 design 须且只能给出一个",
        "give exactly one of predictors and design",
    )
    est, var, dfs = [], [], []
    se_type = "OLS"
    for frame in frames:
        X = frame[list(predictors)].astype(float) if design is None else design(frame).astype(float)
        X = pd.concat([pd.Series(1.0, index=frame.index, name="(Intercept)"), X], axis=1)
        y = frame[outcome].astype(float).to_numpy()
        if cluster is not None:
            fit = fit_ols_clustered(y, X, frame[cluster].to_numpy(), level=level)
            est.append(fit.b), var.append(fit.se**2), dfs.append(fit.df)
            se_type = fit.se_type
        else:
            Xv = X.to_numpy()
            beta, *_ = np.linalg.lstsq(Xv, y, rcond=None)
            resid = y - Xv @ beta
            dof = len(y) - Xv.shape[1]
            require(dof > 0, "残差自由度为 0", "no residual degrees of freedom")
            cov = np.linalg.inv(Xv.T @ Xv) * (resid @ resid / dof)
            est.append(beta), var.append(np.diag(cov)), dfs.append(np.full(len(beta), float(dof)))
    cols = list(X.columns)
    res = pool_rubin(
        pd.DataFrame(est, columns=cols),
        pd.DataFrame(var, columns=cols),
        df_complete=np.mean(dfs, axis=0),
        level=level,
    )
    res.attrs.update({"n": len(frames[0]), "m": len(frames), "se_type": se_type})
    return res
