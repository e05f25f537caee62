"""Large .xlsx sheets read block by block give exactly what calamine gives for the whole sheet."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from corpus import build
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from jianfu.ingest import xlsx_blocks
from jianfu.ingest.parse import ingest_file
from jianfu.ingest.readers import RawSheet, read_sheet

SMALL = 1500  # bytes of sheet XML per block: a few rows, so every test file is cut many times


def _whole(path: Path, sheet: str) -> tuple[list[list], int]:
    ws = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    return list(ws.iter_rows()), (ws.start or (0, 0))[1]


class _CountBlocks:
    """Counts the blocks calamine is handed (each is one small workbook)."""

    def __init__(self, monkeypatch):
        self.n = 0
        original = xlsx_blocks._read_block

        def counted(*args):
            self.n += 1
            return original(*args)

        monkeypatch.setattr(xlsx_blocks, "_read_block", counted)


def _rewrite_data_sheet(path: Path, out: Path, edit) -> Path:
    """A copy of ``path`` with the XML of its second worksheet (答卷) passed through ``edit``."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, edit(body) if info.filename == "xl/worksheets/sheet2.xml" else body)
    return out


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> Path:
    """Two sheets; the data sheet has blank leading rows and column, gaps, dates, a formula, a late column."""
    wb = Workbook()
    wb.active.title = "说明"
    wb.active["A1"] = "填写说明"
    ws = wb.create_sheet("答卷")
    ws.append([])
    ws.append([])
    ws.append([None, "序号", "提交时间", "单位", "Q1", "Q2", "备注"])
    for i in range(1, 301):
        row = [None, i, datetime(2026, 10, 1 + i % 28, 8, i % 60), f"单位{i % 7}", i % 5 + 1, i % 5 + 1.5, i % 2 == 0]
        if 120 <= i < 170:  # a stretch of blank rows, longer than a block
            row = []
        if i >= 250:
            row += ["晚到的列"]
        ws.append(row)
    ws["E200"] = "=1+2"
    path = tmp_path_factory.mktemp("blocks") / "awkward.xlsx"
    wb.save(path)
    return path


def test_blocks_equal_the_whole_sheet_with_gaps_dates_formula_and_a_late_column(awkward, monkeypatch):
    count = _CountBlocks(monkeypatch)
    got = xlsx_blocks.read_rows(awkward, "答卷", block_bytes=SMALL)
    assert count.n > 20
    rows, first_column = _whole(awkward, "答卷")
    assert got.rows == rows and got.first_column == first_column == 1
    assert got.has_formulas
    assert rows[0] == [""] * len(rows[2]) and rows[2][0] == "序号"
    assert len(rows[-1]) == len(rows[2]) and rows[-1][-1] == "晚到的列"


def test_a_small_sheet_is_left_to_the_whole_sheet_reader(awkward):
    assert xlsx_blocks.read_rows(awkward, "答卷") is None


def test_namespace_prefixed_xml_is_cut_at_prefixed_rows(awkward, tmp_path, monkeypatch):
    def prefixed(xml: bytes) -> bytes:
        xml = re.sub(rb"<(/?)(\w+)", rb"<\1x:\2", xml)
        return xml.replace(b'<x:worksheet xmlns="', b'<x:worksheet xmlns:x="', 1)

    path = _rewrite_data_sheet(awkward, tmp_path / "prefixed.xlsx", prefixed)
    count = _CountBlocks(monkeypatch)
    got = xlsx_blocks.read_rows(path, "答卷", block_bytes=SMALL)
    assert count.n > 20
    assert got.rows == _whole(path, "答卷")[0] and got.has_formulas


def test_rows_without_numbers_are_refused_and_read_whole(awkward, tmp_path, monkeypatch):
    path = _rewrite_data_sheet(
        awkward, tmp_path / "unnumbered.xlsx", lambda xml: re.sub(rb'<row r="\d+"', b"<row", xml)
    )
    with pytest.raises(xlsx_blocks.Unsuitable):
        xlsx_blocks.read_rows(path, "答卷", block_bytes=SMALL)
    monkeypatch.setattr(xlsx_blocks, "BLOCK_BYTES", SMALL)
    raw = read_sheet(path, sheet="答卷")
    rows, _ = _whole(path, "答卷")
    assert raw.header[0] == "序号" and len(raw.data) == len(rows) - 3


def _same(a: RawSheet | list, b: RawSheet | list) -> None:
    if not isinstance(a, RawSheet):
        assert [p.code for p in a] == [p.code for p in b]
        return
    assert (a.header, a.first_data_row, a.first_column, a.formulas, a.sheet) == (
        b.header,
        b.first_data_row,
        b.first_column,
        b.formulas,
        b.sheet,
    )
    assert a.data.to_numpy().tolist() == b.data.to_numpy().tolist()


def test_every_upload_reads_and_ingests_the_same_in_blocks(inst, survey_files, tmp_path, monkeypatch):
    """The robustness corpus and every layout: the same sheet, values, formulas and verdicts."""
    cases = [tmp_path / name for name, _, _ in build(inst, tmp_path)]
    cases += [p for p in survey_files.values() if p.suffix == ".xlsx"]
    whole = {p: (read_sheet(p), ingest_file(p, inst)) for p in cases}
    count = _CountBlocks(monkeypatch)
    monkeypatch.setattr(xlsx_blocks, "BLOCK_BYTES", SMALL)
    for p in cases:
        before = count.n
        raw, result = read_sheet(p), ingest_file(p, inst)
        _same(raw, whole[p][0])
        assert result.status == whole[p][1].status, p.name
        assert [str(e) for e in result.problems] == [str(e) for e in whole[p][1].problems], p.name
        if result.frame is not None:
            assert result.frame.equals(whole[p][1].frame), p.name
        if p in survey_files.values():
            assert count.n - before > 100, p.name  # really read in blocks


def test_blocks_read_on_two_processes_equal_the_whole_sheet(awkward, monkeypatch):
    from jianfu import parallel

    total = _CountBlocks(monkeypatch)
    xlsx_blocks.read_rows(awkward, "答卷", block_bytes=SMALL)
    n_blocks = total.n
    monkeypatch.setenv("JIANFU_PROCESSES", "2")
    parallel.shutdown()
    try:
        parallel.warm(wait=True)
        here = _CountBlocks(monkeypatch)  # counts only the blocks this process reads
        got = xlsx_blocks.read_rows(awkward, "答卷", block_bytes=SMALL)
    finally:
        parallel.shutdown()
    assert 0 < here.n < n_blocks  # the worker read some blocks, this process the others
    rows, first_column = _whole(awkward, "答卷")
    assert got.rows == rows and got.first_column == first_column and got.has_formulas
