"""First- or second-stage moderated mediation (Hayes' PROCESS models 7 and 14).

Model 7, the moderator W on the a-path::

    M = a₀ + a₁·X + a₂·W + a₃·X·W + C·γ + e        Y = c₀ + c′·X + b·M + C·δ + e

The conditional indirect effect of X at W = w is (a₁ + a₃·w)·b and the **index of moderated
mediation** a₃·b (Hayes, 2015): its CI excluding 0 is the test that the indirect effect depends
on W. Model 14, W on the b-path::

    M = a₀ + a·X + C·γ + e        Y = c₀ + c′·X + b₁·M + b₂·W + b₃·M·W + C·δ + e

with conditional indirect effects a·(b₁ + b₃·w) and index a·b₃. Products are of the raw
variables, as PROCESS; W is probed at its mean and ±1 SD. Point estimates are OLS; CIs are
percentile bootstrap, resampling whole units when ``clusters`` is given (respondents of one
unit are not independent), rows otherwise.

References
----------
Hayes, A. F. (2015). An index and test of linear moderated mediation. *Multivariate
Behavioral Research*, 50(1), 1–22.
Hayes, A. F. (2022). *Introduction to mediation, moderation, and conditional process
analysis* (3rd ed.). Guilford.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> d = pd.DataFrame({"x": rng.normal(size=400), "w": rng.normal(size=400)})
>>> d["m"] = 0.5 * d.x + 0.3 * d.x * d.w + rng.normal(size=400)
>>> d["y"] = 0.4 * d.m + rng.normal(size=400)
>>> res = moderated_mediation(d, "x", "m", "w", "y", n_boot=500, seed=1)
>>> round(res["index_of_moderated_mediation"]["estimate"], 2)   # truth 0.3 × 0.4 = 0.12
0.15
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

from jianfu.stats.estimable import require, require_full_rank
from jianfu.stats.mediation import _ci, _path, _resampling, _solve, bootstrap_moments, cluster_codes

__all__ = ["moderated_mediation"]


def moderated_mediation(
    data: pd.DataFrame,
    x: str,
    mediator: str,
    moderator: str,
    outcome: str,
    covariates: pd.DataFrame | None = None,
    *,
    stage: Literal["a", "b"] = "a",
    n_boot: int = 5000,
    seed: int = 20240601,
    level: float = 0.95,
    clusters: pd.Series | None = None,
    dummies: frozenset[str] = frozenset(),
) -> dict:
    """Conditional indirect effects of ``x`` on ``outcome`` through ``mediator`` moderated by ``moderator``.

    Parameters
    ----------
    data : DataFrame
        Holds x, the mediator, the moderator and the outcome; incomplete rows are dropped.
    covariates : DataFrame, optional
        Numeric covariate columns (dummies already made), aligned on ``data``; in both equations.
    stage : {"a", "b"}
        ``"a"``: W moderates X → M (PROCESS model 7); ``"b"``: W moderates M → Y (model 14).
    n_boot, seed, level
        Bootstrap resamples, generator seed and confidence level.
    clusters : Series, optional
        Unit of each row: the bootstrap resamples whole units.
    dummies : set of str
        Covariate columns that are 0/1 indicators: no standardised β for them.

    Returns
    -------
    dict
        ``model`` (7 or 14), ``n``, ``paths`` (each b, se, t, p, ci: ``a``, ``a×w`` or ``b``, ``b×w``,
        ``direct``), ``r2`` and ``terms`` of the outcome equation (b, se, t, p, ci, beta; the product
        named ``mediator:moderator``), ``conditional_indirect`` (at −1 SD, mean, +1 SD of W: ``w, effect, ci_low,
        ci_high``), ``index_of_moderated_mediation`` (``estimate, se_boot, ci_low, ci_high``),
        ``n_boot``, ``n_boot_singular``, ``seed``, ``resampling`` and ``n_clusters``.
    """
    cov = covariates if covariates is not None else pd.DataFrame(index=data.index)
    frame = pd.concat([data[[x, mediator, moderator, outcome]], cov], axis=1).dropna().astype(float)
    cov_cols = list(cov.columns)
    frame["__xw"] = frame[x] * frame[moderator]
    frame["__mw"] = frame[mediator] * frame[moderator]
    const = pd.Series(1.0, index=frame.index, name="const")
    if stage == "a":
        a_cols, b_cols = [x, moderator, "__xw", *cov_cols], [x, *cov_cols, mediator]
    else:
        a_cols, b_cols = [x, *cov_cols], [x, *cov_cols, mediator, moderator, "__mw"]
    X_a = pd.concat([const, frame[a_cols]], axis=1)
    X_b = pd.concat([const, frame[b_cols]], axis=1)
    n, k = len(frame), max(X_a.shape[1], X_b.shape[1])
    require(
        n >= k + 3,
        f"完整作答的有效答卷 {n} 份，少于有调节的中介模型所需的 {k + 3} 份",
        f"{n} complete rows; the moderated mediation model needs at least {k + 3}",
    )
    require_full_rank(X_a.to_numpy(), "有调节的中介模型（中介变量方程）", "moderated mediation (mediator equation)")
    require_full_rank(X_b.to_numpy(), "有调节的中介模型（结果变量方程）", "moderated mediation (outcome equation)")
    fit_a = OLS(frame[mediator], X_a).fit()
    fit_b = OLS(frame[outcome], X_b).fit()
    if stage == "a":
        paths = {
            "a": _path(fit_a, x),
            "w": _path(fit_a, moderator),
            "a×w": _path(fit_a, "__xw"),
            "b": _path(fit_b, mediator),
            "direct": _path(fit_b, x),
        }
        first, slope, second = fit_a.params[x], fit_a.params["__xw"], fit_b.params[mediator]
    else:
        paths = {
            "a": _path(fit_a, x),
            "b": _path(fit_b, mediator),
            "w": _path(fit_b, moderator),
            "b×w": _path(fit_b, "__mw"),
            "direct": _path(fit_b, x),
        }
        first, slope, second = fit_b.params[mediator], fit_b.params["__mw"], fit_a.params[x]
    mean, sd = frame[moderator].mean(), frame[moderator].std(ddof=1)
    probes = {"-1 SD": mean - sd, "mean": mean, "+1 SD": mean + sd}

    columns = ["const", x, moderator, "__xw", "__mw", *cov_cols, mediator, outcome]
    pos = {c: j for j, c in enumerate(columns)}
    Z = pd.concat([const, frame[columns[1:]]], axis=1).to_numpy()
    rows_a, rows_b = [pos[c] for c in ["const", *a_cols]], [pos[c] for c in ["const", *b_cols]]
    codes = cluster_codes(clusters, frame.index)
    draws = []
    for G in bootstrap_moments(Z, n_boot, seed, codes):
        ca, cb = _solve(G, rows_a, pos[mediator]), _solve(G, rows_b, pos[outcome])
        if stage == "a":
            draws.append(np.column_stack([ca[:, 1], ca[:, 3], cb[:, b_cols.index(mediator) + 1]]))
        else:
            draws.append(
                np.column_stack([cb[:, b_cols.index(mediator) + 1], cb[:, b_cols.index("__mw") + 1], ca[:, 1]])
            )
    boot = np.concatenate(draws)
    singular = np.isnan(boot).any(axis=1)
    require(
        singular.mean() <= 0.05,
        f"{singular.mean():.0%} 的自助样本设计矩阵奇异，样本过小，区间不可靠",
        f"{singular.mean():.0%} of the bootstrap resamples have a singular design: the sample is too small "
        "for a bootstrap interval",
    )
    boot = boot[~singular]
    # Both models: conditional indirect = (first + slope·w)·second, index = slope·second.
    index_boot = boot[:, 1] * boot[:, 2]
    index = float(slope * second)
    lo, hi = _ci(index_boot, index, level, "percentile")
    conditional = []
    for at, w in probes.items():
        effect = float((first + slope * w) * second)
        eb = (boot[:, 0] + boot[:, 1] * w) * boot[:, 2]
        clo, chi = _ci(eb, effect, level, "percentile")
        conditional.append(
            {"at": at, "w": float(w), "effect": effect, "se_boot": float(eb.std(ddof=1)), "ci_low": clo, "ci_high": chi}
        )
    sd_y = frame[outcome].std(ddof=1)
    terms = {}
    for c in b_cols:
        beta = None if c in dummies or c == "__mw" else float(fit_b.params[c] * frame[c].std(ddof=1) / sd_y)
        terms[f"{mediator}:{moderator}" if c == "__mw" else c] = {**_path(fit_b, c), "beta": beta}
    return {
        "outcome": outcome,
        "x": x,
        "mediator": mediator,
        "moderator": moderator,
        "model": 7 if stage == "a" else 14,
        "n": int(n),
        "r2": float(fit_b.rsquared),
        "terms": terms,
        "paths": paths,
        "conditional_indirect": conditional,
        "index_of_moderated_mediation": {
            "estimate": index,
            "se_boot": float(index_boot.std(ddof=1)),
            "ci_low": lo,
            "ci_high": hi,
        },
        "n_boot": int(n_boot),
        "n_boot_singular": int(singular.sum()),
        "seed": int(seed),
        "level": level,
        "ci_method": "percentile",
        **_resampling(codes),
    }
