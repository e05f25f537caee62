"""Missingness table, Little's MCAR test and multiple imputation against R and a known truth.

Reference: ``tests/reference/missing_reference.R`` and its output ``missing_reference.txt``:

* Little's test on R's ``airquality`` (``missing_airquality.csv``) by naniar's ``mcar_test`` algorithm
  with lavaan's EM moments; naniar's own test suite publishes statistic 35.1061288689702, df 14,
  p 0.00141778113856683, 4 patterns for the same data (norm's EM, tolerance 1e-4);
* ``mice::pool`` of ``lm(chl ~ age + bmi)`` over R's 20 imputations of ``mice::nhanes``
  (``missing_nhanes_imputed.csv``), which the test refits and pools in Python.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from reference_output import read_keyed

from jianfu.stats.estimable import NotEstimable
from jianfu.stats.fiml import em_moments
from jianfu.stats.missing import impute_chained, little_mcar, missingness_table, pool_ols, pool_rubin

REF = Path(__file__).parents[1] / "reference"
TERMS = ["(Intercept)", "age", "bmi"]


REFERENCE = read_keyed("missing_reference.txt")


@pytest.fixture(scope="module")
def airquality() -> pd.DataFrame:
    return pd.read_csv(REF / "missing_airquality.csv")


@pytest.fixture(scope="module")
def nhanes_imputed() -> list[pd.DataFrame]:
    long = pd.read_csv(REF / "missing_nhanes_imputed.csv")
    return [part.drop(columns=[".imp", ".id"]).reset_index(drop=True) for _, part in long.groupby(".imp")]


# --- missingness table ------------------------------------------------------------------------------------------


def test_missingness_table_counts_airquality(airquality):
    t = missingness_table(airquality)
    # R: colSums(is.na(airquality)) — Ozone 37, Solar.R 7, the rest complete; 111 complete cases.
    assert t.n_missing.to_dict() == {"Ozone": 37, "Solar.R": 7, "Wind": 0, "Temp": 0, "Month": 0, "Day": 0}
    assert t.loc["Ozone", "share_missing"] == pytest.approx(37 / 153)
    assert (t.n_observed + t.n_missing == 153).all()
    assert t.attrs["rows_complete"] == 111
    assert t.attrs["cells_missing"] == pytest.approx(44 / (153 * 6))


# --- Little's MCAR test -----------------------------------------------------------------------------------------


def test_em_moments_match_r(airquality):
    em = em_moments(airquality)
    mean, var, cov = REFERENCE["em", "mean"], REFERENCE["em", "var"], REFERENCE["em", "cov_Ozone"]
    for col in airquality.columns:
        assert em.mean[col] == pytest.approx(mean[col], rel=1e-8)
        assert em.cov.loc[col, col] == pytest.approx(var[col], rel=1e-7)
        assert em.cov.loc["Ozone", col] == pytest.approx(cov[col], rel=1e-7)


def test_little_mcar_matches_r_and_naniars_published_value(airquality):
    res = little_mcar(airquality)
    ref = REFERENCE["little", "airquality"]
    assert res.statistic == pytest.approx(ref["statistic"], rel=1e-7)
    assert res.df == ref["df"] == 14
    assert res.p == pytest.approx(ref["p"], rel=1e-6)
    assert res.n_patterns == ref["patterns"] == 4
    assert res.n == 153
    # naniar's test suite (norm's EM stops at a relative change of 1e-4).
    assert res.statistic == pytest.approx(35.1061288689702, abs=1e-4)
    assert res.p == pytest.approx(0.00141778113856683, abs=1e-7)
    assert res.to_dict()["df"] == 14


def test_little_mcar_ignores_rows_without_any_value(airquality):
    # naniar's second published case: one more row with every value missing changes nothing.
    extra = pd.concat([airquality, pd.DataFrame([{c: np.nan for c in airquality.columns}])], ignore_index=True)
    assert little_mcar(extra).statistic == pytest.approx(little_mcar(airquality).statistic, rel=1e-10)


@pytest.mark.slow
def test_little_mcar_size_under_mcar_and_power_under_mar():
    """Known truth: p-values are uniform when data are MCAR; the test rejects a strong MAR mechanism."""
    rng = np.random.default_rng(8)
    ps = []
    for _ in range(200):
        x = pd.DataFrame(rng.multivariate_normal(np.zeros(3), np.eye(3) * 0.5 + 0.5, size=150), columns=list("abc"))
        ps.append(little_mcar(x.mask(rng.random(x.shape) < 0.15), tol=1e-8).p)
    assert 0.02 < np.mean(np.array(ps) < 0.05) < 0.10
    x = pd.DataFrame(rng.multivariate_normal(np.zeros(3), np.eye(3) * 0.5 + 0.5, size=300), columns=list("abc"))
    x.loc[x.a > 0.5, "b"] = np.nan
    assert little_mcar(x).p < 1e-6


def test_little_mcar_needs_missing_values():
    with pytest.raises(NotEstimable, match="no missing values"):
        little_mcar(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 1.0, 3.0]}))


# --- Rubin's rules ----------------------------------------------------------------------------------------------


def _lm_per_imputation(frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    est, var = [], []
    for d in frames:
        fit = sm.OLS(d.chl, sm.add_constant(d[["age", "bmi"]])).fit()
        est.append(fit.params.to_numpy()), var.append(fit.bse.to_numpy() ** 2)
    return pd.DataFrame(est, columns=TERMS), pd.DataFrame(var, columns=TERMS)


@pytest.mark.parametrize("via", ["pool_rubin", "pool_ols", "pool_ols_design"])
def test_pooling_matches_mice_pool_on_nhanes(nhanes_imputed, via):
    assert len(nhanes_imputed) == 20 and all(len(d) == 25 for d in nhanes_imputed)
    if via == "pool_rubin":
        est, var = _lm_per_imputation(nhanes_imputed)
        res = pool_rubin(est, var, n=25)
    elif via == "pool_ols":
        res = pool_ols(nhanes_imputed, "chl", ["age", "bmi"])
        assert res.attrs == {"n": 25, "m": 20, "se_type": "OLS"}
    else:
        res = pool_ols(nhanes_imputed, "chl", design=lambda d: d[["age", "bmi"]])
    assert list(res.index) == TERMS
    for term in TERMS:
        ref = REFERENCE["pool", term]
        row = res.loc[term]
        assert row.dfcom == ref["dfcom"] == 22
        for ours, theirs in [
            ("estimate", "estimate"),
            ("ubar", "ubar"),
            ("b", "b"),
            ("total_var", "t"),
            ("df", "df"),
            ("riv", "riv"),
            ("lambda", "lambda"),
            ("fmi", "fmi"),
            ("se", "se"),
            ("statistic", "statistic"),
            ("p", "p"),
            ("ci_low", "ci_low"),
            ("ci_high", "ci_high"),
        ]:
            assert row[ours] == pytest.approx(ref[theirs], rel=1e-6, abs=1e-9), (term, ours)


def test_pool_ols_with_clusters_uses_cluster_robust_errors_and_their_df(nhanes_imputed):
    frames = [d.assign(unit=np.arange(25) % 5) for d in nhanes_imputed]
    plain = pool_ols(frames, "chl", ["age", "bmi"])
    clustered = pool_ols(frames, "chl", ["age", "bmi"], cluster="unit")
    assert "CR2" in clustered.attrs["se_type"]  # 5 units: small-sample correction
    assert clustered.estimate.to_numpy() == pytest.approx(plain.estimate.to_numpy())
    assert not np.allclose(clustered.se, plain.se)
    assert (clustered.dfcom < 5).all()  # Satterthwaite df with 5 clusters, not n − k = 22


def test_pool_rubin_without_complete_data_df_is_rubins_original():
    est = np.array([[1.0], [1.2], [0.9], [1.1]])
    var = np.array([[0.04], [0.05], [0.04], [0.03]])
    res = pool_rubin(est, var)
    b, ubar, m = est.var(ddof=1), var.mean(), 4
    lam = (1 + 1 / m) * b / (ubar + (1 + 1 / m) * b)
    assert res.loc[0, "df"] == pytest.approx((m - 1) / lam**2)  # Rubin (1987), eq. 3.1.6
    assert np.isinf(res.loc[0, "dfcom"])


def test_pool_rubin_rejects_a_single_dataset():
    with pytest.raises(NotEstimable):
        pool_rubin(np.ones((1, 2)), np.ones((1, 2)))


# --- chained equations ------------------------------------------------------------------------------------------


def test_imputation_fills_only_missing_cells_with_observed_values_and_is_reproducible():
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"q1": rng.integers(1, 6, 120).astype(float), "q2": rng.integers(1, 6, 120).astype(float)})
    d["level"] = np.where(rng.random(120) < 0.5, "township", "county")
    holes = d.copy()
    holes.loc[rng.random(120) < 0.2, "q1"] = np.nan
    holes.loc[rng.random(120) < 0.2, "q2"] = np.nan
    a = impute_chained(holes, m=4, seed=9)
    b = impute_chained(holes, m=4, seed=9)
    assert len(a) == 4
    for left, right in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(left, right)
    for done in a:
        assert not done[["q1", "q2"]].isna().any().any()
        observed = holes.q1.notna()
        assert (done.loc[observed, "q1"] == holes.loc[observed, "q1"]).all()
        assert set(done.q1) <= set(holes.q1.dropna())  # PMM keeps Likert values on the scale
        assert (done.level == d.level).all()
    assert not all(a[0].q1.equals(other.q1) for other in a[1:])  # the m datasets differ


def test_incomplete_non_numeric_column_is_refused():
    d = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0], "g": ["a", None, "b", "a"]})
    with pytest.raises(NotEstimable, match="non-numeric"):
        impute_chained(d, m=2, seed=1)


def test_multiple_imputation_recovers_a_slope_that_listwise_deletion_biases():
    """Known truth: y = 1 + 0.5x + e; x goes missing more often when y is high (MAR given y).

    Complete cases select on the outcome and attenuate the slope; chained equations impute x from y
    and recover it. Five replicates of n = 1,000, m = 10.
    """
    listwise, mi = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=1000)
        y = 1 + 0.5 * x + rng.normal(scale=0.8, size=1000)
        d = pd.DataFrame({"x": x, "y": y})
        d.loc[rng.random(1000) < 1 / (1 + np.exp(-1.5 * (y - 1.5))), "x"] = np.nan
        cc = d.dropna()
        listwise.append(sm.OLS(cc.y, sm.add_constant(cc.x)).fit().params["x"])
        mi.append(pool_ols(impute_chained(d, m=10, seed=seed), "y", ["x"]).loc["x", "estimate"])
    assert np.mean(listwise) < 0.45  # biased by about −0.08
    assert abs(np.mean(mi) - 0.5) < 0.03
