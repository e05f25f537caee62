"""Measurement invariance across groups (or survey waves) by multi-group CFA.

The configural → metric → scalar → strict ladder, a partial-invariance search, and latent mean
differences. A scale's means may be compared across groups only if the items measure the same construct on
the same metric in each group. Each step adds equality constraints to the previous one
(Meredith, 1993; Vandenberg & Lance, 2000):

* **configural** — the same factor pattern, every parameter free in each group;
* **metric** — loadings equal (``group.equal = "loadings"``);
* **scalar** — loadings and intercepts equal; the factor means become free in every group but
  the first, so latent means can be compared;
* **strict** — residual variances equal too (fitted only once scalar invariance, full or partial,
  holds).

A step holds by the change-in-fit rule of Chen (2007), :data:`CHEN_2007`; the Δχ² test is
reported beside it, but with hundreds of respondents it rejects trivial differences, which is
why reviewers read the changes in CFI, RMSEA and SRMR. When scalar invariance fails, the
intercept constraints are released one at a time, each time the one with the largest score
test (Byrne, Shavelson & Muthén, 1989), while its p < ``alpha``, at most a third of the items of
each factor, until the partial model passes the rule against the metric model. Latent mean
differences (reference: the first group) are reported only at full or partial scalar invariance.

The models are fitted by :func:`jianfu.stats.mgcfa.fit_mgcfa`, which reproduces lavaan's
``cfa(..., group = g, group.equal = ..., group.partial = ...)``.

References
----------
Byrne, B. M., Shavelson, R. J., & Muthén, B. (1989). Testing for the equivalence of factor
covariance and mean structures: The issue of partial measurement invariance. *Psychological
Bulletin*, 105(3), 456–466.
Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance.
*Structural Equation Modeling*, 14(3), 464–504.
Meredith, W. (1993). Measurement invariance, factor analysis and factorial invariance.
*Psychometrika*, 58(4), 525–543.
Vandenberg, R. J., & Lance, C. E. (2000). A review and synthesis of the measurement invariance
literature. *Organizational Research Methods*, 3(1), 4–70.

Examples
--------
>>> from semopy.examples import holzinger39
>>> data = holzinger39.get_data()
>>> factors = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> res = invariance_ladder(data, factors, "school")
>>> [round(res[s]["chi2"], 3) for s in ("configural", "metric", "scalar")]
[115.851, 124.044, 164.103]
>>> res["decision"], res["freed"]     # In R: group.partial = c("x3~1", "x7~1")
('partial_scalar', ['x3', 'x7'])
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from jianfu.stats.estimable import NotEstimable
from jianfu.stats.mgcfa import GroupMoments, MGCFAFit, fit_mgcfa, group_moments, score_test_intercepts

__all__ = ["CHEN_2007", "DECISIONS", "RULE_TEXT", "invariance_ladder", "compare_steps", "partial_scalar_search"]

#: Chen (2007), her cut-offs for a total N > 300: non-invariance is indicated by a drop in CFI of
#: more than .010 supplemented by a rise in RMSEA of more than .015 or in SRMR of more than .030
#: (loadings) / .010 (intercepts, residual variances). Here a step holds only when all three
#: changes stay within their bounds, the stricter reading reviewers apply.
CHEN_2007 = {
    "metric": {"delta_cfi": -0.010, "delta_rmsea": 0.015, "delta_srmr": 0.030},
    "scalar": {"delta_cfi": -0.010, "delta_rmsea": 0.015, "delta_srmr": 0.010},
    "strict": {"delta_cfi": -0.010, "delta_rmsea": 0.015, "delta_srmr": 0.010},
}

#: The rule as the report states it.
RULE_TEXT = {
    "zh": "判定规则（Chen, 2007）：相邻模型间 ΔCFI ≥ −0.010、ΔRMSEA ≤ 0.015，且 ΔSRMR ≤ 0.030（载荷等值）"
    "或 ≤ 0.010（截距、残差等值）时，认为该层级不变性成立；Δχ² 检验一并报告，供参考。",
    "en": "Rule (Chen, 2007): a step holds when, against the previous model, ΔCFI ≥ −.010, ΔRMSEA ≤ .015 and "
    "ΔSRMR ≤ .030 (equal loadings) or ≤ .010 (equal intercepts, residual variances); the Δχ² test is "
    "reported alongside.",
}

#: The values ``decision`` takes, from the weakest to the strongest invariance established.
DECISIONS = ("not_tested", "configural", "metric", "partial_scalar", "scalar")


def compare_steps(restricted: MGCFAFit, base: MGCFAFit, step: str, rule: dict = CHEN_2007) -> dict:
    """Δχ² test and the changes in CFI, RMSEA and SRMR from ``base`` to the nested ``restricted``.

    Parameters
    ----------
    restricted, base : MGCFAFit
        The constrained model and the model it is nested in.
    step : {"metric", "scalar", "strict"}
        Which bounds of ``rule`` apply.
    rule : dict
        ``step → {delta_cfi, delta_rmsea, delta_srmr}`` bounds; default :data:`CHEN_2007`.

    Returns
    -------
    dict
        ``delta_chi2, delta_df, p`` (lavaan's ``lavTestLRT``: Δχ² ~ χ²(Δdf)), ``delta_cfi,
        delta_rmsea, delta_srmr`` (restricted − base) and ``holds``.
    """
    d_chi2, d_df = restricted.chi2 - base.chi2, restricted.df - base.df
    bounds = rule[step]
    change = {
        "delta_chi2": float(d_chi2),
        "delta_df": int(d_df),
        "p": float(stats.chi2.sf(d_chi2, d_df)) if d_df > 0 else float("nan"),
        "delta_cfi": restricted.cfi - base.cfi,
        "delta_rmsea": restricted.rmsea - base.rmsea,
        "delta_srmr": restricted.srmr - base.srmr,
    }
    change["holds"] = bool(
        restricted.converged
        and change["delta_cfi"] >= bounds["delta_cfi"]
        and change["delta_rmsea"] <= bounds["delta_rmsea"]
        and change["delta_srmr"] <= bounds["delta_srmr"]
    )
    return change


def partial_scalar_search(
    metric: MGCFAFit,
    scalar: MGCFAFit,
    factors: dict[str, list[str]],
    rule: dict = CHEN_2007,
    alpha: float = 0.05,
    max_free_share: float = 1 / 3,
) -> tuple[MGCFAFit | None, list[dict]]:
    """Release intercept constraints one at a time until the model passes the scalar rule.

    Parameters
    ----------
    metric, scalar : MGCFAFit
        The metric model (the comparison) and the full scalar model (the start).
    factors : dict
        Factor name → items, as fitted.
    rule : dict
        The bounds; the ``"scalar"`` entry applies.
    alpha : float
        A constraint is released only when its score test has p < ``alpha``.
    max_free_share : float
        At most ⌊k · share⌋ intercepts of a factor with k items are released, so that the
        latent mean rests on the majority of its items.

    Returns
    -------
    partial : MGCFAFit or None
        The last partial model tried (None when no constraint qualified).
    steps : list of dict
        The released items in order: ``item, factor, chi2, df, p`` (the score test that chose it)
        and ``holds`` (whether the model with it released passes the rule).
    """
    quota = {f: math.floor(len(its) * max_free_share + 1e-9) for f, its in factors.items()}
    current, partial, freed, steps = scalar, None, [], []
    while True:
        open_factors = [f for f in factors if sum(s["factor"] == f for s in steps) < quota[f]]
        candidates = [i for f in open_factors for i in factors[f] if i not in freed]
        if not candidates:
            break
        scores = score_test_intercepts(current, candidates)
        best = scores.iloc[0]
        if not best.p < alpha:
            break
        freed.append(best["item"])
        partial = current = fit_mgcfa(
            scalar.moments, factors, equal=scalar.equal, free_intercepts=tuple(freed), start=current
        )
        holds = compare_steps(partial, metric, "scalar", rule)["holds"]
        steps.append(
            {
                "item": best["item"],
                "factor": best["factor"],
                "chi2": float(best["chi2"]),
                "df": int(best["df"]),
                "p": float(best["p"]),
                "holds": holds,
            }
        )
        if holds:
            break
    return partial, steps


def _latent_means(fit: MGCFAFit, factors: dict[str, list[str]]) -> list[dict]:
    est = fit.estimates
    rows = est[(est.op == "~1") & est.lhs.isin(list(factors)) & (est.group != fit.groups[0])]
    return [
        {"group": r.group, "factor": r.lhs, "est": float(r.est), "se": float(r.se), "z": float(r.z), "p": float(r.p)}
        for r in rows.itertuples()
    ]


def _step(fit: MGCFAFit, change: dict | None = None) -> dict:
    out = fit.fit_measures()
    if change is not None:
        out["change"] = change
    return out


def invariance_ladder(
    data: pd.DataFrame | GroupMoments,
    factors: dict[str, list[str]],
    group: str | None = None,
    rule: dict = CHEN_2007,
    alpha: float = 0.05,
    max_free_share: float = 1 / 3,
) -> dict:
    """Test configural, metric, scalar (or partial scalar) and strict invariance of a measurement model.

    Parameters
    ----------
    data : DataFrame or GroupMoments
        Item responses (reverse-keyed) and the group column; complete cases are used.
    factors : dict
        Factor name → items; a scale is ``{scale_id: items}``, the whole measurement model all
        its factors. The first item of each factor is the marker (loading 1, as lavaan).
    group : str
        The grouping column (``level``, ``leader``, the survey wave, ...). Groups are ordered by
        first appearance (lavaan's order); the first is the reference for latent means.
    rule : dict
        Change-in-fit bounds per step; default :data:`CHEN_2007`.
    alpha : float
        Significance level of the score tests in the partial-invariance search.
    max_free_share : float
        At most this share of a factor's items may have their intercepts released (⌊k/3⌋).

    Returns
    -------
    dict
        ``configural, metric, scalar`` — each ``{chi2, df, p, cfi, tli, rmsea, srmr, converged,
        identified}``, the constrained steps with ``change{delta_chi2, delta_df, p, delta_cfi,
        delta_rmsea, delta_srmr, holds}`` against the previous step (scalar against metric);
        ``partial_scalar`` — the same plus ``freed``, or None when the search did not run;
        ``strict`` — against the (partial) scalar model, None below scalar invariance;
        ``decision`` — one of :data:`DECISIONS`; ``freed`` — items whose intercepts are free in
        the accepted partial model; ``search`` — the released items with their score tests;
        ``score_tests`` — score tests of every intercept constraint of the scalar model;
        ``latent_means`` — ``[{group, factor, est, se, z, p}]`` against ``reference_group`` at
        (partial) scalar invariance, else None; ``groups``, ``n`` (per group), ``n_dropped``,
        ``rule`` (the text of the rule, zh/en). When the model cannot be tested, ``decision`` is
        ``"not_tested"`` with ``estimable: False`` and ``reason{zh, en}``, and the steps are None.

    Notes
    -----
    Decision: ``configural`` when metric fails; ``metric`` when metric holds but neither scalar
    nor a partial scalar model does; ``partial_scalar`` when the search finds a passing model;
    ``scalar`` when full scalar invariance holds. Fit measures are lavaan's for several groups
    (see :func:`jianfu.stats.mgcfa.fit_mgcfa`). The configural model's own fit is reported, not
    judged here: read it against the usual cut-offs before reading the ladder.
    """
    items = [i for its in factors.values() for i in its]
    empty = {
        "configural": None,
        "metric": None,
        "scalar": None,
        "partial_scalar": None,
        "strict": None,
        "freed": [],
        "search": [],
        "score_tests": [],
        "latent_means": None,
        "reference_group": None,
        "rule": RULE_TEXT,
    }
    try:
        mom = data if isinstance(data, GroupMoments) else group_moments(data, items, group)
        configural = fit_mgcfa(mom, factors)
    except NotEstimable as exc:
        return {**empty, "decision": "not_tested", **exc.result()}
    if not configural.converged:
        return {
            **empty,
            "decision": "not_tested",
            "estimable": False,
            "reason": {
                "zh": "构型模型未收敛，无法检验测量不变性",
                "en": "the configural model did not converge, so invariance cannot be tested",
            },
        }
    if not configural.identified:
        return {
            **empty,
            "decision": "not_tested",
            "estimable": False,
            "reason": {
                "zh": "构型模型在这些数据上不可识别（如某组因子方差趋于 0），无法检验测量不变性",
                "en": "the configural model is not identified on these data (a factor variance near 0 "
                "in a group, say), so invariance cannot be tested",
            },
        }
    # Each step starts from the one before it: the same optimum, reached in a few scoring steps.
    metric = fit_mgcfa(mom, factors, equal=("loadings",), start=configural)
    scalar = fit_mgcfa(mom, factors, equal=("loadings", "intercepts"), start=metric)
    c_metric = compare_steps(metric, configural, "metric", rule)
    c_scalar = compare_steps(scalar, metric, "scalar", rule)
    out = {
        **empty,
        "groups": mom.labels,
        "reference_group": mom.labels[0],
        "n": configural.n,
        "n_dropped": mom.n_dropped,
        "configural": _step(configural),
        "metric": _step(metric, c_metric),
        "scalar": _step(scalar, c_scalar),
        "score_tests": score_test_intercepts(scalar).to_dict("records"),
    }
    if not c_metric["holds"]:
        return {**out, "decision": "configural"}
    accepted = scalar if c_scalar["holds"] else None
    if accepted is None:
        partial, search = partial_scalar_search(metric, scalar, factors, rule, alpha, max_free_share)
        out["search"] = search
        if partial is not None:
            out["partial_scalar"] = {
                **_step(partial, compare_steps(partial, metric, "scalar", rule)),
                "freed": list(partial.free_intercepts),
            }
            if out["partial_scalar"]["change"]["holds"]:
                accepted = partial
        if accepted is None:
            return {**out, "decision": "metric"}
    strict = fit_mgcfa(
        mom,
        factors,
        equal=("loadings", "intercepts", "residuals"),
        free_intercepts=accepted.free_intercepts,
        start=accepted,
    )
    return {
        **out,
        "decision": "scalar" if accepted is scalar else "partial_scalar",
        "freed": list(accepted.free_intercepts),
        "latent_means": _latent_means(accepted, factors),
        "strict": _step(strict, compare_steps(strict, accepted, "strict", rule)),
    }
