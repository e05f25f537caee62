"""Random-intercept models (:mod:`jianfu.stats.multilevel`): simulated known ICC and slope, and the fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jianfu.stats.multilevel import icc, random_intercept


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


def test_group_mean_centring_matches_lme4_on_high_school_and_beyond():
    """Within, between and contextual effects of SES and sex on maths (160 schools) against lme4 REML."""
    from tests.reference_output import REF, read_keyed

    ref = read_keyed("multilevel_centring_reference.txt")
    d = pd.read_csv(REF / "multilevel_hsb.csv")
    res = random_intercept(d["mathach"], d[["ses", "female"]], d["school"].astype(str), centring="group_mean")
    assert res["status"] == "fitted" and res["centring"] == "group_mean"
    for var in ("ses", "female"):
        for part in ("within", "between"):
            got, want = res["terms"][f"{var} ({part})"], ref["TERM", f"{var}_{part}"]
            assert got["b"] == pytest.approx(want["b"], abs=1e-4) and got["se"] == pytest.approx(want["se"], rel=2e-3)
        got, want = res["terms"][f"{var} (contextual)"], ref["CONTEXTUAL", var]
        assert got["b"] == pytest.approx(want["b"], abs=1e-4) and got["se"] == pytest.approx(want["se"], rel=2e-3)
    assert res["tau2"] == pytest.approx(ref["VAR", "model"]["tau2"], rel=1e-3)
    assert res["sigma2"] == pytest.approx(ref["VAR", "model"]["sigma2"], rel=1e-4)
    # Unit-level effects are tested on the units, not the pupils: df = 160 − 2 − 1.
    assert res["terms"]["ses (between)"]["df"] == 157 and res["terms"]["ses (within)"]["df"] == 7185 - 160 - 2
