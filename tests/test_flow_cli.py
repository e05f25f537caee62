"""End to end: the Prefect flow and the jianfu CLI (one shared Prefect test harness)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from expected import check_flags
from openpyxl import load_workbook
from typer.testing import CliRunner

from jianfu.report.workbook import SHEETS
from jianfu_flows.cli import app

# The contract's flags; more may be added (``invalid`` was).
FLAGS = {"speeder", "straightline", "attention", "incomplete", "duplicate"}


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("JIANFU_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.mark.prefect
def test_flow_end_to_end(prefect_harness, inst, survey, survey_files, tmp_path, caplog):
    import logging

    from flows.survey_pipeline import survey_pipeline

    # Prefect's logger does not propagate to the root logger, so capture it directly.
    prefect_logger = logging.getLogger("prefect")
    prefect_logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="prefect")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n", encoding="utf-8")
    try:
        summary = survey_pipeline(
            files=[str(survey_files["wjx-text"]), str(bad)],
            wave="2026-10",
            out=str(tmp_path / "reports"),
            data_dir=str(tmp_path / "data"),
        )
    finally:
        prefect_logger.removeHandler(caplog.handler)
    check_flags(summary["flags"], summary["rows"], survey)
    assert [f["status"] for f in summary["files"]] == ["accepted", "rejected"]
    assert summary["files"][1]["errors"]
    assert set(summary["scales"]) == {s.id for s in inst.scales}
    wb = load_workbook(summary["report"])
    assert wb.sheetnames[: len(SHEETS)] == SHEETS
    ws = wb["回归结果"]
    values = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, float)]

    # openpyxl stores 16 significant digits
    def written(x: float) -> bool:
        return any(abs(v - x) <= 1e-12 * max(1.0, abs(x)) for v in values)

    for m in summary["models"].values():
        if m["type"] == "ols":
            for t in m["terms"].values():
                assert written(t["b"]) and written(t["se"])
    assert (tmp_path / "data" / "store" / "jianfu.duckdb").exists()

    # No name, phone number or IP from the input reaches the store, the report or the logs.
    from jianfu.store.database import Store

    with Store(tmp_path / "data" / "store" / "jianfu.duckdb", read_only=True) as store:
        stored = store.rows(inst).astype(str).to_csv() + store.con.execute("SELECT * FROM files").df().to_csv()
    assert len(stored) > 10_000
    report_text = "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    assert survey_files["wjx-text"].name in caplog.text, "flow logs were not captured: the log grep would be vacuous"
    leaks = [*survey.pii["name"], *survey.pii["phone"], *survey.pii["ip"]]
    for where, text in [("store", stored), ("report", report_text), ("logs", caplog.text)]:
        found = [x for x in leaks if len(x) >= 3 and x in text]
        assert not found, f"personal data in the {where}: {found[:3]}"


@pytest.mark.prefect
def test_cli_run_json_contract(prefect_harness, cli_env, inst, survey, survey_files):
    result = CliRunner().invoke(
        app, ["run", str(survey_files["wjx-code"]), "--json", "--wave", "w1", "--out", str(cli_env / "reports")]
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert {"report", "instrument", "files", "rows", "flags", "scales", "models"} <= set(d)
    assert d["instrument"] == {"id": "cadre_burden", "version": "2.0"}
    f = d["files"][0]
    assert {"path", "sha256", "format", "status", "errors", "warnings"} <= set(f) and f["format"] == "wjx-code"
    assert FLAGS <= set(d["flags"])
    check_flags(d["flags"], d["rows"], survey)
    for s in d["scales"].values():
        assert {"n", "mean", "sd", "alpha", "omega"} <= set(s)
    m = d["models"]["empowerment_burden"]
    assert m["outcome"] == "burden" and m["n"] > 0 and 0 < m["r2"] < 1
    assert {"b", "se", "p", "beta"} <= set(m["terms"]["incentive_power"])
    assert m["multilevel"]["status"] in {"fitted", "fallback"} and m["multilevel"]["icc"] is not None
    for model in d["models"].values():
        assert {"outcome", "n", "r2", "terms"} <= set(model)
    med = d["models"]["blame_mediation"]["indirect"]["blame_avoidance"]
    assert med["ci_low"] < med["effect"] < med["ci_high"]
    probe = d["models"]["fault_tolerance_moderation"]["probes"]["accountability_pressure:fault_tolerance"]
    assert len(probe["simple_slopes"]) == 3 and "bounds" in probe["johnson_neyman"]
    psy = d["psychometrics"]
    assert {
        "kmo",
        "bartlett",
        "parallel_analysis",
        "efa",
        "harman",
        "cfa",
        "descriptives",
        "correlations",
        "group_comparisons",
    } <= set(psy)
    assert {"chi2", "df", "cfi", "tli", "rmsea", "rmsea_ci", "srmr"} <= set(psy["cfa"]["fit"])
    assert set(psy["cfa"]["htmt"]) == {s.id for s in inst.first_order_scales}
    assert {g["by"] for g in psy["group_comparisons"]} == {"level", "leader"}
    assert "item_rest_r" in next(iter(d["scales"]["accountability_pressure"]["items"].values()))
    assert Path(d["report"]).exists()


@pytest.mark.prefect
def test_cli_run_exits_1_when_no_file_is_accepted(prefect_harness, cli_env):
    bad = cli_env / "nothing.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["run", str(bad), str(cli_env / "missing.xlsx"), "--json", "--out", str(cli_env / "r")]
    )
    assert result.exit_code == 1
    d = json.loads(result.stdout)
    assert [f["status"] for f in d["files"]] == ["rejected", "rejected"]
    assert "Traceback" not in result.output


def test_cli_usage_errors_exit_2(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["run"]).exit_code == 2
    assert runner.invoke(app, ["synth", "--format", "pdf", "-o", str(tmp_path / "x")]).exit_code == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n", encoding="utf-8")
    r = runner.invoke(app, ["validate", "f.xlsx", "--instrument", str(broken)])
    assert r.exit_code == 2 and "version" in r.output


def test_validate_json_never_starts_prefect(survey_files, tmp_path):
    bad = tmp_path / "bad.xlsm"
    bad.write_bytes(survey_files["wjx-text"].read_bytes())
    code = (
        "import sys, json; from typer.testing import CliRunner; from jianfu_flows.cli import app; "
        f"r = CliRunner().invoke(app, ['validate', {str(survey_files['csv'])!r}, {str(bad)!r}, '--json']); "
        "print(json.dumps({'code': r.exit_code, 'out': r.stdout, 'prefect': 'prefect' in sys.modules}))"
    )
    out = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    )
    assert out["prefect"] is False
    assert out["code"] == 1
    d = json.loads(out["out"])
    assert d["valid"] is False
    good, macro = d["files"]
    assert good["status"] == "accepted" and good["flags"]["duplicate"] > 0
    p = macro["problems"][0]
    assert p["code"] == "file.macro" and p["file"] == "bad.xlsm" and p["zh"] and p["en"] and p["fix_zh"]


def test_template_and_synth_commands(tmp_path, inst):
    runner = CliRunner()
    t = tmp_path / "t.xlsx"
    assert runner.invoke(app, ["template", "-o", str(t)]).exit_code == 0
    wb = load_workbook(t)
    assert wb.sheetnames == ["问卷数据", "说明", "编码表"]
    ws = wb["问卷数据"]
    assert ws.freeze_panes == "A2"
    headers = [c.value for c in ws[1]]
    free = {d.text.zh for d in inst.demographics if d.is_text} | {q.text.zh for q in inst.open_questions}
    coded = [h for h in headers if h not in free]
    validated = {str(r).split(":")[0] for dv in ws.data_validations.dataValidation for r in dv.sqref.ranges}
    assert len(validated) == len(coded)
    s = tmp_path / "s.csv"
    r = runner.invoke(app, ["synth", "--n", "120", "--format", "csv", "--seed", "3", "-o", str(s), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["injected"]["speeder"] == 4


@pytest.mark.slow
def test_real_cli_subprocess_stdout_is_pure_json(survey_files, tmp_path):
    """The installed command, as a user runs it: its own temporary Prefect server, JSON alone on stdout."""
    exe = Path(sys.executable).with_name("jianfu")
    env = {**os.environ, "JIANFU_DATA_DIR": str(tmp_path / "data"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.run(
        [str(exe), "run", str(survey_files["csv"]), "--json", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert d["files"][0]["format"] == "csv" and Path(d["report"]).exists()
    assert "Traceback" not in proc.stderr


def test_validate_reads_the_sheet_it_is_told(survey_files, tmp_path):
    from openpyxl import load_workbook as lw

    wb = lw(survey_files["wjx-text"])
    wb.active.title = "答卷"
    wb.create_sheet("封面", 0).append(["调查说明", "第一轮"])
    p = tmp_path / "two_sheets.xlsx"
    wb.save(p)
    runner = CliRunner()
    first = json.loads(runner.invoke(app, ["validate", str(p), "--json"]).stdout)
    assert first["files"][0]["status"] == "rejected"  # the cover sheet has no questions
    told = runner.invoke(app, ["validate", str(p), "--sheet", "答卷", "--json"])
    assert told.exit_code == 0 and json.loads(told.stdout)["files"][0]["sheet"] == "答卷"
