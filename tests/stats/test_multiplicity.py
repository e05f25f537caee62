"""Adjusted p-values and effect sizes against base R, and Hedges' g's interval against a known truth.

Reference: ``tests/reference/multiplicity_reference.R`` and its output ``multiplicity_reference.txt``
(``p.adjust`` holm/BH; Hedges' g, η², ω² and their noncentral t / F intervals computed by formula in
base R, the formulas cited in the script) on mtcars, ToothGrowth, PlantGrowth and InsectSprays
(written to ``multiplicity_data.csv``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jianfu.stats.estimable import NotEstimable
from jianfu.stats.multiplicity import adjust, eta_squared, hedges_g, omega_squared, oneway_anova

REF = Path(__file__).parents[1] / "reference"


def _reference() -> dict[tuple[str, str], dict[str, str]]:
    """``(statistic, case) -> {key: value}``; the ``padjust`` lines keep their vector as ``values``."""
    out = {}
    for line in (REF / "multiplicity_reference.txt").read_text().splitlines():
        kind, case, *rest = line.split()
        if kind == "padjust":
            out[kind, case] = {"values": [float("nan") if v == "NA" else float(v) for v in rest]}
        else:
            out[kind, case] = {rest[i]: rest[i + 1] for i in range(0, len(rest), 2)}
    return out


REFERENCE = _reference()
DATA = pd.read_csv(REF / "multiplicity_data.csv")


@pytest.mark.parametrize("method, r_name", [("holm", "holm"), ("bh", "BH"), ("BH", "BH"), ("fdr", "BH")])
def test_adjust_matches_p_adjust_with_missing_values(method, r_name):
    p = REFERENCE["padjust", "input"]["values"]
    expected = REFERENCE["padjust", r_name]["values"]
    got = adjust(p, method)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert got[~np.isnan(got)] == pytest.approx(np.array(expected)[~np.isnan(expected)], rel=1e-10)


def test_adjust_keeps_a_series_index_and_counts_only_present_p():
    p = pd.Series([0.01, None, 0.02], index=["leader", "level", "tenure"], name="p")
    out = adjust(p, "holm")
    assert list(out.index) == ["leader", "level", "tenure"] and out.name == "p"
    assert out["leader"] == pytest.approx(0.02) and np.isnan(out["level"])  # m = 2, not 3
    assert np.isnan(adjust([np.nan, np.nan], "bh")).all() and adjust([], "holm").size == 0
    with pytest.raises(ValueError):
        adjust([0.2, 1.2], "holm")
    with pytest.raises(ValueError):
        adjust([0.2], "bonferroni")


@pytest.mark.parametrize("case", ["mtcars", "ToothGrowth", "doc"])
def test_hedges_g_and_noncentral_t_interval_match_r(case):
    r = REFERENCE["hedges", case]
    d = DATA[DATA.dataset == case]
    res = hedges_g(d.value[d.group == r["x"]], d.value[d.group == r["y"]])
    assert res.ci_method == "noncentral t" and res.level == 0.95
    for ours, key in [("estimate", "g"), ("ci_low", "ci_low"), ("ci_high", "ci_high")]:
        assert getattr(res, ours) == pytest.approx(float(r[key]), rel=1e-7), key


@pytest.mark.parametrize("case", ["PlantGrowth", "InsectSprays"])
def test_oneway_table_eta_and_omega_squared_match_r(case):
    d = DATA[DATA.dataset == case]
    table = oneway_anova(d.value, d.group)
    r = REFERENCE["anova", case]
    assert (table.df_effect, table.df_error) == (int(r["df_effect"]), int(r["df_error"]))
    for ours, key in [("ss_effect", "ss_effect"), ("ss_error", "ss_error"), ("f", "F"), ("p", "p")]:
        assert getattr(table, ours) == pytest.approx(float(r[key]), rel=1e-9), key
    r = REFERENCE["pve", case]
    args = (table.ss_effect, table.ss_error, table.df_effect, table.df_error)
    eta, omega = eta_squared(*args), omega_squared(*args)
    assert eta.estimate == pytest.approx(float(r["eta2"]), rel=1e-10)
    assert omega.estimate == pytest.approx(float(r["omega2"]), rel=1e-10)
    # R's pf(ncp = λ) is accurate to about 1e-9, so the limits agree to about 8 digits.
    for es in (eta, omega):
        assert (es.ci_low, es.ci_high) == pytest.approx((float(r["ci_low"]), float(r["ci_high"])), rel=1e-6)


def test_small_f_gives_zero_omega_and_a_zero_lower_limit():
    r = REFERENCE["pve", "small_F"]
    eta, omega = eta_squared(2, 100, 2, 27), omega_squared(2, 100, 2, 27)
    assert eta.estimate == pytest.approx(float(r["eta2"]), rel=1e-10)
    assert omega.estimate == 0.0 == float(r["omega2"])
    assert eta.ci_low == 0.0 == omega.ci_low
    assert eta.ci_high == pytest.approx(float(r["ci_high"]), rel=1e-6)


def test_not_estimable_inputs():
    with pytest.raises(NotEstimable):
        hedges_g([1.0], [2.0, 3.0])
    with pytest.raises(NotEstimable):
        hedges_g([1.0, 1.0], [2.0, 2.0])
    with pytest.raises(NotEstimable):
        oneway_anova([1.0, 2.0, 3.0], ["a", "a", "a"])
    # NaN are dropped, not propagated
    assert hedges_g([5.1, 4.9, np.nan, 6.2], [4.2, 4.8, 5.0]).estimate == pytest.approx(
        hedges_g([5.1, 4.9, 6.2], [4.2, 4.8, 5.0]).estimate
    )


def test_hedges_g_interval_covers_the_true_effect_95_percent_of_the_time():
    """Known truth: normal groups of 8 and 12 with δ = 0.5; the noncentral-t interval is exact, so its
    coverage is 0.95 up to Monte-Carlo error (SE 0.007 with 1,000 replications)."""
    rng = np.random.default_rng(42)
    reps, hits = 1000, 0
    for _ in range(reps):
        res = hedges_g(rng.normal(0.5, 1, 8), rng.normal(0, 1, 12))
        hits += res.ci_low <= 0.5 <= res.ci_high
    assert 0.93 <= hits / reps <= 0.97
