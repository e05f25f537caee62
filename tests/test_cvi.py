"""Content validity by expert panel (jianfu.cvi.panel): published worked examples, the form round trip, bad input.

References for the expected values
----------------------------------
- Polit, D. F., Beck, C. T., & Owen, S. V. (2007). Is the CVI an acceptable indicator of content validity?
  Research in Nursing & Health, 30, 459–467 — the table of I-CVI, p_c and κ* by number of experts N and
  number A rating the item 3 or 4 (rows used: N=3/A=3, N=6/A=5, N=9/A=7).
- BMC Health Services Research (2017), doi:10.1186/s12913-017-2469-8, Table 10 ("Relevance of the
  questions": 10 experts, six items rated relevant by 10, 9, 7, 10, 10, 10; I-CVI, p_c, κ*, S-CVI/Ave .93,
  S-CVI/UA .67; other columns of the same table give the N=9 rows).
- BMC Research Notes (2016), doi:10.1186/s13104-016-2249-2, Table 4 (7 experts: κ* for A=7 and A=6).
- PMC7253559, Table 4: the complete ratings of 12 items by 6 experts on the 4-point scale, with
  I-CVI per item, S-CVI/Ave = 0.97 and S-CVI/UA = 0.83 — the two S-CVI methods of Polit & Beck (2006)
  disagreeing on the same panel.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from jianfu import paths
from jianfu.cvi.cli import cvi_app
from jianfu.cvi.panel import (
    INSTRUCTIONS_SHEET,
    RATINGS_SHEET,
    RatingsError,
    chance_agreement,
    item_cvi,
    kappa_evaluation,
    modified_kappa,
    score_ratings,
    write_cvi_result,
    write_rating_workbook,
)
from jianfu.instrument import parse_instrument

# (N, A, I-CVI, p_c, κ*, evaluation) as printed (two decimals; p_c three).
POLIT_2007 = [
    (3, 3, 1.00, 0.125, 1.00, "excellent"),
    (6, 5, 0.83, 0.094, 0.82, "excellent"),
    (9, 7, 0.78, 0.070, 0.76, "excellent"),
]
BMC_HSR_2017 = [
    (10, 10, 1.00, 0.001, 1.00, "excellent"),
    (10, 9, 0.90, 0.010, 0.90, "excellent"),
    (10, 8, 0.80, 0.044, 0.79, "excellent"),
    (10, 7, 0.70, 0.117, 0.66, "good"),
    (9, 8, 0.89, 0.018, 0.89, "excellent"),
    (9, 6, 0.67, 0.164, 0.60, "good"),
]
BMC_RN_2016 = [(7, 7, 1.00, 0.008, 1.00, "excellent"), (7, 6, 0.86, 0.055, 0.85, "excellent")]

# PMC7253559 Table 4: items 1–12 (rows) × experts 1–6.
PMC7253559 = [
    [4, 4, 4, 4, 4, 4],
    [4, 3, 4, 4, 3, 4],
    [4, 4, 4, 4, 4, 4],
    [4, 4, 4, 4, 4, 4],
    [3, 4, 4, 4, 4, 4],
    [2, 3, 4, 3, 3, 4],
    [4, 4, 4, 4, 4, 4],
    [4, 4, 4, 4, 4, 4],
    [3, 3, 4, 2, 3, 4],
    [4, 4, 4, 3, 4, 4],
    [4, 4, 4, 3, 4, 4],
    [4, 4, 4, 3, 4, 4],
]


@pytest.mark.parametrize(("n", "a", "icvi", "pc", "kappa", "label"), POLIT_2007 + BMC_HSR_2017 + BMC_RN_2016)
def test_kappa_matches_published_tables(n, a, icvi, pc, kappa, label):
    assert round(a / n, 2) == icvi
    assert round(chance_agreement(n, a), 3) == pc
    assert round(modified_kappa(n, a), 2) == kappa
    assert kappa_evaluation(modified_kappa(n, a))[1] == label


def test_kappa_evaluation_bands_of_polit_2007():
    # κ* > .74 excellent, .60–.74 good, .40–.59 fair, below .40 poor.
    got = [kappa_evaluation(k)[1] for k in (0.75, 0.74, 0.60, 0.59, 0.40, 0.39)]
    assert got == ["excellent", "good", "good", "fair", "fair", "poor"]
    assert kappa_evaluation(0.745)[0] == "优秀"  # displayed as .75


def test_icvi_cutoff_is_applied_to_the_two_decimal_value():
    # 7 of 9 experts is the .78 of Lynn (1986) and passes; 3 of 4 (.75) and 2 of 3 (.67) do not.
    def flagged(n, a):
        ratings = pd.DataFrame([[4] * a + [1] * (n - a)], index=["q"])
        return bool(item_cvi(ratings)["below_cutoff"].iloc[0])

    assert [flagged(9, 7), flagged(5, 4), flagged(4, 3), flagged(3, 2)] == [False, False, True, True]


def test_s_cvi_ave_and_ua_of_the_published_12_item_panel():
    ratings = pd.DataFrame(PMC7253559, index=[f"i{k}" for k in range(1, 13)], columns=[f"E{k}" for k in range(1, 7)])
    res = score_ratings(ratings)
    assert res.items["n_relevant"].tolist() == [6, 6, 6, 6, 6, 5, 6, 6, 5, 6, 6, 6]
    assert res.items["i_cvi"].round(2).tolist() == [1.0] * 5 + [0.83] + [1.0] * 2 + [0.83] + [1.0] * 3
    assert round(res.overall["s_cvi_ave"], 2) == 0.97
    assert round(res.overall["s_cvi_ua"], 2) == 0.83
    assert res.overall["n_below"] == 0
    # Experts 1 and 4 each rated one item 2: 11 of 12 items relevant.
    assert res.experts.round(3).tolist() == [0.917, 1.0, 1.0, 0.917, 1.0, 1.0]


def test_s_cvi_of_the_bmc_2017_relevance_column():
    agreeing = [10, 9, 7, 10, 10, 10]
    ratings = pd.DataFrame([[4] * a + [2] * (10 - a) for a in agreeing], index=list("123456"))
    res = score_ratings(ratings)
    assert res.items["kappa"].round(2).tolist() == [1.00, 0.90, 0.66, 1.00, 1.00, 1.00]
    assert round(res.overall["s_cvi_ave"], 2) == 0.93
    assert round(res.overall["s_cvi_ua"], 2) == 0.67
    assert res.items.index[res.items["below_cutoff"]].tolist() == ["3"]


# ---------------------------------------------------------------------------------------------
# The form: template → filled programmatically → scored
# ---------------------------------------------------------------------------------------------

_YAML = textwrap.dedent("""\
    id: mini
    version: "1.0"
    title: {zh: 小问卷, en: Mini survey}
    response_scales:
      agree5:
        labels: {1: 非常不同意, 2: 比较不同意, 3: 不确定, 4: 比较同意, 5: 非常同意}
    scales:
      - id: workload
        name: {zh: 工作负荷, en: Workload}
        definition: {zh: 干部感到的工作量。, en: The amount of work a cadre feels.}
        response_scale: agree5
        items:
          - id: w1
            text: {zh: 我的工作量很大。, en: My workload is heavy.}
            source: {seed: 004.txt, quote: 不堪重负}
          - id: w2
            text: {zh: 我有足够的时间完成工作。, en: I have enough time for my work.}
            reverse: true
            source: {seed: 004.txt, quote: 疲于奔波}
          - id: w3
            text: {zh: 我常常加班。, en: I often work overtime.}
            source: {seed: 002.txt, quote: 忙與累}
      - id: honesty
        name: {zh: 印象管理, en: Impression management}
        response_scale: agree5
        items:
          - id: h1
            text: {zh: 我从不说谎。, en: I never lie.}
            source: {reference: Paulhus (1991) BIDR-IM, adapted: true}
          - id: h2
            text: {zh: 我总是遵守规则。, en: I always obey the rules.}
            source: {reference: Paulhus (1991) BIDR-IM, adapted: true}
    demographics:
      - {id: unit, text: {zh: 单位, en: Unit}, free_text: true}
      - {id: level, text: {zh: 层级, en: Level}, options: [乡镇, 街道]}
""")


@pytest.fixture
def mini():
    return parse_instrument(_YAML)


def _fill(path, ratings: dict[str, list], out=None):
    """Write ``ratings`` (expert column index 1.. → one value per item row) into a form."""
    wb = load_workbook(path)
    ws = wb[RATINGS_SHEET]
    for k, values in ratings.items():
        for i, v in enumerate(values, start=2):
            ws.cell(row=i, column=6 + k, value=v)
    wb.save(out or path)
    return out or path


def test_form_layout(tmp_path, mini):
    path = write_rating_workbook(mini, tmp_path / "experts.xlsx", n_experts=5)
    wb = load_workbook(path)
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, RATINGS_SHEET]
    ws = wb[RATINGS_SHEET]
    header = [c.value for c in ws[1]]
    assert header[0] == "题号\nItem ID" and header[-1] == "专家5\nExpert 5" and len(header) == 11
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert list(rows) == ["w1", "w2", "w3", "h1", "h2"]
    assert rows["w1"][1] == "工作负荷\nWorkload"
    assert rows["w1"][2] == "干部感到的工作量。\nThe amount of work a cadre feels."
    assert rows["h1"][2] is None  # the scale has no definition
    assert "不堪重负" in rows["w1"][5] and "Paulhus" in rows["h1"][5]
    assert "反向" in rows["w2"][3]
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and dv.formula1 == '"1,2,3,4"' and str(dv.sqref) == "G2:K6"
    text = "\n".join(str(r[0]) for r in wb[INSTRUCTIONS_SHEET].iter_rows(values_only=True) if r[0])
    assert "4 = 非常相关" in text and "highly relevant" in text


def test_round_trip_template_fill_score_result(tmp_path, mini):
    path = write_rating_workbook(mini, tmp_path / "experts.xlsx", n_experts=6)
    # Items w1 w2 w3 h1 h2; expert 6 never answers (an unused column is ignored).
    _fill(
        path,
        {
            1: [4, 1, 4, 3, "4 非常相关"],
            2: [4, 2, 3, 4, "3"],
            3: [3, 4, 4, 2, 4],
            4: [4, 3, 4, 4, 4.0],
            5: [4, 2, 4, 4, "４"],
        },
    )
    res = score_ratings(path)
    assert res.overall["n_experts"] == 5 and res.instrument == "mini v1.0"
    assert res.items["n_relevant"].tolist() == [5, 2, 5, 4, 5]
    assert res.items.loc["w2", "i_cvi"] == pytest.approx(0.4)
    assert res.items.index[res.items["below_cutoff"]].tolist() == ["w2"]
    assert res.items.loc["h1", "kappa"] == pytest.approx((0.8 - 5 / 32) / (1 - 5 / 32))
    work = res.scales.loc["工作负荷 Workload"]
    assert work.n_items == 3 and work.s_cvi_ave == pytest.approx((1 + 0.4 + 1) / 3)
    assert work.s_cvi_ua == pytest.approx(2 / 3) and work.n_below == 1
    assert res.scales.loc["印象管理 Impression management", "s_cvi_ua"] == pytest.approx(0.5)
    assert res.items.loc["w1", "text"] == "我的工作量很大。"

    out = write_cvi_result(res, tmp_path / "result.xlsx")
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总 Summary", "题目 Items"]
    summary = [v for r in wb["汇总 Summary"].iter_rows(values_only=True) for v in r if v is not None]
    assert any(isinstance(v, str) and v.startswith("全问卷 S-CVI/Ave = .84") and "w2" in v for v in summary)
    items = [r for r in wb["题目 Items"].iter_rows(values_only=True) if r[0] in {"w1", "w2", "w3", "h1", "h2"}]
    assert [r[-1] for r in items] == [None, "▲", None, None, None]
    assert json.dumps(res.to_dict(), default=lambda o: o.item())  # JSON-ready


def test_one_form_per_expert_is_merged(tmp_path, mini):
    blank = write_rating_workbook(mini, tmp_path / "form.xlsx", n_experts=1)
    a = _fill(blank, {1: [4, 4, 4, 4, 4]}, tmp_path / "wang.xlsx")
    b = _fill(blank, {1: [4, 1, 4, 4, 4]}, tmp_path / "li.xlsx")
    res = score_ratings([a, b])
    assert res.ratings.columns.tolist() == ["wang:专家1 Expert 1", "li:专家1 Expert 1"]
    assert res.items["n_relevant"].tolist() == [2, 1, 2, 2, 2]
    assert res.notes and "3" in res.notes[0]  # fewer than 3 experts is reported


# ---------------------------------------------------------------------------------------------
# Bad input: every problem located and explained, Chinese first
# ---------------------------------------------------------------------------------------------


def _problems(source):
    with pytest.raises(RatingsError) as info:
        score_ratings(source)
    return info.value


def test_missing_and_out_of_range_ratings_are_all_reported(tmp_path, mini):
    path = write_rating_workbook(mini, tmp_path / "experts.xlsx", n_experts=3)
    _fill(path, {1: [4, 4, None, 4, 4], 2: [4, 5, 4, "4.5", 4], 3: [4, 4, 4, 4, 4]})
    err = _problems(path)
    by_code = {p.code: [q for q in err.problems if q.code == p.code] for p in err.problems}
    (missing,) = by_code["cvi.value.missing"]
    assert (missing.file, missing.sheet, missing.row, missing.column) == (
        "experts.xlsx",
        RATINGS_SHEET,
        4,
        "G (专家1 Expert 1)",
    )
    assert "补评" in missing.fix_zh and "rate these items" in missing.fix_en
    invalid = by_code["cvi.value.invalid"]
    assert [(p.row, p.column[0], p.value) for p in invalid] == [(3, "H", "5"), (5, "H", "4.5")]
    message = str(err)
    assert message.index("专家评分表") < message.index("rating form")  # Chinese first
    assert "第 3 行" in message and "row 3" in message and "1（不相关）" in message


def test_wrong_sheet(tmp_path):
    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.save(tmp_path / "other.xlsx")
    (p,) = _problems(tmp_path / "other.xlsx").problems
    assert p.code == "cvi.sheet.missing" and "Sheet1" in p.zh and "jianfu cvi template" in p.fix_en


def test_header_and_row_problems(tmp_path, mini):
    path = write_rating_workbook(mini, tmp_path / "experts.xlsx", n_experts=3)
    wb = load_workbook(path)
    ws = wb[RATINGS_SHEET]
    ws["H1"] = "专家1\nExpert 1"  # the same name as G1
    ws["A3"] = None  # a row loses its item id but keeps ratings
    for r in range(2, 7):
        ws.cell(row=r, column=7, value=4)
        ws.cell(row=r, column=8, value=4)
    wb.save(path)
    codes = sorted(p.code for p in _problems(path).problems)
    assert codes == ["cvi.header.duplicate", "cvi.header.duplicate", "cvi.row.no_id"]


def test_empty_form_and_unreadable_file(tmp_path, mini):
    path = write_rating_workbook(mini, tmp_path / "experts.xlsx")
    assert [p.code for p in _problems(path).problems] == ["cvi.value.none"]
    bad = tmp_path / "ratings.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    assert [p.code for p in _problems(bad).problems] == ["cvi.file.unreadable"]


def test_dataframe_input_errors_name_item_and_expert():
    ratings = pd.DataFrame({"A": [4, 0], "B": [4, None]}, index=["q1", "q2"])
    problems = _problems(ratings).problems
    assert {(p.code, p.column) for p in problems} == {("cvi.value.invalid", "A"), ("cvi.value.missing", "B")}


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def test_cli_template_score_and_errors(tmp_path):
    runner = CliRunner()
    form = tmp_path / "experts.xlsx"
    r = runner.invoke(cvi_app, ["template", "-o", str(form), "--experts", "5"])
    assert r.exit_code == 0, r.output
    n_items = load_workbook(form)[RATINGS_SHEET].max_row - 1
    assert n_items >= 10  # the default instrument
    # 4 of 5 experts rate the first item relevant: I-CVI .80 passes the .78 cut-off.
    _fill(form, {k: [4] * n_items for k in (1, 2, 3, 4)} | {5: [2] + [4] * (n_items - 1)})
    out = tmp_path / "result.xlsx"
    r = runner.invoke(cvi_app, ["score", str(form), "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["overall"]["n_experts"] == 5 and data["below_cutoff"] == []
    assert data["items"][0]["n_relevant"] == 4 and out.exists()

    _fill(form, {1: [9]})
    r = runner.invoke(cvi_app, ["score", str(form)])
    assert r.exit_code == 1 and "第 2 行" in r.stderr and "row 2" in r.stderr


def test_cvi_is_a_jianfu_sub_command():
    from jianfu.cli import app

    r = CliRunner().invoke(app, ["cvi", "--help"])
    assert r.exit_code == 0 and "template" in r.output and "score" in r.output
    assert paths.DEFAULT_INSTRUMENT.exists()
