"""Questionnaire versions: v2.0 is the default; waves stored under v1.0 still re-analyse."""

from __future__ import annotations

from jianfu import paths, workflow
from jianfu import pipeline as engine
from jianfu.instrument import load_instrument
from jianfu.plan import load_plan
from jianfu.synth import simulate, write_survey

V1 = paths.INSTRUMENTS_DIR / "cadre_burden_v1.yaml"


def test_default_is_v2():
    assert load_instrument(paths.DEFAULT_INSTRUMENT).version == "2.0"


def test_a_v1_wave_in_the_store_still_reanalyses(tmp_path):
    v1 = load_instrument(V1)
    plan = load_plan(paths.analysis_plan_for(V1), v1)
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    path = write_survey(simulate(v1, n=240, seed=8, inject=False), v1, tmp_path / "v1.xlsx")
    workflow.run_files([path], v1, plan, "2025-06", settings)
    # Later: the default instrument is v2.0, and the researcher rebuilds the v1 wave.
    v2 = load_instrument(paths.DEFAULT_INSTRUMENT)
    assert v2.version == "2.0"
    summary = workflow.reanalyse_wave(v1, plan, settings)
    assert summary["wave"] == "2025-06" and summary["instrument"] == {"id": "cadre_burden", "version": "1.0"}
    assert summary["rows"]["accepted"] == 240 and summary["models"]["empowerment_burden"]["n"] > 200
