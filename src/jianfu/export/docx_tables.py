"""Three-line tables for Word (python-docx), as Chinese journals print them.

A three-line table (三线表) after CY/T 170—2019 《学术出版规范 表格》 has a 1.5 pt rule above the
header, a 0.75 pt rule under it and a 1.5 pt rule closing the table; no vertical rules. Rules are
given in eighths of a point in WordprocessingML (``w:sz="12"`` and ``w:sz="6"``). The table number and
title sit above the table (``表1　…``), the notes below it (``注：…``).

Inside the table, statistical symbols (*N*, *M*, *SD*, *t*, *F*, *r*, *p*, *β*, *b*, *SE* …) are set
in italics wherever they occur in a header, a row label, the title or the note; numbers are aligned
on the decimal point with a decimal tab stop, so that ``−0.12**`` and ``1.05`` line up. Chinese text
is set in 宋体 (``w:eastAsia``) and Latin letters and digits in Times New Roman (``w:ascii``,
``w:hAnsi``), so Word and LibreOffice both pick the right font for each script.

The ``journal`` profile decides how numbers look:

* ``apa`` — APA 7: no leading zero for statistics that cannot exceed 1 (*p*, *r*, *β*, *R*², α,
  fit indices), ``p < .001`` for smaller *p*;
* ``cn`` — the same decimals with the leading zero kept (``0.032``), as many Chinese journals ask;
* ``spssau`` — the numbers of ``cn`` (the explanatory text under each table is the chapter's job,
  :mod:`jianfu.export.docx_chapter`).

Titles and notes follow the document's language: ``表1　…`` and ``注：…`` in Chinese, ``Table 1. …``
and ``Note. …`` in English.

References
----------
CY/T 170—2019 学术出版规范 表格. 国家新闻出版署, 2019.
American Psychological Association (2020). *Publication Manual of the American Psychological
Association* (7th ed.), sections 6.36 (leading zero), 6.44–6.46 (statistical symbols, italics).

Examples
--------
>>> format_stat(0.0312, "p", "apa"), format_stat(0.0312, "p", "cn"), format_stat(0.0004, "p", "apa")
('.031', '0.031', '< .001')
>>> format_stat(-0.4567, "r", "apa", p=0.003), format_stat(-0.4567, "b", "apa")
('−.46**', '−0.46')
>>> format_ci(-0.1737, -0.0315, "b", "cn", decimals=3)
'[−0.174, −0.032]'
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, Twips

__all__ = [
    "PROFILES",
    "KINDS",
    "Column",
    "format_stat",
    "format_ci",
    "stars",
    "stars_note",
    "add_three_line_table",
    "add_text",
    "set_run_fonts",
    "set_style_fonts",
    "use_chinese_fonts",
    "new_section",
    "text_width",
    "natural_width",
    "RULE_OUTER",
    "RULE_HEADER",
]

Profile = Literal["apa", "cn", "spssau"]
PROFILES = ("apa", "cn", "spssau")
#: Kind → (decimals, bounded by 1 in absolute value: no leading zero under ``apa``).
KINDS: dict[str, tuple[int, bool]] = {
    "p": (3, True),
    "r": (2, True),
    "beta": (2, True),
    "R2": (3, True),
    "alpha": (2, True),
    "omega": (2, True),
    "loading": (2, True),
    "ave": (2, True),
    "cr": (2, True),
    "cfi": (3, True),
    "tli": (3, False),  # the TLI is not bounded by 1
    "rmsea": (3, True),
    "srmr": (3, True),
    "eta2": (3, True),
    "b": (2, False),
    "se": (2, False),
    "t": (2, False),
    "F": (2, False),
    "z": (2, False),
    "chi2": (2, False),
    "d": (2, False),
    "M": (2, False),
    "SD": (2, False),
    "pct": (1, False),
    "n": (0, False),
}
#: The outer rules (top and bottom) and the rule under the header, in eighths of a point.
RULE_OUTER = 12  # 1.5 pt
RULE_HEADER = 6  # 0.75 pt
MINUS = "\u2212"
MISSING = "—"
LATIN_FONT = "Times New Roman"
CJK_FONT = "宋体"
TITLE_SIZE = Pt(10.5)  # 五号
BODY_SIZE = Pt(9)  # 小五
#: Widest column of text (row labels, descriptions), in ems of the table font, when the table does not
#: fit otherwise: longer text wraps.
TEXT_MAX_EMS = 16.0
# Standalone statistical symbols: not inside a word (CR, AVE, Model) and not followed by a digit.
_SYMBOLS = re.compile(r"(?<![A-Za-z_])(SD|SE|df|N|M|n|t|F|r|p|b|B|R|z|d|g|k|β|χ|α|ω|η)(?![A-Za-z0-9_])")
# Inside a table also the path and variable letters of a process model (a, c, c′, W, X, Y), which
# in running English text would catch the article "a".
_TABLE_SYMBOLS = re.compile(r"(?<![A-Za-z_])(SD|SE|df|N|M|n|t|F|r|p|a|b|c|B|R|W|X|Y|z|d|g|k|β|χ|α|ω|η)(?![A-Za-z0-9_])")
_NUMBER_LIKE = re.compile(r"^[<>≤≥]?\s*[−\-+]?\d*\.?\d+%?\**[†‡a-z]?$")


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(
            f"未知的期刊格式 {profile!r}（可选：apa、cn、spssau） / unknown journal profile; use {PROFILES}"
        )


def stars(p: float | None) -> str:
    """Significance stars: ``*`` p < .05, ``**`` p < .01, ``***`` p < .001; none for missing *p*."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def stars_note(profile: Profile = "apa", lang: str = "zh") -> str:
    """The legend of the stars, in the profile's number style: ``* p < .05，** p < .01，*** p < .001``.

    Chinese text separates the three with full-width commas, English with ``, ``.
    """
    _check_profile(profile)
    z = "" if profile == "apa" else "0"
    sep = "，" if lang == "zh" else ", "
    return sep.join(f"{'*' * k} p < {z}.{cut}" for k, cut in ((1, "05"), (2, "01"), (3, "001")))


def format_stat(
    value: float | None, kind: str, profile: Profile = "apa", *, decimals: int | None = None, p: float | None = None
) -> str:
    """A statistic as a journal prints it.

    Parameters
    ----------
    value : float or None
        The number; ``None`` or NaN print as an em dash.
    kind : str
        One of :data:`KINDS` (``p``, ``r``, ``beta``, ``b``, ``se``, ``t``, ``F``, ``M``, ``SD``,
        ``R2``, ``alpha``, ``chi2``, ``pct``, ``n`` …): sets the decimals and whether the leading
        zero may go.
    profile : {"apa", "cn", "spssau"}
        ``apa`` drops the leading zero of statistics bounded by 1; ``cn`` and ``spssau`` keep it.
    decimals : int, optional
        Overrides the kind's decimals.
    p : float, optional
        Append significance stars for this *p* value.

    Returns
    -------
    str
        The text, with a true minus sign (U+2212); *p* below .001 as ``< .001`` and *p* that
        rounds to 1 as ``> .999``.

    Notes
    -----
    APA 7 (section 6.36): "Do not use a zero before a decimal fraction when the statistic cannot
    be greater than 1 (e.g., correlations, proportions, and levels of statistical significance)".
    A bounded statistic that is not below 1 in absolute value (a Heywood loading of 1.02) keeps its
    integer digit.

    Examples
    --------
    >>> format_stat(0.25, "beta", "apa"), format_stat(0.25, "beta", "cn"), format_stat(2.5, "t")
    ('.25', '0.25', '2.50')
    >>> format_stat(0.9996, "p"), format_stat(None, "M"), format_stat(312, "n"), format_stat(45.23, "pct")
    ('> .999', '—', '312', '45.2%')
    """
    _check_profile(profile)
    if kind not in KINDS:
        raise ValueError(f"未知的统计量类型 {kind!r} / unknown statistic kind; use one of {sorted(KINDS)}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    places, bounded = KINDS[kind]
    places = places if decimals is None else decimals
    drop_zero = bounded and profile == "apa"
    zero = "" if drop_zero else "0"
    value = float(value)
    if kind == "p":
        floor = 10.0**-places
        if value < floor:
            text = f"< {zero}.{'0' * (places - 1)}1"
        elif round(value, places) >= 1:
            text = f"> {zero}.{'9' * places}"
        else:
            text = _fixed(value, places, drop_zero)
    else:
        text = _fixed(value, places, drop_zero and abs(round(value, places)) < 1)
        if kind == "pct":
            text += "%"
    return text + stars(p)


def _fixed(value: float, places: int, drop_zero: bool) -> str:
    text = f"{value:.{places}f}"
    if set(text) <= set("-0."):
        text = text.lstrip("-")  # no "−0.00"
    negative = text.startswith("-")
    text = text.lstrip("-")
    if drop_zero and text.startswith("0."):
        text = text[1:]
    return (MINUS if negative else "") + text


def format_ci(
    low: float | None, high: float | None, kind: str = "b", profile: Profile = "apa", *, decimals: int | None = None
) -> str:
    """A confidence interval as ``[low, high]`` in the profile's number style (an em dash when missing)."""
    if low is None or high is None or any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        return MISSING
    lo, hi = (format_stat(v, kind, profile, decimals=decimals) for v in (low, high))
    return f"[{lo}, {hi}]"


@dataclass(frozen=True)
class Column:
    """A column of a table: its header and, for numbers, the statistic ``kind`` that formats them.

    A column without ``kind`` holds text (left-aligned in the first column, centred elsewhere, or
    as ``align`` says) unless all its cells look like numbers, which are then decimal-aligned as
    given. Integers (counts, *df*) are written as integers in any column.
    """

    label: str
    kind: str | None = None
    decimals: int | None = None
    align: Literal["left", "center"] | None = None


def set_run_fonts(run, latin: str = LATIN_FONT, east_asia: str = CJK_FONT, size: Pt | None = None) -> None:
    """Give a run its Latin and East Asian fonts in the XML (``w:ascii``, ``w:hAnsi``, ``w:eastAsia``).

    python-docx's ``run.font.name`` sets only the Latin font; Word then shows Chinese in whatever
    East Asian font the style has.
    """
    run.font.name = latin
    rfonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)
    if size is not None:
        run.font.size = size


def set_style_fonts(style, latin: str = LATIN_FONT, east_asia: str = CJK_FONT, size: Pt | None = None) -> None:
    """Give a style its Latin and East Asian fonts, replacing any theme fonts.

    Word's built-in styles (the headings) name theme fonts (``w:asciiTheme``, ``w:eastAsiaTheme``),
    which take precedence over the explicit font names in the same element; they are removed.
    """
    style.font.name = latin
    if size is not None:
        style.font.size = size
    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)


def use_chinese_fonts(document, latin: str = LATIN_FONT, east_asia: str = CJK_FONT, size: Pt = Pt(10.5)) -> None:
    """Set the document's Normal style to 宋体 for Chinese and Times New Roman for Latin text."""
    set_style_fonts(document.styles["Normal"], latin, east_asia, size)


def add_text(paragraph, text: str, size: Pt | None = None, bold: bool = False, *, east_asia: str = CJK_FONT) -> None:
    """Add ``text`` to a paragraph as runs in the document fonts, statistical symbols in italics.

    Parameters
    ----------
    paragraph : docx.text.paragraph.Paragraph
        Where the runs go.
    text : str
        Running text: symbols standing alone (*b*, *p*, *β*, *N*, *SD*, *t*, *F*, *r* …, not
        inside words such as CR, AVE or CFI) are set in italics.
    size : Pt, optional
        Font size; the paragraph style's size by default.
    bold : bool
        Bold runs (headings, titles).
    east_asia : str
        The font for Chinese (宋体; 黑体 for headings); Latin text is in Times New Roman.
    """
    _add_text(paragraph, text, size, bold, east_asia=east_asia)


def _add_text(
    paragraph,
    text: str,
    size: Pt | None,
    bold: bool = False,
    symbols: re.Pattern = _SYMBOLS,
    east_asia: str = CJK_FONT,
) -> None:
    """Add ``text`` as runs, statistical symbols in italics."""
    pos = 0
    for m in symbols.finditer(text):
        if m.start() > pos:
            _run(paragraph, text[pos : m.start()], size, bold, False, east_asia)
        _run(paragraph, m.group(), size, bold, True, east_asia)
        pos = m.end()
    if pos < len(text):
        _run(paragraph, text[pos:], size, bold, False, east_asia)


def _run(paragraph, text: str, size: Pt | None, bold: bool, italic: bool, east_asia: str = CJK_FONT):
    run = paragraph.add_run(text)
    set_run_fonts(run, east_asia=east_asia, size=size)
    # Only what differs from the paragraph is written: an explicit "not italic" would cost an
    # element per run and stop a style from setting it.
    run.bold = True if bold else None
    run.italic = True if italic else None
    return run


def _border(parent, edge: str, size: int | None) -> None:
    el = OxmlElement(f"w:{edge}")
    if size is None:
        el.set(qn("w:val"), "nil")
    else:
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
    parent.append(el)


def _table_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    for old in tbl_pr.findall(qn("w:tblBorders")):
        tbl_pr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for edge, size in (
        ("top", RULE_OUTER),
        ("left", None),
        ("bottom", RULE_OUTER),
        ("right", None),
        ("insideH", None),
        ("insideV", None),
    ):
        _border(borders, edge, size)
    # CT_TblPr is a sequence: the borders go before shading, layout, cell margins and look.
    tbl_pr.insert_element_before(
        borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription"
    )


def _cell_bottom_rule(cell, size: int) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    for old in tc_pr.findall(qn("w:tcBorders")):
        tc_pr.remove(old)
    borders = OxmlElement("w:tcBorders")
    _border(borders, "bottom", size)
    tc_pr.append(borders)


def _header_row(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader"):  # repeated on every page; never split
        tr_pr.append(OxmlElement(tag))


def _text_units(text: str) -> float:
    """Width of ``text`` in ems: CJK characters one em, everything else about half an em."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.5 for ch in text)


def _split_decimal(text: str) -> tuple[str, str]:
    core = text.split(".", 1)
    if len(core) == 2:
        return core[0], "." + core[1]
    m = re.match(r"^(.*?\d)(\D*)$", text)
    return (m.group(1), m.group(2)) if m else (text, "")


def _cell_text(value, column: Column, profile: Profile) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))  # counts (N, df) in a column of coefficients
    if column.kind is not None:
        return format_stat(value, column.kind, profile, decimals=column.decimals)
    return format_stat(float(value), "b", profile, decimals=column.decimals)


def _set_spacing(paragraph) -> None:
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0


def add_three_line_table(
    doc,
    title: str,
    columns: Sequence[str | Column],
    rows: Sequence[Sequence[object]],
    note: str | None = None,
    profile: Profile = "apa",
    *,
    number: int | str | None = None,
    groups: Sequence[tuple[str, int]] | None = None,
    size: Pt = BODY_SIZE,
    lang: str = "zh",
):
    """Add a numbered three-line table with its title above and its note below.

    Parameters
    ----------
    doc : docx.document.Document
        The document; the title, table and note are appended at its end.
    title : str
        The table title without its number: ``层次回归结果`` becomes ``表1　层次回归结果``
        (``Table 1. Hierarchical regression`` in English).
    columns : sequence of str or Column
        Headers; a :class:`Column` with ``kind`` formats numeric cells with :func:`format_stat`.
    rows : sequence of sequences
        Cells: text as given, numbers formatted by their column, ``None``/NaN as an em dash, ``""``
        left blank (the upper triangle of a correlation matrix).
    note : str, optional
        Text under the table; ``注：`` (``Note.``) is put in front unless it is already there.
    profile : {"apa", "cn", "spssau"}
        Number style (see :func:`format_stat`).
    number : int or str, optional
        The table number; by default one more than the tables already in ``doc``. A string numbers
        appendix tables (``"A1"`` gives ``表A1``).
    groups : sequence of (label, span), optional
        A header row above the column headers grouping columns (``[("", 1), ("模型1", 2),
        ("模型2", 2)]``), with a 0.75 pt rule under each labelled group; spans must add up to the
        number of columns.
    size : Pt
        Font size of the table and the note (小五, 9 pt, by default).
    lang : {"zh", "en"}
        Language of the number label and the note prefix.

    Returns
    -------
    docx.table.Table
        The table: borders ``top``/``bottom`` ``w:sz=12``, rule under the header ``w:sz=6``, left,
        right and inside rules ``nil``.
    """
    _check_profile(profile)
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    if any(len(r) != len(cols) for r in rows):
        raise ValueError("每行的单元格数须等于列数 / every row needs one cell per column")
    if groups is not None and sum(span for _, span in groups) != len(cols):
        raise ValueError("分组表头的列数之和须等于列数 / the group spans must add up to the number of columns")
    number = number if number is not None else len(doc.tables) + 1
    texts = [[_cell_text(v, c, profile) for v, c in zip(r, cols, strict=True)] for r in rows]
    numeric = _numeric(cols, texts)

    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    heading.paragraph_format.keep_with_next = True
    heading.paragraph_format.space_before = Pt(6)
    heading.paragraph_format.space_after = Pt(3)
    caption = f"表{number}\u3000{title}" if lang == "zh" else f"Table {number}. {title}"
    _add_text(heading, caption, TITLE_SIZE, bold=True)

    n_header = 2 if groups else 1
    table = doc.add_table(rows=n_header + len(rows), cols=len(cols))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _table_borders(table)
    widths = _column_widths(doc, cols, texts, size)
    _fix_widths(table, widths)

    if groups:
        row, j = table.rows[0], 0
        _header_row(row)
        for label, span in groups:
            cell = row.cells[j].merge(row.cells[j + span - 1]) if span > 1 else row.cells[j]
            para = cell.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _set_spacing(para)
            if label:
                _add_text(para, label, size, symbols=_TABLE_SYMBOLS)
                _cell_bottom_rule(cell, RULE_HEADER)
            j += span
    header = table.rows[n_header - 1]
    _header_row(header)
    for j, c in enumerate(cols):
        cell = header.cells[j]
        para = cell.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.LEFT if (j == 0 or c.align == "left") else WD_ALIGN_PARAGRAPH.CENTER
        para.paragraph_format.keep_with_next = True
        _set_spacing(para)
        _add_text(para, c.label, size, symbols=_TABLE_SYMBOLS)
        _cell_bottom_rule(cell, RULE_HEADER)

    tabs = [_decimal_tab(widths[j], [t[j] for t in texts], size) if numeric[j] else None for j in range(len(cols))]
    text_align = [
        WD_ALIGN_PARAGRAPH.LEFT if (c.align == "left" or (c.align is None and j == 0)) else WD_ALIGN_PARAGRAPH.CENTER
        for j, c in enumerate(cols)
    ]
    for i, cells in enumerate(texts):
        row = table.rows[n_header + i]
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for j, text in enumerate(cells):
            para = row.cells[j].paragraphs[0]
            _set_spacing(para)
            # Every row but the last keeps with the next: a table that fits on a page is not split.
            para.paragraph_format.keep_with_next = i < len(texts) - 1
            if text == "":
                continue
            if tabs[j] is not None and text != MISSING:
                para.paragraph_format.tab_stops.add_tab_stop(Twips(tabs[j]), WD_TAB_ALIGNMENT.DECIMAL)
                # No tab character: in a table cell Word and LibreOffice align a paragraph on its first
                # decimal tab stop by themselves, and LibreOffice ignores a leading tab there.
                _run(para, text, size, False, False)
            elif tabs[j] is not None:  # a dash in a column of numbers: centred
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _run(para, text, size, False, False)
            else:  # row labels (first column) left, other text centred; symbols in italics
                para.alignment = text_align[j]
                _add_text(para, text, size, symbols=_TABLE_SYMBOLS)

    if note:
        para = doc.add_paragraph()
        para.paragraph_format.space_before = Pt(3)
        para.paragraph_format.space_after = Pt(6)
        prefix = "注：" if lang == "zh" else "Note. "
        _add_text(para, note if note.startswith(prefix.strip()) else prefix + note, size)
    return table


def text_width(doc) -> int:
    """The width between the margins of the last section, in twips."""
    sec = doc.sections[-1]
    return int((sec.page_width - sec.left_margin - sec.right_margin) / 635)  # EMU → twips


def new_section(doc, landscape: bool):
    """Start a new page in a section of the given orientation, with the last section's margins.

    Wide tables (a correlation matrix, the invariance ladder) go on landscape pages between
    portrait ones; the page size is swapped, not changed.
    """
    last = doc.sections[-1]
    width, height = sorted((last.page_width, last.page_height), reverse=landscape)
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = width, height
    return section


def _numeric(cols: list[Column], texts: list[list[str]]) -> list[bool]:
    """Which columns hold numbers (decimal-aligned): a ``kind``, or every cell number-like or empty."""
    return [
        j > 0 and (c.kind is not None or all(_NUMBER_LIKE.match(t[j]) or t[j] in (MISSING, "") for t in texts))
        for j, c in enumerate(cols)
    ]


def _needs(cols: list[Column], texts: list[list[str]], wrap: bool = False) -> list[float]:
    """Each column's width in ems: its longest content with some air on either side.

    With ``wrap`` the columns of text ask for at most :data:`TEXT_MAX_EMS` and wrap, rather than
    crowd the numbers.
    """
    numeric = _numeric(cols, texts)
    need = []
    for j, c in enumerate(cols):
        longest = max(max([_text_units(c.label), *(_text_units(t[j]) for t in texts)]), 3.0) + 1.5
        need.append(longest if numeric[j] or not wrap else min(longest, TEXT_MAX_EMS))
    return need


def _fix_widths(table, widths: list[int]) -> None:
    """Column widths in the grid, every cell and the table (whose layout is fixed: ``autofit`` off).

    LibreOffice lays a table out by its grid (``w:tblGrid``), Word by the cell widths; python-docx
    fills the grid with equal columns, so both are set.
    """
    for col, w in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(w))
    for j, w in enumerate(widths):
        for cell in table.columns[j].cells:
            cell.width = Twips(w)
    tbl_w = table._tbl.tblPr.find(qn("w:tblW"))  # python-docx always writes one
    tbl_w.set(qn("w:w"), str(sum(widths)))
    tbl_w.set(qn("w:type"), "dxa")


def natural_width(
    columns: Sequence[str | Column], rows: Sequence[Sequence[object]], profile: Profile = "apa", size: Pt = BODY_SIZE
) -> int:
    """The width in twips a table needs: every number on one line, long text wrapped.

    Compare it with :func:`text_width` to decide whether a table goes on a landscape page.
    """
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    texts = [[_cell_text(v, c, profile) for v, c in zip(r, cols, strict=True)] for r in rows]
    return int(sum(_needs(cols, texts, wrap=True)) * size.pt * 20)


def _column_widths(doc, cols: list[Column], texts: list[list[str]], size: Pt = BODY_SIZE) -> list[int]:
    """Widths in twips filling the text width, in proportion to each column's longest content.

    When the content does not fit on one line, the columns of numbers keep their width and the
    columns of text share the rest (in proportion to their content, capped at :data:`TEXT_MAX_EMS`)
    and wrap.
    """
    total, em = text_width(doc), size.pt * 20
    need = _needs(cols, texts)
    if sum(need) * em > total:
        numeric, capped = _numeric(cols, texts), _needs(cols, texts, wrap=True)
        free = total - sum(n for n, num in zip(need, numeric, strict=True) if num) * em
        text = sum(n for n, num in zip(capped, numeric, strict=True) if not num)
        if text * em <= free:  # the numbers fit and the text gets the rest
            need = [n if num else c * free / (text * em) for n, c, num in zip(need, capped, numeric, strict=True)]
        else:
            need = capped
    scale = total / sum(need)
    widths = [int(n * scale) for n in need]
    widths[0] += total - sum(widths)
    return widths


def _decimal_tab(width: int, texts: list[str], size: Pt) -> int:
    """Where the decimal tab goes so that the block of numbers sits in the middle of the cell.

    The widest integer part and the widest fraction (with stars) decide the block's width; the
    decimal point falls at its integer-part width from the block's left edge.
    """
    em = size.pt * 20  # one em in twips
    left = max([_text_units(_split_decimal(t)[0]) for t in texts if t != MISSING] + [0.5]) * em
    right = max([_text_units(_split_decimal(t)[1]) for t in texts if t != MISSING] + [0.0]) * em
    margin = 108  # Word's default cell margin (0.08 in) on each side
    inner = width - 2 * margin
    return int(max(left, (inner - (left + right)) / 2 + left))
