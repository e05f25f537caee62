"""The upload template HR offices fill in: generated from the instrument YAML.

One response sheet (问卷数据) whose headers are the question texts, with drop-down data
validation on every coded column and a frozen header; a 说明 (instructions) sheet; and a
编码表 (codebook) sheet. A file filled in the template is ingested without warnings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from jianfu.ingest.units import UnitList
from jianfu.instrument import Instrument

__all__ = [
    "RESPONSE_SHEET",
    "CODEBOOK_SHEET",
    "question_groups",
    "question_text",
    "template_columns",
    "write_template",
    "fill_template",
]

RESPONSE_SHEET = "问卷数据"
INSTRUCTIONS_SHEET = "说明"
CODEBOOK_SHEET = "编码表"
UNITS_SHEET = "单位名单"
_MAX_ROWS = 5000  # rows covered by the drop-down validation
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def question_groups(inst: Instrument) -> list[tuple[str, list[str]]]:
    """The questionnaire in order, as (kind, ids) per question.

    One demographic or open question each, one Likert grid per scale (its attention check placed
    in the grid it names in ``after``).
    """
    groups: list[tuple[str, list[str]]] = [("demo", [d.id]) for d in inst.demographics]
    checks_after = {c.after: c.id for c in inst.attention_checks}
    scale_ids = {s.id for s in inst.first_order_scales}
    for s in inst.first_order_scales:
        groups.append(("likert", [i.id for i in s.items] + ([checks_after[s.id]] if s.id in checks_after else [])))
    groups += [("likert", [c.id]) for c in inst.attention_checks if c.after not in scale_ids]
    groups += [("open", [o.id]) for o in inst.open_questions]
    return groups


def question_text(inst: Instrument, ident: str) -> str:
    """The Chinese text of any question id (item, attention check, demographic, open question)."""
    for q in [*inst.items, *inst.attention_checks, *inst.demographics, *inst.open_questions]:
        if q.id == ident:
            return q.text.zh
    raise KeyError(ident)


def template_columns(inst: Instrument) -> list[tuple[str, str, list[str] | None]]:
    """(header, id, allowed labels or None for free text) in questionnaire order."""
    rs_of = inst.likert_response_scale()
    options = {d.id: d.options for d in inst.demographics}
    cols: list[tuple[str, str, list[str] | None]] = []
    for kind, ids in question_groups(inst):
        for ident in ids:
            if kind == "likert":
                rs = inst.response_scales[rs_of[ident]]
                allowed = list((rs.labels | rs.missing_options).values())
            else:
                allowed = list(options[ident]) if options.get(ident) else None
            cols.append((question_text(inst, ident), ident, allowed))
    return cols


def _units_sheet(wb: Workbook, units: UnitList) -> str:
    """A 单位名单 sheet (name, code, level) and the range the unit drop-down draws from."""
    us = wb.create_sheet(UNITS_SHEET)
    us.append(["单位名称 name", "编码 code", "层级 level"])
    for cell in us[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for u in units.units:
        us.append([u.name, u.code, u.level or ""])
    for letter, width in zip("ABC", (30, 12, 16), strict=True):
        us.column_dimensions[letter].width = width
    us.freeze_panes = "A2"
    # Excel caps an inline list at 255 characters: a range on the sheet has no such limit.
    return f"'{UNITS_SHEET}'!$A$2:$A${len(units.units) + 1}"


def _build(inst: Instrument, units: UnitList | None = None) -> tuple[Workbook, int]:
    wb = Workbook()
    ws = wb.active
    ws.title = RESPONSE_SHEET
    cols = template_columns(inst)
    ws.append([h for h, _, _ in cols])
    from_units = {d.id for d in inst.demographics if d.options_from == "units"}
    unit_range = _units_sheet(wb, units) if units is not None and from_units else None
    for j, (_, ident, allowed) in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = 14 if allowed else 24
        if unit_range and ident in from_units:
            dv = DataValidation(
                type="list",
                formula1=unit_range,
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="不在单位名单中 Not on the units list",
                error="请从下拉列表中选择单位（见“单位名单”表）。Pick the unit from the list (see the 单位名单 sheet).",
            )
            dv.add(f"{letter}2:{letter}{_MAX_ROWS + 1}")
            ws.add_data_validation(dv)
        elif allowed:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(allowed) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="无效选项 Invalid option",
                error="请从下拉列表中选择。Please pick a value from the list.",
            )
            dv.add(f"{letter}2:{letter}{_MAX_ROWS + 1}")
            ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 90
    ws.freeze_panes = "A2"

    info = wb.create_sheet(INSTRUCTIONS_SHEET)
    lines = [
        f"{inst.title.zh}（{inst.id} v{inst.version}）",
        f"{inst.title.en}",
        "",
        "填写说明：",
        "1. 每位受访者填写“问卷数据”表中的一行；请勿修改第一行的题目，也不要插入或删除列。",
        "2. 有下拉框的单元格请从下拉列表中选择（单位从“单位名单”中选择，如有该表）；意见建议可自由填写。",
        "3. 未作答的题目请留空，不要填“无”或“0”。",
        "4. 请勿填写姓名、身份证号、手机号等个人信息；系统会自动删除此类内容。",
        "5. 各题的取值与编码见“编码表”；“不适用”“不了解”是有效答案，单独记录，不计入得分。",
        "6. 问卷不记名，答卷只做汇总统计分析，不单独报告任何个人的回答。",
        "",
        "How to fill in: one respondent per row of the 问卷数据 sheet; do not change the header row,",
        "do not insert or delete columns; pick coded answers from the drop-down; leave unanswered",
        "questions blank; never enter names, ID or phone numbers. Answers are anonymous and analysed only in",
        "aggregate; 不适用 (not applicable) and 不了解 (don't know) are recorded and never scored.",
    ]
    if inst.intro:
        lines += ["", "致受访者（问卷开头语）：", inst.intro.zh, "", inst.intro.en]
    for line in lines:
        info.append([line])
    info.column_dimensions["A"].width = 100
    info["A1"].font = Font(bold=True, size=14)

    cb = wb.create_sheet(CODEBOOK_SHEET)
    cb.append(["题号 id", "题目 question", "英文 English", "量表 scale", "反向计分 reverse", "编码 codes"])
    for cell in cb[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    scale_of = inst.item_scale()
    for d in inst.demographics:
        codes = "；".join(f"{i + 1}={o}" for i, o in enumerate(d.options)) if d.options else "自由填写 free text"
        cb.append([d.id, d.text.zh, d.text.en, "基本信息 demographics", "", codes])
    for item in inst.items:
        s = scale_of[item.id]
        rs = inst.response_scales[s.response_scale]
        cb.append(
            [
                item.id,
                item.text.zh,
                item.text.en,
                f"{s.name.zh} {s.id}",
                "是 yes" if item.reverse else "",
                "；".join(f"{k}={v}" for k, v in (rs.labels | rs.missing_options).items()),
            ]
        )
    for c in inst.attention_checks:
        rs = inst.response_scales[c.response_scale]
        cb.append(
            [
                c.id,
                c.text.zh,
                c.text.en,
                "注意力检测 attention check",
                "",
                "；".join(f"{k}={v}" for k, v in rs.labels.items()),
            ]
        )
    for o in inst.open_questions:
        cb.append([o.id, o.text.zh, o.text.en, "开放题 open question", "", "自由填写 free text"])
    for letter, width in zip("ABCDEF", (10, 60, 60, 28, 14, 60), strict=True):
        cb.column_dimensions[letter].width = width
    cb.freeze_panes = "A2"
    wb.properties.title = f"{inst.title.zh} 上传模板"
    wb.properties.subject = f"{inst.id} {inst.version}"
    return wb, len(cols)


def write_template(inst: Instrument, path: str | Path, units: UnitList | None = None) -> Path:
    """Write an empty upload template for ``inst``; with ``units``, the unit is picked from that list."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb, _ = _build(inst, units)
    wb.save(path)
    return path


def fill_template(inst: Instrument, table: pd.DataFrame, path: str | Path) -> Path:
    """Write the template with ``table``'s rows filled in (columns named by header text)."""
    path = Path(path)
    wb, _ = _build(inst)
    ws = wb[RESPONSE_SHEET]
    headers = [h for h, _, _ in template_columns(inst)]
    for row in table.reindex(columns=headers).itertuples(index=False):
        ws.append([None if (v is None or v == "" or (isinstance(v, float) and v != v)) else v for v in row])
    wb.save(path)
    return path
