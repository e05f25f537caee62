"""Mediation with a percentile bootstrap of the indirect effect, resampled without a Python loop.

Model (parallel mediators M₁…M_k, covariates C):

    Mⱼ = i + aⱼ·X + C·γⱼ + e          Y = i + c′·X + Σ bⱼ·Mⱼ + C·δ + e

The indirect effect through Mⱼ is aⱼ·bⱼ; the total effect c = c′ + Σ aⱼ·bⱼ. Paths are OLS
estimates with their usual standard errors; the indirect effects get a percentile bootstrap
confidence interval (Preacher & Hayes, 2008) — or the bias-corrected one, as pingouin's
``mediation_analysis``, with ``method="bc"``.

Every OLS fit needs only the cross-product matrix Z′WZ of Z = [1, X, C, M, Y] under the
resampling weights W (how often each row is drawn). So a chunk of resamples is one matrix
product, counts (B × n) @ vec(zᵢzᵢ′) (n × q), followed by batched solves — 5,000 resamples of
thousands of rows take well under a second, and the draws are the same as resampling row
indices one resample after another with the seeded generator.

References
----------
Preacher, K. J., & Hayes, A. F. (2008). Asymptotic and resampling strategies for assessing and
comparing indirect effects in multiple mediator models. *Behavior Research Methods*, 40(3), 879–891.
Hayes, A. F. (2022). *Introduction to mediation, moderation, and conditional process analysis*
(3rd ed.). Guilford.

Examples
--------
>>> import pingouin as pg
>>> df = pg.read_dataset("mediation")
>>> res = mediation(df, x="X", mediators=["M"], outcome="Y", n_boot=1000, seed=42)
>>> round(res["indirect"]["M"]["effect"], 4)
0.3565
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS

from jianfu.stats.estimable import require, require_full_rank

__all__ = ["mediation", "bootstrap_indirect", "bootstrap_moments", "cluster_codes"]

#: Resamples per chunk are bounded so the count array stays near 1 M cells: the counting
#: scatters at random, and an array that fits in cache counts several times faster.
_CHUNK_CELLS = 1_000_000


def _solve(G: np.ndarray, rows: list[int], target: int) -> np.ndarray:
    """OLS coefficients of column ``target`` on columns ``rows`` from cross-product matrices G.

    A resample whose design is singular only because a dummy is all zero gets the OLS without that
    column (its coefficient 0, as an aliased term); any other singular resample gets NaN.
    """
    A = G[:, rows][:, :, rows]
    rhs = G[:, rows, target]
    # A column that is all zero in a resample shows as a zero on the diagonal of Z′WZ. The others are
    # solved together; only if one of them is singular after all is the rank checked one by one
    # (an SVD per resample would cost more than the whole bootstrap).
    ok = (np.diagonal(A, axis1=1, axis2=2) > 0).all(axis=1)
    out = np.full(rhs.shape, np.nan)
    if ok.any():
        try:
            out[ok] = np.linalg.solve(A[ok], rhs[ok][..., None])[..., 0]
        except np.linalg.LinAlgError:
            ok &= np.linalg.matrix_rank(A) == len(rows)
            if ok.any():
                out[ok] = np.linalg.solve(A[ok], rhs[ok][..., None])[..., 0]
    # A resample of whole units can miss a category of a unit-level covariate (a level no drawn unit
    # has): its dummy column is all zero. As R's lm does, that coefficient is dropped (aliased) and
    # the others are the OLS without it; the paths of interest stay identified.
    bad = np.flatnonzero(~ok)
    if bad.size:
        # Resamples that miss the same columns are solved as one batch.
        patterns, group = np.unique(np.diagonal(A[bad], axis1=1, axis2=2) > 0, axis=0, return_inverse=True)
        for g, pattern in enumerate(patterns):
            ks, keep = bad[group.ravel() == g], np.flatnonzero(pattern)
            if not keep.size:
                continue
            sub = A[ks][:, keep][:, :, keep]
            fine = np.linalg.matrix_rank(sub) == len(keep)
            if not fine.any():
                continue
            ks, sub = ks[fine], sub[fine]
            out[np.ix_(ks, keep)] = np.linalg.solve(sub, rhs[np.ix_(ks, keep)][..., None])[..., 0]
            out[np.ix_(ks, np.flatnonzero(~pattern))] = 0.0
    return out


def _counts(rng: np.random.Generator, size: int, n: int, clusters: np.ndarray | None) -> np.ndarray:
    """How often each row — or, with ``clusters`` (codes 0…G−1 per row), each cluster — is drawn in ``size`` resamples.

    Rows are drawn n times with replacement, or whole clusters G times.
    """
    if clusters is None:
        idx = rng.integers(0, n, size=(size, n), dtype=np.int64 if size * n >= 2**31 else np.int32)
        counts = np.bincount((idx + (np.arange(size, dtype=idx.dtype) * n)[:, None]).ravel(), minlength=size * n)
        return counts.reshape(size, n).astype(float)
    g = int(clusters.max()) + 1
    idx = rng.integers(0, g, size=(size, g))
    return (
        np.bincount((idx + (np.arange(size) * g)[:, None]).ravel(), minlength=size * g).reshape(size, g).astype(float)
    )


def bootstrap_moments(
    Z: np.ndarray, n_boot: int, seed: int, clusters: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Cross-product matrices Z′WZ of bootstrap resamples, in chunks ``(size, q, q)``.

    Every OLS fit of the resample needs only these (:func:`_solve`). ``clusters`` switches to the
    cluster bootstrap (whole units resampled), which keeps the within-unit dependence. A resample
    of units needs only each unit's sum of zᵢzᵢ′: the cluster bootstrap costs O(B·G), not O(B·n).
    """
    n, q = Z.shape
    # Only the upper triangle of each zᵢzᵢ′: half the work of the matrix product.
    iu = np.triu_indices(q)
    outer = Z[:, iu[0]] * Z[:, iu[1]]
    if clusters is not None:
        by_cluster = np.zeros((int(clusters.max()) + 1, outer.shape[1]))
        np.add.at(by_cluster, clusters, outer)
        outer = by_cluster
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        upper = _counts(rng, size, n, clusters) @ outer
        G = np.empty((size, q, q))
        G[:, iu[0], iu[1]] = upper
        G[:, iu[1], iu[0]] = upper
        yield G
        done += size


def bootstrap_indirect(
    Z: np.ndarray,
    x: int,
    covariates: list[int],
    mediators: list[int],
    y: int,
    n_boot: int,
    seed: int,
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """Bootstrap distribution of aⱼ·bⱼ for each mediator: an array ``(n_boot, k)``.

    ``Z`` holds a constant column 0 and the variables at the given column positions.
    """
    a_rows = [0, x, *covariates]
    b_rows = [0, x, *covariates, *mediators]
    parts = []
    for G in bootstrap_moments(Z, n_boot, seed, clusters):
        b = _solve(G, b_rows, y)[:, -len(mediators) :]
        parts.append(np.column_stack([_solve(G, a_rows, m)[:, 1] * b[:, j] for j, m in enumerate(mediators)]))
    return np.concatenate(parts)


def _ci(boot: np.ndarray, estimate: float, level: float, method: str) -> tuple[float, float]:
    tail = (1 - level) / 2
    if method == "bc":  # bias-corrected percentile (Efron, 1982), as pingouin
        z0 = stats.norm.ppf(np.mean(boot < estimate))
        zq = stats.norm.ppf([tail, 1 - tail])
        lo, hi = stats.norm.cdf(2 * z0 + zq)
        return float(np.quantile(boot, lo)), float(np.quantile(boot, hi))
    return float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail))


def _path(res, name: str) -> dict:
    ci = res.conf_int().loc[name]
    return {
        "b": float(res.params[name]),
        "se": float(res.bse[name]),
        "t": float(res.tvalues[name]),
        "p": float(res.pvalues[name]),
        "ci_low": float(ci.iloc[0]),
        "ci_high": float(ci.iloc[1]),
    }


def mediation(
    data: pd.DataFrame,
    x: str,
    mediators: list[str],
    outcome: str,
    covariates: pd.DataFrame | None = None,
    n_boot: int = 5000,
    seed: int = 20240601,
    level: float = 0.95,
    method: str = "percentile",
    dummies: frozenset[str] = frozenset(),
    clusters: pd.Series | None = None,
) -> dict:
    """Simple or parallel mediation of ``x`` → ``mediators`` → ``outcome``.

    Parameters
    ----------
    data : DataFrame
        Holds ``x``, the mediators and the outcome; rows with any missing value are dropped.
    covariates : DataFrame, optional
        Numeric covariate columns (dummies already made), aligned on ``data``'s index.
    n_boot, seed : int
        Number of bootstrap resamples and the generator seed (same seed, same interval).
    method : {"percentile", "bc"}
        Percentile (default) or bias-corrected percentile interval.
    dummies : set of str
        Covariate columns that are 0/1 indicators: no standardised β for them.
    clusters : Series, optional
        The unit of each row (aligned on ``data``): the bootstrap then resamples whole units
        (cluster bootstrap), so the interval reflects that respondents of one unit are alike.

    Returns
    -------
    dict
        ``n, r2, terms`` (the outcome equation: b, se, t, p, ci, beta per predictor),
        ``paths{a[M], b[M], direct, total}`` (each b, se, t, p, ci), ``indirect{M: {effect,
        se_boot, ci_low, ci_high}}`` (plus ``total`` with several mediators), ``proportion_mediated``,
        ``n_boot, seed, ci_method``.
    """
    cov = covariates if covariates is not None else pd.DataFrame(index=data.index)
    frame = pd.concat([data[[x, *mediators, outcome]], cov], axis=1).dropna().astype(float)
    cov_cols = list(cov.columns)
    const = pd.Series(1.0, index=frame.index, name="const")
    X_a = pd.concat([const, frame[[x, *cov_cols]]], axis=1)
    X_b = pd.concat([const, frame[[x, *cov_cols, *mediators]]], axis=1)
    n, k = X_b.shape
    require(
        n >= k + 3,
        f"完整作答的有效答卷 {n} 份，少于中介模型所需的 {k + 3} 份",
        f"{n} complete rows; the mediation model needs at least {k + 3}",
    )
    require_full_rank(X_b.to_numpy(), "中介模型", "mediation model")
    fit_b = OLS(frame[outcome], X_b).fit()
    fit_c = OLS(frame[outcome], X_a).fit()
    paths = {"direct": _path(fit_b, x), "total": _path(fit_c, x)}
    point = {}
    for m in mediators:
        fit_a = OLS(frame[m], X_a).fit()
        paths[f"a[{m}]"] = _path(fit_a, x)
        paths[f"b[{m}]"] = _path(fit_b, m)
        point[m] = float(fit_a.params[x] * fit_b.params[m])

    Z = pd.concat([const, frame[[x, *cov_cols, *mediators, outcome]]], axis=1).to_numpy()
    pos = {c: k for k, c in enumerate(["const", x, *cov_cols, *mediators, outcome])}
    codes = cluster_codes(clusters, frame.index)
    boot = bootstrap_indirect(
        Z, pos[x], [pos[c] for c in cov_cols], [pos[m] for m in mediators], pos[outcome], n_boot, seed, codes
    )
    singular = np.isnan(boot).any(axis=1)
    require(
        singular.mean() <= 0.05,
        f"{singular.mean():.0%} 的自助样本设计矩阵奇异，样本过小，区间不可靠",
        f"{singular.mean():.0%} of the bootstrap resamples have a singular design: the sample is too small "
        "for a bootstrap interval",
    )
    boot = boot[~singular]
    indirect = {}
    for j, m in enumerate(mediators):
        lo, hi = _ci(boot[:, j], point[m], level, method)
        indirect[m] = {"effect": point[m], "se_boot": float(boot[:, j].std(ddof=1)), "ci_low": lo, "ci_high": hi}
    if len(mediators) > 1:
        total_boot = boot.sum(axis=1)
        lo, hi = _ci(total_boot, sum(point.values()), level, method)
        indirect["total"] = {
            "effect": sum(point.values()),
            "se_boot": float(total_boot.std(ddof=1)),
            "ci_low": lo,
            "ci_high": hi,
        }
    total = paths["total"]["b"]
    sd_y = frame[outcome].std(ddof=1)
    terms = {
        c: {**_path(fit_b, c), "beta": None if c in dummies else float(fit_b.params[c] * frame[c].std(ddof=1) / sd_y)}
        for c in X_b.columns
        if c != "const"
    }
    return {
        "outcome": outcome,
        "n": int(len(frame)),
        "r2": float(fit_b.rsquared),
        "terms": terms,
        "x": x,
        "mediators": list(mediators),
        "paths": paths,
        "indirect": indirect,
        "proportion_mediated": float(sum(point.values()) / total) if abs(total) > 1e-12 else None,
        "n_boot": int(n_boot),
        "n_boot_singular": int(singular.sum()),
        "seed": int(seed),
        "ci_method": method,
        "level": level,
        **_resampling(codes),
    }


def cluster_codes(clusters: pd.Series | None, index: pd.Index) -> np.ndarray | None:
    """Integer codes 0…G−1 of each kept row's cluster, or None to resample rows."""
    if clusters is None:
        return None
    codes, _ = pd.factorize(clusters.reindex(index).astype(str))
    require(codes.max() + 1 >= 2, "只有 1 个单位，无法按单位重抽样", "one unit only: units cannot be resampled")
    return codes


def _resampling(codes: np.ndarray | None) -> dict:
    if codes is None:
        return {"resampling": "rows"}
    return {"resampling": "units", "n_clusters": int(codes.max() + 1)}
