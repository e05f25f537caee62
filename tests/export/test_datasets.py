"""Labelled analysis datasets: read back with pyreadstat, pyarrow and pandas, the files carry what the
instrument says (labels, value labels, declared missing codes) and nothing personal."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_privacy_scan import INVALID_CELL, PLANTED, _assert_clean, _secrets

from jianfu.export.datasets import FORMATS, build_export, variable_names, write_datasets
from jianfu.ingest.parse import ingest_file
from jianfu.instrument import CARELESS_INDICES, FLAG_NAMES, dump_instrument, parse_instrument
from jianfu.pipeline import clean
from jianfu.synth import simulate, survey_table

SMALL_UNIT = "小河口村民委员会"  # three accepted respondents: its name must appear nowhere
LEAKY_UNIT = PLANTED[0]  # a unit "name" holding a phone number, large enough to be labelled
KEY = "feedc0ffee123456"  # a respondent key (HMAC of a phone number) that must not be exported


def _na_item(inst):
    """The first item whose response scale has non-scored codes (不适用 / 不了解)."""
    return next(
        i.id for s in inst.first_order_scales if inst.response_scales[s.response_scale].missing_options for i in s.items
    )


def _reversed_scale(inst):
    return next(s for s in inst.first_order_scales if any(i.reverse for i in s.items))


@pytest.fixture(scope="module")
def frames(inst, tmp_path_factory):
    """Accepted and quarantined rows as ingest and clean make them, with 8/9 answers, one invalid
    cell, a small unit, and personal data planted where a careless frame could carry it."""
    d = tmp_path_factory.mktemp("export_in")
    survey = simulate(inst, n=160, seed=23)
    na = _na_item(inst)
    survey.answers.loc[0:9, na] = 8
    survey.answers.loc[10:14, na] = 9
    table = survey_table(survey, inst, "csv")
    first = inst.items[0].id
    table[first] = table[first].astype(object)
    table.loc[20, first] = INVALID_CELL  # one row in 160: quarantined as invalid, the file accepted
    path = d / "调查.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    result = ingest_file(path, inst)
    assert result.status == "accepted"
    frame = clean([result], inst)
    frame["wave"] = "2026-05"
    frame["_respondent_key"] = KEY
    accepted_idx = frame.index[frame["status"] == "accepted"]
    frame.loc[accepted_idx[30:33], "unit"] = SMALL_UNIT
    frame.loc[accepted_idx[40:47], "unit"] = LEAKY_UNIT
    # Raw personal data where ingest would have masked it: the export must not rely on that.
    frame[inst.open_questions[0].id] = [PLANTED[i % len(PLANTED)] for i in range(len(frame))]
    frame.loc[frame["_flag_invalid"], "_invalid_detail"] = f"{first}={INVALID_CELL}"
    accepted = frame[frame["status"] == "accepted"]
    quarantined = frame[frame["status"] == "quarantined"]
    assert len(quarantined) >= 5 and quarantined["_flag_invalid"].sum() == 1
    assert (accepted["_missing_codes"].fillna("").str.contains(f"{na}=8")).sum() >= 5
    return accepted, quarantined


@pytest.fixture(scope="module")
def written(inst, frames, tmp_path_factory):
    out = tmp_path_factory.mktemp("export_out")
    accepted, quarantined = frames
    return write_datasets(accepted, quarantined, inst, out / "jianfu_2026-05", include_open_answers=True)


def test_every_format_and_part_is_written(written):
    assert set(written) == {*FORMATS, *(f"{f}_quarantined" for f in FORMATS), "codebook"}
    assert written["sav"].name == "jianfu_2026-05.sav"
    assert written["sav_quarantined"].name == "jianfu_2026-05_quarantined.sav"
    assert all(p.is_file() and p.stat().st_size > 0 for p in written.values())


def test_sav_reads_back_with_the_instruments_labels_and_user_missing_codes(inst, frames, written):
    accepted, _ = frames
    data, meta = pyreadstat.read_sav(written["sav"], user_missing=True)
    assert len(data) == len(accepted) and data["resp_id"].is_unique
    labels = meta.column_names_to_labels
    for s in inst.first_order_scales:
        rs = inst.response_scales[s.response_scale]
        for item in s.items:
            assert labels[item.id] == item.text.zh
            expected = {float(k): v for k, v in (rs.labels | rs.missing_options).items()}
            assert meta.variable_value_labels[item.id] == expected
            if rs.missing_options:
                assert meta.missing_ranges[item.id] == [{"lo": float(c), "hi": float(c)} for c in rs.missing_options]
            else:
                assert item.id not in meta.missing_ranges
    for d in inst.demographics:
        assert labels[d.id] == d.text.zh
        if d.options:
            assert meta.variable_value_labels[d.id] == {float(k): o for k, o in enumerate(d.options, 1)}
            assert (
                data[d.id].dropna().map(meta.variable_value_labels[d.id]).tolist() == accepted[d.id].dropna().tolist()
            )
    # The 不适用 / 不了解 answers are there as their codes, and SPSS treats them as missing.
    na = _na_item(inst)
    given = accepted["_missing_codes"].fillna("").str.extract(rf"(?:^|;){na}=(\d+)")[0].astype(float).to_numpy()
    assert np.array_equal(data[na].to_numpy()[~np.isnan(given)], given[~np.isnan(given)])
    assert {8.0, 9.0} <= set(data[na].dropna())
    plain, _ = pyreadstat.read_sav(written["sav"])
    assert plain[na].isna().sum() == data[na].isna().sum() + (~np.isnan(given)).sum()
    assert any("反向计分" in n for n in meta.notes)


def test_reverse_keyed_items_are_raw_and_the_scores_reverse_them(inst, frames, written):
    accepted, _ = frames
    data, _ = pyreadstat.read_sav(written["sav"])
    s = _reversed_scale(inst)
    rs = inst.response_scales[s.response_scale]
    ids = [i.id for i in s.items]
    for i in ids:
        assert np.allclose(data[i].to_numpy(), accepted[i].to_numpy(), equal_nan=True)
    # By hand: lo + hi − x for the reverse-keyed items, then the row mean when ≥ 75% are answered.
    raw = accepted[ids].to_numpy(dtype=float)
    keyed = np.where([i.reverse for i in s.items], rs.min + rs.max - raw, raw)
    answered = (~np.isnan(keyed)).sum(axis=1)
    expected = np.where(answered >= 0.75 * len(ids), np.nanmean(keyed, axis=1), np.nan)
    assert np.allclose(data[s.id].to_numpy(), expected, equal_nan=True)


def test_dta_reads_back_with_labels_and_extended_missing_values(inst, frames, written):
    accepted, _ = frames
    data, meta = pyreadstat.read_dta(written["dta"], user_missing=True)
    assert len(data) == len(accepted)
    for item in inst.items:
        rs = inst.response_scales[inst.item_scale()[item.id].response_scale]
        assert meta.column_names_to_labels[item.id] == item.text.zh
        assert meta.variable_value_labels[item.id] == dict(rs.labels)
    na = _na_item(inst)
    codes = accepted["_missing_codes"].fillna("").str.extract(rf"(?:^|;){na}=(\d+)")[0].to_numpy()
    assert [v for v, c in zip(data[na], codes, strict=True) if c == "8"] == ["a"] * int((codes == "8").sum())
    assert [v for v, c in zip(data[na], codes, strict=True) if c == "9"] == ["b"] * int((codes == "9").sum())
    plain, _ = pyreadstat.read_dta(written["dta"])
    assert plain[na].isna().sum() >= (codes == "8").sum() + (codes == "9").sum()
    codebook = pd.read_csv(written["codebook"], encoding="utf-8-sig").set_index("name")
    assert codebook.loc[na, "stata_missing"] == "8=.a; 9=.b"
    assert codebook.loc[na, "missing"] == "8=不适用; 9=不了解"


def test_units_below_the_threshold_keep_their_code_only(inst, frames, written):
    accepted, _ = frames
    data, meta = pyreadstat.read_sav(written["sav"])
    unit_labels = meta.variable_value_labels["unit"]
    small = data.loc[(accepted["unit"] == SMALL_UNIT).to_numpy(), "unit"]
    assert len(small) == 3 and small.nunique() == 1 and small.iloc[0] not in unit_labels
    sizes = accepted["unit"].value_counts()
    assert sorted(unit_labels.values()) == sorted(
        re.sub(r"139 1234 5679", "[已隐去]", u) for u in sizes[sizes >= 5].index
    )
    # Named units are numbered first, by name; the suppressed come after them.
    assert max(unit_labels) < small.iloc[0]


def test_quarantined_rows_keep_their_reasons(frames, written):
    _, quarantined = frames
    data, meta = pyreadstat.read_sav(written["sav_quarantined"])
    assert len(data) == len(quarantined)
    assert data["reasons"].tolist() == quarantined["reasons"].tolist()
    assert meta.column_names_to_labels["reasons"].startswith("隔离原因")
    invalid = data.loc[data["flag_invalid"] == 1, "invalid_detail"].tolist()
    assert len(invalid) == 1 and "[已隐去]" in invalid[0]
    accepted_sav, _ = pyreadstat.read_sav(written["sav"])
    # Accepted rows carry no quarantining flag; a single careless index (informational) may be set.
    quarantining = [f"flag_{name}" for name in FLAG_NAMES]
    assert "reasons" not in accepted_sav and (accepted_sav[quarantining] == 0).all().all()
    assert {f"flag_{name}" for name in CARELESS_INDICES} <= set(accepted_sav)


def test_parquet_carries_the_instrument_and_the_codebook(inst, frames, written):
    accepted, _ = frames
    meta = pq.read_schema(written["parquet"]).metadata
    assert json.loads(meta[b"jianfu.instrument"]) == {"id": inst.id, "version": inst.version}
    assert meta[b"jianfu.part"] == b"accepted"
    codebook = json.loads(meta[b"jianfu.codebook"])
    frame = pd.read_parquet(written["parquet"])
    assert len(frame) == len(accepted)
    exported = [v["name"] for v in codebook if not v["quarantined_only"] and "parquet" in v["formats"]]
    assert list(frame.columns) == exported
    entry = next(v for v in codebook if v["name"] == inst.items[0].id)
    assert entry["label_zh"] == inst.items[0].text.zh
    # No mean ever counts a 不适用: the code leaves the item column for missing_codes.
    na = _na_item(inst)
    planted = accepted["_missing_codes"].fillna("").str.contains(f"{na}=").to_numpy()
    assert frame.loc[planted, na].isna().all() and frame.loc[~planted, na].notna().any()
    assert frame.loc[planted, "missing_codes"].str.contains(rf"{na}=[89]").all()
    assert str(frame[na].dtype) == "Int64"


def test_csv_opens_in_excel_and_pandas_with_its_codebook(inst, frames, written):
    accepted, _ = frames
    raw = written["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    frame = pd.read_csv(written["csv"], encoding="utf-8-sig")
    assert len(frame) == len(accepted) and frame.columns[0] == "resp_id"
    codebook = pd.read_csv(written["codebook"], encoding="utf-8-sig")
    assert written["codebook"].read_bytes().startswith(b"\xef\xbb\xbf")
    assert set(frame.columns) <= set(codebook["name"])
    item = codebook.set_index("name").loc[inst.items[0].id]
    assert item["label_zh"] == inst.items[0].text.zh and item["kind"] == "item"
    s = _reversed_scale(inst)
    assert codebook.set_index("name").loc[next(i.id for i in s.items if i.reverse), "reverse"]


def test_no_personal_data_in_any_written_byte(frames, written):
    runs, names = _secrets([])
    texts = {str(p): p.read_bytes().decode("utf-8", "replace") for p in written.values()}
    # Parquet pages are compressed: read them back as values too.
    texts |= {f"{p} (values)": pd.read_parquet(p).to_csv() for k, p in written.items() if k.startswith("parquet")}
    for label, text in texts.items():
        _assert_clean(label, text, runs, [*names, SMALL_UNIT, KEY])
    sav, _ = pyreadstat.read_sav(written["sav"])
    assert sav["suggestion"].str.contains("[已隐去]", regex=False).any()  # carried through, masked
    assert "_respondent_key" not in sav and not any("file" in c for c in sav.columns)


def test_an_empty_quarantine_still_writes_its_files(inst, frames, tmp_path):
    accepted, quarantined = frames
    out = write_datasets(accepted, quarantined.iloc[:0], inst, tmp_path / "x", formats=("sav", "dta", "csv"))
    assert pyreadstat.read_sav(out["sav_quarantined"])[0].shape[0] == 0
    assert pyreadstat.read_dta(out["dta_quarantined"])[0].shape[0] == 0
    assert set(out) == {"sav", "sav_quarantined", "dta", "dta_quarantined", "csv", "csv_quarantined", "codebook"}


def test_unknown_format_is_refused(inst, frames, tmp_path):
    with pytest.raises(ValueError, match="不支持的导出格式.*xlsx"):
        write_datasets(*frames, inst, tmp_path / "x", formats=("sav", "xlsx"))


def test_long_labels_are_cut_to_each_formats_limit(inst, frames, tmp_path):
    data = yaml.safe_load(dump_instrument(inst))
    long_text = "在过去三个月里，" + "上级部门通过微信群、政务App和电话临时布置的各类报表、台账与留痕材料" * 3 + "。"
    data["scales"][0]["items"][0]["text"]["zh"] = long_text
    changed = parse_instrument(yaml.safe_dump(data, allow_unicode=True))
    item = changed.scales[0].items[0].id
    out = write_datasets(*frames, changed, tmp_path / "long", formats=("sav", "dta", "csv"))
    sav_label = pyreadstat.read_sav(out["sav"], metadataonly=True)[1].column_names_to_labels[item]
    dta_label = pyreadstat.read_dta(out["dta"], metadataonly=True)[1].column_names_to_labels[item]
    assert len(sav_label.encode("utf-8")) <= 256 and sav_label.endswith("…")
    assert len(dta_label) <= 80 and dta_label.endswith("…")
    assert long_text.startswith(sav_label[:-1]) and long_text.startswith(dta_label[:-1])
    codebook = pd.read_csv(out["codebook"], encoding="utf-8-sig").set_index("name")
    assert codebook.loc[item, "label_zh"] == long_text


def test_build_export_leaves_open_answers_out_by_default(inst, frames):
    export = build_export(*frames, inst)
    assert inst.open_questions[0].id not in export.accepted
    assert export.variable("unit").note.startswith("有效答卷少于 5 份")


_VALID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_RESERVED = {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with", "if", "in", "int"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=45), min_size=1, max_size=30))
def test_variable_names_are_valid_unique_and_deterministic(idents):
    names = variable_names(idents)
    assert set(names) == set(idents)
    values = list(names.values())
    assert all(_VALID.match(n) for n in values), values
    assert len({n.lower() for n in values}) == len(values)
    assert not {n.lower() for n in values} & _RESERVED
    assert variable_names(idents) == names
    # An id keeps its name whatever follows it.
    assert variable_names(idents[:1]) == {idents[0]: names[idents[0]]}


@pytest.mark.parametrize(
    ("ident", "name"),
    [("ap7", "ap7"), ("1st_item", "v_1st_item"), ("_flag", "flag"), ("q-12.a", "q_12_a"), ("with", "with_v")],
)
def test_variable_names_examples(ident, name):
    assert variable_names([ident]) == {ident: name}
