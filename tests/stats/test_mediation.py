"""Mediation (:mod:`jianfu.stats.mediation`) against pingouin and a plain bootstrap loop.

pingouin's ``mediation`` dataset, indirect effect 0.3565 (pingouin docs); the vectorised bootstrap
against a plain loop over the same resamples.
"""

from __future__ import annotations

import numpy as np
import pingouin as pg
import pytest
import statsmodels.api as sm

from jianfu.stats.mediation import bootstrap_indirect, mediation


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
