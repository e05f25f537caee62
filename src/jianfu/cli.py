"""The ``jianfu`` command line.

Exit codes: 0 when at least one file was accepted (``validate``: every file valid), 1 when
none was, 2 for usage errors (unknown option, unreadable instrument). Bad input never
produces a traceback: problems are printed in Chinese and English.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from jianfu import paths
from jianfu.cvi.cli import cvi_app
from jianfu.instrument import InstrumentError, load_instrument
from jianfu.plan import PlanError
from jianfu.summary import json_safe

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="减负 jianfu — survey analytics for grassroots cadres' wellbeing.",
)
app.add_typer(cvi_app, name="cvi")


class Lang(StrEnum):
    """The language of a report: Chinese (the default) or English."""

    zh = "zh"
    en = "en"


InstrumentOpt = Annotated[Path, typer.Option("--instrument", "-i", help="问卷定义 instrument YAML")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help="sheet to read (default: the first with data)")]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="reject a file for any invalid cell (default: quarantine the row)")
]


@app.callback()
def _private() -> None:
    """Everything jianfu writes (archive, store, reports, logs) is readable by its own account only."""
    os.umask(0o077)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


UnitsOpt = Annotated[
    Path | None,
    typer.Option(
        "--units",
        help="the wave's coded units list (.yaml/.xlsx/.csv: code, name, level, aliases) 本轮单位名单",
        exists=True,
        dir_okay=False,
    ),
]


def _check_units(units: Path | None):
    """The units list, read before anything runs (exit 2 with every problem)."""
    if units is None:
        return None
    from jianfu.ingest.units import UnitsError, load_units

    try:
        return load_units(units)
    except UnitsError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None


def _load(instrument: Path):
    try:
        return load_instrument(instrument)
    except InstrumentError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None


def _load_with_plan(instrument: Path):
    """The instrument and its analysis plan, checked before anything runs (exit 2 with every problem)."""
    from jianfu.plan import load_plan

    inst = _load(instrument)
    plan_path = paths.analysis_plan_for(instrument)
    if not plan_path.exists():
        return inst, None
    try:
        return inst, load_plan(plan_path, inst)
    except PlanError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None


def _json_default(o: object):
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default, allow_nan=False)


def _clean_json(obj):
    """NaN/inf are not JSON: they become null; a typed summary becomes its JSON form."""
    return json_safe(obj)


class _RichProgress:
    """The progress bar on stderr: one line per stage, files counted during ingest."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc):
        self.bar.stop()

    def start(self, name: str, total: int | None) -> None:
        from jianfu.progress import STAGE_LABELS

        self.tasks[name] = self.bar.add_task(STAGE_LABELS.get(name, name), total=total or 1)

    def advance(self, name: str, n: int) -> None:
        self.bar.advance(self.tasks[name], n)

    def finish(self, name: str) -> None:
        task = self.tasks[name]
        self.bar.update(task, completed=self.bar.tasks[task].total)


def _progress():
    """A progress bar when a person is watching stderr; nothing otherwise (CI, schedules, pipes)."""
    from jianfu.progress import reporting

    if sys.stderr.isatty() and not os.environ.get("JIANFU_NO_PROGRESS"):
        bar = _RichProgress()
        stack = contextlib.ExitStack()
        stack.enter_context(bar)
        stack.enter_context(reporting(bar))
        return stack
    return contextlib.nullcontext()


def _print_human(summary: dict) -> None:
    for f in summary["files"]:
        mark = "✓" if f["status"] == "accepted" else "✗"
        _err(f"{mark} {f['path']} [{f['format']}] {f['status']}: {f['rows']} 行 rows")
        for e in f["errors"]:
            _err(f"    错误 error: {e}")
        for w in f["warnings"]:
            _err(f"    提示 warning: {w}")


@app.command()
def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="repair what the archive allows")] = False,
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    json_: JsonOpt = False,
) -> None:
    """Check that the archive, the files table and the stored rows agree (exit 1 if not); --repair fixes them."""
    from jianfu.doctor import check
    from jianfu.doctor import repair as mend
    from jianfu.pipeline import Settings

    settings = Settings()
    findings = check(settings)
    if repair and findings:
        mend(settings, findings, _load(instrument), paths.INSTRUMENTS_DIR)
        remaining = [f for f in check(settings) if not f.pending]
    else:
        remaining = [f for f in findings if not f.pending]
    if json_:
        print(_dump({"findings": [f.to_dict() for f in findings], "consistent": not remaining}))
    else:
        for f in findings:
            _err(str(f))
        _err(
            "一致 consistent"
            if not remaining
            else f"{len(remaining)} 处不一致 inconsistencies"
            + ("" if repair else "；可用 --repair 修复 / run with --repair")
        )
    raise typer.Exit(0 if not remaining else 1)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="files to check")],
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    sheet: SheetOpt = None,
    strict: StrictOpt = False,
    units: UnitsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check files and list every problem; writes nothing and never starts Prefect."""
    from jianfu.pipeline import Settings, validate_files

    inst, _ = _load_with_plan(instrument)
    _check_units(units)
    settings = Settings(units_file=units)
    result = _clean_json(validate_files(files, inst, settings=settings, sheet=sheet, strict=strict))
    if json_:
        print(_dump(result))
    else:
        _print_human(result)
        _err("全部有效 all valid" if result["valid"] else "存在问题 problems found")
    raise typer.Exit(0 if result["valid"] else 1)


@app.command()
def template(
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    output: Annotated[Path, typer.Option("-o", "--output", help="template .xlsx to write")] = Path(
        "jianfu_template.xlsx"
    ),
    units: UnitsOpt = None,
) -> None:
    """Write the upload template HR offices fill in (with --units, the unit is picked from the list)."""
    from jianfu.ingest.template import write_template

    print(write_template(_load(instrument), output, units=_check_units(units)))


@app.command()
def synth(
    n: Annotated[int, typer.Option("--n", min=1, help="number of respondents")] = 500,
    format: Annotated[
        str, typer.Option("--format", help="wjx-text | wjx-code | template | csv | tencent")
    ] = "wjx-text",
    seed: Annotated[int, typer.Option("--seed")] = 2024,
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("synthetic.xlsx"),
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    json_: JsonOpt = False,
) -> None:
    """Generate a synthetic survey with known injected data-quality problems."""
    from jianfu.synth import FORMATS, simulate, write_survey

    if format not in FORMATS:
        _err(f"未知格式 unknown format {format!r}; 可选 choose one of: {', '.join(FORMATS)}")
        raise typer.Exit(2)
    inst = _load(instrument)
    survey = simulate(inst, n=n, seed=seed)
    path = write_survey(survey, inst, output, fmt=format)  # type: ignore[arg-type]
    if json_:
        print(_dump({"path": str(path), "n": n, "format": format, "seed": seed, "injected": survey.injected}))
    else:
        print(path)


@app.command()
def docs(
    instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
    output: Annotated[Path, typer.Option("-o", "--output")] = paths.PROJ_ROOT / "docs" / "instrument.md",
) -> None:
    """Write the instrument documentation (constructs, items, reverse keys, seed sources)."""
    from jianfu.docs import instrument_markdown

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(instrument_markdown(_load(instrument)), encoding="utf-8")
    print(output)


if __name__ == "__main__":
    app()
