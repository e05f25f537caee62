"""The analysis stage (:func:`jianfu.analysis.run_models`) fits the plan's models on a synthetic survey.

The generator's structural model is the truth: the signs of its paths, its buffering moderator, and
the clustering of respondents in units.
"""

from __future__ import annotations

import numpy as np
import pytest

from jianfu.analysis import run_models
from jianfu.synth import simulate


def test_mediation_model_from_the_plan(inst, plan, survey):
    from jianfu.analysis import analysis_frame
    from jianfu.scoring import score_scales

    data = analysis_frame(survey.answers, score_scales(survey.answers, inst), inst)
    res = run_models(data, plan, inst)["blame_mediation"]
    assert res["type"] == "mediation" and res["n_boot"] == 5000
    ind = res["indirect"]["blame_avoidance"]
    assert ind["ci_low"] < ind["effect"] < ind["ci_high"]
    assert ind["ci_low"] > 0  # the generator has a → b both positive
    assert {"b", "se", "p", "beta"} <= set(res["terms"]["accountability_pressure"])
    assert res["terms"]["leader[否]"]["beta"] is None
    assert res["resampling"] == "units" and res["n_clusters"] == survey.answers["unit"].nunique()


def test_moderated_mediation_from_the_plan(inst, plan, survey):
    """H2: the generator's first stage is moderated (a₃ = −0.20 on the latents): the index is negative."""
    from jianfu.analysis import analysis_frame
    from jianfu.scoring import score_scales

    data = analysis_frame(survey.answers, score_scales(survey.answers, inst), inst)
    res = run_models(data, plan, inst)["blame_moderated_mediation"]
    assert res["type"] == "moderated_mediation" and res["model"] == 7 and res["resampling"] == "units"
    imm = res["index_of_moderated_mediation"]
    assert imm["ci_low"] < imm["estimate"] < imm["ci_high"] and imm["estimate"] < 0
    low, mid, high = (c["effect"] for c in res["conditional_indirect"])
    assert low > mid > high  # buffering: weaker where fault tolerance is high
    assert mid == pytest.approx(
        (res["paths"]["a"]["b"] + res["paths"]["a×w"]["b"] * res["conditional_indirect"][1]["w"])
        * res["paths"]["b"]["b"]
    )


def test_twelve_units_get_cr2_not_hc3(inst, plan):
    """Few units are the norm (8–15 townships): the headline model clusters with CR2 and Satterthwaite df."""
    from jianfu.analysis import analysis_frame
    from jianfu.scoring import score_scales

    survey = simulate(inst, n=360, seed=12, n_units=12, inject=False)
    data = analysis_frame(survey.answers, score_scales(survey.answers, inst), inst)
    res = run_models(data, plan, inst)["empowerment_burden"]
    assert res["n_clusters"] == 12 and "CR2" in res["se_type"] and "HC3" not in res["se_type"]
    dfs = [t["df"] for t in res["terms"].values()]
    assert all(0 < df < 12 for df in dfs)  # Satterthwaite: at most G − 1, often fewer
    # ΔR² by the HTZ Wald test: its denominator df are estimated and below G − 1.
    assert all(b["test"] == "Wald (CR2, HTZ)" for b in res["blocks"])
    tested = [b for b in res["blocks"] if b["df2"] is not None]
    assert tested and all(0 < b["df2"] <= 11 for b in tested)
    # A block with more constraints than 12 units can test (11 control dummies) reports no test, not a wrong one.
    assert all(b["p_change"] != b["p_change"] for b in res["blocks"] if b["df2"] is None)


def test_the_plan_declares_the_cfa_estimator(inst, plan):
    """WLSMV on complete answers (the report's fit is its scaled test); FIML ML, with a note, when most rows are
    incomplete, because the listwise estimators would drop them."""
    from jianfu.analysis import psychometrics
    from jianfu.scoring import score_scales

    wlsmv = plan.model_copy(update={"cfa_estimator": "WLSMV", "invariance": [], "group_comparisons": []})
    survey = simulate(inst, n=400, seed=61, inject=False, realism=False)
    items = [i.id for i in inst.items]
    answers = survey.answers.copy()
    answers[items] = answers[items].fillna(3.0)
    psy = psychometrics(answers, score_scales(answers, inst), inst, wlsmv)
    cfa = psy["cfa"]
    assert cfa["estimator"] == "WLSMV" and cfa["missing"] == "none" and cfa["n"] == 400
    assert cfa["headline"]["chi2"] == cfa["fit"]["chi2_scaled"] != cfa["fit"]["chi2"]
    assert cfa["headline"]["cfi"] == cfa["fit"]["cfi_scaled"]

    realistic = simulate(inst, n=400, seed=62, inject=False)
    psy = psychometrics(realistic.answers, score_scales(realistic.answers, inst), inst, wlsmv)
    assert psy["cfa"]["estimator"] == "ML" and psy["cfa"]["missing"] == "fiml"
    assert "WLSMV" in psy["cfa_estimator_note"]["en"]


def test_a_method_bias_failure_counts_only_where_the_correlations_were_estimable():
    from jianfu.analysis import merge_psychometrics

    parts = {
        "structure": {"n_items": 12, "_enough": False, "note": {"zh": "太少", "en": "too few"}},
        "method_bias": {"_error": np.linalg.LinAlgError("singular")},
        "descriptive": {"descriptives": {}},
    }
    merged = merge_psychometrics(parts)
    assert "method_bias" not in merged and merged["note"]["en"] == "too few" and "_enough" not in merged
    parts["structure"]["_enough"] = True
    with pytest.raises(np.linalg.LinAlgError):
        merge_psychometrics(parts)
