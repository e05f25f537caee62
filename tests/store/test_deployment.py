"""The README's "Workers on other machines", run for real on one machine.

A Prefect server on PostgreSQL, a ``process`` work pool, ``jianfu deploy`` of the scheduled deployments
to it, two ``prefect worker start`` processes whose flow runs inherit ``JIANFU_STORE_URL`` (the store on
the same PostgreSQL server, another database), and the data and reports folders every process shares.
Four office uploads land in the shared inbox, two ``prefect deployment run 'inbox/inbox-poll'`` are
started at once, and the test checks what the README promises: both runs complete, one on each worker
(each worker takes one run at a time: ``--limit 1``), every uploaded row is stored once, the wave's
report is on the shared reports folder, Prefect's database holds no respondent's data, and nothing
started here is left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from jianfu.ingest.readers import sha256_file
from jianfu.store.database import table_name
from jianfu.synth import simulate, write_survey

PREFECT = str(Path(sys.executable).with_name("prefect"))
JIANFU = str(Path(sys.executable).with_name("jianfu"))
POOL = "jianfu"
#: Two offices, two uploads each, 60 respondents an upload: small, Prefect and the report are most of the time.
UPLOADS = {"城关镇/第一批.xlsx": 301, "城关镇/第二批.xlsx": 302, "东城街道/wjx.xlsx": 303, "东城街道/补报.xlsx": 304}
ROWS = 60
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, path: str, body: dict | None = None, timeout: float = 30):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}{path}", data, {"Content-Type": "application/json"}, method="GET" if body is None else "POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class _Processes:
    """The background processes of one deployment, each in its own process group, all stopped at the end.

    Every process started here (and every flow run a worker starts, in a session of its own) carries this
    deployment's ``PREFECT_HOME`` in its environment: that is how stragglers are found.
    """

    def __init__(self, logs: Path, marker: str):
        self.logs, self.marker, self.procs = logs, marker, []
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                args, env=env, cwd=self.logs, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        # Workers before the server: a worker whose server is gone waits for it instead of exiting.
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
        for pid in self.leftovers():  # flow runs a worker started in a session of their own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def leftovers(self) -> list[int]:
        """Running processes that carry this deployment's environment."""
        needle = self.marker.encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if needle in (entry / "environ").read_bytes():  # a zombie's reads empty
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or another account's
                continue
        return found


def _wait(what: str, until, timeout: float, proc: subprocess.Popen | None = None, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = until()
        except (OSError, urllib.error.URLError, json.JSONDecodeError):
            found = None
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: the process exited ({proc.returncode})\n{log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{log()}")
        time.sleep(1)


def _run(args: list[str], env: dict, timeout: float = 180) -> str:
    # Not in the checkout: the deployment's own paths must lead the workers there.
    done = subprocess.run(args, env=env, cwd=Path(env["PREFECT_HOME"]), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[:3]}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _logs(url: str, flow_run_id: str) -> list[str]:
    """The flow run's own log lines (not its tasks'), page by page."""
    messages: list[str] = []
    while True:
        body = {
            "logs": {"flow_run_id": {"any_": [flow_run_id]}, "task_run_id": {"is_null_": True}},
            "sort": "TIMESTAMP_ASC",
            "offset": len(messages),
            "limit": 200,
        }
        page = [entry["message"] for entry in _api(url, "/logs/filter", body)]
        messages += page
        if len(page) < 200:
            return messages


def _database_text(url: str) -> str:
    """Every row of every table of a database, as text."""
    import psycopg

    with psycopg.connect(url) as con:
        tables = [
            r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ]
        return "\n".join("\n".join(row[0] for row in con.execute(f'SELECT t::text FROM "{name}" t')) for name in tables)


@pytest.mark.slow
def test_two_process_workers_share_the_postgresql_store_and_the_reports(inst, postgres, tmp_path):
    prefect_db = postgres.new_database().replace("postgresql://", "postgresql+asyncpg://", 1)
    store_db = postgres.new_database()
    shared = tmp_path / "shared"  # the mount every machine sees
    data, reports = shared / "data", shared / "reports"
    home = tmp_path / "prefect-home"
    home.mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "JIANFU_"))}
    base |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "JIANFU_NO_PROGRESS": "1"}
    client = base | {"PREFECT_API_URL": url}
    procs = _Processes(tmp_path / "logs", f"PREFECT_HOME={home}\0")

    uploads = {}
    for name, seed in UPLOADS.items():
        survey = simulate(inst, n=ROWS, seed=seed)
        path = write_survey(survey, inst, tmp_path / "uploads" / name, fmt="wjx-text")
        uploads[sha256_file(path)] = (path, survey)
    # Names of three characters and phone numbers: shorter names could match an office's name by chance.
    pii = {v for _, s in uploads.values() for v in [*s.pii["phone"], *(n for n in s.pii["name"] if len(n) >= 3)]}
    assert len(pii) > len(uploads) * ROWS

    try:
        server = procs.start(
            "server",
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            base | {"PREFECT_API_DATABASE_CONNECTION_URL": prefect_db},
        )
        _wait("server health", lambda: _api(url, "/health", timeout=5), 180, server, lambda: procs.log("server"))

        _run([PREFECT, "work-pool", "create", POOL, "--type", "process"], client)
        deployed = _run([JIANFU, "deploy", "--pool", POOL, "--data-dir", str(data), "--out", str(reports)], client)
        assert len(deployed.split()) == 2  # inbox-poll and weekly-reanalysis
        dep = _api(url, "/deployments/name/inbox/inbox-poll")
        assert dep["work_pool_name"] == POOL
        assert dep["parameters"]["data_dir"] == str(data) and dep["parameters"]["out"] == str(reports)

        # Each worker machine: the store's URL in the worker's environment, which its flow runs inherit.
        worker_env = client | {"JIANFU_STORE_URL": store_db}
        workers = {
            name: procs.start(
                name, [PREFECT, "worker", "start", "--pool", POOL, "--limit", "1", "--name", name], worker_env
            )
            for name in ("w1", "w2")
        }

        def online() -> bool:
            listed = _api(url, f"/work_pools/{POOL}/workers/filter", {})
            return {w["name"] for w in listed if w["status"] == "ONLINE"} == set(workers)

        _wait("both workers online", online, 180, log=lambda: procs.log("w1") + procs.log("w2"))
        assert {p.pid for _, p in procs.procs} <= set(procs.leftovers())  # the check at the end can see them

        for path, _ in uploads.values():  # dropped into the shared inbox, settled (older than settle_seconds)
            target = data / "inbox" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            os.utime(target, (time.time() - 120, time.time() - 120))

        triggers = [
            subprocess.Popen(
                [PREFECT, "deployment", "run", "inbox/inbox-poll"],
                env=client,
                cwd=home,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        ids = []
        for trigger in triggers:
            out, err = trigger.communicate(timeout=180)
            assert trigger.returncode == 0, err[-3000:]
            ids.append(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1))

        def finished() -> list[dict] | None:
            runs = _api(url, "/flow_runs/filter", {"flow_runs": {"id": {"any_": ids}}})
            return runs if len(runs) == 2 and all(r["state_type"] in FINAL for r in runs) else None

        runs = _wait("both flow runs final", finished, 300, log=lambda: procs.log("w1") + procs.log("w2"))
        assert [r["state_type"] for r in runs] == ["COMPLETED", "COMPLETED"], procs.log("w1") + procs.log("w2")

        def logged() -> dict[str, list[str]] | None:
            # A run's last lines reach the server after its final state: wait for them.
            found = {r["id"]: _logs(url, r["id"]) for r in runs}
            return found if all(any(m.startswith("Finished in state") for m in v) for v in found.values()) else None

        logs = _wait("both flow runs' logs", logged, 60)
        (procs.logs / "flow-runs.json").write_text(json.dumps(logs, ensure_ascii=False, indent=1), encoding="utf-8")
        assert all(p.poll() is None for p in workers.values())

        # Which worker took each run, from the workers' own logs. Both may try to submit the same run:
        # Prefect lets one proceed and aborts the other ("Aborted submission of flow run ..."), so a
        # run is taken by the worker whose submission was not aborted.
        took: dict[str, set[str]] = {r["id"]: set() for r in runs}
        for name in workers:
            text = (procs.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")
            aborted = set(re.findall(r"Aborted submission of flow run '([0-9a-f-]{36})'", text))
            for run_id in re.findall(r"Worker '.+?' submitting flow run '([0-9a-f-]{36})'", text):
                if run_id in took and run_id not in aborted:
                    took[run_id].add(name)
        assert sorted(name for names in took.values() for name in names) == ["w1", "w2"], took

        # The two runs shared the four uploads between them (each file is claimed by one run only).
        counts = [
            tuple(map(int, m.groups()))
            for lines in logs.values()
            for line in lines
            if (m := re.match(r"inbox: (\d+) new file\(s\), (\d+) re-sent", line))
        ]
        assert len(counts) == 2 and tuple(map(sum, zip(*counts, strict=True))) == (len(uploads), 0), logs

        # The PostgreSQL store: every uploaded row exactly once, under the file it came from.
        import psycopg

        with psycopg.connect(store_db) as con:
            stored = con.execute(
                f'SELECT "_file_sha256", count(*), count(DISTINCT "_row") FROM "{table_name(inst)}" '
                'GROUP BY "_file_sha256"'
            ).fetchall()
            files = con.execute("SELECT sha256, n_rows, office FROM files").fetchall()
        assert sorted(stored) == sorted((sha, ROWS, ROWS) for sha in uploads)
        assert sorted(files) == sorted((sha, ROWS, path.parent.name) for sha, (path, _) in uploads.items())
        assert not list((data / "inbox").rglob("*.xlsx"))
        assert len(list((data / "processed").rglob("*.xlsx"))) == len(uploads)
        assert not (data / "store").exists()  # no DuckDB file next to the shared data: the store is the server

        # The wave's report on the shared reports folder: the run that committed last rebuilt it over all four.
        written = {Path(m.group(1)) for v in logs.values() for line in v if (m := re.search(r"report (/.+)$", line))}
        assert written and all(p.parent == reports and p.is_file() for p in written), written
        read = [pd.read_excel(p, sheet_name="摘要", header=None).to_string() for p in sorted(written)]
        assert any(f"本次共读取 {ROWS * len(uploads)} 份答卷" in text for text in read)

        # Prefect's database holds run metadata only: no name or phone number of a respondent.
        prefect_text = _database_text(prefect_db.replace("postgresql+asyncpg://", "postgresql://", 1))
        assert str(data) in prefect_text  # the deployment's parameters: what a scan would find, if anything
        assert [v for v in pii if v in prefect_text] == []
    finally:
        procs.stop()
    assert procs.leftovers() == []


def test_two_reports_of_a_wave_in_the_same_second_get_one_name_each(tmp_path, monkeypatch):
    """Two workers can rebuild one wave at once (both runs above may): neither may write over the other's report."""
    import datetime as dt
    import types

    from jianfu import pipeline
    from jianfu.report import workbook

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 11, 30, 8, 0, 0)

    def write(summary, inst, path, lang="zh"):
        assert path.stat().st_size == 0  # claimed for this call, by no one else
        path.write_text(summary.wave, encoding="utf-8")
        return path

    monkeypatch.setattr(pipeline, "datetime", Frozen)
    monkeypatch.setattr(workbook, "write_report", write)
    inst, summary = types.SimpleNamespace(id="cadre_burden"), types.SimpleNamespace(wave="2026-11")
    written = [pipeline.report(summary, inst, tmp_path / "reports", lang) for lang in ("zh", "zh", "en", "zh")]
    assert [p.name for p in written] == [
        "jianfu_cadre_burden_2026-11_20261130-080000.xlsx",
        "jianfu_cadre_burden_2026-11_20261130-080000-1.xlsx",
        "jianfu_cadre_burden_2026-11_20261130-080000_en.xlsx",
        "jianfu_cadre_burden_2026-11_20261130-080000-2.xlsx",
    ]
    assert all(p.read_text(encoding="utf-8") == "2026-11" for p in written)
