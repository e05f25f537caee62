"""Statistics on the other cores: the same results as one process, and never a lost run."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from jianfu import parallel, workflow
from jianfu.pipeline import Settings


@pytest.fixture
def two_processes(monkeypatch):
    monkeypatch.setenv("JIANFU_PROCESSES", "2")
    parallel.shutdown()
    parallel.warm(wait=True)  # the worker is up: these tests are about where blocks run once it is
    yield
    parallel.shutdown()


def _where() -> int:
    return os.getpid()


def _slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _fail() -> None:
    raise ValueError("boom")


def _die_in_a_worker() -> str:
    if multiprocessing.parent_process() is not None:
        os._exit(3)  # a worker killed mid-block (out of memory, say)
    return "computed here"


def test_blocks_run_in_a_worker_and_a_queued_block_is_computed_by_the_caller(two_processes):
    busy = parallel.offload(_slow_pid, 3.0)  # the one worker (2 processes: this one + 1)
    queued = parallel.offload(_where)
    assert queued.result() == os.getpid()  # nobody had begun it: the caller computed it
    assert busy.result() != os.getpid()


def test_blocks_offloaded_while_the_worker_starts_are_queued_not_lost(monkeypatch):
    monkeypatch.setenv("JIANFU_PROCESSES", "2")
    parallel.shutdown()
    parallel.warm()  # returns at once; the worker starts in the background
    early = [parallel.offload(_slow_pid, 0.2) for _ in range(3)]
    done = parallel.gather(early)  # newest first, as a run collects them
    parallel.warm(wait=True)
    try:
        worker = parallel.offload(_slow_pid, 0.2).result()  # the worker is up: blocks go to it
    finally:
        parallel.shutdown()
    assert worker != os.getpid()
    # Each early block was computed by the worker or, if none had begun it, here: none was lost.
    assert len(done) == 3 and set(done) <= {os.getpid(), worker}


def test_an_exception_in_a_worker_reaches_the_caller(two_processes):
    with pytest.raises(ValueError, match="boom"):
        parallel.offload(_fail).result()


def test_a_dead_worker_costs_time_not_the_result(two_processes):
    with pytest.warns(RuntimeWarning, match="worker process exited"):
        assert parallel.offload(_die_in_a_worker).result() == "computed here"
    assert parallel.offload(_where).result() == os.getpid()  # the rest stays in this process


def test_one_process_computes_everything_here(monkeypatch):
    monkeypatch.setenv("JIANFU_PROCESSES", "1")
    parallel.shutdown()
    assert parallel.offload(_where).result() == os.getpid()


def test_a_bad_process_count_is_refused_in_both_languages(monkeypatch):
    monkeypatch.setenv("JIANFU_PROCESSES", "two")
    with pytest.raises(ValueError, match="正整数.*positive integer"):
        parallel.processes()


def _figures(summary) -> str:
    data = summary.to_json()
    for key in ("report", "exports", "provenance", "generated_at"):
        data.pop(key, None)
    return json.dumps(data, sort_keys=True, default=str)


def _on(n: int, monkeypatch, run):
    """``run()`` with ``n`` computing processes, on a fresh pool that is stopped afterwards."""
    monkeypatch.setenv("JIANFU_PROCESSES", str(n))
    parallel.shutdown()
    try:
        return run()
    finally:
        parallel.shutdown()


def _plain_run(files, inst, plan, tmp_path, monkeypatch):
    settings = Settings.under(tmp_path / "a", tmp_path / "ra")
    return _on(1, monkeypatch, lambda: workflow.run_files(files, inst, plan, "2026-11", settings))


def test_a_run_on_two_processes_equals_the_run_on_one(inst, plan, survey_files, tmp_path, monkeypatch):
    files = [survey_files["wjx-text"]]
    one = _plain_run(files, inst, plan, tmp_path, monkeypatch)
    settings = Settings.under(tmp_path / "b", tmp_path / "rb")
    two = _on(2, monkeypatch, lambda: workflow.run_files(files, inst, plan, "2026-11", settings))
    assert one.psychometrics["invariance"]  # the ladders ran, in a worker or here
    assert _figures(one) == _figures(two)
    # The Word chapter is written by the worker while the datasets are written here.
    assert list(two.exports) == list(one.exports) and "docx" in two.exports
    assert all(Path(p).stat().st_size > 0 for p in two.exports.values())


@pytest.mark.prefect
def test_the_prefect_flow_on_two_processes_equals_the_plain_run(
    prefect_harness, inst, plan, survey_files, tmp_path, monkeypatch
):
    from flows.survey_pipeline import survey_pipeline

    files = [str(survey_files["wjx-text"])]
    plain = _plain_run(files, inst, plan, tmp_path, monkeypatch)
    # The psychometrics and the ladders run in the worker and are recorded as Prefect tasks when collected.
    flowed = _on(
        2,
        monkeypatch,
        lambda: survey_pipeline(files=files, wave="2026-11", out=str(tmp_path / "rb"), data_dir=str(tmp_path / "b")),
    )
    assert flowed.psychometrics["cfa"] and flowed.psychometrics["invariance"]
    assert _figures(plain) == _figures(flowed)
