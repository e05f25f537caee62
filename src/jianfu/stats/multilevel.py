"""Random-intercept model by unit (statsmodels MixedLM, REML) with the intraclass correlation.

Respondents are nested in units, so part of the variance in burden is between units. The
null model gives ICC = τ² / (τ² + σ²); the full model gives fixed effects adjusted for the
clustering. When the estimate of τ² sits on the boundary (≈ 0), the optimiser does not
converge, or statsmodels warns, the multilevel result is not used: the model falls back to
the cluster-robust OLS estimates, and the result says why, in Chinese and English.

References
----------
Raudenbush, S. W., & Bryk, A. S. (2002). *Hierarchical linear models* (2nd ed.). Sage.
Snijders, T. A. B., & Bosker, R. J. (2012). *Multilevel analysis* (2nd ed.). Sage.

Examples
--------
>>> from semopy.examples import holzinger39
>>> d = holzinger39.get_data()
>>> r = icc(d["x5"], d["school"])        # In R: lme4::lmer(x5 ~ 1 + (1 | school), REML = TRUE)
>>> round(r["icc"], 3), r["n_groups"]
(0.138, 2)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

__all__ = ["icc", "random_intercept"]

#: τ² below this share of the total variance counts as a boundary estimate.
BOUNDARY = 1e-4


def _start(y: np.ndarray, X: np.ndarray, codes: np.ndarray) -> MixedLMParams:
    """Starting values: OLS coefficients and the one-way ANOVA estimate of τ²/σ² on their residuals.

    From there REML converges in a few iterations instead of dozens, which is what makes the model
    affordable on 10⁵ respondents in thousands of units.
    """
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    n, g = len(y), int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=g).astype(float)
    means = np.bincount(codes, weights=resid, minlength=g) / np.maximum(sizes, 1)
    within = np.sum((resid - means[codes]) ** 2) / max(n - g, 1)
    between = np.sum(sizes * (means - resid.mean()) ** 2) / max(g - 1, 1)
    n0 = (n - np.sum(sizes**2) / n) / max(g - 1, 1)
    ratio = max((between - within) / max(n0, 1e-9), 1e-3 * within) / max(within, 1e-12)
    return MixedLMParams.from_components(fe_params=beta, cov_re=np.array([[ratio]]))


def _fit(y: pd.Series, X: pd.DataFrame, groups: pd.Series) -> tuple[object | None, list[str]]:
    """Fit and collect every reason not to trust the fit."""
    problems: list[str] = []
    codes = pd.factorize(groups)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = MixedLM(y, X, groups=codes).fit(
                reml=True, start_params=_start(y.to_numpy(float), X.to_numpy(float), codes)
            )
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, [f"fit failed: {exc}"]
    if not res.converged:
        problems.append("optimiser did not converge")
    tau2 = float(res.cov_re.iloc[0, 0])
    if tau2 <= BOUNDARY * (tau2 + float(res.scale)):
        problems.append(f"between-unit variance on the boundary (τ² = {tau2:.2g})")
    # statsmodels' own warnings, after ours; retries it recovered from are not problems.
    messages = [
        str(w.message).splitlines()[0]
        for w in caught
        if issubclass(w.category, (sm.tools.sm_exceptions.ConvergenceWarning, RuntimeWarning, UserWarning))
    ]
    if problems or not res.converged:
        problems += [m for m in dict.fromkeys(messages) if not m.startswith("Retrying")][:2]
    elif any("boundary" in m or "not positive definite" in m for m in messages):
        problems.append(next(m for m in messages if "boundary" in m or "not positive definite" in m))
    return res, problems


def icc(y: pd.Series, groups: pd.Series) -> dict:
    """ICC(1) from the null random-intercept model: ``{icc, tau2, sigma2, n, n_groups, problems}``."""
    X = pd.DataFrame({"const": np.ones(len(y))}, index=y.index)
    res, problems = _fit(y.astype(float), X, groups)
    if res is None:
        return {
            "icc": None,
            "tau2": None,
            "sigma2": None,
            "n": len(y),
            "n_groups": int(groups.nunique()),
            "problems": problems,
        }
    tau2, sigma2 = float(res.cov_re.iloc[0, 0]), float(res.scale)
    return {
        "icc": tau2 / (tau2 + sigma2),
        "tau2": tau2,
        "sigma2": sigma2,
        "n": len(y),
        "n_groups": int(groups.nunique()),
        "problems": problems,
    }


def random_intercept(y: pd.Series, X: pd.DataFrame, groups: pd.Series, min_groups: int = 10) -> dict:
    """Random-intercept model of ``y`` on ``X`` (no constant; it is added) by ``groups``.

    Returns
    -------
    dict
        ``status`` "fitted" or "fallback"; ``note`` {zh, en} when it fell back; ``icc`` (null
        model); ``tau2, sigma2``; ``terms`` {column: b, se, z, p, ci_low, ci_high} when fitted;
        ``n, n_groups``.
    """
    n_groups = int(groups.nunique())
    null = icc(y, groups) if n_groups >= 2 else {"icc": None, "problems": ["fewer than 2 units"]}
    base = {
        "n": int(len(y)),
        "n_groups": n_groups,
        "icc": null["icc"],
        "icc_problems": null["problems"],
        "tau2": None,
        "sigma2": None,
        "terms": None,
    }
    if n_groups < min_groups:
        problems = [f"only {n_groups} units (< {min_groups})"]
    else:
        res, problems = _fit(y.astype(float), sm.add_constant(X.astype(float), has_constant="add"), groups)
    if problems:
        why = "; ".join(problems)
        return {
            **base,
            "status": "fallback",
            "problems": problems,
            "note": {
                "zh": f"多层模型不可靠（{why}），结果沿用按单位聚类稳健标准误的 OLS。",
                "en": f"Multilevel model not reliable ({why}); the cluster-robust OLS results stand.",
            },
        }
    ci = res.conf_int()
    terms = {
        c: {
            "b": float(res.fe_params[c]),
            "se": float(res.bse_fe[c]),
            "z": float(res.tvalues[c]),
            "p": float(res.pvalues[c]),
            "ci_low": float(ci.loc[c, 0]),
            "ci_high": float(ci.loc[c, 1]),
        }
        for c in X.columns
    }
    return {
        **base,
        "status": "fitted",
        "problems": [],
        "note": None,
        "tau2": float(res.cov_re.iloc[0, 0]),
        "sigma2": float(res.scale),
        "terms": terms,
        "intercept": float(res.fe_params["const"]),
    }
