"""Native Excel charts (openpyxl chart objects, not pictures).

They are drawn from cells already on the sheet so a reader can see and re-use the numbers behind
every chart.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import NumDataSource, NumRef
from openpyxl.chart.error_bar import ErrorBars
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["bar_chart", "coefficient_chart", "line_chart"]


def _size(chart, width: float = 18, height: float = 9) -> None:
    chart.width, chart.height = width, height


def bar_chart(
    ws: Worksheet,
    anchor: str,
    title: str,
    label_col: int,
    value_col: int,
    first: int,
    last: int,
    y_title: str,
    horizontal: bool = False,
    y_range: tuple[float, float] | None = None,
) -> BarChart:
    """One series of bars: labels in ``label_col``, values in ``value_col``, rows first..last."""
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title = title
    chart.y_axis.title = y_title
    chart.legend = None
    data = Reference(ws, min_col=value_col, min_row=first - 1, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=label_col, min_row=first, max_row=last))
    if y_range:
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = y_range
    chart.y_axis.delete = chart.x_axis.delete = False
    _size(chart)
    ws.add_chart(chart, anchor)
    return chart


def coefficient_chart(
    ws: Worksheet,
    anchor: str,
    title: str,
    label_col: int,
    b_col: int,
    plus_col: int,
    minus_col: int,
    first: int,
    last: int,
    x_title: str,
) -> BarChart:
    """Horizontal bars of coefficients with custom error bars for the 95% CI."""
    chart = bar_chart(ws, anchor, title, label_col, b_col, first, last, x_title, horizontal=True)
    sheet = ws.title.replace("'", "''")

    def ref(col: int) -> NumDataSource:
        letter = ws.cell(row=1, column=col).column_letter
        return NumDataSource(numRef=NumRef(f=f"'{sheet}'!${letter}${first}:${letter}${last}"))

    chart.x_axis.tickLblPos = "low"  # labels beside the plot, not on the zero line among the bars
    chart.series[0].errBars = ErrorBars(
        errBarType="both", errValType="cust", noEndCap=False, plus=ref(plus_col), minus=ref(minus_col)
    )
    return chart


def line_chart(
    ws: Worksheet,
    anchor: str,
    title: str,
    cat_col: int,
    first_series_col: int,
    last_series_col: int,
    header_row: int,
    first: int,
    last: int,
    x_title: str,
    y_title: str,
    y_range: tuple[float, float] | None = None,
) -> LineChart:
    """Several lines over categories (a simple-slopes plot: one line per moderator value)."""
    chart = LineChart()
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = y_title
    data = Reference(ws, min_col=first_series_col, max_col=last_series_col, min_row=header_row, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=cat_col, min_row=first, max_row=last))
    if y_range:
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = y_range
    chart.y_axis.delete = chart.x_axis.delete = False
    _size(chart, 16, 9)
    ws.add_chart(chart, anchor)
    return chart
