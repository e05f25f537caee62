"""Helpers of the portal tests: a portal with accounts on a temporary folder, login, upload, a live server."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from jianfu import paths
from jianfu.instrument import load_instrument
from jianfu_portal.accounts import Accounts
from jianfu_portal.app import create_app
from jianfu_portal.config import PortalConfig

PASSWORD = "correct-horse-battery"
ARTIFACTS = Path(__file__).parent / "artifacts"


class Clock:
    """A clock tests move forward (lockout and session expiry without sleeping)."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_INSTRUMENTS: dict[Path, object] = {}


def make_portal(tmp_path: Path, offices=("城关镇", "东城街道"), researchers=("研究员",), **options):
    """A portal on ``tmp_path`` with these accounts (password :data:`PASSWORD`); processing off by default."""
    cfg = PortalConfig(
        data_dir=tmp_path / "data",
        reports_dir=tmp_path / "reports",
        instrument=options.pop("instrument", paths.DEFAULT_INSTRUMENT),
        **{"process": "off", "debounce_seconds": 0.5} | options,
    )
    if cfg.instrument not in _INSTRUMENTS:  # parsing the YAML takes seconds: once per test session
        _INSTRUMENTS[cfg.instrument] = load_instrument(cfg.instrument)
    app = create_app(cfg, _INSTRUMENTS[cfg.instrument])
    accounts: Accounts = app.state.portal.accounts
    for o in offices:
        accounts.add(o, PASSWORD)
    for r in researchers:
        accounts.add(r, PASSWORD, role="researcher")
    return app


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, name: str, password: str = PASSWORD):
    """Log in through the form (as a browser does); returns the POST's response."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token}, follow_redirects=False
    )


def session_csrf(client) -> str:
    return client.get("/api/me").json()["csrf_token"]


def upload(client, files: list[tuple[str, bytes]], token: str | None = None):
    """POST /api/uploads as a script does: multipart ``files`` and the X-CSRF-Token header."""
    headers = {"X-CSRF-Token": token if token is not None else session_csrf(client)}
    return client.post("/api/uploads", files=[("files", f) for f in files], headers=headers)


@dataclass
class Live:
    app: object
    url: str
    server: object
    thread: threading.Thread

    @property
    def portal(self):
        return self.app.state.portal

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def serve(app) -> Live:
    """Run ``app`` under uvicorn on a free local port in a thread (stopped by :meth:`Live.stop`)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the portal did not start")
        time.sleep(0.05)
    return Live(app, f"http://127.0.0.1:{port}", server, thread)
