"""The sensitivity sheet: hypothesis models as reported, by multiple imputation and with flagged rows."""

from __future__ import annotations

from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.sensitivity import M_IMPUTATIONS, MI_THRESHOLD
from jianfu.synth import simulate, write_survey


def test_each_hypothesis_model_is_refitted_three_ways(inst, plan, tmp_path):
    survey = simulate(inst, n=500, seed=61)
    path = write_survey(survey, inst, tmp_path / "w.xlsx")
    summary = workflow.run_files([path], inst, plan, "w", engine.Settings.under(tmp_path / "d", tmp_path / "r"))
    declared = {m.id for m in plan.models if m.findings and m.type == "ols"}
    assert set(summary.sensitivity) == declared
    for model_id, entry in summary.sensitivity.items():
        n = entry["n"]
        assert n["listwise"] == summary.models[model_id]["n"]
        # Flagged rows come back (except duplicates and invalid cells): never fewer rows.
        assert n["with_flagged"] >= n["listwise"]
        if entry["incomplete_share"] > MI_THRESHOLD:
            assert entry["m"] == M_IMPUTATIONS and n["mi"] > n["listwise"]
        else:
            assert entry["reasons"]["mi"]["zh"]
        for term, versions in entry["terms"].items():
            reported = summary.models[model_id]["terms"][term]
            assert versions["listwise"]["b"] == reported["b"]
            if versions["mi"]:
                lo, hi, b = versions["mi"]["ci_low"], versions["mi"]["ci_high"], versions["mi"]["b"]
                assert lo < b < hi
    ws = load_workbook(summary.report)["敏感性分析"]
    text = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert any("多重插补" in v for v in text)
