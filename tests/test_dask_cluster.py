"""`jianfu run` with JIANFU_DASK_ADDRESS against a real local Dask cluster and a running Prefect server.

The test starts `jianfu server start`, a `dask scheduler` and two `dask worker` processes on 127.0.0.1
(random ports), runs the same two uploads once without Dask and once on the cluster, and checks that:

* both runs agree on every key figure, and both find the problems the synthetic data carry by design
  (the known truth: ``survey.injected``);
* the tasks the flow submits really ran on the workers, as the workers' own task state says, and the
  workers reported them to the Prefect server, which they found through the context each task carries;
* everything started is stopped at teardown.

What runs on the cluster is what the flow submits: the per-file ingest tasks
(:meth:`jianfu_flows.steps.PrefectSteps.map`). The steps after it are called in the flow's process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_flow_server import VILLAGE, cli_env, flow_runs, free_port, jianfu, village_file

from jianfu.instrument import load_instrument
from jianfu.synth import load_structural_model, simulate

pytest.importorskip("prefect_dask", reason="the Dask extra: pip install -e '.[dask]' (make test installs it)")
from distributed import Client  # noqa: E402

DASK = str(Path(sys.executable).with_name("dask"))


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """`jianfu server start` on a free port: its API URL and the environment whose data folder records it."""
    env = cli_env(tmp_path_factory.mktemp("server"))
    started = jianfu("server", "start", "--port", str(free_port()), "--json", env=env, timeout=240)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        yield json.loads(started.stdout)["url"], env
    finally:
        jianfu("server", "stop", env=env)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, prefect_server):
    """A scheduler and two single-threaded workers named w1 and w2: the scheduler's address."""
    folder = tmp_path_factory.mktemp("dask")
    # No PREFECT_API_URL: the workers learn the server from the context each task carries.
    env = cli_env(folder / "data")
    scheduler_file = folder / "scheduler.json"
    procs = []

    def spawn(name: str, *args: str) -> None:
        with open(folder / f"{name}.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [DASK, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
                )
            )

    spawn(
        "scheduler",
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-dashboard",
        "--scheduler-file",
        str(scheduler_file),
    )
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (folder / "scheduler.log").read_text(errors="replace")
            time.sleep(0.2)
        for name in ("w1", "w2"):
            spawn(
                name,
                "worker",
                "--scheduler-file",
                str(scheduler_file),
                "--name",
                name,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            )
        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            yield client.scheduler.address
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _key_figures(summary: dict) -> dict:
    """What a reader takes from a run: counts, flags, scale reliabilities and means, hypothesis tests."""
    return {
        "rows": summary["rows"],
        "flags": summary["flags"],
        "files": sorted((Path(f["path"]).name, f["status"], f["rows"], f["accepted"]) for f in summary["files"]),
        "scales": {k: (round(s["alpha"], 10), round(s["mean"], 10), s["n"]) for k, s in summary["scales"].items()},
        "hypotheses": [
            (h["hypothesis"], h["term"], round(h["estimate"], 10), round(h["ci_low"], 10), round(h["ci_high"], 10))
            for h in summary["hypotheses"]
        ],
    }


def _post(api_url: str, path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        f"{api_url}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _executed(address: str) -> dict[str, list[str]]:
    """The task keys each worker executed, by worker name (from the workers' own state)."""

    def keys(dask_worker) -> list[str]:
        return sorted({str(entry[0]) for entry in dask_worker.state.log if str(entry[0]).startswith("ingest")})

    with Client(address, timeout=30) as client:
        info = client.scheduler_info()["workers"]
        return {info[a]["name"]: found for a, found in client.run(keys).items()}


@pytest.mark.slow
def test_a_run_on_the_dask_cluster_equals_a_plain_run(tmp_path, prefect_server, cluster):
    inst = load_instrument(VILLAGE / "village.yaml")
    model = load_structural_model(VILLAGE / "village.synth.yaml")
    uploads = [village_file(tmp_path, 150, seed, f"乡镇{seed}.xlsx") for seed in (21, 22)]
    injected = [simulate(inst, n=150, seed=seed, n_units=12, model=model).injected for seed in (21, 22)]
    args = ["--instrument", str(VILLAGE / "village.yaml"), "--wave", "dask-test", "--json"]

    api_url, server_env = prefect_server

    def run(label: str, env: dict) -> dict:
        done = jianfu("run", *map(str, uploads), *args, "--out", str(tmp_path / label), env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "temporary server" not in done.stderr
        return json.loads(done.stdout)

    # Two stores (the same uploads in one store would be re-sent copies): the plain run names the server,
    # the Dask run finds it the way a user's does, through the data folder `jianfu server start` used.
    plain = run("plain", {**cli_env(tmp_path / "plain-data"), "PREFECT_API_URL": api_url})
    on_dask = run("dask", {**server_env, "JIANFU_DASK_ADDRESS": cluster})

    assert _key_figures(on_dask) == _key_figures(plain)
    for flag in ("speeder", "straightline", "attention", "duplicate"):
        assert on_dask["flags"][flag] >= sum(i.get(flag, 0) for i in injected), flag
    # The workers reported their task runs to the server, under the Dask run's flow run.
    dask_run = next(
        r for r in flow_runs(api_url, "survey_pipeline") if r["parameters"]["out"] == str(tmp_path / "dask")
    )
    tasks = _post(api_url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [dask_run["id"]]}}})
    ingested = [t for t in tasks if t["name"].startswith("ingest-")]
    assert len(ingested) == len(uploads) and all(t["state_type"] == "COMPLETED" for t in ingested)
    executed = _executed(cluster)
    assert sorted(executed) == ["w1", "w2"]
    assert sum(len(keys) for keys in executed.values()) == len(uploads), executed
