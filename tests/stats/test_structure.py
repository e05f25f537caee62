"""Factor structure (:mod:`jianfu.stats.structure`) against psych 2.2.9 and simulated truth.

Reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). Parallel analysis of both
kinds is checked against ``psych::fa.parallel`` in ``tests/reference/reliability_fixes_reference.R`` (output in
``reliability_fixes_reference.txt``), on Holzinger & Swineford and on ``psych::bfi``'s 25 items (complete rows of
``tests/reference/ordinal_data.csv``, the same ``bfi[, 1:25]``). The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``), from the ``hs`` fixture in ``tests/stats/conftest.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from reference_output import REF, read_keyed

from jianfu.stats import structure

ITEMS = [f"x{i}" for i in range(1, 10)]
REFERENCE = read_keyed("reliability_fixes_reference.txt")


@pytest.fixture(scope="module")
def bfi25() -> pd.DataFrame:
    return pd.read_csv(REF / "ordinal_data.csv").dropna()


def test_kmo_bartlett_and_harman_match_psych(hs):
    # "## KMO and Bartlett's test of sphericity (psych)"
    k = structure.kmo(hs[ITEMS])
    assert k["overall"] == pytest.approx(0.7522445926, abs=1e-8)
    msai = [
        0.8050212266,
        0.7779382854,
        0.7343028773,
        0.7632620453,
        0.7387238565,
        0.8075590548,
        0.5930468106,
        0.6829379392,
        0.7878648519,
    ]
    assert list(k["items"].values()) == pytest.approx(msai, abs=1e-8)
    b = structure.bartlett_sphericity(hs[ITEMS])
    assert b["chi2"] == pytest.approx(904.097051, abs=1e-5)
    assert b["df"] == 36
    assert b["p"] == pytest.approx(1.912078874e-166, rel=1e-6)
    # "## Harman's single factor"
    h = structure.harman_single_factor(hs[ITEMS])
    assert h["share"] == pytest.approx(0.3573715757, abs=1e-9)
    assert not h["flagged"]


def test_harman_flags_a_dominant_method_factor():
    rng = np.random.default_rng(5)
    method = rng.standard_normal(2000)
    items = pd.DataFrame({f"i{k}": 0.8 * method + 0.6 * rng.standard_normal(2000) for k in range(8)})
    assert structure.harman_single_factor(items)["flagged"]


@pytest.mark.parametrize("kind", ["fa", "pc"])
@pytest.mark.parametrize("n_factors", [1, 3, 5])
def test_parallel_analysis_recovers_the_simulated_number_of_factors(n_factors, kind):
    """Simulated truth: ``n_factors`` uncorrelated factors, four indicators each, loadings .7."""
    rng = np.random.default_rng(100 + n_factors)
    n = 800
    eta = rng.standard_normal((n, n_factors))
    cols = {
        f"f{f}_{k}": 0.7 * eta[:, f] + np.sqrt(1 - 0.49) * rng.standard_normal(n)
        for f in range(n_factors)
        for k in range(4)
    }
    pa = structure.parallel_analysis(pd.DataFrame(cols), kind=kind)
    assert pa["n_factors"] == n_factors and pa["kind"] == kind
    assert len(pa["observed"]) == len(pa["random"]) == 4 * n_factors


@pytest.mark.parametrize("kind", ["fa", "pc"])
def test_parallel_analysis_random_eigenvalues_match_direct_simulation(kind):
    """The Wishart shortcut gives the same reference eigenvalues as correlating random data (SMC-reduced for fa)."""
    n, p = 150, 6
    items = pd.DataFrame(np.random.default_rng(0).standard_normal((n, p)))
    fast = structure.parallel_analysis(items, n_iter=2000, seed=1, kind=kind)["random"]
    rng = np.random.default_rng(2)
    direct = []
    for _ in range(2000):
        r = np.corrcoef(rng.standard_normal((n, p)), rowvar=False)
        if kind == "fa":
            np.fill_diagonal(r, 1 - 1 / np.diag(np.linalg.inv(r)))
        direct.append(np.linalg.eigvalsh(r)[::-1])
    assert fast == pytest.approx(np.quantile(direct, 0.95, axis=0), abs=0.03)


@pytest.mark.parametrize("data", ["hs1939", "bfi25"])
def test_parallel_analysis_eigenvalues_and_counts_match_psych_fa_parallel(data, hs, bfi25):
    # "fa_values <data>", "pc_values <data>", "nfact <data>": fa.parallel(fa = "fa", SMC = TRUE) and fa = "pc"
    items = hs[ITEMS] if data == "hs1939" else bfi25
    fa = structure.parallel_analysis(items)
    pc = structure.parallel_analysis(items, kind="pc")
    assert fa["n"] == pc["n"] == REFERENCE["nfact", data]["n"]
    assert fa["observed"] == pytest.approx(list(REFERENCE["fa_values", data].values()), abs=1e-8)
    assert pc["observed"] == pytest.approx(list(REFERENCE["pc_values", data].values()), abs=1e-8)
    assert fa["n_factors"] == REFERENCE["nfact", data]["smc"]
    assert pc["n_factors"] == REFERENCE["nfact", data]["pc"]
    assert (fa["kind"], pc["kind"]) == ("fa", "pc")
    assert "SMC" in fa["kind_label"]["en"] and "SMC" in fa["kind_label"]["zh"]


def test_parallel_analysis_defaults_to_the_factor_kind_and_rejects_others(hs):
    from jianfu.stats.structure import correlation

    pa = structure.parallel_analysis(correlation(hs[ITEMS]), seed=7)  # the call of jianfu.analysis
    assert pa["kind"] == "fa" and pa["n_factors"] == 3
    assert min(pa["observed"]) < 0  # reduced-matrix eigenvalues, not components
    with pytest.raises(ValueError, match="kind"):
        structure.parallel_analysis(hs[ITEMS], kind="ml")


def test_efa_recovers_simple_structure(hs):
    e = structure.efa(hs[ITEMS], 3)
    main = e["loadings"].abs().idxmax(axis=1)
    assert main[["x1", "x2", "x3"]].nunique() == main[["x4", "x5", "x6"]].nunique() == 1
    assert len({main["x1"], main["x4"], main["x7"]}) == 3
    assert e["factor_correlations"].shape == (3, 3)


@pytest.mark.parametrize("n_factors", [1, 2, 3])
def test_minres_gradient_is_the_derivative_of_its_discrepancy(hs, n_factors):
    R = hs[ITEMS].corr().to_numpy()
    psi = np.random.default_rng(n_factors).uniform(0.2, 0.9, len(ITEMS))
    _, grad = structure.uls_objective(psi, R, n_factors)
    h = 1e-6
    for i in range(len(psi)):
        up, down = psi.copy(), psi.copy()
        up[i] += h
        down[i] -= h
        fd = (structure.uls_objective(up, R, n_factors)[0] - structure.uls_objective(down, R, n_factors)[0]) / (2 * h)
        assert grad[i] == pytest.approx(fd, abs=1e-7)


def test_efa_with_the_exact_gradient_recovers_known_loadings_and_the_finite_difference_fit():
    from factor_analyzer import FactorAnalyzer

    # Two correlated factors, five items each, loadings 0.8 / 0.6 / 0.7 …: the population solution.
    rng = np.random.default_rng(11)
    truth = np.zeros((10, 2))
    truth[:5, 0] = [0.8, 0.6, 0.7, 0.5, 0.75]
    truth[5:, 1] = [0.7, 0.8, 0.55, 0.65, 0.6]
    phi = np.array([[1.0, 0.3], [0.3, 1.0]])
    eta = rng.multivariate_normal(np.zeros(2), phi, size=20000)
    x = eta @ truth.T + rng.normal(size=(20000, 10)) * np.sqrt(1 - np.sum((truth @ phi) * truth, axis=1))
    items = pd.DataFrame(x, columns=[f"i{k}" for k in range(10)])
    e = structure.efa(items, 2)
    loadings = e["loadings"].to_numpy()
    order = np.argmax(np.abs(loadings[:5]).sum(axis=0)), np.argmax(np.abs(loadings[5:]).sum(axis=0))
    assert order[0] != order[1]
    assert np.abs(np.abs(loadings[:, list(order)]) - truth).max() < 0.03
    assert abs(abs(e["factor_correlations"].iloc[0, 1]) - 0.3) < 0.03
    # factor_analyzer's own fit (finite-difference gradient) reaches the same optimum
    fa = FactorAnalyzer(n_factors=2, rotation="oblimin", method="minres", is_corr_matrix=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # factor_analyzer 0.5 against scikit-learn ≥ 1.6
        fa.fit(items.corr().to_numpy())
    assert np.abs(loadings - fa.loadings_).max() < 1e-5


def test_scattered_non_response_keeps_every_respondent():
    """5% MCAR blanks: the EM correlations keep all rows and stay close to the complete-data answer."""
    from jianfu.stats.structure import correlation, harman_single_factor, kmo, parallel_analysis

    rng = np.random.default_rng(3)
    eta = rng.normal(size=(2000, 2))
    load = np.kron(np.eye(2), np.full((1, 5), 0.7))
    full = pd.DataFrame(eta @ load + rng.normal(scale=0.7, size=(2000, 10)), columns=[f"i{k}" for k in range(10)])
    holed = full.mask(rng.random(full.shape) < 0.05)
    assert holed.dropna().shape[0] < 1300  # listwise would lose about 40% of the respondents
    c = correlation(holed)
    assert c.method == "em" and c.n == 2000
    assert np.abs(c.matrix.to_numpy() - full.corr().to_numpy()).max() < 0.05
    assert kmo(holed)["overall"] == pytest.approx(kmo(full)["overall"], abs=0.01)
    assert parallel_analysis(holed)["n_factors"] == parallel_analysis(full)["n_factors"] == 2
    assert harman_single_factor(holed)["n"] == 2000
