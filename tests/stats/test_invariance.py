"""Measurement invariance by multi-group CFA against lavaan and against simulated known truths.

Reference: ``tests/reference/invariance_reference.R`` and its output (lavaan 0.6 ``cfa(..., group =
"school", group.equal = ..., group.partial = ...)``, ``fitMeasures``, ``lavTestLRT``, ``lavTestScore``,
``parameterEstimates``) on Holzinger & Swineford (1939) as shipped by semopy — the lavaan tutorial's
invariance example, whose χ² values (115.851, 124.044, 164.103) are also printed in the tutorial.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from semopy.examples import holzinger39

from jianfu.stats.estimable import NotEstimable
from jianfu.stats.invariance import CHEN_2007, compare_steps, invariance_ladder
from jianfu.stats.mgcfa import fit_mgcfa, group_moments, score_test_intercepts

REF = Path(__file__).parents[1] / "reference"
FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
MEASURES = {"chisq": "chi2", "df": "df", "cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "srmr": "srmr"}
# R step name → (group.equal, group.partial)
MODELS = {
    "configural": ((), ()),
    "metric": (("loadings",), ()),
    "scalar": (("loadings", "intercepts"), ()),
    "strict": (("loadings", "intercepts", "residuals"), ()),
    "partial": (("loadings", "intercepts"), ("x3", "x7")),
    "partial_x3": (("loadings", "intercepts"), ("x3",)),
    "strict_partial": (("loadings", "intercepts", "residuals"), ("x3", "x7")),
}


def _reference() -> dict[str, dict]:
    """``KIND key... name value name value`` lines of the R output, keyed by KIND then the keys."""
    n_keys = {"FIT": 1, "FIT3": 1, "LRT": 1, "SCORE": 2, "SCORE3": 1, "MEAN": 2, "MEAN3": 3, "LOADING": 3}
    out: dict[str, dict] = {k: {} for k in n_keys}
    for line in (REF / "invariance_reference.txt").read_text().splitlines():
        kind, *rest = line.split() or [""]
        if kind in n_keys:
            keys, values = tuple(rest[: n_keys[kind]]), rest[n_keys[kind] :]
            out[kind][keys if len(keys) > 1 else keys[0]] = {
                values[i]: float(values[i + 1]) for i in range(0, len(values), 2)
            }
    return out


@pytest.fixture(scope="module")
def ref():
    return _reference()


@pytest.fixture(scope="module")
def hs():
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def moments(hs):
    return group_moments(hs, [i for its in FACTORS.values() for i in its], "school")


@pytest.fixture(scope="module")
def fits(moments):
    return {name: fit_mgcfa(moments, FACTORS, equal=eq, free_intercepts=free) for name, (eq, free) in MODELS.items()}


def test_tutorial_chi_square_known_answers(fits):
    """The lavaan tutorial's figures: configural 115.851 (48), metric 124.044 (54), scalar 164.103 (60)."""
    assert fits["configural"].groups == ["Pasteur", "Grant-White"]  # lavaan's order, first appearance
    got = [(round(fits[s].chi2, 3), fits[s].df) for s in ("configural", "metric", "scalar")]
    assert got == [(115.851, 48), (124.044, 54), (164.103, 60)]


@pytest.mark.parametrize("step", list(MODELS))
def test_fit_measures_match_lavaan(fits, ref, step):
    fit, r = fits[step], ref["FIT"][step]
    assert fit.converged
    for name, attr in MEASURES.items():
        assert getattr(fit, attr) == pytest.approx(r[name], abs=5e-4), name
    assert fit.chi2_baseline == pytest.approx(r["baseline.chisq"], abs=1e-6)
    assert fit.df_baseline == r["baseline.df"]
    assert fit.p == pytest.approx(r["pvalue"], abs=1e-6)


def test_chi_square_differences_match_lavtestlrt(fits, ref):
    for step, base in (("metric", "configural"), ("scalar", "metric"), ("strict", "scalar")):
        change, r = compare_steps(fits[step], fits[base], step), ref["LRT"][f"fits${step}"]
        assert change["delta_chi2"] == pytest.approx(r["dchisq"], abs=5e-4)
        assert change["delta_df"] == r["ddf"]
        assert change["p"] == pytest.approx(r["p"], abs=1e-5)


def test_score_tests_match_lavtestscore(fits, ref):
    for step in ("scalar", "partial_x3"):
        table = score_test_intercepts(fits[step]).set_index("item")
        expected = {item: r for (s, item), r in ref["SCORE"].items() if s == step}
        assert set(table.index) == set(expected)
        for item, r in expected.items():
            assert table.loc[item, "chi2"] == pytest.approx(r["X2"], abs=5e-4), (step, item)
            assert table.loc[item, "df"] == r["df"]
    assert list(score_test_intercepts(fits["scalar"])["item"][:2]) == ["x3", "x7"]


def test_latent_means_and_loadings_match_lavaan(fits, ref):
    for (step, factor), r in ref["MEAN"].items():
        est = fits[step].estimates
        row = est[(est.op == "~1") & (est.lhs == factor) & (est.group == "Grant-White")].iloc[0]
        for col, name in (("est", "est"), ("se", "se"), ("z", "z"), ("p", "p")):
            assert row[col] == pytest.approx(r[name], abs=5e-4), (step, factor, col)
    est = fits["metric"].estimates
    for (_, factor, item), r in ref["LOADING"].items():
        row = est[(est.op == "=~") & (est.lhs == factor) & (est.rhs == item) & (est.group == "Pasteur")]
        if r["se"] == 0:  # the marker: fixed, not estimated
            assert row.empty
        else:
            assert row.iloc[0]["est"] == pytest.approx(r["est"], abs=5e-4)
            assert row.iloc[0]["se"] == pytest.approx(r["se"], abs=5e-4)


def test_three_groups_match_lavaan(hs, ref):
    """√G in RMSEA, joint (df = 2) score tests and two sets of latent means."""
    data = hs.assign(g3="g" + (hs["id"] % 3).astype(str))
    mom = group_moments(data, [i for its in FACTORS.values() for i in its], "g3")
    for step, equal in (("configural", ()), ("metric", ("loadings",)), ("scalar", ("loadings", "intercepts"))):
        fit, r = fit_mgcfa(mom, FACTORS, equal=equal), ref["FIT3"][step]
        for name, attr in MEASURES.items():
            assert getattr(fit, attr) == pytest.approx(r[name], abs=5e-4), (step, name)
    table = score_test_intercepts(fit, ["x3", "x7"]).set_index("item")
    for item, r in ref["SCORE3"].items():
        assert table.loc[item, "chi2"] == pytest.approx(r["X2"], abs=5e-4)
        assert table.loc[item, "df"] == r["df"] == 2
    est = fit.estimates
    for (_, group, factor), r in ref["MEAN3"].items():
        row = est[(est.op == "~1") & (est.lhs == factor) & (est.group == group)].iloc[0]
        assert (row["est"], row["se"]) == (pytest.approx(r["est"], abs=5e-4), pytest.approx(r["se"], abs=5e-4))


def test_ladder_on_the_tutorial_data(hs, ref):
    """Scalar fails Chen's rule (ΔCFI = −.038); freeing x3 then x7 (lavaan's group.partial) passes it."""
    res = invariance_ladder(hs, FACTORS, "school")
    assert res["metric"]["change"]["holds"] and not res["scalar"]["change"]["holds"]
    assert res["decision"] == "partial_scalar"
    assert res["freed"] == ["x3", "x7"] == res["partial_scalar"]["freed"]
    assert [s["item"] for s in res["search"]] == ["x3", "x7"]
    assert res["search"][1]["chi2"] == pytest.approx(ref["SCORE"][("partial_x3", "x7")]["X2"], abs=5e-4)
    for step, key in (("partial_scalar", "partial"), ("strict", "strict_partial")):
        assert res[step]["chi2"] == pytest.approx(ref["FIT"][key]["chisq"], abs=5e-4)
        assert res[step]["cfi"] == pytest.approx(ref["FIT"][key]["cfi"], abs=5e-4)
    assert res["reference_group"] == "Pasteur" and res["n"] == {"Pasteur": 156, "Grant-White": 145}
    means = {m["factor"]: m for m in res["latent_means"]}
    for factor in FACTORS:
        assert means[factor]["est"] == pytest.approx(ref["MEAN"][("partial", factor)]["est"], abs=5e-4)
        assert means[factor]["p"] == pytest.approx(ref["MEAN"][("partial", factor)]["p"], abs=5e-4)
    assert CHEN_2007["scalar"]["delta_cfi"] == -0.010 and res["rule"]["zh"] and res["rule"]["en"]


# --- simulated known truths -------------------------------------------------------------------

SIM_FACTORS = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3", "b4"]}


def _simulate(seed: int, nu_shift=None, lambda_2=None, n: int = 400) -> pd.DataFrame:
    """Two levels of 400 cadres; the second differs in latent means (0, .3) and, when given, in
    intercepts (``nu_shift``) or loadings (``lambda_2``)."""
    rng = np.random.default_rng(seed)
    frames = []
    for g, label in enumerate(["乡镇", "街道"]):
        lam, nu = np.array([1, 0.9, 0.8, 1, 0.9, 0.8, 0.85]), np.full(7, 3.0)
        if g == 1:
            nu = nu + (np.zeros(7) if nu_shift is None else np.asarray(nu_shift))
            lam = lam if lambda_2 is None else np.asarray(lambda_2)
        eta = rng.multivariate_normal([0, 0.3 * g], [[1, 0.4], [0.4, 1]], size=n)
        x = nu + np.column_stack([eta[:, [0]] * lam[:3], eta[:, [1]] * lam[3:]]) + rng.normal(0, 0.6, size=(n, 7))
        frames.append(pd.DataFrame(x, columns=SIM_FACTORS["a"] + SIM_FACTORS["b"]).assign(level=label))
    return pd.concat(frames, ignore_index=True)


ONE_INTERCEPT = [0, 0, 0, 0, 0, 0.5, 0]  # b3 is .5 higher in the second level


@pytest.mark.slow
def test_one_noninvariant_intercept_is_found():
    """b3's intercept differs: in ≥ 18 of 20 surveys the search frees exactly b3; with no
    difference the ladder reaches full scalar invariance in ≥ 18 of 20."""
    shifted = [invariance_ladder(_simulate(seed, ONE_INTERCEPT), SIM_FACTORS, "level") for seed in range(20)]
    assert sum(r["decision"] == "partial_scalar" and r["freed"] == ["b3"] for r in shifted) >= 18
    null = [invariance_ladder(_simulate(seed), SIM_FACTORS, "level")["decision"] for seed in range(20)]
    assert null.count("scalar") >= 18


def test_partial_search_recovers_the_true_latent_mean():
    res = invariance_ladder(_simulate(3, ONE_INTERCEPT, n=1000), SIM_FACTORS, "level")
    assert res["decision"] == "partial_scalar" and res["freed"] == ["b3"]
    means = {m["factor"]: m for m in res["latent_means"]}
    assert means["b"]["est"] == pytest.approx(0.3, abs=2.5 * means["b"]["se"])
    assert means["a"]["est"] == pytest.approx(0.0, abs=2.5 * means["a"]["se"])
    assert res["strict"]["change"]["holds"]  # residual variances are equal by construction


def test_unequal_loadings_stop_at_configural():
    res = invariance_ladder(_simulate(0, lambda_2=[1, 0.3, 0.8, 1, 0.9, 0.3, 0.85]), SIM_FACTORS, "level")
    assert res["decision"] == "configural"
    assert res["metric"]["change"]["delta_cfi"] < -0.010 and res["latent_means"] is None


def test_intercepts_beyond_a_third_of_items_stop_at_metric():
    """Two of a's three intercepts shifted in opposite directions: at most one may be freed."""
    res = invariance_ladder(_simulate(0, nu_shift=[0, 0.6, -0.6, 0, 0, 0, 0]), SIM_FACTORS, "level")
    assert res["decision"] == "metric" and res["freed"] == [] and res["latent_means"] is None
    assert [s["factor"] for s in res["search"]].count("a") == 1
    assert not res["partial_scalar"]["change"]["holds"] and res["strict"] is None


def test_too_small_a_group_is_not_tested():
    data = _simulate(0)
    data.loc[data.index[-395:], "level"] = None  # five 街道 rows stay
    res = invariance_ladder(data, SIM_FACTORS, "level")
    assert res["decision"] == "not_tested" and res["estimable"] is False
    assert "街道" in res["reason"]["zh"] and "5 complete rows" in res["reason"]["en"]
    assert res["configural"] is None and res["latent_means"] is None


def test_single_group_and_unidentified_scale_are_not_tested():
    data = _simulate(1)
    one = invariance_ladder(data.assign(level="乡镇"), SIM_FACTORS, "level")
    assert one["decision"] == "not_tested" and "2" in one["reason"]["en"]
    two_items = invariance_ladder(data, {"a": ["a1", "a2"]}, "level")
    assert two_items["decision"] == "not_tested" and "identified" in two_items["reason"]["en"]
    with pytest.raises(NotEstimable):
        fit_mgcfa(data, {"a": ["a1", "a2"]}, "level")
    with pytest.raises(ValueError):
        fit_mgcfa(data, SIM_FACTORS, "level", equal=("thresholds",))


def test_score_test_is_undefined_when_release_would_unidentify_a_mean():
    """With a2 and a3 free, releasing a1 too would leave factor a's mean without an anchor."""
    data = _simulate(2, ONE_INTERCEPT)
    fit = fit_mgcfa(data, SIM_FACTORS, "level", equal=("loadings", "intercepts"), free_intercepts=("a2", "a3"))
    table = score_test_intercepts(fit).set_index("item")
    assert np.isnan(table.loc["a1", "chi2"]) and table["chi2"].drop("a1").notna().all()
    assert table.index[0] == "b3"  # the one true difference ranks first
    assert score_test_intercepts(fit, []).empty


def test_configural_model_that_does_not_converge_is_not_tested():
    """25 five-point answers per group whose configural solution runs off to a Heywood case (lavaan
    also stops with "the optimizer warns that a solution has NOT been found")."""
    rng = np.random.default_rng(0)
    eta = rng.normal(size=(50, 1))
    x = np.clip(np.round(3 + eta * np.array([0.8, 0.7, 0.6, 0.5]) + rng.normal(0, 0.8, size=(50, 4))), 1, 5)
    data = pd.DataFrame(x, columns=list("abcd")).assign(grp=["A"] * 25 + ["B"] * 25)
    assert not fit_mgcfa(data, {"f": list("abcd")}, "grp").converged
    res = invariance_ladder(data, {"f": list("abcd")}, "grp")
    assert res["decision"] == "not_tested" and "converge" in res["reason"]["en"] and res["metric"] is None
