"""Bad input never crashes jianfu or loses data (issue #8's robustness suite).

The corpus (``tests/corpus.py``) is built by the tests. Each file goes through the engine,
``jianfu validate --json`` and one ``jianfu run`` with all of them together; then a run is
killed mid-way and repeated.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus import INJECTION, build
from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu.ingest.parse import ingest_file
from jianfu.ingest.readers import sha256_file
from jianfu.store.inbox import scan_inbox

JIANFU = [sys.executable, "-m", "jianfu_flows.cli"]


@pytest.fixture(scope="module")
def corpus(inst, tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return root, build(inst, root)


def _env(tmp: Path) -> dict:
    return {
        **os.environ,
        "JIANFU_DATA_DIR": str(tmp / "data"),
        "PREFECT_HOME": str(tmp / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "JIANFU_NO_PROGRESS": "1",
    }


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_each_corpus_file_gets_the_expected_verdict(inst, corpus):
    root, cases = corpus
    for name, status, code in cases:
        t0 = time.monotonic()
        r = ingest_file(root / name, inst)
        assert r.status == status, (name, [str(p) for p in r.errors][:2])
        if code:
            # Rejected files name the error; accepted ones with a bad cell name it as a warning (row quarantined).
            found = r.errors if status == "rejected" else r.warnings
            assert code in {e.code for e in found}, (name, [e.code for e in r.problems])
            msg = str(next(e for e in found if e.code == code))
            assert name in msg and "修改方法" in msg and "Fix:" in msg, msg
        if name == "huge.xlsx":
            assert time.monotonic() - t0 < 5, "the size limit must refuse without parsing"
        if name == "formula.xlsx":
            e = next(e for e in r.problems if e.code == "value.formula")
            assert e.row == 4 and e.value == "=2+1"
            assert r.frame["_invalid_detail"].notna().sum() == 1


def test_row_numbers_count_leading_blank_rows(inst, survey_files, tmp_path):
    wb = load_workbook(survey_files["wjx-code"])
    ws = wb.active
    ws.insert_rows(1, amount=2)
    col = next(i for i, c in enumerate(ws[3], start=1) if c.value and "(" in str(c.value))
    ws.cell(row=6, column=col).value = 7  # 8 and 9 are 不适用/不了解 on v2 scales
    wb.save(tmp_path / "offset.xlsx")
    r = ingest_file(tmp_path / "offset.xlsx", inst)
    assert [e.row for e in r.problems if e.code == "value.not_allowed"] == [6]
    assert r.frame.loc[r.frame["_invalid_detail"].notna(), "_row"].tolist() == [6]


def test_validate_json_reports_every_file_without_a_traceback(corpus, tmp_path):
    root, cases = corpus
    before = _tree(tmp_path)
    proc = subprocess.run(
        [*JIANFU, "validate", "--json", *[str(root / n) for n, _, _ in cases]],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=300,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert not out["valid"]
    by_name = {Path(f["path"]).name: f for f in out["files"]}
    for name, status, code in cases:
        assert by_name[name]["status"] == status, name
        if code:
            assert code in {p["code"] for p in by_name[name]["problems"]}, name
    assert _tree(tmp_path) == before, "validate wrote files"


@pytest.mark.slow
def test_run_with_every_bad_file_analyses_the_good_ones_and_archives_all(inst, corpus, tmp_path):
    root, cases = corpus
    before_inputs = {p: p.stat().st_mtime for p in root.iterdir()}
    proc = subprocess.run(
        [
            *JIANFU,
            "run",
            "--json",
            "--wave",
            "robust",
            "--out",
            str(tmp_path / "reports"),
            *[str(root / n) for n, _, _ in cases],
        ],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    by_name = {Path(f["path"]).name: f for f in summary["files"]}
    for name, status, _ in cases:
        assert by_name[name]["status"] == status, name
    good = [n for n, s, _ in cases if s == "accepted"]
    assert summary["rows"]["accepted"] + summary["rows"]["quarantined"] == 120 * len(good)
    assert summary["models"]["empowerment_burden"]["n"] > 0
    # Every received file is in the archive, byte-identical.
    archived = {sha256_file(p) for p in (tmp_path / "data" / "archive").iterdir()}
    assert {sha256_file(root / n) for n, _, _ in cases} <= archived
    # Nothing written outside the data, report and Prefect folders; inputs untouched.
    for p in _tree(tmp_path):
        assert p.relative_to(tmp_path).parts[0] in {"data", "reports", "prefect"}, p
    assert {p: p.stat().st_mtime for p in root.iterdir()} == before_inputs
    # The injected formula answer is inert text in the report.
    wb = load_workbook(summary["report"])
    cells = [c for row in wb["开放回答"].iter_rows() for c in row if c.value == INJECTION]
    assert cells and all(c.data_type == "s" for c in cells)


def test_inbox_ignores_links_that_lead_outside(inst, tmp_path):
    outside = tmp_path / "secret" / "x.xlsx"
    outside.parent.mkdir()
    outside.write_bytes(b"not for us")
    settings = engine.Settings.under(tmp_path / "data")
    office = settings.inbox_dir / "某办公室"
    office.mkdir(parents=True)
    (office / "x.xlsx").symlink_to(Path("..") / ".." / ".." / "secret" / "x.xlsx")
    (office / "..x.xlsx").write_bytes(b"hidden dot file")
    scan = scan_inbox(settings.inbox_dir, settle_seconds=0)
    assert scan.waiting == []
    # Passed over, but not without a word: each with its reason for the office.
    assert {(s.name, s.code) for s in scan.skipped} == {("x.xlsx", "link"), ("..x.xlsx", "hidden")}
    assert outside.read_bytes() == b"not for us"


def _run_until(args, env, marker: str, timeout: float = 300) -> int:
    """Start ``jianfu run``, SIGKILL it as soon as ``marker`` shows in its log; return its exit status."""
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        if marker in line or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    return proc.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("marker", ["Task run 'store", "Task run 'model"])
def test_killed_run_repeated_leaves_each_row_once_and_a_complete_report(inst, corpus, tmp_path, marker):
    root, cases = corpus
    good = str(root / cases[0][0])
    env = _env(tmp_path)
    args = [*JIANFU, "run", "--wave", "k", "--out", str(tmp_path / "reports"), good]
    status = _run_until(args, env, marker)
    assert status == -signal.SIGKILL
    proc = subprocess.run([*args[:-1], "--json", good], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    from jianfu.store.database import Store

    with Store(tmp_path / "data" / "store" / "jianfu.duckdb", read_only=True) as store:
        rows = store.rows(inst)
    assert len(rows) == 120 and not rows.duplicated(["_file_sha256", "_sheet", "_row"]).any()
    wb = load_workbook(summary["report"])
    assert wb.sheetnames[0] == "摘要" and wb["回归结果"]._charts
