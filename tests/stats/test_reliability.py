"""Reliability (:mod:`jianfu.stats.reliability`) against published values, R and simulated truth.

* α: pingouin's ``cronbach_alpha`` (0.5917) and ``cronbach_wide_missing`` (0.8017, listwise)
  datasets; pingouin checks these against R ``psych::alpha``.
* ω: congeneric data simulated with known loadings (truth = (Σλ)² / ((Σλ)² + Σ(1−λ²))), and
  ``psych::fa(fm = "ml")`` on Holzinger & Swineford (1939).
* Item analysis: ``psych::alpha``'s ``r.drop`` and ``alpha.drop``.

Reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``), from the ``hs`` fixture in ``tests/stats/conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from jianfu.stats.reliability import cronbach_alpha, item_analysis, omega_total

ITEMS = [f"x{i}" for i in range(1, 10)]


def test_alpha_matches_pingouin_reference_datasets():
    long = pg.read_dataset("cronbach_alpha")
    wide = long.pivot(index="Subj", columns="Items", values="Scores")
    alpha, ci = cronbach_alpha(wide)
    assert round(alpha, 4) == 0.5917
    assert ci == (0.195, 0.84)
    alpha, _ = cronbach_alpha(pg.read_dataset("cronbach_wide_missing"))
    assert round(alpha, 4) == 0.8017


def test_omega_recovers_simulated_truth():
    rng = np.random.default_rng(42)
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.4])
    eta = rng.standard_normal(20_000)
    x = pd.DataFrame(eta[:, None] * lam + rng.standard_normal((20_000, 5)) * np.sqrt(1 - lam**2))
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    assert omega_total(x) == pytest.approx(truth, abs=0.01)
    assert np.isnan(omega_total(x.iloc[:, :2]))


def test_omega_matches_psych_fa_ml(hs):
    # "## omega_total from a one-factor ML factor analysis (psych::fa, fm = 'ml')"
    assert omega_total(hs[["x1", "x2", "x3"]]) == pytest.approx(0.6350718553, abs=1e-5)
    assert omega_total(hs[["x4", "x5", "x6"]]) == pytest.approx(0.8849615202, abs=1e-5)
    assert omega_total(hs[ITEMS]) == pytest.approx(0.7234613714, abs=1e-5)


def test_item_rest_and_alpha_if_deleted_match_psych_alpha(hs):
    # "## psych::alpha on x1-x9"
    table = item_analysis(hs[ITEMS])
    r_drop = [
        0.5220367208,
        0.2752430624,
        0.3701721208,
        0.5807066421,
        0.525385381,
        0.5951390193,
        0.2457316445,
        0.3690554493,
        0.4947809977,
    ]
    alpha_drop = [
        0.7248063129,
        0.7642312951,
        0.7489559626,
        0.7150013103,
        0.7235720486,
        0.7141539954,
        0.7664368385,
        0.7484244821,
        0.7310302035,
    ]
    assert table["item_rest_r"].to_numpy() == pytest.approx(r_drop, abs=1e-8)
    assert table["alpha_if_deleted"].to_numpy() == pytest.approx(alpha_drop, abs=1e-8)
