"""Confirmatory factor analysis of the measurement model and the validity tables built on it.

The model is fitted with semopy by maximum likelihood (Wishart objective, as lavaan's default
``estimator = "ML"``), on complete cases, with the first loading of each factor fixed to 1.
Fit indices follow lavaan's conventions, so published lavaan output can be compared directly:

* χ² = N · F_ML with **N** (not N − 1), lavaan's ``likelihood = "normal"``;
* RMSEA = √(max(χ² − df, 0) / (df · N)), again with **N**, and its 90% CI from the
  non-central χ² distribution (Browne & Cudeck, 1993);
* CFI and TLI against the independence model; SRMR as lavaan's ``srmr`` (Bentler's,
  residual covariances scaled by the observed standard deviations, diagonal included).

References
----------
Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable
variables and measurement error. *Journal of Marketing Research*, 18(1), 39–50.
Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing discriminant
validity in variance-based SEM. *Journal of the Academy of Marketing Science*, 43(1), 115–135.
Holzinger, K. J., & Swineford, F. (1939). *A study in factor analysis: The stability of a
bi-factor solution*. University of Chicago.

Examples
--------
>>> from semopy.examples import holzinger39
>>> data = holzinger39.get_data()
>>> factors = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> res = fit_cfa(data, factors)
>>> round(res["fit"]["chi2"], 3), res["fit"]["df"]
(85.306, 24)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["fit_cfa", "rmsea_ci", "reliability_validity", "fornell_larcker", "htmt"]

#: Conventional cut-offs (Hu & Bentler, 1999; Fornell & Larcker, 1981; Henseler et al., 2015).
CUTOFFS = {
    "cfi": (">=", 0.90),
    "tli": (">=", 0.90),
    "rmsea": ("<=", 0.08),
    "srmr": ("<=", 0.08),
    "cr": (">=", 0.70),
    "ave": (">=", 0.50),
    "htmt": ("<", 0.85),
}


def rmsea_ci(chi2: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """The confidence interval of RMSEA from the non-central χ² distribution.

    The lower (upper) bound is √(λ / (df · N)) for the non-centrality λ at which the observed
    χ² sits at the upper (lower) ``(1 − level)/2`` tail; 0 when no such λ ≥ 0 exists.
    """
    tail = (1 - level) / 2

    def ncp(p: float) -> float:
        f = lambda lam: stats.ncx2.cdf(chi2, df, lam) - p if lam > 0 else stats.chi2.cdf(chi2, df) - p  # noqa: E731
        if f(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi, xtol=1e-10)

    return (float(np.sqrt(ncp(1 - tail) / (df * n))), float(np.sqrt(ncp(tail) / (df * n))))


def _srmr(S: np.ndarray, sigma: np.ndarray) -> float:
    sd = np.sqrt(np.diag(S))
    resid = (S - sigma) / np.outer(sd, sd)
    lower = resid[np.tril_indices_from(resid)]
    return float(np.sqrt(np.mean(lower**2)))


def _description(factors: dict[str, list[str]]) -> str:
    return "\n".join(f"{f} =~ " + " + ".join(items) for f, items in factors.items())


def fit_cfa(data: pd.DataFrame, factors: dict[str, list[str]]) -> dict:
    """Fit a correlated-factors CFA and return fit indices, loadings and factor correlations.

    Parameters
    ----------
    data : DataFrame
        Item responses (reverse-keyed); rows with any missing item are dropped (listwise).
    factors : dict
        Factor name → its indicator columns.

    Returns
    -------
    dict
        ``n, n_dropped, fit{chi2, df, p, cfi, tli, rmsea, rmsea_ci, srmr, n}, loadings[]`` (factor,
        item, est, se, z, p, std) and ``factor_correlations{(a, b): r}`` as a nested dict.
        ``converged`` is False (with ``note``) when the optimiser did not report success.
    """
    import semopy

    items = [i for its in factors.values() for i in its]
    complete = data[items].dropna().astype(float)
    n = len(complete)
    model = semopy.Model(_description(factors))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # A tight tolerance: semopy's default SLSQP stopping rule leaves loadings ~1e-3 from
        # lavaan's optimum on HS1939.
        res = model.fit(complete, obj="MLW", options={"ftol": 1e-12, "maxiter": 2000})
        est = model.inspect(std_est=True)
    S = np.asarray(model.mx_cov)  # ML covariance (divisor N), as lavaan
    sigma = np.asarray(model.calc_sigma()[0])
    p = S.shape[0]
    f_ml = np.linalg.slogdet(sigma)[1] + np.trace(S @ np.linalg.inv(sigma)) - np.linalg.slogdet(S)[1] - p
    chi2 = float(n * f_ml)
    n_free = len(model.param_vals)
    df = int(p * (p + 1) // 2 - n_free)
    # Independence model: diagonal Σ = diag(S), df_b = p(p − 1)/2.
    chi2_b = float(n * (np.sum(np.log(np.diag(S))) - np.linalg.slogdet(S)[1]))
    df_b = p * (p - 1) // 2
    d, d_b = max(chi2 - df, 0.0), max(chi2_b - df_b, 0.0)
    cfi = 1.0 - d / max(d, d_b) if max(d, d_b) > 0 else 1.0
    tli = ((chi2_b / df_b) - (chi2 / df)) / ((chi2_b / df_b) - 1) if df > 0 else float("nan")
    rmsea = float(np.sqrt(d / (df * n))) if df > 0 else float("nan")
    fit = {
        "n": n,
        "chi2": chi2,
        "df": df,
        "p": float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan"),
        "cfi": float(cfi),
        "tli": float(tli),
        "rmsea": rmsea,
        "rmsea_ci": list(rmsea_ci(chi2, df, n)) if df > 0 else [float("nan")] * 2,
        "srmr": _srmr(S, sigma),
        "rmsea_convention": "N (lavaan)",
    }

    def num(x) -> float | None:
        try:
            return float(x)
        except (TypeError, ValueError):
            return None

    loadings = [
        {
            "factor": r.rval,
            "item": r.lval,
            "est": float(r.Estimate),
            "se": num(r["Std. Err"]),
            "z": num(r["z-value"]),
            "p": num(r["p-value"]),
            "std": float(r["Est. Std"]),
        }
        for _, r in est[(est.op == "~") & est.rval.isin(list(factors))].iterrows()
    ]
    corr = pd.DataFrame(np.eye(len(factors)), index=list(factors), columns=list(factors))
    for _, r in est[(est.op == "~~") & est.lval.isin(list(factors)) & est.rval.isin(list(factors))].iterrows():
        if r.lval != r.rval:
            corr.loc[r.lval, r.rval] = corr.loc[r.rval, r.lval] = float(r["Est. Std"])
    converged = bool(getattr(res, "success", True))
    return {
        "n": n,
        "n_dropped": int(len(data) - n),
        "fit": fit,
        "loadings": loadings,
        "factor_correlations": corr,
        "converged": converged,
        "note": None if converged else f"optimiser did not converge: {getattr(res, 'message', '')}",
    }


def reliability_validity(loadings: list[dict]) -> pd.DataFrame:
    """Composite reliability and average variance extracted per factor, from standardised loadings.

    CR = (Σλ)² / ((Σλ)² + Σ(1 − λ²)); AVE = Σλ² / k (Fornell & Larcker, 1981).
    """
    frame = pd.DataFrame(loadings)
    rows = {}
    for factor, part in frame.groupby("factor", sort=False):
        lam = part["std"].to_numpy()
        rows[factor] = {
            "cr": lam.sum() ** 2 / (lam.sum() ** 2 + np.sum(1 - lam**2)),
            "ave": float(np.mean(lam**2)),
            "k": len(lam),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def fornell_larcker(ave: pd.Series, factor_correlations: pd.DataFrame) -> pd.DataFrame:
    """The Fornell–Larcker table: √AVE on the diagonal, factor correlations below it.

    Discriminant validity holds for a factor when its √AVE exceeds its correlations with every
    other factor.
    """
    table = factor_correlations.loc[ave.index, ave.index].copy()
    for f in ave.index:
        table.loc[f, f] = np.sqrt(ave[f])
    return table


def htmt(
    data: pd.DataFrame, factors: dict[str, list[str]], htmt2: bool = True, corr: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Heterotrait–monotrait ratio of correlations, as ``semTools::htmt``.

    The mean absolute correlation between the items of two factors, divided by the geometric
    mean of the mean absolute within-factor correlations (off-diagonal), on complete cases
    (semTools' default ``missing = "listwise"``). With ``htmt2`` (semTools' default) the means
    are geometric (HTMT2, Roemer et al., 2021), which stays consistent for congeneric
    indicators; ``htmt2=False`` gives the original arithmetic HTMT of Henseler et al. (2015).
    ``corr`` replaces the complete-case correlations (e.g. the EM estimates from all rows, which the
    pipeline uses when answers are missing).

    References
    ----------
    Roemer, E., Schuberth, F., & Henseler, J. (2021). HTMT2 — an improved criterion for assessing
    discriminant validity in structural equation modeling. *Industrial Management & Data
    Systems*, 121(12), 2637–2650.
    """
    items = [i for its in factors.values() for i in its]
    r = corr.reindex(index=items, columns=items) if corr is not None else data[items].dropna().astype(float).corr()
    r = r.abs()

    def mean(values: np.ndarray) -> float:
        return float(np.exp(np.log(values).mean())) if htmt2 else float(values.mean())

    names = list(factors)
    R = r.to_numpy()
    at = {f: [items.index(i) for i in its] for f, its in factors.items()}
    mono = {}
    for f, pos in at.items():
        block = R[np.ix_(pos, pos)]
        mono[f] = mean(block[~np.eye(len(pos), dtype=bool)]) if len(pos) > 1 else float("nan")
    values = np.eye(len(names))
    for a_i, a in enumerate(names):
        for b_i in range(a_i + 1, len(names)):
            b = names[b_i]
            hetero = mean(R[np.ix_(at[a], at[b])].ravel())
            values[a_i, b_i] = values[b_i, a_i] = hetero / np.sqrt(mono[a] * mono[b])
    return pd.DataFrame(values, index=names, columns=names)
