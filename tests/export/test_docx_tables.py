"""Three-line tables in Word: the rules CY/T 170—2019 asks for, italic symbols, numbers on the decimal,
the APA and Chinese number styles; and a rendered page that really shows three rules and no vertical."""

from __future__ import annotations

import shutil
import subprocess

import docx
import numpy as np
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm
from PIL import Image

from jianfu.export.docx_tables import (
    Column,
    add_three_line_table,
    format_stat,
    stars_note,
    use_chinese_fonts,
)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# APA 7 (sections 6.36, 6.43) examples and the same numbers with the leading zero (cn).
@pytest.mark.parametrize(
    ("value", "kind", "apa", "cn"),
    [
        (0.028, "p", ".028", "0.028"),
        (0.00049, "p", "< .001", "< 0.001"),
        (0.0010, "p", ".001", "0.001"),
        (0.99971, "p", "> .999", "> 0.999"),
        (0.49, "r", ".49", "0.49"),
        (-0.491, "r", "−.49", "−0.49"),
        (-0.004, "beta", ".00", "0.00"),  # no "−.00"
        (0.2345, "R2", ".234", "0.234"),  # as R's sprintf("%.3f"): the binary 0.2345 is 0.234499…
        (1.0213, "loading", "1.02", "1.02"),  # a Heywood case keeps its integer digit
        (1.02, "tli", "1.020", "1.020"),
        (0.4567, "b", "0.46", "0.46"),
        (2.1, "t", "2.10", "2.10"),
        (12.345, "M", "12.35", "12.35"),  # 12.345 is stored as 12.3450000000000006
        (312, "n", "312", "312"),
        (45.25, "pct", "45.2%", "45.2%"),
        (None, "SD", "—", "—"),
        (float("nan"), "r", "—", "—"),
    ],
)
def test_format_stat_follows_each_profile(value, kind, apa, cn):
    assert format_stat(value, kind, "apa") == apa
    assert format_stat(value, kind, "cn") == cn
    assert format_stat(value, kind, "spssau") == cn


def test_format_stat_stars_and_errors():
    assert format_stat(0.35, "beta", "apa", p=0.0004) == ".35***"
    assert format_stat(-0.14, "beta", "cn", p=0.012) == "−0.14*"
    assert format_stat(0.05, "r", "apa", p=0.05) == ".05"
    assert format_stat(0.123456, "b", decimals=4) == "0.1235"
    assert stars_note("apa") == "* p < .05，** p < .01，*** p < .001"
    assert stars_note("cn") == "* p < 0.05，** p < 0.01，*** p < 0.001"
    with pytest.raises(ValueError, match="期刊格式"):
        format_stat(0.1, "r", "harvard")
    with pytest.raises(ValueError, match="统计量类型"):
        format_stat(0.1, "kappa")


def _document():
    doc = docx.Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.5)
    use_chinese_fonts(doc)
    return doc


def _regression(doc, profile="apa"):
    rows = [
        ["常数项", 2.8123, 0.1012, None, None],
        ["问责压力", 0.3412, 0.0513, 0.3521, 0.00002],
        ["容错纠错认知", -0.1234, 0.0488, -0.1411, 0.0117],
        ["激励性权力", -0.0456, 0.0501, -0.0512, 0.3631],
    ]
    cells = [
        [
            r[0],
            format_stat(r[1], "b", profile),
            format_stat(r[2], "se", profile),
            format_stat(r[3], "beta", profile, p=r[4]),
            format_stat(r[4], "p", profile),
        ]
        for r in rows
    ]
    cells.append(["R²", format_stat(0.2345, "R2", profile), None, None, None])
    cells.append(["N", 312, None, None, None])
    return add_three_line_table(
        doc,
        "负担感知的层次回归分析（N = 312）",
        ["变量", "b", "SE", "β", "p"],
        cells,
        note=f"b 为非标准化系数，β 为标准化系数；聚类稳健标准误（CR2）。{stars_note(profile)}。",
        profile=profile,
    )


def _edges(borders) -> dict[str, tuple[str, str | None]]:
    return {el.tag.removeprefix(W): (el.get(qn("w:val")), el.get(qn("w:sz"))) for el in borders}


def test_the_table_has_three_rules_and_no_vertical_ones():
    doc = _document()
    table = _regression(doc)
    tbl = table._tbl
    assert _edges(tbl.tblPr.find(qn("w:tblBorders"))) == {
        "top": ("single", "12"),  # 1.5 pt in eighths of a point
        "bottom": ("single", "12"),
        "left": ("nil", None),
        "right": ("nil", None),
        "insideH": ("nil", None),
        "insideV": ("nil", None),
    }
    header, *body = table.rows
    for cell in header.cells:
        assert _edges(cell._tc.tcPr.find(qn("w:tcBorders"))) == {"bottom": ("single", "6")}  # 0.75 pt
    for row in body:
        assert all(cell._tc.tcPr.find(qn("w:tcBorders")) is None for cell in row.cells)
    # No vertical rule anywhere: every left/right/start/end/insideV border is switched off.
    for el in tbl.iter():
        if el.tag.removeprefix(W) in ("left", "right", "start", "end", "insideV") and el.getparent().tag.endswith(
            "Borders"
        ):
            assert el.get(qn("w:val")) in ("nil", "none")
    assert header._tr.trPr.find(qn("w:tblHeader")) is not None  # repeated on a new page


def _runs(paragraphs):
    return [(r.text, bool(r.italic)) for p in paragraphs for r in p.runs if r.text]


def test_symbols_are_italic_and_numbers_are_not():
    doc = _document()
    table = _regression(doc)
    header = _runs(c.paragraphs[0] for c in table.rows[0].cells)
    assert header == [("变量", False), ("b", True), ("SE", True), ("β", True), ("p", True)]
    r2 = _runs(table.rows[5].cells[0].paragraphs)
    assert r2 == [("R", True), ("²", False)]
    assert _runs(table.rows[6].cells[0].paragraphs) == [("N", True)]
    numbers = _runs(c.paragraphs[0] for row in table.rows[1:] for c in row.cells[1:])
    assert numbers and not any(italic for _, italic in numbers)
    title, note = doc.paragraphs[0], doc.paragraphs[1]
    assert title.text == "表1\u3000负担感知的层次回归分析（N = 312）"
    assert ("N", True) in _runs([title]) and all(r.bold for r in title.runs)
    assert note.text.startswith("注：b 为非标准化系数")
    note_runs = _runs([note])
    assert note_runs.count(("p", True)) == 3 and ("β", True) in note_runs
    assert not any(text == "CR2" and italic for text, italic in note_runs)


def test_numbers_sit_on_a_decimal_tab_and_labels_do_not():
    doc = _document()
    table = _regression(doc)
    for row in table.rows[1:]:
        stub = row.cells[0].paragraphs[0]
        assert stub.paragraph_format.tab_stops is not None and len(stub.paragraph_format.tab_stops) == 0
        for cell in row.cells[1:]:
            para = cell.paragraphs[0]
            tabs = para._p.pPr.find(qn("w:tabs"))
            if para.text == "—":
                assert tabs is None and para.alignment == 1  # centred dash
            else:
                assert [t.get(qn("w:val")) for t in tabs] == ["decimal"]
                assert "\t" not in para.text  # Word and LibreOffice align table cells without a tab character
    # The same decimal position down a column.
    column = [table.rows[i].cells[1].paragraphs[0]._p.pPr.find(qn("w:tabs"))[0].get(qn("w:pos")) for i in (1, 2, 3)]
    assert len(set(column)) == 1


def test_every_run_names_songti_for_chinese_and_times_for_latin():
    doc = _document()
    _regression(doc)
    runs = [r for p in doc.paragraphs for r in p.runs] + [
        r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs
    ]
    for r in runs:
        fonts = r._element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == "宋体" and fonts.get(qn("w:ascii")) == "Times New Roman"
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "宋体" and normal.get(qn("w:hAnsi")) == "Times New Roman"


def test_tables_are_numbered_and_groups_get_their_own_rule():
    doc = _document()
    _regression(doc, "cn")
    table = add_three_line_table(
        doc,
        "两个模型的比较",
        ["变量", Column("b", "b"), Column("SE", "se"), Column("b", "b"), Column("SE", "se")],
        [["问责压力", 0.34, 0.05, 0.29, 0.05], ["N", 312, None, 312, None]],
        profile="cn",
        groups=[("", 1), ("模型1", 2), ("模型2", 2)],
    )
    assert [p.text for p in doc.paragraphs if p.text.startswith("表")] == [
        "表1\u3000负担感知的层次回归分析（N = 312）",
        "表2\u3000两个模型的比较",
    ]
    groups = table.rows[0]._tr.findall(qn("w:tc"))
    assert [tc.tcPr.find(qn("w:gridSpan")) is not None for tc in groups] == [False, True, True]
    assert [tc.tcPr.find(qn("w:tcBorders")) is not None for tc in groups] == [False, True, True]
    assert [c.text for c in table.rows[2].cells] == ["问责压力", "0.34", "0.05", "0.29", "0.05"]
    assert [c.text for c in table.rows[3].cells] == ["N", "312", "—", "312", "—"]
    with pytest.raises(ValueError, match="列数"):
        add_three_line_table(doc, "x", ["a", "b"], [["1"]])


def _rules(png) -> tuple[list[tuple[int, int]], int]:
    """Horizontal rules (first row, thickness in pixels) across most of the table, and the number
    of pixel columns dark over most of the table's height (vertical rules)."""
    ink = np.asarray(Image.open(png).convert("L")) < 110
    rows = np.flatnonzero(ink.mean(axis=1) > 0.5)
    rules: list[tuple[int, int]] = []
    for y in rows:
        if rules and y == rules[-1][0] + rules[-1][1]:
            rules[-1] = (rules[-1][0], rules[-1][1] + 1)
        else:
            rules.append((int(y), 1))
    top, bottom = rules[0][0], rules[-1][0]
    vertical = int((ink[top:bottom].mean(axis=0) > 0.8).sum())
    return rules, vertical


@pytest.mark.slow
def test_libreoffice_renders_three_rules_and_no_vertical_ones(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    gs = shutil.which("gs")
    assert soffice, "LibreOffice Writer is missing (Debian: libreoffice-writer-nogui)"
    assert gs, "Ghostscript is missing (Debian: ghostscript)"
    doc = _document()
    _regression(doc)
    path = tmp_path / "table.docx"
    doc.save(path)
    proc = subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    pdf = tmp_path / "table.pdf"
    assert proc.returncode == 0 and pdf.exists(), proc.stderr
    png = tmp_path / "table.png"
    subprocess.run(
        [
            gs,
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-sDEVICE=pnggray",
            "-r200",
            "-dFirstPage=1",
            "-dLastPage=1",
            f"-sOutputFile={png}",
            str(pdf),
        ],
        check=True,
        timeout=120,
    )
    rules, vertical = _rules(png)
    # At 200 dpi a 1.5 pt rule is about 4 px and a 0.75 pt rule about 2 px.
    assert len(rules) == 3, rules
    (_, top), (_, middle), (_, bottom) = rules
    assert top > middle and bottom > middle, rules
    assert vertical == 0
