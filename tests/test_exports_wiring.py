"""Datasets are written next to every report and listed in the summary under ``exports``."""

from __future__ import annotations

import pyreadstat
from typer.testing import CliRunner

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.synth import simulate, write_survey
from jianfu_flows.cli import app


def test_run_writes_the_plan_default_and_the_requested_formats(inst, plan, tmp_path):
    path = write_survey(simulate(inst, n=150, seed=21), inst, tmp_path / "w.xlsx")
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    summary = workflow.run_files([path], inst, plan, "w", settings)
    assert set(summary["exports"]) == {"sav", "sav_quarantined", "docx"} and plan.exports == ["sav", "docx"]
    from docx import Document

    chapter = Document(summary["exports"]["docx"])
    text = "\n".join(p.text for p in chapter.paragraphs)
    assert all(h["hypothesis"] in text for h in summary["hypotheses"] if h["hypothesis"])
    stem = summary["report"].removesuffix(".xlsx")
    assert summary["exports"]["sav"] == stem + ".sav"
    data, meta = pyreadstat.read_sav(summary["exports"]["sav"])
    assert len(data) == summary["rows"]["accepted"]
    item = inst.items[0]
    assert item.text.zh in meta.column_names_to_labels.values()

    again = workflow.rebuild_wave(inst, plan, "w", settings, exports=["csv", "parquet"])
    assert {"csv", "parquet", "codebook"} <= set(again["exports"])


def test_unknown_export_format_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["run", str(tmp_path / "x.xlsx"), "--export", "sav,xls"])
    assert result.exit_code == 2 and "xls" in result.output
