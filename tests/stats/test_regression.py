"""Hierarchical OLS (:mod:`jianfu.stats.regression`) against independent computations and simulated truth.

* Simulated data with known coefficients; the ΔR² F-test against statsmodels' nested-model F test;
  β against a regression on z-scored variables; the cluster-robust Wald ΔR² test against a Wald test
  built from statsmodels' cluster covariance.
* The probe of an interaction against the model's own coefficient and SE.
* Coverage: repeated synthetic surveys; 95% CIs of ``empowerment_burden`` cover the population
  coefficients about 95% of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from jianfu.plan import Block, ModelSpec
from jianfu.stats.regression import fit_hierarchical, variance_inflation
from jianfu.synth import population_coefficients, simulate, structural_model_for

EMPOWERMENT = [
    "incentive_power",
    "coordination_power",
    "disciplinary_power",
    "discretion_resources",
    "accountability_pressure",
]


def _simulated(n=3000, n_units=60, seed=7):
    rng = np.random.default_rng(seed)
    unit = rng.integers(0, n_units, n)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    level = rng.choice(["乡镇", "街道", "村（社区）"], n)
    y = 1 + 0.5 * x1 - 0.3 * x2 + 0.4 * (level == "街道") + rng.normal(0, 0.5, n_units)[unit] + rng.standard_normal(n)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "level": level, "unit": unit.astype(str)})


SPEC = ModelSpec(
    id="m",
    outcome="y",
    blocks=[Block(name="controls", terms=["level"]), Block(name="main", terms=["x1", "x2"])],
    cluster="unit",
)
CATS = {"level": ["乡镇", "街道", "村（社区）"]}


def test_hierarchical_ols_recovers_known_coefficients():
    res = fit_hierarchical(_simulated(), SPEC, CATS)
    t = res["terms"]
    for term, truth in [("x1", 0.5), ("x2", -0.3), ("level[街道]", 0.4)]:
        assert abs(t[term]["b"] - truth) < 4 * t[term]["se"], term
        assert t[term]["ci_low"] < t[term]["b"] < t[term]["ci_high"]
    assert res["se_type"] == "cluster-robust by unit (CR1, t(G − 1))" and res["n_clusters"] == 60  # ≥ 40 units
    assert t["level[街道]"]["beta"] is None


def test_delta_r2_f_test_and_beta_match_independent_computations():
    data = _simulated()
    res = fit_hierarchical(data, SPEC.model_copy(update={"cluster": None}), CATS)
    d = pd.get_dummies(data["level"], dtype=float)[["街道", "村（社区）"]]
    restricted = sm.OLS(data.y, sm.add_constant(d)).fit()
    full = sm.OLS(data.y, sm.add_constant(pd.concat([d, data[["x1", "x2"]]], axis=1))).fit()
    f, p, df = full.compare_f_test(restricted)
    block = res["blocks"][1]
    assert block["f_change"] == pytest.approx(f) and block["p_change"] == pytest.approx(p, abs=1e-12)
    assert block["delta_r2"] == pytest.approx(full.rsquared - restricted.rsquared)
    z = data[["y", "x1", "x2"]].apply(lambda c: (c - c.mean()) / c.std())
    zfit = sm.OLS(z.y, sm.add_constant(pd.concat([d, z[["x1", "x2"]]], axis=1))).fit()
    assert res["terms"]["x1"]["beta"] == pytest.approx(zfit.params["x1"])


def test_vif_is_one_over_one_minus_each_auxiliary_r2():
    # The definition, one auxiliary regression per predictor (with intercept), against the inverse
    # correlation matrix the model uses; and the two-predictor identity VIF = 1 / (1 − r²).
    data = _simulated(n=500)
    dummies = pd.get_dummies(data["level"], dtype=float)[["街道", "村（社区）"]].add_prefix("level[").add_suffix("]")
    X = pd.concat([dummies, data[["x1", "x2"]]], axis=1)
    collinear = X.assign(x3=X.x1 + 0.5 * X.x2 + np.random.default_rng(3).normal(0, 0.3, len(X)))
    vif = variance_inflation(collinear)
    for c in collinear:
        r2 = sm.OLS(collinear[c], sm.add_constant(collinear.drop(columns=c))).fit().rsquared
        assert vif[c] == pytest.approx(1 / (1 - r2), rel=1e-10), c
    assert vif["x3"] > 5
    r = data["x1"].corr(data["x2"])
    assert variance_inflation(data[["x1", "x2"]]) == pytest.approx({"x1": 1 / (1 - r**2), "x2": 1 / (1 - r**2)})
    assert variance_inflation(data[["x1"]]) == {"x1": 1.0}
    model_vifs = {t: v["vif"] for t, v in fit_hierarchical(data, SPEC, CATS)["terms"].items()}
    assert model_vifs == pytest.approx(variance_inflation(X))


def test_delta_r2_with_units_is_a_cluster_robust_wald_test():
    """With 60 units (CR1): F = b′V⁻¹b / q of the block's coefficients against F(q, G − 1), V from statsmodels."""
    data = _simulated()
    res = fit_hierarchical(data, SPEC, CATS)
    d = pd.get_dummies(data["level"], dtype=float)[["街道", "村（社区）"]]
    X = sm.add_constant(pd.concat([d, data[["x1", "x2"]]], axis=1))
    full = sm.OLS(data.y, X).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data["unit"])[0]})
    b = full.params[["x1", "x2"]].to_numpy()
    f = b @ np.linalg.solve(full.cov_params().loc[["x1", "x2"], ["x1", "x2"]].to_numpy(), b) / 2
    block = res["blocks"][1]
    assert block["test"] == "Wald (CR1)" and (block["df1"], block["df2"]) == (2, 59)
    assert block["f_change"] == pytest.approx(f) and block["p_change"] == pytest.approx(stats.f.sf(f, 2, 59))


def test_few_clusters_use_cr2_and_one_unit_hc3():
    res = fit_hierarchical(_simulated(n=400, n_units=8), SPEC, CATS)
    assert "CR2" in res["se_type"] and res["n_clusters"] == 8
    one = _simulated(n=200, n_units=8).assign(unit="only")
    res = fit_hierarchical(one, SPEC, CATS)
    assert res["se_type"] == "HC3" and res["n_clusters"] == 1


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
    assert res["se_type"].startswith("cluster-robust")
    if "CR1" in res["se_type"]:  # 40 units or more: t(G − 1)
        assert res["df_inference"] == res["n_clusters"] - 1
    else:  # fewer units: CR2 with a Satterthwaite df per term, each below the number of units
        assert "CR2" in res["se_type"] and all(t["df"] < res["n_clusters"] for t in res["terms"].values())
    # The generator buffers pressure with fault tolerance: slopes fall from −1 SD to +1 SD.
    s = [x["slope"] for x in probe["simple_slopes"]]
    assert s[0] > s[1] > s[2]


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
