"""A second, small instrument (tests/fixtures/village) runs end to end: the engine holds no survey knowledge.

Its scales, demographics, analysis plan (headline, coefficient chart, findings) and synthetic
structural model all differ from cadre_burden; the report must still have findings, a profile and
a coefficient chart, written from the plan alone. A static check makes sure no scale or model id
of cadre_burden is a string literal in the engine's code (docstrings may use them as examples).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.instrument import load_instrument
from jianfu.plan import load_plan
from jianfu.synth import load_structural_model, simulate, write_survey

HERE = Path(__file__).parent / "fixtures" / "village"
SRC = Path(__file__).parents[1] / "src" / "jianfu"


@pytest.fixture(scope="module")
def village():
    inst = load_instrument(HERE / "village.yaml")
    return inst, load_plan(HERE / "village.analysis.yaml", inst), load_structural_model(HERE / "village.synth.yaml")


def test_village_runs_end_to_end_to_a_report(village, tmp_path):
    inst, plan, model = village
    survey = simulate(inst, n=400, seed=3, n_units=16, model=model)
    path = write_survey(survey, inst, tmp_path / "村干部.xlsx", fmt="wjx-text")
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    summary = workflow.run_files([path], inst, plan, "2026-11", settings)

    assert summary["instrument"] == {"id": "village", "version": "0.1"}
    assert summary["rows"]["read"] == 400 and summary["rows"]["quarantined"] >= sum(survey.injected.values()) - 1
    assert summary["layout"] == {"headline": "satisfaction", "coefficient_chart": "satisfaction_model", "journal": "cn"}
    # The generating model: workload −0.35, support +0.40 on satisfaction.
    verdicts = {h["term"]: h["verdict"] for h in summary["hypotheses"]}
    assert verdicts == {"workload": "consistent", "support": "consistent"}
    assert set(summary["scales"]) == {"workload", "support", "satisfaction"}
    # Listwise on the model's variables: rows missing a scale score (too few items answered) drop out.
    assert (
        0.9 * summary["rows"]["accepted"] <= summary["models"]["satisfaction_model"]["n"] <= summary["rows"]["accepted"]
    )

    wb = load_workbook(summary["report"])
    cells = [str(c.value) for c in wb.worksheets[0]["A"] if c.value]
    text = "\n".join(cells)
    assert "V1 工作负荷与满意度" in text and "V2 组织支持与满意度" in text
    assert "工作满意度（1–5 分）" in text  # the headline profile from the plan
    assert wb.worksheets[0]._charts, "the headline scale is charted"
    regression = next(ws for ws in wb.worksheets if ws.title == "回归结果")
    assert regression._charts, "the plan's coefficient_chart model is plotted"
    assert not re.search(r"负担|赋能|问责", text)


def test_village_unit_table_leads_with_the_headline(village, tmp_path):
    inst, plan, model = village
    survey = simulate(inst, n=200, seed=4, n_units=8, inject=False, model=model)
    accepted, scores = engine.score(survey.answers.assign(status="accepted"), inst)
    units = engine.overview(accepted, scores, inst, headline="satisfaction")["units"]
    assert units and list(units[0]["means"])[0] == "satisfaction"


def _ids_of_default_survey() -> set[str]:
    from jianfu import paths

    inst = load_instrument(paths.DEFAULT_INSTRUMENT)
    plan = load_plan(paths.analysis_plan_for(paths.DEFAULT_INSTRUMENT), inst)
    return {s.id for s in inst.scales} | {m.id for m in plan.models}


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # Literal[...] values are a type's vocabulary (a scale's role), not survey knowledge.
    typed = {
        id(c)
        for n in ast.walk(tree)
        if isinstance(n, ast.Subscript) and getattr(n.value, "id", "") == "Literal"
        for c in ast.walk(n.slice)
    }
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings | typed
    ]


def test_engine_code_names_no_scale_or_model_of_the_default_survey():
    ids = _ids_of_default_survey()
    pattern = re.compile(r"\b(" + "|".join(sorted(ids, key=len, reverse=True)) + r")\b")
    hits = [
        f"{p.relative_to(SRC)}:{line}: {text!r}"
        for p in sorted(SRC.rglob("*.py"))
        for line, text in _code_strings(p)
        if pattern.search(text)
    ]
    assert not hits, "survey knowledge belongs in instruments/*.yaml:\n" + "\n".join(hits)
