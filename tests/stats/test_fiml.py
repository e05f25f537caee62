"""CFA by full-information ML against lavaan's ``missing = "ml"``, and against a known truth.

Reference: ``tests/reference/fiml_reference.R`` and its output ``fiml_reference.txt`` (lavaan 0.6-14,
``cfa(HS.model, data, missing = "ml")``) on Holzinger & Swineford (1939) with missing values injected
with a fixed R seed (``fiml_hs1939_missing.csv``: 282 of 2,709 answers missing, 109 complete rows,
one row with no answer). The complete-data check uses ``hs1939_reference.txt``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference_output import read_keyed
from scipy import stats

from jianfu.stats import fiml
from jianfu.stats.cfa import fit_cfa
from jianfu.stats.estimable import NotEstimable
from jianfu.stats.fiml import em_moments, fit_cfa_fiml

REF = Path(__file__).parents[1] / "reference"
ITEMS = [f"x{i}" for i in range(1, 10)]
FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


REFERENCE = read_keyed("fiml_reference.txt")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "fiml_hs1939_missing.csv")


@pytest.fixture(scope="module")
def result(data) -> dict:
    return fit_cfa_fiml(data, FACTORS)


def test_reference_data_is_the_one_r_used(data):
    ref = REFERENCE["data", "missing"]
    assert len(data) == ref["rows"]
    assert int(data[ITEMS].isna().sum().sum()) == ref["cells_missing"]
    assert int(data[ITEMS].notna().all(axis=1).sum()) == ref["complete_rows"]


def test_rows_used_and_labels(result, data):
    # lavaan's ntotal: every row with at least one answer (row 5 has none).
    assert result["n"] == REFERENCE["fit", "measures"]["ntotal"] == 300
    assert result["n_dropped"] == 1
    assert result["n_complete"] == 109
    assert result["missing"] == "fiml"
    assert result["converged"] and result["note"] is None
    assert result["fit"]["n"] == 300


def test_fit_measures_match_lavaan(result):
    ref = REFERENCE["fit", "measures"]
    fit = result["fit"]
    assert fit["chi2"] == pytest.approx(ref["chisq"], abs=1e-4)
    assert fit["df"] == ref["df"] == 24
    assert fit["p"] == pytest.approx(ref["pvalue"], rel=1e-5)
    assert fit["loglik"] == pytest.approx(ref["logl"], abs=1e-4)
    # lavaan's EM stops at a parameter change of 1e-5, so its h1 log-likelihood is a hair lower.
    assert fit["h1_loglik"] == pytest.approx(ref["unrestricted.logl"], abs=1e-4)
    assert fit["baseline_chi2"] == pytest.approx(ref["baseline.chisq"], abs=1e-4)
    assert fit["baseline_df"] == ref["baseline.df"]
    for key, name in [("cfi", "cfi"), ("tli", "tli"), ("rmsea", "rmsea"), ("srmr", "srmr")]:
        assert fit[key] == pytest.approx(ref[name], abs=1e-6), key
    assert fit["rmsea_ci"] == pytest.approx([ref["rmsea.ci.lower"], ref["rmsea.ci.upper"]], abs=1e-6)


def test_every_parameter_and_standard_error_matches_lavaan(result):
    table = result["parameters"]
    assert len(table) == REFERENCE["fit", "measures"]["npar"]
    for _, row in table.iterrows():
        ref = REFERENCE["param", f"{row.lhs}{row.op}{row.rhs}"]
        assert row.est == pytest.approx(ref["est"], abs=1e-5), (row.lhs, row.op, row.rhs)
        # Observed information (the Hessian), lavaan's default with missing = "ml".
        assert row.se == pytest.approx(ref["se"], abs=1e-5), (row.lhs, row.op, row.rhs)


def test_loadings_standardised_solution_and_correlations_match_lavaan(result):
    for row in result["loadings"]:
        ref = REFERENCE["param", f"{row['factor']}=~{row['item']}"]
        assert round(row["est"], 3) == round(ref["est"], 3)
        assert row["std"] == pytest.approx(ref["std"], abs=1e-5)
        assert row["std_se"] == pytest.approx(ref["std_se"], abs=1e-5)
        if ref["se"] > 0:
            assert row["se"] == pytest.approx(ref["se"], abs=1e-5)
        else:  # marker: fixed at 1
            assert row["est"] == 1.0 and row["se"] is None
    corr = result["factor_correlations"]
    for a, b in [("visual", "textual"), ("visual", "speed"), ("textual", "speed")]:
        assert corr.loc[a, b] == pytest.approx(REFERENCE["param", f"{a}~~{b}"]["std"], abs=1e-5)


def test_em_moments_are_lavaans_h1(data):
    em = em_moments(data[ITEMS])
    assert em.n == 300 and em.converged
    ref_mean, ref_var = REFERENCE["h1", "mean"], REFERENCE["h1", "var"]
    for item in ITEMS:
        assert em.mean[item] == pytest.approx(ref_mean[item], abs=1e-4)
        assert em.cov.loc[item, item] == pytest.approx(ref_var[item], abs=1e-4)


def test_complete_data_gives_the_published_complete_case_fit():
    """Without missing values FIML is ordinary ML: lavaan's χ² 85.306 on the full HS1939 data."""
    from semopy.examples import holzinger39

    full = holzinger39.get_data()
    res = fit_cfa_fiml(full, FACTORS)
    assert res["n"] == 301 and res["n_patterns"] == 1
    assert res["fit"]["chi2"] == pytest.approx(85.30552177, abs=1e-4)
    assert res["fit"]["cfi"] == pytest.approx(0.9305596518, abs=1e-6)
    listwise = fit_cfa(full, FACTORS)
    for a, b in zip(res["loadings"], listwise["loadings"], strict=True):
        assert a["std"] == pytest.approx(b["std"], abs=1e-4)


def test_casewise_loglikelihood_equals_the_sum_of_normal_densities(data):
    Y = data[ITEMS].to_numpy(float)
    Y = Y[~np.isnan(Y).all(axis=1)]
    rng = np.random.default_rng(0)
    A = rng.normal(size=(9, 9))
    sigma, mu = A @ A.T / 9 + np.eye(9), np.nanmean(Y, axis=0) + 0.1
    direct = 0.0
    for y in Y:
        o = ~np.isnan(y)
        direct += stats.multivariate_normal(mu[o], sigma[np.ix_(o, o)]).logpdf(y[o])
    pat = fiml._Patterns.from_array(Y)
    assert fiml._evaluate(pat, mu, sigma).loglik == pytest.approx(direct, rel=1e-12)


def _awkward_data(p: int = 12, n: int = 240) -> np.ndarray:
    """Scattered holes, break-offs (many items missing) and a block missing in the middle."""
    rng = np.random.default_rng(11)
    F = rng.normal(size=(n, 3))
    Lam = np.zeros((p, 3))
    Lam[np.arange(p), np.arange(p) * 3 // p] = 0.7
    Y = F @ Lam.T + rng.normal(scale=0.6, size=(n, p))
    M = rng.random((n, p)) < 0.1
    M[:30, : p // 2 - 1] = True  # fewer missing than observed: complement form
    M[30:50, 1 : p - 3] = True  # more missing than observed: direct form
    Y[M] = np.nan
    return Y[~np.isnan(Y).all(axis=1)]


@pytest.mark.parametrize(("z_max_k", "chunk"), [(24, fiml._CHUNK_ELEMENTS), (1, fiml._CHUNK_ELEMENTS), (24, 50)])
def test_analytic_gradient_and_hessian_agree_with_finite_differences(monkeypatch, z_max_k, chunk):
    # z_max_k = 1 sends every pattern through the cross-product branch of _pattern_traces; a
    # 50-value chunk takes the patterns and their rows a few at a time.
    monkeypatch.setattr(fiml, "_Z_MAX_K", z_max_k)
    monkeypatch.setattr(fiml, "_CHUNK_ELEMENTS", chunk)
    Y = _awkward_data()
    pat = fiml._Patterns.from_array(Y)
    assert {b.form for b in pat.buckets} == {"complement", "direct"}
    cols = [f"i{j}" for j in range(Y.shape[1])]
    model = fiml._Model.build(cols, {f"f{k}": cols[k * 4 : k * 4 + 4] for k in range(3)})
    frame = pd.DataFrame(Y)
    theta = fiml._start_values(model, np.nanmean(Y, axis=0), frame.cov(ddof=0).to_numpy())

    def state(t):
        return fiml._evaluate(pat, *model.implied(t))

    def grad(t):
        return fiml._gradient(state(t), *model.derivatives(t))

    h = 1e-6
    eye = np.eye(len(theta))
    numeric_grad = np.array([(state(theta + h * e).loglik - state(theta - h * e).loglik) / (2 * h) for e in eye])
    assert grad(theta) == pytest.approx(numeric_grad, abs=1e-4 * np.abs(numeric_grad).max())
    st = state(theta)
    H = fiml._hessian(pat, st, *model.derivatives(theta)) + model.second_term(theta, st.G)
    numeric_H = np.array([(grad(theta + h * e) - grad(theta - h * e)) / (2 * h) for e in eye])
    assert H == pytest.approx(numeric_H, abs=1e-6 * np.abs(numeric_H).max())


def test_n_equals_accepted_rows_with_five_percent_item_missingness():
    """The issue's acceptance check: 5% scattered non-response keeps every row (listwise keeps ~54%)."""
    rng = np.random.default_rng(15)
    n, p = 600, 12
    F = rng.normal(size=(n, 3))
    Lam = np.zeros((p, 3))
    Lam[np.arange(p), np.arange(p) // 4] = 0.75
    items = pd.DataFrame(F @ Lam.T + rng.normal(scale=0.6, size=(n, p)), columns=[f"q{i}" for i in range(p)])
    holes = items.mask(rng.random(items.shape) < 0.05)
    factors = {f"f{k}": [f"q{i}" for i in range(4 * k, 4 * k + 4)] for k in range(3)}
    res = fit_cfa_fiml(holes, factors)
    assert res["n"] == n and res["missing"] == "fiml" and res["converged"]
    assert len(holes.dropna()) < 0.6 * n
    # Known truth: standardised loadings 0.75/√(0.75² + 0.36) = 0.78.
    std = np.array([row["std"] for row in res["loadings"]])
    assert np.all(np.abs(std - 0.75 / np.sqrt(0.75**2 + 0.36)) < 0.06)


def test_item_pair_never_answered_together_is_not_estimable():
    d = pd.DataFrame(np.random.default_rng(1).normal(size=(60, 3)), columns=["a", "b", "c"])
    d.loc[:29, "a"] = np.nan
    d.loc[30:, "b"] = np.nan
    with pytest.raises(NotEstimable, match="never answered together"):
        fit_cfa_fiml(d, {"F": ["a", "b", "c"]})


@pytest.mark.slow
def test_hundred_items_twenty_thousand_rows_fit_in_seconds():
    rng = np.random.default_rng(2)
    n, p, m = 20_000, 100, 5
    F = rng.multivariate_normal(np.zeros(m), 0.3 * np.ones((m, m)) + 0.7 * np.eye(m), size=n)
    Lam = np.zeros((p, m))
    Lam[np.arange(p), np.arange(p) * m // p] = rng.uniform(0.5, 0.9, size=p)
    Y = F @ Lam.T + rng.normal(scale=0.6, size=(n, p))
    Y[rng.random((n, p)) < 0.01] = np.nan
    cols = [f"q{i}" for i in range(p)]
    factors = {f"f{k}": cols[k * p // m : (k + 1) * p // m] for k in range(m)}
    start = time.perf_counter()
    res = fit_cfa_fiml(pd.DataFrame(Y, columns=cols), factors)
    elapsed = time.perf_counter() - start
    assert res["converged"] and res["n"] == n and res["n_patterns"] > 4000
    # A few seconds on an idle 2-core machine; the bound leaves room for a busy CI box.
    assert elapsed < 60
    # Known truth: the model holds, so χ² ≈ df.
    assert abs(res["fit"]["chi2"] - res["fit"]["df"]) < 5 * np.sqrt(2 * res["fit"]["df"])


def test_trust_region_fallback_reaches_the_same_estimate(monkeypatch, data, result):
    def stalled(model, theta, pat, n, mu_s, S, gtol, max_iter=200):
        return theta, fiml._evaluate(pat, *model.implied(theta)), False

    monkeypatch.setattr(fiml, "_scoring", stalled)
    res = fit_cfa_fiml(data, FACTORS)
    assert res["converged"]
    assert res["fit"]["chi2"] == pytest.approx(result["fit"]["chi2"], abs=1e-6)
    assert res["parameters"].se.to_numpy() == pytest.approx(result["parameters"].se.to_numpy(), abs=1e-6)


def test_em_is_computed_once_per_data_and_tolerance():
    """Little's test, the EM correlations and the FIML CFA share one EM; a looser one is not reused for a tighter."""
    rng = np.random.default_rng(11)
    y = rng.multivariate_normal([0, 0, 0], [[1, 0.5, 0.3], [0.5, 1, 0.4], [0.3, 0.4, 1]], size=400)
    y[rng.random(y.shape) < 0.15] = np.nan
    pat = fiml._Patterns.from_array(y[~np.isnan(y).all(axis=1)])
    fiml._EM_CACHE.clear()
    loose = fiml._em(pat, tol=1e-4)
    tight = fiml._em(pat, tol=1e-12)  # not served by the looser result
    assert tight[3] > loose[3]  # more iterations
    again = fiml._em(pat, tol=1e-9)  # served by the tighter one
    assert again[3] == tight[3] and np.array_equal(again[1], tight[1])
    again[1][0, 0] = 99.0  # a caller editing its copy does not edit the cache
    assert fiml._em(pat, tol=1e-9)[1][0, 0] == tight[1][0, 0]
    direct = fiml._em_fit(pat, 1e-9, 5000)
    assert np.allclose(again[0], direct[0], atol=1e-7) and np.allclose(tight[1], direct[1], atol=1e-7)
