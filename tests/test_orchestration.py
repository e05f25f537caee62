"""Orchestration: the inbox and reanalysis flows, waves, `jianfu serve`, concurrency, progress."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from expected import check_flags
from openpyxl import load_workbook

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.progress import reporting
from jianfu.store.database import Store
from jianfu.synth import simulate, write_survey


def _drop(inbox: Path, office: str, name: str, survey, inst) -> Path:
    path = inbox / office / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_survey(survey, inst, path, fmt="wjx-text")


def _store_state(settings) -> tuple[int, int]:
    with Store(settings.store_path, read_only=True) as store:
        return (
            store.con.execute("SELECT count(*) FROM files").fetchone()[0],
            store.con.execute("SELECT count(*) FROM responses_cadre_burden_v2_0").fetchone()[0],
        )


@pytest.mark.prefect
def test_inbox_picks_up_three_files_from_two_offices(prefect_harness, inst, tmp_path):
    from flows.inbox import inbox

    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    a1 = _drop(settings.inbox_dir, "城关镇", "第一批 数据.xlsx", simulate(inst, n=150, seed=31), inst)
    b1 = _drop(settings.inbox_dir, "东城街道", "wjx.xlsx", simulate(inst, n=150, seed=32), inst)
    bad = settings.inbox_dir / "城关镇" / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    old = time.time() - 60
    for p in (a1, b1, bad):
        os.utime(p, (old, old))
    kw = dict(
        instrument=str(engine.paths.DEFAULT_INSTRUMENT),
        wave="2026-05",
        data_dir=str(tmp_path / "data"),
        out=str(tmp_path / "reports"),
        settle_seconds=1,
    )

    first = inbox(**kw)
    assert first["new_files"] == 3 and first["duplicates"] == 0
    summary = first["summary"]
    status = {f["path"]: (f["status"], f["office"]) for f in summary["files"]}
    assert status == {
        "第一批 数据.xlsx": ("accepted", "城关镇"),
        "wjx.xlsx": ("accepted", "东城街道"),
        "broken.xlsx": ("rejected", "城关镇"),
    }
    assert summary["rows"]["read"] == 300 and summary["rows"]["accepted"] > 250
    wb = load_workbook(first["report"])
    quality = "\n".join(str(c.value) for row in wb["数据质量"].iter_rows() for c in row if c.value)
    assert "broken.xlsx" in quality and "拒收" in quality
    # Complete cases on the model's scale scores: realistic item non-response costs about a quarter of the rows
    # (the sensitivity sheet refits the model by multiple imputation on all of them).
    model_n = summary["models"]["empowerment_burden"]["n"]
    assert 0.6 * summary["rows"]["accepted"] < model_n <= summary["rows"]["accepted"]
    assert summary["sensitivity"]["empowerment_burden"]["n"]["mi"] > model_n
    # Nothing left in the inbox; every upload archived byte-identical; the bad one sent back with its problems.
    assert not [p for p in settings.inbox_dir.rglob("*") if p.is_file()]
    archived = {p.read_bytes() for p in settings.archive_dir.iterdir()}
    assert bad.name not in os.listdir(settings.inbox_dir / "城关镇")
    assert b"PK\x03\x04 not really a workbook" in archived and len(archived) == 3
    problems = list((settings.rejected_dir / "城关镇").glob("*.问题.txt"))
    assert problems and "broken.xlsx" in problems[0].read_text(encoding="utf-8")
    assert len(list((settings.processed_dir).rglob("*.xlsx"))) == 2

    # Again: nothing new, nothing changes.
    state, reports = _store_state(settings), sorted((tmp_path / "reports").iterdir())
    again = inbox(**kw)
    assert again["new_files"] == 0 and again["report"] is None
    assert _store_state(settings) == state and sorted((tmp_path / "reports").iterdir()) == reports

    # The same content dropped again (a clerk re-sends): archived already, not stored twice.
    resent = settings.inbox_dir / "东城街道" / "wjx.xlsx"
    resent.parent.mkdir(parents=True, exist_ok=True)
    resent.write_bytes(next(settings.processed_dir.rglob("*wjx.xlsx")).read_bytes())
    os.utime(resent, (old, old))
    third = inbox(**kw)
    assert third["new_files"] == 0 and third["duplicates"] == 1
    assert _store_state(settings) == state

    # A second wave gives the wave-comparison sheet.
    c1 = _drop(settings.inbox_dir, "城关镇", "十一月.xlsx", simulate(inst, n=150, seed=33), inst)
    os.utime(c1, (old, old))
    fourth = inbox(**{**kw, "wave": "2026-11"})
    assert fourth["new_files"] == 1
    waves = fourth["summary"]["waves"]
    assert waves["waves"] == ["2026-05", "2026-11"]
    assert "波次对比" in load_workbook(fourth["report"]).sheetnames
    # The November report covers November only.
    assert fourth["summary"]["rows"]["read"] == 150


@pytest.mark.prefect
def test_reanalysis_rebuilds_the_latest_wave_from_the_store(prefect_harness, inst, plan, tmp_path):
    from flows.reanalysis import reanalysis

    data = tmp_path / "data"
    settings = engine.Settings.under(data, tmp_path / "reports")
    survey = simulate(inst, n=200, seed=41)
    path = write_survey(survey, inst, tmp_path / "in.xlsx", fmt="wjx-text")
    results = [engine.ingest_one(path, inst, settings)]
    frame = engine.clean(results, inst)
    engine.store_rows(frame, results, inst, "2026-09", settings)
    summary = reanalysis(
        instrument=str(engine.paths.DEFAULT_INSTRUMENT), data_dir=str(data), out=str(tmp_path / "reports")
    )
    assert summary["wave"] == "2026-09" and Path(summary["report"]).exists()
    assert summary["rows"]["accepted"] == int((frame["status"] == "accepted").sum())
    check_flags(summary["flags"], summary["rows"], survey)


def test_duplicates_across_uploads_of_a_wave_are_caught_on_reanalysis(inst, plan, tmp_path):
    """Two files of one wave, the second repeating 10 answers of the first: a run sees each file
    alone, the wave's reanalysis sees all rows and quarantines the copies."""
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    survey = simulate(inst, n=200, seed=51, inject=False)
    first = write_survey(survey, inst, tmp_path / "a.xlsx", fmt="wjx-text")
    repeat = simulate(inst, n=100, seed=52, inject=False)
    repeat.answers.iloc[:10] = survey.answers.iloc[:10].to_numpy()
    repeat.pii.iloc[:10] = survey.pii.iloc[:10].to_numpy()
    second = write_survey(repeat, inst, tmp_path / "b.xlsx", fmt="wjx-text")
    for path in (first, second):
        results = [engine.ingest_one(path, inst, settings)]
        engine.store_rows(engine.clean(results, inst), results, inst, "w", settings)
    summary = workflow.rebuild_wave(inst, plan, "w", settings, out=tmp_path / "reports")
    assert summary["flags"]["duplicate"] == 10 and summary["rows"]["read"] == 300


def test_concurrent_writers_queue_on_the_store(inst, tmp_path):
    """Twenty files stored from parallel threads (separate connections): each lands exactly once."""
    settings = engine.Settings.under(tmp_path / "data")
    paths = [
        write_survey(simulate(inst, n=30, seed=60 + k, inject=False), inst, tmp_path / f"f{k}.csv", fmt="csv")
        for k in range(20)
    ]
    results = [engine.ingest_one(p, inst, settings) for p in paths]

    def store_one(r):
        return engine.store_rows(engine.clean([r], inst), [r], inst, "w", settings)

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(store_one, results)) == [30] * 20
    assert _store_state(settings) == (20, 600)


def test_schedules_file_is_valid_and_rules_make_wave_labels():
    from flows.serve import load_schedules

    rules = load_schedules()
    assert rules.timezone == "Asia/Shanghai" and rules.inbox.interval_minutes > 0
    assert len(rules.reanalysis.cron.split()) == 5
    label = engine.wave_label(rules.wave.rule, timezone=rules.timezone)
    assert len(label) == 7 and label[4] == "-"


@pytest.mark.prefect
def test_flow_reports_progress_by_stage(prefect_harness, inst, survey_files, tmp_path):
    from flows.survey_pipeline import survey_pipeline

    events = []

    class Collect:
        def start(self, name, total):
            events.append(("start", name, total))

        def advance(self, name, n):
            events.append(("advance", name, n))

        def finish(self, name):
            events.append(("finish", name))

    with reporting(Collect()):
        survey_pipeline(
            files=[str(survey_files["csv"]), str(survey_files["wjx-code"])],
            wave="p",
            out=str(tmp_path / "r"),
            data_dir=str(tmp_path / "d"),
        )
    started = [e[1] for e in events if e[0] == "start"]
    assert started == ["ingest", "clean", "store", "model", "report"]
    assert ("start", "ingest", 2) in events and events.count(("advance", "ingest", 1)) == 2


@pytest.mark.prefect
@pytest.mark.slow
def test_serve_registers_the_scheduled_deployments(prefect_harness, tmp_path):
    """`jianfu serve` against the test server: both deployments appear with the YAML's schedules."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    schedules = tmp_path / "schedules.yaml"
    schedules.write_text(
        "timezone: Asia/Shanghai\ninstrument: instruments/cadre_burden.yaml\n"
        "wave: {rule: '%Y-Q{quarter}'}\ninbox: {interval_minutes: 7, settle_seconds: 3}\n"
        "reanalysis: {cron: '30 6 * * 2'}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jianfu_flows.cli", "serve", "--schedules", str(schedules)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        found = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(found) < 2:
            with get_client(sync_client=True) as client:
                found = {d.name: d for d in client.read_deployments() if d.name in {"inbox-poll", "weekly-reanalysis"}}
            if proc.poll() is not None:
                break
            time.sleep(1)
        assert len(found) == 2, proc.stdout.read().decode(errors="replace") if proc.poll() is not None else found
        inbox_schedule = found["inbox-poll"].schedules[0].schedule
        assert inbox_schedule.interval.total_seconds() == 7 * 60 and inbox_schedule.timezone == "Asia/Shanghai"
        cron = found["weekly-reanalysis"].schedules[0].schedule
        assert cron.cron == "30 6 * * 2" and cron.timezone == "Asia/Shanghai"
        assert found["inbox-poll"].parameters["wave_rule"] == "%Y-Q{quarter}"
        assert found["inbox-poll"].parameters["settle_seconds"] == 3
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_inbox_flow_killed_after_storing_is_finished_by_a_plain_rerun(inst, tmp_path):
    """The kill through the real CLI and Prefect flow (the engine-level kills at every boundary are in
    test_inbox.py): the process dies between the store's commit and filing away; a plain re-run files
    the uploads away without storing them twice and refreshes the report the dead run never wrote."""
    env = {
        **os.environ,
        "JIANFU_DATA_DIR": str(tmp_path / "data"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "JIANFU_NO_PROGRESS": "1",
    }
    settings = engine.Settings.under(tmp_path / "data")
    for office, seed in (("城关镇", 71), ("东城街道", 72)):
        _drop(settings.inbox_dir, office, "数据.xlsx", simulate(inst, n=80, seed=seed), inst)
    args = [
        sys.executable,
        "-m",
        "jianfu_flows.cli",
        "inbox",
        "--settle",
        "0",
        "--wave",
        "k",
        "--out",
        str(tmp_path / "reports"),
        "--json",
    ]
    # No pipes: the orphaned server would hold them open and a read would never end.
    proc = subprocess.Popen(
        args,
        env={**env, "JIANFU_FAULT_AT": "stored"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=300)
    finally:  # the temporary Prefect server outlives its killed parent: stop the whole group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert _store_state(settings) == (2, 160)
    assert len([p for p in settings.inbox_dir.rglob("*.xlsx")]) == 2  # stored, not yet filed away
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    result = json.loads(again.stdout)
    assert (result["new_files"], result["duplicates"]) == (0, 2)
    assert result["report"] and Path(result["report"]).exists()
    assert _store_state(settings) == (2, 160)
    assert not [p for p in settings.inbox_dir.rglob("*") if p.is_file()]
    with Store(settings.store_path, read_only=True) as store:
        assert [r["kind"] for r in store.receipts()] == ["new", "new"]
