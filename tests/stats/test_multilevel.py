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
