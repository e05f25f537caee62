"""MLR (ML estimates, Huber–White SEs, Yuan–Bentler scaled χ²) against lavaan, and against a known truth.

Reference: ``tests/reference/cfa_estimators_reference.R`` and its output ``cfa_estimators_reference.txt``
(lavaan 0.6-14, ``cfa(model, data, estimator = "MLR")``) on ``psych::bfi`` (``ordinal_data.csv``): a two-factor
model (A1–A5, C1–C5; 2632 complete rows) and the five-factor model (25 items; 2436 complete rows).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference_output import read_keyed

from jianfu.stats.cfa import fit_cfa
from jianfu.stats.estimable import NotEstimable
from jianfu.stats.robust_cfa import fit_cfa_mlr

REF = Path(__file__).parents[1] / "reference"
REFERENCE = read_keyed("cfa_estimators_reference.txt")
MODELS = {
    "two": {"A": [f"A{i}" for i in range(1, 6)], "C": [f"C{i}" for i in range(1, 6)]},
    "five": {f: [f"{f}{i}" for i in range(1, 6)] for f in "ACENO"},
}
# fitMeasures() name → key of result["fit"]
MEASURES = {
    "chisq": "chi2",
    "chisq.scaled": "chi2_scaled",
    "chisq.scaling.factor": "scaling_factor",
    "baseline.chisq": "baseline_chi2",
    "baseline.chisq.scaled": "baseline_chi2_scaled",
    "baseline.chisq.scaling.factor": "baseline_scaling_factor",
    "cfi": "cfi",
    "tli": "tli",
    "rmsea": "rmsea",
    "cfi.scaled": "cfi_scaled",
    "tli.scaled": "tli_scaled",
    "rmsea.scaled": "rmsea_scaled",
    "cfi.robust": "cfi_robust",
    "tli.robust": "tli_robust",
    "rmsea.robust": "rmsea_robust",
    "srmr": "srmr",
}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(REF / "ordinal_data.csv")


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request, bfi) -> tuple[str, dict]:
    return request.param, fit_cfa_mlr(bfi, MODELS[request.param])


def test_listwise_deletion_keeps_lavaans_rows(fitted, bfi):
    model, res = fitted
    ref = REFERENCE["data", f"MLR.{model}"]
    assert res["n"] == ref["n"] == res["fit"]["n"]
    assert res["n_dropped"] == len(bfi) - ref["n"]
    assert res["estimator"] == res["fit"]["estimator"] == "MLR"
    assert res["fit"]["se_type"] == "robust.huber.white" and res["fit"]["test"] == "yuan.bentler.mplus"
    assert res["converged"] and res["note"] is None


def test_fit_measures_match_lavaan(fitted):
    model, res = fitted
    ref, fit = REFERENCE["fit", f"MLR.{model}"], res["fit"]
    assert fit["df"] == ref["df"]
    for name, key in MEASURES.items():
        assert fit[key] == pytest.approx(ref[name], rel=1e-5, abs=1e-6), name
    assert fit["rmsea_ci"] == pytest.approx([ref["rmsea.ci.lower"], ref["rmsea.ci.upper"]], abs=1e-6)
    assert fit["rmsea_ci_scaled"] == pytest.approx(
        [ref["rmsea.ci.lower.scaled"], ref["rmsea.ci.upper.scaled"]], abs=1e-6
    )
    assert fit["rmsea_ci_robust"] == pytest.approx(
        [ref["rmsea.ci.lower.robust"], ref["rmsea.ci.upper.robust"]], abs=1e-6
    )


def test_loadings_robust_ses_and_standardised_solution_match_lavaan(fitted):
    model, res = fitted
    for row in res["loadings"]:
        ref = REFERENCE["param", f"MLR.{model}:{row['factor']}=~{row['item']}"]
        assert row["est"] == pytest.approx(ref["est"], abs=1e-3), row["item"]
        assert row["std"] == pytest.approx(ref["std"], abs=1e-4), row["item"]
        assert row["std_se"] == pytest.approx(ref["std_se"], abs=1e-4), row["item"]
        if ref["se"] == 0:  # the marker
            assert row["est"] == 1 and row["se"] is None
        else:
            assert row["se"] == pytest.approx(ref["se"], rel=1e-3), row["item"]


def test_factor_covariances_and_correlations_match_lavaan(fitted):
    model, res = fitted
    params = res["parameters"].set_index(["lhs", "op", "rhs"])
    names = list(MODELS[model])
    for a_i, a in enumerate(names):
        for b in names[a_i:]:
            ref = REFERENCE.get(("param", f"MLR.{model}:{a}~~{b}")) or REFERENCE["param", f"MLR.{model}:{b}~~{a}"]
            row = params.loc[(a, "~~", b)] if (a, "~~", b) in params.index else params.loc[(b, "~~", a)]
            assert row["est"] == pytest.approx(ref["est"], abs=1e-4)
            assert row["se"] == pytest.approx(ref["se"], rel=1e-3)
            assert res["factor_correlations"].loc[a, b] == pytest.approx(ref["std"], abs=1e-4)


def test_estimates_are_the_ml_estimates(bfi):
    """MLR changes the SEs and the test, not the estimates or the unscaled χ² (semopy's ML fit)."""
    ml = fit_cfa(bfi, MODELS["two"])
    mlr = fit_cfa_mlr(bfi, MODELS["two"])
    assert mlr["fit"]["chi2"] == pytest.approx(ml["fit"]["chi2"], rel=1e-6)
    assert [r["est"] for r in mlr["loadings"]] == pytest.approx([r["est"] for r in ml["loadings"]], abs=1e-4)
    # The items are not normal: the sandwich SEs are not the information-based ones.
    ses = np.array([(r["se"], m["se"]) for r, m in zip(mlr["loadings"], ml["loadings"], strict=True) if r["se"]])
    assert np.max(np.abs(ses[:, 0] / ses[:, 1] - 1)) > 0.05


def _simulate(rng: np.random.Generator, n: int, errors=None, nu: float | None = None) -> tuple[pd.DataFrame, dict]:
    lam = np.array([0.8, 0.7, 0.6, 0.7, 0.8, 0.6])
    f = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=n)
    e = (errors or rng.standard_normal)((n, 6))
    y = f[:, [0, 0, 0, 1, 1, 1]] * lam + e * np.sqrt(1 - lam**2)
    if nu is not None:  # multivariate t: every row scaled by one √(ν/χ²_ν), variance kept at 1
        y *= np.sqrt((nu - 2) / rng.chisquare(nu, size=(n, 1)))
    cols = [f"y{i}" for i in range(6)]
    return pd.DataFrame(y, columns=cols), {"F1": cols[:3], "F2": cols[3:]}


def test_scaling_factor_follows_the_kurtosis_of_the_data():
    """Known truths (Browne, 1984; Satorra & Bentler, 1990; Browne & Shapiro, 1988).

    Normal data: c → 1. Elliptical data with kurtosis parameter κ: the ML χ² is inflated by 1 + κ, so c → 1 + κ;
    multivariate t(8) has κ = 2/(ν − 4) = 0.5. Non-normal but independent errors with normal factors: the ML χ²
    stays valid (asymptotic robustness), c → 1.
    """
    rng = np.random.default_rng(12)
    normal = fit_cfa_mlr(*_simulate(rng, 20_000))
    assert normal["fit"]["scaling_factor"] == pytest.approx(1.0, abs=0.05)
    assert [r["std"] for r in normal["loadings"]] == pytest.approx([0.8, 0.7, 0.6, 0.7, 0.8, 0.6], abs=0.02)
    assert normal["factor_correlations"].loc["F1", "F2"] == pytest.approx(0.4, abs=0.02)
    elliptical = fit_cfa_mlr(*_simulate(rng, 20_000, nu=8))
    assert elliptical["fit"]["scaling_factor"] == pytest.approx(1.5, abs=0.15)
    assert elliptical["fit"]["chi2_scaled"] < elliptical["fit"]["chi2"]
    independent = fit_cfa_mlr(*_simulate(rng, 20_000, lambda size: rng.standard_t(5, size=size) / np.sqrt(5 / 3)))
    assert independent["fit"]["scaling_factor"] == pytest.approx(1.0, abs=0.05)


def test_rows_with_a_missing_item_are_dropped(bfi):
    part = bfi.iloc[:400].copy()
    part.loc[:9, "A3"] = np.nan
    res = fit_cfa_mlr(part, MODELS["two"])
    assert res["n"] == len(part[sum(MODELS["two"].values(), [])].dropna())
    assert res["n_dropped"] == 400 - res["n"] >= 10


def test_absent_item_and_too_few_rows_are_not_estimable(bfi):
    with pytest.raises(NotEstimable, match="Z9"):
        fit_cfa_mlr(bfi, {"A": ["A1", "A2", "Z9"]})
    with pytest.raises(NotEstimable, match="complete rows"):
        fit_cfa_mlr(bfi.iloc[:8], MODELS["two"])


@pytest.mark.slow
def test_production_size_fits_in_seconds():
    """64 items on 16 factors, 20,000 rows: about a second on an idle 2-core machine."""
    rng = np.random.default_rng(5)
    n, m, k = 20_000, 16, 4
    F = rng.multivariate_normal(np.zeros(m), 0.3 * np.ones((m, m)) + 0.7 * np.eye(m), size=n)
    Y = np.repeat(F, k, axis=1) * 0.7 + rng.normal(scale=0.7, size=(n, m * k))
    cols = [f"q{i}" for i in range(m * k)]
    factors = {f"f{j}": cols[j * k : (j + 1) * k] for j in range(m)}
    start = time.perf_counter()
    res = fit_cfa_mlr(pd.DataFrame(np.round(Y), columns=cols), factors)
    assert time.perf_counter() - start < 30
    assert res["converged"] and res["fit"]["df"] == m * k * (m * k + 1) // 2 - (m * k - m + m * (m + 1) // 2 + m * k)
