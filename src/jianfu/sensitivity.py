"""Do the headline conclusions depend on how the data were handled? Three versions of each model.

For every OLS model of the plan that carries a pre-declared hypothesis, the final model is
refitted

* **as reported** — accepted rows, complete on the model's variables (listwise), cluster-robust;
* **by multiple imputation** — when more than :data:`MI_THRESHOLD` of the accepted rows miss a
  model variable: scale scores imputed by chained equations with predictive mean matching
  (:func:`jianfu.stats.missing.impute_chained`, m = :data:`M_IMPUTATIONS`, seeded), the same
  cluster-robust OLS in each completed dataset, pooled by Rubin's rules with Barnard–Rubin df;
  rows missing a categorical covariate or the unit stay out (they cannot be imputed as numbers);
* **with the quality-flagged rows** — quarantined rows added back, except duplicates (the same
  response twice) and rows with invalid cells.

A coefficient whose sign or significance changes between the versions is a conclusion that rests
on a handling choice; the report's sensitivity sheet shows all three side by side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from jianfu.instrument import Instrument
from jianfu.plan import ModelSpec, Plan
from jianfu.stats.estimable import NotEstimable
from jianfu.stats.missing import impute_chained, pool_ols
from jianfu.stats.regression import design_matrix, fit_hierarchical

__all__ = ["MI_THRESHOLD", "M_IMPUTATIONS", "model_sensitivity"]

#: Share of incomplete rows above which the imputation column is computed (the issue's 5%).
MI_THRESHOLD = 0.05
#: Completed datasets per imputation (m ≥ 20, White, Royston & Wood, 2011).
M_IMPUTATIONS = 20
#: Flags whose rows never come back: the same response twice, or a cell that is not an answer.
_NEVER_BACK = ("duplicate", "invalid")


def _terms(result: dict) -> dict[str, dict[str, Any]]:
    return {
        name: {k: t.get(k) for k in ("b", "se", "ci_low", "ci_high", "p", "df")}
        for name, t in (result.get("terms") or {}).items()
    }


def _pooled(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out = {}
    for name, row in table.iterrows():
        if name == "(Intercept)":
            continue
        out[str(name)] = {
            "b": float(row["estimate"]),
            "se": float(row["se"]),
            "ci_low": float(row["ci_low"]),
            "ci_high": float(row["ci_high"]),
            "p": float(row["p"]),
            "df": float(row["df"]),
            "fmi": float(row["fmi"]) if "fmi" in row else None,
        }
    return out


def _impute(data: pd.DataFrame, spec: ModelSpec, categorical: dict[str, list[str]], seed: int) -> dict:
    numeric = [v for v in dict.fromkeys(spec.variables) if v not in categorical and v in data]
    fixed = [v for v in dict.fromkeys(spec.variables) if v in categorical and v in data]
    cluster = spec.cluster if spec.cluster in data else None
    keep = data[[*fixed, *([cluster] if cluster else [])]].notna().all(axis=1)
    sub = data.loc[keep, [*numeric, *fixed, *([cluster] if cluster else [])]]
    sub = sub[sub[numeric].notna().any(axis=1)]
    frames = impute_chained(sub.drop(columns=[cluster]) if cluster else sub, m=M_IMPUTATIONS, seed=seed)
    if cluster:
        # Integer codes: each of the m cluster-robust fits groups the rows by them
        units = pd.factorize(sub[cluster], sort=True)[0]
        frames = [f.assign(**{cluster: units}) for f in frames]
    table = pool_ols(
        frames,
        spec.outcome,
        design=lambda d: design_matrix(d, spec.terms, categorical)[0],
        cluster=cluster,
    )
    return {"n": int(table.attrs["n"]), "m": int(table.attrs["m"]), "terms": _pooled(table)}


def model_sensitivity(
    accepted: pd.DataFrame,
    flagged: pd.DataFrame,
    plan: Plan,
    inst: Instrument,
    models: dict[str, dict],
    seed: int = 20240601,
) -> dict[str, dict]:
    """The plan's hypothesis-bearing OLS models as reported, by multiple imputation and with flagged rows.

    Parameters
    ----------
    accepted : DataFrame
        Analysis frame (scale scores and demographics) of the accepted rows.
    flagged : DataFrame
        The same for the quarantined rows (their flags in ``_flag_<name>`` columns).
    plan, inst
        The plan (which models) and the instrument (categorical demographics).
    models : dict
        The models as fitted for the report (the "as reported" column).
    seed : int
        Seed of the imputations.

    Returns
    -------
    dict
        Per model id: ``outcome, incomplete_share, n{listwise, mi, with_flagged}, m, terms{column:
        {listwise, mi, with_flagged}}`` (each ``{b, se, ci_low, ci_high, p, df}`` or None), and the
        reasons when a version could not be estimated.
    """
    categorical = {d.id: list(d.options) for d in inst.demographics if d.options}
    declared = {m.id for m in plan.models if m.findings}
    out: dict[str, dict] = {}
    for spec in plan.models:
        fitted = models.get(spec.id, {})
        if not isinstance(spec, ModelSpec) or spec.id not in declared or fitted.get("estimable") is False:
            continue
        variables = [v for v in dict.fromkeys(spec.variables) if v in accepted]
        rows = accepted[accepted[spec.outcome].notna()] if spec.outcome in accepted else accepted.iloc[:0]
        incomplete = float((~rows[variables].notna().all(axis=1)).mean()) if len(rows) else 0.0
        entry: dict[str, Any] = {
            "outcome": spec.outcome,
            "incomplete_share": incomplete,
            "n": {"listwise": fitted.get("n"), "mi": None, "with_flagged": None},
            "m": None,
            "reasons": {},
        }
        versions = {"listwise": _terms(fitted), "mi": {}, "with_flagged": {}}
        if incomplete > MI_THRESHOLD:
            try:
                mi = _impute(accepted, spec, categorical, seed)
                versions["mi"], entry["n"]["mi"], entry["m"] = mi["terms"], mi["n"], mi["m"]
            except NotEstimable as exc:
                entry["reasons"]["mi"] = exc.result()["reason"]
            except np.linalg.LinAlgError:
                # A sensitivity column must never stop the report: say why it is empty instead.
                entry["reasons"]["mi"] = {
                    "zh": "插补模型的矩阵奇异（变量共线或样本过小），未做多重插补",
                    "en": "the imputation model is singular (collinear variables or too few rows): no imputation",
                }
        else:
            entry["reasons"]["mi"] = {
                "zh": f"不完整的行仅 {incomplete:.1%}（≤ {MI_THRESHOLD:.0%}），未做多重插补",
                "en": f"only {incomplete:.1%} of rows incomplete (≤ {MI_THRESHOLD:.0%}): no imputation",
            }
        back = flagged
        for name in _NEVER_BACK:
            if f"_flag_{name}" in back:
                back = back[~back[f"_flag_{name}"].astype(bool)]
        try:
            both = pd.concat([accepted, back[accepted.columns.intersection(back.columns)]])
            with_flagged = fit_hierarchical(both, spec, categorical)
            versions["with_flagged"], entry["n"]["with_flagged"] = _terms(with_flagged), with_flagged.get("n")
        except NotEstimable as exc:
            entry["reasons"]["with_flagged"] = exc.result()["reason"]
        names = list(dict.fromkeys([*versions["listwise"], *versions["mi"], *versions["with_flagged"]]))
        entry["terms"] = {n: {k: versions[k].get(n) for k in versions} for n in names}
        out[spec.id] = entry
    return out
