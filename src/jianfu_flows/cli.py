"""The CLI commands that run Prefect flows, added to the engine's CLI (:data:`jianfu.cli.app`).

``jianfu`` (the console script) is this module's :data:`app`: the engine's commands
(``validate``, ``template``, ``synth``, ``docs``, ``doctor``) need no Prefect and start at once;
``run``, ``inbox``, ``reanalyse``, ``serve``, ``deploy`` and ``demo`` are here because they run the
flows of :mod:`jianfu_flows`; ``server`` manages the local Prefect server they reuse
(:mod:`jianfu_flows.server`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from jianfu import paths
from jianfu.cli import (
    InstrumentOpt,
    JsonOpt,
    Lang,
    SheetOpt,
    StrictOpt,
    UnitsOpt,
    _check_units,
    _clean_json,
    _dump,
    _err,
    _load,
    _load_with_plan,
    _print_human,
    _progress,
    app,
)
from jianfu.instrument import InstrumentError
from jianfu.plan import PlanError
from jianfu_portal.cli import register as register_portal

__all__ = ["app", "main"]


def _call_flow(module: str, name: str, **params):
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary server needs 8–22 s here; Prefect gives up after 20 s, which a busy office PC
    # (or both cores busy with another run) exceeds. Waiting longer beats failing the run.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    address = os.environ.get("JIANFU_DASK_ADDRESS")
    if not address:
        from jianfu import parallel

        parallel.warm()  # the worker imports the statistics while Prefect and the flow start
    from .server import prefect_api

    # Anything the flow machinery prints goes to stderr: stdout is reserved for --json.
    # `jianfu server start`'s server when it answers: ≈ 1 s of Prefect instead of a temporary server's 8–22 s.
    with contextlib.redirect_stdout(sys.stderr), prefect_api() as api, _progress():
        import importlib

        if api is None:
            _err("Prefect: 启动临时服务器 starting a temporary server (`jianfu server start` keeps one running)")

        flow = getattr(importlib.import_module(module), name)
        if address:  # run the tasks on a Dask cluster (pip install -e ".[dask]")
            from prefect_dask import DaskTaskRunner

            flow = flow.with_options(task_runner=DaskTaskRunner(address=address))
        return flow(**params)


ExportOpt = Annotated[
    str | None,
    typer.Option(
        "--export",
        help="datasets next to the report, comma-separated: sav,dta,parquet,csv ('none' for none; "
        "default: the analysis plan's `exports`, sav)",
    ),
]
EXPORT_FORMATS = ("sav", "dta", "parquet", "csv", "docx")


def _export_formats(value: str | None) -> list[str] | None:
    """``--export sav,dta`` → ``["sav", "dta"]``; None keeps the plan's default; exit 2 for an unknown format."""
    if value is None:
        return None
    formats = [f.strip().lower() for f in value.split(",") if f.strip() and f.strip().lower() != "none"]
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        _err(
            f"未知的导出格式 unknown export format: {', '.join(unknown)}；可选 choose from: {', '.join(EXPORT_FORMATS)}"
            "（或 none）"
        )
        raise typer.Exit(2)
    return formats


def _run_flow(
    files: list[Path],
    instrument: Path,
    wave: str | None,
    out: Path | None,
    data_dir: Path | None = None,
    sheet: str | None = None,
    lang: str = "zh",
    strict: bool = False,
    exports: list[str] | None = None,
    units: Path | None = None,
) -> dict:
    return _call_flow(
        "jianfu_flows.survey_pipeline",
        "survey_pipeline",
        files=[str(f) for f in files],
        instrument=str(instrument),
        wave=wave,
        out=str(out) if out else None,
        data_dir=str(data_dir) if data_dir else None,
        sheet=sheet,
        lang=lang,
        strict=strict,
        exports=exports,
        units=str(units) if units else None,
    )


@app.command()
def run(
    files: Annotated[list[Path], typer.Argument(help="uploaded survey files (.xlsx/.xls/.csv)")],
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    wave: Annotated[str | None, typer.Option(help="survey wave label (default: YYYY-MM)")] = None,
    out: Annotated[Path | None, typer.Option(help="report folder (default: reports/)")] = None,
    sheet: SheetOpt = None,
    lang: Annotated[Lang, typer.Option(help="report language: zh (default) or en")] = Lang.zh,
    strict: StrictOpt = False,
    export: ExportOpt = None,
    units: UnitsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Ingest, clean, store, score, model and report (through the Prefect flow)."""
    _load_with_plan(instrument)
    _check_units(units)
    exports = _export_formats(export)
    try:
        summary = _clean_json(
            _run_flow(
                files, instrument, wave, out, sheet=sheet, lang=lang.value, strict=strict, exports=exports, units=units
            )
        )
    except (InstrumentError, PlanError) as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    if json_:
        print(_dump(summary))
    else:
        _print_human(summary)
        print(summary["report"])
    raise typer.Exit(0 if any(f["status"] == "accepted" for f in summary["files"]) else 1)


@app.command()
def inbox(
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    wave: Annotated[str | None, typer.Option(help="wave label (default: from flows/schedules.yaml's rule)")] = None,
    out: Annotated[Path | None, typer.Option(help="report folder (default: reports/)")] = None,
    settle: Annotated[float, typer.Option(help="skip files modified less than this many seconds ago")] = 5.0,
    lang: Annotated[Lang, typer.Option(help="report language")] = Lang.zh,
    json_: JsonOpt = False,
) -> None:
    """Process new uploads in data/inbox/<office>/ once and refresh the wave's report."""
    _load_with_plan(instrument)
    from .serve import load_schedules

    rules = load_schedules()
    result = _clean_json(
        _call_flow(
            "jianfu_flows.inbox",
            "inbox",
            instrument=str(instrument),
            wave=wave,
            wave_rule=rules.wave.rule,
            timezone=rules.timezone,
            out=str(out) if out else None,
            settle_seconds=settle,
            lang=lang.value,
        )
    )
    if json_:
        print(_dump(result))
    else:
        if result["summary"]:
            _print_human(result["summary"])
        for s in result["skipped"]:
            _err(f"  未处理 skipped: {s['message']}")
        _err(
            f"新文件 new files: {result['new_files']}；重复发送 re-sent: {result['duplicates']}；"
            f"其他进程处理中 held by another run: {result['held']}"
        )
        if result["report"]:
            print(result["report"])


@app.command()
def reanalyse(
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    wave: Annotated[str | None, typer.Option(help="wave to rebuild (default: the latest)")] = None,
    out: Annotated[Path | None, typer.Option(help="report folder (default: reports/)")] = None,
    lang: Annotated[Lang, typer.Option(help="report language")] = Lang.zh,
    export: ExportOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Rebuild a wave's report from the store (after editing the analysis plan, say)."""
    _load_with_plan(instrument)
    exports = _export_formats(export)
    summary = _call_flow(
        "jianfu_flows.reanalysis",
        "reanalysis",
        instrument=str(instrument),
        wave=wave,
        out=str(out) if out else None,
        lang=lang.value,
        exports=exports,
    )
    if summary is None:
        _err("数据库中没有该问卷的数据 / the store holds no rows of this instrument")
        raise typer.Exit(1)
    if json_:
        print(_dump(_clean_json(summary)))
    else:
        print(summary["report"])


@app.command()
def serve(schedules: Annotated[Path, typer.Option(help="schedule file")] = Path("flows/schedules.yaml")) -> None:
    """Serve the inbox and reanalysis deployments with the schedules in flows/schedules.yaml.

    Uses the Prefect server at PREFECT_API_URL (``prefect server start``); stop with Ctrl-C.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from pydantic import ValidationError

    from .serve import deployments, load_schedules

    path = schedules if schedules.is_absolute() or schedules.exists() else paths.PROJ_ROOT / schedules
    try:
        rules = load_schedules(path)
    except (OSError, ValidationError, ValueError) as exc:
        _err(f"日程文件有误 / bad schedule file {path}: {exc}")
        raise typer.Exit(2) from None
    if not os.environ.get("PREFECT_API_URL"):
        _err(
            "提示 note: PREFECT_API_URL 未设置，将使用临时服务器，定时任务不会持久 / PREFECT_API_URL is not set: "
            "schedules need a running server (`prefect server start`, then export PREFECT_API_URL)"
        )
    import prefect

    _err(
        f"serving inbox every {rules.inbox.interval_minutes:g} min and reanalysis at '{rules.reanalysis.cron}' "
        f"({rules.timezone})"
    )
    prefect.serve(*deployments(rules))


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="Prefect work pool (create it with `prefect work-pool create`)")],
    schedules: Annotated[Path, typer.Option(help="schedule file")] = Path("flows/schedules.yaml"),
    data_dir: Annotated[Path | None, typer.Option(help="data folder the workers share")] = None,
    out: Annotated[Path | None, typer.Option(help="report folder the workers share")] = None,
) -> None:
    """Register the scheduled deployments with a work pool, for `prefect worker start` on other machines."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from .serve import deploy_to_pool, load_schedules

    if not os.environ.get("PREFECT_API_URL"):
        _err(
            "需要先设置 PREFECT_API_URL / set PREFECT_API_URL to your Prefect server first "
            "(e.g. export PREFECT_API_URL=http://127.0.0.1:4200/api)"
        )
        raise typer.Exit(2)
    path = schedules if schedules.is_absolute() or schedules.exists() else paths.PROJ_ROOT / schedules
    with contextlib.redirect_stdout(sys.stderr):
        ids = deploy_to_pool(load_schedules(path), pool, str(data_dir) if data_dir else None, str(out) if out else None)
    for i in ids:
        print(i)


@app.command()
def demo(n: Annotated[int, typer.Option("--n", min=50)] = 800) -> None:
    """Make the bundled sample (if absent) and run the whole pipeline on it."""
    from jianfu.synth import simulate, write_survey

    sample = paths.SAMPLE_DIR / "wjx_sample.xlsx"
    inst = _load(paths.DEFAULT_INSTRUMENT)
    if not sample.exists():
        write_survey(simulate(inst, n=n, seed=2024), inst, sample, fmt="wjx-text")
        _err(f"sample survey written: {sample}")
    summary = _run_flow([sample], paths.DEFAULT_INSTRUMENT, "demo", None)
    _print_human(summary)
    print(summary["report"])


server_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="本地 Prefect 服务器 the local Prefect server that `jianfu run` reuses (state and log under data/prefect/).",
)
app.add_typer(server_app, name="server")


def _server_line(url: str) -> str:
    from .server import state

    recorded = state()
    where = f" (pid {recorded.pid}, log {recorded.log})" if recorded else ""
    return f"运行中 running: {url}{where}"


@server_app.command("start")
def server_start(
    port: Annotated[int, typer.Option(help="API and UI port")] = 4200,
    host: Annotated[str, typer.Option(help="listen address (127.0.0.1: this machine only)")] = "127.0.0.1",
    json_: JsonOpt = False,
) -> None:
    """Start a Prefect server in the background and wait until its API answers."""
    from .server import ServerError, start

    try:
        started = start(port=port, host=host)
    except ServerError as exc:
        _err(str(exc))
        raise typer.Exit(1) from None
    print(_dump({"status": "running", "url": started.url, "pid": started.pid}) if json_ else _server_line(started.url))


@server_app.command("status")
def server_status(json_: JsonOpt = False) -> None:
    """Say whether the server is running, with its API URL (exit 1 when stopped)."""
    from .server import running

    url = running()
    if json_:
        print(_dump({"status": "running" if url else "stopped", "url": url}))
    else:
        print(_server_line(url) if url else "已停止 stopped")
    raise typer.Exit(0 if url else 1)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the server started by `jianfu server start`."""
    from .server import stop

    print("已停止 stopped" if stop() else "未在运行 was not running")


register_portal(app)  # jianfu portal, jianfu office (src/jianfu_portal/cli.py)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
