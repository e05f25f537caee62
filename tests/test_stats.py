"""Statistics against published values or simulated ground truth.

* α: pingouin's ``cronbach_alpha`` (0.5917) and ``cronbach_wide_missing`` (0.8017, listwise)
  datasets; pingouin checks these against R ``psych::alpha``.
* ω: congeneric data simulated with known loadings (truth = (Σλ)² / ((Σλ)² + Σ(1−λ²))).
* OLS: simulated data with known coefficients; ΔR² F-test against statsmodels' independent
  nested-model F test; β against a regression on z-scored variables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm
from scipy import stats

from jianfu.plan import Block, ModelSpec
from jianfu.scoring import score_scales
from jianfu.stats.regression import fit_hierarchical
from jianfu.stats.reliability import cronbach_alpha, omega_total


def test_alpha_matches_pingouin_reference_datasets():
    long = pg.read_dataset("cronbach_alpha")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    alpha, ci = cronbach_alpha(wide)
    assert round(alpha, 4) == 0.5917
    assert ci == (0.195, 0.84)
    alpha, _ = cronbach_alpha(pg.read_dataset("cronbach_wide_missing"))
    assert round(alpha, 4) == 0.8017


def test_omega_recovers_simulated_truth():
    rng = np.random.default_rng(42)
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.4])
    eta = rng.standard_normal(20_000)
    x = pd.DataFrame(eta[:, None] * lam + rng.standard_normal((20_000, 5)) * np.sqrt(1 - lam**2))
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    assert omega_total(x) == pytest.approx(truth, abs=0.01)
    assert np.isnan(omega_total(x.iloc[:, :2]))


def test_scoring_conventions(inst):
    items = inst.scale("accountability_pressure").items  # 6 items, the last reversed
    ap = [i.id for i in items]
    assert [i.reverse for i in items] == [False] * 5 + [True]
    frame = pd.DataFrame(np.nan, index=range(3), columns=[i.id for i in inst.items])
    frame.loc[0, ap] = [5, 5, 5, 5, 5, 1]  # reverse of 1 is 5 → mean 5
    frame.loc[1, ap[:5]] = [1, 2, 3, 4, 5]  # 5 of 6 answered (≥ 75%) → mean 3
    frame.loc[2, ap[:4]] = [4, 4, 4, 4]  # 4 of 6 answered (< 75%) → missing
    for s in inst.scale("burden").subscales:
        frame.loc[0, [i.id for i in inst.scale(s).items]] = 3
    scores = score_scales(frame, inst)
    assert scores.loc[0, "accountability_pressure"] == 5
    assert scores.loc[1, "accountability_pressure"] == 3
    assert np.isnan(scores.loc[2, "accountability_pressure"])
    # 3 is the midpoint, so reverse keying leaves it 3; every subscale 3 → composite 3
    assert scores.loc[0, "burden"] == 3
    # equal weighting: change one subscale only
    frame.loc[0, [i.id for i in inst.scale("burden_hidden").items]] = [
        1 if i.reverse else 5 for i in inst.scale("burden_hidden").items
    ]
    assert score_scales(frame, inst).loc[0, "burden"] == pytest.approx((3 * 4 + 5) / 5)
    frame.loc[0, [i.id for i in inst.scale("burden_hidden").items]] = np.nan
    assert np.isnan(score_scales(frame, inst).loc[0, "burden"])


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


def test_quality_flags_follow_the_yaml(inst, survey_files, survey):
    from jianfu.ingest.parse import ingest_file
    from jianfu.quality.flags import flag_quality

    frame = ingest_file(survey_files["wjx-code"], inst).frame
    on = flag_quality(frame, inst)
    assert int(on["quarantined"].sum()) == survey.n_quarantined
    quality = inst.quality.model_copy(update={"speeder": inst.quality.speeder.model_copy(update={"enabled": False})})
    off = flag_quality(frame, inst.model_copy(update={"quality": quality}))
    assert int(off["speeder"].sum()) == survey.injected["speeder"]  # still computed and reported
    assert int(off["quarantined"].sum()) == survey.n_quarantined - survey.injected["speeder"]
    stricter = inst.quality.model_copy(
        update={"incomplete": inst.quality.incomplete.model_copy(update={"min_answered": 1.0})}
    )
    assert (
        flag_quality(frame, inst.model_copy(update={"quality": stricter}))["incomplete"].sum()
        > survey.injected["incomplete"]
    )
