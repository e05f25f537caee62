"""CR2 cluster-robust inference against clubSandwich and a known truth.

Reference: ``tests/reference/cr2_reference.R`` and its output (clubSandwich ``coef_test`` with
CR2 and Satterthwaite df; sandwich ``vcovCL`` HC1 for CR1) on an unbalanced 15-firm subset of
``sandwich::PetersenCL``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from jianfu.stats.cr2 import ols_cr2, vcov_cr1, vcov_cr2, wald_test
from jianfu.stats.estimable import NotEstimable

REF = Path(__file__).parents[1] / "reference"


def _reference() -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {"CR2": {}, "CR1": {}, "CI": {}}
    for line in (REF / "cr2_reference.txt").read_text().splitlines():
        kind, *rest = line.split()
        if kind in out:
            name, values = rest[0], rest[1:]
            out[kind][name] = {values[i]: float(values[i + 1]) for i in range(0, len(values), 2)}
    return out


@pytest.fixture(scope="module")
def petersen():
    d = pd.read_csv(REF / "cr2_data.csv")
    return d.y.to_numpy(), np.column_stack([np.ones(len(d)), d.x, d.odd]), d.firm.to_numpy()


def test_cr2_matches_clubsandwich(petersen):
    y, X, g = petersen
    ref = _reference()
    res = ols_cr2(y, X, g)
    for j, name in enumerate(["(Intercept)", "x", "odd"]):
        r = ref["CR2"][name]
        assert res.b[j] == pytest.approx(r["beta"], abs=1e-9)
        assert res.se[j] == pytest.approx(r["se"], rel=1e-8)
        assert res.df[j] == pytest.approx(r["df"], rel=1e-8)
        assert res.p[j] == pytest.approx(r["p"], rel=1e-6)
        assert (res.ci_low[j], res.ci_high[j]) == pytest.approx(
            (ref["CI"][name]["low"], ref["CI"][name]["high"]), rel=1e-7
        )
    assert res.n_clusters == 15 and np.allclose(res.vcov, vcov_cr2(X, y - X @ res.b, g))


def test_cr1_matches_sandwich(petersen):
    y, X, g = petersen
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    se = np.sqrt(np.diag(vcov_cr1(X, y - X @ b, g)))
    ref = _reference()["CR1"]
    assert se == pytest.approx([ref[n]["se"] for n in ["(Intercept)", "x", "odd"]], rel=1e-8)


def test_one_cluster_is_not_estimable():
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    with pytest.raises(NotEstimable):
        ols_cr2(np.arange(10.0) ** 0.5, X, np.zeros(10))


def test_wald_test_of_one_coefficient_is_the_squared_t(petersen):
    y, X, g = petersen
    res = ols_cr2(y, X, g)
    w = wald_test(res.b, res.vcov, [1], res.n_clusters)
    assert w["f"] == pytest.approx(res.t[1] ** 2) and w["df2"] == 14


@pytest.mark.slow
def test_coverage_with_ten_clusters():
    """Known truth: 10 units, x and errors both correlated within units. CR2 covers ~95%; HC3 and CR1 fall short."""
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(10), 30)
    hits = {"CR2": 0, "CR1": 0, "HC3": 0}
    reps = 400
    for _ in range(reps):
        x = rng.normal(size=10)[g] + 0.5 * rng.normal(size=300)
        y = 1 + 0.3 * x + rng.normal(size=10)[g] + rng.normal(size=300)
        X = np.column_stack([np.ones(300), x])
        r = ols_cr2(y, X, g)
        hits["CR2"] += r.ci_low[1] <= 0.3 <= r.ci_high[1]
        cr1 = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True).conf_int()[1]
        hits["CR1"] += cr1[0] <= 0.3 <= cr1[1]
        hc3 = sm.OLS(y, X).fit(cov_type="HC3").conf_int()[1]
        hits["HC3"] += hc3[0] <= 0.3 <= hc3[1]
    cover = {k: v / reps for k, v in hits.items()}
    assert 0.92 <= cover["CR2"] <= 0.98, cover
    assert cover["HC3"] < 0.90 and cover["CR1"] < cover["CR2"], cover
