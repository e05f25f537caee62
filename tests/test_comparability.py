"""Scale means are compared across groups and waves only where the items measure the same thing.

Known truth: synthetic surveys where one item's intercept differs between groups (or waves) and
surveys where nothing differs; the invariance ladder (multi-group CFA, Chen 2007) must tell them
apart, and the wave comparison must withhold exactly the scale that is not comparable.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.comparability import invariance_across, weakest
from jianfu.scoring import keyed_items
from jianfu.synth import simulate, write_survey

SHIFTED_SCALE = "incentive_power"


def _shift_item(answers, inst, mask, scale_id=SHIFTED_SCALE, by=1.0):
    """Move one item's answers up by ``by`` categories in the rows of ``mask`` (an intercept difference)."""
    item = next(s for s in inst.scales if s.id == scale_id).items[1].id
    answers.loc[mask, item] = np.clip(answers.loc[mask, item] + by, 1, 5)
    return item


def test_an_intercept_difference_is_found_in_that_scale_only(inst):
    # Without response styles: a +1 category shift clipped at 5 under acquiescence also changes the loading,
    # so the known truth ("only this intercept differs") holds only on data without them.
    survey = simulate(inst, n=1600, seed=41, inject=False, realism=False)
    answers = survey.answers
    item = _shift_item(answers, inst, answers["level"] == "街道")
    keyed = keyed_items(answers, inst)
    result = invariance_across(keyed, answers["level"], inst)
    shifted = result[SHIFTED_SCALE]
    assert shifted["decision"] in ("partial_scalar", "metric")
    if shifted["decision"] == "partial_scalar":
        assert shifted["freed"] == [item]
    others = [s for s in ("accountability_pressure", "coordination_power", "exhaustion", "initiative")]
    assert all(result[s]["decision"] == "scalar" for s in others), {s: result[s]["decision"] for s in others}


def test_a_composite_is_as_comparable_as_its_weakest_dimension(inst):
    survey = simulate(inst, n=1200, seed=42, inject=False)
    answers = survey.answers
    composite = next(s for s in inst.scales if s.is_composite)
    _shift_item(answers, inst, answers["leader"] == answers["leader"].dropna().iloc[0], composite.subscales[0], by=2)
    result = invariance_across(keyed_items(answers, inst), answers["leader"], inst)
    assert result[composite.id]["from_subscales"] == list(composite.subscales)
    assert result[composite.id]["decision"] == weakest([result[s]["decision"] for s in composite.subscales])
    assert result[composite.id]["decision"] != "scalar"


def _rows(survey, rows: slice):
    """The respondents ``rows`` of a survey: two waves drawn from one population and one questionnaire."""
    return dataclasses.replace(
        survey,
        answers=survey.answers.iloc[rows].reset_index(drop=True),
        duration_s=survey.duration_s[rows],
        submitted=survey.submitted[rows],
        flags=survey.flags.iloc[rows].reset_index(drop=True),
        latent=survey.latent.iloc[rows].reset_index(drop=True),
        pii=survey.pii.iloc[rows].reset_index(drop=True),
    )


def test_wave_comparison_withholds_the_scale_whose_items_changed_meaning(inst, plan, tmp_path):
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    both = simulate(inst, n=1400, seed=43, inject=False)
    first, second = _rows(both, slice(0, 700)), _rows(both, slice(700, 1400))
    workflow.run_files([write_survey(first, inst, tmp_path / "may.xlsx")], inst, plan, "2026-05", settings)
    _shift_item(second.answers, inst, second.answers.index == second.answers.index, by=2)
    second.pii.iloc[:300] = first.pii.iloc[:300].to_numpy()  # 300 cadres answer again, with the same ID
    summary = workflow.run_files([write_survey(second, inst, tmp_path / "nov.xlsx")], inst, plan, "2026-11", settings)
    by_scale = {s["scale"]: s for s in summary.waves["scales"]}
    assert by_scale[SHIFTED_SCALE]["invariance"] not in ("scalar", "partial_scalar")
    assert "change" not in by_scale[SHIFTED_SCALE] and by_scale[SHIFTED_SCALE]["withheld"]["zh"]
    steady = by_scale["accountability_pressure"]
    assert steady["invariance"] in ("scalar", "partial_scalar") and steady["change"]["diff"] is not None
    assert summary.waves["invariance"][SHIFTED_SCALE]["configural"]["df"] > 0
    # Those who answered both waves are paired, the others independent (partially overlapping samples).
    changes = [s["change"] for s in summary.waves["scales"] if "change" in s]
    assert all(c["method"] == "partially_overlapping" and 200 < c["n_linked"] <= 300 for c in changes)

    # Invariance across the plan's groups sits in the summary and on the validity sheet.
    inv = summary.to_json()["psychometrics"]["invariance"]
    assert set(inv) == set(plan.invariance_groups)
    entry = inv["level"]["accountability_pressure"]
    assert {"configural", "metric", "scalar", "decision", "freed"} <= set(entry)
    assert {"chi2", "df", "cfi", "rmsea", "srmr"} <= set(entry["configural"])

    from openpyxl import load_workbook

    wb = load_workbook(summary.report)
    validity = {c.value for row in wb["信度效度"].iter_rows() for c in row if isinstance(c.value, str)}
    assert any(v.startswith("测量不变性：按") for v in validity)
    waves = [c.value for row in wb["波次对比"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any("未比较均值" in v for v in waves)


@pytest.mark.slow
def test_without_differences_the_ladder_reaches_scalar_in_most_surveys(inst):
    """Known truth: no item differs between groups → scalar invariance in ≥ 90% of surveys (Chen's rule).

    Waves of 1,000 (the low end of real waves), three unequal levels as units fall.
    """
    reached = []
    for seed in range(60):
        # Continuous ML on 5-point items: with acquiescence and unit-driven group differences the ladder
        # reaches scalar in about 83% of realistic surveys (an ordinal estimator is the remedy, issue #16).
        survey = simulate(inst, n=1000, seed=1000 + seed, inject=False, realism=False)
        keyed = keyed_items(survey.answers, inst)
        scale = next(s for s in inst.scales if s.id == "accountability_pressure")
        keyed = keyed[[i.id for i in scale.items]]
        result = invariance_across(keyed, survey.answers["level"], inst)
        reached.append(result["accountability_pressure"]["decision"] == "scalar")
    assert np.mean(reached) >= 0.90, np.mean(reached)


def test_a_wave_of_the_earlier_questionnaire_is_compared_only_on_identical_scales(inst, plan, tmp_path):
    """v1.0 wave in the store, v2.0 wave now: only digital_literacy (every item `same_as: v1.…`) is compared."""
    from jianfu import paths
    from jianfu.comparability import carried_scales
    from jianfu.instrument import load_instrument
    from jianfu.plan import load_plan

    v1_path = paths.INSTRUMENTS_DIR / "cadre_burden_v1.yaml"
    v1 = load_instrument(v1_path)
    assert carried_scales(inst, v1) == ["digital_literacy"]
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    old = simulate(v1, n=500, seed=44, inject=False)
    workflow.run_files(
        [write_survey(old, v1, tmp_path / "v1.xlsx")],
        v1,
        load_plan(paths.analysis_plan_for(v1_path), v1),
        "2025-06",
        settings,
    )
    new = simulate(inst, n=500, seed=45, inject=False)
    summary = workflow.run_files([write_survey(new, inst, tmp_path / "v2.xlsx")], inst, plan, "2026-06", settings)
    waves = summary.waves
    assert waves["waves"] == ["2025-06", "2026-06"] and waves["versions"]["2025-06"]["version"] == "1.0"
    by_scale = {s["scale"]: s for s in waves["scales"]}
    dl = by_scale["digital_literacy"]
    assert dl["waves"]["2025-06"]["n"] > 400 and dl["invariance"] != "not_tested"
    assert "withheld" in dl or dl["change"]["diff"] is not None
    for changed in ("accountability_pressure", "burden", "exhaustion"):
        entry = by_scale[changed]
        assert entry["waves"]["2025-06"]["mean"] is None and "change" not in entry
        assert "版之间有改动" in entry["withheld"]["zh"] and "versions 1.0 and 2.0" in entry["withheld"]["en"]
