"""`jianfu server start|status|stop` and a `jianfu run` that finds the started server by itself.

The slow test starts a real Prefect server on a free port under a temporary data folder, runs the
pipeline through the installed command without PREFECT_API_URL, and asks the server's REST API for
the flow run (not the CLI's own output). The fast tests cover what needs no server: a taken port,
a stale state file, an API URL that is set already.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from jianfu.instrument import load_instrument
from jianfu.synth import load_structural_model, simulate, write_survey
from jianfu_flows import server

VILLAGE = Path(__file__).parent / "fixtures" / "village"
JIANFU = str(Path(sys.executable).with_name("jianfu"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flow_runs(api_url: str, flow_name: str) -> list[dict]:
    """The server's flow runs of one flow, through its REST API."""
    body = json.dumps({"flows": {"name": {"any_": [flow_name]}}}).encode()
    request = urllib.request.Request(
        f"{api_url}/flow_runs/filter", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def village_file(folder: Path, n: int, seed: int, name: str) -> Path:
    inst = load_instrument(VILLAGE / "village.yaml")
    survey = simulate(inst, n=n, seed=seed, n_units=12, model=load_structural_model(VILLAGE / "village.synth.yaml"))
    return write_survey(survey, inst, folder / name, fmt="wjx-text")


def jianfu(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([JIANFU, *args], env=env, capture_output=True, text=True, timeout=timeout)


def cli_env(data_dir: Path) -> dict:
    env = {
        **os.environ,
        "JIANFU_DATA_DIR": str(data_dir),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "JIANFU_NO_PROGRESS": "1",
    }
    env.pop("PREFECT_API_URL", None)
    return env


@pytest.mark.slow
def test_server_round_trip_and_a_run_that_reuses_it(tmp_path):
    env = cli_env(tmp_path / "data")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    try:
        assert jianfu("server", "status", env=env).returncode == 1  # nothing started yet
        started = jianfu("server", "start", "--port", str(port), "--json", env=env, timeout=240)
        assert started.returncode == 0, started.stderr[-2000:]
        assert json.loads(started.stdout)["url"] == url
        status = jianfu("server", "status", "--json", env=env)
        assert status.returncode == 0 and json.loads(status.stdout) == {"status": "running", "url": url}
        assert server.answers(url)
        again = jianfu("server", "start", "--port", str(port), "--json", env=env)  # a second start reuses it
        assert json.loads(again.stdout)["pid"] == json.loads(started.stdout)["pid"]

        survey = village_file(tmp_path, 150, 5, "村干部.xlsx")
        run = jianfu(
            "run",
            str(survey),
            "--instrument",
            str(VILLAGE / "village.yaml"),
            "--wave",
            "server-test",
            "--out",
            str(tmp_path / "reports"),
            "--json",
            env=env,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert json.loads(run.stdout)["rows"]["read"] == 150
        assert "temporary server" not in run.stderr
        runs = [r for r in flow_runs(url, "survey_pipeline") if r["parameters"].get("wave") == "server-test"]
        assert len(runs) == 1 and runs[0]["state_type"] == "COMPLETED"
        assert runs[0]["parameters"]["files"] == [str(survey)]
    finally:
        stopped = jianfu("server", "stop", env=env)
    assert stopped.returncode == 0 and "已停止 stopped" in stopped.stdout
    assert not server.answers(url, timeout=2)
    assert jianfu("server", "status", env=env).stdout.strip() == "已停止 stopped"
    assert "未在运行 was not running" in jianfu("server", "stop", env=env).stdout


def test_start_refuses_a_taken_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(server.ServerError, match="port .* is in use"):
            server.start(port=taken.getsockname()[1], data_dir=tmp_path, timeout=5)
    assert server.state(tmp_path) is None


def test_a_stale_record_counts_as_stopped_and_is_cleared(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = server.server_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "server.json").write_text(
        json.dumps({"pid": dead.pid, "url": f"http://127.0.0.1:{free_port()}/api", "log": "", "home": ""}),
        encoding="utf-8",
    )
    assert server.running(tmp_path) is None
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # As in a fresh `jianfu run` (no URL anywhere), not as under this session's Prefect test harness.
    with temporary_settings(restore_defaults={PREFECT_API_URL}), server.prefect_api(tmp_path) as api:
        assert api is None  # so the flow call falls back to Prefect's temporary server
    assert server.stop(tmp_path) is False and server.state(tmp_path) is None


def test_an_api_url_set_already_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect-host:4200/api")
    with server.prefect_api(tmp_path) as api:
        assert api == "http://prefect-host:4200/api"
