"""Psychometrics against R (psych 2.2.9, lavaan 0.6.14, semTools 0.5.6) and lavaan's tutorial.

Reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``: the first test checks the column means against R's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from semopy.examples import holzinger39

from jianfu.stats import cfa, structure
from jianfu.stats.descriptives import compare_groups, correlation_table, stars
from jianfu.stats.reliability import item_analysis, omega_total

ITEMS = [f"x{i}" for i in range(1, 10)]
FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def fit(hs):
    return cfa.fit_cfa(hs, FACTORS)


def test_same_data_as_r(hs):
    # "## column means"
    r_means = [
        4.935769656,
        6.088039867,
        2.250415282,
        3.060908087,
        4.340531561,
        2.185571902,
        4.185902067,
        5.527076412,
        5.374123292,
    ]
    assert hs[ITEMS].mean().to_numpy() == pytest.approx(r_means, abs=1e-8)
    assert len(hs) == 301


def test_cfa_fit_matches_lavaan_tutorial_and_r(fit):
    f = fit["fit"]
    # lavaan tutorial (https://lavaan.ugent.be/tutorial/cfa.html): 85.306, 24, .931, .896, .092
    assert round(f["chi2"], 3) == 85.306
    assert f["df"] == 24
    assert round(f["cfi"], 3) == 0.931
    assert round(f["tli"], 3) == 0.896
    assert round(f["rmsea"], 3) == 0.092
    # "## CFA, three factors, ML": full precision, RMSEA with N (lavaan), its 90% CI and SRMR
    assert f["chi2"] == pytest.approx(85.30552177, abs=1e-4)
    assert f["p"] == pytest.approx(8.502553217e-09, rel=1e-4)
    assert f["cfi"] == pytest.approx(0.9305596518, abs=1e-6)
    assert f["tli"] == pytest.approx(0.8958394777, abs=1e-6)
    assert f["rmsea"] == pytest.approx(0.09212148451, abs=1e-6)
    assert f["rmsea_ci"] == pytest.approx([0.07141849044, 0.1136780168], abs=1e-5)
    assert f["srmr"] == pytest.approx(0.06520505718, abs=1e-6)
    assert f["rmsea_convention"].startswith("N ")
    assert fit["converged"] and fit["n"] == 301


def test_cfa_loadings_and_factor_correlations_match_lavaan(fit):
    lo = {(r["factor"], r["item"]): r for r in fit["loadings"]}
    # parameterEstimates(fit): est and se
    for key, est, se in [
        (("visual", "x2"), 0.5535002938, 0.09966511877),
        (("visual", "x3"), 0.7293702098, 0.1091097031),
        (("textual", "x5"), 1.113076578, 0.06542010861),
        (("textual", "x6"), 0.9261462366, 0.05544885624),
        (("speed", "x8"), 1.17995084, 0.164986572),
        (("speed", "x9"), 1.081530157, 0.1511674381),
    ]:
        assert lo[key]["est"] == pytest.approx(est, abs=2e-4)
        assert lo[key]["se"] == pytest.approx(se, abs=2e-4)
    assert lo[("visual", "x1")]["est"] == 1.0 and lo[("visual", "x1")]["se"] is None
    # standardizedSolution(fit): est.std
    std = [
        0.7718804204,
        0.423600992,
        0.5811323239,
        0.8515822224,
        0.8550654464,
        0.8380100739,
        0.569514684,
        0.7230444328,
        0.6650092188,
    ]
    assert [lo[(f, i)]["std"] for f, its in FACTORS.items() for i in its] == pytest.approx(std, abs=2e-4)
    r = fit["factor_correlations"]
    assert r.loc["visual", "textual"] == pytest.approx(0.4585093004, abs=2e-4)
    assert r.loc["visual", "speed"] == pytest.approx(0.4705345445, abs=2e-4)
    assert r.loc["speed", "textual"] == pytest.approx(0.2829847304, abs=2e-4)


def test_cr_ave_and_fornell_larcker_match_r(fit):
    # "## CR (Fornell-Larcker 1981, from standardised loadings) and AVE"
    rv = cfa.reliability_validity(fit["loadings"])
    assert rv["cr"].to_numpy() == pytest.approx([0.6258384444, 0.8850013355, 0.6913735808], abs=2e-4)
    assert rv["ave"].to_numpy() == pytest.approx([0.3709839872, 0.7195300277, 0.429792496], abs=2e-4)
    fl = cfa.fornell_larcker(rv["ave"], fit["factor_correlations"])
    assert np.diag(fl) == pytest.approx(np.sqrt([0.3709839872, 0.7195300277, 0.429792496]), abs=2e-4)
    assert fl.loc["textual", "visual"] == pytest.approx(0.4585093004, abs=2e-4)


def test_htmt_matches_semtools(hs):
    # "## HTMT2 (semTools::htmt default ...)" and "## HTMT (htmt2 = FALSE ...)"
    h2 = cfa.htmt(hs, FACTORS)
    assert [h2.loc["visual", "textual"], h2.loc["visual", "speed"], h2.loc["textual", "speed"]] == pytest.approx(
        [0.3840885639, 0.3867729305, 0.279683551], abs=1e-9
    )
    h1 = cfa.htmt(hs, FACTORS, htmt2=False)
    assert [h1.loc["visual", "textual"], h1.loc["visual", "speed"], h1.loc["textual", "speed"]] == pytest.approx(
        [0.4243230424, 0.4665497385, 0.2895678628], abs=1e-9
    )
    assert np.allclose(h2, h2.T)


def test_omega_matches_psych_fa_ml(hs):
    # "## omega_total from a one-factor ML factor analysis (psych::fa, fm = 'ml')"
    assert omega_total(hs[["x1", "x2", "x3"]]) == pytest.approx(0.6350718553, abs=1e-5)
    assert omega_total(hs[["x4", "x5", "x6"]]) == pytest.approx(0.8849615202, abs=1e-5)
    assert omega_total(hs[ITEMS]) == pytest.approx(0.7234613714, abs=1e-5)


def test_item_rest_and_alpha_if_deleted_match_psych_alpha(hs):
    # "## psych::alpha on x1-x9"
    table = item_analysis(hs[ITEMS])
    r_drop = [
        0.5220367208,
        0.2752430624,
        0.3701721208,
        0.5807066421,
        0.525385381,
        0.5951390193,
        0.2457316445,
        0.3690554493,
        0.4947809977,
    ]
    alpha_drop = [
        0.7248063129,
        0.7642312951,
        0.7489559626,
        0.7150013103,
        0.7235720486,
        0.7141539954,
        0.7664368385,
        0.7484244821,
        0.7310302035,
    ]
    assert table["item_rest_r"].to_numpy() == pytest.approx(r_drop, abs=1e-8)
    assert table["alpha_if_deleted"].to_numpy() == pytest.approx(alpha_drop, abs=1e-8)


def test_kmo_bartlett_and_harman_match_psych(hs):
    # "## KMO and Bartlett's test of sphericity (psych)"
    k = structure.kmo(hs[ITEMS])
    assert k["overall"] == pytest.approx(0.7522445926, abs=1e-8)
    msai = [
        0.8050212266,
        0.7779382854,
        0.7343028773,
        0.7632620453,
        0.7387238565,
        0.8075590548,
        0.5930468106,
        0.6829379392,
        0.7878648519,
    ]
    assert list(k["items"].values()) == pytest.approx(msai, abs=1e-8)
    b = structure.bartlett_sphericity(hs[ITEMS])
    assert b["chi2"] == pytest.approx(904.097051, abs=1e-5)
    assert b["df"] == 36
    assert b["p"] == pytest.approx(1.912078874e-166, rel=1e-6)
    # "## Harman's single factor"
    h = structure.harman_single_factor(hs[ITEMS])
    assert h["share"] == pytest.approx(0.3573715757, abs=1e-9)
    assert not h["flagged"]


def test_harman_flags_a_dominant_method_factor():
    rng = np.random.default_rng(5)
    method = rng.standard_normal(2000)
    items = pd.DataFrame({f"i{k}": 0.8 * method + 0.6 * rng.standard_normal(2000) for k in range(8)})
    assert structure.harman_single_factor(items)["flagged"]


@pytest.mark.parametrize("n_factors", [1, 3, 5])
def test_parallel_analysis_recovers_the_simulated_number_of_factors(n_factors):
    """Simulated truth: ``n_factors`` uncorrelated factors, four indicators each, loadings .7."""
    rng = np.random.default_rng(100 + n_factors)
    n = 800
    eta = rng.standard_normal((n, n_factors))
    cols = {
        f"f{f}_{k}": 0.7 * eta[:, f] + np.sqrt(1 - 0.49) * rng.standard_normal(n)
        for f in range(n_factors)
        for k in range(4)
    }
    pa = structure.parallel_analysis(pd.DataFrame(cols))
    assert pa["n_factors"] == n_factors
    assert len(pa["observed"]) == len(pa["random"]) == 4 * n_factors


def test_parallel_analysis_random_eigenvalues_match_direct_simulation():
    """The Wishart shortcut gives the same reference eigenvalues as correlating random data."""
    n, p = 150, 6
    items = pd.DataFrame(np.random.default_rng(0).standard_normal((n, p)))
    fast = structure.parallel_analysis(items, n_iter=2000, seed=1)["random"]
    rng = np.random.default_rng(2)
    direct = np.quantile(
        [np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)), rowvar=False))[::-1] for _ in range(2000)],
        0.95,
        axis=0,
    )
    assert fast == pytest.approx(direct, abs=0.03)


def test_efa_recovers_simple_structure(hs):
    e = structure.efa(hs[ITEMS], 3)
    main = e["loadings"].abs().idxmax(axis=1)
    assert main[["x1", "x2", "x3"]].nunique() == main[["x4", "x5", "x6"]].nunique() == 1
    assert len({main["x1"], main["x4"], main["x7"]}) == 3
    assert e["factor_correlations"].shape == (3, 3)


def test_correlations_with_p_values_match_psych_corr_test(hs):
    # "## Correlations of unit-weighted factor scores (psych::corr.test, pairwise)"
    scores = pd.DataFrame({f: hs[its].mean(axis=1) for f, its in FACTORS.items()})
    c = correlation_table(scores)
    assert c["r"].loc["visual", "textual"] == pytest.approx(0.313625638, abs=1e-9)
    assert c["r"].loc["textual", "speed"] == pytest.approx(0.2247462738, abs=1e-9)
    assert c["p"].loc["visual", "textual"] == pytest.approx(2.706225064e-08, rel=1e-6)
    assert c["p"].loc["visual", "speed"] == pytest.approx(1.756972172e-06, rel=1e-6)
    assert c["p"].loc["textual", "speed"] == pytest.approx(8.374755607e-05, rel=1e-6)
    assert (c["n"] == 301).all().all()
    assert stars(c["p"].loc["textual", "speed"]) == "***"
    # pairwise n follows missingness
    scores.iloc[:10, 0] = np.nan
    assert correlation_table(scores)["n"].loc["visual", "speed"] == 291


def test_welch_tests_match_r(hs):
    # "## Welch tests": t.test(x1 ~ school) orders groups alphabetically (Grant-White first)
    t = compare_groups(hs, ["x1"], "school", levels=["Grant-White", "Pasteur"])[0]
    assert t["test"] == "Welch t"
    assert t["statistic"] == pytest.approx(-0.08425885917, abs=1e-9)
    assert t["df1"] == pytest.approx(298.3849967, abs=1e-6)
    assert t["p"] == pytest.approx(0.9329071239, abs=1e-9)
    assert t["effect"] == "hedges_g" and t["effect_size"] < 0
    f = compare_groups(hs, ["x1"], "ageyr")[0]
    assert f["test"] == "Welch F"
    assert f["statistic"] == pytest.approx(0.5676225505, abs=1e-8)
    assert (f["df1"], f["df2"]) == pytest.approx((5, 34.24981611), abs=1e-6)
    assert f["p"] == pytest.approx(0.7241268394, abs=1e-8)


def test_group_comparison_leaves_out_tiny_groups(hs):
    data = hs.assign(g=np.where(np.arange(len(hs)) == 0, "solo", hs["school"]))
    res = compare_groups(data, ["x1"], "g")[0]
    assert res["dropped_groups"] == ["solo"] and res["test"] == "Welch t"
