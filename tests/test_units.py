"""The wave's coded units list: a typo never splits a unit, and every bad list or cell says where and how to fix it."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from jianfu.ingest.parse import ingest_file
from jianfu.ingest.template import RESPONSE_SHEET, UNITS_SHEET, question_text, write_template
from jianfu.ingest.units import UnitsError, load_units
from jianfu.synth import simulate, write_survey


@pytest.fixture(scope="module")
def survey(inst):
    return simulate(inst, n=120, seed=51, inject=False, realism=False)


def _units_yaml(names: list[str], path, extra: str = "") -> str:
    lines = ["units:"] + [f"  - {{code: U{k:02d}, name: {n}}}" for k, n in enumerate(names, start=1)]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def test_codes_and_aliases_become_the_name_and_a_typo_is_an_invalid_cell_with_the_fix(inst, survey, tmp_path):
    names = sorted(survey.answers["unit"].unique())
    units = load_units(_units_yaml(names, tmp_path / "units.yaml"))
    answers = survey.answers
    answers.loc[0, "unit"] = "U01"  # the code
    answers.loc[1, "unit"] = f" {names[1]} "  # stray spaces
    typo = names[2][:-1] + "真"
    answers.loc[[2, 3], "unit"] = typo
    path = write_survey(survey, inst, tmp_path / "wave.xlsx", fmt="template")

    result = ingest_file(path, inst, units=units)
    assert result.status == "accepted"
    frame = result.frame
    assert frame.loc[0, "unit"] == names[0] and frame.loc[1, "unit"] == names[1]
    assert set(frame["unit"].dropna()) <= set(names)
    assert frame.loc[[2, 3], "unit"].isna().all() and frame.loc[[2, 3], "_invalid_detail"].notna().all()
    (problem,) = [p for p in result.problems if p.code == "unit.not_listed"]
    assert problem.row == 4 and problem.value == typo and problem.file == "wave.xlsx" and problem.column
    assert names[2] in problem.zh and "units.yaml" in problem.en and "2 rows" in problem.en
    # Without a list the unit stays free text, typo included.
    assert ingest_file(path, inst).frame.loc[2, "unit"] == typo


def test_a_units_sheet_works_like_the_yaml(tmp_path):
    path = tmp_path / "units.xlsx"
    pd.DataFrame({"编码": ["A1", "A2"], "单位名称": ["城关镇", "城南街道"], "别名": ["城关", "城南办、城南"]}).to_excel(
        path, index=False
    )
    units = load_units(path)
    assert units.names == ["城关镇", "城南街道"] and units.lookup["城南办"] == "城南街道"


def test_a_broken_list_is_refused_with_line_and_fix(tmp_path):
    path = tmp_path / "units.yaml"
    path.write_text("units:\n  - {code: U01, name: 城关镇}\n  - {code: U01, name: 城南街道}\n  - {name: 河西村}\n")
    with pytest.raises(UnitsError) as err:
        load_units(path)
    text = str(err.value)
    assert "line 3" in text and "U01" in text and "line 4" in text and "code and name are required" in text
    sheet = tmp_path / "units.xlsx"
    pd.DataFrame({"单位": ["城关镇"]}).to_excel(sheet, index=False)
    with pytest.raises(UnitsError, match="编码"):
        load_units(sheet)


def test_the_template_offers_the_list_as_a_drop_down(inst, tmp_path):
    units = load_units(_units_yaml(["城关镇", "城南街道", "河西村"], tmp_path / "units.yaml"))
    wb = load_workbook(write_template(inst, tmp_path / "t.xlsx", units=units))
    assert [c.value for c in wb[UNITS_SHEET]["A"]][1:] == ["城关镇", "城南街道", "河西村"]
    ws = wb[RESPONSE_SHEET]
    unit_col = next(c.column_letter for c in ws[1] if c.value == question_text(inst, "unit"))
    formulas = {dv.formula1 for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith(f"{unit_col}2:")}
    assert formulas == {f"'{UNITS_SHEET}'!$A$2:$A$4"}
