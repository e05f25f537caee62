"""The SPSS file of a run opens in PSPP (GNU's SPSS clone), and PSPP's own statistics of the scale scores
equal the report's: DESCRIPTIVES to the two decimals it prints, AGGREGATE to eight, and the case count
equals the accepted rows. PSPP is the Debian ``pspp`` package; the test does not install it."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.export.datasets import variable_names
from jianfu.report.text import Words
from jianfu.synth import simulate, write_survey


@pytest.fixture(scope="module")
def run(inst, plan, tmp_path_factory):
    """A real run with the ``.sav`` export: the summary as ``jianfu run --json`` prints it."""
    d = tmp_path_factory.mktemp("pspp_run")
    path = write_survey(simulate(inst, n=300, seed=17), inst, d / "w.xlsx")
    settings = engine.Settings.under(d / "data", d / "reports")
    return workflow.run_files([path], inst, plan, "2026-05", settings, exports=["sav"]).to_json()


def _pspp(syntax: str, tmp_path) -> dict[str, list[list[str]]]:
    """Run a syntax file in batch mode; PSPP's output tables by title (CSV output: ``Table: <title>`` blocks)."""
    pspp = shutil.which("pspp")
    assert pspp, "PSPP is missing: the Debian package pspp, which .ci/system-deps.sh installs (make test)"
    sps, out = tmp_path / "check.sps", tmp_path / "out.csv"
    sps.write_text(syntax, encoding="utf-8")
    proc = subprocess.run(
        [pspp, "-O", "format=csv", "-o", str(out), str(sps)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tables: dict[str, list[list[str]]] = {}
    for block in out.read_text(encoding="utf-8").split("\n\n"):
        head, _, body = block.strip().partition("\n")
        if head.startswith("Table: "):
            tables[head.removeprefix("Table: ")] = list(csv.reader(io.StringIO(body)))
    return tables


def _printed(text: str) -> float:
    """A number as PSPP prints it (``.71`` without its leading zero)."""
    return float(text)


def test_pspp_reads_the_sav_and_its_statistics_equal_the_report(run, inst, tmp_path):
    sav = run["exports"]["sav"]
    scales = [s.id for s in inst.scales if run["scales"].get(s.id, {}).get("n")]
    names = variable_names(scales)
    variables = " ".join(names[s] for s in scales)
    tables = _pspp(
        f"SYSFILE INFO FILE='{sav}'.\nGET FILE='{sav}'.\nDESCRIPTIVES VARIABLES={variables} /STATISTICS=MEAN STDDEV.\n",
        tmp_path,
    )
    info = dict(row[:2] for row in tables["File Information"] if len(row) >= 2)
    assert int(info["Cases"]) == run["rows"]["accepted"]
    assert info["Encoding"] == "UTF-8"
    desc = {row[0]: row[1:] for row in tables["Descriptive Statistics"][1:]}
    # The report's 描述与相关 sheet: scale, n, mean, SD, min, max.
    sheet = load_workbook(run["report"], read_only=True)[Words("zh")("descriptives")]
    report = {row[0]: row[1:4] for row in sheet.iter_rows(values_only=True) if row[0] and isinstance(row[2], float)}
    for s in scales:
        label = f"{inst.scale(s).name.zh}（量表得分）"  # PSPP names a variable by its label
        n, mean, sd = desc[label][:3]
        st = run["scales"][s]
        assert int(n) == st["n"], s
        assert _printed(mean) == round(st["mean"], 2) and _printed(sd) == round(st["sd"], 2), s
        rn, rmean, rsd = report[inst.scale(s).name.zh]
        assert (int(rn), round(rmean, 2), round(rsd, 2)) == (int(n), _printed(mean), _printed(sd)), s


def test_pspp_agrees_to_eight_decimals(run, inst, tmp_path):
    sav = run["exports"]["sav"]
    headline = run["layout"]["headline"]
    name = variable_names([s.id for s in inst.scales])[headline]
    tables = _pspp(
        f"GET FILE='{sav}'.\nCOMPUTE whole = 1.\n"
        f"AGGREGATE OUTFILE=* /BREAK=whole /m=MEAN({name}) /s=SD({name}) /n=NU({name}) /cases=NU.\n"
        "FORMATS m s (F12.8) n cases (F8.0).\nLIST.\n",
        tmp_path,
    )
    header, values = tables["Data List"]
    got = dict(zip(header, values, strict=True))
    st = run["scales"][headline]
    assert int(got["cases"]) == run["rows"]["accepted"] and int(got["n"]) == st["n"]
    assert _printed(got["m"]) == pytest.approx(st["mean"], abs=5e-9)
    assert _printed(got["s"]) == pytest.approx(st["sd"], abs=5e-9)
