"""One local Prefect server in the background, reused by every ``jianfu run`` while it answers.

Without a server, each flow call starts Prefect's temporary server in its own process (8–22 s on a
2-core machine, see ``benchmarks/``); against a server that is already up the same call costs about
a second. ``jianfu server start`` starts ``prefect server start`` detached from the terminal, with its
state under the runtime data folder (:data:`jianfu.paths.DATA_DIR`)::

    data/prefect/server.json   the process id and the API URL
    data/prefect/server.log    the server's output
    data/prefect/home/         PREFECT_HOME of the server: its SQLite database of flow runs

The database holds flow-run names, parameters (file paths, wave labels) and logs, never results
(:mod:`jianfu_flows.steps` persists none), and sits with the rest of the private data folder.

:func:`prefect_api` is how a flow call finds the server: an explicit ``PREFECT_API_URL`` wins, then
this server when its health check answers, else Prefect's temporary server as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from jianfu import paths
from jianfu.errors import JianfuError

__all__ = [
    "DEFAULT_PORT",
    "ServerError",
    "ServerState",
    "answers",
    "prefect_api",
    "running",
    "start",
    "state",
    "stop",
]

#: Prefect's own default port, so the UI is where its documentation says.
DEFAULT_PORT = 4200


class ServerError(JianfuError, RuntimeError):
    """The local Prefect server could not be started (the message quotes the end of its log)."""


@dataclass(frozen=True)
class ServerState:
    """What ``server.json`` records about a started server."""

    pid: int
    url: str
    log: str
    home: str


def server_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the server's state, log and database."""
    return Path(data_dir or paths.DATA_DIR) / "prefect"


def _state_file(data_dir: Path | None) -> Path:
    return server_dir(data_dir) / "server.json"


def answers(api_url: str, timeout: float = 1.0) -> bool:
    """Whether a Prefect API answers its health check at ``api_url`` (``http://host:port/api``).

    Examples
    --------
    >>> answers("http://127.0.0.1:9/api", timeout=0.2)  # the discard port: nothing listens there
    False
    """
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def state(data_dir: Path | None = None) -> ServerState | None:
    """The recorded server, if ``jianfu server start`` left one (it may have died since)."""
    try:
        return ServerState(**json.loads(_state_file(data_dir).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _is_prefect_server(pid: int) -> bool:
    """Whether ``pid`` is alive and, where /proc tells, still a Prefect server (pids are reused)."""
    if not _alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    try:
        parts = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"prefect" in b" ".join(parts) and b"server" in parts


def running(data_dir: Path | None = None, timeout: float = 1.0) -> str | None:
    """The API URL of jianfu's local server when it answers, else None."""
    recorded = state(data_dir)
    if recorded and _is_prefect_server(recorded.pid) and answers(recorded.url, timeout):
        return recorded.url
    return None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start(
    port: int = DEFAULT_PORT, host: str = "127.0.0.1", data_dir: Path | None = None, timeout: float = 180.0
) -> ServerState:
    """Start the server in the background and return once its API answers.

    Returns the running server unchanged when one is up already.

    Parameters
    ----------
    port, host
        Where the API and UI listen (``http://host:port``; the API under ``/api``).
    data_dir
        The runtime data folder (default :data:`jianfu.paths.DATA_DIR`).
    timeout
        Seconds to wait for the health check (a first start creates the database: ≈ 10–20 s here).

    Raises
    ------
    ServerError
        The port is taken, or the server exited or did not answer in time (it is stopped then).
    """
    folder = server_dir(data_dir)
    if running(data_dir):
        return state(data_dir)  # type: ignore[return-value]
    stop(data_dir)  # a recorded server that no longer answers: clear it before starting another
    if not _port_free(host, port):
        raise ServerError(f"端口 {port} 已被占用，请用 --port 换一个 / port {port} on {host} is in use: choose another")
    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    log = folder / "server.log"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # jianfu's flows have no schedules of their own here; `jianfu serve` registers them.
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)  # the server must not try to report to some other server
    url = f"http://{host}:{port}/api"
    with open(log, "ab") as out:
        # Its own session: the server outlives this command, and stop() signals its whole group.
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            start_new_session=True,
        )
    recorded = ServerState(pid=proc.pid, url=url, log=str(log), home=str(home))
    _state_file(data_dir).write_text(json.dumps(asdict(recorded)), encoding="utf-8")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(url):
            return recorded
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    stop(data_dir)
    raise ServerError(f"Prefect 服务器未能启动 / the Prefect server did not start (log {log}):\n{_tail(log)}")


def stop(data_dir: Path | None = None, timeout: float = 30.0) -> bool:
    """Stop the recorded server (SIGTERM to its process group, SIGKILL after ``timeout``).

    Returns whether a live server was stopped; a stale record is removed either way.
    """
    recorded = state(data_dir)
    if recorded is None:
        return False
    stopped = False
    if _is_prefect_server(recorded.pid):
        _signal_group(recorded.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(recorded.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(recorded.pid):
            _signal_group(recorded.pid, signal.SIGKILL)
        stopped = True
    _state_file(data_dir).unlink(missing_ok=True)
    return stopped


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(pid, sig)  # start() made the server a session (and group) leader
        else:
            os.kill(pid, sig)


def _alive(pid: int) -> bool:
    # The server is this process's child when started from the same process: reap it, or it
    # stays a zombie that still answers kill(pid, 0).
    with contextlib.suppress(ChildProcessError, OSError):
        if hasattr(os, "WNOHANG") and os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def prefect_api(data_dir: Path | None = None) -> Iterator[str | None]:
    """Point Prefect at jianfu's local server for the duration of a flow call, when it answers.

    Yields the API URL in use, or None when the call will start Prefect's temporary server. An
    API URL set already (``PREFECT_API_URL`` in the environment or in Prefect's settings, as in a
    test harness) is left as it is.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    if "prefect" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        if PREFECT_API_URL.value():
            yield PREFECT_API_URL.value()
            return
    url = running(data_dir)
    if url is None:
        yield None
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url
