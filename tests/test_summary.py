"""The typed run summary: attributes for code, the JSON contract for scripts, nothing else changed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jianfu.summary import FileSummary, RunSummary, json_safe

#: The top-level keys of ``jianfu run --json`` that scripts rely on (README, "Command line").
CONTRACT = {
    "report",
    "instrument",
    "wave",
    "generated_at",
    "files",
    "rows",
    "flags",
    "flags_enabled",
    "scales",
    "models",
    "psychometrics",
    "hypotheses",
    "exports",
}


def _summary(**kw) -> RunSummary:
    base = dict(
        instrument={"id": "demo", "version": "2.0"},
        wave="2026-11",
        files=[
            {"path": "/in/a.xlsx", "sha256": "a" * 64, "status": "accepted", "rows": 3, "accepted": 2},
            {"path": "/in/b.xlsx", "sha256": "a" * 64, "status": "accepted", "rows": 3, "copy_of": "a.xlsx"},
        ],
        rows={"read": 3, "accepted": 2, "quarantined": 1},
        scales={"s": {"n": 2, "mean": float("nan"), "n_items": 3, "items": {"i1": {"n": 2.0, "n_code_8": 1.0}}}},
        models={"m": {"type": "ols", "r2": np.float64(0.25), "n": np.int64(2)}},
    )
    return RunSummary(**(base | kw))


def test_attributes_are_typed_and_indexing_reads_the_json_form():
    s = _summary()
    assert s.rows.accepted == 2 and isinstance(s.files[0], FileSummary)
    assert s["rows"] == {"read": 3, "accepted": 2, "quarantined": 1}
    assert s["scales"]["s"]["mean"] is None  # NaN is not JSON
    assert s.get("nothing", 7) == 7 and "rows" in s and "nothing" not in s
    with pytest.raises(KeyError):
        s["nothing"]
    # Keys a statistic adds survive (n_code_8 is not a declared field of an item).
    assert s["scales"]["s"]["items"]["i1"]["n_code_8"] == 1.0


def test_json_form_is_plain_and_keeps_optional_keys_out_when_unset():
    out = _summary().to_json()
    assert CONTRACT <= set(out)
    text = json.dumps(out, allow_nan=False)  # no NaN, no NumPy scalars
    assert json.loads(text) == out
    assert out["models"]["m"] == {"type": "ols", "r2": 0.25, "n": 2}
    assert "copy_of" not in out["files"][0] and out["files"][1]["copy_of"] == "a.xlsx"
    assert "provenance" not in out  # only present once computed


def test_assignment_is_validated():
    s = _summary()
    s.report = "/r/x.xlsx"
    assert s["report"] == "/r/x.xlsx"
    with pytest.raises(ValueError):
        s.rows = "many"


def test_distinct_files_leave_copies_out():
    assert [f.path for f in _summary().distinct_files()] == ["/in/a.xlsx"]


def test_json_safe_handles_nested_numpy_and_infinities():
    assert json_safe({"x": [np.float32(1.5), (np.inf, -np.inf)], "y": np.bool_(True)}) == {
        "x": [1.5, [None, None]],
        "y": True,
    }


def test_the_run_summary_of_a_real_run_serialises_to_the_contract(inst, plan, tmp_path):
    from jianfu import pipeline as engine
    from jianfu import workflow
    from jianfu.synth import simulate, write_survey

    path = write_survey(simulate(inst, n=120, seed=5), inst, tmp_path / "w.xlsx")
    summary = workflow.run_files([path], inst, plan, "w", engine.Settings.under(tmp_path / "d", tmp_path / "r"))
    assert isinstance(summary, RunSummary)
    out = summary.to_json()
    assert CONTRACT <= set(out)
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert out["rows"]["accepted"] + out["rows"]["quarantined"] == out["rows"]["read"]
