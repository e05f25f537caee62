"""Factor structure (:mod:`jianfu.stats.structure`) against psych 2.2.9 and simulated truth.

Reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``), from the ``hs`` fixture in ``tests/stats/conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jianfu.stats import structure

ITEMS = [f"x{i}" for i in range(1, 10)]


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


@pytest.mark.parametrize("n_factors", [1, 3, 5])
def test_parallel_analysis_recovers_the_simulated_number_of_factors(n_factors):
    """Simulated truth: ``n_factors`` uncorrelated factors, four indicators each, loadings .7."""
    rng = np.random.default_rng(100 + n_factors)
    n = 800
    eta = rng.standard_normal((n, n_factors))
    cols = {
        f"f{f}_{k}": 0.7 * eta[:, f] + np.sqrt(1 - 0.49) * rng.standard_normal(n)
        for f in range(n_factors)
        for k in range(4)
    }
    pa = structure.parallel_analysis(pd.DataFrame(cols))
    assert pa["n_factors"] == n_factors
    assert len(pa["observed"]) == len(pa["random"]) == 4 * n_factors


def test_parallel_analysis_random_eigenvalues_match_direct_simulation():
    """The Wishart shortcut gives the same reference eigenvalues as correlating random data."""
    n, p = 150, 6
    items = pd.DataFrame(np.random.default_rng(0).standard_normal((n, p)))
    fast = structure.parallel_analysis(items, n_iter=2000, seed=1)["random"]
    rng = np.random.default_rng(2)
    direct = np.quantile(
        [np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)), rowvar=False))[::-1] for _ in range(2000)],
        0.95,
        axis=0,
    )
    assert fast == pytest.approx(direct, abs=0.03)


def test_efa_recovers_simple_structure(hs):
    e = structure.efa(hs[ITEMS], 3)
    main = e["loadings"].abs().idxmax(axis=1)
    assert main[["x1", "x2", "x3"]].nunique() == main[["x4", "x5", "x6"]].nunique() == 1
    assert len({main["x1"], main["x4"], main["x7"]}) == 3
    assert e["factor_correlations"].shape == (3, 3)


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
