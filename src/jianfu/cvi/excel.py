"""The Excel side of expert-panel content validity: the rating form, reading it back, the result workbook.

:func:`write_rating_workbook` writes the form experts fill in; :func:`read_forms` reads one or several
returned forms (or a DataFrame) into a complete table of ratings, collecting every problem — a missing
sheet, a broken header, a missing or impossible rating — with its file, sheet, row, column and fix
before it raises :class:`RatingsError`; :func:`write_cvi_result` writes the indices computed by
:func:`jianfu.cvi.panel.score_ratings`, where the statistics live.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.datavalidation import DataValidation

from jianfu.errors import JianfuError
from jianfu.instrument import Instrument, load_instrument
from jianfu.normalize import nfkc
from jianfu.problems import Problem, error
from jianfu.report.styles import FONT, inert, note, page, table, title

if TYPE_CHECKING:
    from jianfu.cvi.panel import CVIResult

__all__ = [
    "RATINGS_SHEET",
    "INSTRUCTIONS_SHEET",
    "RELEVANCE",
    "RatingsError",
    "PanelRatings",
    "write_rating_workbook",
    "read_forms",
    "write_cvi_result",
]

RATINGS_SHEET = "专家评分"
INSTRUCTIONS_SHEET = "填写说明"
#: The 4-point relevance scale of Davis (1992) and Lynn (1986); 3 and 4 count as relevant.
RELEVANCE = {
    1: ("不相关", "not relevant"),
    2: ("弱相关", "somewhat relevant"),
    3: ("较强相关", "quite relevant"),
    4: ("非常相关", "highly relevant"),
}
# The fixed columns of the rating sheet, keyed by the first line of their header; every other
# column is one expert's ratings.
_FIXED = [
    ("题号", "Item ID", 9),
    ("维度", "Construct", 16),
    ("维度定义", "Construct definition", 42),
    ("题目", "Item", 40),
    ("英文", "English", 36),
    ("依据原文", "Seed quote", 32),
]
_FIXED_KEYS = {zh for zh, _, _ in _FIXED}
_ID, _CONSTRUCT, _TEXT = "题号", "维度", "题目"
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_LABEL_CODE = {label: code for code, pair in RELEVANCE.items() for label in pair}
# "4", "4.0", "4 非常相关", "4（非常相关）": a code, optionally followed by its label.
_CODE_TEXT = re.compile(r"([1-4])(?:\.0+)?(?:\s*[(（]?\s*[A-Za-z\u4e00-\u9fff].*)?")


class RatingsError(JianfuError, ValueError):
    """A rating form cannot be scored; ``problems`` lists every located problem with its fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            f"专家评分表有 {len(problems)} 处问题，未计算 / the rating form has {len(problems)} problem(s); "
            "nothing was scored:\n" + "\n".join(f"  - {p}" for p in problems)
        )


# ---------------------------------------------------------------------------------------------
# The rating form
# ---------------------------------------------------------------------------------------------


def _two_lines(text) -> str:
    return f"{text.zh}\n{text.en}" if text is not None else ""


def _source_text(item) -> str:
    src = item.source
    if src.quote:
        return f"“{src.quote}”\n—— {src.seed}"
    return f"引自 adapted from: {src.reference}" if src.reference else ""


def write_rating_workbook(instrument: Instrument | str | Path, path: str | Path, n_experts: int = 6) -> Path:
    """Write the expert rating form for ``instrument`` and return its path.

    Parameters
    ----------
    instrument : Instrument or path
        The questionnaire; every item of every first-order scale is listed.
    path : str or Path
        The ``.xlsx`` to write.
    n_experts : int, default 6
        Number of expert columns (``专家1`` … ``专家n``); experts may overwrite the header with a name
        or code, and unused columns are ignored when scoring.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Sheet :data:`RATINGS_SHEET` has one row per item (id, construct, its definition, the item in
    Chinese and English, the seed quote it operationalises) and one column per expert, each cell a
    drop-down of the relevance codes 1–4 (:data:`RELEVANCE`); sheet :data:`INSTRUCTIONS_SHEET`
    explains the task.
    """
    if not isinstance(instrument, Instrument):
        instrument = load_instrument(instrument)
    if n_experts < 1:
        raise ValueError(f"n_experts must be at least 1, got {n_experts}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.properties.title = "jianfu CVI rating form"
    wb.properties.subject = f"{instrument.id} v{instrument.version}"
    _instructions(wb.active, instrument, n_experts)
    _ratings_sheet(wb.create_sheet(RATINGS_SHEET), instrument, n_experts)
    wb.save(path)
    return path


def _instructions(ws, inst: Instrument, n_experts: int) -> None:
    ws.title = INSTRUCTIONS_SHEET
    scale = "；".join(f"{c} = {zh}" for c, (zh, _) in RELEVANCE.items())
    scale_en = "; ".join(f"{c} = {en}" for c, (_, en) in RELEVANCE.items())
    lines = [
        "专家内容效度评定表 Expert content-validity rating form",
        f"问卷 Instrument：{inst.title.zh}（{inst.id} v{inst.version}）",
        "",
        "尊敬的专家：感谢您参与本问卷的内容效度评定。",
        "1. 请在“专家评分”表中，对照每个题目所属维度及其定义，判断该题目与该维度的相关程度。",
        f"2. 评分标准（4 级）：{scale}。",
        f"3. 每位专家使用一列（共 {n_experts} 列）：可把第一行的“专家k”改为您的姓名或代号，"
        "然后在下拉列表中为每个题目选择 1–4，也可直接输入数字。",
        "4. 请为每个题目打分，不要留空；对题目的修改建议请以批注形式写在相应单元格中。",
        "5. 请勿修改题号列，不要插入、删除或重排行。各位专家分别填写的文件可以直接交回，无需合并。",
        "6. “依据原文”列给出题目所依据的政策或研究文献原文，供判断题目是否忠实于所测概念。",
        "",
        "Dear expert, thank you for judging the content validity of this questionnaire.",
        "On the 专家评分 sheet, rate how relevant each item is to its construct (see the definition).",
        f"Scale: {scale_en}. Use one column per expert (you may replace 专家k with your name or code),",
        "pick 1–4 from the drop-down or type the number, and rate every item (leave none blank). Put",
        "suggested rewordings in a cell comment. Do not change the item ids or insert, delete or sort rows.",
        "",
        "研究者回收后运行 / the researcher then runs:  jianfu cvi score 文件.xlsx [更多文件 more.xlsx …]",
    ]
    for line in lines:
        ws.append([line])
        ws.cell(row=ws.max_row, column=1).alignment = _WRAP
    ws["A1"].font = Font(name=FONT, bold=True, size=14)
    # Narrow enough to print on A4 portrait; long lines wrap instead of running off the page.
    ws.column_dimensions["A"].width = 90
    _fit_to_page_width(ws, landscape=False)


def _wrapped_lines(text: str, width: int) -> int:
    """Lines ``text`` takes in a column ``width`` characters wide (a Chinese character counts two)."""
    total = 0
    for part in text.split("\n"):
        chars = sum(2 if ord(c) > 0x2E7F else 1 for c in part)
        total += max(1, -(-chars // max(width - 1, 1)))
    return total


def _fit_to_page_width(ws, landscape: bool) -> None:
    """Print on A4, all columns on one page width, as many pages tall as needed."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def _ratings_sheet(ws, inst: Instrument, n_experts: int) -> None:
    headers = [(zh, en, w) for zh, en, w in _FIXED]
    headers += [(f"专家{k}", f"Expert {k}", 11) for k in range(1, n_experts + 1)]
    for j, (zh, en, width) in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=f"{zh}\n{en}")
        cell.font = Font(name=FONT, bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        ws.column_dimensions[get_column_letter(j)].width = width
    row = 1
    for scale in inst.first_order_scales:
        definition = getattr(scale, "definition", None)
        for item in scale.items:
            row += 1
            zh, en = item.text.zh, item.text.en
            if item.reverse:
                zh, en = zh + "〔反向计分〕", en + " [reverse-keyed]"
            values = [item.id, _two_lines(scale.name), _two_lines(definition), zh, en, _source_text(item)]
            for j, value in enumerate(values, start=1):
                inert(ws.cell(row=row, column=j), value)
                ws.cell(row=row, column=j).alignment = _WRAP
            # Spreadsheet programs do not grow rows for wrapped text on their own when printing.
            lines = max(_wrapped_lines(str(v or ""), w) for v, (_, _, w) in zip(values, _FIXED, strict=True))
            ws.row_dimensions[row].height = 15 * lines
    first, last = get_column_letter(len(_FIXED) + 1), get_column_letter(len(headers))
    prompt = "\n".join(f"{c} {zh} {en}" for c, (zh, en) in RELEVANCE.items())
    dv = DataValidation(
        type="list",
        formula1='"1,2,3,4"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="无效评分 Invalid rating",
        error="请选择或输入 1、2、3、4。Pick or type 1, 2, 3 or 4.",
        showInputMessage=True,
        promptTitle="相关程度 Relevance",
        prompt=prompt,
    )
    dv.add(f"{first}2:{last}{max(row, 2)}")
    ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 36
    ws.freeze_panes = f"{first}2"
    ws.print_title_rows = "1:1"
    _fit_to_page_width(ws, landscape=True)


# ---------------------------------------------------------------------------------------------
# Reading and checking returned forms
# ---------------------------------------------------------------------------------------------


@dataclass
class _Form:
    """One returned form: raw cells (items × experts) and where each sits in the file."""

    file: str
    sheet: str | None
    cells: pd.DataFrame
    constructs: pd.Series
    texts: pd.Series
    rows: dict = field(default_factory=dict)
    letters: dict = field(default_factory=dict)
    instrument: str | None = None


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def _code(v) -> int | None:
    """A rating as 1–4, or None when it is not one."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v) if float(v).is_integer() and 1 <= v <= 4 else None
    s = nfkc(v)
    if s in _LABEL_CODE:
        return _LABEL_CODE[s]
    m = _CODE_TEXT.fullmatch(s)
    return int(m.group(1)) if m else None


def _plain(v) -> str:
    # Texts are shown as written: NFKC would turn the full-width punctuation of Chinese into ASCII.
    return "" if _blank(v) else str(v).strip()


def _header_key(v) -> str:
    return nfkc(v).split("\n")[0].strip() if not _blank(v) else ""


_FORM = (
    "请使用 jianfu cvi template 生成的评分表，评分填在“专家评分”工作表中",
    "use the form written by `jianfu cvi template`; ratings go on the 专家评分 sheet",
)
_SAME = ("每位专家使用同一份评分表模板，不要增删行", "use the same form for every expert; do not add or delete rows")
# code → (problem zh, problem en, fix zh, fix en), formatted with the keywords of each problem.
_MESSAGES = {
    "file.missing": ("找不到文件", "file not found", "检查文件路径", "check the path"),
    "file.unreadable": (
        "不是可读取的 .xlsx 文件",
        "not a readable .xlsx file ({detail})",
        "用 Excel 或 WPS 另存为 .xlsx",
        "save it as .xlsx from Excel or WPS",
    ),
    "sheet.missing": ("没有“专家评分”工作表（现有：{sheets}）", "no sheet named 专家评分 (found: {sheets})", *_FORM),
    "header.no_id": ("第一行没有“题号”列", "the first row has no 题号 (item id) column", *_FORM),
    "header.blank": (
        "该列有评分但第一行没有专家名称",
        "this column has ratings but no expert name in row 1",
        "在第一行填写专家姓名或代号（如“专家7”）",
        "enter the expert's name or code in row 1 (e.g. 专家7)",
    ),
    "header.duplicate": (
        "专家名称“{name}”出现不止一次",
        "expert name {name!r} is used more than once",
        "给每位专家一个不同的名称或代号",
        "give each expert a different name or code",
    ),
    "row.no_id": (
        "该行有评分但没有题号",
        "this row has ratings but no item id",
        "恢复该行的题号，或清除该行的评分",
        "restore the row's item id or clear its ratings",
    ),
    "row.duplicate": (
        "题号“{item}”重复（另见第 {first} 行）",
        "item {item!r} repeats row {first}",
        "每个题目只保留一行",
        "keep one row per item",
    ),
    "value.invalid": (
        "题目 {item} 的评分不是 1–4",
        "the rating of item {item} is not 1–4",
        "改为 1（不相关）、2（弱相关）、3（较强相关）或 4（非常相关）",
        "enter 1 (not relevant), 2 (somewhat), 3 (quite) or 4 (highly relevant)",
    ),
    "value.missing": (
        "该专家有 {n} 个题目未评分（第 {rows} 行）",
        "this expert left {n} item(s) unrated (rows {rows_en})",
        "请该专家补评这些题目（每位专家须评定全部题目）；若该专家退出，清空其整列",
        "ask the expert to rate these items (every expert rates every item); if the expert "
        "withdrew, clear the whole column",
    ),
    "value.none": (
        "没有任何专家评分",
        "the form holds no ratings",
        "请专家在各自的列中为每个题目选择 1–4",
        "have each expert rate every item 1–4 in their column",
    ),
    "item.missing": ("缺少题目 {item}（{other} 中有）", "item {item} is missing (present in {other})", *_SAME),
    "item.extra": ("多出题目 {item}（{other} 中没有）", "item {item} is not in {other}", *_SAME),
}


def _problem(code: str, file: str, sheet=None, row=None, column=None, value=None, **fmt) -> Problem:
    zh, en, fix_zh, fix_en = (text.format(**fmt) for text in _MESSAGES[code])
    return error(f"cvi.{code}", zh, en, fix_zh, fix_en, file=file, sheet=sheet, row=row, column=column, value=value)


def _read_form(path: str | Path) -> _Form:
    """One returned form as raw cells; :class:`RatingsError` if its layout is not the form's."""
    name = Path(path).name
    try:
        wb = load_workbook(path, data_only=True)
    except FileNotFoundError:
        raise RatingsError([_problem("file.missing", name)]) from None
    except Exception as exc:  # openpyxl raises several types for a file that is not an .xlsx
        raise RatingsError([_problem("file.unreadable", name, detail=type(exc).__name__)]) from None
    if RATINGS_SHEET not in wb.sheetnames:
        raise RatingsError([_problem("sheet.missing", name, sheets=", ".join(wb.sheetnames))])
    grid = [list(r) for r in wb[RATINGS_SHEET].iter_rows(values_only=True)]
    header = grid[0] if grid else []
    keys = [_header_key(h) for h in header]
    if _ID not in keys:
        raise RatingsError([_problem("header.no_id", name, RATINGS_SHEET, row=1)])
    at = {"file": name, "sheet": RATINGS_SHEET}
    problems: list[Problem] = []
    experts: list[tuple[int, str]] = []  # (column index, expert name) of the columns holding ratings
    for j, key in enumerate(keys):
        if key in _FIXED_KEYS or all(_blank(r[j]) for r in grid[1:]):
            continue
        if not key:
            problems.append(_problem("header.blank", **at, row=1, column=get_column_letter(j + 1)))
        else:
            experts.append((j, str(header[j]).strip().replace("\n", " ")))
    names = [n for _, n in experts]
    for j, n in experts:
        if names.count(n) > 1:
            problems.append(_problem("header.duplicate", **at, row=1, column=get_column_letter(j + 1), name=n))
    col = {k: keys.index(k) for k in (_ID, _CONSTRUCT, _TEXT) if k in keys}
    rows: dict[str, int] = {}
    cells, constructs, texts = [], [], []
    for i, r in enumerate(grid[1:], start=2):
        item, ratings = nfkc(r[col[_ID]]), [r[j] for j, _ in experts]
        if not item or item in rows:
            if item:
                problems.append(
                    _problem(
                        "row.duplicate",
                        **at,
                        row=i,
                        column=get_column_letter(col[_ID] + 1),
                        item=item,
                        first=rows[item],
                    )
                )
            elif any(not _blank(v) for v in ratings):
                problems.append(_problem("row.no_id", **at, row=i, column=get_column_letter(col[_ID] + 1)))
            continue
        rows[item] = i
        cells.append(ratings)
        constructs.append(_plain(r[col[_CONSTRUCT]]).replace("\n", " ") if _CONSTRUCT in col else "")
        texts.append(_plain(r[col[_TEXT]]) if _TEXT in col else "")
    if problems:
        raise RatingsError(problems)
    ids = list(rows)
    return _Form(
        file=name,
        sheet=RATINGS_SHEET,
        cells=pd.DataFrame(cells, index=pd.Index(ids, name="item"), columns=names, dtype=object),
        constructs=pd.Series(constructs, index=ids, dtype=object),
        texts=pd.Series(texts, index=ids, dtype=object),
        rows=rows,
        letters={n: get_column_letter(j + 1) for j, n in experts},
        instrument=wb.properties.subject or None,
    )


def _frame_form(frame: pd.DataFrame, constructs: Mapping | None) -> _Form:
    ids = [str(i) for i in frame.index]
    cells = frame.astype(object).set_axis(pd.Index(ids, name="item")).set_axis([str(c) for c in frame.columns], axis=1)
    cons = pd.Series([str((constructs or {}).get(i, "")) for i in frame.index], index=ids, dtype=object)
    return _Form("<DataFrame>", None, cells, cons, pd.Series("", index=ids, dtype=object))


def _check(form: _Form) -> tuple[pd.DataFrame, list[Problem]]:
    """Integer ratings with unused (blank) expert columns dropped, and the problems of the rest."""
    problems: list[Problem] = []
    used = [c for c in form.cells.columns if not all(_blank(v) for v in form.cells[c])]
    out = pd.DataFrame(index=form.cells.index, columns=used, dtype="Int64")
    for j, expert in enumerate(used):
        at = {"file": form.file, "sheet": form.sheet}
        at["column"] = f"{form.letters[expert]} ({expert})" if expert in form.letters else expert
        missing = []
        for pos, (item, v) in enumerate(form.cells[expert].items()):
            row = form.rows.get(item, pos + 1)
            code = None if _blank(v) else _code(v)
            if _blank(v):
                missing.append(row)
            elif code is None:
                problems.append(_problem("value.invalid", **at, row=row, value=str(v), item=item))
            else:
                out.iat[pos, j] = code
        if missing:
            shown = [str(r) for r in missing[:10]] + (["…"] if len(missing) > 10 else [])
            problems.append(
                _problem(
                    "value.missing",
                    **at,
                    row=missing[0],
                    n=len(missing),
                    rows="、".join(shown),
                    rows_en=", ".join(shown),
                )
            )
    return out, problems


@dataclass(frozen=True)
class PanelRatings:
    """A panel's complete ratings: items × experts (1–4), each item's construct and text, the files read."""

    ratings: pd.DataFrame
    constructs: pd.Series
    texts: pd.Series
    files: list[str]
    instrument: str | None = None


def _merge(forms: list[_Form]) -> tuple[pd.DataFrame, list[Problem]]:
    """Experts of several forms side by side; a header used in two files is prefixed with its file."""
    problems: list[Problem] = []
    checked = []
    for form in forms:
        ratings, found = _check(form)
        problems += found
        checked.append((form, ratings))
    base = forms[0]
    for form, _ in checked[1:]:
        at = {"file": form.file, "sheet": form.sheet, "other": base.file}
        problems += [_problem("item.missing", **at, item=i) for i in base.cells.index.difference(form.cells.index)]
        problems += [
            _problem("item.extra", **at, item=i, row=form.rows.get(i))
            for i in form.cells.index.difference(base.cells.index)
        ]
    counts = pd.Series([c for _, r in checked for c in r.columns]).value_counts()
    parts = []
    for form, ratings in checked:
        rename = {c: f"{Path(form.file).stem}:{c}" for c in ratings.columns if counts[c] > 1}
        parts.append(ratings.rename(columns=rename).reindex(base.cells.index))
    return pd.concat(parts, axis=1), problems


def read_forms(
    source: str | Path | pd.DataFrame | Sequence[str | Path | pd.DataFrame],
    constructs: Mapping[str, str] | None = None,
) -> PanelRatings:
    """Read returned rating forms into one complete table of ratings, or raise with every problem.

    Parameters
    ----------
    source : path, DataFrame, or a sequence of them
        Forms written by :func:`write_rating_workbook` and filled in by the experts — one with all
        experts, or one per expert (their columns are put side by side; a header used in two files
        is prefixed with the file name). A DataFrame has one row per item (the index holds item ids)
        and one column per expert. Expert columns left entirely blank are ignored.
    constructs : mapping, optional
        Item id → construct, for DataFrame input (forms carry their construct column).

    Returns
    -------
    PanelRatings

    Raises
    ------
    RatingsError
        Listing every missing rating, value outside 1–4, missing sheet or broken header, with its
        file, sheet, row, column and fix.
    """
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    forms, problems = [], []
    for s in sources:
        try:
            forms.append(_frame_form(s, constructs) if isinstance(s, pd.DataFrame) else _read_form(s))
        except RatingsError as exc:
            problems += exc.problems
    if not forms:
        raise RatingsError(problems)
    ratings, found = _merge(forms)
    problems += found
    if not problems and ratings.shape[1] == 0:
        problems.append(_problem("value.none", ", ".join(f.file for f in forms), forms[0].sheet))
    if problems:
        raise RatingsError(problems)
    return PanelRatings(
        ratings=ratings.astype(int),
        constructs=forms[0].constructs,
        texts=forms[0].texts,
        files=[f.file for f in forms],
        instrument=next((f.instrument for f in forms if f.instrument), None),
    )


# ---------------------------------------------------------------------------------------------
# The result workbook
# ---------------------------------------------------------------------------------------------

_RED = Font(name=FONT, bold=True, color="C00000")


def _fmt(x: float) -> str:
    return f"{x:.2f}".replace("0.", ".", 1) if x < 1 else "1.00"


def write_cvi_result(result: CVIResult, path: str | Path) -> Path:
    """Write ``result`` as a two-sheet workbook (汇总 Summary, 题目 Items) and return its path.

    Parameters
    ----------
    result : CVIResult
        From :func:`score_ratings`.
    path : str or Path
        The ``.xlsx`` to write.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    # Cells without a font of their own render Chinese (openpyxl has no public setter; as in jianfu.report.styles).
    wb._fonts = IndexedList([Font(name=FONT, size=11)])
    wb._named_styles["Normal"].font = Font(name=FONT, size=11)
    _summary_sheet(wb.active, result)
    _items_sheet(wb.create_sheet("题目 Items"), result)
    wb.save(path)
    return path


def _summary_sheet(ws, res: CVIResult) -> None:
    ws.title = "汇总 Summary"
    o = res.overall
    sub = f"{o['n_experts']} 位专家 experts × {o['n_items']} 个题目 items；评分表 forms：{', '.join(res.sources)}"
    if res.instrument:
        sub += f"；问卷 instrument：{res.instrument}"
    row = title(ws, "专家内容效度评定结果 Content validity by expert panel (CVI)", sub)
    below = list(res.items.index[res.items["below_cutoff"]])
    verdict = (
        f"{len(below)} 个题目 I-CVI 低于 .78，建议修改或删除：{'、'.join(below)}。"
        if below
        else "全部题目 I-CVI 不低于 .78。"
    )
    verdict_en = (
        f"{len(below)} item(s) below I-CVI .78 should be revised or dropped: {', '.join(below)}."
        if below
        else "Every item has I-CVI of at least .78."
    )
    row = note(
        ws,
        row,
        f"全问卷 S-CVI/Ave = {_fmt(o['s_cvi_ave'])}（标准 ≥ .90），S-CVI/UA = {_fmt(o['s_cvi_ua'])}"
        f"（标准 ≥ .80）；{verdict}",
        bold=True,
    )
    row = note(
        ws,
        row,
        f"Whole instrument: S-CVI/Ave = {_fmt(o['s_cvi_ave'])} (benchmark ≥ .90), S-CVI/UA = "
        f"{_fmt(o['s_cvi_ua'])} (≥ .80). {verdict_en}",
    )
    for n in res.notes:
        row = note(ws, row, n)
    row = note(ws, row + 1, "表1 各维度内容效度 Scale-level CVI by construct", bold=True)
    rows = [[name, int(r.n_items), r.s_cvi_ave, r.s_cvi_ua, int(r.n_below)] for name, r in res.scales.iterrows()]
    rows.append(["全部 All", o["n_items"], o["s_cvi_ave"], o["s_cvi_ua"], o["n_below"]])
    row = table(
        ws,
        row,
        ["维度 Construct", "题数 Items", "S-CVI/Ave", "S-CVI/UA", "I-CVI < .78 题数 Items"],
        rows,
        formats={2: "0.00", 3: "0.00"},
        widths=[34, 10, 11, 11, 16],
    )
    row = note(ws, row, "表2 I-CVI 低于 .78 的题目 Items with I-CVI below .78", bold=True)
    flagged = res.items[res.items["below_cutoff"]]
    if flagged.empty:
        row = note(ws, row, "无 None.") + 1
    else:
        # Numbers under the numeric columns of table 1; the long texts to their right.
        rows = [
            [
                i,
                f"{r.n_relevant} / {r.n_experts}",
                r.i_cvi,
                r.kappa,
                f"{r.evaluation} {r.evaluation_en}",
                r.construct,
                r.text,
            ]
            for i, r in flagged.iterrows()
        ]
        headers = ["题号 Item", "A / N", "I-CVI", "κ*", "评价 Evaluation", "维度 Construct", "题目 Item text"]
        row = table(ws, row, headers, rows, formats={2: "0.00", 3: "0.00"}, widths=[34, 10, 11, 11, 16, 30, 60])
    row = note(ws, row, "表3 各专家评为相关（3 或 4）的题目比例 Share of items each expert rated relevant", bold=True)
    row = table(
        ws, row, ["专家 Expert", "比例 Share"], [[e, float(v)] for e, v in res.experts.items()], formats={1: "0.00"}
    )
    for line in (
        "说明 Notes: I-CVI = 评 3 或 4 的专家数 A / 专家数 N（Lynn 1986）；S-CVI/Ave = 各题 I-CVI 的平均数，"
        "S-CVI/UA = 全体专家均评 3 或 4 的题目比例（Polit & Beck 2006）。",
        "Pc = [N!/(A!(N−A)!)]·0.5^N 为随机一致概率，修正 κ* = (I-CVI − Pc)/(1 − Pc)；κ* > .74 优秀 excellent，"
        ".60–.74 良好 good，.40–.59 一般 fair（Polit, Beck & Owen 2007）。判定均按两位小数。",
        "References: Lynn, M. R. (1986). Nursing Research, 35(6), 382–385. Polit, D. F., & Beck, C. T. (2006). "
        "Research in Nursing & Health, 29, 489–497. Polit, D. F., Beck, C. T., & Owen, S. V. (2007). "
        "Research in Nursing & Health, 30, 459–467.",
    ):
        row = note(ws, row, line)
    page(ws, last_col=7)


def _items_sheet(ws, res: CVIResult) -> None:
    top = title(ws, "各题目内容效度 Item-level CVI", "▲ = I-CVI 低于 .78，建议修改或删除 below .78: revise or drop")
    rows = [
        [
            i,
            r.construct,
            r.text,
            int(r.n_experts),
            int(r.n_relevant),
            r.i_cvi,
            r.pc,
            r.kappa,
            f"{r.evaluation} {r.evaluation_en}",
            "▲" if r.below_cutoff else "",
        ]
        for i, r in res.items.iterrows()
    ]
    table(
        ws,
        top,
        [
            "题号 Item",
            "维度 Construct",
            "题目 Item text",
            "专家数 N",
            "评 3–4 者 A",
            "I-CVI",
            "Pc",
            "κ*",
            "评价 Evaluation",
            "标记 Flag",
        ],
        rows,
        formats={5: "0.00", 6: "0.000", 7: "0.00"},
        widths=[9, 30, 50, 9, 10, 8, 8, 8, 16, 8],
        freeze=True,
    )
    for k, flagged in enumerate(res.items["below_cutoff"], start=top + 1):
        ws.cell(row=k, column=3).alignment = _WRAP
        if flagged:
            for j in (1, 6, 10):
                ws.cell(row=k, column=j).font = _RED
    page(ws)
