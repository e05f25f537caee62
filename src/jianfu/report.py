"""The Excel report: Chinese first, findings before tables, only formatting here.

Every number written comes from the run summary (``summary`` of :func:`jianfu.pipeline`);
this module computes nothing. Text that came from an input file is written as inert text
(no formula injection).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .instrument import FLAG_NAMES, Instrument

__all__ = ["write_report", "inert", "SHEETS"]

SHEETS = ["摘要", "数据质量", "量表得分", "回归结果"]
FONT = "等线"
_THICK = Side(style="medium")
_THIN = Side(style="thin")
_FLAG_ZH = {"speeder": "作答过快", "straightline": "直线作答", "attention": "注意力题未通过",
            "incomplete": "作答不完整", "duplicate": "重复提交"}
_STAT = "0.000"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: Cell, value: object) -> None:
    """Write ``value``; text that a spreadsheet would run as a formula is kept as plain text."""
    cell.value = value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"


def _p_text(p: float | None) -> str:
    if p is None:
        return ""
    return "< .001" if p < 0.001 else f"{p:.3f}".lstrip("0")


def _stars(p: float | None) -> str:
    if p is None:
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _title(ws: Worksheet, text: str, sub: str | None = None) -> int:
    ws["A1"] = text
    ws["A1"].font = Font(name=FONT, bold=True, size=14)
    if sub:
        ws["A2"] = sub
        ws["A2"].font = Font(name=FONT, italic=True, size=10, color="595959")
    return 4


def _table(ws: Worksheet, top: int, headers: list[str], rows: list[list], formats: dict[int, str] | None = None,
           widths: list[int] | None = None) -> int:
    """A three-line table: rule above and below the header, rule below the last row."""
    formats = formats or {}
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=top, column=j, value=h)
        c.font = Font(name=FONT, bold=True)
        c.border = Border(top=_THICK, bottom=_THIN)
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row, start=1):
            c = ws.cell(row=top + i, column=j)
            inert(c, v)
            c.font = Font(name=FONT)
            if j - 1 in formats and isinstance(v, (int, float)):
                c.number_format = formats[j - 1]
            if i == len(rows):
                c.border = Border(bottom=_THICK)
    for j, w in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = ws.cell(row=top + 1, column=1)
    return top + len(rows) + 2


def _page(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _se_zh(se_type: str | None) -> str:
    if se_type and se_type.startswith("cluster-robust by "):
        return f"按{se_type.removeprefix('cluster-robust by ')}聚类的稳健标准误"
    return "HC3 稳健标准误（单位数不足以聚类）" if se_type == "HC3" else (se_type or "")


def term_label(term: str, inst: Instrument) -> str:
    """Chinese label of a model term: scale name, ``单位层级：街道`` for a dummy, ``×`` for interactions."""
    names = {s.id: s.name.zh for s in inst.scales}
    names.update({d.id: (d.label.zh if d.label else d.id) for d in inst.demographics})
    if ":" in term:
        return " × ".join(names.get(p, p) for p in term.split(":"))
    if term.endswith("]") and "[" in term:
        var, level = term[:-1].split("[", 1)
        return f"{names.get(var, var)}：{level}"
    return names.get(term, term)


def findings(summary: dict, inst: Instrument) -> list[str]:
    """Plain-language key findings generated from the results."""
    names = {s.id: s.name.zh for s in inst.scales}
    rows = summary["rows"]
    out = [f"本次共读取 {rows['read']} 份答卷，{rows['accepted']} 份有效进入分析，"
           f"{rows['quarantined']} 份因数据质量问题被隔离（未删除，可在“数据质量”表查看原因）。"]
    model = summary["models"].get("empowerment_burden")
    if model and model.get("terms"):
        lower, higher = [], []
        for term, t in model["terms"].items():
            if t["term"] not in names or t["p"] >= 0.05:
                continue
            (lower if t["b"] < 0 else higher).append(f"{names[term]}（β = {t['beta']:.2f}）")
        if lower:
            out.append("赋能与负担：在控制单位层级等因素后，" + "、".join(lower) + " 越高，基层干部感知的负担越轻。")
        else:
            out.append("赋能与负担：本次数据中没有发现哪一类赋能与负担感知显著相关（p < .05）。")
        if higher:
            out.append("、".join(higher) + " 越高，负担感知越重。")
        out.append(f"该模型解释了负担感知差异的 {model['r2'] * 100:.1f}%（n = {model['n']}，{_se_zh(model.get('se_type'))}）。")
    mod = summary["models"].get("fault_tolerance_moderation")
    if mod and "accountability_pressure:fault_tolerance" in mod.get("terms", {}):
        t = mod["terms"]["accountability_pressure:fault_tolerance"]
        if t["p"] < 0.05 and t["b"] < 0:
            out.append(f"容错纠错：容错纠错认知越强，问责压力与避责心理之间的关联越弱（交互项 b = {t['b']:.2f}，p {_p_text(t['p'])}）。")
        else:
            out.append(f"容错纠错：未发现容错纠错认知显著缓冲问责压力对避责心理的影响（交互项 p = {_p_text(t['p'])}）。")
    out.append("说明：本调查为横断面数据，以上关系为相关关系，不能直接解释为因果效应。")
    return out


def write_report(summary: dict, inst: Instrument, path: str | Path) -> Path:
    """Write the workbook for one run and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "摘要"
    top = _title(ws, f"{inst.title.zh} — 分析报告", f"{inst.title.en} · 问卷版本 {inst.id} v{inst.version} · "
                 f"调查轮次 {summary['wave']} · 生成于 {summary['generated_at']}")
    ws.cell(row=top, column=1, value="主要发现").font = Font(name=FONT, bold=True, size=12)
    for k, line in enumerate(findings(summary, inst), start=1):
        c = ws.cell(row=top + k, column=1, value=f"{k}. {line}")
        c.font = Font(name=FONT)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[top + k].height = 36
    ws.column_dimensions["A"].width = 120
    _page(ws)

    ws = wb.create_sheet("数据质量")
    top = _title(ws, "数据质量", "每个文件读取、接受、隔离的行数；隔离的答卷保留在数据库中，不参与统计。")
    rows = []
    for f in summary["files"]:
        rows.append([f["path"].rsplit("/", 1)[-1], f["format"], "接受" if f["status"] == "accepted" else "拒收",
                     f["rows"], f.get("accepted", 0), f.get("quarantined", 0),
                     *[f.get("flags", {}).get(k, 0) for k in FLAG_NAMES], len(f["errors"]), len(f["warnings"])])
    top = _table(ws, top, ["文件", "格式", "状态", "读取行数", "有效", "隔离", *[_FLAG_ZH[k] for k in FLAG_NAMES],
                           "错误数", "提示数"], rows, widths=[36, 10, 8, 10, 8, 8, 10, 10, 14, 12, 10, 8, 8])
    problems = [[f["path"].rsplit("/", 1)[-1], "错误", e] for f in summary["files"] for e in f["errors"]]
    problems += [[f["path"].rsplit("/", 1)[-1], "提示", w] for f in summary["files"] for w in f["warnings"]]
    if problems:
        ws.cell(row=top, column=1, value="问题清单（中文 | English）").font = Font(name=FONT, bold=True)
        _table(ws, top + 1, ["文件", "类型", "说明"], problems[:2000])
        ws.column_dimensions["C"].width = 10
    _page(ws)

    ws = wb.create_sheet("量表得分")
    top = _title(ws, "量表得分与信度", "得分为反向计分后题目的均值（1–5）；α、ω 以有效答卷、列表删除计算。α ≥ .70 为可接受。")
    rows = []
    for s in inst.scales:
        st = summary["scales"].get(s.id)
        if st is None:  # no accepted rows in this run
            rows.append([s.name.zh, s.id, None, 0, None, None, None, None])
            continue
        rows.append([s.name.zh, s.id, st["n_items"], st["n"], st["mean"], st["sd"], st["alpha"], st["omega"]])
    _table(ws, top, ["量表", "代码", "题目数", "n", "均值", "标准差", "Cronbach α", "McDonald ω"], rows,
           formats={4: "0.00", 5: "0.00", 6: _STAT, 7: _STAT}, widths=[22, 28, 8, 8, 10, 10, 12, 12])
    _page(ws)

    ws = wb.create_sheet("回归结果")
    top = _title(ws, "层次回归结果", "b 为非标准化系数，SE 为聚类稳健标准误（按单位）或 HC3，β 为标准化系数；"
                 "* p < .05，** p < .01，*** p < .001。")
    names = {s.id: s.name.zh for s in inst.scales}
    for model_id, m in summary["models"].items():
        label = (m.get("label") or {}).get("zh") or model_id
        ws.cell(row=top, column=1, value=f"{label}（因变量：{names.get(m['outcome'], m['outcome'])}；模型 {model_id}）").font = \
            Font(name=FONT, bold=True)
        rows = [[term_label(term, inst), term, t["b"], t["se"], t["beta"], t["p"], _p_text(t["p"]) + _stars(t["p"])]
                for term, t in m.get("terms", {}).items()]
        rows += [[f"ΔR²（{b['name']}）", "", b["delta_r2"], None, None, b["p_change"], _p_text(b["p_change"])]
                 for b in m.get("blocks", [])]
        rows.append(["R² / n", "", m.get("r2"), None, None, None, f"n = {m['n']}；{_se_zh(m.get('se_type'))}"])
        top = _table(ws, top + 1, ["变量", "代码", "b", "SE", "β", "p", "显著性"], rows,
                     formats={2: _STAT, 3: _STAT, 4: _STAT, 5: _STAT}, widths=[30, 36, 10, 10, 10, 10, 12])
    _page(ws)

    wb.properties.title = f"{inst.title.zh} 分析报告"
    wb.properties.subject = f"{inst.id} v{inst.version}; wave {summary['wave']}"
    wb.properties.keywords = ",".join(f["sha256"] for f in summary["files"])
    wb.properties.creator = "jianfu"
    wb.properties.created = datetime.now()
    wb.save(path)
    return path
