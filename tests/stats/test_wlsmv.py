"""WLSMV (DWLS on polychoric correlations, robust SEs, scaled-and-shifted χ²) against lavaan and a known truth.

Reference: ``tests/reference/cfa_estimators_reference.R`` and its output ``cfa_estimators_reference.txt``
(lavaan 0.6-14, ``cfa(model, data, ordered = TRUE, estimator = "WLSMV")``) on ``psych::bfi``
(``ordinal_data.csv``): a two-factor model (A1–A5, C1–C5; 2632 complete rows), the five-factor model (25 items;
2436 rows) and the two-factor model with A1 dichotomised and C2 cut to three categories ("mixed").
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference_output import read_keyed

from jianfu.stats.estimable import NotEstimable
from jianfu.stats.ordinal import polychoric
from jianfu.stats.wlsmv import _codes, fit_cfa_wlsmv, polychoric_gamma

REF = Path(__file__).parents[1] / "reference"
REFERENCE = read_keyed("cfa_estimators_reference.txt")
TWO = {"A": [f"A{i}" for i in range(1, 6)], "C": [f"C{i}" for i in range(1, 6)]}
MODELS = {"two": TWO, "five": {f: [f"{f}{i}" for i in range(1, 6)] for f in "ACENO"}, "mixed": TWO}
MEASURES = {
    "chisq": "chi2",
    "chisq.scaled": "chi2_scaled",
    "chisq.scaling.factor": "scaling_factor",
    "chisq.shift.parameter": "shift",
    "baseline.chisq": "baseline_chi2",
    "baseline.chisq.scaled": "baseline_chi2_scaled",
    "baseline.chisq.scaling.factor": "baseline_scaling_factor",
    "cfi": "cfi",
    "tli": "tli",
    "rmsea": "rmsea",
    "cfi.scaled": "cfi_scaled",
    "tli.scaled": "tli_scaled",
    "rmsea.scaled": "rmsea_scaled",
    "srmr": "srmr",
}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(REF / "ordinal_data.csv")


def _data(bfi: pd.DataFrame, model: str) -> pd.DataFrame:
    if model != "mixed":
        return bfi
    mixed = bfi.copy()  # as the R script: A1 >= 4 (2 categories), (C2 + 1) %/% 2 (3 categories)
    mixed["A1"] = (mixed["A1"] >= 4).astype(float).where(mixed["A1"].notna())
    mixed["C2"] = (mixed["C2"] + 1) // 2
    return mixed


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request, bfi) -> tuple[str, dict]:
    return request.param, fit_cfa_wlsmv(_data(bfi, request.param), MODELS[request.param])


def test_listwise_deletion_keeps_lavaans_rows(fitted, bfi):
    model, res = fitted
    ref = REFERENCE["data", f"WLSMV.{model}"]
    assert res["n"] == ref["n"] == res["fit"]["n"]
    assert res["n_dropped"] == len(bfi) - ref["n"]
    assert res["estimator"] == res["fit"]["estimator"] == "WLSMV"
    assert res["fit"]["se_type"] == "robust.sem" and res["fit"]["test"] == "scaled.shifted"
    assert res["converged"] and res["note"] is None


def test_asymptotic_covariance_of_the_polychorics_is_lavaans(bfi):
    """The diagonal of N·Γ (Muthén, 1984), which is also the inverse of the DWLS weights."""
    items = TWO["A"] + TWO["C"]
    x = bfi[items].dropna()
    pc = polychoric(x, items, smooth=False)
    codes, n_cat = _codes(x.to_numpy(float))
    gamma, ii, jj = polychoric_gamma(codes, pc.thresholds.to_numpy(), pc.rho.to_numpy(), n_cat)
    assert np.allclose(gamma, gamma.T)
    assert np.all(np.linalg.eigvalsh(gamma) > 0)
    for k, (i, j) in enumerate(zip(ii, jj, strict=True)):
        ref = REFERENCE["wls", f"WLSMV.two:{items[i]}~~{items[j]}"]
        assert pc.rho.iloc[i, j] == pytest.approx(ref["obs"], abs=1e-6)
        assert gamma[k, k] == pytest.approx(ref["gamma"], rel=1e-5)


def test_fit_measures_match_lavaan(fitted):
    model, res = fitted
    ref, fit = REFERENCE["fit", f"WLSMV.{model}"], res["fit"]
    assert fit["df"] == ref["df"]
    for name, key in MEASURES.items():
        assert fit[key] == pytest.approx(ref[name], rel=1e-5, abs=1e-6), name
    assert fit["rmsea_ci"] == pytest.approx([ref["rmsea.ci.lower"], ref["rmsea.ci.upper"]], abs=1e-6)
    assert fit["rmsea_ci_scaled"] == pytest.approx(
        [ref["rmsea.ci.lower.scaled"], ref["rmsea.ci.upper.scaled"]], abs=1e-6
    )


def test_loadings_robust_ses_and_standardised_solution_match_lavaan(fitted):
    model, res = fitted
    for row in res["loadings"]:
        ref = REFERENCE["param", f"WLSMV.{model}:{row['factor']}=~{row['item']}"]
        assert row["est"] == pytest.approx(ref["est"], abs=1e-4), row["item"]
        assert row["std"] == pytest.approx(ref["std"], abs=1e-5), row["item"]
        assert row["std_se"] == pytest.approx(ref["std_se"], abs=1e-5), row["item"]
        if ref["se"] == 0:
            assert row["est"] == 1 and row["se"] is None
        else:
            assert row["se"] == pytest.approx(ref["se"], rel=1e-4), row["item"]


def test_factor_covariances_and_correlations_match_lavaan(fitted):
    model, res = fitted
    params = res["parameters"].set_index(["lhs", "op", "rhs"])
    names = list(MODELS[model])
    for a_i, a in enumerate(names):
        for b in names[a_i:]:
            ref = REFERENCE.get(("param", f"WLSMV.{model}:{a}~~{b}")) or REFERENCE["param", f"WLSMV.{model}:{b}~~{a}"]
            row = params.loc[(a, "~~", b)] if (a, "~~", b) in params.index else params.loc[(b, "~~", a)]
            assert row["est"] == pytest.approx(ref["est"], abs=1e-5)
            assert row["se"] == pytest.approx(ref["se"], rel=1e-4)
            assert res["factor_correlations"].loc[a, b] == pytest.approx(ref["std"], abs=1e-5)


def _ordinal(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Five-point answers cut from latent responses of two correlated factors (r = .5), known loadings."""
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.8, 0.7, 0.6, 0.5])
    f = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=n)
    latent = f[:, [0, 0, 0, 0, 1, 1, 1, 1]] * lam + rng.standard_normal((n, 8)) * np.sqrt(1 - lam**2)
    answers = np.digitize(latent, [-1.2, -0.3, 0.4, 1.3]) + 1  # skewed cut points, as agreement items are
    cols = [f"q{i}" for i in range(8)]
    return pd.DataFrame(answers, columns=cols), {"F1": cols[:4], "F2": cols[4:]}, lam


def test_recovers_known_latent_loadings_and_factor_correlation():
    rng = np.random.default_rng(21)
    data, factors, lam = _ordinal(rng, 5000)
    res = fit_cfa_wlsmv(data, factors)
    std = np.array([r["std"] for r in res["loadings"]])
    se = np.array([r["std_se"] for r in res["loadings"]])
    assert np.all(np.abs(std - lam) < 3 * se)
    assert res["factor_correlations"].loc["F1", "F2"] == pytest.approx(0.5, abs=0.04)
    fit = res["fit"]
    # The model holds: the scaled-and-shifted statistic behaves as χ²(df) (mean df, sd √(2df)).
    assert abs(fit["chi2_scaled"] - fit["df"]) < 4 * np.sqrt(2 * fit["df"])
    assert fit["cfi_scaled"] > 0.99 and fit["rmsea_scaled"] < 0.02
    # One factor for two is wrong, and the test says so.
    wrong = fit_cfa_wlsmv(data, {"G": factors["F1"] + factors["F2"]})["fit"]
    assert wrong["p_scaled"] < 1e-10 and wrong["cfi_scaled"] < fit["cfi_scaled"]


def test_rows_with_a_missing_item_are_dropped(bfi):
    part = bfi.iloc[:600].copy()
    part.loc[:19, "C3"] = np.nan
    res = fit_cfa_wlsmv(part, TWO)
    assert res["n"] == len(part[TWO["A"] + TWO["C"]].dropna())
    assert res["n_dropped"] == 600 - res["n"] >= 20


def test_items_that_are_not_ordinal_or_models_not_identified_are_not_estimable(bfi):
    flat = bfi[TWO["A"]].dropna().copy()
    flat["A1"] = 3
    with pytest.raises(NotEstimable, match="single answer category"):
        fit_cfa_wlsmv(flat, {"A": TWO["A"]})
    cont = pd.DataFrame(np.random.default_rng(1).normal(size=(300, 3)), columns=list("abc"))
    with pytest.raises(NotEstimable, match="ordinal"):
        fit_cfa_wlsmv(cont, {"F": list("abc")})
    with pytest.raises(NotEstimable, match="not identified"):
        fit_cfa_wlsmv(bfi, {"A": ["A1", "A2"]})


@pytest.mark.slow
def test_production_size_fits_in_seconds():
    """64 items on 16 factors, 20,000 rows: about 5 s on a 2-core machine (2016 polychorics, Γ is 2016 × 2016)."""
    rng = np.random.default_rng(8)
    n, m, k = 20_000, 16, 4
    F = rng.multivariate_normal(np.zeros(m), 0.3 * np.ones((m, m)) + 0.7 * np.eye(m), size=n)
    latent = np.repeat(F, k, axis=1) * 0.7 + rng.normal(scale=np.sqrt(0.51), size=(n, m * k))
    cols = [f"q{i}" for i in range(m * k)]
    factors = {f"f{j}": cols[j * k : (j + 1) * k] for j in range(m)}
    start = time.perf_counter()
    res = fit_cfa_wlsmv(pd.DataFrame(np.digitize(latent, [-1.2, -0.3, 0.4, 1.3]), columns=cols), factors)
    assert time.perf_counter() - start < 60
    assert res["converged"]
    assert np.mean([r["std"] for r in res["loadings"]]) == pytest.approx(0.7, abs=0.01)
    assert abs(res["fit"]["chi2_scaled"] - res["fit"]["df"]) < 4 * np.sqrt(2 * res["fit"]["df"])
