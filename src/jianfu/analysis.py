"""The analysis stage, on accepted rows only.

Scale statistics and item analysis, the validity evidence for the measurement model, descriptives
and correlations, group comparisons, and the analysis plan's models. Results are plain dicts and
lists (JSON-ready) for the run summary and the report.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jianfu.comparability import RULE_TEXT, invariance_by_group
from jianfu.instrument import Instrument
from jianfu.plan import MediationSpec, ModeratedMediationSpec, Plan
from jianfu.scoring import keyed_items
from jianfu.stats import cfa, structure
from jianfu.stats.agreement import unit_agreement
from jianfu.stats.descriptives import compare_groups, correlation_table, describe
from jianfu.stats.estimable import NotEstimable, not_estimable
from jianfu.stats.fiml import fit_cfa_fiml
from jianfu.stats.mediation import mediation
from jianfu.stats.method_bias import method_bias_checks, second_order_checks
from jianfu.stats.missing import little_mcar, missingness_table
from jianfu.stats.moderated_mediation import moderated_mediation
from jianfu.stats.multiplicity import adjust
from jianfu.stats.ordinal import ordinal_alpha
from jianfu.stats.regression import design_matrix, fit_hierarchical
from jianfu.stats.reliability import cronbach_alpha, item_analysis, omega, response_distribution
from jianfu.stats.robust_cfa import fit_cfa_mlr
from jianfu.stats.wlsmv import fit_cfa_wlsmv

__all__ = [
    "scale_statistics",
    "run_models",
    "analysis_frame",
    "psychometrics",
    "psychometrics_part",
    "merge_psychometrics",
    "PSYCHOMETRICS_PARTS",
    "table",
]


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def table(frame: pd.DataFrame) -> dict[str, dict]:
    """A DataFrame as ``{row: {column: value}}`` with NaN as None (JSON-ready)."""
    return {
        str(i): {
            str(c): (_num(v) if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else v)
            for c, v in row.items()
        }
        for i, row in frame.iterrows()
    }


def scale_statistics(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument) -> dict[str, dict]:
    """n, mean, SD, α (with 95% CI), ω and the item analysis per scale.

    First-order scales: α and ω over their reverse-keyed items, listwise; per item the mean,
    SD, item-rest correlation, α if deleted and the share of each response code. The
    second-order composite: α and ω over its subscale scores (each subscale one indicator).
    """
    keyed = keyed_items(accepted, inst)
    out: dict[str, dict] = {}
    code_counts: dict[int, dict[str, int]] = {}  # per code, not per scale: each pass splits every row's codes
    for s in inst.scales:
        col = scores[s.id].dropna()
        if s.is_composite:
            block = scores[list(s.subscales)]
        else:
            block = keyed[[i.id for i in s.items if i.id in keyed]]
        alpha, ci = cronbach_alpha(block)
        k, n_complete = int(block.shape[1]), int(len(block.dropna()))
        entry = {
            "n": int(col.size),
            "mean": _num(col.mean()),
            "sd": _num(col.std(ddof=1)),
            "alpha": _num(alpha),
            "alpha_ci": [_num(ci[0]), _num(ci[1])],
            "omega": None,
            "n_items": k,
            "n_complete": n_complete,
        }
        if n_complete > k:
            om = omega(block).to_dict()
            entry["omega"] = _num(om["omega"]) if om.get("omega") is not None else None
            entry["omega_ci"] = [_num(v) if v is not None else None for v in (om.get("ci") or [None, None])]
            entry["omega_kind"] = om.get("kind")
            if om.get("warnings"):
                # e.g. a negative loading: a mis-keyed item that abs() would have hidden
                entry["omega_warnings"] = om["warnings"]
        reasons = {}
        if entry["alpha"] is None:
            reasons["alpha"] = not_estimable(
                f"完整作答 {n_complete} 份或题目无变异，无法计算 α",
                f"{n_complete} complete rows or no variance: α cannot be computed",
            )["reason"]
        if entry["omega"] is None:
            reasons["omega"] = not_estimable(
                f"完整作答 {n_complete} 份，单因子模型需要多于题目数（{k}）的样本",
                f"{n_complete} complete rows: the one-factor model needs more than the {k} items",
            )["reason"]
        if not s.is_composite and k >= 2 and n_complete > 2 * k:
            try:
                entry["ordinal_alpha"] = _num(ordinal_alpha(block.dropna()))
            except (ValueError, np.linalg.LinAlgError):
                pass  # a constant item or an empty category pair: α on Pearson correlations stands alone
        if reasons:
            entry["reasons"] = reasons
        if block.shape[1] >= 2 and len(block.dropna()) >= 3:
            items = item_analysis(block)
            if not s.is_composite:
                rs = inst.response_scales[s.response_scale]
                dist = response_distribution(accepted[items.index.tolist()], list(range(rs.min, rs.max + 1)))
                items = items.join(dist.drop(columns="n").rename(columns=lambda c: f"share_{c}"))
                for code in rs.missing_options:  # 不适用 / 不了解: counted, never scored
                    if code not in code_counts:
                        code_counts[code] = missing_code_counts(accepted, code)
                    items[f"n_code_{code}"] = [code_counts[code].get(i, 0) for i in items.index]
            entry["items"] = table(items)
        out[s.id] = entry
    return out


def missing_code_counts(frame: pd.DataFrame, code: int) -> dict[str, int]:
    """How many rows answered each item with the non-scored ``code`` (不适用 8, 不了解 9, …)."""
    if "_missing_codes" not in frame:
        return {}
    pairs = frame["_missing_codes"].dropna().str.split(";").explode().dropna()
    pairs = pairs[pairs.str.endswith(f"={code}")]
    return pairs.str.rsplit("=", n=1).str[0].value_counts().to_dict()


def analysis_frame(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Scale scores joined with demographics: the data every model is fitted on."""
    demo = accepted[[d.id for d in inst.demographics if d.id in accepted]]
    return pd.concat([scores, demo], axis=1)


#: The plan's robust CFA estimators (complete rows only, as lavaan's default for them).
ROBUST_ESTIMATORS = {"MLR": fit_cfa_mlr, "WLSMV": fit_cfa_wlsmv}
#: Share of answered rows that must be complete before a listwise estimator is used instead of FIML.
ROBUST_MIN_COMPLETE = 0.8


#: Which of a robust fit's indices a report shows: lavaan's "robust" for MLR, "scaled" for WLSMV (as Mplus).
_HEADLINE = {"MLR": "robust", "WLSMV": "scaled"}


def headline_fit(fit: dict, estimator: str) -> dict:
    """The fit indices a report shows: as fitted for ML, the scaled χ² and robust/scaled indices otherwise.

    Examples
    --------
    >>> headline_fit({"chi2": 10.0, "chi2_scaled": 8.0, "p": 0.1, "p_scaled": 0.2, "df": 4, "cfi": 0.9,
    ...               "cfi_robust": 0.95, "tli": 0.9, "tli_robust": 0.94, "rmsea": 0.05, "rmsea_robust": 0.04,
    ...               "srmr": 0.03, "n": 100}, "MLR")["chi2"]
    8.0
    """
    if estimator not in _HEADLINE:
        return dict(fit)
    kind = _HEADLINE[estimator]
    out = dict(fit)
    out["chi2"], out["p"] = fit.get("chi2_scaled", fit["chi2"]), fit.get("p_scaled", fit["p"])
    for k in ("cfi", "tli", "rmsea", "rmsea_ci"):
        out[k] = fit.get(f"{k}_{kind}", fit.get(k))
    out["kind"] = kind
    return out


def _listwise_note(estimator: str, out: dict) -> dict:
    share = out["n_complete"] / max(out["n_answered"], 1)
    return {
        "zh": f"分析计划指定 {estimator} 估计，但该估计只用完整作答（仅 {share:.0%} 的答卷完整，低于 "
        f"{ROBUST_MIN_COMPLETE:.0%}），因此改用全信息最大似然（FIML）以保留全部答卷。",
        "en": f"The plan asks for {estimator}, which uses complete rows only ({share:.0%} complete, below "
        f"{ROBUST_MIN_COMPLETE:.0%}): the CFA is fitted by full-information ML instead, keeping every row.",
    }


def _measurement_model(keyed: pd.DataFrame, inst: Instrument) -> dict[str, list[str]]:
    return {
        s.id: [i.id for i in s.items if i.id in keyed]
        for s in inst.first_order_scales
        if sum(i.id in keyed for i in s.items) >= 2
    }


#: Seed of the random data in Horn's parallel analysis (recorded in the run's provenance).
PARALLEL_ANALYSIS_SEED = 20240601


#: The parts of :func:`psychometrics` that share no computation: each can run in its own process.
PSYCHOMETRICS_PARTS = ("structure", "method_bias", "descriptive")


def psychometrics(
    accepted: pd.DataFrame,
    scores: pd.DataFrame,
    inst: Instrument,
    plan: Plan | None = None,
    seed: int = PARALLEL_ANALYSIS_SEED,
    invariance: bool = True,
) -> dict:
    """Validity evidence and descriptives over all first-order scales.

    KMO and Bartlett's test on all items; parallel analysis and an oblimin EFA with the
    number of factors it suggests; the CFA of the correlated first-order factors with CR, AVE,
    the Fornell–Larcker table and HTMT2; Harman's single-factor test; descriptives and the
    correlation matrix of scale scores; group comparisons named in the plan; with ``invariance``
    the invariance ladders across the plan's groups (:func:`invariance_block`).

    The same as :func:`merge_psychometrics` of every :func:`psychometrics_part`, which is how a
    run computes it, the parts side by side.
    """
    parts = {p: psychometrics_part(p, accepted, scores, inst, plan, seed) for p in PSYCHOMETRICS_PARTS}
    return merge_psychometrics(parts) | (invariance_block(accepted, inst, plan) if invariance else {})


def _measured_items(accepted: pd.DataFrame, inst: Instrument) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Reverse-keyed answers, the measurement model ``{factor: items}`` and its items' columns."""
    keyed = keyed_items(accepted, inst)
    factors = _measurement_model(keyed, inst)
    return keyed, factors, keyed[[i for its in factors.values() for i in its]]


def _enough_rows(items: pd.DataFrame) -> bool:
    """More rows with an answer than items + 10: the bar for any factor analysis."""
    return int(items.notna().any(axis=1).sum()) > items.shape[1] + 10


def psychometrics_part(
    part: str,
    accepted: pd.DataFrame,
    scores: pd.DataFrame,
    inst: Instrument,
    plan: Plan | None = None,
    seed: int = PARALLEL_ANALYSIS_SEED,
) -> dict:
    """One of :data:`PSYCHOMETRICS_PARTS`; :func:`merge_psychometrics` joins them.

    ``structure``: missingness, EM correlations, KMO, Bartlett, parallel analysis, EFA, Harman and
    the CFA; ``method_bias``: the method-factor and second-order models; ``descriptive``: scale
    descriptives, their correlations, the group comparisons and the unit agreement.
    """
    if part == "structure":
        return _structure(accepted, inst, plan, seed)
    if part == "method_bias":
        keyed, _, items = _measured_items(accepted, inst)
        if not _enough_rows(items):
            return {}
        # Beyond Harman: a method factor on every item (ULMC), one on the reverse-keyed items, the
        # marker-variable adjustment, and the second-order factor behind each composite.
        try:
            return {
                "method_bias": method_bias_checks(keyed, inst, scores=scores),
                "second_order": second_order_checks(keyed, inst),
            }
        except np.linalg.LinAlgError as exc:
            # A singular covariance matrix: the structure part then reports no factor model at
            # all, and only where it could estimate the correlations is this an error.
            return {"_error": exc}
    if part == "descriptive":
        return _descriptive(accepted, scores, inst, plan)
    raise ValueError(f"unknown psychometrics part {part!r}; one of {PSYCHOMETRICS_PARTS}")


def merge_psychometrics(parts: dict[str, dict]) -> dict:
    """The psychometrics of a run from its parts (:func:`psychometrics_part`), keys in report order.

    The method-bias models count only where the structure part could estimate the correlations
    (``_enough``): with a singular covariance matrix no factor model is reported.
    """
    structure_ = dict(parts["structure"])
    enough = structure_.pop("_enough")
    cfa_keys = ("cfa_estimator_note", "note", "cfa")
    out = {k: v for k, v in structure_.items() if k not in cfa_keys}
    if enough:
        if "_error" in parts["method_bias"]:
            raise parts["method_bias"]["_error"]
        out |= parts["method_bias"]
    out |= {k: structure_[k] for k in cfa_keys if k in structure_}
    return out | parts["descriptive"]


def _structure(accepted: pd.DataFrame, inst: Instrument, plan: Plan | None, seed: int) -> dict:
    keyed, factors, items = _measured_items(accepted, inst)
    answered = items.dropna(how="all")
    out: dict = {
        "n_items": int(items.shape[1]),
        "n_complete": int(len(items.dropna())),
        "n_answered": int(len(answered)),
        "missing": table(missingness_table(answered)) if len(answered) else {},
    }
    # Scattered non-response must not drop respondents: structure statistics start from EM
    # correlations and the CFA is fitted by FIML on every row with an answer (Enders, 2010).
    enough = out["n_answered"] > items.shape[1] + 10
    if enough and out["n_complete"] < len(answered):
        try:
            out["little_mcar"] = little_mcar(answered).to_dict()
        except (NotEstimable, np.linalg.LinAlgError):
            out["little_mcar"] = _too_few_for_em(out)
    R = None
    if enough:
        try:
            R = structure.correlation(items)
        except np.linalg.LinAlgError:
            # EM needs a positive-definite covariance: too few rows for this many items.
            enough = False
            out["note"] = _too_few_for_em(out)["reason"]
    out["_enough"] = enough
    if enough:
        out["correlation_method"] = R.method
        out["kmo"] = structure.kmo(R)
        out["bartlett"] = structure.bartlett_sphericity(R)
        pa = structure.parallel_analysis(R, seed=seed)
        out["parallel_analysis"] = pa
        e = structure.efa(R, max(pa["n_factors"], 1))
        out["efa"] = {
            "n_factors": int(e["loadings"].shape[1]),
            "rotation": e["rotation"],
            "method": e["method"],
            "loadings": table(e["loadings"]),
            "variance": table(e["variance"]),
            "communalities": {k: _num(v) for k, v in e["communalities"].items()},
        }
        out["harman"] = structure.harman_single_factor(R)
        incomplete = out["n_complete"] < len(answered)
        estimator = plan.cfa_estimator if plan else "ML"
        try:
            if estimator != "ML" and out["n_complete"] >= ROBUST_MIN_COMPLETE * len(answered):
                fit = ROBUST_ESTIMATORS[estimator](keyed, factors)
            else:
                if estimator != "ML":
                    out["cfa_estimator_note"] = _listwise_note(estimator, out)
                    estimator = "ML"
                fit = fit_cfa_fiml(items, factors) if incomplete else cfa.fit_cfa(keyed, factors)
        except NotEstimable as exc:
            fit = None
            out["note"] = exc.result()["reason"]
        except np.linalg.LinAlgError:
            fit = None
            out["note"] = _too_few_for_em(out)["reason"]
    if enough and fit is not None:
        rv = cfa.reliability_validity(fit["loadings"])
        out["cfa"] = {
            "fit": fit["fit"],
            "headline": headline_fit(fit["fit"], estimator),
            "n": fit["n"],
            "n_dropped": fit["n_dropped"],
            "missing": ("listwise" if incomplete else "none")
            if estimator != "ML"
            else ("fiml" if incomplete else "none"),
            "estimator": estimator,
            "converged": fit["converged"],
            "note": fit["note"],
            "loadings": fit["loadings"],
            "reliability": table(rv),
            "fornell_larcker": table(cfa.fornell_larcker(rv["ave"], fit["factor_correlations"])),
            "factor_correlations": table(fit["factor_correlations"]),
            "htmt": table(cfa.htmt(keyed, factors, corr=R.matrix)),
            "cutoffs": cfa.CUTOFFS,
        }
    elif not enough:
        out["note"] = {
            "zh": f"有效答卷仅 {out['n_answered']} 份，少于题目数 + 10，未做因子分析。",
            "en": f"Only {out['n_answered']} rows with answers (need more than items + 10): no factor analysis.",
        }
    return out


def _descriptive(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, plan: Plan | None) -> dict:
    out: dict = {"descriptives": table(describe(scores))}
    corr = correlation_table(scores)
    method = plan.multiplicity if plan else "holm"
    corr["p_adj"] = _adjust_matrix(corr["p"], method)
    out["correlations"] = {k: table(v) for k, v in corr.items()} | {"p_adj_method": method}
    data = analysis_frame(accepted, scores, inst)
    options = {d.id: list(d.options) for d in inst.demographics if d.options}
    out["group_comparisons"] = [
        c
        for by in (plan.group_comparisons if plan else [])
        if by in data
        for c in compare_groups(data, [s.id for s in inst.scales], by, options.get(by), clusters=_unit_column(plan))
    ]
    # One family: every group comparison of the run (exploratory, so adjusted; hypotheses are not).
    p_adj = adjust(
        np.array(
            [c.get("p", np.nan) if c.get("p") is not None else np.nan for c in out["group_comparisons"]], dtype=float
        ),
        method,
    )
    for c, q in zip(out["group_comparisons"], p_adj, strict=True):
        c["p_adj"], c["p_adj_method"] = (None if np.isnan(q) else float(q)), method
    out["unit_agreement"] = _unit_agreement(accepted, scores, inst, _unit_column(plan))
    return out


def invariance_block(accepted: pd.DataFrame, inst: Instrument, plan: Plan | None) -> dict:
    """``{invariance, invariance_rule}``: every scale's ladder across each of the plan's invariance groups."""
    return {
        "invariance": invariance_by_group(accepted, inst, plan.invariance_groups if plan else []),
        "invariance_rule": RULE_TEXT,
    }


def _too_few_for_em(out: dict) -> dict:
    return not_estimable(
        f"{out['n_answered']} 份答卷对 {out['n_items']} 道题太少，协方差矩阵无法估计（非正定），未做因子分析",
        f"{out['n_answered']} rows are too few for {out['n_items']} items: the covariance matrix is not positive "
        "definite, no factor analysis",
    )


def _unit_agreement(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, unit: str) -> dict:
    """ICC(1), ICC(2) and r_wg(j) of every scale whose items are about the unit (``referent: unit``)."""
    if unit not in accepted:
        return {}
    keyed = keyed_items(accepted, inst)
    out = {}
    for s in inst.first_order_scales:
        if s.referent != "unit" or s.id not in scores:
            continue
        items = [i.id for i in s.items if i.id in keyed]
        try:
            out[s.id] = unit_agreement(
                scores[s.id], keyed[items], accepted[unit], len(inst.response_scales[s.response_scale].labels)
            )
        except NotEstimable as exc:
            out[s.id] = exc.result()
    return out


def _unit_column(plan: Plan | None) -> str | None:
    """The clustering variable the plan's models use (``unit`` by default)."""
    clusters = [m.cluster for m in (plan.models if plan else []) if getattr(m, "cluster", None)]
    return clusters[0] if clusters else "unit"


def _adjust_matrix(p: pd.DataFrame, method: str) -> pd.DataFrame:
    """Adjust the p-values of a symmetric correlation matrix as one family (each pair once)."""
    upper = np.triu(np.ones(p.shape, dtype=bool), k=1)
    values = p.to_numpy(dtype=float)
    adjusted = np.full(p.shape, np.nan)
    adjusted[upper] = adjust(values[upper], method)
    adjusted = np.where(upper, adjusted, adjusted.T)
    return pd.DataFrame(adjusted, index=p.index, columns=p.columns)


def _process_inputs(
    data: pd.DataFrame, spec: MediationSpec | ModeratedMediationSpec, categorical: dict[str, list[str]]
) -> tuple[pd.DataFrame, dict, dict[str, str]]:
    """The complete rows of a process model and the keyword arguments its function shares.

    The arguments are the covariate columns (dummies made, constant ones dropped), which of them
    are dummies, and the units.
    """
    sample = data[spec.variables].dropna()
    covs, source = design_matrix(sample, spec.covariates, categorical)
    covs = covs.loc[:, covs.std() > 0]
    kwargs = {
        "covariates": covs,
        "n_boot": spec.n_boot,
        "seed": spec.seed,
        "level": spec.level,
        "dummies": frozenset(c for c in covs.columns if source[c] in categorical),
        "clusters": _clusters(data, spec.cluster),
    }
    return sample, kwargs, source


def _name_terms(res: dict, source: dict[str, str]) -> dict:
    for name, term in res["terms"].items():
        term["term"] = source.get(name, name)
    return res


def _mediation(data: pd.DataFrame, spec: MediationSpec, categorical: dict[str, list[str]]) -> dict:
    sample, kwargs, source = _process_inputs(data, spec, categorical)
    res = mediation(sample, spec.x, spec.mediators, spec.outcome, **kwargs)
    return {"type": "mediation", **_name_terms(res, source)}


def _moderated_mediation(data: pd.DataFrame, spec: ModeratedMediationSpec, categorical: dict[str, list[str]]) -> dict:
    sample, kwargs, source = _process_inputs(data, spec, categorical)
    res = moderated_mediation(sample, spec.x, spec.mediator, spec.moderator, spec.outcome, stage=spec.stage, **kwargs)
    return {"type": "moderated_mediation", **_name_terms(res, source)}


def _clusters(data: pd.DataFrame, cluster: str | None) -> pd.Series | None:
    """The units to resample, when there are at least two of them."""
    if cluster is None or cluster not in data or data[cluster].nunique() < 2:
        return None
    return data[cluster]


def run_models(data: pd.DataFrame, plan: Plan, inst: Instrument) -> dict[str, dict]:
    """Every model of the plan, by id."""
    categorical = {d.id: list(d.options) for d in inst.demographics if d.options}
    out = {}
    for m in plan.models:
        head = {"label": m.label.model_dump() if m.label else None, "hypothesis": m.hypothesis}
        kind = m.type
        try:
            if isinstance(m, MediationSpec):
                out[m.id] = head | _mediation(data, m, categorical)
            elif isinstance(m, ModeratedMediationSpec):
                out[m.id] = head | _moderated_mediation(data, m, categorical)
            else:
                out[m.id] = head | {"type": "ols", **fit_hierarchical(data, m, categorical)}
        except NotEstimable as exc:
            n = int(data[[v for v in m.variables if v in data]].dropna().shape[0])
            out[m.id] = head | {"type": kind, "outcome": m.outcome, "n": n, **exc.result()}
    return out
