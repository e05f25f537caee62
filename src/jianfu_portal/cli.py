"""``jianfu portal`` and ``jianfu office``: run the upload portal and manage its accounts.

:func:`register` adds both to a typer application (the ``jianfu`` console script's). This module imports
nothing heavy at import time, so ``jianfu --help`` and the engine's commands stay fast.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "office_app", "portal", "read_password"]

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="data folder shared with the pipeline (default: data/ or JIANFU_DATA_DIR)"),
]

office_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="上传门户的账号 portal accounts: one per HR office (role office) or researcher (role researcher).",
)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _operator() -> str:
    """Who changed an account: the local user running ``jianfu office`` (the audit log's ``who``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _data_dir(data_dir: Path | None) -> Path:
    from jianfu import paths

    return (data_dir or paths.DATA_DIR).resolve()


def _accounts(data_dir: Path | None):
    from .accounts import Accounts
    from .audit import AuditLog
    from .db import Database

    portal_dir = _data_dir(data_dir) / "portal"
    return Accounts(Database(portal_dir / "portal.sqlite3")), AuditLog(portal_dir / "audit.log")


def read_password(confirm: bool = True) -> str:
    """The password: one line from stdin when it is piped, else typed twice at a hidden prompt."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass("密码 password: ")
    if confirm and getpass.getpass("再输入一次 again: ") != first:
        _err("两次输入的密码不一致 / the passwords differ")
        raise typer.Exit(2)
    return first


@office_app.command("add")
def office_add(
    name: Annotated[str, typer.Argument(help="office name (it names the office's inbox folder) or researcher name")],
    role: Annotated[str, typer.Option("--role", help="office | researcher")] = "office",
    data_dir: DataDirOpt = None,
) -> None:
    """Create an account; the password is read from stdin (one line)."""
    from .accounts import AccountError

    accounts, audit = _accounts(data_dir)
    try:
        account = accounts.add(name, read_password(), role)
    except AccountError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    audit.write("account.add", _operator(), office=account.office, account=account.name, role=account.role)
    _err(f"已创建账号 created: {account.name} ({account.role})")


@office_app.command("list")
def office_list(data_dir: DataDirOpt = None) -> None:
    """List the accounts (name, role, created)."""
    accounts, _ = _accounts(data_dir)
    for a in accounts.list():
        print(f"{a.name}\t{a.role}\t{a.created_at}")


@office_app.command("remove")
def office_remove(name: Annotated[str, typer.Argument()], data_dir: DataDirOpt = None) -> None:
    """Delete an account and end its sessions (its uploads and data stay)."""
    accounts, audit = _accounts(data_dir)
    if not accounts.remove(name):
        _err(f"没有账号 no such account: {name}")
        raise typer.Exit(1)
    audit.write("account.remove", _operator(), account=name)
    _err(f"已删除账号 removed: {name}")


@office_app.command("passwd")
def office_passwd(name: Annotated[str, typer.Argument()], data_dir: DataDirOpt = None) -> None:
    """Set a new password (read from stdin, one line); ends the account's sessions."""
    from .accounts import AccountError

    accounts, audit = _accounts(data_dir)
    try:
        accounts.set_password(name, read_password())
    except AccountError as exc:
        _err(str(exc))
        raise typer.Exit(1 if "没有账号" in str(exc) else 2) from None
    audit.write("account.passwd", _operator(), account=name)
    _err(f"已更新密码 password changed: {name}")


def portal(
    host: Annotated[str, typer.Option(help="address to listen on (127.0.0.1: only via a reverse proxy)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    data_dir: DataDirOpt = None,
    reports_dir: Annotated[Path | None, typer.Option("--reports-dir", help="report folder (default: reports/)")] = None,
    instrument: Annotated[
        Path | None, typer.Option("--instrument", "-i", help="questionnaire (default: flows/schedules.yaml's)")
    ] = None,
    process: Annotated[
        str, typer.Option(help="auto (Prefect if PREFECT_API_URL is set, else here) | inprocess | prefect | off")
    ] = "auto",
    https: Annotated[
        bool, typer.Option("--https", help="served over HTTPS (behind nginx): Secure cookies and HSTS")
    ] = False,
    idle_minutes: Annotated[float, typer.Option(help="log out after this many idle minutes")] = 30.0,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="proxies whose X-Forwarded-For is trusted (the client address in the audit log)")
    ] = "127.0.0.1",
) -> None:
    """Run the HR office upload portal (stop with Ctrl-C)."""
    import uvicorn

    from .app import create_app
    from .config import PROCESS_MODES, PortalConfig

    if process not in PROCESS_MODES:
        _err(f"--process 只能是 must be one of: {', '.join(PROCESS_MODES)}")
        raise typer.Exit(2)
    cfg = PortalConfig.from_schedules(
        _data_dir(data_dir), reports_dir, instrument, process=process, secure_cookies=https, idle_minutes=idle_minutes
    )
    app = create_app(cfg)
    state = app.state.portal
    if not state.accounts.list():
        _err("提示 note: 还没有账号，请先运行 no accounts yet: run `jianfu office add NAME` first")
    _err(
        f"jianfu portal: http://{host}:{port}/  data {cfg.data_dir}  reports {cfg.reports_dir}  "
        f"processing: {state.mode}"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    """Add ``portal`` and the ``office`` group to the ``jianfu`` command."""
    app.command("portal")(portal)
    app.add_typer(office_app, name="office")
