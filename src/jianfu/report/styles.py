"""Cell-level presentation for the Excel report.

Fonts, three-line tables, number formats, page setup, and the formula-injection guard. Nothing here
knows about statistics.
"""

from __future__ import annotations

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["FONT", "STAT", "P", "PCT", "MEAN", "inert", "title", "table", "note", "page", "p_text"]

#: DengXian ships with Office on Windows and macOS and renders simplified Chinese; LibreOffice
#: substitutes its own CJK font.
FONT = "等线"
STAT = "0.000"
MEAN = "0.00"
PCT = "0.0%"
#: p-values stay numbers (the cell holds the exact value) but read "< .001" when tiny.
P = '[<0.001]"< .001";0.000'
_THICK = Side(style="medium")
_THIN = Side(style="thin")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Shared style objects: creating one per cell dominates the time of large tables.
_BODY_FONT = Font(name=FONT)
_HEAD_FONT = Font(name=FONT, bold=True)
_HEAD_BORDER = Border(top=_THICK, bottom=_THIN)
_LAST_BORDER = Border(bottom=_THICK)
_HEAD_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)


def inert(cell: Cell, value: object) -> None:
    """Write ``value``; text that a spreadsheet would run as a formula stays plain text.

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> c = Workbook().active["A1"]
    >>> inert(c, '=HYPERLINK("http://x","y")'); c.data_type
    's'
    """
    cell.value = value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def p_text(p: float | None) -> str:
    """APA-style p: ``< .001``, else three decimals without the leading zero."""
    if p is None:
        return ""
    return "< .001" if p < 0.001 else f"{p:.3f}".lstrip("0")


def title(ws: Worksheet, text: str, sub: str | None = None) -> int:
    """Sheet title and subtitle; returns the first free row."""
    ws["A1"] = text
    ws["A1"].font = Font(name=FONT, bold=True, size=14)
    if sub:
        ws["A2"] = sub
        ws["A2"].font = Font(name=FONT, italic=True, size=10, color="595959")
    return 4


def note(ws: Worksheet, row: int, text: str, bold: bool = False) -> int:
    """A caption (bold) or a remark (grey italic) in column A; returns the next row."""
    c = ws.cell(row=row, column=1)
    inert(c, text)
    c.font = Font(name=FONT, bold=bold, italic=not bold, size=11 if bold else 10, color=None if bold else "595959")
    return row + 1


def table(
    ws: Worksheet,
    top: int,
    headers: list[str],
    rows: list[list],
    formats: dict[int, str] | None = None,
    widths: list[int] | None = None,
    freeze: bool = False,
) -> int:
    """A three-line table (rules above and below the header and below the last row).

    ``formats`` maps a 0-based column to a number format, applied to numeric cells. Returns
    the first free row after a blank line.
    """
    formats = formats or {}
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=top, column=j)
        inert(c, h)
        c.font = _HEAD_FONT
        c.border = _HEAD_BORDER
        c.alignment = _HEAD_ALIGN
    last = len(rows)
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row, start=1):
            c = ws.cell(row=top + i, column=j)
            inert(c, v)  # body cells use the workbook's Normal font (set in write_report)
            fmt = formats.get(j - 1)
            if fmt and isinstance(v, (int, float)) and not isinstance(v, bool):
                c.number_format = fmt
            if i == last:
                c.border = _LAST_BORDER
    if not rows:
        for j in range(1, len(headers) + 1):
            ws.cell(row=top, column=j).border = Border(top=_THICK, bottom=_THICK)
    for j, w in enumerate(widths or [], start=1):
        current = ws.column_dimensions[get_column_letter(j)].width or 0
        ws.column_dimensions[get_column_letter(j)].width = max(w, current if current != 13 else 0)
    if freeze:
        ws.freeze_panes = ws.cell(row=top + 1, column=1)
    return top + len(rows) + 2


def page(ws: Worksheet, last_col: int | None = None) -> None:
    """A4 landscape, fit to one page wide, header rows repeated, print area over the used range."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    cols, rows = last_col or ws.max_column, ws.max_row
    for chart in ws._charts:  # keep charts inside the printed area (≈ 2 cm a column, 0.5 cm a row)
        anchor = chart.anchor if isinstance(chart.anchor, str) else None
        if anchor:
            col, row = coordinate_to_tuple(anchor)[1], coordinate_to_tuple(anchor)[0]
            cols = max(cols, col + int(chart.width / 2) + 1)
            rows = max(rows, row + int(chart.height / 0.5) + 1)
    ws.print_area = f"A1:{get_column_letter(max(cols, 1))}{max(rows, 1)}"
    ws.oddFooter.center.text = "&P / &N"
    if ws.freeze_panes is None:  # sheets with several tables keep their title in view
        ws.freeze_panes = "A3"
