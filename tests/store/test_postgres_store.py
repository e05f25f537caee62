"""The store's contract on both backends, and the PostgreSQL store under several writers at once.

Every test taking ``settings`` runs twice: on the DuckDB file and on a fresh database of a real
PostgreSQL server (``conftest.py``). The worker tests run ``jianfu.workflow.process_inbox`` in
separate OS processes against one PostgreSQL store, as workers on several machines would.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from test_store import test_two_identical_runs_store_every_row_exactly_once as _two_identical_runs

from jianfu import pipeline
from jianfu.doctor import check
from jianfu.ingest.readers import sha256_file
from jianfu.store.database import FileRecord, Receipt, open_store, table_name
from jianfu.synth import simulate, write_survey

WAVE = "2026-12"
KEY = ["_file_sha256", "_sheet", "_row"]


@pytest.fixture(scope="module")
def uploads(inst, tmp_path_factory) -> Path:
    """Four offices × five small exports: one simulated wave of 800, with its careless respondents, cut in 20."""
    root = tmp_path_factory.mktemp("offices")
    wave = write_survey(simulate(inst, n=800, seed=2026), inst, root / "wave.csv", fmt="csv")
    table = pd.read_csv(wave, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    wave.unlink()
    for i in range(20):
        path = root / f"office{i // 5}" / f"f{i % 5}.csv"
        path.parent.mkdir(exist_ok=True)
        table.iloc[40 * i : 40 * (i + 1)].to_csv(path, index=False, encoding="utf-8-sig")
    return root


def _batch(inst, settings, paths: list[Path]) -> tuple[list, pd.DataFrame]:
    results = [pipeline.ingest_one(p, inst, settings) for p in paths]
    return results, pipeline.clean(results, inst)


def _records(results, office: str | None = None) -> list[FileRecord]:
    return [FileRecord.from_summary(r.summary(), r.archive_path, office=office) for r in results]


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame if c.startswith("_flag_")])


# -- the contract, on both backends ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgres"])  # tests/test_store.py runs it on the DuckDB file
def test_two_identical_pipeline_runs_store_every_row_once(inst, survey_files, settings, backend):
    _two_identical_runs(inst, survey_files, settings)


def test_a_batch_committed_twice_is_stored_once_with_its_quarantine(inst, uploads, settings):
    results, frame = _batch(inst, settings, [uploads / "office0" / "f0.csv", uploads / "office1" / "f0.csv"])
    receipts = [Receipt(r.sha256, "office0", r.name, "new", r.path) for r in results]
    for _ in range(2):
        with open_store(settings) as store:
            assert store.commit_batch(inst, WAVE, _records(results, "office0"), receipts, _rows(frame)) == 80
    with open_store(settings, read_only=True) as store:
        rows = store.rows(inst)
        counts = store.row_counts()
        files = store.files(inst, WAVE)
        assert store.known_shas([r.sha256 for r in results] + ["0" * 64]) == {r.sha256 for r in results}
        assert len(store.receipts()) == 2
    assert len(rows) == 80 and not rows.duplicated(KEY).any()
    assert counts == {(table_name(inst), r.sha256): 40 for r in results}
    assert sorted((f["sha256"], f["rows"], f["office"]) for f in files) == sorted(
        (r.sha256, 40, "office0") for r in results
    )
    # The careless respondents are kept, quarantined, with their reasons.
    quarantined = rows[rows.status == "quarantined"]
    assert len(quarantined) == (frame["status"] == "quarantined").sum() > 0
    assert quarantined["reasons"].str.len().gt(0).all()
    assert check(settings) == []


def test_content_received_again_keeps_its_first_office_and_the_rows_once(inst, uploads, settings):
    results, frame = _batch(inst, settings, [uploads / "office2" / "f1.csv"])
    doubled = pd.concat([_rows(frame), _rows(frame)], ignore_index=True)  # the same keys twice in one batch
    with open_store(settings) as store:
        store.commit_batch(inst, WAVE, _records(results, "office2"), rows=doubled)
        store.commit_batch(inst, "2027-01", _records(results, "office3"), rows=_rows(frame))
    with open_store(settings, read_only=True) as store:
        (record,) = store.all_files()
        rows = store.rows(inst)
    assert (record["office"], record["wave"]) == ("office2", WAVE)
    assert len(rows) == 40 and not rows.duplicated(KEY).any()


def test_a_wave_is_unreported_until_its_report_and_again_after_new_rows(inst, uploads, settings):
    results, frame = _batch(inst, settings, [uploads / "office3" / "f2.csv"])
    with open_store(settings) as store:
        store.commit_batch(inst, WAVE, _records(results), rows=_rows(frame))
        assert store.waves(inst) == store.unreported_waves(inst) == [WAVE]
        store.mark_reported(inst, WAVE)
        assert store.unreported_waves(inst) == []
    rows, files = pipeline.load_wave(inst, WAVE, settings)  # reflags the wave and writes it back
    assert len(rows) == 40 and [f["sha256"] for f in files] == [results[0].sha256]
    with open_store(settings, read_only=True) as store:
        assert store.unreported_waves(inst) == [WAVE]
        assert len(store.rows(inst, WAVE)) == 40 and store.rows(inst, "2000-01").empty


def test_writers_of_the_same_content_at_once_store_it_once(inst, uploads, settings):
    """Four connections commit the same batch at the same moment: one after the other, never twice."""
    results, frame = _batch(inst, settings, [uploads / "office1" / f"f{k}.csv" for k in range(3)])
    with open_store(settings):
        pass  # the schema exists before the race; the race for the responses table stays in
    start, errors = threading.Barrier(4), []

    def commit(i: int) -> None:
        try:
            # Connected first, so the server's four transactions overlap; DuckDB writers queue on opening.
            store = open_store(settings) if settings.store_url else None
            start.wait(timeout=30)
            with store or open_store(settings) as store:
                store.commit_batch(inst, WAVE, _records(results, f"o{i}"), rows=_rows(frame))
        except BaseException as e:  # noqa: BLE001 - reported below with the thread it came from
            errors.append((i, e))

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with open_store(settings, read_only=True) as store:
        rows = store.rows(inst)
        assert len(store.all_files()) == 3
    assert len(rows) == 120 and not rows.duplicated(KEY).any()


def test_both_backends_hold_the_same_rows_and_records(inst, uploads, postgres, tmp_path):
    duck = pipeline.Settings.under(tmp_path / "duck")
    pg = dataclasses.replace(pipeline.Settings.under(tmp_path / "pg"), store_url=postgres.new_database())
    frames = {}
    for settings in (dataclasses.replace(duck, store_url=None), pg):
        results, frame = _batch(inst, settings, [uploads / "office0" / "f0.csv", uploads / "office0" / "f1.csv"])
        rows = _rows(frame).assign(uploaded_at=pd.Timestamp("2026-12-01 08:00:00"))
        with open_store(settings) as store:
            store.commit_batch(inst, WAVE, _records(results, "office0"), rows=rows)
        with open_store(settings, read_only=True) as store:
            files = [{k: v for k, v in f.items() if k != "archive_path"} for f in store.all_files()]
            frames[settings.store_url is None] = (store.rows(inst), sorted(files, key=lambda f: f["sha256"]))
    (duck_rows, duck_files), (pg_rows, pg_files) = frames[True], frames[False]
    assert pg_files == duck_files
    # Keyed by the respondent's hash, which each data folder salts with its own secret: compare its presence.
    for rows in (duck_rows, pg_rows):
        rows["_respondent_key"] = rows["_respondent_key"].notna()
    pd.testing.assert_frame_equal(pg_rows, duck_rows)


# -- workers in separate processes on one PostgreSQL store -----------------------------------------

_WORKER = """
import dataclasses, sys, time
from pathlib import Path
from jianfu import paths, workflow
from jianfu import pipeline as engine

data, inbox, mode, arg = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
settings = dataclasses.replace(engine.Settings.under(data, data / "reports"), inbox_dir=inbox)
assert settings.store_url, "JIANFU_STORE_URL names the store"
inst, plan = engine.load_inputs(paths.DEFAULT_INSTRUMENT)

if mode == "hang":  # the rows are sent, the transaction is open: wait here to be killed
    from jianfu.store.postgres import PostgresStore

    insert = PostgresStore._insert_frame

    def insert_then_hang(self, table, frame):
        insert(self, table, frame)
        arg.touch()
        time.sleep(600)

    PostgresStore._insert_frame = insert_then_hang


class Worker(workflow.Direct):
    # These tests are about the store: rebuilding the wave's report is left to another run.
    def run(self, step, /, *args, **kwargs):
        if step is workflow.PENDING_WAVES:
            return []
        if step is workflow.COMMIT and mode == "barrier":  # both workers write at the same moment
            (arg / str(id(self))).touch()
            deadline = time.monotonic() + 120
            while len(list(arg.iterdir())) < 2:
                assert time.monotonic() < deadline, "the other worker never reached its commit"
                time.sleep(0.01)
        return super().run(step, *args, **kwargs)


r = workflow.process_inbox(inst, plan, "2026-12", settings, settle_seconds=0, execute=Worker())
print(r["new_files"], r["duplicates"], r["held"])
"""


def _age(root: Path) -> None:
    old = time.time() - 120
    for p in root.rglob("*"):
        os.utime(p, (old, old), follow_symlinks=False)


def _worker(data: Path, inbox: Path, url: str, mode: str = "plain", arg: Path | str = "-") -> subprocess.Popen:
    env = {**os.environ, "JIANFU_STORE_URL": url}
    args = [sys.executable, "-c", _WORKER, str(data), str(inbox), mode, str(arg)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> list[int]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return [int(x) for x in out.split()]


def _stored(url: str, inst) -> tuple[list[dict], pd.DataFrame, list[dict]]:
    settings = dataclasses.replace(pipeline.Settings(), store_url=url)
    with open_store(settings, read_only=True) as store:
        return store.all_files(), store.rows(inst), store.receipts()


def test_two_workers_at_once_land_every_row_exactly_once(inst, uploads, postgres, tmp_path):
    """Two machines' workers, each with its own drop folder, office2 delivered to both, committing together."""
    url = postgres.new_database()
    data = tmp_path / "data"  # shared storage: archive, processed, rejected, the hashing key
    inboxes = {"a": data / "inbox-a", "b": data / "inbox-b"}
    for box, offices in (("a", [0, 1, 2]), ("b", [2, 3])):
        for o in offices:
            shutil.copytree(uploads / f"office{o}", inboxes[box] / f"office{o}")
    _age(data)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    workers = [_worker(data, inboxes[box], url, "barrier", barrier) for box in ("a", "b")]
    outs = [_finish(w) for w in workers]
    assert sorted(outs) == [[10, 0, 0], [15, 0, 0]]  # office2 is new to both: neither had committed yet

    files, rows, receipts = _stored(url, inst)
    in_files = {sha256_file(p): len(pd.read_csv(p)) for p in uploads.rglob("*.csv")}
    assert len(in_files) == 20 and sum(in_files.values()) == 800
    assert sorted(f["sha256"] for f in files) == sorted(in_files)
    assert rows.groupby("_file_sha256").size().to_dict() == in_files
    assert not rows.duplicated(KEY).any()
    assert {r["sha256"] for r in receipts} == set(in_files)
    assert not [p for p in data.glob("inbox-*/**/*") if p.is_file()]
    assert len([p for p in (data / "processed").rglob("*") if p.is_file()]) == 25


def test_a_worker_killed_mid_write_leaves_nothing_and_a_rerun_lands_the_files_once(inst, uploads, postgres, tmp_path):
    import psycopg

    url = postgres.new_database()
    data, inbox = tmp_path / "data", tmp_path / "data" / "inbox"
    for k in range(2):
        (inbox / "office3").mkdir(parents=True, exist_ok=True)
        shutil.copy(uploads / "office3" / f"f{k}.csv", inbox / "office3")
    _age(data)
    marker = tmp_path / "rows-sent"
    worker = _worker(data, inbox, url, "hang", marker)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert worker.poll() is None, worker.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the worker never reached the middle of its write"
        time.sleep(0.05)

    def open_transactions() -> int:
        with psycopg.connect(url) as con:
            return con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction'"
            ).fetchone()[0]

    assert open_transactions() == 1  # mid-write: its rows are in the server, uncommitted
    assert _stored(url, inst)[0] == []
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=60)
    assert worker.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while open_transactions():  # the server notices the closed connection and rolls back
        assert time.monotonic() < deadline
        time.sleep(0.05)

    files, rows, receipts = _stored(url, inst)
    assert (files, len(rows), receipts) == ([], 0, [])
    assert sorted(p.name for p in inbox.rglob("*.csv")) == ["f0.csv", "f1.csv"]

    assert _finish(_worker(data, inbox, url)) == [2, 0, 0]
    files, rows, _ = _stored(url, inst)
    assert sorted(f["name"] for f in files) == ["f0.csv", "f1.csv"]
    assert rows.groupby("_file_sha256").size().to_dict() == {f["sha256"]: 40 for f in files}
    assert not rows.duplicated(KEY).any()
    assert not list(inbox.rglob("*.csv"))
