"""Method factors, the marker-variable adjustment and second-order factors against lavaan, and a known truth.

Reference: ``tests/reference/method_bias_reference.R`` and its output ``method_bias_reference.txt`` (lavaan 0.6-14,
``cfa()`` by ML) on psych's ``bfi`` (``ordinal_data.csv``), complete cases (n = 2436), reverse-keyed items recoded
7 − x: the five-trait model, the ULMC and the reverse-keyed method factor (free and equal loadings), two
second-order models, and Lindell & Whitney's marker adjustment computed by hand in R.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference_output import read_keyed

from jianfu.instrument import load_instrument
from jianfu.scoring import keyed_items
from jianfu.stats import method_bias as mb
from jianfu.stats.estimable import NotEstimable
from jianfu.stats.method_bias import (
    Moments,
    marker_adjusted,
    method_bias_checks,
    reverse_method_factor,
    second_order,
    second_order_checks,
    ulmc,
)
from jianfu.synth import Realism, simulate

ROOT = Path(__file__).parents[2]
REF = read_keyed("method_bias_reference.txt")
FACTORS = {f: [f"{f[0].upper()}{i}" for i in range(1, 6)] for f in ("agree", "consc", "extra", "neuro", "open")}
ITEMS = [i for its in FACTORS.values() for i in its]
REVERSE = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]
HIGHER = {"second_order": {"g": list(FACTORS)}, "second_order4": {"g": ["agree", "consc", "extra", "open"]}}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    data = pd.read_csv(ROOT / "tests" / "reference" / "ordinal_data.csv")
    assert len(data) == REF["data", "bfi"]["rows"]
    data = data.dropna()
    data[REVERSE] = 7 - data[REVERSE]
    return data


@pytest.fixture(scope="module")
def moments(bfi) -> Moments:
    return Moments.from_data(bfi, ITEMS)


@pytest.fixture(scope="module")
def ulmc_result(bfi) -> dict:
    return ulmc(bfi, FACTORS)


@pytest.fixture(scope="module")
def reverse_result(moments) -> dict:
    return reverse_method_factor(moments, FACTORS, REVERSE)


def assert_fit_matches(fit: dict, ref: dict) -> None:
    assert fit["df"] == ref["df"]
    assert fit["n_parameters"] == ref["npar"]
    assert fit["chi2"] == pytest.approx(ref["chisq"], abs=1e-4)
    for key in ("cfi", "tli", "rmsea", "srmr"):
        assert fit[key] == pytest.approx(ref[key], abs=1e-6), key
    assert fit["rmsea_ci"] == pytest.approx([ref["rmsea.ci.lower"], ref["rmsea.ci.upper"]], abs=1e-6)
    assert fit["converged"] and fit["proper"] and fit["identified"]


def test_complete_cases_and_estimation_are_reported(moments, ulmc_result):
    assert moments.n == ulmc_result["n"] == REF["data", "bfi"]["complete"] == 2436
    assert moments.n_dropped == ulmc_result["n_dropped"] == 0  # the fixture passes complete cases
    assert ulmc_result["estimation"] == "complete_case_ml"


@pytest.mark.parametrize("technique", ["ulmc", "reverse"])
def test_method_models_match_lavaan(technique, ulmc_result, reverse_result):
    res = ulmc_result if technique == "ulmc" else reverse_result
    assert_fit_matches(res["trait"], REF["fit", "trait"])
    for kind, name in (("free", technique), ("equal", f"{technique}_equal")):
        model = res["models"][kind]
        assert_fit_matches(model["fit"], REF["fit", name])
        lrt = REF["lrt", name]
        assert model["delta"]["chi2"] == pytest.approx(lrt["dchisq"], abs=1e-4)
        assert model["delta"]["df"] == lrt["ddf"]
        assert model["delta"]["p"] == pytest.approx(lrt["p"], rel=1e-4)
        assert model["delta"]["cfi"] == pytest.approx(REF["fit", name]["cfi"] - REF["fit", "trait"]["cfi"], abs=1e-6)
        assert model["method_share"] == pytest.approx(REF["share", name]["method"], abs=1e-5)
        assert len(model["method_loadings"]) == REF["share", name]["items"]
        for item, std in model["method_loadings"].items():
            assert std == pytest.approx(REF["param", f"{name}:method=~{item}"]["std"], abs=1e-4), item
    # Both models are proper, so the verdict rests on the free loadings: ΔCFI = .083 (ULMC), .022 (reverse).
    assert res["basis"] == "free" and res["method"] == res["models"]["free"]["fit"]
    assert res["verdict"] == "flagged" and res["flagged"] is True
    assert res["delta"]["cfi"] > mb.ULMC_RULE["delta_cfi"] and res["method_share"] < mb.ULMC_RULE["method_share"]
    assert res["note"]["zh"].startswith("在特质模型上") and "ΔCFI = +0.0" in res["note"]["en"]


def _models(moments: Moments) -> dict:
    trait = mb._fit_traits(moments, FACTORS)
    models = {"trait": trait}
    for name, items in (("ulmc", ITEMS), ("reverse", REVERSE)):
        models[name] = mb._method_model(moments, FACTORS, items, trait, equal=False)
        models[f"{name}_equal"] = mb._method_model(moments, FACTORS, items, trait, equal=True)
    for name, higher in HIGHER.items():
        models[name] = mb._second_order_model(moments, FACTORS, higher, trait)
    return models


@pytest.mark.parametrize(
    "name", ["trait", "ulmc", "reverse", "ulmc_equal", "reverse_equal", "second_order", "second_order4"]
)
def test_every_free_parameter_and_standard_error_matches_lavaan(name, moments):
    fit = _models(moments)[name]
    table = fit.estimates()
    assert fit.converged and len(table) == REF["fit", name]["npar"]
    # lavaan's optimiser stops up to 5e-5 from the optimum (its gradient there is ~5e-6, ours ~1e-8): its
    # estimates give a slightly larger discrepancy F than ours, so they are matched to 1e-4.
    lavaan = np.array([REF["param", f"{name}:{k}"]["est"] for k in table["name"]])
    f_lavaan = mb._Problem(fit.model, moments.cov.to_numpy()).evaluate(lavaan)[0]
    assert fit.f <= f_lavaan and (f_lavaan - fit.f) * moments.n < 2e-6
    for _, row in table.iterrows():
        ref = REF["param", f"{name}:{row['name']}"]
        assert row.est == pytest.approx(ref["est"], abs=1e-4), row["name"]
        assert row.se == pytest.approx(ref["se"], abs=1e-4), row["name"]
        assert row["std"] == pytest.approx(ref["std"], abs=1e-4), row["name"]


@pytest.mark.parametrize("name", list(HIGHER))
def test_second_order_matches_lavaan(name, moments):
    res = second_order(moments, FACTORS, HIGHER[name])
    assert_fit_matches(res["first_order"], REF["fit", "trait"])
    assert_fit_matches(res["second_order"], REF["fit", name])
    assert res["target"] == pytest.approx(REF["target", name]["t"], abs=1e-8)
    assert res["delta"]["df"] == REF["fit", name]["df"] - REF["fit", "trait"]["df"]
    assert res["delta"]["cfi"] == pytest.approx(REF["fit", name]["cfi"] - REF["fit", "trait"]["cfi"], abs=1e-6)
    for row in res["loadings"]["g"]:
        ref = REF["param", f"{name}:g=~{row['factor']}"]
        assert row["est"] == pytest.approx(ref["est"], abs=1e-4)
        assert row["std"] == pytest.approx(ref["std"], abs=1e-4)
        assert row["r2"] == pytest.approx(ref["std"] ** 2, abs=2e-4)
        assert row["se"] is None if ref["se"] == 0 else row["se"] == pytest.approx(ref["se"], abs=1e-4)
    assert not res["just_identified"]
    assert "Marsh & Hocevar" in res["note"]["en"] and res["note"]["zh"].startswith("二阶因子模型")


def test_three_factors_under_one_are_just_identified(hs):
    factors = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    res = second_order(hs, factors, {"g": list(factors)})
    assert res["just_identified"] and res["delta"]["df"] == 0
    assert res["second_order"]["chi2"] == pytest.approx(res["first_order"]["chi2"], abs=1e-6)
    assert res["first_order"]["chi2"] == pytest.approx(85.306, abs=1e-3)  # lavaan's HS1939 three-factor model
    assert "cannot be tested" in res["note"]["en"]


@pytest.mark.parametrize("choice", ["smallest", "second_smallest"])
def test_marker_adjustment_matches_the_hand_computation_in_r(choice, bfi):
    scores = pd.DataFrame({f: bfi[its].mean(axis=1) for f, its in FACTORS.items()})
    res = marker_adjusted(scores.corr(), len(scores), marker="open", choice=choice)
    assert res["r_m"] == pytest.approx(REF["r_m", choice]["r_m"], abs=1e-10)
    assert res["r_m_with"] == ("agree" if choice == "smallest" else "consc")
    assert res["marker_correlations"] == pytest.approx(
        {k: v for k, v in REF["marker", "open"].items() if k != "n"}, abs=1e-10
    )
    assert len(res["pairs"]) == 6
    for pair in res["pairs"]:
        ref = REF["adjusted", f"{choice}:{pair['a']}~{pair['b']}"]
        assert pair["r"] == pytest.approx(ref["r"], abs=1e-10)
        assert pair["r_adjusted"] == pytest.approx(ref["r_adjusted"], abs=1e-10)
        assert pair["t"] == pytest.approx(ref["t"], rel=1e-8)
        assert pair["p_adjusted"] == pytest.approx(ref["p"], rel=1e-6)
        assert pair["df"] == REF["marker", "open"]["n"] - 3
    assert res["n_significant"] == {"before": 6, "after": 6} and res["lost_significance"] == []


def test_marker_adjustment_edge_cases():
    r = pd.DataFrame([[1, 0.3, -0.1], [0.3, 1, 0.05], [-0.1, 0.05, 1]], index=["x", "y", "m"], columns=["x", "y", "m"])
    # One positive marker correlation: the second smallest falls back to it.
    one = marker_adjusted(r, 50, marker="m")
    assert one["r_m"] == 0.05 and one["r_m_with"] == "y"
    assert one["pairs"][0]["r_adjusted"] == pytest.approx((0.3 - 0.05) / 0.95)
    # No positive one: no evidence of method variance, nothing to subtract.
    r.loc["m", "y"] = r.loc["y", "m"] = -0.02
    none = marker_adjusted(r, 50, marker="m")
    assert none["r_m"] == 0.0 and none["pairs"][0]["r_adjusted"] == pytest.approx(0.3)
    # r_M given directly; a pair left out; pairwise sample sizes.
    n = pd.DataFrame(40, index=r.index, columns=r.columns)
    given = marker_adjusted(r.loc[["x", "y"], ["x", "y"]], n, marker_r=0.1)
    assert given["pairs"][0]["n"] == 40 and given["pairs"][0]["df"] == 37
    assert marker_adjusted(r, 50, marker="m", skip_pairs={frozenset(("x", "y"))})["pairs"] == []
    with pytest.raises(ValueError, match="either"):
        marker_adjusted(r, 50)
    with pytest.raises(ValueError, match="choice"):
        marker_adjusted(r, 50, marker="m", choice="largest")


def _survey(n: int, method: float, seed: int) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Four correlated traits × five items, standardised; ``method`` = every item's loading on a method factor."""
    rng = np.random.default_rng(seed)
    traits = rng.multivariate_normal(np.zeros(4), 0.3 + 0.7 * np.eye(4), size=n)
    lam = rng.uniform(0.5, 0.7, size=20)
    common = rng.normal(size=(n, 1))
    noise = rng.normal(size=(n, 20)) * np.sqrt(1 - lam**2 - method**2)
    x = np.repeat(traits, 5, axis=1) * lam + common * method + noise
    cols = [f"{f}{i}" for f in "abcd" for i in range(1, 6)]
    return pd.DataFrame(x, columns=cols), {f: [f"{f}{i}" for i in range(1, 6)] for f in "abcd"}


@pytest.mark.parametrize("seed", range(5))
def test_known_truth_a_method_factor_is_flagged_and_its_absence_is_not(seed):
    # A method factor shared by every item (true share .36): correlated traits absorb most of what it adds to
    # the covariances, so ΔCFI stays small and the method share carries the verdict.
    data, factors = _survey(1000, 0.6, seed)
    with_method = ulmc(data, factors)
    assert with_method["verdict"] == "flagged" and with_method["basis"] in ("free", "equal")
    assert 0.25 < with_method["method_share"] < 0.55
    assert with_method["delta"]["chi2"] > 20  # the method factor is still detected by the LR test

    data, factors = _survey(1000, 0.0, seed)
    without = ulmc(data, factors)
    assert without["verdict"] == "not_flagged"
    assert without["delta"]["cfi"] < 0.005 and without["method_share"] < 0.1


def test_known_truth_on_a_simulated_survey():
    """cadre_burden: a reverse-keyed method factor (loading .4) is found, clean data raise no flag."""
    inst = load_instrument(ROOT / "instruments" / "cadre_burden.yaml")
    out = {}
    for label, realism in (("method", Realism(reverse_method_loading=0.4)), ("clean", False)):
        survey = simulate(inst, n=1000, seed=7, inject=False, realism=realism)
        out[label] = method_bias_checks(keyed_items(survey.answers, inst), inst)
        json.dumps(out[label])  # JSON-able as the run summary needs
    method, clean = out["method"], out["clean"]
    reverse_items = [i.id for s in inst.first_order_scales if s.role != "marker" for i in s.items if i.reverse]
    assert method["reverse_method"]["method_items"] == reverse_items and len(reverse_items) >= 3
    assert method["reverse_method"]["verdict"] == "flagged"
    assert 0.08 < method["reverse_method"]["method_share"] < 0.25  # .4² = .16 before cutting into 5 categories
    assert clean["reverse_method"]["verdict"] == "not_flagged" and clean["reverse_method"]["method_share"] < 0.05
    assert clean["ulmc"]["verdict"] == "not_flagged"
    # The marker (impression management) is generated independent of every construct.
    assert "impression_management" not in clean["factors"]
    assert clean["marker"]["marker"] == "impression_management" and abs(clean["marker"]["r_m"]) < 0.1
    assert clean["ulmc"]["estimation"] == "two_stage_em_ml"  # clean data keep 1% blanks: EM moments
    assert clean["ulmc"]["n"] == 1000 and clean["ulmc"]["n_dropped"] == 0


def test_second_order_burden_recovers_the_generating_loadings():
    inst = load_instrument(ROOT / "instruments" / "cadre_burden.yaml")
    survey = simulate(inst, n=2000, seed=11, inject=False, realism=False)
    res = second_order_checks(keyed_items(survey.answers, inst), inst)
    burden = res["burden"]
    assert list(res) == ["burden"] and burden["higher"]["burden"] == inst.scale("burden").subscales
    # The synthetic burden subscales load .8 on burden (instruments/cadre_burden.synth.yaml).
    for row in burden["loadings"]["burden"]:
        assert row["std"] == pytest.approx(0.8, abs=0.06), row["factor"]
    assert burden["target"] > 0.95 and burden["second_order"]["converged"]
    json.dumps(res)


def test_em_moments_for_incomplete_rows():
    data, factors = _survey(600, 0.6, 1)
    rng = np.random.default_rng(4)
    holes = data.mask(rng.random(data.shape) < 0.03)
    holes.loc[5] = np.nan  # a row with no answer at all
    res = ulmc(holes, factors)
    assert res["estimation"] == "two_stage_em_ml" and res["n"] == 599 and res["n_dropped"] == 1
    listwise = ulmc(holes, factors, missing="listwise")
    assert listwise["estimation"] == "complete_case_ml" and listwise["n"] == len(holes.dropna())
    # Two-stage ML on all 599 rows recovers the truth (share .36).
    assert res["verdict"] == "flagged" and res["method_share"] == pytest.approx(0.36, abs=0.15)


def test_preconditions_are_reported():
    data, factors = _survey(300, 0.0, 2)
    with pytest.raises(NotEstimable, match="at least 3"):
        reverse_method_factor(data, factors, ["a1", "b1"])
    with pytest.raises(NotEstimable, match="fewer than 3"):
        second_order(data, factors, {"g": ["a", "b"]})
    with pytest.raises(NotEstimable, match="fewer than 2 items"):
        ulmc(data, {"a": ["a1"], "b": ["b1", "b2"]})
    with pytest.raises(KeyError):
        second_order(data, factors, {"g": ["a", "b", "z"]})
    with pytest.raises(ValueError, match="missing"):
        ulmc(data, factors, missing="pairwise")
    small = data.iloc[:15]
    with pytest.raises(NotEstimable, match="complete rows"):
        ulmc(small, factors, missing="listwise")


def test_no_marker_scale_is_said_so():
    inst = load_instrument(ROOT / "instruments" / "cadre_burden.yaml")
    inst = inst.model_copy(update={"scales": [s for s in inst.scales if s.role != "marker"]})
    survey = simulate(inst, n=300, seed=3, inject=False, realism=False)
    out = method_bias_checks(keyed_items(survey.answers, inst), inst)
    assert out["marker"]["estimable"] is False and "marker" in out["marker"]["reason"]["en"]


def test_too_few_reverse_items_and_composites_in_the_marker_table():
    """The burden subscales alone have no reverse-keyed item; the composite is never paired with its parts."""
    inst = load_instrument(ROOT / "instruments" / "cadre_burden.yaml")
    burden = inst.scale("burden")
    keep = {*burden.subscales, "burden", "impression_management"}
    inst = inst.model_copy(update={"scales": [s for s in inst.scales if s.id in keep]})
    survey = simulate(inst, n=600, seed=9, inject=False, realism=False)
    out = method_bias_checks(keyed_items(survey.answers, inst), inst)
    assert out["factors"] == burden.subscales
    assert out["ulmc"]["verdict"] in ("flagged", "not_flagged", "inconclusive")
    assert out["reverse_method"]["estimable"] is False and "0 reverse-keyed" in out["reverse_method"]["reason"]["en"]
    pairs = {frozenset((p["a"], p["b"])) for p in out["marker"]["pairs"]}
    assert len(pairs) == 10  # the five subscales pairwise; burden × its own subscales left out
    assert not any("burden" in pair for pair in pairs)
    assert set(out["marker"]["marker_correlations"]) == set(burden.subscales)


@pytest.mark.slow
def test_production_size_fits_in_seconds():
    inst = load_instrument(ROOT / "instruments" / "cadre_burden.yaml")
    survey = simulate(inst, n=3000, seed=5)
    keyed = keyed_items(survey.answers[~survey.flags.any(axis=1)], inst)
    start = time.perf_counter()
    out = method_bias_checks(keyed, inst)
    elapsed = time.perf_counter() - start
    assert len(out["ulmc"]["method_items"]) >= 80 and len(out["factors"]) >= 15
    assert out["ulmc"]["trait"]["converged"] and out["reverse_method"]["basis"] == "free"
    # About 5 s on an idle 2-core machine (EM moments once, four method models, two trait fits); room for CI.
    assert elapsed < 60
