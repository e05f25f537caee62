"""The portal's parts on their own: doctests, the background runner, the Prefect trigger, crash recovery."""

from __future__ import annotations

import doctest
import importlib
import threading
import time

import pytest
from fastapi.testclient import TestClient
from portal.helpers import login, make_portal, upload

MODULES = ["accounts", "audit", "config", "csrf", "lockout", "sessions", "uploads", "trigger", "waves", "i18n", "app"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"jianfu_portal.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_runner_coalesces_a_burst_and_runs_one_job_at_a_time():
    running, peak, calls = [0], [0], []
    lock = threading.Lock()

    def job(tag):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        calls.append(tag)
        with lock:
            running[0] -= 1

    from jianfu_portal.trigger import Runner

    after = []
    runner = Runner(lambda: job("inbox"), lambda w: job(f"re:{w}"), lambda: after.append(1), debounce=0.1)
    threads = [threading.Thread(target=runner.kick) for _ in range(20)]
    for t in threads:
        t.start()
    runner.reanalyse("2026-11")
    runner.reanalyse("2026-11")  # queued once
    for t in threads:
        t.join()
    assert runner.wait_idle(10)
    assert sorted(calls) == ["inbox", "re:2026-11"] and peak[0] == 1 and len(after) == 2
    # A failing job is reported and does not stop the runner.
    runner._inbox = lambda: 1 / 0
    runner.kick()
    assert runner.wait_idle(10) and "ZeroDivisionError" in runner.last_error
    runner._inbox = lambda: calls.append("again")
    runner.kick()
    assert runner.wait_idle(10) and calls[-1] == "again" and runner.last_error is None
    runner.close()


def test_with_prefect_the_upload_triggers_the_inbox_deployment(tmp_path, monkeypatch, small_surveys):
    import prefect.deployments

    calls = []
    monkeypatch.setattr(prefect.deployments, "run_deployment", lambda name, **kw: calls.append((name, kw)))
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    app = make_portal(tmp_path, process="auto", debounce_seconds=0.05)
    portal = app.state.portal
    assert portal.mode == "prefect"
    client = TestClient(app)
    login(client, "城关镇")
    upload(client, [("a.csv", small_surveys["csv"].read_bytes())])
    assert portal.runner.wait_idle(10)
    [(name, kw)] = calls
    assert name == "inbox/inbox-poll" and kw["timeout"] == 0
    assert kw["parameters"]["settle_seconds"] == 0
    assert kw["parameters"]["data_dir"] == str(portal.cfg.data_dir)
    researcher = TestClient(app)
    login(researcher, "研究员")
    r = researcher.post(
        "/api/waves/2026-11/reanalyse", headers={"X-CSRF-Token": researcher.get("/api/me").json()["csrf_token"]}
    )
    assert r.json() == {"wave": "2026-11", "queued": True}
    assert portal.runner.wait_idle(10)
    assert calls[-1][0] == "reanalysis/weekly-reanalysis" and calls[-1][1]["parameters"]["wave"] == "2026-11"


def test_an_upload_interrupted_before_its_check_is_finished_on_restart(tmp_path, small_surveys):
    app = make_portal(tmp_path)
    portal = app.state.portal
    client = TestClient(app)
    login(client, "城关镇")
    [item] = upload(client, [("a.csv", small_surveys["csv"].read_bytes())]).json()
    # Simulate a portal that died between the record and the check: back to 'checking', file gone from
    # the inbox and from staging. Only the archive still has the bytes.
    with portal.db.connect() as con:
        con.execute("UPDATE uploads SET status = 'checking' WHERE id = ?", [item["id"]])
    for p in portal.settings.inbox_dir.rglob("*"):
        if p.is_file():
            p.unlink()
    with TestClient(make_portal(tmp_path, offices=(), researchers=())) as restarted:  # lifespan runs recover()
        rec = restarted.app.state.portal.uploads.get(item["id"])
    assert rec["status"] == "processing" and rec["rows_read"] == 30
    assert len([p for p in portal.settings.inbox_dir.rglob("*") if p.is_file()]) == 1
