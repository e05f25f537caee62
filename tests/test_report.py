"""The Excel report, opened as a reader would: with openpyxl and with LibreOffice.

Summaries are built with the engine's stage functions (no Prefect), from synthetic surveys
ingested like uploads.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.report.styles import STAT, P
from jianfu.report.text import findings
from jianfu.report.workbook import CHART_SHEETS, SHEETS, sheet_names, write_report
from jianfu.synth import simulate, write_survey

INJECTION = '=HYPERLINK("http://x","y")'


def build_summary(
    survey, inst, plan, tmp: Path, wave: str = "2026-11", name: str = "wjx.xlsx", data_dir: Path | None = None
) -> dict:
    path = tmp / name
    write_survey(survey, inst, path, fmt="wjx-text")
    settings = engine.Settings.under(data_dir or tmp / "data", tmp / "reports")
    results = [engine.ingest_one(path, inst, settings)]
    frame = engine.clean(results, inst)
    engine.store_rows(frame, results, inst, wave, settings)
    return workflow.analyse(frame, results, inst, plan, wave, settings)


@pytest.fixture(scope="module")
def report_case(inst, plan, tmp_path_factory):
    """600 respondents; one open answer is a formula; one unit has only 3 respondents."""
    tmp = tmp_path_factory.mktemp("report")
    survey = simulate(inst, n=600, seed=21)
    answers = survey.answers
    clean_rows = np.flatnonzero(~survey.flags.any(axis=1).to_numpy())
    answers.loc[clean_rows[0], "suggestion"] = INJECTION
    answers.loc[clean_rows[1:4], "unit"] = "小单位镇"
    summary = build_summary(survey, inst, plan, tmp)
    path = write_report(summary, inst, tmp / "report.xlsx")
    return summary, path, tmp


def test_sheets_in_reading_order_with_a_chart_on_every_chart_sheet(report_case):
    summary, path, _ = report_case
    wb = load_workbook(path)
    assert wb.sheetnames == SHEETS
    assert SHEETS[:4] == ["摘要", "样本概况", "数据质量", "信度效度"] and SHEETS[-2:] == ["方法说明", "附录"]
    for name in CHART_SHEETS:
        assert wb[name]._charts, f"no chart on {name}"
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4), (
            ws.title
        )
        assert ws.print_area, ws.title
        assert ws["A1"].font.name == "等线" and ws["A1"].font.bold
    props = wb.properties
    assert "分析报告" in props.title and "v2.0" in props.subject
    assert summary["files"][0]["sha256"] in props.keywords


def test_every_number_in_the_regression_sheet_is_a_model_result(report_case):
    summary, path, _ = report_case
    ws = load_workbook(path)["回归结果"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, float)]
    written = {round(c.value, 12) for c in cells}
    expected = set()
    for m in summary["models"].values():
        if m["type"] != "ols":
            continue
        for t in m["terms"].values():
            expected |= {t["b"], t["se"], t["p"], t["ci_low"], t["ci_high"]} | (
                {t["beta"]} if t["beta"] is not None else set()
            )
            expected |= {t["vif"]} if t["vif"] is not None else set()
            for v in (t["b"], t["se"], t["p"]):
                assert round(v, 12) in written
        expected |= {b["delta_r2"] for b in m["blocks"]} | {b["p_change"] for b in m["blocks"]} | {m["r2"]}
        ml = m.get("multilevel")
        if ml and ml["terms"]:
            expected |= {v[k] for v in ml["terms"].values() for k in ("b", "se", "p", "ci_low", "ci_high")}
    eb = summary["models"]["empowerment_burden"]["terms"]
    expected |= {t["ci_high"] - t["b"] for t in eb.values()} | {t["b"] - t["ci_low"] for t in eb.values()}  # error bars
    stray = written - {round(x, 12) for x in expected}
    assert not stray, f"numbers in 回归结果 that are not model results: {sorted(stray)[:5]}"
    # Formats: statistics to 3 decimals, p as a number that reads "< .001" when tiny.
    header = next(r for r in ws.iter_rows() if r[2].value == "b")
    first = ws[header[0].row + 1]
    assert first[2].number_format == STAT and first[3].number_format == STAT
    assert first[0].font.name == first[2].font.name == "等线"
    assert first[5].number_format == P
    assert ws.freeze_panes is not None


def test_formula_in_an_open_answer_is_written_as_inert_text(report_case):
    _, path, _ = report_case
    ws = load_workbook(path)["开放回答"]
    hits = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert hits, "the open answer is missing from the report"
    for c in hits:
        assert c.data_type == "s" and c.value == INJECTION and c.quotePrefix
    # Nothing anywhere in the workbook is a formula.
    wb = load_workbook(path)
    assert not [c.coordinate for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_units_below_five_respondents_are_suppressed(report_case):
    summary, path, _ = report_case
    small = next(u for u in summary["units"] if u["unit"] == "小单位镇")
    assert small["n"] == 3 and small["suppressed"] and small["means"] is None
    ws = load_workbook(path)["单位对比"]
    row = next(r for r in ws.iter_rows() if r[0].value == "小单位镇")
    assert row[3].value == "少于 5 人，不予显示"
    assert not any(isinstance(c.value, float) for c in row)


def test_findings_report_every_hypothesis(inst, plan, report_case):
    """Each finding the plan declares appears in 摘要 with its estimate and CI, supported or not."""
    summary, _, _ = report_case
    declared = [(m.id, f.term or f.indirect) for m in plan.models for f in m.findings]
    assert [(h["model"], h["term"] or h["indirect"]) for h in summary["hypotheses"]] == declared
    text = "\n".join(findings(summary, inst))
    for h in summary["hypotheses"]:
        assert h["text"]["zh"] in text and "95%" in h["text"]["zh"]
    # The generator's truth: incentive power relates negatively to burden (−0.15).
    incentive = next(h for h in summary["hypotheses"] if h["term"] == "incentive_power")
    assert incentive["verdict"] == "consistent" and incentive["ci_high"] < 0
    assert "横断面" in text and "成立" not in text and "导致" not in text


def test_findings_turn_round_with_the_estimates(inst, plan, report_case):
    """Flip every H1 coefficient and CI: the verdicts say 'opposite', the sentences change."""
    from jianfu.hypotheses import evaluate

    summary, _, _ = report_case
    m = summary["models"]["empowerment_burden"]
    flipped = {
        **summary["models"],
        "empowerment_burden": {
            **m,
            "terms": {
                k: {**t, "b": -t["b"], "ci_low": -t["ci_high"], "ci_high": -t["ci_low"]} for k, t in m["terms"].items()
            },
        },
    }
    before = {h["term"]: h["verdict"] for h in summary["hypotheses"] if h["model"] == "empowerment_burden"}
    after = {h["term"]: h["verdict"] for h in evaluate(flipped, plan) if h["model"] == "empowerment_burden"}
    swap = {"consistent": "opposite", "opposite": "consistent", "not_supported": "not_supported"}
    assert after == {k: swap[v] for k, v in before.items()}
    assert "opposite" in after.values()


def test_findings_change_with_the_data(inst, plan, tmp_path):
    """Burden items answered at random: the empowerment hypotheses are reported as not supported."""
    survey = simulate(inst, n=400, seed=5, inject=False)
    rng = np.random.default_rng(0)
    burden_items = [i.id for s in inst.scale("burden").subscales for i in inst.scale(s).items]
    survey.answers[burden_items] = rng.integers(1, 6, size=(len(survey.answers), len(burden_items))).astype(float)
    summary = build_summary(survey, inst, plan, tmp_path)
    h1 = [h for h in summary["hypotheses"] if h["model"] == "empowerment_burden"]
    assert len(h1) == 5 and sum(h["verdict"] == "not_supported" for h in h1) >= 4
    text = "\n".join(findings(summary, inst))
    assert text.count("预设的关联未获支持") >= 4


def test_english_report(inst, report_case):
    summary, _, tmp = report_case
    path = write_report(summary, inst, tmp / "report_en.xlsx", lang="en")
    wb = load_workbook(path)
    assert wb.sheetnames == sheet_names("en") and wb.sheetnames[0] == "Summary"
    assert "cross-sectional" in "\n".join(str(c.value) for row in wb["Summary"].iter_rows() for c in row)
    assert wb["Regression"]._charts


def test_wave_comparison_sheet_with_two_waves(inst, plan, tmp_path):
    first = build_summary(simulate(inst, n=300, seed=1), inst, plan, tmp_path, wave="2026-05", name="may.xlsx")
    assert first["waves"] is None
    second = build_summary(
        simulate(inst, n=300, seed=2), inst, plan, tmp_path, wave="2026-11", name="nov.xlsx", data_dir=tmp_path / "data"
    )
    waves = second["waves"]
    assert waves["waves"] == ["2026-05", "2026-11"] and waves["previous"] == "2026-05"
    burden = next(s for s in waves["scales"] if s["scale"] == "burden")
    may, nov = burden["waves"]["2026-05"], burden["waves"]["2026-11"]
    assert burden["change"]["diff"] == pytest.approx(nov["mean"] - may["mean"])
    assert may["ci_low"] < may["mean"] < may["ci_high"]
    path = write_report(second, inst, tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == sheet_names("zh", waves=True) and "波次对比" in wb.sheetnames


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice is missing: `make test` installs it through .ci/system-deps.sh (as root)"
    return found


@pytest.mark.slow
def test_libreoffice_converts_the_report(report_case, tmp_path):
    soffice = _soffice()
    _, path, _ = report_case
    proc = subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    pdf = tmp_path / (path.stem + ".pdf")
    assert proc.returncode == 0 and pdf.exists(), proc.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF") and len(data) > 50_000
