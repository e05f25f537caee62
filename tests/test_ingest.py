"""Ingest: every layout, header matching, value mapping, refusals, privacy."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from expected import RULE_FLAGS
from openpyxl import Workbook

from jianfu.ingest.parse import ingest_file, parse_duration
from jianfu.ingest.readers import Limits
from jianfu.ingest.template import write_template
from jianfu.quality.flags import flag_quality
from jianfu.synth import survey_table


@pytest.mark.parametrize("fmt", ["wjx-text", "wjx-code", "template", "csv", "tencent"])
def test_each_layout_is_detected_matched_and_flagged(inst, survey, survey_files, fmt):
    r = ingest_file(survey_files[fmt], inst)
    assert r.status == "accepted", [str(p) for p in r.errors]
    assert r.format == fmt
    assert r.n_rows == len(survey.answers)
    items = [i.id for i in inst.items]
    assert set(items) <= set(r.frame.columns)
    np.testing.assert_array_equal(r.frame[items].to_numpy(float), survey.answers[items].to_numpy(float))
    flags = flag_quality(r.frame, inst)
    expected = survey.injected
    if fmt == "template":  # paper questionnaires carry no completion time
        expected = {**expected, "speeder": 0}
    assert {k: int(flags[k].sum()) for k in RULE_FLAGS} == {k: expected[k] for k in RULE_FLAGS}
    assert r.frame["level"].isin(["乡镇", "街道", "村（社区）"]).all()


def test_template_round_trip_has_no_warnings(inst, survey_files):
    r = ingest_file(survey_files["template"], inst)
    assert r.problems == []


def test_reordered_columns_and_extra_columns(inst, survey, tmp_path):
    table = survey_table(survey, inst, "wjx-text")
    cols = list(table.columns)
    rng = np.random.default_rng(0)
    shuffled = cols[:6] + list(rng.permutation(cols[6:]))
    table = table[shuffled]
    table["备注（内部）"] = "x"
    path = tmp_path / "reordered.csv"
    table.to_csv(path, index=False, encoding="gb18030")  # GBK family, as Excel on Chinese Windows writes
    r = ingest_file(path, inst)
    assert r.status == "accepted"
    assert r.format == "wjx-text"
    assert any(p.code == "header.unknown" and p.column == "备注（内部）" for p in r.warnings)
    items = [i.id for i in inst.items]
    np.testing.assert_array_equal(r.frame[items].to_numpy(float), survey.answers[items].to_numpy(float))


def test_header_variants_match(inst, tmp_path):
    item = inst.items[0]
    headers = [
        f"12、({item.text.zh})",
        f"(1)12. {item.text.zh}：",
        f"12.\t{item.text.zh}",
        f"12、（{item.text.zh.replace('，', ',')}）",
    ]
    for h in headers:
        frame = pd.DataFrame({h: ["非常同意", "比较同意", "不确定"], "您所在单位的层级": ["乡镇"] * 3})
        path = tmp_path / "h.csv"
        frame.to_csv(path, index=False)
        r = ingest_file(path, inst)
        assert r.matched.get(h) == item.id, h


def test_bad_values_are_all_reported_with_row_column_value(inst, survey, tmp_path):
    table = survey_table(survey, inst, "wjx-text")
    col = [c for c in table.columns if inst.items[0].text.zh in c][0]
    table.loc[4, col] = "很满意"
    table.loc[9, col] = "7"
    level_col = [c for c in table.columns if "层级" in c][0]
    table.loc[2, level_col] = "县城"
    path = tmp_path / "bad_values.xlsx"
    table.to_excel(path, index=False)
    r = ingest_file(path, inst, strict=True)
    assert r.status == "rejected"
    bad = {(p.row, p.column, p.value) for p in r.errors if p.code == "value.not_allowed"}
    assert bad == {(6, col, "很满意"), (11, col, "7"), (4, level_col, "县城")}
    msg = str(next(p for p in r.errors if p.value == "县城"))
    assert "第 4 行" in msg and "row 4" in msg and "乡镇" in msg and "Fix:" in msg


def _wb_bytes_with(path, extra: dict[str, bytes]):
    wb = Workbook()
    wb.active.append(["a", "b"])
    wb.save(path)
    with zipfile.ZipFile(path, "a") as zf:
        for name, data in extra.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)


@pytest.mark.parametrize(
    "case,code",
    [
        ("corrupt", "file.corrupt"),
        ("macro", "file.macro"),
        ("xlsm", "file.macro"),
        ("encrypted", "file.encrypted"),
        ("empty_file", "file.empty"),
        ("empty_sheet", "sheet.empty"),
        ("header_only", "sheet.header_only"),
        ("no_items", "sheet.no_items"),
        ("too_large", "file.too_large"),
        ("zip_bomb", "file.zip_bomb"),
        ("bad_encoding", "file.encoding"),
        ("pdf", "file.type"),
    ],
)
def test_refusals_are_clear_and_bilingual(inst, tmp_path, survey_files, case, code):
    limits = Limits()
    if case == "corrupt":
        p = tmp_path / "x.xlsx"
        p.write_bytes(survey_files["wjx-text"].read_bytes()[:3000])
    elif case == "macro":
        p = tmp_path / "m.xlsx"
        _wb_bytes_with(p, {"xl/vbaProject.bin": b"\x00" * 64})
    elif case == "xlsm":
        p = tmp_path / "m.xlsm"
        p.write_bytes(survey_files["wjx-text"].read_bytes())
    elif case == "encrypted":
        p = tmp_path / "secret.xlsx"
        p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    elif case == "empty_file":
        p = tmp_path / "e.xlsx"
        p.write_bytes(b"")
    elif case == "empty_sheet":
        p = tmp_path / "es.xlsx"
        Workbook().save(p)
    elif case == "header_only":
        p = tmp_path / "ho.xlsx"
        write_template(inst, p)
    elif case == "no_items":
        p = tmp_path / "other.csv"
        p.write_text("姓名,年龄\n张三,30\n", encoding="utf-8")
    elif case == "too_large":
        p = survey_files["wjx-text"]
        limits = Limits(max_bytes=1000)
    elif case == "zip_bomb":
        p = tmp_path / "bomb.xlsx"
        _wb_bytes_with(p, {"xl/media/blank.bin": b"\x00" * (5 * 2**20)})
        limits = Limits(max_compression_ratio=50)
    elif case == "bad_encoding":
        p = tmp_path / "bin.csv"
        p.write_bytes(bytes(range(128, 256)) * 4)
    else:
        p = tmp_path / "x.pdf"
        p.write_bytes(b"%PDF-1.4")
    r = ingest_file(p, inst, limits=limits)
    assert r.status == "rejected"
    assert code in {e.code for e in r.errors}
    msg = str(r.errors[0])
    assert p.name in msg and "修改方法" in msg and "Fix:" in msg


def test_csv_renamed_xlsx_is_read_with_a_warning(inst, survey_files, tmp_path):
    p = tmp_path / "actually_csv.xlsx"
    p.write_bytes(survey_files["csv"].read_bytes())
    r = ingest_file(p, inst)
    assert r.status == "accepted"
    assert "file.misnamed" in {w.code for w in r.warnings}


def test_duration_parsing():
    got = parse_duration(pd.Series(["312秒", "5分12秒", "1小时2分", "0:05:12", 300, "", "abc"], dtype=object))
    assert got.tolist()[:5] == [312, 312, 3720, 312, 300]
    assert np.isnan(got.iloc[5]) and np.isnan(got.iloc[6])


def test_personal_data_never_leaves_ingest(inst, survey, survey_files, tmp_path):
    table = survey_table(survey, inst, "wjx-text")
    open_col = [c for c in table.columns if "意见和建议" in c][0]
    table.loc[0, open_col] = f"请联系我 {survey.pii.phone[0]}，身份证 110101199003071234，邮箱 a.b@example.com"
    table["证件号码"] = "110101199003071234"
    path = tmp_path / "pii.xlsx"
    table.to_excel(path, index=False)
    r = ingest_file(path, inst, secret=b"k" * 32)
    assert r.status == "accepted"
    blob = r.frame.astype(str).to_csv()
    for secret in [
        *survey.pii["name"].head(50),
        *survey.pii["phone"].head(50),
        *survey.pii["ip"].head(50),
        "110101199003071234",
        "a.b@example.com",
    ]:
        assert secret not in blob
    assert r.frame["_respondent_key"].notna().all()
    codes = {w.code for w in r.warnings}
    assert {"privacy.column_dropped", "privacy.masked"} <= codes


def test_legacy_xls_export_is_read(inst, survey, tmp_path):
    import xlwt

    table = survey_table(survey, inst, "wjx-text").head(80)
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("问卷星")
    for j, h in enumerate(table.columns):
        ws.write(0, j, h)
    for i, row in enumerate(table.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            ws.write(i, j, v.item() if hasattr(v, "item") else v)
    p = tmp_path / "问卷 导出.xls"
    wb.save(str(p))
    r = ingest_file(p, inst)
    assert r.status == "accepted" and r.format == "wjx-text" and r.n_rows == 80
    items = [i.id for i in inst.items]
    np.testing.assert_array_equal(r.frame[items].to_numpy(float), survey.answers[items].head(80).to_numpy(float))


def test_limits_are_configurable_from_the_environment():
    lim = Limits.from_env({"JIANFU_MAX_MB": "5", "JIANFU_MAX_ROWS": "10"})
    assert lim.max_bytes == 5 * 2**20 and lim.max_rows == 10
    assert Limits.from_env({}) == Limits()


def test_a_duplicated_header_is_named_by_both_column_letters(inst, survey, tmp_path):
    table = survey_table(survey, inst, "csv")
    item = inst.items[0].id
    cols = list(table.columns)
    path = tmp_path / "dup.csv"
    # The same question twice under the same header text: only the letters tell the columns apart.
    table.insert(len(cols), item + "_copy", table[item])
    table.to_csv(path, index=False, encoding="utf-8-sig", header=[*cols, item])
    r = ingest_file(path, inst)
    [p] = [p for p in r.errors if p.code == "header.duplicate"]
    first = chr(ord("A") + cols.index(item))
    last = (
        "".join(chr(65 + d) for d in ((len(cols)) // 26 - 1, len(cols) % 26))
        if len(cols) >= 26
        else chr(65 + len(cols))
    )
    assert f"第 {first} 列" in p.zh and f"第 {last} 列" in p.zh and f"column {last}" in p.en
