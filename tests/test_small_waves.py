"""Small waves get a report, not a traceback: a small office's first upload, or a file where most
rows are quarantined. Every statistic that cannot be estimated says so, with the reason in zh and en."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.synth import simulate, write_survey


def _wave(inst, plan, tmp_path, n: int, keep: int | None = None) -> dict:
    survey = simulate(inst, n=n, seed=n, inject=False)
    if keep is not None:  # all but `keep` rows fail the attention check
        check = inst.attention_checks[0]
        wrong = next(c for c in inst.response_scales[check.response_scale].labels if c != check.expect)
        survey.answers.loc[keep:, check.id] = float(wrong)
    path = write_survey(survey, inst, tmp_path / f"wave{n}.xlsx", fmt="wjx-text")
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    return workflow.run_files([path], inst, plan, f"w{n}", settings)


def _reasons(obj) -> list[dict]:
    """Every not-estimable reason anywhere in the summary."""
    if isinstance(obj, dict):
        found = [obj["reason"]] if obj.get("estimable") is False else []
        return found + [r for v in obj.values() for r in _reasons(v)]
    if isinstance(obj, list):
        return [r for v in obj for r in _reasons(v)]
    return []


@pytest.mark.parametrize("n, keep, accepted", [(1, None, 1), (12, None, 12), (25, None, 25), (60, 3, 3)])
def test_small_waves_get_a_report_with_reasons(inst, plan, tmp_path, n, keep, accepted):
    summary = _wave(inst, plan, tmp_path, n, keep)
    assert summary["rows"]["accepted"] == accepted
    json.dumps(summary.to_json(), allow_nan=False)  # plain JSON, no NaN
    wb = load_workbook(summary["report"])
    assert wb.sheetnames[0] == "摘要" and "回归结果" in wb.sheetnames
    reasons = _reasons(summary.to_json())
    if accepted <= 12:
        # The plan's models cannot all be fitted on so few rows, and the summary says why, in both languages.
        assert reasons and all(r["zh"] and r["en"] for r in reasons)
        text = "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)
        assert "无法估计" in text
    for m in summary["models"].values():
        assert m.get("estimable") is False or np.isfinite(m["r2"])


def test_a_normal_wave_has_every_model_estimable(inst, plan, tmp_path):
    summary = _wave(inst, plan, tmp_path, 300)
    assert all(m.get("estimable", True) for m in summary["models"].values())
    assert all("reasons" not in s for s in summary["scales"].values())


@pytest.mark.slow
def test_jianfu_run_on_a_12_row_file_exits_0(inst, tmp_path):
    path = write_survey(simulate(inst, n=12, seed=12, inject=False), inst, tmp_path / "小单位.xlsx", fmt="wjx-text")
    env = {
        **os.environ,
        "JIANFU_DATA_DIR": str(tmp_path / "data"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "JIANFU_NO_PROGRESS": "1",
    }
    validate = subprocess.run(
        [sys.executable, "-m", "jianfu_flows.cli", "validate", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert validate.returncode == 0, validate.stderr[-2000:]
    run = subprocess.run(
        [sys.executable, "-m", "jianfu_flows.cli", "run", "--json", "--out", str(tmp_path / "r"), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["rows"]["accepted"] == 12 and summary["report"]
