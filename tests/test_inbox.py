"""Nothing lost, nothing twice: the inbox under crashes, concurrency and re-sent files (engine only;
the kill through the Prefect flow is in test_orchestration.py)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from jianfu import faults, workflow
from jianfu import pipeline as engine
from jianfu.doctor import check, repair
from jianfu.store.database import Store, table_name
from jianfu.synth import simulate, write_survey

WAVE = "2026-12"
_RUNNER = """
import sys
from pathlib import Path
from jianfu import paths, workflow
from jianfu import pipeline as engine
settings = engine.Settings.under(Path(sys.argv[1]), Path(sys.argv[2]))
inst, plan = engine.load_inputs(paths.DEFAULT_INSTRUMENT)
r = workflow.process_inbox(inst, plan, sys.argv[3], settings, settle_seconds=0)
print(r["new_files"], r["duplicates"], r["held"])
"""


def _age(root: Path) -> None:
    old = time.time() - 120
    for p in root.rglob("*"):
        os.utime(p, (old, old), follow_symlinks=False)


@pytest.fixture(scope="module")
def uploads(inst, tmp_path_factory) -> Path:
    """An inbox: two offices, three distinct exports, the same export in both offices, a broken file."""
    root = tmp_path_factory.mktemp("uploads") / "inbox"
    a = write_survey(simulate(inst, n=60, seed=101), inst, root / "城关镇" / "第一批.xlsx", fmt="wjx-text")
    write_survey(simulate(inst, n=60, seed=102), inst, root / "东城街道" / "wjx.xlsx", fmt="wjx-code")
    write_survey(simulate(inst, n=60, seed=103), inst, root / "东城街道" / "模板.xlsx", fmt="template")
    shutil.copyfile(a, root / "东城街道" / "第一批.xlsx")  # the same export, sent by another office
    (root / "城关镇" / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    return root


def _setup(uploads: Path, base: Path) -> engine.Settings:
    settings = engine.Settings.under(base / "data", base / "reports")
    shutil.copytree(uploads, settings.inbox_dir)
    _age(settings.inbox_dir)
    return settings


def _state(settings: engine.Settings, inst) -> dict:
    """Everything that must be equal after any crash and re-run: files, receipts, rows, folders."""
    with Store(settings.store_path, read_only=True) as store:
        files = sorted((f["sha256"], f["status"], f["n_rows"]) for f in store.all_files())
        receipts = sorted((r["sha256"], r["office"], r["name"], r["kind"]) for r in store.receipts())
        rows = store.rows(inst)
    answers = rows.drop(columns=["uploaded_at", "status", "reasons"]).sort_values(["_file_sha256", "_row"])
    # Each data folder has its own hashing key: compare which rows carry a respondent key, not the key.
    answers["_respondent_key"] = answers["_respondent_key"].notna()
    filed = sorted(
        p.relative_to(settings.processed_dir.parent).parts[:2] + (p.name.split("_", 1)[1],)
        for d in (settings.processed_dir, settings.rejected_dir)
        if d.exists()
        for p in d.rglob("*")
        if p.is_file()
    )
    return {
        "files": files,
        "receipts": receipts,
        "rows": answers.reset_index(drop=True),
        "filed": filed,
        "inbox": sorted(p.name for p in settings.inbox_dir.rglob("*") if p.is_file()),
        "archive": sorted(p.name for p in settings.archive_dir.iterdir()),
    }


def _assert_same(a: dict, b: dict) -> None:
    for key in ("files", "receipts", "filed", "inbox", "archive"):
        assert a[key] == b[key], key
    pd.testing.assert_frame_equal(a["rows"], b["rows"], check_dtype=False)


@pytest.fixture(scope="module")
def plain(inst, plan, uploads, tmp_path_factory) -> dict:
    """The reference: one uninterrupted run over the inbox."""
    settings = _setup(uploads, tmp_path_factory.mktemp("plain"))
    result = workflow.process_inbox(inst, plan, WAVE, settings, settle_seconds=0)
    assert (result["new_files"], result["duplicates"], result["held"]) == (4, 1, 0)
    assert result["summary"]["rows"]["read"] == 180
    return _state(settings, inst)


def test_same_export_from_two_offices_is_stored_once_and_recorded_as_resent(plain):
    assert len(plain["rows"]) == 180 and not plain["rows"].duplicated(["_file_sha256", "_sheet", "_row"]).any()
    assert [f[1:] for f in plain["files"]].count(("rejected", 0)) == 1 and len(plain["files"]) == 4
    kinds = sorted(r[3] for r in plain["receipts"])
    assert kinds == ["new"] * 4 + ["resent"]
    resent = next(r for r in plain["receipts"] if r[3] == "resent")
    assert resent[2] == "第一批.xlsx"
    # Both copies left the inbox; each is filed under the office that sent it.
    assert plain["inbox"] == []
    assert sorted(f[1] for f in plain["filed"] if f[2] == "第一批.xlsx") == ["东城街道", "城关镇"]
    assert ("rejected", "城关镇", "broken.xlsx.问题.txt") in plain["filed"]


@pytest.mark.slow
@pytest.mark.parametrize("point", faults.POINTS)
def test_a_kill_at_any_stage_then_a_plain_rerun_equals_a_plain_run(inst, plan, uploads, plain, tmp_path, point):
    settings = _setup(uploads, tmp_path)
    env = {**os.environ, faults.ENV: point}
    args = [sys.executable, "-c", _RUNNER, str(settings.inbox_dir.parent), str(settings.reports_dir), WAVE]
    killed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # Nothing received is lost at the moment of the kill: each upload is still waiting or stored.
    stored = set()
    if settings.store_path.exists():
        with Store(settings.store_path, read_only=True) as store:
            stored = {f["sha256"] for f in store.all_files()}
    from jianfu.ingest.readers import sha256_file

    waiting = {sha256_file(p) for p in settings.inbox_dir.rglob("*") if p.is_file()}
    assert {sha256_file(p) for p in uploads.rglob("*") if p.is_file()} <= stored | waiting

    env.pop(faults.ENV)
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    _assert_same(_state(settings, inst), plain)
    # The interrupted run's report is not forgotten: the re-run rebuilt it.
    with Store(settings.store_path, read_only=True) as store:
        assert store.unreported_waves(inst) == []
    assert list(settings.reports_dir.glob("*.xlsx"))
    assert [f for f in check(settings) if not f.pending] == []


@pytest.mark.slow
def test_two_inbox_processes_at_once_take_every_file_exactly_once(inst, tmp_path):
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    for o in range(4):
        for k in range(5):
            write_survey(
                simulate(inst, n=40, seed=1000 + 10 * o + k, inject=False),
                inst,
                settings.inbox_dir / f"office{o}" / f"f{k}.csv",
                fmt="csv",
            )
    _age(settings.inbox_dir)
    args = [sys.executable, "-c", _RUNNER, str(settings.inbox_dir.parent), str(settings.reports_dir), WAVE]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    new = sum(int(o[0].split()[0]) for o in outs)
    assert new == 20
    with Store(settings.store_path, read_only=True) as store:
        rows = store.rows(inst)
        assert len(store.all_files()) == 20
    assert len(rows) == 800 and not rows.duplicated(["_file_sha256", "_sheet", "_row"]).any()
    assert not [p for p in settings.inbox_dir.rglob("*") if p.is_file()]
    assert len([p for p in settings.processed_dir.rglob("*") if p.is_file()]) == 20


def test_doctor_repairs_v1_losses_from_the_archive(inst, plan, uploads, plain, tmp_path):
    settings = _setup(uploads, tmp_path)
    workflow.process_inbox(inst, plan, WAVE, settings, settle_seconds=0)
    assert check(settings) == []
    from jianfu.ingest.readers import sha256_file

    table = table_name(inst)
    victim = sha256_file(next(settings.processed_dir.rglob("*模板.xlsx")))
    with Store(settings.store_path) as store:
        # v1's loss: the file recorded as received, its rows never stored.
        store.con.execute(f'DELETE FROM "{table}" WHERE "_file_sha256" = ?', [victim])
    # And archived content nobody recorded (v1 moved files before storing them).
    sha = sha256_file(next(settings.processed_dir.rglob("*wjx.xlsx")))
    with Store(settings.store_path) as store:
        store.con.execute(f'DELETE FROM "{table}" WHERE "_file_sha256" = ?', [sha])
        store.con.execute("DELETE FROM files WHERE sha256 = ?", [sha])
        store.con.execute("DELETE FROM receipts WHERE sha256 = ?", [sha])
    found = {(f.code, f.sha256) for f in check(settings)}
    assert found == {("rows.missing", victim), ("archive.unrecorded", sha)}
    repair(settings, check(settings), inst, engine.paths.INSTRUMENTS_DIR)
    # The unrecorded file is back in its office's inbox; the next inbox run takes it in.
    assert [p.parent.name for p in settings.inbox_dir.rglob("*.xlsx")] == ["东城街道"]
    workflow.process_inbox(inst, plan, WAVE, settings, settle_seconds=0)
    assert [f for f in check(settings) if not f.pending] == []
    with Store(settings.store_path, read_only=True) as store:
        rows = store.rows(inst)
    key = ["_file_sha256", "_row"]
    rows["_respondent_key"] = rows["_respondent_key"].notna()
    pd.testing.assert_frame_equal(
        rows.sort_values(key)[plain["rows"].columns].reset_index(drop=True), plain["rows"], check_dtype=False
    )


def test_data_folders_and_files_are_private(inst, plan, uploads, tmp_path):
    settings = _setup(uploads, tmp_path)
    old = os.umask(0o022)  # a permissive umask: privacy must not depend on the caller's
    try:
        workflow.process_inbox(inst, plan, WAVE, settings, settle_seconds=0)
    finally:
        os.umask(old)
    data = settings.inbox_dir.parent
    for p in [*data.rglob("*")]:
        if p.is_relative_to(settings.inbox_dir):
            continue  # the offices' own drop folders belong to them
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o077 == 0, (p, oct(mode))
