"""Cluster-robust OLS against clubSandwich / sandwich, and against a known truth.

Reference: ``tests/reference/cluster_robust_reference.R`` and its output ``cluster_robust_reference.txt``
(clubSandwich ``coef_test``/``conf_int``/``linear_contrast``/``Wald_test`` with CR2, HTZ and
CR1S/Naive-F; sandwich ``vcovCL`` HC1) on ``sandwich::PetersenCL`` (500 firms), its first 12 firms
(unbalanced) and clubSandwich's ``MortalityRates`` as in its panel-data vignette (state dummies, so
I − Hⱼⱼ is singular and CR2 needs the generalised inverse).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from jianfu.stats.cluster_robust import (
    CR1_MIN_CLUSTERS,
    SE_TYPE_CR1,
    SE_TYPE_CR2,
    cluster_bootstrap_indices,
    fit_ols_clustered,
    satterthwaite_df,
    vcov_cr1,
    vcov_cr2,
    wald_test_clustered,
    wald_test_cr1,
    wald_test_cr2,
)
from jianfu.stats.estimable import NotEstimable

REF = Path(__file__).parents[1] / "reference"
TERMS = ["(Intercept)", "x", "odd", "late"]


def _reference() -> dict[tuple[str, str, str], dict[str, float]]:
    """``(design, statistic, term) -> {key: value}`` from the R output."""
    out = {}
    for line in (REF / "cluster_robust_reference.txt").read_text().splitlines():
        design, kind, name, *rest = line.split()
        if kind != "design":
            out[design, kind, name] = {rest[i]: float(rest[i + 1]) for i in range(0, len(rest), 2)}
    return out


REFERENCE = _reference()


def _petersen() -> pd.DataFrame:
    d = pd.read_csv(REF / "cluster_robust_petersen.csv")
    return d.assign(odd=d.year % 2, late=(d.year > 5).astype(float))


def _design(d: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    X = pd.DataFrame({"(Intercept)": 1.0, "x": d.x, "odd": d.odd, "late": d.late})
    return d.y, X, d.firm


@pytest.fixture(scope="module")
def designs() -> dict[str, tuple]:
    pet = _petersen()
    small = pet[(pet.firm <= 12) & ~((pet.firm % 4 == 0) & (pet.year > 6))]
    mv = pd.read_csv(REF / "cluster_robust_mortality.csv")
    Xm = pd.concat(
        [
            mv[["legal", "beertaxa"]],
            pd.get_dummies(mv.state, prefix="state", dtype=float),
            pd.get_dummies(mv.year, prefix="year", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    return {"petersen": _design(pet), "small": _design(small), "mortality": (mv.mrate, Xm, mv.state)}


CASES = [
    ("petersen", TERMS, {"odd+late": ["odd", "late"], "x+odd+late": ["x", "odd", "late"]}),
    ("small", TERMS, {"odd+late": ["odd", "late"], "x+odd+late": ["x", "odd", "late"]}),
    ("mortality", ["legal", "beertaxa"], {"legal+beertaxa": ["legal", "beertaxa"]}),
]


@pytest.mark.parametrize("design, terms, hypotheses", CASES)
def test_cr2_coefficients_match_clubsandwich_coef_test(designs, design, terms, hypotheses):
    y, X, g = designs[design]
    res = fit_ols_clustered(y, X, g, method="CR2")
    assert res.se_type == SE_TYPE_CR2 and "CR2" in res.se_type
    table = res.to_frame()
    for term in terms:
        r = REFERENCE[design, "CR2", term]
        row = table.loc[term]
        assert row.b == pytest.approx(r["beta"], rel=1e-9, abs=1e-12)
        for ours, theirs in [("se", "se"), ("df", "df"), ("t", "t"), ("ci_low", "ci_low"), ("ci_high", "ci_high")]:
            assert row[ours] == pytest.approx(r[theirs], rel=1e-7), (term, ours)
        assert row.p == pytest.approx(r["p"], rel=1e-6), term


@pytest.mark.parametrize("design, terms, hypotheses", CASES)
def test_cr1_matches_sandwich_vcovcl_hc1(designs, design, terms, hypotheses):
    y, X, g = designs[design]
    b = np.linalg.lstsq(X.to_numpy(), y.to_numpy(), rcond=None)[0]
    se = pd.Series(np.sqrt(np.diag(vcov_cr1(X, y - X.to_numpy() @ b, g))), index=X.columns)
    for term in terms:
        assert se[term] == pytest.approx(REFERENCE[design, "CR1", term]["se"], rel=1e-8), term


@pytest.mark.parametrize("design, terms, hypotheses", CASES)
def test_wald_tests_match_clubsandwich(designs, design, terms, hypotheses):
    y, X, g = designs[design]
    for name, block in hypotheses.items():
        htz, r = wald_test_cr2(y, X, g, block), REFERENCE[design, "HTZ", name]
        assert (htz.test, htz.df_num) == ("HTZ", len(block))
        assert htz.f == pytest.approx(r["F"], rel=1e-7)
        assert htz.delta == pytest.approx(r["delta"], rel=1e-7)
        assert htz.df_denom == pytest.approx(r["df_denom"], rel=1e-7)
        assert htz.p == pytest.approx(r["p"], rel=1e-6)
        naive, r = wald_test_cr1(y, X, g, block), REFERENCE[design, "NaiveF", name]
        assert (naive.test, naive.df_denom) == ("Naive-F", r["df_denom"])
        assert naive.f == pytest.approx(r["F"], rel=1e-7)
        assert naive.p == pytest.approx(r["p"], rel=1e-6)


def test_satterthwaite_df_of_a_contrast_matches_linear_contrast(designs):
    for design, name, (first, second) in [
        ("petersen", "x-odd", ("x", "odd")),
        ("small", "x-odd", ("x", "odd")),
        ("mortality", "legal-beertaxa", ("legal", "beertaxa")),
    ]:
        _, X, g = designs[design]
        c = (X.columns == first).astype(float) - (X.columns == second)
        assert satterthwaite_df(X, g, c)[0] == pytest.approx(REFERENCE[design, "contrast", name]["df"], rel=1e-7)


def test_full_cr2_matrix_matches_vcovcr(designs):
    y, X, g = designs["small"]
    res = fit_ols_clustered(y, X, g, method="CR2")
    for (_, kind, cell), r in REFERENCE.items():
        if _ == "small" and kind == "vcov":
            i, j = map(int, cell.split(","))
            assert res.vcov[i, j] == pytest.approx(r["value"], rel=1e-7)
            assert res.vcov[j, i] == res.vcov[i, j]
    resid = y.to_numpy() - X.to_numpy() @ res.b
    assert np.allclose(vcov_cr2(X, resid, g), res.vcov, rtol=1e-12)


def test_htz_with_one_constraint_is_the_satterthwaite_t_test(designs):
    y, X, g = designs["small"]
    res = fit_ols_clustered(y, X, g, method="CR2")
    w = wald_test_cr2(y, X, g, [1])
    assert w.f == pytest.approx(res.t[1] ** 2, rel=1e-10)
    assert w.df_denom == pytest.approx(res.df[1], rel=1e-10) and w.delta == pytest.approx(1.0)
    assert w.p == pytest.approx(res.p[1], rel=1e-8)


def test_auto_uses_cr2_below_40_clusters_and_cr1_from_40(designs):
    y, X, g = designs["small"]
    small = fit_ols_clustered(y, X, g)
    assert (small.method, small.n_clusters, small.n) == ("CR2", 12, 108)
    y, X, g = designs["petersen"]
    big = fit_ols_clustered(y, X, g)
    assert big.method == "CR1" and big.se_type == SE_TYPE_CR1 and "CR1" in big.se_type
    assert np.all(big.df == 499)
    r = REFERENCE["petersen", "CR1", "x"]
    assert big.se[1] == pytest.approx(r["se"], rel=1e-8)
    # t(G − 1) reference, as Stata's regress, vce(cluster firm)
    assert big.ci_high[1] - big.b[1] == pytest.approx(big.se[1] * 1.9647293909876, rel=1e-9)
    # The switch sits exactly at CR1_MIN_CLUSTERS clusters.
    sub = _petersen()
    for g_count, expected in [(CR1_MIN_CLUSTERS - 1, "CR2"), (CR1_MIN_CLUSTERS, "CR1")]:
        y, X, g = _design(sub[sub.firm <= g_count])
        assert fit_ols_clustered(y, X, g).method == expected
        assert wald_test_clustered(y, X, g, ["odd", "late"]).test == ("HTZ" if expected == "CR2" else "Naive-F")


def test_not_estimable_with_one_cluster_or_a_rank_deficient_design(designs):
    y, X, g = designs["small"]
    with pytest.raises(NotEstimable):
        fit_ols_clustered(y, X, np.zeros(len(y)))
    collinear = X.assign(x2=2 * X.x)
    for f in (fit_ols_clustered, lambda *a: wald_test_cr2(*a, ["x"]), lambda *a: satterthwaite_df(*a[1:])):
        with pytest.raises(NotEstimable, match="collinear"):
            f(y, collinear, g)
    with pytest.raises(ValueError, match="missing"):
        fit_ols_clustered(y.where(y > 0), X, g)
    with pytest.raises(ValueError):
        fit_ols_clustered(y, X, g, method="HC3")


def test_wald_test_with_more_constraints_than_the_clusters_carry_is_not_estimable():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(3), 10)
    X = np.column_stack([np.ones(30), rng.normal(size=(30, 4))])
    with pytest.raises(NotEstimable):
        wald_test_cr2(rng.normal(size=30), X, g, [1, 2, 3, 4])


def test_cluster_bootstrap_resamples_whole_clusters():
    clusters = np.array(["b", "a", "b", "c", "c", "c", "a", "d"])
    draws = list(cluster_bootstrap_indices(clusters, 200, rng=3))
    assert len(draws) == 200
    members = {c: set(np.flatnonzero(clusters == c)) for c in np.unique(clusters)}
    for rows in draws:
        # each drawn cluster comes whole: a row's cluster mates appear as often as it does
        counts = np.bincount(rows, minlength=len(clusters))
        for rows_of_c in members.values():
            assert len({counts[i] for i in rows_of_c}) == 1
        assert sum(counts[min(m)] for m in members.values()) == 4  # G = 4 clusters drawn
    again = list(cluster_bootstrap_indices(clusters, 200, rng=3))
    assert all(np.array_equal(a, b) for a, b in zip(draws, again, strict=True))
    rows, codes = next(cluster_bootstrap_indices(clusters, 1, rng=np.random.default_rng(0), with_clusters=True))
    # a cluster drawn twice gets two codes, so the resample has exactly G distinct clusters
    assert len(rows) == len(codes) and len(np.unique(codes)) == 4
    assert all(len(set(clusters[rows[codes == k]])) == 1 for k in range(4))
    with pytest.raises(NotEstimable):
        cluster_bootstrap_indices(["a", "a"], 10, rng=0)


def test_cluster_bootstrap_variance_of_a_mean_has_the_known_value():
    """Known truth: with G equal clusters the resampled mean is the mean of G cluster means drawn
    with replacement, so its variance is Σⱼ(ȳⱼ − ȳ)²/G²; the row bootstrap would give s²/n, far
    smaller when respondents of one unit answer alike."""
    rng = np.random.default_rng(7)
    G, m = 30, 8
    g = np.repeat(np.arange(G), m)
    y = rng.normal(size=G)[g] + 0.3 * rng.normal(size=G * m)
    means = np.array([y[rows].mean() for rows in cluster_bootstrap_indices(g, 4000, rng=1)])
    cluster_means = y.reshape(G, m).mean(axis=1)
    truth = np.sum((cluster_means - cluster_means.mean()) ** 2) / G**2
    assert means.var() == pytest.approx(truth, rel=0.08)
    assert means.var() > 3 * y.var() / len(y)


@pytest.mark.slow
def test_coverage_with_ten_clusters():
    """Known truth: 10 units, x and errors both correlated within units (ICC 0.5), β = 0.3. CR2
    with Satterthwaite df covers ~95%; HC3, which ignores the units, falls well short, and CR1
    with t(G − 1) less far."""
    rng = np.random.default_rng(20240515)
    g = np.repeat(np.arange(10), 30)
    hits = {"CR2": 0, "CR1": 0, "HC3": 0}
    reps = 400
    start = time.perf_counter()
    for _ in range(reps):
        x = rng.normal(size=10)[g] + rng.normal(size=300)
        y = 1 + 0.3 * x + rng.normal(size=10)[g] + rng.normal(size=300)
        X = np.column_stack([np.ones(300), x])
        for method in ("CR2", "CR1"):
            r = fit_ols_clustered(y, X, g, method=method)
            hits[method] += r.ci_low[1] <= 0.3 <= r.ci_high[1]
        hc3 = sm.OLS(y, X).fit(cov_type="HC3", use_t=True).conf_int()[1]
        hits["HC3"] += hc3[0] <= 0.3 <= hc3[1]
    cover = {k: v / reps for k, v in hits.items()}
    assert 0.92 <= cover["CR2"] <= 0.98, cover
    assert cover["HC3"] < 0.85 and cover["CR1"] < cover["CR2"], cover
    assert time.perf_counter() - start < 120
