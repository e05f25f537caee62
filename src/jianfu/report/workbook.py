"""The Excel report: a finished analysis, Chinese first (``lang="en"`` for English).

Every number written comes from the run summary (see :mod:`jianfu.pipeline`); this module
computes nothing but layout. Sheets follow the reading order of an analysis chapter — findings,
sample, data quality, reliability and validity, descriptives, regressions, mediation and
moderation, units, open answers, waves (when the store holds earlier ones), methods, codebook.
Text that came from an input file is written as inert text (no formula injection), and unit
figures below five respondents are suppressed upstream and only marked here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.worksheet import Worksheet

from jianfu.comparability import DECISION_TEXT, RULE_TEXT
from jianfu.instrument import ALL_FLAGS, Instrument
from jianfu.report.charts import bar_chart, coefficient_chart, line_chart
from jianfu.report.sensitivity_sheet import sensitivity_sheet
from jianfu.report.styles import FONT, MEAN, PCT, STAT, P, inert, note, page, table, title
from jianfu.report.text import SHEET_KEYS, Words, findings, not_estimable_text, term_label
from jianfu.stats.descriptives import stars
from jianfu.summary import Provenance, RunSummary, ScaleSummary

__all__ = ["write_report", "inert", "SHEETS", "CHART_SHEETS", "sheet_names", "term_label", "findings"]


def sheet_names(lang: str = "zh", waves: bool = False) -> list[str]:
    """The report's sheet names in order, in ``lang``; the waves sheet only with ``waves``."""
    w = Words(lang)
    return [w(k) for k in SHEET_KEYS if waves or k != "waves"]


SHEETS = sheet_names("zh")
#: Sheets that carry a native chart.
CHART_SHEETS = ["摘要", "回归结果", "中介与调节", "单位对比"]
#: Bars in the unit chart; the table lists every unit.
CHART_UNITS = 40


def _ok(value: float | None, op: str, cut: float) -> str:
    if value is None:
        return ""
    good = value >= cut if op == ">=" else value <= cut if op == "<=" else value < cut
    return "✓" if good else "✗"


def _summary_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(
        ws,
        f"{w.text(inst.title)} — {w.pick('分析报告', 'analysis report')}",
        f"{w.pick('问卷版本', 'Instrument')} {inst.id} v{inst.version} · {w.pick('调查轮次', 'Wave')} "
        f"{summary.wave} · {w.pick('生成于', 'generated')} {summary.generated_at}",
    )
    ws.cell(row=top, column=1, value=w.pick("主要发现", "Key findings")).font = Font(name=FONT, bold=True, size=12)
    lines = findings(summary, inst, w.lang)
    for k, line in enumerate(lines, start=1):
        c = ws.cell(row=top + k, column=1, value=f"{k}. {line}")
        c.font = Font(name=FONT)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=top + k, start_column=1, end_row=top + k, end_column=8)
        ws.row_dimensions[top + k].height = 48
    row = top + len(lines) + 2
    headline_id = summary.layout.headline
    headline = next((s for s in inst.scales if s.id == headline_id), None)
    if headline is not None:
        # A composite is charted by its dimensions, a plain scale by itself.
        subs = list(headline.subscales) or [headline.id]
        profile = [(s, summary.scales.get(s)) for s in subs]
        rows = [[w.text(inst.scale(s).name), st.mean, st.sd] for s, st in profile if st and st.mean is not None]
        lo, hi = inst.score_range(headline)
        name = w.text(headline.name)
        row = note(
            ws,
            row,
            w.pick(
                f"{name}各维度（{lo}–{hi} 分）" if headline.subscales else f"{name}（{lo}–{hi} 分）",
                f"{name} by dimension ({lo}–{hi})" if headline.subscales else f"{name} ({lo}–{hi})",
            ),
            bold=True,
        )
        table(ws, row, [w("scale"), w("mean"), w("sd")], rows, formats={1: MEAN, 2: MEAN})
        if rows:
            bar_chart(
                ws,
                f"E{row}",
                w.pick(f"{name}剖面", f"{name}: profile"),
                1,
                2,
                row + 1,
                row + len(rows),
                w("mean"),
                y_range=(lo, hi),
            )
    for col, width in zip("ABCDEFGH", [34, 10, 10, 12, 12, 12, 12, 12], strict=True):
        ws.column_dimensions[col].width = width
    page(ws, 12)


def _sample_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(
        ws,
        w("sample"),
        w.pick(f"有效答卷 n = {summary.rows.accepted}", f"Accepted responses n = {summary.rows.accepted}"),
    )
    demo = {d.id: d for d in inst.demographics}
    for entry in summary["sample"]:
        d = demo.get(entry["id"])
        name = w.text(d.label) if d and d.label else entry["id"]
        if "levels" in entry:
            top = note(ws, top, name, bold=True)
            rows = [
                [lv["level"] if lv["level"] is not None else w("not_given"), lv["n"], lv["share"]]
                for lv in entry["levels"]
            ]
            top = table(ws, top, [w("level"), w("count"), w("share")], rows, formats={2: PCT}, widths=[28, 10, 10])
        else:
            top = (
                note(
                    ws,
                    top,
                    w.pick(
                        f"{name}：共 {entry['distinct']} 个不同的填写值（未填写 {entry['missing']}）",
                        f"{name}: {entry['distinct']} distinct answers ({entry['missing']} not given)",
                    ),
                    bold=True,
                )
                + 1
            )
    page(ws)


def _quality_sheet(ws: Worksheet, summary: RunSummary, w: Words) -> None:
    top = title(
        ws,
        w("quality"),
        w.pick(
            "每个文件读取、接受、隔离的行数；隔离的答卷保留在数据库中，不参与统计。",
            "Rows read, accepted and quarantined per file; quarantined rows stay in the store "
            "and are left out of every statistic.",
        ),
    )
    rows = []
    for f in summary.files:
        rows.append(
            [
                Path(f.path).name,
                f.format,
                w("status_accepted") if f.status == "accepted" else w("status_rejected"),
                f.rows,
                f.accepted,
                f.quarantined,
                *[f.flags.get(k, 0) for k in ALL_FLAGS],
                len(f.errors),
                len(f.warnings),
            ]
        )
    total = summary.rows
    rows.append(
        [
            w.pick("合计", "Total"),
            "",
            "",
            total.read,
            total.accepted,
            total.quarantined,
            *[summary.flags.get(k, 0) for k in ALL_FLAGS],
            "",
            "",
        ]
    )
    top = table(
        ws,
        top,
        [
            w("file"),
            w("format"),
            w("status"),
            w("read"),
            w("accepted"),
            w("quarantined"),
            *w.flags(),
            w("errors"),
            w("warnings"),
        ],
        rows,
        widths=[36, 10, 8, 10, 8, 8, *[10] * len(ALL_FLAGS), 8, 8],
        freeze=True,
    )
    top = note(
        ws,
        top,
        w.pick(
            "一份答卷可同时有多个标记；“隔离”按份计数一次。“指标”列为五项粗心作答指标（Curran, 2016），"
            "单项不隔离；奇偶一致性与同义题合计一项，至少两项不同证据同时出现才记为“粗心作答”并隔离。",
            "A response may carry several flags; it counts once as quarantined. The 'Index' columns are five "
            "careless-responding indices (Curran, 2016): none quarantines alone; even–odd and synonyms count as one; "
            "when at least two kinds agree the response is flagged 'careless' and quarantined.",
        ),
    )
    problems = [[Path(f.path).name, w("error"), e] for f in summary.files for e in f.errors]
    problems += [[Path(f.path).name, w("warning"), m] for f in summary.files for m in f.warnings]
    if problems:
        top = note(ws, top + 1, w.pick("问题清单（中文 | English）", "Problems (Chinese | English)"), bold=True)
        table(ws, top, [w("file"), w("type"), w("detail")], problems[:2000])
    page(ws, 13)


def _method_bias_table(ws: Worksheet, top: int, psy: dict, w: Words) -> int:
    """Common-method variance beyond Harman (ULMC, reverse-keyed method factor, marker) and second-order factors."""
    mb, so = psy.get("method_bias") or {}, psy.get("second_order") or {}
    checks = [
        (key, mb[key], label)
        for key, label in (
            ("ulmc", w.pick("全部条目的方法因子（ULMC）", "method factor on all items (ULMC)")),
            ("reverse_method", w.pick("反向题方法因子", "method factor on reverse-keyed items")),
        )
        if isinstance(mb.get(key), dict) and mb[key].get("delta")
    ]
    if not checks and not so and not mb.get("marker"):
        return top
    top = note(ws, top, w.pick("共同方法偏差与二阶因子", "Common-method variance and second-order factors"), bold=True)
    if checks:
        rows = []
        for _, r, label in checks:
            t, m, d = r["trait"], r["method"], r["delta"]
            verdict = {"flagged": ("✗ 提示方法变异", "✗ method variance"), "not_flagged": ("✓", "✓")}.get(
                r.get("verdict"), ("不作判断", "no verdict")
            )
            rows.append(
                [
                    label,
                    t["cfi"],
                    m["cfi"],
                    d["cfi"],
                    d["chi2"],
                    d["df"],
                    d["p"],
                    r.get("method_share"),
                    w.pick(*verdict),
                ]
            )
        top = table(
            ws,
            top,
            [
                w.pick("检验", "Check"),
                "CFI",
                w.pick("加方法因子 CFI", "CFI with method"),
                "ΔCFI",
                "Δχ²",
                "Δdf",
                "p",
                w.pick("方法方差占比", "method share"),
                w.pick("判断", "verdict"),
            ],
            rows,
            formats={1: STAT, 2: STAT, 3: STAT, 4: STAT, 6: P, 7: STAT},
        )
        for _, r, _ in checks:
            top = note(ws, top, w.text(r["note"]))
        if isinstance(mb.get("rule"), dict):
            top = note(ws, top, w.text(mb["rule"]))
    marker = mb.get("marker")
    if isinstance(marker, dict) and marker.get("note"):
        top = note(ws, top, w.text(marker["note"]))
    for r in so.values():
        if isinstance(r, dict) and r.get("note"):
            top = note(ws, top, w.text(r["note"]))
    return top + 1


def _validity_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    psy = summary.psychometrics
    cfa = psy.get("cfa", {})
    cut = cfa.get(
        "cutoffs",
        {
            "cr": (">=", 0.7),
            "ave": (">=", 0.5),
            "cfi": (">=", 0.9),
            "tli": (">=", 0.9),
            "rmsea": ("<=", 0.08),
            "srmr": ("<=", 0.08),
            "htmt": ("<", 0.85),
        },
    )
    top = title(
        ws,
        w("validity"),
        w.pick(
            "α ≥ .70、ω ≥ .70、CR ≥ .70、AVE ≥ .50 为常用标准；✓ 达到，✗ 未达到。",
            "Usual cut-offs: α, ω, CR ≥ .70; AVE ≥ .50. ✓ met, ✗ not met.",
        ),
    )
    rel = cfa.get("reliability", {})
    rows = []
    for s in inst.scales:
        st = summary.scales.get(s.id) or ScaleSummary(n=0, n_items=len(s.items))
        r = rel.get(s.id, {})
        ci = st.alpha_ci or [None, None]
        rows.append(
            [
                w.text(s.name),
                s.id,
                st.n_items,
                st.alpha,
                ci[0],
                ci[1],
                _ok(st.alpha, ">=", 0.7),
                getattr(st, "ordinal_alpha", None),
                st.omega,
                *(getattr(st, "omega_ci", None) or [None, None]),
                r.get("cr"),
                _ok(r.get("cr"), *cut["cr"]),
                r.get("ave"),
                _ok(r.get("ave"), *cut["ave"]),
            ]
        )
    top = table(
        ws,
        top,
        [
            w("scale"),
            w("code"),
            w("items"),
            "α",
            "α 95% CI ↓",
            "α 95% CI ↑",
            "",
            w.pick("有序 α", "ordinal α"),
            "ω",
            "ω 95% CI ↓",
            "ω 95% CI ↑",
            "CR",
            "",
            "AVE",
            "",
        ],
        rows,
        formats={3: STAT, 4: STAT, 5: STAT, 7: STAT, 8: STAT, 9: STAT, 10: STAT, 11: STAT, 13: STAT},
        widths=[24, 26, 8, 9, 11, 11, 4, 9, 9, 11, 11, 9, 4, 9, 4],
        freeze=True,
    )
    top = note(
        ws,
        top,
        w.pick(
            "ω 为 McDonald ω_total（单因子模型、标准化题目、带符号的载荷），95% CI 为百分位 Bootstrap；"
            "有序 α 为多分格相关矩阵上的 α（Zumbo 等, 2007）。",
            "ω is McDonald's ω_total (one factor, standardised items, signed loadings) with a percentile bootstrap "
            "95% CI; ordinal α is α on the polychoric correlations (Zumbo et al., 2007).",
        ),
    )
    for s in inst.scales:
        for warn in getattr(summary.scales.get(s.id), "omega_warnings", None) or []:
            top = note(ws, top, f"{w.text(s.name)}{w.pick('：', ': ')}{w.text(warn)}")
    top = _missing_note(ws, top, psy, w)
    top = _invariance_tables(ws, top, psy, inst, w)
    top = _method_bias_table(ws, top, psy, w)
    if not cfa:
        note(
            ws, top, w.text(psy.get("note")) or w.pick("样本不足，未做因子分析。", "Too few rows for factor analysis.")
        )
        page(ws)
        return
    fit = cfa.get("headline") or cfa["fit"]
    fiml = cfa.get("missing") == "fiml"
    estimator = cfa.get("estimator", "ML")
    how_zh, how_en = {
        "MLR": (
            "稳健最大似然 MLR（Yuan–Bentler 校正 χ²，稳健 CFI/TLI/RMSEA），完整作答",
            "robust ML (MLR: Yuan–Bentler scaled χ², robust CFI/TLI/RMSEA), complete cases",
        ),
        "WLSMV": (
            "WLSMV（题目按有序分类处理：多分格相关上的对角加权最小二乘，均值方差校正 χ²），完整作答",
            "WLSMV (items as ordinal: DWLS on polychoric correlations, mean-and-variance adjusted χ²), complete cases",
        ),
    }.get(
        estimator,
        ("全信息最大似然 FIML，全部有效答卷", "full-information ML, all rows")
        if fiml
        else ("ML，完整作答", "ML, complete cases"),
    )
    top = note(
        ws,
        top,
        w.pick(f"验证性因子分析（{how_zh} n = {fit['n']}）", f"Confirmatory factor analysis ({how_en} n = {fit['n']})"),
        bold=True,
    )
    if psy.get("cfa_estimator_note"):
        top = note(ws, top, w.text(psy["cfa_estimator_note"]))
    ci = fit.get("rmsea_ci") or [None, None]
    rows = [
        ["χ²", fit["chi2"], ""],
        ["df", fit["df"], ""],
        ["p", fit["p"], ""],
        ["CFI", fit["cfi"], _ok(fit["cfi"], *cut["cfi"])],
        ["TLI", fit["tli"], _ok(fit["tli"], *cut["tli"])],
        ["RMSEA", fit["rmsea"], _ok(fit["rmsea"], *cut["rmsea"])],
        ["RMSEA 90% CI ↓", ci[0], ""],
        ["RMSEA 90% CI ↑", ci[1], ""],
        ["SRMR", fit["srmr"], _ok(fit["srmr"], *cut["srmr"])],
    ]
    start = top
    top = table(ws, top, [w.pick("指标", "Index"), w.pick("值", "Value"), ""], rows, formats={1: STAT})
    ws.cell(row=start + 2, column=2).number_format = "0"
    ws.cell(row=start + 3, column=2).number_format = P
    top = (
        note(
            ws,
            top,
            w.pick(
                "RMSEA = √(max(χ² − df, 0) / (df·N))，用 N（与 lavaan 相同，非 N − 1）；"
                "CFI、TLI ≥ .90，RMSEA、SRMR ≤ .08 为可接受。",
                "RMSEA = √(max(χ² − df, 0) / (df·N)) with N as lavaan (not N − 1); CFI, TLI ≥ .90 and "
                "RMSEA, SRMR ≤ .08 are acceptable.",
            ),
        )
        + 1
    )
    kmo, bart, pa, harman = psy.get("kmo"), psy.get("bartlett"), psy.get("parallel_analysis"), psy.get("harman")
    rows = [
        ["KMO", kmo["overall"] if kmo else None, _ok(kmo["overall"], ">=", 0.6) if kmo else ""],
        ["Bartlett χ²", bart["chi2"] if bart else None, ""],
        ["Bartlett df", bart["df"] if bart else None, ""],
        ["Bartlett p", bart["p"] if bart else None, ""],
        [w.pick("平行分析建议因子数", "Factors suggested by parallel analysis"), pa["n_factors"] if pa else None, ""],
        [
            w.pick("Harman 单因子方差占比", "Harman single-factor share"),
            harman["share"] if harman else None,
            ("✗" if harman["flagged"] else "✓") if harman else "",
        ],
    ]
    start = top
    top = table(ws, top, [w.pick("结构检验", "Structure"), w.pick("值", "Value"), ""], rows, formats={1: STAT})
    ws.cell(row=start + 4, column=2).number_format = P
    ws.cell(row=start + 6, column=2).number_format = PCT
    factors = list(cfa.get("htmt", {}))
    names = {s.id: w.text(s.name) for s in inst.scales}
    top = note(
        ws, top, w.pick("HTMT2（< .85 表示区分效度良好）", "HTMT2 (< .85 supports discriminant validity)"), bold=True
    )
    rows = [
        [names.get(a, a), *[cfa["htmt"][a][b] if j < i else None for j, b in enumerate(factors)]]
        for i, a in enumerate(factors)
    ]
    top = table(
        ws, top, ["", *[names.get(f, f) for f in factors]], rows, formats={k: STAT for k in range(1, len(factors) + 1)}
    )
    top = note(
        ws,
        top,
        w.pick(
            "Fornell–Larcker：对角线为 √AVE，下三角为因子相关；对角线应大于同行同列的相关。",
            "Fornell–Larcker: √AVE on the diagonal, factor correlations below; the diagonal should "
            "exceed the correlations in its row and column.",
        ),
        bold=True,
    )
    fl = cfa.get("fornell_larcker", {})
    rows = [
        [names.get(a, a), *[fl[a][b] if j <= i else None for j, b in enumerate(factors)]] for i, a in enumerate(factors)
    ]
    top = table(
        ws, top, ["", *[names.get(f, f) for f in factors]], rows, formats={k: STAT for k in range(1, len(factors) + 1)}
    )
    top = note(
        ws, top, w.pick("题目分析（反向题已反向计分）", "Item analysis (reverse-keyed items reversed)"), bold=True
    )
    texts = {i.id: w.text(i.text) for i in inst.items}
    loading = {(r["factor"], r["item"]): r["std"] for r in cfa.get("loadings", [])}
    # Non-scored answers (不适用 / 不了解) are counted per item, never scored.
    missing_codes: dict[int, str] = {}
    for rs in inst.response_scales.values():
        missing_codes |= rs.missing_options
    rows = []
    for s in inst.first_order_scales:
        scale = summary.scales.get(s.id)
        for item, st in (scale.items if scale else {}).items():
            rows.append(
                [
                    w.text(s.name),
                    item,
                    texts.get(item, ""),
                    st.mean,
                    st.sd,
                    st.item_rest_r,
                    st.alpha_if_deleted,
                    st.skew,
                    st.kurtosis,
                    loading.get((s.id, item)),
                    *[(st.model_extra or {}).get(f"n_code_{c}") for c in missing_codes],
                ]
            )
    table(
        ws,
        top,
        [
            w("scale"),
            w("code"),
            w.pick("题目", "Item"),
            w("mean"),
            w("sd"),
            w.pick("校正题总相关", "Item-rest r"),
            w.pick("删除该题后 α", "α if deleted"),
            w.pick("偏度", "Skew"),
            w.pick("峰度", "Kurtosis"),
            w.pick("标准化载荷", "Std. loading"),
            *[w.pick(f"“{label}”人数", f"n '{label}'") for label in missing_codes.values()],
        ],
        rows,
        formats={3: MEAN, 4: MEAN, 5: STAT, 6: STAT, 7: STAT, 8: STAT, 9: STAT},
    )
    page(ws, 12)


def _missing_note(ws: Worksheet, top: int, psy: dict, w: Words) -> int:
    """How much is missing, whether it looks random (Little's test), and how the analysis kept every row."""
    n_complete, n_answered = psy.get("n_complete"), psy.get("n_answered")
    if n_answered is None or n_complete is None or n_complete == n_answered:
        return top
    little = psy.get("little_mcar") or {}
    test = (
        f"Little MCAR χ²({little['df']}) = {little['statistic']:.2f}, p = {little['p']:.3f}"
        if little.get("statistic") is not None
        else ""
    )
    top = note(
        ws,
        top,
        w.pick(
            f"缺失数据：{n_answered} 份有效答卷中 {n_complete} 份答完全部题目；{test}。",
            f"Missing data: {n_complete} of {n_answered} accepted rows answered every item; {test}.",
        ),
    )
    top = note(
        ws,
        top,
        w.pick(
            "结构检验基于全部答卷的 EM 相关矩阵，验证性因子分析用全信息最大似然（FIML），不删除有缺失的答卷。",
            "Structure statistics use EM correlations of all rows; the CFA is fitted by full-information ML (FIML).",
        ),
    )
    return top + 1


def _invariance_tables(ws: Worksheet, top: int, psy: dict, inst: Instrument, w: Words) -> int:
    """Per grouping variable: each scale's configural fit, the change at the metric and scalar steps, the decision."""
    demo = {d.id: d for d in inst.demographics}
    names = {s.id: w.text(s.name) for s in inst.scales}
    for group, scales in (psy.get("invariance") or {}).items():
        label = w.text(demo[group].label) if group in demo and demo[group].label else group
        top = note(ws, top, w.pick(f"测量不变性：按{label}分组", f"Measurement invariance across {label}"), bold=True)
        rows = []
        for scale_id, r in scales.items():
            conf = r.get("configural") or {}
            metric = (r.get("metric") or {}).get("change") or {}
            scalar = ((r.get("partial_scalar") or r.get("scalar")) or {}).get("change") or {}
            rows.append(
                [
                    names.get(scale_id, scale_id),
                    conf.get("chi2"),
                    conf.get("df"),
                    conf.get("cfi"),
                    conf.get("rmsea"),
                    conf.get("srmr"),
                    metric.get("delta_cfi"),
                    metric.get("delta_rmsea"),
                    metric.get("delta_srmr"),
                    scalar.get("delta_cfi"),
                    scalar.get("delta_rmsea"),
                    scalar.get("delta_srmr"),
                    w.pick(*DECISION_TEXT.get(r.get("decision"), ("", ""))),
                    ", ".join(r.get("freed") or [])
                    or ("—" if not r.get("from_subscales") else w.pick("见各维度", "see dimensions")),
                ]
            )
        headers = [
            w("scale"),
            w.pick("构形 χ²", "Configural χ²"),
            "df",
            "CFI",
            "RMSEA",
            "SRMR",
            w.pick("度量 ΔCFI", "Metric ΔCFI"),
            "ΔRMSEA",
            "ΔSRMR",
            w.pick("标量 ΔCFI", "Scalar ΔCFI"),
            "ΔRMSEA",
            "ΔSRMR",
            w.pick("结论", "Decision"),
            w.pick("释放截距的题目", "Intercepts freed"),
        ]
        top = table(ws, top, headers, rows, formats={k: STAT for k in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11)})
    if psy.get("invariance"):
        top = note(ws, top, w.text(psy.get("invariance_rule") or RULE_TEXT)) + 1
        # The reliability table above leaves narrow tick columns; fit/Δ values need room here.
        for col in "BCDEFGHIJKLMN":
            ws.column_dimensions[col].width = max(ws.column_dimensions[col].width or 0, 10)
    return top


def _descriptives_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(ws, w("descriptives"), w("stars"))
    psy = summary.psychometrics
    desc, corr = psy.get("descriptives", {}), psy.get("correlations", {})
    ids = [s.id for s in inst.scales if s.id in desc]
    names = {s.id: w.text(s.name) for s in inst.scales}
    rows = [[names[i], desc[i]["n"], desc[i]["mean"], desc[i]["sd"], desc[i]["min"], desc[i]["max"]] for i in ids]
    top = table(
        ws,
        top,
        [w("scale"), "n", w("mean"), w("sd"), w.pick("最小值", "Min"), w.pick("最大值", "Max")],
        rows,
        formats={2: MEAN, 3: MEAN, 4: MEAN, 5: MEAN},
        widths=[24],
        freeze=True,
    )
    top = note(
        ws,
        top,
        w.pick(
            "相关矩阵（Pearson r，成对删除；星号依据多重比较校正后的 p，全部相关系数为一个族）",
            "Correlations (Pearson r, pairwise; stars use p adjusted over all correlations as one family)",
        ),
        bold=True,
    )
    header = top
    rows = [
        [f"{k + 1}. {names[a]}", *[corr["r"][a][b] if j < k else (None if j > k else "—") for j, b in enumerate(ids)]]
        for k, a in enumerate(ids)
    ]
    top = table(ws, top, ["", *[str(k + 1) for k in range(len(ids))]], rows)
    for k, a in enumerate(ids):
        for j, b in enumerate(ids[:k]):
            c = ws.cell(row=header + 1 + k, column=2 + j)
            if isinstance(c.value, float):
                # The cell keeps the exact r; the format shows three decimals and the stars.
                p = corr.get("p_adj", corr["p"])[a][b]
                c.number_format = f'0.000"{stars(p)}";-0.000"{stars(p)}"'
    for col in range(2, len(ids) + 2):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 9
    page(ws)


def _model_rows(m: dict, inst: Instrument, w: Words) -> list[list]:
    rows = [
        [
            term_label(term, inst, w),
            term,
            t["b"],
            t["se"],
            t.get("beta"),
            t["p"],
            stars(t["p"]),
            t.get("ci_low"),
            t.get("ci_high"),
            t.get("vif"),
        ]
        for term, t in m.get("terms", {}).items()
    ]
    for b in m.get("blocks", []):
        rows.append(
            [
                f"ΔR²（{b['name']}）" if w.lang == "zh" else f"ΔR² ({b['name']})",
                "",
                b["delta_r2"],
                None,
                None,
                b["p_change"],
                stars(b["p_change"]),
                None,
                None,
                None,
            ]
        )
    rows.append(
        ["R²", "", m.get("r2"), None, None, None, f"n = {m['n']}; {w.se_type(m.get('se_type'))}", None, None, None]
    )
    return rows


def _regression_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(
        ws,
        w.pick("层次回归结果", "Hierarchical regression"),
        w.pick(
            "b 为非标准化系数，SE 为按单位聚类的稳健标准误（少于 40 个单位时为 CR2 与 Satterthwaite 自由度），"
            "β 为标准化系数；",
            "b unstandardised, SE clustered by unit (CR2 with Satterthwaite df below 40 units), β standardised; ",
        )
        + w("stars"),
    )
    names = {s.id: w.text(s.name) for s in inst.scales}
    chart_rows = None
    for model_id, m in summary.models.items():
        if m.get("type", "ols") != "ols":
            continue
        label = w.text(m.get("label")) or model_id
        top = note(
            ws,
            top,
            f"{label}（{w.pick('因变量', 'outcome')}：{names.get(m['outcome'], m['outcome'])}；{model_id}）"
            if w.lang == "zh"
            else f"{label} (outcome: {names.get(m['outcome'], m['outcome'])}; {model_id})",
            bold=True,
        )
        if m.get("estimable") is False:
            top = note(ws, top, not_estimable_text(m, w)) + 1
            continue
        start = top
        top = table(
            ws,
            top,
            [w("variable"), w("code"), "b", "SE", "β", "p", w("sig"), "95% CI ↓", "95% CI ↑", "VIF"],
            _model_rows(m, inst, w),
            formats={2: STAT, 3: STAT, 4: STAT, 5: P, 7: STAT, 8: STAT, 9: "0.00"},
            widths=[30, 34, 10, 10, 10, 10, 28, 10, 10, 8],
        )
        if model_id == summary.layout.coefficient_chart:
            chart_label = label
            chart_rows = [
                (start + 1 + k, t) for k, (term, t) in enumerate(m["terms"].items()) if t.get("term") in names
            ]
        ml = m.get("multilevel")
        if ml:
            if ml["status"] == "fitted":
                top = note(
                    ws,
                    top,
                    w.pick(
                        f"多层模型（随机截距，按单位；ICC = {ml['icc']:.3f}，单位数 {ml['n_groups']}）",
                        f"Multilevel model (random intercept by unit; ICC = {ml['icc']:.3f}, {ml['n_groups']} units)",
                    ),
                    bold=True,
                )
                if ml.get("centring") == "group_mean":
                    top = note(
                        ws,
                        top,
                        w.pick(
                            "组均值中心化：个体层面的预测变量拆分为单位内部分（与本单位均值之差）和单位间部分"
                            "（本单位均值）；情境效应 = 单位间 − 单位内（Enders & Tofighi 2007）。"
                            "t 检验自由度按组间–组内规则：单位层面的效应以单位数计算。",
                            "Group-mean centring: each individual-level predictor is split into its within-unit part "
                            "(deviation from the unit mean) and its between-unit part (the unit mean); contextual = "
                            "between − within (Enders & Tofighi 2007). t tests on between–within df: unit-level "
                            "effects count units, not respondents.",
                        ),
                    )
                rows = [
                    [term_label(t, inst, w), t, v["b"], v["se"], v["p"], stars(v["p"]), v["ci_low"], v["ci_high"]]
                    for t, v in ml["terms"].items()
                ]
                top = table(
                    ws,
                    top,
                    [w("variable"), w("code"), "b", "SE", "p", w("sig"), "95% CI ↓", "95% CI ↑"],
                    rows,
                    formats={2: STAT, 3: STAT, 4: P, 6: STAT, 7: STAT},
                )
            else:
                icc = f"ICC = {ml['icc']:.3f}；" if ml.get("icc") is not None else ""
                top = note(ws, top, icc + w.text(ml["note"])) + 1
    if chart_rows:
        # Helper columns for the error bars (CI half-widths), to the right of the tables.
        col = 13
        ws.cell(row=chart_rows[0][0] - 1, column=col, value=f"{chart_label}{w.pick('：', ': ')}b")
        ws.cell(row=chart_rows[0][0] - 1, column=col + 1, value="+")
        ws.cell(row=chart_rows[0][0] - 1, column=col + 2, value="−")
        for k, (_, t) in enumerate(chart_rows):
            r = chart_rows[0][0] + k
            ws.cell(row=r, column=col - 1, value=names.get(t["term"], t["term"]))
            ws.cell(row=r, column=col, value=t["b"])
            ws.cell(row=r, column=col + 1, value=t["ci_high"] - t["b"])
            ws.cell(row=r, column=col + 2, value=t["b"] - t["ci_low"])
        first, last = chart_rows[0][0], chart_rows[0][0] + len(chart_rows) - 1
        coefficient_chart(
            ws,
            f"A{top + 1}",
            w.pick(f"{chart_label}：系数与 95% 置信区间", f"{chart_label}: b with 95% CI"),
            col - 1,
            col,
            col + 1,
            col + 2,
            first,
            last,
            "b",
        )
        ws.column_dimensions["L"].width = 24
    page(ws, 10)


def _medmod_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(
        ws,
        w("medmod"),
        w.pick(
            "中介：间接效应的百分位 Bootstrap 置信区间（按单位重抽样）；调节：交互项变量已中心化，"
            "简单斜率取调节变量均值 ±1 SD；有调节的中介：条件间接效应与有调节的中介指数。",
            "Mediation: percentile bootstrap CI of the indirect effect (units resampled); "
            "moderation: centred variables, simple slopes at the moderator's mean ± 1 SD; "
            "moderated mediation: conditional indirect effects and the index.",
        ),
    )
    names = {s.id: w.text(s.name) for s in inst.scales}
    charted = False
    for model_id, m in summary.models.items():
        label = w.text(m.get("label")) or model_id
        if m.get("estimable") is False:
            if m.get("type") in ("mediation", "moderated_mediation"):
                top = note(ws, top, f"{label}（{model_id}）", bold=True)
                top = note(ws, top, not_estimable_text(m, w)) + 1
            continue
        if m.get("type") == "mediation":
            top = note(ws, top, f"{label}（{model_id}）", bold=True)
            rows = [
                [_path_label(path, m, names, w), v["b"], v["se"], v["p"], stars(v["p"]), v["ci_low"], v["ci_high"]]
                for path, v in m["paths"].items()
            ]
            for med, v in m["indirect"].items():
                rows.append(
                    [
                        w.pick(f"间接效应（经 {names.get(med, med)}）", f"Indirect via {names.get(med, med)}"),
                        v["effect"],
                        v["se_boot"],
                        None,
                        "",
                        v["ci_low"],
                        v["ci_high"],
                    ]
                )
            top = table(
                ws,
                top,
                [w.pick("路径", "Path"), "b", "SE", "p", w("sig"), "95% CI ↓", "95% CI ↑"],
                rows,
                formats={1: STAT, 2: STAT, 3: P, 5: STAT, 6: STAT},
                widths=[34, 10, 10, 10, 8, 10, 10],
            )
            top = (
                note(
                    ws,
                    top,
                    w.pick(
                        f"Bootstrap {m['n_boot']} 次（种子 {m['seed']}），n = {m['n']}；"
                        "a：自变量→中介，b：中介→因变量，direct：直接效应，total：总效应。",
                        f"{m['n_boot']} bootstrap resamples (seed {m['seed']}), n = {m['n']}; a: X → M, "
                        "b: M → Y, direct and total effects of X.",
                    ),
                )
                + 1
            )
        if m.get("type") == "moderated_mediation":
            top = _moderated_mediation_block(ws, top, model_id, label, m, names, w)
        for term, probe in (m.get("probes") or {}).items():
            top = note(ws, top, f"{label}: {term_label(term, inst, w)}", bold=True)
            rows = [
                [s["at"], s["w"], s["slope"], s["se"], s["p"], stars(s["p"]), s["ci_low"], s["ci_high"]]
                for s in probe["simple_slopes"]
            ]
            top = table(
                ws,
                top,
                [
                    w.pick(
                        f"调节变量（{names.get(probe['moderator'])}）", f"Moderator ({names.get(probe['moderator'])})"
                    ),
                    w.pick("中心化取值", "Centred value"),
                    w.pick("简单斜率", "Simple slope"),
                    "SE",
                    "p",
                    w("sig"),
                    "95% CI ↓",
                    "95% CI ↑",
                ],
                rows,
                formats={1: STAT, 2: STAT, 3: STAT, 4: P, 6: STAT, 7: STAT},
            )
            jn = probe["johnson_neyman"]
            bounds = ", ".join(f"{b:.3f}" for b in jn["bounds"]) or "—"
            inside = ", ".join(f"{b:.3f}" for b in jn.get("bounds_in_range", [])) or w.pick("无", "none")
            where = {
                "outside": ("低于下限或高于上限", "below the lower or above the upper bound"),
                "inside": ("介于两个临界值之间", "between the bounds"),
                "everywhere": ("全部取值", "everywhere"),
                "nowhere": ("无", "nowhere"),
                "one-sided": ("临界值一侧", "on one side of the bound"),
            }
            zone = where.get(jn["significant_where"], (jn["significant_where"],) * 2)
            top = (
                note(
                    ws,
                    top,
                    w.pick(
                        f"Johnson–Neyman 临界值（中心化调节变量）：{bounds}；在观测范围内：{inside}；"
                        f"简单斜率显著的区域：{zone[0]}。",
                        f"Johnson–Neyman bounds (centred moderator): {bounds}; within the observed range: "
                        f"{inside}; the simple slope is significant {zone[1]}.",
                    ),
                )
                + 1
            )
            if not charted and probe.get("plot"):
                head = top
                ws.cell(row=head, column=1, value=w.pick("自变量", "Focal"))
                for j, line in enumerate(probe["plot"]["lines"]):
                    ws.cell(row=head, column=2 + j, value=w.pick(f"调节变量 {line['at']}", f"Moderator {line['at']}"))
                for i, lab in enumerate([w.pick("低（−1 SD）", "low (−1 SD)"), w.pick("高（+1 SD）", "high (+1 SD)")]):
                    ws.cell(row=head + 1 + i, column=1, value=lab)
                    for j, line in enumerate(probe["plot"]["lines"]):
                        ws.cell(row=head + 1 + i, column=2 + j, value=line["y"][i]).number_format = STAT
                for col in "BCD":
                    ws.column_dimensions[col].width = max(ws.column_dimensions[col].width or 0, 16)
                line_chart(
                    ws,
                    f"F{head}",
                    w.pick("简单斜率", "Simple slopes"),
                    1,
                    2,
                    4,
                    head,
                    head + 1,
                    head + 2,
                    names.get(probe["focal"], probe["focal"]),
                    names.get(m["outcome"], m["outcome"]),
                    y_range=(1, 5),
                )
                top = head + 20
                charted = True
    page(ws, 14)


def _moderated_mediation_block(
    ws: Worksheet, top: int, model_id: str, label: str, m: dict, names: dict, w: Words
) -> int:
    """Paths, conditional indirect effects at −1 SD / mean / +1 SD and the index of moderated mediation."""
    x, med, mod, y = (names.get(m[k], m[k]) for k in ("x", "mediator", "moderator", "outcome"))
    top = note(ws, top, f"{label}（{model_id}；PROCESS model {m['model']}）", bold=True)
    path_names = {
        "a": f"a（{x}→{med}）",
        "w": f"{mod}→{med if m['model'] == 7 else y}",
        "a×w": f"a×W（{x}×{mod}→{med}）",
        "b": f"b（{med}→{y}）",
        "b×w": f"b×W（{med}×{mod}→{y}）",
        "direct": w.pick(f"直接效应 c′（{x}→{y}）", f"Direct effect c′ ({x} → {y})"),
    }
    rows = [
        [path_names.get(p, p), v["b"], v["se"], v["p"], stars(v["p"]), v["ci_low"], v["ci_high"]]
        for p, v in m["paths"].items()
    ]
    for c in m["conditional_indirect"]:
        rows.append(
            [
                w.pick(
                    f"条件间接效应（{mod} {c['at']} = {c['w']:.2f}）",
                    f"Conditional indirect effect ({mod} {c['at']} = {c['w']:.2f})",
                ),
                c["effect"],
                c["se_boot"],
                None,
                "",
                c["ci_low"],
                c["ci_high"],
            ]
        )
    imm = m["index_of_moderated_mediation"]
    rows.append(
        [
            w.pick("有调节的中介指数", "Index of moderated mediation"),
            imm["estimate"],
            imm["se_boot"],
            None,
            "",
            imm["ci_low"],
            imm["ci_high"],
        ]
    )
    top = table(
        ws,
        top,
        [w.pick("路径", "Path"), "b", "SE", "p", w("sig"), "95% CI ↓", "95% CI ↑"],
        rows,
        formats={1: STAT, 2: STAT, 3: P, 5: STAT, 6: STAT},
        widths=[34, 10, 10, 10, 8, 10, 10],
    )
    units = (
        w.pick(f"按单位重抽样（{m['n_clusters']} 个单位）", f"whole units resampled ({m['n_clusters']} units)")
        if m.get("resampling") == "units"
        else w.pick("按答卷重抽样", "rows resampled")
    )
    return (
        note(
            ws,
            top,
            w.pick(
                f"百分位 Bootstrap {m['n_boot']} 次（种子 {m['seed']}，{units}），n = {m['n']}；"
                "指数的 95% 置信区间不含 0 表示间接效应随调节变量变化（Hayes, 2015）。",
                f"{m['n_boot']} percentile bootstrap resamples (seed {m['seed']}, {units}), n = {m['n']}; "
                "an index whose 95% CI excludes 0 means the indirect effect depends on the moderator "
                "(Hayes, 2015).",
            ),
        )
        + 1
    )


def _path_label(path: str, m: dict, names: dict, w: Words) -> str:
    x, y = names.get(m["x"], m["x"]), names.get(m["outcome"], m["outcome"])
    if path == "direct":
        return w.pick(f"直接效应 c′（{x}→{y}）", f"Direct effect c′ ({x} → {y})")
    if path == "total":
        return w.pick(f"总效应 c（{x}→{y}）", f"Total effect c ({x} → {y})")
    kind, med = path[0], names.get(path[2:-1], path[2:-1])
    return f"a（{x}→{med}）" if kind == "a" else f"b（{med}→{y}）"


def _agreement_table(ws: Worksheet, top: int, agreement: dict, names: dict, w: Words) -> int:
    """ICC(1), ICC(2) and r_wg(j) of the scales about the unit: whether their unit means may be compared."""
    if not agreement:
        return top
    top = note(
        ws,
        top,
        w.pick(
            "单位层面构念（题目问“我们单位……”）：ICC(1)、ICC(2) 与 r_wg(j)，判断单位均值是否有意义",
            "Constructs about the unit (items on 'our unit'): ICC(1), ICC(2) and r_wg(j) — are unit means meaningful?",
        ),
        bold=True,
    )
    rows = [
        [
            names.get(sid, sid),
            a.get("icc1"),
            a.get("icc2"),
            a.get("rwg_mean"),
            a.get("rwg_median"),
            a.get("rwg_share_ok"),
            a.get("n_units"),
        ]
        if a.get("estimable", True)
        else [names.get(sid, sid), w.text(a.get("reason")), None, None, None, None, None]
        for sid, a in agreement.items()
    ]
    top = table(
        ws,
        top,
        [
            w("scale"),
            "ICC(1)",
            "ICC(2)",
            "r_wg(j) M",
            "r_wg(j) Mdn",
            w.pick("r_wg(j) ≥ .70 的单位", "Units r_wg(j) ≥ .70"),
            w.pick("单位数", "Units"),
        ],
        rows,
        formats={1: STAT, 2: STAT, 3: STAT, 4: STAT, 5: PCT},
    )
    top = note(
        ws,
        top,
        w.pick(
            "ICC(2) ≥ .70 表示单位均值可靠；"
            "r_wg(j) ≥ .70 表示单位内看法一致（Bliese, 2000；LeBreton & Senter, 2008）。不满足时不宜按单位排名。",
            "ICC(2) ≥ .70: reliable unit means; r_wg(j) ≥ .70: agreement within the unit (Bliese, 2000; LeBreton & "
            "Senter, 2008). Below these, do not rank units.",
        ),
    )
    return top + 1


def _units_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(
        ws,
        w("units"),
        w.pick(
            "各单位量表均值；有效答卷少于 5 份的单位不显示数值，以保护个人信息。",
            "Scale means per unit; units with fewer than 5 accepted responses are suppressed to protect respondents.",
        ),
    )
    units = summary["units"]
    names = {s.id: w.text(s.name) for s in inst.scales}
    top = _agreement_table(ws, top, summary.psychometrics.get("unit_agreement") or {}, names, w)
    scales = list(next((u["means"] for u in units if u["means"]), {}) or [])
    rows = [
        [
            u["unit"],
            u.get("level"),
            u["n"],
            *([u["means"][s] for s in scales] if u["means"] else [w("suppressed")] + [None] * (len(scales) - 1)),
        ]
        for u in units
    ]
    start = top
    top = table(
        ws,
        top,
        [w("unit"), w("unit_level"), "n", *[names.get(s, s) for s in scales]],
        rows,
        formats={k: MEAN for k in range(3, 3 + len(scales))},
        widths=[18, 12, 6, *[11] * len(scales)],
        freeze=True,
    )
    shown = [u for u in units if u["means"]]
    if shown and scales:
        # Units are sorted by the first scale, highest first: the chart shows the top of that list.
        k = min(len(shown), CHART_UNITS)
        label = (
            w.pick(f"各单位{names.get(scales[0])}均值", f"{names.get(scales[0])} by unit")
            if k == len(shown)
            else w.pick(
                f"{names.get(scales[0])}均值最高的 {k} 个单位", f"{k} units with the highest {names.get(scales[0])}"
            )
        )
        bar_chart(ws, f"B{top + 1}", label, 1, 4, start + 1, start + k, w("mean"), y_range=(1, 5))
        top += 20
    comps = summary.psychometrics.get("group_comparisons", [])
    if comps:
        demo = {d.id: w.text(d.label) if d.label else d.id for d in inst.demographics}
        top = note(
            ws,
            top,
            w.pick(
                "组间比较（个人属性用 Welch 检验；单位属性如层级用按单位聚类稳健的 Wald 检验，CR2/HTZ；"
                "效应量：两组为 Hedges g，多组为 η²）",
                "Group comparisons (Welch tests for attributes of the person; cluster-robust Wald tests by unit, "
                "CR2/HTZ, for attributes of the unit such as level; effect size Hedges' g for two groups, η² for more)",
            ),
            bold=True,
        )
        rows = [
            [
                names.get(c["outcome"], c["outcome"]),
                demo.get(c["by"], c["by"]),
                c["test"],
                c["statistic"],
                c["df1"],
                c["df2"],
                c["p"],
                c.get("p_adj"),
                stars(c.get("p_adj")),
                c["effect_size"],
                _ci_text(c.get("eta2_ci")),
                "; ".join(f"{g['group']}: {g['mean']:.2f} (n={g['n']})" for g in c["groups"]),
            ]
            for c in comps
        ]
        table(
            ws,
            top,
            [
                w("scale"),
                w.pick("分组", "By"),
                w.pick("检验", "Test"),
                w.pick("统计量", "Statistic"),
                "df1",
                "df2",
                "p",
                w.pick("校正 p（Holm）", "Adjusted p (Holm)")
                if _holm(comps)
                else w.pick("校正 p（BH）", "Adjusted p (BH)"),
                w("sig"),
                w.pick("效应量", "Effect size"),
                w.pick("η² 95% CI", "η² 95% CI"),
                w.pick("各组均值", "Group means"),
            ],
            rows,
            formats={3: STAT, 4: "0.0", 5: "0.0", 6: P, 7: P, 9: STAT},
        )
        top += len(rows) + 2
        posthoc = [
            f"{names.get(c['outcome'], c['outcome'])} × {demo.get(c['by'], c['by'])}{w.pick('：', ': ')}"
            + w.pick("；", "; ").join(
                f"{r['group1']} − {r['group2']} = {r['diff']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}], "
                f"p = {r['p']:.3f}"
                for r in c["posthoc"]
            )
            for c in comps
            if c.get("posthoc") and c.get("p_adj") is not None and c["p_adj"] < 0.05
        ]
        if posthoc:
            top = note(
                ws,
                top,
                w.pick(
                    "事后比较（Games–Howell，Welch 方差分析显著时；差值为前组减后组，95% CI）：",
                    "Post hoc comparisons (Games–Howell, where Welch's ANOVA is significant; difference = first minus "
                    "second group, 95% CI):",
                ),
            )
            for line in posthoc:
                top = note(ws, top, line)
        top = note(
            ws,
            top,
            w.pick(
                "组间比较为探索性分析：p 值按全部组间比较作为一个族进行多重比较校正，显著性星号依据校正后的 p。",
                "Group comparisons are exploratory: p-values are adjusted over all comparisons as one family; "
                "the stars use the adjusted p.",
            ),
        )
    page(ws)


def _ci_text(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci and None not in ci else ""


def _holm(comps: list[dict]) -> bool:
    return all(c.get("p_adj_method", "holm") == "holm" for c in comps)


def _open_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(
        ws,
        w("open"),
        w.pick(
            "原文照录（个人信息已在入库前遮蔽）；以文本形式写入，不会被当作公式执行。",
            "Verbatim (personal data masked before storage); written as text, never as formulas.",
        ),
    )
    questions = {q.id: w.text(q.text) for q in inst.open_questions}
    for entry in summary["open_answers"]:
        top = note(ws, top, f"{questions.get(entry['id'], entry['id'])}（n = {entry['n']}）", bold=True)
        top = table(
            ws,
            top,
            ["#", w.pick("回答", "Answer")],
            [[k + 1, a] for k, a in enumerate(entry["answers"])],
            widths=[6, 100],
        )
    page(ws, 2)


def _waves_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    waves = summary.waves
    top = title(
        ws,
        w("waves"),
        w.pick(
            f"本轮 {waves['current']} 与此前各轮的量表均值与 95% 置信区间；变化为本轮减上一轮："
            "两轮都作答的干部（按身份证号等的加密散列匹配）配对比较，其余按独立样本（部分重叠样本 t 检验，"
            "Derrick 等 2017；无人匹配时即 Welch 检验）。",
            f"Wave {waves['current']} against earlier waves: means with 95% CIs; change = this wave minus the "
            "previous one, pairing cadres who answered both waves (matched by a keyed hash of their ID) and "
            "treating the rest as independent (partially overlapping samples t-test, Derrick et al. 2017; "
            "Welch's test when no one is matched).",
        ),
    )
    names = {s.id: w.text(s.name) for s in inst.scales}
    older = waves.get("versions") or {}
    headers = [w("scale")]
    for wave in waves["waves"]:
        label = f"{wave} (v{older[wave]['version']})" if wave in older else wave
        headers += [f"{label} n", f"{label} {w('mean')}", f"{label} CI ↓", f"{label} CI ↑"]
    headers += [w.pick("变化", "Change"), "CI ↓", "CI ↑", "p", w("sig"), w.pick("测量不变性", "Invariance")]
    headers += [w.pick("匹配人数", "Matched")]
    rows, withheld = [], []
    for s in waves["scales"]:
        name = names.get(s["scale"], s["scale"])
        row = [name]
        for wave in waves["waves"]:
            v = s["waves"][wave]
            row += [v["n"], v["mean"], v["ci_low"], v["ci_high"]]
        ch = s.get("change") or {}
        decision = s.get("invariance")
        row += [ch.get("diff"), ch.get("ci_low"), ch.get("ci_high"), ch.get("p"), stars(ch.get("p"))]
        row.append(w.pick(*DECISION_TEXT[decision]) if decision in DECISION_TEXT else "")
        row.append(ch.get("n_linked"))
        rows.append(row)
        if s.get("withheld"):
            withheld.append(f"{name}：{s['withheld']['zh']}" if w.lang == "zh" else f"{name}: {s['withheld']['en']}")
    k = len(waves["waves"])
    formats = {1 + 4 * j + o: MEAN for j in range(k) for o in (1, 2, 3)}
    formats |= {1 + 4 * k: STAT, 2 + 4 * k: STAT, 3 + 4 * k: STAT, 4 + 4 * k: P}
    top = table(ws, top, headers, rows, formats=formats, widths=[24], freeze=True)
    top = note(
        ws,
        top,
        w.pick(
            "只有在两轮之间至少达到部分标量不变（多组验证性因子分析，Chen 2007 判定规则）的量表才比较均值变化。",
            "A change in means is shown only for scales with at least partial scalar invariance across the two "
            "waves (multi-group CFA, Chen 2007 rule).",
        ),
    )
    for wave, v in older.items():
        top = note(
            ws,
            top,
            w.pick(
                f"{wave} 轮使用问卷 {v['version']} 版：只显示和比较题目与本版完全相同的量表"
                f"（{'、'.join(names.get(x, x) for x in v['scales']) or '无'}）。",
                f"Wave {wave} used questionnaire version {v['version']}: only scales whose items are identical to "
                f"this version are shown and compared ({', '.join(names.get(x, x) for x in v['scales']) or 'none'}).",
            ),
        )
    for line in withheld:
        top = note(ws, top, line)
    page(ws)


def _methods_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    top = title(ws, w("methods"))
    lines = w.pick(
        [
            "计分：反向题按 最小值 + 最大值 − 原始分 计分；量表得分为已答题目的均值，至少答满 75% 的题目；"
            "复合量表（如有）为其各维度得分的均值。",
            "数据质量：作答过快、直线作答、注意力题未通过、作答不完整、重复提交的答卷被隔离，"
            "保留在数据库中但不参与任何统计。",
            "信度：Cronbach α（Feldt 95% 置信区间）；有序 α（多分格相关矩阵上的 α，题目按有序分类处理，"
            "Zumbo 等 2007）；McDonald ω_total（单因子 ML 模型）；题目分析为校正题总相关与删除该题后的 α。",
            "结构：KMO 与 Bartlett 球形检验；Horn 平行分析（95 百分位）决定探索性因子数；"
            "探索性因子分析为 minres 提取、oblimin 斜交旋转。",
            "验证性因子分析：最大似然估计；有缺失答案时用全信息最大似然（FIML，Enders, 2010），"
            "保留全部有效答卷，探索性分析基于 EM 相关矩阵；χ² = N·F_ML，RMSEA 使用 N（与 lavaan 相同）；"
            "CR 与 AVE 由标准化载荷计算；区分效度用 Fornell–Larcker 与 HTMT2。",
            "共同方法偏差：Harman 单因子检验（第一个未旋转主成分的方差占比，> 50% 提示风险，Podsakoff et al., 2003）。"
            "该检验只是弱证据、最低要求。另做：负荷于全部条目的不可测潜在方法因子（ULMC，Podsakoff et al., 2003；"
            "ΔCFI > 0.010 或方法方差占比 > 25% 提示方法变异）、反向题方法因子、以印象管理量表为标记变量的相关校正"
            "（Lindell & Whitney, 2001）；复合量表另以二阶因子模型检验（目标系数，Marsh & Hocevar, 1985）。",
            "测量不变性：每个量表按计划中的分组（默认层级、是否领导）与相邻两轮之间做多组验证性因子分析，"
            "依次检验形态、度量（载荷等值）、标量（截距等值）不变性，按 Chen (2007) 的拟合变化规则判定；"
            "标量不成立时依分数检验逐个释放截距（每个因子至多三分之一的题目）。"
            "只有达到（部分）标量不变的量表才比较均值。",
            "单位层面构念：题目问“我们单位……”的量表报告 ICC(1)、ICC(2)（Bliese, 2000）"
            "与 r_wg(j)（James, Demaree & Wolf, 1984），在按单位汇总或排名之前判断单位均值是否可靠、"
            "单位内看法是否一致。",
            "粗心作答：除作答过快、直线作答、注意力题外，计算五项指标（最长连续相同、个体内变异、马氏距离、"
            "奇偶一致性、同义题一致性；Curran, 2016）；奇偶一致性与同义题同属一致性证据，合计一项；"
            "至少两项不同证据同时出现才隔离。",
            "回归：分层 OLS，逐块报告 R² 与 ΔR²；只要有 2 个以上单位，标准误即按单位聚类："
            "少于 40 个单位时用 CR2（Bell & McCaffrey, 2002）与 Satterthwaite 自由度（Pustejovsky & Tipton, 2018），"
            "40 个及以上用 CR1（自由度 G − 1）；ΔR² 的检验为聚类稳健 Wald 检验（CR2 时为 HTZ 检验，"
            "Pustejovsky & Tipton, 2018；CR1 时为 F(q, G − 1)）；只有 1 个单位时用 HC3。β 为标准化系数，"
            "虚拟变量不报告 β。",
            "多层模型：按单位的随机截距模型（REML）与 ICC；估计落在边界或不收敛时回退到聚类稳健 OLS，并注明原因。"
            "分析计划要求组均值中心化时，个体层面的预测变量拆分为单位内与单位间效应并给出情境效应（Enders & Tofighi, "
            "2007）；系数用 t 检验，自由度按组间–组内规则（单位层面效应以单位数计）。",
            "波次对比：两轮都作答的干部（按身份证号等的加密散列匹配）配对比较，其余按独立样本，即部分重叠样本 t 检验"
            "（Derrick 等, 2017）；不同问卷版本之间只比较题目完全相同（same_as）的量表。",
            "调节：交互项由中心化变量相乘；简单斜率取调节变量均值 ±1 SD；"
            "Johnson–Neyman 区间给出效应显著的调节变量取值范围。",
            "中介：路径为 OLS 估计；间接效应 a·b 的置信区间为 5000 次百分位 Bootstrap（固定随机种子，可重复），"
            "按单位整体重抽样（聚类 Bootstrap），以反映同一单位答卷之间的相关。",
            "有调节的中介（Hayes PROCESS 模型 7/14）：调节变量均值 ±1 SD 处的条件间接效应，"
            "以及有调节的中介指数（Hayes, 2015）及其 Bootstrap 置信区间。",
            "组间比较：两组为 Welch t 检验（Hedges g），多组为 Welch 方差分析（η²）；分组变量是单位属性（如层级，"
            "同一单位的人取值相同）时，答卷不是独立重复，改用按单位聚类稳健的 Wald 检验（CR2 与 HTZ 检验，"
            "Pustejovsky & Tipton, 2018）。",
            "隐私：姓名、身份证号、手机号、电子邮箱与 IP 地址在入库前删除；开放回答中的此类信息被遮蔽；"
            "少于 5 人的单位不报告数值。",
            "数值格式：统计量保留三位小数，p < .001 写作 “< .001”；* p < .05，** p < .01，*** p < .001。",
            "局限：横断面自评数据，所有关系均为相关关系。",
        ],
        [
            "Scoring: reverse-keyed items scored min + max − x; a scale score is the mean of answered items with at "
            "least 75% answered; a composite scale (if any) is the mean of its dimensions.",
            "Data quality: speeders, straight-liners, failed attention checks, incomplete responses and duplicates "
            "are quarantined: kept in the store, left out of every statistic.",
            "Reliability: Cronbach's α (Feldt 95% CI); ordinal α (α on the polychoric correlations, Zumbo et al. "
            "2007); McDonald's ω_total (one-factor ML); item-rest correlations and α if an item is deleted.",
            "Structure: KMO and Bartlett's test; Horn's parallel analysis (95th percentile) for the number of EFA "
            "factors; EFA with minres extraction and oblimin rotation.",
            "CFA: maximum likelihood; with missing answers full-information ML (FIML; Enders, 2010) on every "
            "accepted row, and the exploratory statistics on EM correlations; χ² = N·F_ML and RMSEA with N (as "
            "lavaan); CR and AVE from "
            "standardised loadings; discriminant validity by Fornell–Larcker and HTMT2.",
            "Common-method variance: Harman's single-factor test (share of the first unrotated component; > 50% flags "
            "a risk; Podsakoff et al., 2003). The test is weak evidence, a minimum check only. Also: an unmeasured "
            "latent method factor on every item (ULMC; ΔCFI > .010 or a method share > 25% flags method variance), a "
            "method factor on the reverse-keyed items, the marker-variable adjustment with the impression-management "
            "scale (Lindell & Whitney, 2001); composites as second-order factors (target coefficient, Marsh & Hocevar, "
            "1985).",
            "Measurement invariance: each scale by multi-group CFA across the plan's groups (default level, leader) "
            "and "
            "across consecutive waves — configural, metric (equal loadings), scalar (equal intercepts) — judged by "
            "Chen's (2007) change-in-fit rule; when scalar fails, intercepts are freed one at a time by score test (at "
            "most a third of a factor's items). Means are compared only at (partial) scalar invariance.",
            "Constructs about the unit ('our unit ...'): ICC(1), ICC(2) (Bliese, 2000) and r_wg(j) (James, Demaree & "
            "Wolf, 1984) before unit means are aggregated or ranked.",
            "Careless responding: besides speeders, straight-lining and attention checks, five indices (long string, "
            "IRV, Mahalanobis D², even–odd consistency, psychometric synonyms; Curran, 2016); even–odd and synonyms "
            "are one kind of evidence (consistency) and count once; a response is quarantined only when at least two "
            "kinds agree.",
            "Regression: hierarchical OLS with R² and ΔR² per block; with 2 or more units SEs are clustered by unit: "
            "CR2 (Bell & McCaffrey, 2002) with Satterthwaite df (Pustejovsky & Tipton, 2018) below 40 units, "
            "CR1 (G − 1 df) from 40 on; ΔR² is tested by a cluster-robust Wald test (HTZ with CR2, "
            "Pustejovsky & Tipton, 2018; F(q, G − 1) with CR1); HC3 with a single unit. β standardised, not reported "
            "for dummies.",
            "Multilevel: random intercept by unit (REML) with the ICC; on a boundary estimate or non-convergence the "
            "cluster-robust OLS stands, with the reason stated. With group-mean centring in the plan, individual-level "
            "predictors are split into within- and between-unit effects plus the contextual effect (Enders & Tofighi, "
            "2007); t tests on between–within df (unit-level effects count units).",
            "Wave comparison: cadres who answered both waves (matched by a keyed hash of their ID) are paired, the "
            "rest independent: the partially overlapping samples t-test (Derrick et al., 2017); across questionnaire "
            "versions only scales whose items are identical (same_as) are compared.",
            "Moderation: centred products; simple slopes at the moderator's mean ± 1 SD; the Johnson–Neyman interval.",
            "Mediation: OLS paths; a percentile bootstrap CI of a·b with 5,000 seeded resamples of whole units "
            "(cluster bootstrap), since respondents of one unit are not independent.",
            "Moderated mediation (Hayes' PROCESS models 7/14): conditional indirect effects at the moderator's mean ± "
            "1 SD and the index of moderated mediation (Hayes, 2015) with its bootstrap CI.",
            "Group comparisons: Welch's t (Hedges' g) for two groups, Welch's ANOVA (η²) for more; when the grouping "
            "is an attribute of the unit (e.g. level: the same for everyone in a unit) respondents are not independent "
            "replications, and a cluster-robust Wald test by unit is used (CR2 with the HTZ test; Pustejovsky & "
            "Tipton, 2018).",
            "Privacy: names, ID, phone numbers, e-mail and IP addresses are removed before storage and masked in open "
            "answers; units with fewer than 5 respondents are not reported.",
            "Number formats: three decimals for statistics; p < .001 written as such; "
            "* p < .05, ** p < .01, *** p < .001.",
            "Limits: cross-sectional self-reports; every relation is an association.",
        ],
    )
    for line in lines:
        c = ws.cell(row=top, column=1, value=line)
        c.font = Font(name=FONT)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[top].height = 32
        top += 1
    ws.column_dimensions["A"].width = 140
    top = note(ws, top + 1, w.pick("输入文件（SHA-256）", "Input files (SHA-256)"), bold=True)
    top = table(ws, top, [w("file"), "SHA-256"], [[Path(f.path).name, f.sha256] for f in summary.files])
    if summary.provenance is not None:
        _provenance_block(ws, top + 1, summary.provenance, w)
    page(ws, 2)


def _provenance_block(ws: Worksheet, top: int, prov: Provenance, w: Words) -> int:
    """The case flow (table and chart) and everything needed to re-run the analysis."""
    top = note(
        ws,
        top,
        w.pick("个案流向（每份答卷可有多个标记）", "Case flow (a response may carry several flags)"),
        bold=True,
    )
    flow = [[step["label_zh"] if w.lang == "zh" else step["label_en"], step["n"]] for step in prov.case_flow]
    first = top + 1
    top = table(ws, top, [w.pick("步骤", "Step"), w.pick("数量", "Count")], flow)
    if flow:
        chart = bar_chart(
            ws, f"C{first}", w.pick("个案流向", "Case flow"), 1, 2, first, first + len(flow) - 1, w("count"), True
        )
        chart.x_axis.scaling.orientation = "maxMin"  # read top-down, in the order the cases flowed
        top = max(top, first + 16)
    top = note(
        ws, top + 1, w.pick("可重复性：软件、输入与设定", "Reproducibility: software, inputs and settings"), bold=True
    )
    rows = [
        ["jianfu", prov.jianfu.get("version")],
        ["git commit", prov.jianfu.get("commit") or w.pick("（非 git 检出）", "(not a git checkout)")],
        ["Python", prov.python],
        *[[name, version] for name, version in prov.packages.items() if version],
        [w.pick("问卷 YAML（SHA-256）", "Instrument YAML (SHA-256)"), prov.instrument.get("sha256")],
        [w.pick("分析计划 YAML（SHA-256）", "Analysis plan YAML (SHA-256)"), prov.plan.get("sha256")],
        *[[w.pick(f"随机种子：{k}", f"seed: {k}"), v] for k, v in prov.seeds.items()],
        *[[w.pick(f"阈值：{k}", f"threshold: {k}"), _setting(v)] for k, v in prov.thresholds.items()],
    ]
    return table(ws, top, [w.pick("项目", "Setting"), w.pick("值", "Value")], rows)


def _setting(value: object) -> object:
    """A threshold as one cell: lists and mappings as text, numbers and text as they are."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _codebook_sheet(ws: Worksheet, inst: Instrument, w: Words) -> None:
    top = title(ws, w.pick("附录：编码表", "Appendix: codebook"), f"{inst.id} v{inst.version}")
    rows = []
    for s in inst.first_order_scales:
        labels = "; ".join(f"{k}={v}" for k, v in inst.response_scales[s.response_scale].labels.items())
        for item in s.items:
            rows.append(
                [w.text(s.name), item.id, w.text(item.text), w.pick("是", "yes") if item.reverse else "", labels]
            )
    top = table(
        ws,
        top,
        [w("scale"), w("code"), w.pick("题目", "Item"), w.pick("反向", "Reverse"), w.pick("选项", "Options")],
        rows,
        widths=[22, 8, 80, 8, 60],
        freeze=True,
    )
    rows = [
        [w.text(d.label) if d.label else d.id, d.id, w.text(d.text), "", "; ".join(d.options or [])]
        for d in inst.demographics
    ]
    table(
        ws,
        top,
        [w.pick("背景变量", "Background"), w("code"), w.pick("题目", "Question"), "", w.pick("选项", "Options")],
        rows,
    )
    page(ws, 5)


def write_report(summary: RunSummary, inst: Instrument, path: str | Path, lang: str = "zh") -> Path:
    """Write the workbook for one run and return its path."""
    w = Words(lang)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    # Every cell's default font renders Chinese; only headers and titles carry their own. (openpyxl
    # has no public setter for the default font: font 0 and the Normal style are replaced.)
    wb._fonts = IndexedList([Font(name=FONT, size=11)])
    wb._named_styles["Normal"].font = Font(name=FONT, size=11)
    ws = wb.active
    ws.title = w("summary")
    _summary_sheet(ws, summary, inst, w)
    _sample_sheet(wb.create_sheet(w("sample")), summary, inst, w)
    _quality_sheet(wb.create_sheet(w("quality")), summary, w)
    _validity_sheet(wb.create_sheet(w("validity")), summary, inst, w)
    _descriptives_sheet(wb.create_sheet(w("descriptives")), summary, inst, w)
    _regression_sheet(wb.create_sheet(w("regression")), summary, inst, w)
    _medmod_sheet(wb.create_sheet(w("medmod")), summary, inst, w)
    sensitivity_sheet(wb.create_sheet(w("sensitivity")), summary, inst, w)
    _units_sheet(wb.create_sheet(w("units")), summary, inst, w)
    _open_sheet(wb.create_sheet(w("open")), summary, inst, w)
    if summary.waves:
        _waves_sheet(wb.create_sheet(w("waves")), summary, inst, w)
    _methods_sheet(wb.create_sheet(w("methods")), summary, inst, w)
    _codebook_sheet(wb.create_sheet(w("codebook")), inst, w)

    wb.properties.title = f"{w.text(inst.title)} — {w.pick('分析报告', 'analysis report')}"
    wb.properties.subject = f"{inst.id} v{inst.version}; wave {summary.wave}"
    wb.properties.keywords = ",".join(f.sha256 for f in summary.files if f.sha256)
    wb.properties.description = f"jianfu report; instrument {inst.id} v{inst.version}; generated {summary.generated_at}"
    wb.properties.creator = "jianfu"
    wb.properties.language = "zh-CN" if lang == "zh" else "en"
    wb.properties.created = datetime.now()
    wb.save(path)
    return path
