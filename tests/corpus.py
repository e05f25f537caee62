"""A corpus of broken and awkward uploads, built on the fly (no binaries are committed).

Each case is ``(file name, expected status, expected error code or None)``. Good files in the
corpus must be analysed; bad ones refused with that code and a message in Chinese and English.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from jianfu.ingest.template import write_template
from jianfu.synth import simulate, write_survey

INJECTION = "=cmd|' /C calc'!A0"


def _item_column(path: Path) -> int:
    ws = load_workbook(path).active
    return next(i for i, c in enumerate(ws[1], start=1) if c.value and "(" in str(c.value))


def build(inst, root: Path) -> list[tuple[str, str, str | None]]:
    root.mkdir(parents=True, exist_ok=True)
    survey = simulate(inst, n=120, seed=77)
    survey.answers.loc[5, "suggestion"] = INJECTION
    good = write_survey(survey, inst, root / "问卷 数据 第一批.xlsx", fmt="wjx-text")
    code = write_survey(survey, inst, root / "_code.xlsx", fmt="wjx-code")
    col = _item_column(code)
    cases: list[tuple[str, str, str | None]] = [(good.name, "accepted", None)]

    (root / "truncated.xlsx").write_bytes(good.read_bytes()[:4000])
    cases.append(("truncated.xlsx", "rejected", "file.corrupt"))

    plain = write_survey(survey, inst, root / "_plain.csv", fmt="csv")
    (root / "renamed-csv.xlsx").write_bytes(plain.read_bytes())
    cases.append(("renamed-csv.xlsx", "accepted", None))

    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    ws = load_workbook(good).active
    for r, row in enumerate(ws.iter_rows(values_only=True)):
        for c, v in enumerate(row):
            if v is not None:
                sheet.write(r, c, v)
    book.save(str(root / "legacy.xls"))
    cases.append(("legacy.xls", "accepted", None))

    with zipfile.ZipFile(good) as src, zipfile.ZipFile(root / "macro.xlsm", "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/vbaProject.bin", b"\x00" * 128)
    cases.append(("macro.xlsm", "rejected", "file.macro"))

    # An encrypted workbook is an OLE container named .xlsx (what Excel writes for "Encrypt with Password").
    (root / "password.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)
    cases.append(("password.xlsx", "rejected", "file.encrypted"))

    Workbook().save(root / "empty.xlsx")
    cases.append(("empty.xlsx", "rejected", "sheet.empty"))

    write_template(inst, root / "header-only.xlsx")
    cases.append(("header-only.xlsx", "rejected", "sheet.header_only"))

    wb = load_workbook(good)
    ws = wb.active
    ws.insert_rows(1)
    ws["A1"] = "问卷星 导出（合并单元格标题）"
    ws.merge_cells("A1:H1")
    wb.save(root / "merged-header.xlsx")
    cases.append(("merged-header.xlsx", "accepted", None))

    wb = load_workbook(good)
    wb.active.cell(row=1_048_576, column=1).font = Font(bold=True)
    wb.save(root / "formatted-blank-rows.xlsx")
    cases.append(("formatted-blank-rows.xlsx", "accepted", None))

    wb = load_workbook(code)
    wb.active.cell(row=4, column=col).value = "=2+1"
    wb.save(root / "formula.xlsx")
    cases.append(("formula.xlsx", "accepted", "value.formula"))  # one bad cell: its row quarantined

    wb = load_workbook(code)
    wb.active.cell(row=3, column=col).value = 7
    wb.save(root / "out-of-range.xlsx")
    cases.append(("out-of-range.xlsx", "accepted", "value.not_allowed"))  # one bad cell: its row quarantined

    wb = load_workbook(code)
    wb.active.cell(row=3, column=col).value = "比较同意吧"
    wb.save(root / "text-in-code.xlsx")
    cases.append(("text-in-code.xlsx", "accepted", "value.not_allowed"))  # one bad cell: its row quarantined

    (root / "gbk.csv").write_bytes(plain.read_text(encoding="utf-8-sig").encode("gb18030"))
    cases.append(("gbk.csv", "accepted", None))

    with open(root / "huge.xlsx", "wb") as fh:  # sparse: 200 MB on paper, instant to make
        fh.write(b"PK\x03\x04")
        fh.truncate(200 * 2**20)
    cases.append(("huge.xlsx", "rejected", "file.too_large"))

    for helper in ("_code.xlsx", "_plain.csv"):
        (root / helper).unlink(missing_ok=True)
    return cases
