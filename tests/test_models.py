"""Models against published values, R, independent re-computation or simulated truth.

* Moderation: simple slopes and Johnson–Neyman bounds against R (``tests/reference/
  hs1939_reference.R``, section "## Moderation").
* Mediation: pingouin's ``mediation`` dataset, indirect effect 0.3565 (pingouin docs); the
  vectorised bootstrap against a plain loop over the same resamples.
* Multilevel: data simulated with a known ICC and slope; the boundary fallback.
* Coverage: repeated synthetic surveys; 95% CIs of ``empowerment_burden`` cover the
  population coefficients about 95% of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm
from semopy.examples import holzinger39

from jianfu.analysis import run_models
from jianfu.plan import PlanError, load_plan
from jianfu.stats.mediation import bootstrap_indirect, mediation
from jianfu.stats.moderation import critical_value, johnson_neyman, simple_slopes
from jianfu.stats.multilevel import icc, random_intercept
from jianfu.stats.regression import fit_hierarchical
from jianfu.synth import population_coefficients, simulate, structural_model_for

EMPOWERMENT = [
    "incentive_power",
    "coordination_power",
    "disciplinary_power",
    "discretion_resources",
    "accountability_pressure",
]


# ---------------------------------------------------------------- moderation


@pytest.fixture(scope="module")
def hs_interaction():
    hs = holzinger39.get_data()
    d = pd.DataFrame({"y": hs.x9, "x": hs.x1 - hs.x1.mean(), "w": hs.x4 - hs.x4.mean()})
    d["x:w"] = d.x * d.w
    return d, sm.OLS(d.y, sm.add_constant(d[["x", "w", "x:w"]])).fit()


def _args(res):
    V = res.cov_params()
    return dict(
        b1=res.params["x"],
        b3=res.params["x:w"],
        v11=V.loc["x", "x"],
        v33=V.loc["x:w", "x:w"],
        v13=V.loc["x", "x:w"],
        df=res.df_resid,
    )


def test_simple_slopes_and_johnson_neyman_match_r(hs_interaction):
    d, res = hs_interaction
    # "## Moderation": lm(x9 ~ x1c * x4c) coefficients
    assert res.params[["x", "w", "x:w"]].to_numpy() == pytest.approx([0.31239304255, 0.05443900073, 0.05858761273])
    slopes = simple_slopes(sd_moderator=d.w.std(ddof=1), **_args(res))
    assert [s["w"] for s in slopes] == pytest.approx([-1.164116284, 0, 1.164116284])
    assert [s["slope"] for s in slopes] == pytest.approx([0.2441902485, 0.3123930426, 0.3805958366], abs=1e-9)
    assert [s["se"] for s in slopes] == pytest.approx([0.06370729195, 0.04939205791, 0.06249512469], abs=1e-9)
    assert [s["p"] for s in slopes] == pytest.approx([0.0001545410044, 9.301878223e-10, 3.487532155e-09], rel=1e-6)
    jn = johnson_neyman(observed=(d.w.min(), d.w.max()), **_args(res))
    assert jn["bounds"] == pytest.approx([-2.256468767, 40.02242852], abs=1e-6)
    assert jn["significant_where"] == "inside"
    assert jn["bounds_in_range"] == pytest.approx([-2.256468767], abs=1e-6)


def test_johnson_neyman_bounds_are_where_p_is_exactly_alpha(hs_interaction):
    _, res = hs_interaction
    a = _args(res)
    for w in johnson_neyman(**a)["bounds"]:
        t = (a["b1"] + a["b3"] * w) / np.sqrt(a["v11"] + w * w * a["v33"] + 2 * w * a["v13"])
        assert abs(t) == pytest.approx(critical_value(a["df"]), rel=1e-9)


def test_johnson_neyman_degenerate_cases():
    assert johnson_neyman(b1=1.0, b3=0.0, v11=0.01, v33=0.0, v13=0.0, df=None)["significant_where"] == "everywhere"
    # An interaction estimated with error: far enough out every conditional effect is uncertain.
    assert johnson_neyman(b1=1.0, b3=0.0, v11=0.01, v33=1e-6, v13=0.0, df=None)["significant_where"] == "inside"
    assert johnson_neyman(b1=0.0, b3=0.0, v11=0.01, v33=0.01, v13=0.0, df=None)["significant_where"] == "nowhere"


def test_hierarchical_model_probes_its_interaction_with_its_own_covariance(inst, plan, survey):
    from jianfu.analysis import analysis_frame
    from jianfu.scoring import score_scales

    data = analysis_frame(survey.answers, score_scales(survey.answers, inst), inst)
    spec = next(m for m in plan.models if m.id == "fault_tolerance_moderation")
    res = fit_hierarchical(data, spec, {d.id: list(d.options) for d in inst.demographics if d.options})
    probe = res["probes"]["accountability_pressure:fault_tolerance"]
    assert probe["focal"] == "accountability_pressure" and probe["moderator"] == "fault_tolerance"
    mean_slope = next(s for s in probe["simple_slopes"] if s["at"] == "mean")
    # At the moderator's mean the simple slope is the focal coefficient, with its SE.
    assert mean_slope["slope"] == pytest.approx(res["terms"]["accountability_pressure"]["b"])
    assert mean_slope["se"] == pytest.approx(res["terms"]["accountability_pressure"]["se"])
    assert res["se_type"].startswith("cluster-robust") and res["df_inference"] == res["n_clusters"] - 1
    # The generator buffers pressure with fault tolerance: slopes fall from −1 SD to +1 SD.
    s = [x["slope"] for x in probe["simple_slopes"]]
    assert s[0] > s[1] > s[2]


# ---------------------------------------------------------------- mediation


def test_mediation_indirect_effect_matches_pingouin_docs():
    df = pg.read_dataset("mediation")
    res = mediation(df, "X", ["M"], "Y", n_boot=5000, seed=42)
    assert round(res["indirect"]["M"]["effect"], 4) == 0.3565  # pingouin docs
    # Paths as pingouin's table: a = 0.5610, total 0.3961, direct 0.0396 (pingouin's "Y ~ M" row is
    # the simple regression; the b path of the indirect effect controls for X).
    assert res["paths"]["a[M]"]["b"] == pytest.approx(0.561015, abs=1e-6)
    assert res["paths"]["a[M]"]["b"] * res["paths"]["b[M]"]["b"] == pytest.approx(res["indirect"]["M"]["effect"])
    assert res["paths"]["total"]["b"] == pytest.approx(0.396126, abs=1e-6)
    assert res["paths"]["direct"]["b"] == pytest.approx(0.039604, abs=1e-6)
    # total = direct + indirect, exactly, for OLS with the same covariates
    assert res["paths"]["total"]["b"] == pytest.approx(res["paths"]["direct"]["b"] + res["indirect"]["M"]["effect"])
    # The bias-corrected interval is pingouin's method; Monte-Carlo error of 5,000 resamples ≈ .005.
    ref = pg.mediation_analysis(data=df, x="X", m="M", y="Y", seed=42, n_boot=5000).set_index("path")
    bc = mediation(df, "X", ["M"], "Y", n_boot=5000, seed=42, method="bc")["indirect"]["M"]
    assert (bc["ci_low"], bc["ci_high"]) == pytest.approx(
        (ref.loc["Indirect", "CI2.5"], ref.loc["Indirect", "CI97.5"]), abs=0.015
    )
    assert res["indirect"]["M"]["se_boot"] == pytest.approx(ref.loc["Indirect", "se"], abs=0.005)


def test_vectorised_bootstrap_equals_a_loop_over_the_same_resamples():
    df = pg.read_dataset("mediation")
    data = df[["X", "M", "Y", "Mbin"]].to_numpy()
    n = len(data)
    Z = np.column_stack([np.ones(n), data])
    fast = bootstrap_indirect(Z, x=1, covariates=[4], mediators=[2], y=3, n_boot=60, seed=9)
    rng = np.random.default_rng(9)
    slow = []
    for _ in range(60):
        s = data[rng.integers(0, n, size=n)]
        a = sm.OLS(s[:, 1], sm.add_constant(s[:, [0, 3]])).fit().params[1]
        b = sm.OLS(s[:, 2], sm.add_constant(s[:, [0, 3, 1]])).fit().params[3]
        slow.append(a * b)
    assert fast[:, 0] == pytest.approx(slow, abs=1e-12)


def test_mediation_is_reproducible_and_parallel_mediators_add_up():
    df = pg.read_dataset("mediation")
    a = mediation(df, "X", ["M", "Mbin"], "Y", n_boot=500, seed=3)
    b = mediation(df, "X", ["M", "Mbin"], "Y", n_boot=500, seed=3)
    assert a["indirect"] == b["indirect"]
    assert a["indirect"]["total"]["effect"] == pytest.approx(
        a["indirect"]["M"]["effect"] + a["indirect"]["Mbin"]["effect"]
    )
    assert a["paths"]["total"]["b"] == pytest.approx(a["paths"]["direct"]["b"] + a["indirect"]["total"]["effect"])


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


# ---------------------------------------------------------------- multilevel


def _clustered(tau: float, n=3000, groups=60, seed=1):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    x = rng.standard_normal(n)
    y = 1 + 0.4 * x + rng.normal(0, tau, groups)[g] + rng.normal(0, np.sqrt(0.75), n)
    return pd.Series(y), pd.DataFrame({"x": x}), pd.Series(g)


def test_random_intercept_recovers_simulated_icc_and_slope():
    """Truth: τ² = .25, σ² = .75, so ICC = .25; slope .4. Pooled over 5 samples."""
    iccs, slopes = [], []
    for seed in range(5):
        y, X, g = _clustered(0.5, seed=seed)
        res = random_intercept(y, X, g)
        assert res["status"] == "fitted" and res["note"] is None
        iccs.append(res["icc"])
        slopes.append(res["terms"]["x"]["b"])
        assert res["terms"]["x"]["ci_low"] < res["terms"]["x"]["b"] < res["terms"]["x"]["ci_high"]
    assert np.mean(iccs) == pytest.approx(0.25, abs=0.04)
    assert np.mean(slopes) == pytest.approx(0.4, abs=0.02)


def test_random_intercept_falls_back_with_a_note_on_the_boundary():
    y, X, g = _clustered(0.0, n=400, groups=30, seed=3)
    res = random_intercept(y, X, g)
    assert res["status"] == "fallback"
    assert res["terms"] is None
    assert "OLS" in res["note"]["en"] and "OLS" in res["note"]["zh"]
    assert res["problems"]


def test_random_intercept_falls_back_with_too_few_units():
    y, X, g = _clustered(0.5, n=200, groups=4)
    res = random_intercept(y, X, g)
    assert res["status"] == "fallback" and "4 units" in res["note"]["en"]
    assert icc(y, g)["icc"] is not None


# ---------------------------------------------------------------- plan


def test_plan_declares_the_issue_models(plan):
    kinds = {m.id: m.type for m in plan.models}
    assert kinds["empowerment_burden"] == "ols" and kinds["blame_mediation"] == "mediation"
    assert kinds["blame_moderated_mediation"] == "moderated_mediation"
    h2 = next(m for m in plan.models if m.id == "blame_moderated_mediation")
    eb_covariates = next(m for m in plan.models if m.id == "empowerment_burden").blocks[0].terms
    assert h2.covariates == eb_covariates and h2.cluster == "unit"
    eb = next(m for m in plan.models if m.id == "empowerment_burden")
    assert set(EMPOWERMENT) <= set(eb.terms) and eb.multilevel
    med = next(m for m in plan.models if m.id == "blame_mediation")
    assert (med.x, med.mediators, med.outcome) == ("accountability_pressure", ["blame_avoidance"], "burden")
    assert plan.group_comparisons == ["level", "leader"]


def test_plan_errors_list_every_problem(inst, tmp_path):
    bad = tmp_path / "bad.analysis.yaml"
    bad.write_text(
        "instrument: cadre_burden\ngroup_comparisons: [nope]\nmodels:\n"
        "  - {id: a, outcome: burden, blocks: [{name: b, terms: ['accountability_pressure:fault_tolerance']}]}\n"
        "  - {id: a, type: mediation, x: accountability_pressure, mediators: [ghost], outcome: burden}\n",
        encoding="utf-8",
    )
    with pytest.raises(PlanError) as err:
        load_plan(bad, inst)
    text = str(err.value)
    assert "main effects" in text and "'ghost'" in text and "more than once" in text and "'nope'" in text


# ---------------------------------------------------------------- coverage


@pytest.mark.slow
def test_empowerment_burden_cis_cover_the_generating_values(inst, plan):
    """Monte-Carlo: 200 synthetic surveys of 600 respondents in 40 units.

    The model is fitted to the generator's latent scores, for which the population
    coefficients are known exactly (``synth.population_coefficients``: the structural
    effects plus what the omitted mediator and confounder carry). Observed scale scores
    would not do: their measurement error attenuates the slopes, so no interval should
    cover the latent values. Expect 95%; with 1,000 intervals a 93–97% band is ±2.5 SE.
    """
    spec = next(m for m in plan.models if m.id == "empowerment_burden").model_copy(update={"multilevel": False})
    truth = population_coefficients(structural_model_for(inst), "burden", EMPOWERMENT)
    categorical = {d.id: list(d.options) for d in inst.demographics if d.options}
    hits, total = 0, 0
    for rep in range(200):
        s = simulate(inst, n=600, seed=10_000 + rep, n_units=40, inject=False)
        data = pd.concat([s.latent, s.answers[["level", "leader", "tenure", "staffing", "unit"]]], axis=1)
        res = fit_hierarchical(data, spec, categorical)
        for term, value in truth.items():
            t = res["terms"][term]
            hits += t["ci_low"] <= value <= t["ci_high"]
            total += 1
    coverage = hits / total
    assert 0.93 <= coverage <= 0.97, coverage


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
