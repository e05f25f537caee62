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
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import paths
from .instrument import InstrumentError, load_instrument
from .plan import PlanError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="减负 jianfu — survey analytics for grassroots cadres' wellbeing.")


class Lang(str, Enum):
    zh = "zh"
    en = "en"


InstrumentOpt = Annotated[Path, typer.Option("--instrument", "-i", help="问卷定义 instrument YAML")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
SheetOpt = Annotated[Optional[str], typer.Option("--sheet", help="sheet to read (default: the first with data)")]


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _load(instrument: Path):
    try:
        return load_instrument(instrument)
    except InstrumentError as exc:
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
    """NaN/inf are not JSON: they become null."""
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {k: _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    return obj


def _run_flow(files: list[Path], instrument: Path, wave: Optional[str], out: Optional[Path],
              data_dir: Optional[Path] = None, sheet: Optional[str] = None, lang: str = "zh") -> dict:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Anything the flow machinery prints goes to stderr: stdout is reserved for --json.
    with contextlib.redirect_stdout(sys.stderr):
        from flows.survey_pipeline import survey_pipeline

        return survey_pipeline(files=[str(f) for f in files], instrument=str(instrument), wave=wave,
                               out=str(out) if out else None, data_dir=str(data_dir) if data_dir else None,
                               sheet=sheet, lang=lang)


def _print_human(summary: dict) -> None:
    for f in summary["files"]:
        mark = "✓" if f["status"] == "accepted" else "✗"
        _err(f"{mark} {f['path']} [{f['format']}] {f['status']}: {f['rows']} 行 rows")
        for e in f["errors"]:
            _err(f"    错误 error: {e}")
        for w in f["warnings"]:
            _err(f"    提示 warning: {w}")


@app.command()
def run(files: Annotated[list[Path], typer.Argument(help="uploaded survey files (.xlsx/.xls/.csv)")],
        instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
        wave: Annotated[Optional[str], typer.Option(help="survey wave label (default: YYYY-MM)")] = None,
        out: Annotated[Optional[Path], typer.Option(help="report folder (default: reports/)")] = None,
        sheet: SheetOpt = None,
        lang: Annotated[Lang, typer.Option(help="report language: zh (default) or en")] = Lang.zh,
        json_: JsonOpt = False) -> None:
    """Ingest, clean, store, score, model and report (through the Prefect flow)."""
    _load(instrument)
    try:
        summary = _clean_json(_run_flow(files, instrument, wave, out, sheet=sheet, lang=lang.value))
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
def validate(files: Annotated[list[Path], typer.Argument(help="files to check")],
             instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT, sheet: SheetOpt = None,
             json_: JsonOpt = False) -> None:
    """Check files and list every problem; writes nothing and never starts Prefect."""
    from .pipeline import validate_files

    inst = _load(instrument)
    result = _clean_json(validate_files(files, inst, sheet=sheet))
    if json_:
        print(_dump(result))
    else:
        _print_human(result)
        _err("全部有效 all valid" if result["valid"] else "存在问题 problems found")
    raise typer.Exit(0 if result["valid"] else 1)


@app.command()
def template(instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
             output: Annotated[Path, typer.Option("-o", "--output", help="template .xlsx to write")] = Path(
                 "jianfu_template.xlsx")) -> None:
    """Write the upload template HR offices fill in."""
    from .template import write_template

    print(write_template(_load(instrument), output))


@app.command()
def synth(n: Annotated[int, typer.Option("--n", min=1, help="number of respondents")] = 500,
          format: Annotated[str, typer.Option("--format", help="wjx-text | wjx-code | template | csv | tencent")] = "wjx-text",
          seed: Annotated[int, typer.Option("--seed")] = 2024,
          output: Annotated[Path, typer.Option("-o", "--output")] = Path("synthetic.xlsx"),
          instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
          json_: JsonOpt = False) -> None:
    """Generate a synthetic survey with known injected data-quality problems."""
    from .synth import FORMATS, simulate, write_survey

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
def docs(instrument: InstrumentOpt = paths.DEFAULT_INSTRUMENT,
         output: Annotated[Path, typer.Option("-o", "--output")] = paths.PROJ_ROOT / "docs" / "instrument.md") -> None:
    """Write the instrument documentation (constructs, items, reverse keys, seed sources)."""
    from .docs import instrument_markdown

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(instrument_markdown(_load(instrument)), encoding="utf-8")
    print(output)


@app.command()
def demo(n: Annotated[int, typer.Option("--n", min=50)] = 800) -> None:
    """Make the bundled sample (if absent) and run the whole pipeline on it."""
    from .synth import simulate, write_survey

    sample = paths.SAMPLE_DIR / "wjx_sample.xlsx"
    inst = _load(paths.DEFAULT_INSTRUMENT)
    if not sample.exists():
        write_survey(simulate(inst, n=n, seed=2024), inst, sample, fmt="wjx-text")
        _err(f"sample survey written: {sample}")
    summary = _run_flow([sample], paths.DEFAULT_INSTRUMENT, "demo", None)
    _print_human(summary)
    print(summary["report"])

