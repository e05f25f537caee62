"""Provenance: the same inputs, seeds and settings give the same numbers, and the record says which."""

from __future__ import annotations

import hashlib
import re

from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.synth import simulate, write_survey

#: Keys that name when or where a run happened, not what it found.
VOLATILE = {"generated_at", "report", "exports"}


def _statistics(summary) -> dict:
    return {k: v for k, v in summary.to_json().items() if k not in VOLATILE}


def test_reanalysing_twice_gives_identical_statistics(inst, plan, tmp_path):
    path = write_survey(simulate(inst, n=260, seed=31), inst, tmp_path / "w.xlsx")
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    workflow.run_files([path], inst, plan, "2026-11", settings)
    first = workflow.reanalyse_wave(inst, plan, settings, "2026-11")
    second = workflow.reanalyse_wave(inst, plan, settings, "2026-11")
    assert _statistics(first) == _statistics(second)
    # The record of the run is enough to check a re-run against: seeds and bootstrap sizes are in it.
    prov = first.provenance
    assert prov.seeds["parallel_analysis"] == 20240601
    assert any(k.endswith(".bootstrap") for k in prov.seeds)


def test_provenance_names_software_inputs_and_the_case_flow(inst, plan, tmp_path):
    path = write_survey(simulate(inst, n=200, seed=32), inst, tmp_path / "w.xlsx")
    copy = tmp_path / "same_content.xlsx"
    copy.write_bytes(path.read_bytes())
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    summary = workflow.run_files([path, copy], inst, plan, "w", settings)
    prov = summary.provenance
    assert prov.instrument["sha256"] == inst.source_sha256
    assert prov.plan["sha256"] == plan.source_sha256 and len(plan.source_sha256) == 64
    assert [i["sha256"] for i in prov.inputs] == [hashlib.sha256(path.read_bytes()).hexdigest()] * 2
    assert prov.jianfu["version"] and re.fullmatch(r"[0-9a-f]{40}", prov.jianfu["commit"] or "")
    assert {"pandas", "statsmodels", "pingouin", "semopy", "prefect"} <= set(prov.packages)
    assert prov.thresholds["multiplicity"] == plan.multiplicity
    assert prov.thresholds["quality.strict"] is False and any(k.startswith("quality.speeder.") for k in prov.thresholds)

    flow = {step["step"]: step["n"] for step in prov.case_flow}
    assert flow["files_received"] == 2 and flow["file_copies"] == 1 and flow["files_rejected"] == 0
    assert flow["rows_read"] == 200 == flow["analysed"] + flow["quarantined"]
    for name in inst.quality.enabled_flags:
        assert flow[f"flag_{name}"] == summary.flags[name]
    # A response is quarantined for at least one flag, and each flag quarantines.
    assert (
        max(flow[f"flag_{n}"] for n in inst.quality.enabled_flags)
        <= flow["quarantined"]
        <= sum(flow[f"flag_{n}"] for n in inst.quality.enabled_flags)
    )

    ws = load_workbook(summary.report)["方法说明"]
    cells = {c.value for row in ws.iter_rows() for c in row if c.value is not None}
    assert "个案流向（每份答卷可有多个标记）" in cells and "进入分析" in cells
    assert inst.source_sha256 in cells and plan.source_sha256 in cells
    assert ws._charts, "the case flow is drawn as a chart"
    json_flow = summary.to_json()["provenance"]["case_flow"]
    assert [s["n"] for s in json_flow] == [s["n"] for s in prov.case_flow]
