"""Reliability (:mod:`jianfu.stats.reliability`) against published values, R and simulated truth.

* α: pingouin's ``cronbach_alpha`` (0.5917) and ``cronbach_wide_missing`` (0.8017, listwise)
  datasets; pingouin checks these against R ``psych::alpha``.
* ω: congeneric data simulated with known loadings (truth = (Σλ)² / ((Σλ)² + Σ(1−λ²))), and
  ``psych::fa(fm = "ml")`` on Holzinger & Swineford (1939).
* Item analysis: ``psych::alpha``'s ``r.drop`` and ``alpha.drop``.

* ω with signed loadings, its bootstrap interval and warnings: ``tests/reference/reliability_fixes_reference.R``
  (output in ``reliability_fixes_reference.txt``; factanal, semTools ``compRelSEM``, ``psych::omega`` and lavaan's
  delta-method SE) on ``psych::bfi``'s agreeableness items with A1 left unreversed, read from
  ``tests/reference/ordinal_data.csv`` (the same ``bfi[, 1:25]``); interval coverage on simulated truth.

Other reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``), from the ``hs`` fixture in ``tests/stats/conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from reference_output import REF, read_keyed

from jianfu.stats.reliability import (
    OMEGA_KIND,
    ReliabilityWarning,
    cronbach_alpha,
    item_analysis,
    omega,
    omega_total,
    one_factor_ml,
)

ITEMS = [f"x{i}" for i in range(1, 10)]
AGREE = [f"A{i}" for i in range(1, 6)]
REFERENCE = read_keyed("reliability_fixes_reference.txt")


@pytest.fixture(scope="module")
def agree() -> pd.DataFrame:
    """psych::bfi A1–A5 as answered (A1 is reverse-worded and NOT reversed here), complete rows."""
    return pd.read_csv(REF / "ordinal_data.csv")[AGREE].dropna()


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


def _congeneric(rng: np.random.Generator, n: int, lam: np.ndarray) -> pd.DataFrame:
    eta = rng.standard_normal(n)
    return pd.DataFrame(eta[:, None] * lam + rng.standard_normal((n, len(lam))) * np.sqrt(1 - lam**2))


def test_omega_keeps_the_sign_of_a_miskeyed_items_loading(agree):
    # "loadings bfi_agree_unreversed" / "omega bfi_agree_unreversed": factanal, compRelSEM, psych::omega
    ref = REFERENCE["omega", "bfi_agree_unreversed"]
    r = omega(agree, n_boot=0)
    assert r.n == ref["n"] == 2709
    assert list(r.loadings.values()) == pytest.approx(
        list(REFERENCE["loadings", "bfi_agree_unreversed"].values()), abs=1e-6
    )
    assert r.omega == pytest.approx(ref["signed"], abs=1e-6)
    assert r.omega == pytest.approx(ref["compRelSEM"], abs=1e-6)
    assert r.omega < ref["abs"] - 0.1  # |λ| (jianfu before the fix, psych::omega's default flip) hides A1
    assert r.negative_items == ("A1",)
    assert r.kind == OMEGA_KIND == "omega_total (one factor, standardised items)"
    assert len(r.warnings) == 1 and "A1" in r.warnings[0]["zh"] and "A1" in r.warnings[0]["en"]
    # psych::omega(flip = FALSE) divides by the observed variance 1'R1 of the sum: same loadings, other denominator
    psi = 1 - np.array(list(r.loadings.values())) ** 2
    assert 1 - psi.sum() / agree.corr().to_numpy().sum() == pytest.approx(ref["psych_noflip"], abs=1e-6)


def test_omega_of_the_correctly_keyed_scale_has_no_warning(agree):
    # "omega bfi_agree_keyed": 7 − A1
    r = omega(agree.assign(A1=7 - agree["A1"]), n_boot=0)
    assert r.omega == pytest.approx(REFERENCE["omega", "bfi_agree_keyed"]["signed"], abs=1e-6)
    assert r.negative_items == () and r.warnings == ()
    assert min(r.loadings.values()) > 0


def test_omega_total_warns_with_the_item_name_and_returns_the_signed_value(agree):
    with pytest.warns(ReliabilityWarning, match="A1"):
        value = omega_total(agree)
    assert value == pytest.approx(REFERENCE["omega", "bfi_agree_unreversed"]["signed"], abs=1e-6)


def test_bootstrap_interval_matches_the_robust_delta_method(agree):
    """A case bootstrap estimates the sandwich SE (lavaan MLR), not the normal-theory one: the items are skewed."""
    ref = REFERENCE["omega", "bfi_agree_unreversed"]
    r = omega(agree)
    assert r.n_boot == 1000 and r.ci_level == 0.95
    lo, hi = r.ci
    assert lo < r.omega < hi
    assert (hi - lo) / (2 * 1.959964) == pytest.approx(ref["se_mlr"], rel=0.1)
    assert (hi - lo) / (2 * 1.959964) > ref["se_ml"] * 1.15
    assert lo == pytest.approx(r.omega - 1.959964 * ref["se_mlr"], abs=0.004)
    assert hi == pytest.approx(r.omega + 1.959964 * ref["se_mlr"], abs=0.004)
    assert 0 < r.ci_mc_error < 0.003
    assert omega(agree).ci == r.ci  # seeded
    d = r.to_dict()
    assert d["ci"] == [lo, hi] and d["kind"] == OMEGA_KIND and d["negative_items"] == ["A1"]
    assert d["ci_method"] == "percentile bootstrap" and "estimable" not in d


def test_bootstrap_budget_caps_resamples_on_large_samples():
    x = _congeneric(np.random.default_rng(8), 20_000, np.array([0.7, 0.6, 0.5, 0.6]))
    r = omega(x)
    assert r.n_boot == 200  # 4·10⁶ resampled rows / 20 000
    assert r.ci[1] - r.ci[0] < 0.02 and r.ci_mc_error < 0.002
    assert omega(x.iloc[:1000]).n_boot == 1000


@pytest.mark.slow
def test_bootstrap_interval_covers_the_simulated_truth():
    """Congeneric data with known loadings: the 95% interval covers the true ω in about 95% of samples."""
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.4])
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    rng = np.random.default_rng(2024)
    hits = [
        (lambda c: c[0] <= truth <= c[1])(omega(_congeneric(rng, 300, lam), n_boot=400, seed=s).ci) for s in range(150)
    ]
    assert 0.90 <= np.mean(hits) <= 0.985


def test_one_factor_ml_on_a_stack_equals_one_at_a_time(hs):
    sets = [hs[["x1", "x2", "x3"]], hs[["x4", "x5", "x6"]], hs[["x7", "x8", "x9"]]]
    stack = np.stack([s.corr().to_numpy() for s in sets])
    lam, psi, ok = one_factor_ml(stack)
    assert ok.all()
    for b, s in enumerate(sets):
        single = one_factor_ml(s.corr().to_numpy())
        assert lam[b] == pytest.approx(single[0], abs=1e-8)
        assert psi[b] == pytest.approx(1 - lam[b] ** 2, abs=1e-8)


def test_omega_names_heywood_cases_constant_items_and_says_when_it_cannot_estimate():
    # r(hey, b) = r(hey, c) = .8, r(b, c) = .4: one factor needs λ_hey² = .8 · .8 / .4 = 1.6 > 1, a Heywood case
    corr = np.array([[1, 0.8, 0.8], [0.8, 1, 0.4], [0.8, 0.4, 1]])
    x = pd.DataFrame(np.random.default_rng(4).multivariate_normal(np.zeros(3), corr, 2000), columns=["hey", "b", "c"])
    r = omega(x.assign(flat=3.0), n_boot=0)
    assert list(r.loadings) == ["hey", "b", "c"] and any("flat" in w["en"] for w in r.warnings)
    assert [w["en"].split()[1] for w in r.warnings if "Heywood" in w["en"]] == ["hey's"]
    small = omega(x[["b", "c"]])
    assert np.isnan(small.omega) and small.ci is None
    assert small.to_dict()["estimable"] is False and small.to_dict()["omega"] is None
    assert "3" in small.reason["en"]
