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
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tools.tools import add_constant

__all__ = ["group_mean_split", "icc", "random_intercept"]

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
        if issubclass(w.category, (ConvergenceWarning, RuntimeWarning, UserWarning))
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


def group_mean_split(X: pd.DataFrame, groups: pd.Series, columns: list[str] | None = None) -> pd.DataFrame:
    """Replace each column that varies within groups by its group mean and the deviation from it.

    ``x`` becomes ``x (within)`` = x − x̄ⱼ and ``x (between)`` = x̄ⱼ (Enders & Tofighi, 2007;
    Raudenbush & Bryk, 2002, ch. 5). Columns that are constant within every group (unit
    attributes such as ``level``) and interaction columns (``a:b``) stay as they are.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [1.0, 3.0, 5.0, 9.0], "u": [0.0, 0.0, 1.0, 1.0]})
    >>> group_mean_split(X, pd.Series(["a", "a", "b", "b"]))
       x (within)  x (between)    u
    0        -1.0          2.0  0.0
    1         1.0          2.0  0.0
    2        -2.0          7.0  1.0
    3         2.0          7.0  1.0
    """
    out = {}
    codes = pd.Series(pd.factorize(groups)[0], index=X.index)
    for c in X.columns:
        x = X[c].astype(float)
        means = x.groupby(codes).transform("mean")
        varies = bool(((x - means).abs() > 1e-12).any())
        if ":" not in c and varies and (columns is None or c in columns):
            out[f"{c} (within)"], out[f"{c} (between)"] = x - means, means
        else:
            out[c] = x
    return pd.DataFrame(out, index=X.index)


def _df_between_within(X: pd.DataFrame, groups: pd.Series) -> dict[str, float]:
    """Denominator df per column: N − J − p₁ for level-1 columns, J − p₂ − 1 for unit-level ones.

    The "between–within" rule (SAS ``DDFM=BW``; HLM's df for level-2 coefficients, Raudenbush &
    Bryk 2002): a unit-level effect is estimated from J units, not from N respondents.
    """
    codes = pd.factorize(groups)[0]
    n, j = len(X), int(codes.max()) + 1
    level2 = {c: not bool((X[c] - X[c].groupby(codes).transform("mean")).abs().gt(1e-12).any()) for c in X.columns}
    p2 = sum(level2.values())
    p1 = len(X.columns) - p2
    return {c: float(max(j - p2 - 1, 1)) if level2[c] else float(max(n - j - p1, 1)) for c in X.columns}


def random_intercept(
    y: pd.Series, X: pd.DataFrame, groups: pd.Series, min_groups: int = 10, centring: str = "none"
) -> dict:
    """Random-intercept model of ``y`` on ``X`` (no constant; it is added) by ``groups``.

    Parameters
    ----------
    centring : {"none", "group_mean"}
        ``group_mean`` splits every predictor that varies within units into its within-unit and
        between-unit parts (:func:`group_mean_split`) and adds the contextual effect
        (between − within, with its SE from the joint covariance): how much more the unit's
        average matters than the same difference between two colleagues of one unit.

    Returns
    -------
    dict
        ``status`` "fitted" or "fallback"; ``note`` {zh, en} when it fell back; ``icc`` (null
        model); ``tau2, sigma2``; ``terms`` {column: b, se, z, df, p, ci_low, ci_high} when
        fitted (with ``x (within)``, ``x (between)`` and ``x (contextual)`` under group-mean
        centring); ``test`` names the test; ``n, n_groups``.

    Notes
    -----
    statsmodels gives neither Satterthwaite nor Kenward–Roger df, so each coefficient is tested
    with t on between–within df (:func:`_df_between_within`) rather than the z-test, which is too
    liberal for unit-level effects when units are few.

    References
    ----------
    Enders, C. K., & Tofighi, D. (2007). Centering predictor variables in cross-sectional multilevel
    models: A new look at an old issue. *Psychological Methods*, 12(2), 121–138.
    """
    n_groups = int(groups.nunique())
    if centring == "group_mean":
        X = group_mean_split(X, groups)
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
        res, problems = _fit(y.astype(float), add_constant(X.astype(float), has_constant="add"), groups)
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
    dfs = _df_between_within(X, groups)
    names = list(X.columns)
    cov = res.cov_params().loc[names, names].to_numpy(float)
    b = res.fe_params[names].to_numpy(float)
    rows = {c: (np.eye(len(names))[k], dfs[c]) for k, c in enumerate(names)}
    for c in names:
        if c.endswith(" (between)") and c.replace(" (between)", " (within)") in rows:
            base_name = c[: -len(" (between)")]
            w = rows[f"{base_name} (between)"][0] - rows[f"{base_name} (within)"][0]
            rows[f"{base_name} (contextual)"] = (w, dfs[c])
    terms = {c: _t_test(weights @ b, float(np.sqrt(weights @ cov @ weights)), df) for c, (weights, df) in rows.items()}
    return {
        **base,
        "status": "fitted",
        "problems": [],
        "note": None,
        "centring": centring,
        "test": "t (between-within df; REML)",
        "tau2": float(res.cov_re.iloc[0, 0]),
        "sigma2": float(res.scale),
        "terms": terms,
        "intercept": float(res.fe_params["const"]),
    }


def _t_test(b: float, se: float, df: float, level: float = 0.95) -> dict:
    t = b / se
    h = stats.t.ppf(1 - (1 - level) / 2, df) * se
    # ``z`` keeps its name for readers of earlier summaries: it is the Wald ratio b / se.
    return {
        "b": float(b),
        "se": se,
        "z": float(t),
        "df": float(df),
        "p": float(2 * stats.t.sf(abs(t), df)),
        "ci_low": float(b - h),
        "ci_high": float(b + h),
    }
