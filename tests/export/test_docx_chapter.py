"""The Word results chapter of a real run: every hypothesis in it, three-line tables with italic symbols,
the number style of each journal profile, sections that follow the summary, and a document LibreOffice
turns into pages (one of which, the regression table, the README shows)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import docx
import numpy as np
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from PIL import Image
from semopy.examples import holzinger39

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.export.docx_chapter import journal_text, write_results_chapter
from jianfu.stats.invariance import invariance_ladder
from jianfu.summary import json_safe
from jianfu.synth import simulate, write_survey

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MINUS = "\u2212"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img" / "docx_regression.png"


@pytest.fixture(scope="module")
def run(inst, plan, tmp_path_factory):
    """A real run on 400 synthetic respondents: the RunSummary and the JSON ``jianfu run --json`` prints."""
    d = tmp_path_factory.mktemp("chapter_run")
    path = write_survey(simulate(inst, n=400, seed=5), inst, d / "w.xlsx")
    settings = engine.Settings.under(d / "data", d / "reports")
    summary = workflow.run_files([path], inst, plan, "2026-05", settings, exports=[])
    text = json.dumps(summary.to_json(), ensure_ascii=False, allow_nan=False)  # strict JSON, as the CLI prints it
    return summary, json.loads(text)


@pytest.fixture(scope="module")
def chapters(run, tmp_path_factory):
    """The chapter in each journal profile (Chinese), read back with python-docx."""
    d = tmp_path_factory.mktemp("chapters")
    _, summary = run
    return {
        j: docx.Document(write_results_chapter(summary, d / f"{j}.docx", journal=j)) for j in ("apa", "cn", "spssau")
    }


def _fixed(x: float, places: int) -> str:
    return f"{x:.{places}f}".replace("-", MINUS)


def _no_zero(text: str) -> str:
    return text.replace("0.", ".", 1)


def _titled(doc, start: str):
    """The table whose title paragraph (just before it in the body) starts with ``start``."""
    body = list(doc.element.body.iterchildren())
    for k, el in enumerate(body):
        if el.tag == qn("w:tbl") and k and "".join(body[k - 1].itertext()).split("\u3000", 1)[-1].startswith(start):
            return docx.table.Table(el, doc._body)
    raise AssertionError(f"no table titled {start!r}")


def _texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def _row(table, label: str) -> list[str]:
    return next([c.text for c in r.cells] for r in table.rows if r.cells[0].text == label)


def _edges(borders) -> dict[str, tuple[str, str | None]]:
    return {el.tag.removeprefix(W): (el.get(qn("w:val")), el.get(qn("w:sz"))) for el in borders}


# -- content -----------------------------------------------------------------------------------------


def test_every_hypothesis_is_reported_with_estimate_ci_and_sentence(run, chapters, tmp_path):
    _, summary = run
    hyps = summary["hypotheses"]
    assert len(hyps) >= 5
    doc = chapters["cn"]
    paragraphs = _texts(doc)
    table = _titled(doc, "预设假设的检验结果")
    assert len(table.rows) == len(hyps) + 1
    for h, row in zip(hyps, table.rows[1:], strict=True):
        assert journal_text(h["text"]["zh"], "cn") in paragraphs  # the plan's sentence, supported or not
        cells = [c.text for c in row.cells]
        assert cells[0] == h["hypothesis"]
        assert cells[3] == _fixed(h["estimate"], 3)
        assert cells[5] == f"[{_fixed(h['ci_low'], 3)}, {_fixed(h['ci_high'], 3)}]"
    # An exploratory entry is labelled as such, in the text and in the table.
    extra = dict(
        hyps[0], hypothesis="E1", confirmatory=False, text={"zh": "E1 探索性检验的句子。", "en": "E1 sentence."}
    )
    write_results_chapter({**summary, "hypotheses": [*hyps, extra]}, tmp_path / "e.docx")
    doc = docx.Document(tmp_path / "e.docx")
    assert "〔探索性〕E1 探索性检验的句子。" in _texts(doc)
    assert _titled(doc, "预设假设的检验结果").rows[-1].cells[0].text == "E1（探索性）"


def test_a_run_summary_object_and_its_json_give_the_same_chapter(run, chapters, tmp_path):
    summary, _ = run
    doc = docx.Document(write_results_chapter(summary, tmp_path / "obj.docx"))
    assert _texts(doc) == _texts(chapters["cn"])
    assert [[c.text for c in r.cells] for t in doc.tables for r in t.rows] == [
        [c.text for c in r.cells] for t in chapters["cn"].tables for r in t.rows
    ]


def test_sections_and_the_appendix_follow_the_summary(run, chapters, tmp_path):
    _, summary = run
    doc = chapters["cn"]
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    # Invariance is not in today's summary: no heading, no table, and the sections are numbered on.
    assert not any("测量不变性" in h for h in headings)
    assert headings[1:8] == [
        "一、主要发现",
        "二、样本概况",
        "三、信度与效度",
        "四、描述统计与相关分析",
        "五、层次回归分析",
        "六、中介与调节效应",
        "七、组间差异比较",
    ]
    assert headings[-1] == "附录　可重复性信息"
    flow = summary["provenance"]["case_flow"]
    table = _titled(doc, "样本筛选流程")
    assert [[c.text for c in r.cells] for r in table.rows[1:]] == [
        [str(k + 1), s["label_zh"], str(s["n"])] for k, s in enumerate(flow)
    ]
    fingerprints = _titled(doc, "软件版本与文件指纹")
    assert _row(fingerprints, "问卷 SHA-256")[1] == summary["provenance"]["instrument"]["sha256"]
    assert [r.cells[1].text for r in fingerprints.rows if r.cells[0].text == "w.xlsx"] == [
        summary["files"][0]["sha256"]
    ]
    # With an invariance ladder (Holzinger & Swineford, lavaan's example) the section appears, numbered
    # before the group comparisons; without provenance the appendix goes.
    factors = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    ladder = json_safe(invariance_ladder(holzinger39.get_data(), factors, "school"))
    psy = {**summary["psychometrics"], "invariance": {"school": ladder}}
    more = {k: v for k, v in summary.items() if k != "provenance"} | {"psychometrics": psy}
    doc = docx.Document(write_results_chapter(more, tmp_path / "inv.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[7:] == ["七、测量不变性", "八、组间差异比较"]
    table = _titled(doc, "测量不变性检验（按school分组）")
    assert [r.cells[0].text for r in table.rows[1:]] == [
        "构型等值",
        "单位（载荷）等值",
        "尺度（截距）等值",
        "部分尺度等值",
        "严格（残差）等值",
    ]
    assert _row(table, "构型等值")[1:3] == ["115.85", "48"]  # lavaan: chi2 115.851, df 48
    assert _row(table, "尺度（截距）等值")[-1] == "不成立"


# -- three-line tables, italics, fonts --------------------------------------------------------------


def test_every_table_has_three_rules_and_no_vertical_ones(chapters):
    doc = chapters["cn"]
    assert len(doc.tables) >= 15
    for table in doc.tables:
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
        assert all(cell._tc.tcPr.find(qn("w:tcBorders")) is None for row in body for cell in row.cells)
        for el in tbl.iter():
            if el.tag.removeprefix(W) in ("left", "right", "start", "end", "insideV") and el.getparent().tag.endswith(
                "Borders"
            ):
                assert el.get(qn("w:val")) in ("nil", "none")


def _runs(paragraphs) -> list[tuple[str, bool]]:
    return [(r.text, bool(r.italic)) for p in paragraphs for r in p.runs if r.text]


def test_statistical_symbols_are_italic_and_numbers_are_not(chapters):
    doc = chapters["cn"]
    table = _titled(doc, "负担感知的层次回归分析")
    assert _runs(c.paragraphs[0] for c in table.rows[0].cells) == [
        ("变量", False),
        ("b", True),
        ("SE", True),
        ("β", True),
        ("t", True),
        ("p", True),
        ("95% CI", False),
    ]
    assert _runs(_titled(doc, "主要变量的均值").rows[0].cells[1].paragraphs) == [("M", True)]
    assert _runs(_row_cells(table, "R²")[0].paragraphs) == [("R", True), ("²", False)]
    assert _runs(_row_cells(table, "N")[0].paragraphs) == [("N", True)]
    numbers = _runs(c.paragraphs[0] for r in table.rows[1:] for c in r.cells[1:])
    assert numbers and not any(italic for _, italic in numbers)
    finding = next(p for p in doc.paragraphs if p.text.startswith("H1 "))
    runs = _runs([finding])
    assert ("b", True) in runs and ("β", True) in runs and ("p", True) in runs
    assert not any(italic for text, italic in runs if "H1" in text or "CI" in text)


def _row_cells(table, label: str):
    return next(r.cells for r in table.rows if r.cells[0].text == label)


def test_chinese_in_songti_latin_in_times_headings_in_heiti(chapters):
    doc = chapters["cn"]
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "宋体" and normal.get(qn("w:ascii")) == "Times New Roman"
    for level in (1, 2):
        fonts = doc.styles[f"Heading {level}"].element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == "黑体" and fonts.get(qn("w:asciiTheme")) is None
    for p in doc.paragraphs:
        for r in p.runs:
            fonts = r._element.rPr.rFonts
            assert fonts.get(qn("w:eastAsia")) == ("黑体" if p.style.name.startswith("Heading") else "宋体"), p.text
            assert fonts.get(qn("w:hAnsi")) == "Times New Roman"
    cells = [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert cells and all(r._element.rPr.rFonts.get(qn("w:eastAsia")) == "宋体" for r in cells)


# -- journal profiles --------------------------------------------------------------------------------


def _p(p: float, zero: bool) -> str:
    text = "< .001" if p < 0.001 else f"{p:.3f}".removeprefix("0")
    return text.replace(".", "0.", 1) if zero else text


def test_journal_profiles_set_the_leading_zero_and_the_advice(run, chapters):
    _, summary = run
    model = summary["models"]["empowerment_burden"]
    term = model["terms"]["incentive_power"]
    for journal, zero in (("apa", False), ("cn", True), ("spssau", True)):
        doc = chapters[journal]
        table = _titled(doc, "负担感知的层次回归分析")
        b, se, beta, t, p, ci = _row(table, "激励性权力")[1:]
        # b, SE, t and CI can exceed 1: their zero stays in every profile; β and p lose it under APA.
        assert b.rstrip("*") == _fixed(term["b"], 3) and se == _fixed(term["se"], 3)
        assert t == _fixed(term["t"], 2)
        assert beta == (_fixed(term["beta"], 2) if zero else _no_zero(_fixed(term["beta"], 2)))
        assert p == _p(term["p"], zero)
        assert ci == f"[{_fixed(term['ci_low'], 3)}, {_fixed(term['ci_high'], 3)}]"
        assert _row(table, "R²")[1] == (_fixed(model["r2"], 3) if zero else _no_zero(_fixed(model["r2"], 3)))
        corr = _titled(doc, "主要变量的均值")
        r = summary["psychometrics"]["correlations"]["r"]["blame_avoidance"]["accountability_pressure"]
        cell = corr.rows[2].cells[3].text.rstrip("*")
        assert cell == (_fixed(r, 2) if zero else _no_zero(_fixed(r, 2)))
        finding = next(p.text for p in doc.paragraphs if p.text.startswith("H1 激励性权力"))
        assert re.search(r"p [=<] 0\.\d{3}", finding) if zero else re.search(r"p [=<] \.\d{3}", finding)
        assert re.search(r"β = −?0\.\d\d", finding) if zero else re.search(r"β = −?\.\d\d", finding)
        advice = [p.text for p in doc.paragraphs if p.text.startswith("分析建议：")]
        if journal == "spssau":
            assert len(advice) == len(doc.tables) - 3  # one under every table but the appendix's three
            assert any("ΔR²" in a and "VIF" in a for a in advice)
        else:
            assert advice == []


def test_journal_text_and_bad_arguments(run, tmp_path):
    assert journal_text("p = .007，p < .001，95% CI [.12, .30]，β = −.13", "cn") == (
        "p = 0.007，p < 0.001，95% CI [0.12, 0.30]，β = −0.13"
    )
    assert journal_text("b = −0.103, β = 0.25, R² = 0.234, v2.0", "apa") == "b = −0.103, β = .25, R² = .234, v2.0"
    _, summary = run
    with pytest.raises(ValueError, match="期刊格式"):
        write_results_chapter(summary, tmp_path / "x.docx", journal="harvard")
    with pytest.raises(ValueError, match="语言"):
        write_results_chapter(summary, tmp_path / "x.docx", lang="fr")


def test_english_chapter(run, tmp_path):
    _, summary = run
    doc = docx.Document(write_results_chapter(summary, tmp_path / "en.docx", lang="en", journal="apa"))
    titles = [p.text for p in doc.paragraphs if p.text.startswith("Table ")]
    assert titles[0] == "Table 1. Tests of the pre-declared hypotheses"
    assert any(t.startswith("Table A3. Case flow") for t in titles)
    assert all(h["text"]["en"].split(":")[0] in "\n".join(_texts(doc)) for h in summary["hypotheses"])
    assert any(p.text.startswith("Note. ") for p in doc.paragraphs)


# -- LibreOffice -------------------------------------------------------------------------------------


def _rules(png: Path) -> tuple[int, int]:
    """Horizontal rules spanning most of the page's text block, and dark pixel columns over most of it."""
    ink = np.asarray(Image.open(png).convert("L")) < 110
    cols = np.flatnonzero(ink.any(axis=0))
    block = ink[:, cols[0] : cols[-1] + 1]
    rows = np.flatnonzero(block.mean(axis=1) > 0.6)
    rules = 1 + int(np.sum(np.diff(rows) > 1)) if len(rows) else 0
    return rules, int((block.mean(axis=0) > 0.8).sum())


@pytest.mark.slow
def test_libreoffice_renders_the_chapter_and_the_regression_page(run, tmp_path):
    soffice, gs = shutil.which("soffice") or shutil.which("libreoffice"), shutil.which("gs")
    assert soffice, "LibreOffice Writer is missing (Debian: libreoffice-writer-nogui)"
    assert gs, "Ghostscript is missing (Debian: ghostscript)"
    _, summary = run
    path = write_results_chapter(summary, tmp_path / "chapter.docx", journal="cn")
    proc = subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf", "--outdir",
         str(tmp_path), str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    pdf = tmp_path / "chapter.pdf"
    assert proc.returncode == 0 and pdf.exists(), proc.stderr
    n_pages = int(
        subprocess.run(
            [gs, "-q", "-dNODISPLAY", "-dNOSAFER", "-c", f"({pdf}) (r) file runpdfbegin pdfpagecount = quit"],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout
    )  # fmt: skip
    assert n_pages >= 8
    # The page of the first regression table, found by its title in the PDF's text.
    page = next(k for k in range(1, n_pages + 1) if "负担感知的层次回归分析" in _page_text(gs, pdf, k))
    png = tmp_path / "regression.png"
    subprocess.run(
        [gs, "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=png16m", "-r110", f"-dFirstPage={page}", f"-dLastPage={page}",
         "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4", f"-sOutputFile={png}", str(pdf)],
        check=True, timeout=120,
    )  # fmt: skip
    rules, vertical = _rules(png)
    assert rules >= 3 and vertical == 0, (rules, vertical)
    if os.environ.get("JIANFU_UPDATE_DOCS"):  # refresh the README's picture: JIANFU_UPDATE_DOCS=1 pytest ...
        image = Image.open(png).convert("RGB")
        left, top, right, bottom = Image.eval(image.convert("L"), lambda v: 255 - v).getbbox()
        pad = 24  # the page cropped to its text block, the page number left out
        DOCS_IMG.parent.mkdir(parents=True, exist_ok=True)
        image.crop((left - pad, top - pad, right + pad, _last_ink_above_footer(image) + pad)).save(DOCS_IMG)


def _last_ink_above_footer(image: Image.Image) -> int:
    """The lowest row with ink above the footer (the page number sits alone in the bottom margin)."""
    rows = np.flatnonzero((np.asarray(image.convert("L")) < 200).any(axis=1))
    gaps = np.flatnonzero(np.diff(rows) > image.height // 10)
    return int(rows[gaps[-1]] if len(gaps) else rows[-1])


def _page_text(gs: str, pdf: Path, page: int) -> str:
    return subprocess.run(
        [gs, "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=txtwrite", f"-dFirstPage={page}", f"-dLastPage={page}",
         "-sOutputFile=-", str(pdf)],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip


def test_wide_tables_get_a_landscape_page_and_columns_fill_the_text_width(chapters):
    doc = chapters["cn"]
    orientations = [s.orientation for s in doc.sections]
    assert WD_ORIENT.LANDSCAPE in orientations and orientations[0] == orientations[-1] == WD_ORIENT.PORTRAIT
    body = list(doc.element.body.iterchildren())
    for table in doc.tables:
        # The section a table is in ends at the first section break after it (or the document's end).
        k = body.index(table._tbl)
        brk = next((el for el in body[k:] if el.find(f"{W}pPr/{W}sectPr") is not None), None)
        sect = docx.section.Section(
            brk.find(f"{W}pPr/{W}sectPr") if brk is not None else doc.element.body.sectPr, doc.part
        )
        width = int((sect.page_width - sect.left_margin - sect.right_margin) / 635)
        grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        cells = [c.width.twips for c in table.rows[-1].cells]
        assert sum(grid) == width and grid == cells
    corr = _titled(doc, "主要变量的均值")
    k = body.index(corr._tbl)
    brk = next(el for el in body[k:] if el.find(f"{W}pPr/{W}sectPr") is not None)
    assert docx.section.Section(brk.find(f"{W}pPr/{W}sectPr"), doc.part).orientation == WD_ORIENT.LANDSCAPE


def test_a_small_wave_states_what_could_not_be_estimated(inst, plan, tmp_path):
    path = write_survey(simulate(inst, n=12, seed=3), inst, tmp_path / "w.xlsx")
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    summary = json.loads(json.dumps(workflow.run_files([path], inst, plan, "w", settings, exports=[]).to_json()))
    failed = {k: m for k, m in summary["models"].items() if m.get("estimable") is False}
    assert failed  # twelve respondents in a handful of units: the cluster-robust and bootstrap models cannot run
    doc = docx.Document(write_results_chapter(summary, tmp_path / "small.docx", journal="spssau"))
    text = "\n".join(_texts(doc))
    for m in failed.values():
        assert f"{m['label']['zh']}：无法估计（{m['reason']['zh']}）。" in text
    assert all(journal_text(h["text"]["zh"], "spssau") in text for h in summary["hypotheses"])
