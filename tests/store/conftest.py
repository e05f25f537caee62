"""A real PostgreSQL server for the store tests, and the store settings over both backends.

The server is Debian's ``postgresql`` binaries run from a temporary folder: ``initdb`` there, ``pg_ctl``
on a free localhost port with its unix socket in the same folder, trust authentication, ``fsync`` off
(a test server: nothing to keep), stopped and removed at the end of the session. ``initdb`` refuses to
run as root, so under root (CI) the server runs as the ``postgres`` account the package created.
A missing server is a failure, not a skip: ``.ci/system-deps.sh`` installs it.
"""

from __future__ import annotations

import dataclasses
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    """A running test server: ``url(db)`` connects to database ``db`` over localhost TCP."""

    port: int
    user: str
    _counter: itertools.count = dataclasses.field(default_factory=itertools.count, compare=False)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL (each test gets its own, nothing shared)."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        pytest.fail(
            "PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb): "
            "run `bash .ci/system-deps.sh` as root (the one place system packages are installed from)"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session's store tests."""
    bin_dir = _binaries()
    as_root = os.geteuid() == 0
    runner: list[str] = []
    owner = pwd.getpwuid(os.geteuid()).pw_name
    if as_root:
        owner = next(u for u in ("postgres", "nobody") if _has_user(u))
        runner = ["runuser", "-u", owner, "--"]
    # Not below pytest's tmp_path: its parents are private to root, and the server account must enter it.
    base = Path(tempfile.mkdtemp(prefix="jianfu-pg-"))
    if as_root:
        shutil.chown(base, owner)
    data = base / "data"
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*runner, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            pytest.fail(f"{Path(args[0]).name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "jianfu", "--auth=trust", "--no-sync"]
    run(*initdb, "-E", "UTF8", "--locale=C.UTF-8")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "server.log"), "-w", "start")
    try:
        yield PostgresServer(port, "jianfu")
    finally:
        subprocess.run(
            [*runner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request) -> str:
    """Each store test runs against the embedded DuckDB file and against PostgreSQL."""
    return request.param


@pytest.fixture
def settings(backend, tmp_path, request):
    """Settings under ``tmp_path`` whose store is the backend's: the DuckDB file, or a fresh PostgreSQL database."""
    from jianfu.pipeline import Settings

    settings = Settings.under(tmp_path, reports_dir=tmp_path / "reports")
    url = request.getfixturevalue("postgres").new_database() if backend == "postgres" else None
    return dataclasses.replace(settings, store_url=url)
