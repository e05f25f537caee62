"""``jianfu cvi``: the expert-panel content-validity commands (``template``, ``score``).

Exit codes: 0 on success, 1 when a rating form has problems (each printed in Chinese and English
with its file, sheet, row, column and fix), 2 for usage errors (unknown option, unreadable
instrument).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from jianfu import paths
from jianfu.errors import InstrumentError

__all__ = ["cvi_app"]

cvi_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="专家内容效度评定 content validity by expert panel (I-CVI, S-CVI, κ*).",
)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


@cvi_app.command()
def template(
    output: Annotated[Path, typer.Option("-o", "--output", help="评分表 rating form .xlsx to write")] = Path(
        "experts.xlsx"
    ),
    instrument: Annotated[Path, typer.Option("--instrument", "-i", help="问卷定义 instrument YAML")] = (
        paths.DEFAULT_INSTRUMENT
    ),
    experts: Annotated[int, typer.Option("--experts", "-n", min=1, max=50, help="专家列数 expert columns")] = 6,
) -> None:
    """Write the rating form experts fill in: every item with its construct, definition and seed quote."""
    from jianfu.cvi.panel import write_rating_workbook
    from jianfu.instrument import load_instrument

    try:
        inst = load_instrument(instrument)
    except InstrumentError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    print(write_rating_workbook(inst, output, n_experts=experts))


@cvi_app.command()
def score(
    files: Annotated[list[Path], typer.Argument(help="专家交回的评分表 returned forms (one, or one per expert)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="结果 result .xlsx to write")] = None,
    json_: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
) -> None:
    """Compute I-CVI, κ*, S-CVI/Ave and S-CVI/UA; mark items below .78; optionally write an Excel result."""
    from jianfu.cvi.panel import RatingsError, score_ratings, write_cvi_result

    try:
        result = score_ratings(files)
    except RatingsError as exc:
        _err(str(exc))
        raise typer.Exit(1) from None
    if output is not None:
        write_cvi_result(result, output)
    if json_:
        out = result.to_dict() | {"output": str(output) if output else None}
        print(
            json.dumps(out, ensure_ascii=False, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
        )
        return
    o = result.overall
    print(f"{o['n_experts']} 位专家 experts × {o['n_items']} 个题目 items")
    print(f"S-CVI/Ave = {o['s_cvi_ave']:.2f}   S-CVI/UA = {o['s_cvi_ua']:.2f}")
    for name, r in result.scales.iterrows():
        print(f"  {name}: S-CVI/Ave {r.s_cvi_ave:.2f}, S-CVI/UA {r.s_cvi_ua:.2f}, I-CVI < .78: {int(r.n_below)}")
    flagged = result.items[result.items["below_cutoff"]]
    print(f"I-CVI < .78 的题目 items: {', '.join(flagged.index) if len(flagged) else '无 none'}")
    for n in result.notes:
        _err(n)
    if output is not None:
        print(output)
