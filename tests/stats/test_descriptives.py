"""Correlations and group comparisons (:mod:`jianfu.stats.descriptives`) against R (psych, ``t.test``, ``oneway.test``).

Reference values come from ``tests/reference/hs1939_reference.R``; its printed output is kept
beside it in ``hs1939_reference.txt`` (section names are quoted in each test). Games–Howell, η² with its
noncentral-F interval, ω² and the studentized range come from ``tests/reference/posthoc_reference.R`` (output in
``posthoc_reference.txt``: ``ptukey``/``qtukey`` by formula, checked there against ``rstatix::games_howell_test``, and
``effectsize``), on R's ``PlantGrowth`` (written out below) and Holzinger & Swineford. The data are
Holzinger & Swineford (1939), N = 301, as shipped by semopy (the same table as lavaan's
``HolzingerSwineford1939``), from the ``hs`` fixture in ``tests/stats/conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_output import read_keyed
from scipy import stats

from jianfu.stats.descriptives import (
    _noncentrality_interval,
    _studentized_range,
    _studentized_range_quantile,
    compare_groups,
    correlation_table,
    eta_squared,
    games_howell,
    stars,
)

FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
POSTHOC = read_keyed("posthoc_reference.txt")
#: R's PlantGrowth: dried weight of plants under a control and two treatments.
PLANT_GROWTH = {
    "ctrl": [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14],
    "trt1": [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69],
    "trt2": [6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26],
}


def _datasets(hs: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str, str, list]]:
    """The three comparisons of posthoc_reference.R as (data, outcome, grouping, levels in R's factor order)."""
    plants = pd.DataFrame([(g, w) for g, ws in PLANT_GROWTH.items() for w in ws], columns=["group", "weight"])
    graded = hs.dropna(subset=["grade"])
    graded = graded.assign(sg=graded["school"].str[:1] + graded["grade"].astype(int).astype(str))
    return {
        "plantgrowth": (plants, "weight", "group", list(PLANT_GROWTH)),
        "hs1939": (hs, "x1", "ageyr", sorted(hs["ageyr"].unique())),
        "hs1939_sg": (graded, "x7", "sg", ["G7", "G8", "P7", "P8"]),
    }


def test_correlations_with_p_values_match_psych_corr_test(hs):
    # "## Correlations of unit-weighted factor scores (psych::corr.test, pairwise)"
    scores = pd.DataFrame({f: hs[its].mean(axis=1) for f, its in FACTORS.items()})
    c = correlation_table(scores)
    assert c["r"].loc["visual", "textual"] == pytest.approx(0.313625638, abs=1e-9)
    assert c["r"].loc["textual", "speed"] == pytest.approx(0.2247462738, abs=1e-9)
    assert c["p"].loc["visual", "textual"] == pytest.approx(2.706225064e-08, rel=1e-6)
    assert c["p"].loc["visual", "speed"] == pytest.approx(1.756972172e-06, rel=1e-6)
    assert c["p"].loc["textual", "speed"] == pytest.approx(8.374755607e-05, rel=1e-6)
    assert (c["n"] == 301).all().all()
    assert stars(c["p"].loc["textual", "speed"]) == "***"
    # pairwise n follows missingness
    scores.iloc[:10, 0] = np.nan
    assert correlation_table(scores)["n"].loc["visual", "speed"] == 291


def test_welch_tests_match_r(hs):
    # "## Welch tests": t.test(x1 ~ school) orders groups alphabetically (Grant-White first)
    t = compare_groups(hs, ["x1"], "school", levels=["Grant-White", "Pasteur"])[0]
    assert t["test"] == "Welch t"
    assert t["statistic"] == pytest.approx(-0.08425885917, abs=1e-9)
    assert t["df1"] == pytest.approx(298.3849967, abs=1e-6)
    assert t["p"] == pytest.approx(0.9329071239, abs=1e-9)
    assert t["effect"] == "hedges_g" and t["effect_size"] < 0
    f = compare_groups(hs, ["x1"], "ageyr")[0]
    assert f["test"] == "Welch F"
    assert f["statistic"] == pytest.approx(0.5676225505, abs=1e-8)
    assert (f["df1"], f["df2"]) == pytest.approx((5, 34.24981611), abs=1e-6)
    assert f["p"] == pytest.approx(0.7241268394, abs=1e-8)


def test_group_comparison_leaves_out_tiny_groups(hs):
    data = hs.assign(g=np.where(np.arange(len(hs)) == 0, "solo", hs["school"]))
    res = compare_groups(data, ["x1"], "g")[0]
    assert res["dropped_groups"] == ["solo"] and res["test"] == "Welch t"


@pytest.mark.parametrize("name", ["plantgrowth", "hs1939", "hs1939_sg"])
def test_welch_anova_adds_games_howell_and_eta_squared_as_r(name, hs):
    # "gh <name>/<group1>/<group2>" and "eta2 <name>"
    data, y, by, levels = _datasets(hs)[name]
    entry = compare_groups(data, [y], by, levels=levels)[0]
    assert entry["test"] == "Welch F" and entry["posthoc_method"] == "Games-Howell"
    k = len(levels)
    assert len(entry["posthoc"]) == k * (k - 1) // 2
    for row in entry["posthoc"]:
        ref = POSTHOC["gh", f"{name}/{row['group1']}/{row['group2']}"]
        for key in ("diff", "se", "t", "df"):
            assert row[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-9), key
        assert row["p"] == pytest.approx(ref["p"], rel=1e-5, abs=1e-7)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ref["ci_low"], ref["ci_high"]), abs=1e-6)
    ref = POSTHOC["eta2", name]
    assert entry["effect_size"] == pytest.approx(ref["eta2"], abs=1e-12)
    assert entry["eta2_ci"] == pytest.approx([ref["ci_low"], ref["ci_high"]], abs=1e-7)
    assert entry["omega2"] == pytest.approx(ref["effectsize_omega2"], abs=1e-12)  # 0 when negative (hs1939)
    assert "classic one-way F" in entry["eta2_ci_method"]


@pytest.mark.parametrize("name", ["plantgrowth", "hs1939", "hs1939_sg"])
def test_noncentral_f_bounds_match_uniroot_and_effectsize(name):
    # "eta2 <name>": λ bounds by uniroot in base R; effectsize maps the same λ by λ/(λ + df2) with optim's tolerance
    ref = POSTHOC["eta2", name]
    lo, hi = _noncentrality_interval(ref["f"], ref["df1"], ref["df2"], 0.95)
    assert (lo, hi) == pytest.approx((ref["ncp_low"], ref["ncp_high"]), abs=1e-6)
    assert lo / (lo + ref["df2"]) == pytest.approx(ref["effectsize_low"], abs=2e-4)
    assert hi / (hi + ref["df2"]) == pytest.approx(ref["effectsize_high"], abs=2e-4)


def test_games_howell_and_eta_squared_on_plant_growth():
    gh = games_howell(PLANT_GROWTH)
    assert [(r["group1"], r["group2"]) for r in gh] == [("ctrl", "trt1"), ("ctrl", "trt2"), ("trt1", "trt2")]
    assert gh[2]["p"] == pytest.approx(POSTHOC["gh", "plantgrowth/trt1/trt2"]["p"], abs=1e-8)
    e = eta_squared(PLANT_GROWTH)
    assert e["eta2"] == pytest.approx(POSTHOC["eta2", "plantgrowth"]["eta2"], abs=1e-12)
    assert e["f"] == pytest.approx(POSTHOC["eta2", "plantgrowth"]["f"], abs=1e-9)
    assert (e["df1"], e["df2"]) == (2, 27)
    assert games_howell({"only": [1.0, 2.0]} | {"same": [3.0, 3.0], "also": [3.0, 3.0]})[2]["p"] is None


def test_studentized_range_matches_r_ptukey_and_qtukey():
    # "ptukey q_k_df" and "qtukey p_k_df"
    rows = [v for (kind, _), v in POSTHOC.items() if kind == "ptukey"]
    q, k, df, sf = (np.array([r[key] for r in rows]) for key in ("q", "k", "df", "sf"))
    assert _studentized_range(q, k, df)[0] == pytest.approx(sf, abs=1e-7)
    rows = [v for (kind, _), v in POSTHOC.items() if kind == "qtukey"]
    for r in rows:
        assert float(_studentized_range_quantile(r["p"], r["k"], r["df"])) == pytest.approx(r["q"], abs=1e-6)


@pytest.mark.parametrize("df", [1.0, 1.5, 2.5, 30.0, 1e4, np.inf])
def test_studentized_range_of_two_means_is_the_t_distribution(df):
    """Exact: with k = 2, Q = √2·|t|, including 1 ≤ df < 2 where R's ptukey gives NaN."""
    t = np.array([0.2, 1.0, 2.0, 4.0, 8.0])
    exact = 2 * stats.t.sf(t, df)
    assert _studentized_range(np.sqrt(2) * t, 2, df)[0] == pytest.approx(exact, abs=1e-8)
    assert float(_studentized_range_quantile(0.95, 2, df)) == pytest.approx(
        np.sqrt(2) * stats.t.isf(0.025, df), rel=1e-6
    )


def test_two_group_and_degenerate_entries_carry_empty_posthoc(hs):
    t = compare_groups(hs, ["x1"], "school")[0]
    assert t["posthoc"] == [] and t["eta2_ci"] is None and t["omega2"] is None and t["posthoc_method"] is None


@pytest.mark.slow
def test_games_howell_keeps_the_familywise_error_rate_with_unequal_variances():
    """Null means, group SDs 1–4 and sizes 10–40: P(any p < .05) stays near .05 (Games & Howell, 1976)."""
    rng = np.random.default_rng(11)
    sizes, sds = [10, 20, 30, 40], [4.0, 2.0, 1.0, 1.0]
    hits = [
        min(
            r["p"]
            for r in games_howell(
                {str(g): rng.normal(0, sd, n) for g, (n, sd) in enumerate(zip(sizes, sds, strict=True))}
            )
        )
        < 0.05
        for _ in range(300)
    ]
    assert 0.025 <= np.mean(hits) <= 0.08
