"""Confirmatory factor analysis (:mod:`jianfu.stats.cfa`) against lavaan 0.6.14, semTools 0.5.6 and the tutorial.

Reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``), from the ``hs`` fixture in ``tests/stats/conftest.py``.
The first test checks the column means against R's.
"""

from __future__ import annotations

import numpy as np
import pytest

from jianfu.stats import cfa

ITEMS = [f"x{i}" for i in range(1, 10)]


FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


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
