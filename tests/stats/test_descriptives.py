"""Correlations and group comparisons (:mod:`jianfu.stats.descriptives`) against R (psych, ``t.test``, ``oneway.test``).

Reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``), from the ``hs`` fixture in ``tests/stats/conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jianfu.stats.descriptives import compare_groups, correlation_table, stars

FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


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
