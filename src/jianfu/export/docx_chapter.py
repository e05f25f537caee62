"""The Word results chapter: the findings of a run and the tables a paper needs, as three-line tables.

:func:`write_results_chapter` turns the run summary — the mapping ``jianfu run --json`` prints — into
a ``.docx`` a researcher can paste into a paper or a 调研报告:

1. the findings: every pre-declared hypothesis with its estimate, 95% CI and sentence, whether
   supported or not (exploratory entries labelled), and a table of them;
2. the sample profile;
3. reliability and validity (α, ω, CR, AVE, the largest HTMT) and the CFA fit;
4. descriptives, and the means, SDs and correlations of the variables in the models;
5. each (hierarchical) regression: coefficients of the final model, R², ΔR² per block;
6. mediation, moderation (simple slopes, Johnson–Neyman) and moderated mediation;
7. measurement invariance, when the summary carries it (``psychometrics.invariance``);
8. group comparisons (exploratory, adjusted *p*);
9. an appendix with the reproducibility record (``provenance``: versions, SHA-256 of the inputs,
   seeds, thresholds and the case flow), when the summary carries it.

A section without results (no moderation model, say) is left out and the others renumbered. Every
table follows CY/T 170—2019 (three rules, title above, notes below; see
:mod:`jianfu.export.docx_tables`); a table too wide for a portrait page gets a landscape page. The
``journal`` profile sets the number style — ``apa`` drops the leading zero of *p*, *r*, *β* and
the other statistics bounded by 1, ``cn`` keeps it — and ``spssau`` adds a 分析建议 paragraph under
each table that reads the table in plain words. The findings' sentences, written by the analysis
plan in APA style, are brought into the profile's number style by :func:`journal_text`.

Labels (scale and demographic names) come from the instrument named in ``summary["instrument"]``,
found by id and version among the instruments unless it is given; without it the chapter uses the
ids. Nothing personal is written: the summary holds no personal data, units appear only as a
count, and input files by their base name.

References
----------
CY/T 170—2019 学术出版规范 表格. 国家新闻出版署, 2019.
American Psychological Association (2020). *Publication Manual* (7th ed.), sections 6.36, 6.44–6.46.
Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance.
*Structural Equation Modeling*, 14(3), 464–504.
Hayes, A. F. (2015). An index and test of linear moderated mediation. *Multivariate Behavioral
Research*, 50(1), 1–22.
West, S. G., Finch, J. F., & Curran, P. J. (1995). Structural equation models with nonnormal
variables. In R. H. Hoyle (Ed.), *Structural equation modeling* (pp. 56–75). Sage.

Examples
--------
>>> journal_text("b = −0.103，β = −0.13，95% CI [−0.174, −0.032]，p = .007", "cn")
'b = −0.103，β = −0.13，95% CI [−0.174, −0.032]，p = 0.007'
>>> journal_text("β = −0.13, r = 0.45, p < .001", "apa")
'β = −.13, r = .45, p < .001'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from jianfu import paths
from jianfu.errors import InstrumentError
from jianfu.export.docx_tables import (
    LATIN_FONT,
    PROFILES,
    Column,
    Profile,
    add_text,
    add_three_line_table,
    format_ci,
    format_stat,
    natural_width,
    new_section,
    set_style_fonts,
    stars,
    stars_note,
    text_width,
    use_chinese_fonts,
)
from jianfu.instrument import Instrument, load_instrument
from jianfu.report.text import Words, term_label

__all__ = ["write_results_chapter", "journal_text", "find_instrument"]

HEADING_FONT = "黑体"
#: Verdicts of a hypothesis test, short enough for a table cell (zh, en).
_VERDICT = {
    "consistent": ("与预设一致", "consistent"),
    "opposite": ("方向相反", "opposite"),
    "not_supported": ("未获支持", "not supported"),
    "associated": ("相关显著", "associated"),
    "not_estimable": ("无法估计", "not estimable"),
}
_EXPECT = {"positive": ("正", "positive"), "negative": ("负", "negative")}
#: Block names the analysis plans use, in words; other names are shown as the plan writes them.
_BLOCKS = {
    "controls": ("控制变量", "controls"),
    "main effects": ("主效应", "main effects"),
    "interaction": ("交互项", "interaction"),
}
_STEPS = {
    "configural": ("构型等值", "Configural"),
    "metric": ("单位（载荷）等值", "Metric"),
    "scalar": ("尺度（截距）等值", "Scalar"),
    "partial_scalar": ("部分尺度等值", "Partial scalar"),
    "strict": ("严格（残差）等值", "Strict"),
}
_DECISIONS = {
    "configural": (
        "仅构型等值成立：各组的因子结构相同，但载荷不等，不宜比较关系或均值",
        "configural invariance only: same structure, unequal loadings; compare neither relations nor means",
    ),
    "metric": (
        "单位（载荷）等值成立、尺度等值不成立：可比较变量间关系，不宜比较均值",
        "metric invariance: relations comparable, means not",
    ),
    "partial_scalar": (
        "部分尺度等值成立：释放少数截距后可比较潜均值",
        "partial scalar invariance: latent means comparable with a few intercepts freed",
    ),
    "scalar": ("尺度（截距）等值成立：可比较均值", "scalar invariance: means comparable"),
}
_WHERE = {
    "outside": ("低于下限或高于上限", "below the lower or above the upper bound"),
    "inside": ("介于两个临界值之间", "between the bounds"),
    "everywhere": ("全部取值", "everywhere"),
    "nowhere": ("无", "nowhere"),
    "one-sided": ("临界值一侧", "on one side of the bound"),
}
_ADJUST = {"holm": "Holm", "bh": "Benjamini–Hochberg", "fdr_bh": "Benjamini–Hochberg"}
_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}
_NUMERALS = "一二三四五六七八九十"
# A leading zero before a bounded statistic (APA drops it), and a bare decimal (Chinese journals add one).
_BOUNDED_ZERO = re.compile(r"(?<![A-Za-z])((?:β|r|p|R²|α|ω|η²)\s*[=<>≤≥]\s*[−-]?)0(?=\.\d)")
_BARE_DECIMAL = re.compile(r"(?<=[\s=<>≤≥\[(（，,−-])\.(?=\d)")


def journal_text(text: str, profile: Profile) -> str:
    """A sentence with its statistics in the profile's number style.

    Parameters
    ----------
    text : str
        A sentence such as the analysis plan's findings (``p = .007``, ``β = −0.13``).
    profile : {"apa", "cn", "spssau"}
        ``apa``: the leading zero goes where a bounded statistic (*β*, *r*, *p*, *R*², α, ω, η²)
        is stated (``β = −.13``); ``cn`` and ``spssau``: every bare decimal gets its zero
        (``p = 0.007``).

    Returns
    -------
    str
        The sentence; words and unbounded numbers (``b = −0.103``) as they were.
    """
    if profile not in PROFILES:
        raise ValueError(
            f"未知的期刊格式 {profile!r}（可选：apa、cn、spssau） / unknown journal profile; use {PROFILES}"
        )
    return _BOUNDED_ZERO.sub(r"\1", text) if profile == "apa" else _BARE_DECIMAL.sub("0.", text)


def find_instrument(summary: Mapping) -> Instrument | None:
    """The instrument a summary names (same id and version) among the instruments, or None."""
    ref = summary.get("instrument") or {}
    for p in sorted(Path(paths.INSTRUMENTS_DIR).glob("*.yaml")):
        if p.name.endswith((".analysis.yaml", ".synth.yaml")):
            continue
        try:
            inst = load_instrument(p)
        except InstrumentError:  # a draft or another YAML in the folder: not the one looked for
            continue
        if inst.id == ref.get("id") and str(inst.version) == str(ref.get("version")):
            return inst
    return None


def _num(x) -> float | None:
    """A finite float, or None for JSON null and NaN."""
    if x is None or isinstance(x, bool):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _excludes_zero(lo, hi) -> bool:
    lo, hi = _num(lo), _num(hi)
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


def _significant(p) -> bool:
    return _num(p) is not None and p < 0.05


class _Chapter:
    """The document being written, its language and number style, and the names of things."""

    def __init__(self, summary: Mapping, lang: str, profile: Profile, inst: Instrument | None):
        self.s = summary
        self.w = Words(lang)
        self.lang = lang
        self.profile = profile
        self.inst = inst
        self.names: dict[str, str] = {}
        self.demo: dict[str, str] = {}
        self.order: list[str] = list(summary.get("scales") or {})
        self.composites: set[str] = set()
        if inst is not None:
            self.names = {s.id: self.w.text(s.name) for s in inst.scales}
            self.demo = {d.id: self.w.text(d.label) if d.label else d.id for d in inst.demographics}
            self.order = [s.id for s in inst.scales]
            self.composites = {s.id for s in inst.composite_scales}
        self.numbers: list[int | str] = []
        self.sections = 0
        self.doc = docx.Document()
        self._setup()

    # words and numbers

    def pick(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def word(self, pair: tuple[str, str]) -> str:
        return pair[0 if self.lang == "zh" else 1]

    def name(self, ident: str | None) -> str:
        return self.names.get(ident, ident) if ident else ""

    def term(self, term: str) -> str:
        return term_label(term, self.inst, self.w) if self.inst is not None else term

    def f(self, value, kind: str, decimals: int | None = None, p=None) -> str:
        return format_stat(_num(value), kind, self.profile, decimals=decimals, p=_num(p))

    def p_text(self, p) -> str:
        """``p = 0.007`` or ``p < 0.001`` in the profile's style."""
        text = self.f(p, "p")
        return f"p {text}" if text[0] in "<>" else f"p = {text}"

    def ci(self, lo, hi, kind: str = "b", decimals: int | None = 3) -> str:
        return format_ci(_num(lo), _num(hi), kind, self.profile, decimals=decimals)

    def join(self, items) -> str:
        return ("、" if self.lang == "zh" else ", ").join(items)

    # the document

    def _setup(self) -> None:
        doc = self.doc
        sec = doc.sections[0]
        sec.page_width, sec.page_height = Cm(21), Cm(29.7)  # A4
        sec.left_margin = sec.right_margin = Cm(2.5)
        sec.top_margin = sec.bottom_margin = Cm(2.54)
        use_chinese_fonts(doc)
        normal = doc.styles["Normal"]
        normal.paragraph_format.line_spacing = 1.25
        rpr = normal.element.get_or_add_rPr()
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), "en-US")
        lang.set(qn("w:eastAsia"), "zh-CN")  # line breaking and punctuation rules for Chinese
        for level, size in ((1, Pt(16)), (2, Pt(14)), (3, Pt(12))):  # 三号, 四号, 小四
            style = doc.styles[f"Heading {level}"]
            set_style_fonts(style, LATIN_FONT, HEADING_FONT, size)
            style.font.color.rgb = RGBColor(0, 0, 0)
            style.font.bold, style.font.italic = True, False
        # A centred page number: a PAGE field that Word and LibreOffice fill in.
        footer = sec.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        field, run, text = OxmlElement("w:fldSimple"), OxmlElement("w:r"), OxmlElement("w:t")
        field.set(qn("w:instr"), "PAGE")
        text.text = "1"
        run.append(text)
        field.append(run)
        footer._p.append(field)

    def heading(self, text: str, level: int) -> None:
        para = self.doc.add_paragraph(style=f"Heading {level}")
        if level == 1:
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        add_text(para, text, bold=True, east_asia=HEADING_FONT)

    def section(self, zh: str, en: str) -> None:
        self.sections += 1
        k = self.sections
        self.heading(f"{_NUMERALS[k - 1]}、{zh}" if self.lang == "zh" else f"{k} {en}", 2)

    def para(self, text: str, *, label: str | None = None) -> None:
        """A body paragraph (Chinese ones start two characters in), with an optional bold lead-in."""
        para = self.doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        if self.lang == "zh":
            para.paragraph_format.first_line_indent = Pt(21)
        if label:
            add_text(para, label, bold=True)
        add_text(para, text)

    def next_number(self) -> int:
        """The number the next table of the body gets (to refer to it before it is written)."""
        return sum(isinstance(n, int) for n in self.numbers) + 1

    def table(
        self,
        title: str,
        columns: Sequence[str | Column],
        rows: Sequence[Sequence[object]],
        note: str | None = None,
        advice: str | None = None,
        *,
        number: int | str | None = None,
    ) -> None:
        """A three-line table (on a landscape page when too wide) and, under ``spssau``, its 分析建议."""
        wide = natural_width(columns, rows, self.profile) > text_width(self.doc)
        if wide:
            new_section(self.doc, landscape=True)
        number = number if number is not None else self.next_number()
        add_three_line_table(self.doc, title, columns, rows, note, self.profile, number=number, lang=self.lang)
        self.numbers.append(number)
        if advice and self.profile == "spssau":
            self.para(advice, label=self.pick("分析建议：", "Analysis notes: "))
        if wide:
            new_section(self.doc, landscape=False)


# -- 1. findings ----------------------------------------------------------------------------------


def _finding_effect(ch: _Chapter, h: Mapping) -> str:
    """What a hypothesis entry tests, in words: ``激励性权力 → 负担感知`` or an indirect effect."""
    m = (ch.s.get("models") or {}).get(h.get("model")) or {}
    if h.get("term"):
        outcome = ch.name(m.get("outcome"))
        return f"{ch.term(h['term'])} → {outcome}" if outcome else ch.term(h["term"])
    ind = h.get("indirect")
    if ind == "index":
        return ch.pick("有调节的中介指数", "Index of moderated mediation")
    if ind in ("-1 SD", "mean", "+1 SD"):
        mod, at = ch.name(m.get("moderator")), ch.pick("均值", "mean") if ind == "mean" else ind
        return ch.pick(f"条件间接效应（{mod} {at}）", f"Conditional indirect effect ({mod} at {at})")
    if ind == "total":
        return ch.pick("总间接效应", "Total indirect effect")
    return ch.pick(f"间接效应（经{ch.name(ind)}）", f"Indirect effect via {ch.name(ind)}")


def _findings(ch: _Chapter) -> None:
    n = ch.s.get("rows") or {}
    read, accepted, quarantined = (n.get(k, "—") for k in ("read", "accepted", "quarantined"))
    ch.section("主要发现", "Findings")
    ch.para(
        ch.pick(
            f"本次共读取 {read} 份答卷，{accepted} 份有效进入分析，{quarantined} 份因数据质量问题被隔离"
            "（保留在数据库中，不参与统计）。以下逐条报告分析计划中预先设定的假设检验，无论是否获得支持。",
            f"{read} responses were read; {accepted} entered the analysis and {quarantined} were quarantined for "
            "data-quality reasons (kept in the store, left out of every statistic). Every hypothesis declared in "
            "the analysis plan is reported below, supported or not.",
        )
    )
    hyps = list(ch.s.get("hypotheses") or [])
    for h in hyps:
        text = (h.get("text") or {}).get(ch.lang) or (h.get("text") or {}).get("zh", "")
        exploratory = not h.get("confirmatory", True)
        ch.para(journal_text(text, ch.profile), label=ch.pick("〔探索性〕", "[Exploratory] ") if exploratory else None)
    if hyps:
        rows = []
        for h in hyps:
            label = h.get("hypothesis") or "—"
            if not h.get("confirmatory", True):
                label += ch.pick("（探索性）", " (exploratory)")
            rows.append(
                [
                    label,
                    _finding_effect(ch, h),
                    ch.word(_EXPECT.get(h.get("expect"), ("—", "—"))),
                    ch.f(h.get("estimate"), "b", 3),
                    ch.f(h.get("beta"), "beta"),
                    ch.ci(h.get("ci_low"), h.get("ci_high")),
                    ch.f(h.get("p"), "p"),
                    ch.word(_VERDICT.get(h.get("verdict"), (h.get("verdict"),) * 2)),
                ]
            )
        count = {k: sum(h.get("verdict") == k for h in hyps) for k in _VERDICT}
        missing_zh = f"，{count['not_estimable']} 项无法估计" if count["not_estimable"] else ""
        missing_en = f", {count['not_estimable']} not estimable" if count["not_estimable"] else ""
        advice = ch.pick(
            f"共 {len(hyps)} 项预设检验：{count['consistent']} 项与预设方向一致，{count['not_supported']} 项 95% "
            f"置信区间包含 0（未获支持），{count['opposite']} 项方向相反{missing_zh}。置信区间不含 0 即在 5% 水平上"
            "显著；论文中应报告全部预设检验（包括未获支持的），以“与……相关”表述，不作因果推断。",
            f"{len(hyps)} pre-declared tests: {count['consistent']} consistent with the expected direction, "
            f"{count['not_supported']} with a 95% CI including 0 (not supported), {count['opposite']} in the "
            f"opposite direction{missing_en}. A CI excluding 0 is significant at the 5% level; report every "
            "pre-declared test, supported or not, as an association rather than a cause.",
        )
        ch.table(
            ch.pick("预设假设的检验结果", "Tests of the pre-declared hypotheses"),
            [
                ch.pick("假设", "Hypothesis"),
                Column(ch.pick("检验的关联", "Association tested"), align="left"),
                ch.pick("预期方向", "Expected"),
                ch.pick("估计值", "Estimate"),
                "β",
                "95% CI",
                "p",
                ch.pick("结论", "Verdict"),
            ],
            rows,
            ch.pick(
                "估计值为非标准化系数 b，间接效应为 Bootstrap 点估计；回归系数的 95% CI 基于聚类稳健标准误，间接效应的 "
                "95% CI 为百分位 Bootstrap 区间。预设假设为验证性检验，不做多重比较校正。",
                "Estimates are unstandardised b, indirect effects bootstrap point estimates; 95% CIs of coefficients "
                "use cluster-robust standard errors, those of indirect effects are percentile bootstrap intervals. "
                "Pre-declared hypotheses are confirmatory and not adjusted for multiplicity.",
            ),
            advice,
        )
    ch.para(ch.w("cross_sectional"))


# -- 2. sample ------------------------------------------------------------------------------------


def _sample(ch: _Chapter) -> None:
    n = (ch.s.get("rows") or {}).get("accepted")
    ch.section("样本概况", "Sample")
    rows, modal = [], []
    for entry in ch.s.get("sample") or []:
        name = ch.demo.get(entry["id"], entry["id"])
        levels = entry.get("levels")
        if not levels:  # free text or the unit: counted, never listed
            distinct, missing = entry.get("distinct", "—"), entry.get("missing", 0)
            rows.append(
                [
                    name,
                    ch.pick(
                        f"{distinct} 个不同取值（未填写 {missing}）",
                        f"{distinct} distinct values ({missing} not given)",
                    ),
                    "",
                    "",
                ]
            )
            continue
        for k, lv in enumerate(levels):
            share = _num(lv.get("share"))
            level = lv["level"] if lv.get("level") is not None else ch.w("not_given")
            rows.append(
                [name if k == 0 else "", level, int(lv["n"]), ch.f(None if share is None else share * 100, "M", 1)]
            )
        top = max(levels, key=lambda lv: lv["n"])
        if top.get("level") is not None and _num(top.get("share")) is not None:
            modal.append((name, top["level"], ch.f(top["share"] * 100, "M", 1)))
    number = ch.next_number()
    ch.para(ch.pick(f"有效样本的基本情况见表{number}。", f"Table {number} profiles the sample."))
    advice = ch.pick(
        "各变量中占比最高的类别："
        + "；".join(f"{a}为“{b}”（{c}%）" for a, b, c in modal[:4])
        + "。描述样本结构时说明其与总体的差异；人数较少的类别在组间比较中结果不稳定，可考虑合并。",
        "Largest category: "
        + "; ".join(f"{a}: {b} ({c}%)" for a, b, c in modal[:4])
        + ". Describe how the sample differs from the population; small categories make group comparisons "
        "unstable and may be merged.",
    )
    ch.table(
        ch.pick(f"样本基本情况（N = {n}）", f"Sample characteristics (N = {n})"),
        [ch.pick("变量", "Variable"), ch.pick("类别", "Category"), "n", ch.pick("占比（%）", "%")],
        rows,
        ch.pick(
            "占比以有效答卷为分母；单位只报告个数，不列名称。",
            "Shares of the accepted responses; units are counted, not named.",
        ),
        advice,
    )


# -- 3. reliability and validity ------------------------------------------------------------------


def _max_other(matrix: Mapping, a: str) -> float | None:
    """The largest absolute value in ``a``'s row and column of a square matrix, the diagonal left out."""
    values = [_num(v) for b, v in (matrix.get(a) or {}).items() if b != a]
    values += [_num((matrix.get(b) or {}).get(a)) for b in matrix if b != a]
    values = [abs(v) for v in values if v is not None]
    return max(values) if values else None


def _meets(value: float, op: str, cut: float) -> bool:
    return value >= cut if op == ">=" else value <= cut if op == "<=" else value < cut


def _reliability(ch: _Chapter) -> None:
    psy = ch.s.get("psychometrics") or {}
    cfa = psy.get("cfa") or {}
    rel, htmt = cfa.get("reliability") or {}, cfa.get("htmt") or {}
    ch.section("信度与效度", "Reliability and validity")
    rows, alphas, weak_alpha, weak_ave, high_htmt = [], [], [], [], []
    for sid in ch.order:
        st = (ch.s.get("scales") or {}).get(sid)
        if not st:
            continue
        r, h, name = rel.get(sid) or {}, _max_other(htmt, sid) if sid in htmt else None, ch.name(sid)
        rows.append(
            [
                name + ("ᵃ" if sid in ch.composites else ""),
                st.get("n_items"),
                ch.f(st.get("alpha"), "alpha"),
                ch.f(st.get("omega"), "omega"),
                ch.f(r.get("cr"), "cr"),
                ch.f(r.get("ave"), "ave"),
                ch.f(h, "r"),
            ]
        )
        if _num(st.get("alpha")) is not None:
            alphas.append(st["alpha"])
            weak_alpha += [name] if st["alpha"] < 0.7 else []
        weak_ave += [name] if _num(r.get("ave")) is not None and r["ave"] < 0.5 else []
        high_htmt += [name] if h is not None and h >= 0.85 else []
    fit = cfa.get("fit") or {}
    n_cfa = fit.get("n", "—")
    composite = any(sid in ch.composites for sid in ch.s.get("scales") or {})
    note = (
        ch.pick("ᵃ 复合量表，α、ω 以其各维度得分计算。", "ᵃ Composite: α and ω over its dimension scores. ")
        if composite
        else ""
    ) + ch.pick(
        f"k 为题目数；α 为 Cronbach α，ω 为 McDonald ω；CR、AVE 与 HTMT 来自验证性因子分析（完整作答 n = {n_cfa}）。"
        "常用标准：α、ω、CR ≥ 0.70，AVE ≥ 0.50，HTMT < 0.85。",
        f"k items; α Cronbach's alpha, ω McDonald's omega; CR, AVE and HTMT from the confirmatory factor analysis "
        f"(complete cases n = {n_cfa}). Usual cut-offs: α, ω, CR ≥ .70; AVE ≥ .50; HTMT < .85.",
    )
    span = f"{ch.f(min(alphas), 'alpha')}–{ch.f(max(alphas), 'alpha')}" if alphas else "—"
    advice = ch.pick(
        f"各量表 α 介于 {span}，"
        + (f"低于 0.70 的量表：{ch.join(weak_alpha)}；" if weak_alpha else "均达到 0.70 的常用标准；")
        + (
            f"AVE 低于 0.50 的量表：{ch.join(weak_ave)}（聚合效度偏弱，可结合 CR 判断）；"
            if weak_ave
            else "AVE 均不低于 0.50；"
        )
        + (
            f"HTMT 不低于 0.85 的量表：{ch.join(high_htmt)}，区分效度存疑。"
            if high_htmt
            else "HTMT 均低于 0.85，区分效度良好。"
        ),
        f"α ranges {span}; "
        + (f"below .70: {ch.join(weak_alpha)}; " if weak_alpha else "all meet the usual .70; ")
        + (f"AVE below .50: {ch.join(weak_ave)} (weak convergent validity; read with CR); " if weak_ave else "")
        + (f"HTMT of .85 or more: {ch.join(high_htmt)}." if high_htmt else "every HTMT is below .85."),
    )
    number = ch.next_number()
    ch.para(
        ch.pick(
            f"各量表的信度、聚合效度与区分效度见表{number}。",
            f"Table {number} gives the reliability, convergent and discriminant validity of each scale.",
        )
    )
    ch.table(
        ch.pick("各量表的信度与效度", "Reliability and validity of the scales"),
        [ch.pick("量表", "Scale"), "k", "α", "ω", "CR", "AVE", ch.pick("最大 HTMT", "Max HTMT")],
        rows,
        note,
        advice,
    )
    if not fit:
        reason = psy.get("note")
        ch.para(ch.w.text(reason) if reason else ch.pick("样本不足，未做验证性因子分析。", "Too few rows for a CFA."))
        return
    _cfa_fit(ch, psy, cfa, fit)


def _cfa_fit(ch: _Chapter, psy: Mapping, cfa: Mapping, fit: Mapping) -> None:
    cut = cfa.get("cutoffs") or {}
    chi2, df = _num(fit.get("chi2")), _num(fit.get("df"))
    rmsea_ci = fit.get("rmsea_ci") or [None, None]

    def crit(key: str, kind: str) -> str:
        if not cut.get(key):
            return ""
        op, value = cut[key][:2]
        return f"{_OPS.get(op, op)} {ch.f(value, kind)}"

    rows = [
        [
            ch.pick("测量模型", "Measurement model"),
            ch.f(chi2, "chi2"),
            int(df) if df is not None else None,
            ch.f(chi2 / df if chi2 is not None and df else None, "chi2"),
            ch.f(fit.get("cfi"), "cfi"),
            ch.f(fit.get("tli"), "tli"),
            ch.f(fit.get("rmsea"), "rmsea"),
            ch.ci(rmsea_ci[0], rmsea_ci[1], "rmsea", None),
            ch.f(fit.get("srmr"), "srmr"),
        ],
        [
            ch.pick("参考标准", "Cut-off"),
            "",
            "",
            "",
            crit("cfi", "cfi"),
            crit("tli", "tli"),
            crit("rmsea", "rmsea"),
            "",
            crit("srmr", "srmr"),
        ],
    ]
    kmo, bart, pa, harman = (psy.get(k) for k in ("kmo", "bartlett", "parallel_analysis", "harman"))
    zh, en = [], []
    if kmo:
        zh.append(f"KMO = {ch.f(kmo.get('overall'), 'cfi')}")
        en.append(zh[-1])
    if bart:
        chi = f"χ²({int(bart['df'])}) = {ch.f(bart.get('chi2'), 'chi2')}"
        zh.append(f"Bartlett 球形检验 {chi}，{ch.p_text(bart.get('p'))}")
        en.append(f"Bartlett's test {chi}, {ch.p_text(bart.get('p'))}")
    if pa:
        zh.append(f"平行分析建议 {pa['n_factors']} 个因子")
        en.append(f"parallel analysis suggests {pa['n_factors']} factors")
    if harman:
        share, above = ch.f(harman["share"] * 100, "pct"), harman.get("flagged")
        rule = f"{round(100 * harman.get('threshold', 0.5))}%"
        zh.append(
            f"Harman 单因子检验中第一个未旋转因子解释 {share} 的方差"
            f"（{'高于' if above else '低于'} {rule}；该检验只是弱证据）"
        )
        en.append(
            f"in Harman's test the first unrotated factor explains {share} ({'above' if above else 'below'} {rule}; "
            "weak evidence either way)"
        )
    dropped = cfa.get("n_dropped")
    fiml = cfa.get("missing") == "fiml"
    note = ch.pick(
        (
            f"全信息最大似然估计（FIML），全部有效答卷 n = {fit.get('n')}"
            if fiml
            else f"最大似然估计，完整作答个案 n = {fit.get('n')}"
        )
        + (f"（另有 {dropped} 份{'一题未答' if fiml else '含缺失'}而未纳入）" if dropped else "")
        + "；RMSEA 按 N 计算（与 lavaan 相同）。"
        + ("；".join(zh) + "。" if zh else ""),
        (
            f"Full-information ML (FIML), all rows n = {fit.get('n')}"
            if fiml
            else f"Maximum likelihood, complete cases n = {fit.get('n')}"
        )
        + (f" ({dropped} {'with no answer' if fiml else 'with missing answers'} left out)" if dropped else "")
        + "; RMSEA with N as in lavaan. "
        + ("; ".join(en) + "." if en else ""),
    )
    failed = [
        label
        for key, label in (("cfi", "CFI"), ("tli", "TLI"), ("rmsea", "RMSEA"), ("srmr", "SRMR"))
        if cut.get(key) and _num(fit.get(key)) is not None and not _meets(fit[key], *cut[key][:2])
    ]
    cmv = harman and harman.get("flagged")
    advice = ch.pick(
        (
            f"{ch.join(failed)} 未达到参考标准，测量模型拟合欠佳，可检查载荷较低或存在交叉载荷的题目；"
            if failed
            else "各拟合指标均达到参考标准，测量模型拟合可以接受；"
        )
        + "χ² 检验对样本量敏感，一般以 CFI、TLI、RMSEA、SRMR 综合判断。"
        + ("Harman 单因子检验提示共同方法偏差风险。" if cmv else ""),
        (
            f"{ch.join(failed)} miss the cut-off: inspect items with low or cross loadings; "
            if failed
            else "Every fit index meets its cut-off; "
        )
        + "the χ² test is sensitive to sample size, so read CFI, TLI, RMSEA and SRMR together."
        + (" Harman's test flags a common-method risk." if cmv else ""),
    )
    ch.table(
        ch.pick("验证性因子分析的拟合指标", "Fit of the confirmatory factor analysis"),
        [ch.pick("模型", "Model"), "χ²", "df", "χ²/df", "CFI", "TLI", "RMSEA", "RMSEA 90% CI", "SRMR"],
        rows,
        note,
        advice,
    )


# -- 4. descriptives and correlations -------------------------------------------------------------


def _model_variables(ch: _Chapter) -> list[str]:
    """The scales in some model (predictor, mediator, moderator or outcome), in instrument order."""
    used: set[str] = set()
    for m in (ch.s.get("models") or {}).values():
        used.update(m[k] for k in ("outcome", "x", "mediator", "moderator") if m.get(k))
        used.update(m.get("mediators") or [])
        for term in m.get("terms") or {}:
            used.update(term.split(":"))
    corr = ((ch.s.get("psychometrics") or {}).get("correlations") or {}).get("r") or {}
    return [sid for sid in ch.order if sid in used and sid in corr]


def _descriptives(ch: _Chapter) -> None:
    psy = ch.s.get("psychometrics") or {}
    desc, corr = psy.get("descriptives") or {}, psy.get("correlations") or {}
    ids = [sid for sid in ch.order if sid in desc]
    variables = _model_variables(ch)
    ch.section("描述统计与相关分析", "Descriptive statistics and correlations")
    number = ch.next_number()
    ch.para(
        ch.pick(
            f"各量表得分的描述统计见表{number}"
            + (f"，主要变量的相关矩阵见表{number + 1}。" if len(variables) > 1 else "。"),
            f"Table {number} describes the scale scores"
            + (
                f"; Table {number + 1} gives the correlations of the variables in the models."
                if len(variables) > 1
                else "."
            ),
        )
    )
    rows = [
        [
            ch.name(sid),
            int(d["n"]) if _num(d.get("n")) is not None else None,
            ch.f(d.get("mean"), "M"),
            ch.f(d.get("sd"), "SD"),
            ch.f(d.get("min"), "M"),
            ch.f(d.get("max"), "M"),
            ch.f(d.get("skew"), "b"),
            ch.f(d.get("kurtosis"), "b"),
        ]
        for sid, d in ((sid, desc[sid]) for sid in ids)
    ]
    means = [_num(desc[sid].get("mean")) for sid in ids if _num(desc[sid].get("mean")) is not None]
    skew = max([abs(_num(desc[sid].get("skew")) or 0.0) for sid in ids], default=0.0)
    kurt = max([abs(_num(desc[sid].get("kurtosis")) or 0.0) for sid in ids], default=0.0)
    span = f"{ch.f(min(means), 'M')}–{ch.f(max(means), 'M')}" if means else "—"
    normal = skew < 2 and kurt < 7
    advice = ch.pick(
        f"各量表均值介于 {span}；偏度绝对值最大 {ch.f(skew, 'b')}，峰度绝对值最大 {ch.f(kurt, 'b')}，"
        + (
            "在 |偏度| < 2、|峰度| < 7 的范围内，可视为近似正态"
            if normal
            else "超出 |偏度| < 2、|峰度| < 7 的范围，宜报告稳健或 Bootstrap 结果"
        )
        + "（West et al., 1995）。",
        f"Scale means range {span}; the largest |skew| is {ch.f(skew, 'b')} and |kurtosis| {ch.f(kurt, 'b')}, "
        + (
            "within |skew| < 2 and |kurtosis| < 7: close to normal"
            if normal
            else "beyond |skew| < 2 and |kurtosis| < 7: prefer robust or bootstrap results"
        )
        + " (West et al., 1995).",
    )
    ch.table(
        ch.pick("各量表得分的描述统计", "Descriptive statistics of the scale scores"),
        [
            ch.pick("量表", "Scale"),
            "n",
            "M",
            "SD",
            ch.pick("最小值", "Min"),
            ch.pick("最大值", "Max"),
            ch.pick("偏度", "Skew"),
            ch.pick("峰度", "Kurtosis"),
        ],
        rows,
        ch.pick(
            "量表得分为所属题目的均值（反向题已反向计分）；峰度为超额峰度。",
            "Scale scores are item means (reverse-keyed items reversed); kurtosis is excess kurtosis.",
        ),
        advice,
    )
    if len(variables) > 1:
        _correlations(ch, variables, desc, corr)


def _correlations(ch: _Chapter, variables: list[str], desc: Mapping, corr: Mapping) -> None:
    adjusted = "p_adj" in corr
    r, p = corr["r"], corr.get("p_adj") or corr.get("p") or {}
    rows, pairs, strongest = [], [], None
    for i, a in enumerate(variables):
        cells = []
        for j, b in enumerate(variables[:-1]):  # the last column would hold only a diagonal dash
            if j < i:
                value, pv = _num(r[a].get(b)), _num((p.get(a) or {}).get(b))
                cells.append(ch.f(value, "r", p=pv))
                pairs.append(_significant(pv))
                if value is not None and (strongest is None or abs(value) > abs(strongest[2])):
                    strongest = (ch.name(a), ch.name(b), value)
            else:
                cells.append("—" if j == i else "")
        d = desc.get(a) or {}
        rows.append([f"{i + 1}. {ch.name(a)}", ch.f(d.get("mean"), "M"), ch.f(d.get("sd"), "SD"), *cells])
    ns = [
        int(v)
        for a in variables
        for b, v in ((corr.get("n") or {}).get(a) or {}).items()
        if b in variables and b != a and _num(v) is not None
    ]
    n_text = "—" if not ns else str(min(ns)) if min(ns) == max(ns) else f"{min(ns)}–{max(ns)}"
    method = _ADJUST.get(str(corr.get("p_adj_method", "")).lower(), corr.get("p_adj_method"))
    note = ch.pick(
        f"n = {n_text}（成对删除）；Pearson 相关，星号依据"
        + (f" {method} 校正后的 p（全部相关为一族）" if adjusted else "未校正的 p")
        + f"。{stars_note(ch.profile, 'zh')}。",
        f"n = {n_text} (pairwise); Pearson correlations, stars by "
        + (f"{method}-adjusted p (all correlations one family)" if adjusted else "unadjusted p")
        + f". {stars_note(ch.profile, 'en')}.",
    )
    top_zh = top_en = ""
    if strongest:
        a, b, value = strongest[0], strongest[1], ch.f(strongest[2], "r")
        top_zh, top_en = f"；相关最强的是{a}与{b}（r = {value}）", f"; the strongest is {a} with {b} (r = {value})"
    advice = ch.pick(
        f"{len(pairs)} 对相关中 {sum(pairs)} 对{'在多重比较校正后' if adjusted else ''}显著{top_zh}。"
        "相关只说明变量间的共变，为后续回归提供初步依据；相关高于 0.80 时需警惕多重共线性。",
        f"{sum(pairs)} of {len(pairs)} correlations are significant{' after adjustment' if adjusted else ''}{top_en}. "
        "Correlations show covariation only and prepare the regressions; above .80 they warn of collinearity.",
    )
    ch.table(
        ch.pick("主要变量的均值、标准差与相关系数", "Means, standard deviations and correlations"),
        [ch.pick("变量", "Variable"), "M", "SD", *[str(k + 1) for k in range(len(variables) - 1)]],
        rows,
        note,
        advice,
    )


# -- 5. regression --------------------------------------------------------------------------------


def _ols_models(s: Mapping) -> list[tuple[str, Mapping]]:
    return [(k, m) for k, m in (s.get("models") or {}).items() if m.get("type", "ols") == "ols"]


def _not_estimable(ch: _Chapter, model_id: str, m: Mapping) -> None:
    label, reason = ch.w.text(m.get("label")) or model_id, (m.get("reason") or {}).get(ch.lang, "")
    ch.para(ch.pick(f"{label}：无法估计（{reason}）。", f"{label}: not estimable ({reason})."))


def _regression(ch: _Chapter) -> None:
    models = _ols_models(ch.s)
    if any(len(m.get("blocks") or []) > 1 for _, m in models):
        ch.section("层次回归分析", "Hierarchical regression")
    else:
        ch.section("回归分析", "Regression")
    first = ch.next_number()
    last = first + sum(m.get("estimable") is not False for _, m in models) - 1
    ch.para(
        ch.pick(
            f"回归结果见表{first}"
            + (f"至表{last}" if last > first else "")
            + "。自变量分层进入模型，表中为最终模型的系数，并列出各层增加的解释量 ΔR²。",
            (f"Tables {first}–{last}" if last > first else f"Table {first}")
            + " give the regressions: predictors enter in blocks; the coefficients are those of the final model, with "
            "the ΔR² of each block.",
        )
    )
    for model_id, m in models:
        if m.get("estimable") is False:
            _not_estimable(ch, model_id, m)
        else:
            _regression_table(ch, model_id, m)


def _regression_table(ch: _Chapter, model_id: str, m: Mapping) -> None:
    label, outcome = ch.w.text(m.get("label")) or model_id, ch.name(m.get("outcome"))
    blocks = m.get("blocks") or []
    hierarchical = len(blocks) > 1
    terms = m.get("terms") or {}
    rows = []
    if m.get("intercept"):
        b = m["intercept"]
        rows.append(
            [ch.pick("常数项", "Intercept"), ch.f(b.get("b"), "b", 3), ch.f(b.get("se"), "se", 3), "", "", "", ""]
        )
    for term, t in terms.items():
        rows.append(
            [
                ch.term(term),
                ch.f(t.get("b"), "b", 3, p=t.get("p")),
                ch.f(t.get("se"), "se", 3),
                ch.f(t.get("beta"), "beta"),
                ch.f(t.get("t"), "t"),
                ch.f(t.get("p"), "p"),
                ch.ci(t.get("ci_low"), t.get("ci_high")),
            ]
        )
    rows.append(["R²", ch.f(m.get("r2"), "R2"), "", "", "", "", ""])
    rows.append([ch.pick("调整后 R²", "Adjusted R²"), ch.f(m.get("adj_r2"), "R2"), "", "", "", "", ""])
    tests = []
    for k, b in enumerate(blocks, start=1):
        name = ch.word(_BLOCKS[b["name"]]) if b.get("name") in _BLOCKS else b.get("name", str(k))
        if hierarchical:
            rows.append(
                [
                    ch.pick(f"ΔR²（第{k}层：{name}）", f"ΔR² (step {k}: {name})"),
                    ch.f(b.get("delta_r2"), "R2", p=b.get("p_change")),
                    "",
                    "",
                    "",
                    ch.f(b.get("p_change"), "p"),
                    "",
                ]
            )
        if _num(b.get("df2")) is not None and _num(b.get("f_change")) is not None:
            stat = f"ΔF({b.get('df1')}, {b['df2']:.1f}) = {ch.f(b['f_change'], 'F')}"
            tests.append(
                ch.pick(
                    f"第{k}层 {stat}，{ch.p_text(b.get('p_change'))}",
                    f"step {k} {stat}, {ch.p_text(b.get('p_change'))}",
                )
            )
    rows.append(["N", int(m["n"]), "", "", "", "", ""])
    vifs = [v for v in (_num(t.get("vif")) for t in terms.values()) if v is not None]
    ml = m.get("multilevel") or {}
    se_type = ch.w.se_type(m.get("se_type"))
    parts = [
        ch.pick(
            "b 为非标准化系数，β 为标准化系数（虚拟变量不报告 β）",
            "b unstandardised, β standardised (none for dummies)",
        ),
        ch.pick(f"SE 与 95% CI 基于{se_type}", f"SE and 95% CI: {se_type}"),
    ]
    if hierarchical and tests:
        parts.append(
            ch.pick("ΔR² 的聚类稳健 Wald 检验：", "cluster-robust Wald tests of ΔR²: ")
            + ch.pick("，", "; ").join(tests)
        )
    if vifs:
        parts.append(ch.pick(f"最大 VIF = {ch.f(max(vifs), 'b')}", f"largest VIF = {ch.f(max(vifs), 'b')}"))
    if ml.get("status") == "fitted" and _num(ml.get("icc")) is not None:
        icc, units = ch.f(ml["icc"], "R2"), ml.get("n_groups")
        parts.append(
            ch.pick(
                f"按单位的随机截距模型 ICC = {icc}（{units} 个单位）",
                f"random-intercept model by unit: ICC = {icc} ({units} units)",
            )
        )
    parts.append(stars_note(ch.profile, ch.lang))
    note = ch.pick("；", "; ").join(parts) + ch.pick("。", ".")

    significant = [(ch.term(k), t) for k, t in terms.items() if _significant(t.get("p")) and "[" not in k]
    explained = ch.f((_num(m.get("r2")) or 0.0) * 100, "pct")
    step = blocks[-1] if hierarchical else {}
    delta = ""
    if step:
        p_change = ch.p_text(step.get("p_change"))
        delta = f"ΔR² = {ch.f(step.get('delta_r2'), 'R2')}" + ch.pick(f"（{p_change}）", f" ({p_change})")
    sig_zh = "；".join(f"{n}（b = {ch.f(t['b'], 'b', 3)}，{ch.p_text(t['p'])}）" for n, t in significant)
    sig_en = "; ".join(f"{n} (b = {ch.f(t['b'], 'b', 3)}, {ch.p_text(t['p'])})" for n, t in significant)
    vif = ch.f(max(vifs), "b") if vifs else None
    advice = ch.pick(
        f"模型共解释{outcome}差异的 {explained}"
        + (f"，最后一层加入后 {delta}" if delta else "")
        + "。"
        + (f"在 0.05 水平上显著的变量：{sig_zh}。" if significant else "没有变量在 0.05 水平上显著。")
        + (
            f"最大 VIF 为 {vif}，{'低于 5，无明显多重共线性' if max(vifs) < 5 else '不低于 5，需关注多重共线性'}。"
            if vif
            else ""
        )
        + "系数表示控制其他变量后的关联，不表示因果。",
        f"The model explains {explained} of the variance in {outcome}"
        + (f"; the last block adds {delta}" if delta else "")
        + ". "
        + (f"Significant at .05: {sig_en}. " if significant else "No predictor is significant at .05. ")
        + (
            f"The largest VIF is {vif}{' (no collinearity concern)' if max(vifs) < 5 else ' (watch collinearity)'}. "
            if vif
            else ""
        )
        + "Coefficients are associations adjusted for the other variables, not effects.",
    )
    kind = ch.pick(
        "层次回归分析" if hierarchical else "回归分析", "Hierarchical regression" if hierarchical else "Regression"
    )
    ch.table(
        ch.pick(f"{outcome}的{kind}：{label}", f"{kind} of {outcome}: {label}"),
        [ch.pick("变量", "Variable"), "b", "SE", "β", "t", "p", "95% CI"],
        rows,
        note,
        advice,
    )


# -- 6. mediation, moderation, moderated mediation ------------------------------------------------


def _has_processes(s: Mapping) -> bool:
    return any(
        m.get("type") in ("mediation", "moderated_mediation") or m.get("probes")
        for m in (s.get("models") or {}).values()
    )


def _effect_row(ch: _Chapter, label: str, v: Mapping, *, boot: bool = False) -> list:
    """A path (OLS: SE and p) or a bootstrapped effect (bootstrap SE, no p)."""
    est = v.get("effect", v.get("estimate", v.get("b")))
    if boot:
        return [label, ch.f(est, "b", 3), ch.f(v.get("se_boot"), "se", 3), "", ch.ci(v.get("ci_low"), v.get("ci_high"))]
    return [
        label,
        ch.f(est, "b", 3, p=v.get("p")),
        ch.f(v.get("se"), "se", 3),
        ch.f(v.get("p"), "p"),
        ch.ci(v.get("ci_low"), v.get("ci_high")),
    ]


def _boot_note(ch: _Chapter, m: Mapping) -> str:
    units = (
        ch.pick(
            f"按单位整体重抽样（{m.get('n_clusters')} 个单位）", f"whole units resampled ({m.get('n_clusters')} units)"
        )
        if m.get("resampling") == "units"
        else ch.pick("按答卷重抽样", "rows resampled")
    )
    n_boot, seed, n = m.get("n_boot"), m.get("seed"), m.get("n")
    return ch.pick(
        f"路径系数为 OLS 估计；间接效应的 SE 为 Bootstrap 标准误，95% CI 为 {n_boot} 次百分位 Bootstrap 区间"
        f"（种子 {seed}，{units}）；n = {n}。",
        f"Paths are OLS estimates; indirect effects have bootstrap SEs and {n_boot}-resample percentile bootstrap "
        f"95% CIs (seed {seed}, {units}); n = {n}.",
    )


def _process_columns(ch: _Chapter) -> list[str]:
    return [ch.pick("效应", "Effect"), ch.pick("估计值", "Estimate"), "SE", "p", "95% CI"]


def _arrow(ch: _Chapter, kind: str, a: str, b: str) -> str:
    """A path label: ``a（问责压力→避责心理）`` / ``a (Accountability → Blame avoidance)``."""
    return ch.pick(f"{kind}（{a}→{b}）", f"{kind} ({a} → {b})")


def _mediation(ch: _Chapter, model_id: str, m: Mapping) -> None:
    label, x, y = ch.w.text(m.get("label")) or model_id, ch.name(m.get("x")), ch.name(m.get("outcome"))
    paths_ = m.get("paths") or {}
    rows = []
    for path in ["total", *[k for k in paths_ if k[:2] in ("a[", "b[")], "direct"]:
        if path not in paths_:
            continue
        if path in ("total", "direct"):
            kind = (
                ch.pick("总效应 c", "Total effect c") if path == "total" else ch.pick("直接效应 c′", "Direct effect c′")
            )
            rows.append(_effect_row(ch, _arrow(ch, kind, x, y), paths_[path]))
        else:
            med = ch.name(path[2:-1])
            rows.append(
                _effect_row(ch, _arrow(ch, "a", x, med) if path[0] == "a" else _arrow(ch, "b", med, y), paths_[path])
            )
    clear = []
    for med, v in (m.get("indirect") or {}).items():
        name = (
            ch.pick("总间接效应", "Total indirect effect")
            if med == "total"
            else ch.pick(f"间接效应 a×b（经{ch.name(med)}）", f"Indirect effect a×b via {ch.name(med)}")
        )
        rows.append(_effect_row(ch, name, v, boot=True))
        clear += [ch.name(med)] if _excludes_zero(v.get("ci_low"), v.get("ci_high")) and med != "total" else []
    share = _num(m.get("proportion_mediated"))
    note = _boot_note(ch, m) + (
        ch.pick(
            f"间接效应占总效应的 {ch.f(share * 100, 'pct')}。",
            f" The indirect share of the total effect is {ch.f(share * 100, 'pct')}.",
        )
        if share is not None
        else ""
    )
    direct = _significant((paths_.get("direct") or {}).get("p"))
    advice = ch.pick(
        (
            f"经{ch.join(clear)}的间接效应 95% CI 不含 0，数据与中介假设相符；"
            + ("直接效应仍显著，属部分中介。" if direct else "直接效应不显著，与完全中介相符。")
            if clear
            else "间接效应的 95% CI 包含 0，数据不支持中介。"
        )
        + "横断面数据只能说明与中介模型相符，不能证明因果顺序。",
        (
            f"The indirect effect via {ch.join(clear)} has a 95% CI excluding 0: the data are consistent with "
            "mediation, " + ("partial (the direct effect remains). " if direct else "full (no direct effect). ")
            if clear
            else "The 95% CI of the indirect effect includes 0: no support for mediation. "
        )
        + "Cross-sectional data can be consistent with a mediation model, not prove its causal order.",
    )
    ch.table(ch.pick(f"中介效应检验：{label}", f"Mediation: {label}"), _process_columns(ch), rows, note, advice)


def _moderated_mediation(ch: _Chapter, model_id: str, m: Mapping) -> None:
    label = ch.w.text(m.get("label")) or model_id
    x, med, mod, y = (ch.name(m.get(k)) for k in ("x", "mediator", "moderator", "outcome"))
    times = "×"
    names = {
        "a": _arrow(ch, "a", x, med),
        "w": _arrow(ch, "W", mod, med if m.get("model") == 7 else y),
        "a×w": _arrow(ch, "a×W", f"{x}{times}{mod}", med),
        "b": _arrow(ch, "b", med, y),
        "b×w": _arrow(ch, "b×W", f"{med}{times}{mod}", y),
        "direct": _arrow(ch, ch.pick("直接效应 c′", "Direct effect c′"), x, y),
    }
    rows = [_effect_row(ch, names.get(p, p), v) for p, v in (m.get("paths") or {}).items()]
    for c in m.get("conditional_indirect") or []:
        at = ch.pick("均值", "mean") if c.get("at") == "mean" else c.get("at")
        rows.append(
            _effect_row(
                ch, ch.pick(f"条件间接效应（{mod} {at}）", f"Conditional indirect effect ({mod} at {at})"), c, boot=True
            )
        )
    imm = m.get("index_of_moderated_mediation") or {}
    if imm:
        rows.append(_effect_row(ch, ch.pick("有调节的中介指数", "Index of moderated mediation"), imm, boot=True))
    ci, est = ch.ci(imm.get("ci_low"), imm.get("ci_high")), ch.f(imm.get("estimate"), "b", 3)
    moderated = _excludes_zero(imm.get("ci_low"), imm.get("ci_high"))
    advice = ch.pick(
        (
            f"有调节的中介指数为 {est}，95% CI {ci} 不含 0：经{med}的间接关联随{mod}的水平而变，"
            "比较各条件间接效应可见其方向。"
            if moderated
            else f"有调节的中介指数的 95% CI {ci} 包含 0，间接关联未随{mod}显著变化。"
        )
        + "条件间接效应取调节变量均值 ±1 SD（Hayes, 2015）。",
        (
            f"The index of moderated mediation is {est}, 95% CI {ci} excluding 0: the indirect association via {med} "
            f"depends on {mod}; the conditional indirect effects show how. "
            if moderated
            else f"The index's 95% CI {ci} includes 0: the indirect association does not vary with {mod}. "
        )
        + "Conditional effects at the moderator's mean ± 1 SD (Hayes, 2015).",
    )
    note = _boot_note(ch, m) + ch.pick(
        f"PROCESS 模型 {m.get('model')}；指数的 95% CI 不含 0 表示间接效应随调节变量变化（Hayes, 2015）。",
        f" PROCESS model {m.get('model')}; an index whose 95% CI excludes 0 means the indirect effect depends on the "
        "moderator (Hayes, 2015).",
    )
    ch.table(
        ch.pick(f"有调节的中介检验：{label}", f"Moderated mediation: {label}"), _process_columns(ch), rows, note, advice
    )


def _moderation(ch: _Chapter, model_id: str, m: Mapping) -> None:
    label, y = ch.w.text(m.get("label")) or model_id, ch.name(m.get("outcome"))
    for term, probe in (m.get("probes") or {}).items():
        focal, mod = ch.name(probe.get("focal")), ch.name(probe.get("moderator"))
        slopes = probe.get("simple_slopes") or []
        rows = [
            [
                f"{mod} {ch.pick('均值', 'mean') if sl.get('at') == 'mean' else sl.get('at')}",
                ch.f(sl.get("w"), "b", 3),
                ch.f(sl.get("slope"), "b", 3, p=sl.get("p")),
                ch.f(sl.get("se"), "se", 3),
                ch.f(sl.get("t"), "t"),
                ch.f(sl.get("p"), "p"),
                ch.ci(sl.get("ci_low"), sl.get("ci_high")),
            ]
            for sl in slopes
        ]
        inter = (m.get("terms") or {}).get(term) or {}
        jn = probe.get("johnson_neyman") or {}
        bounds = ", ".join(ch.f(b, "b", 3) for b in jn.get("bounds_in_range") or []) or ch.pick("无", "none")
        where = _WHERE.get(jn.get("significant_where"), (jn.get("significant_where") or "—",) * 2)
        b_inter, p_inter = ch.f(inter.get("b"), "b", 3), ch.p_text(inter.get("p"))
        note = ch.pick(
            f"交互项 {ch.term(term)}：b = {b_inter}，{p_inter}。变量已中心化，W 为调节变量的中心化取值。"
            f"Johnson–Neyman 临界值（观测范围内）：{bounds}；简单斜率显著的区域：{where[0]}。"
            f"{stars_note(ch.profile, 'zh')}。",
            f"Interaction {ch.term(term)}: b = {b_inter}, {p_inter}. Variables centred; W is the centred moderator. "
            f"Johnson–Neyman bounds within the observed range: {bounds}; the simple slope is significant {where[1]}. "
            f"{stars_note(ch.profile, 'en')}.",
        )
        advice = None
        if len(slopes) >= 2:
            low, high = slopes[0], slopes[-1]
            lo, hi = (
                f"{ch.f(sl.get('slope'), 'b', 3)}{ch.pick('（', ' (')}{ch.p_text(sl.get('p'))}{ch.pick('）', ')')}"
                for sl in (low, high)
            )
            weaker = abs(_num(high.get("slope")) or 0.0) < abs(_num(low.get("slope")) or 0.0)
            sig = _significant(inter.get("p"))
            advice = ch.pick(
                f"交互项{'显著' if sig else '不显著'}（{p_inter}）。{mod}较低（−1 SD）时，"
                f"{focal}与{y}的简单斜率为 {lo}，较高（+1 SD）时为 {hi}，"
                f"关联随调节变量升高而{'减弱' if weaker else '增强'}。宜配合简单斜率图报告。",
                f"The interaction is {'significant' if sig else 'not significant'} ({p_inter}). The simple slope of "
                f"{focal} on {y} is {lo} at low {mod} (−1 SD) and {hi} at high {mod} (+1 SD): the association "
                f"{'weakens' if weaker else 'strengthens'} as the moderator rises. Report it with a simple-slopes "
                "plot.",
            )
        ch.table(
            ch.pick(f"{mod}的调节效应（简单斜率）：{label}", f"Moderation by {mod} (simple slopes): {label}"),
            [
                ch.pick("调节变量水平", "Moderator level"),
                "W",
                ch.pick("简单斜率", "Simple slope"),
                "SE",
                "t",
                "p",
                "95% CI",
            ],
            rows,
            note,
            advice,
        )


def _processes(ch: _Chapter) -> None:
    ch.section("中介与调节效应", "Mediation and moderation")
    for model_id, m in (ch.s.get("models") or {}).items():
        kind = m.get("type")
        if m.get("estimable") is False:
            if kind in ("mediation", "moderated_mediation"):
                _not_estimable(ch, model_id, m)
            continue
        if kind == "mediation":
            _mediation(ch, model_id, m)
        elif kind == "moderated_mediation":
            _moderated_mediation(ch, model_id, m)
        if m.get("probes"):
            _moderation(ch, model_id, m)


# -- 7. measurement invariance --------------------------------------------------------------------


def _ladders(s: Mapping) -> list[tuple[str | None, Mapping]]:
    """The invariance ladders in a summary: one ladder, ``{grouping: ladder}`` or a list of ladders."""
    inv = (s.get("psychometrics") or {}).get("invariance")
    if not inv:
        return []
    if isinstance(inv, Mapping) and "decision" in inv:
        return [(inv.get("by") or inv.get("group"), inv)]
    if isinstance(inv, Mapping):
        return [(k, v) for k, v in inv.items() if isinstance(v, Mapping) and "decision" in v]
    return [(v.get("by") or v.get("group"), v) for v in inv if isinstance(v, Mapping) and "decision" in v]


def _invariance(ch: _Chapter) -> None:
    ch.section("测量不变性", "Measurement invariance")
    for by, ladder in _ladders(ch.s):
        group = ch.demo.get(by, by) if by else ch.pick("分组", "group")
        if ladder.get("decision") not in _DECISIONS or not ladder.get("configural"):
            reason = (ladder.get("reason") or {}).get(ch.lang, "")
            ch.para(
                ch.pick(
                    f"按{group}分组的测量不变性未能检验：{reason}。", f"Invariance across {group} not tested: {reason}."
                )
            )
            continue
        rows = []
        for step in _STEPS:
            fit = ladder.get(step)
            if not fit:
                continue
            change = fit.get("change") or {}
            d_chi2 = _num(change.get("delta_chi2"))
            holds = change.get("holds")
            rows.append(
                [
                    ch.word(_STEPS[step]),
                    ch.f(fit.get("chi2"), "chi2"),
                    int(fit["df"]) if _num(fit.get("df")) is not None else None,
                    ch.f(fit.get("cfi"), "cfi"),
                    ch.f(fit.get("tli"), "tli"),
                    ch.f(fit.get("rmsea"), "rmsea"),
                    ch.f(fit.get("srmr"), "srmr"),
                    f"{ch.f(d_chi2, 'chi2')} ({change.get('delta_df')}){stars(_num(change.get('p')))}"
                    if d_chi2 is not None
                    else "",
                    ch.f(change.get("delta_cfi"), "cfi") if change else "",
                    ch.f(change.get("delta_rmsea"), "rmsea") if change else "",
                    ch.f(change.get("delta_srmr"), "srmr") if change else "",
                    "" if holds is None else ch.pick("成立", "holds") if holds else ch.pick("不成立", "fails"),
                ]
            )
        groups, freed = [str(g) for g in ladder.get("groups") or []], ladder.get("freed") or []
        rule = journal_text((ladder.get("rule") or {}).get(ch.lang, ""), ch.profile)
        note = ch.pick(
            f"分组：{ch.join(groups)}。Δ 为与上一层模型之差；{rule}"
            + (f"释放截距的题目：{ch.join(freed)}。" if freed else "")
            + f"{stars_note(ch.profile, 'zh')}（Δχ² 检验）。",
            f"Groups: {ch.join(groups)}. Δ against the previous model. {rule} "
            + (f"Intercepts freed: {ch.join(freed)}. " if freed else "")
            + f"{stars_note(ch.profile, 'en')} (Δχ² test).",
        )
        decision = ch.word(_DECISIONS[ladder["decision"]])
        advice = ch.pick(
            f"结论：{decision}。按 Chen (2007) 的标准以 ΔCFI、ΔRMSEA、ΔSRMR 判断；Δχ² 对样本量敏感，仅作参考。",
            f"Conclusion: {decision}. Judged by ΔCFI, ΔRMSEA and ΔSRMR (Chen, 2007); Δχ² is sensitive to sample size "
            "and reported for reference.",
        )
        ch.table(
            ch.pick(f"测量不变性检验（按{group}分组）", f"Measurement invariance across {group}"),
            [
                ch.pick("模型", "Model"),
                "χ²",
                "df",
                "CFI",
                "TLI",
                "RMSEA",
                "SRMR",
                "Δχ² (Δdf)",
                "ΔCFI",
                "ΔRMSEA",
                "ΔSRMR",
                ch.pick("判定", "Decision"),
            ],
            rows,
            note,
            advice,
        )


# -- 8. group comparisons -------------------------------------------------------------------------


def _groups(ch: _Chapter) -> None:
    comps = (ch.s.get("psychometrics") or {}).get("group_comparisons") or []
    method = _ADJUST.get(str(comps[0].get("p_adj_method", "")).lower(), comps[0].get("p_adj_method"))
    ch.section("组间差异比较", "Group comparisons")
    ch.para(
        ch.pick(
            f"以下比较为探索性分析（共 {len(comps)} 项），p 值按全部比较为一族作 {method} 校正。",
            f"The comparisons below are exploratory ({len(comps)} in all); p-values are {method}-adjusted over all of "
            "them as one family.",
        )
    )
    for by in dict.fromkeys(c["by"] for c in comps):
        _group_table(ch, by, [c for c in comps if c["by"] == by], method)


def _group_table(ch: _Chapter, by: str, comps: list[Mapping], method: str) -> None:
    groups = list(dict.fromkeys(g["group"] for c in comps for g in c.get("groups") or []))
    two = all(str(c.get("test", "")).endswith("t") for c in comps)
    hedges = all(c.get("effect") == "hedges_g" for c in comps)
    effect = "g" if hedges else "η²"
    rows = []
    for c in comps:
        by_group = {g["group"]: g for g in c.get("groups") or []}
        cells = [
            f"{ch.f(by_group[g].get('mean'), 'M')} ({ch.f(by_group[g].get('sd'), 'SD')})" if g in by_group else "—"
            for g in groups
        ]
        df1, df2 = _num(c.get("df1")), _num(c.get("df2"))
        df = "—" if df2 is None else f"{df2:.1f}" if two or df1 is None else f"{df1:.0f}, {df2:.1f}"
        rows.append(
            [
                ch.name(c["outcome"]),
                *cells,
                ch.f(c.get("statistic"), "t" if two else "F"),
                df,
                ch.f(c.get("p"), "p"),
                ch.f(c.get("p_adj"), "p", p=c.get("p_adj")),
                ch.f(c.get("effect_size"), "d" if hedges else "eta2"),
            ]
        )
    sizes = {g: sorted({gg["n"] for c in comps for gg in c.get("groups") or [] if gg["group"] == g}) for g in groups}
    ns = ", ".join(f"{g} n = {s[0]}" + (f"–{s[-1]}" if len(s) > 1 else "") for g, s in sizes.items())
    test = "Welch t" if two else ch.pick("Welch 方差分析", "Welch's ANOVA")
    size_name = "Hedges g" if hedges else "η²"
    note = ch.pick(
        f"单元格为 M (SD)；{ns}。检验为 {test}，效应量为 {size_name}；校正 p 为 {method} 校正。"
        f"{stars_note(ch.profile, 'zh')}（依据校正 p）。",
        f"Cells are M (SD); {ns}. {test}; effect size {size_name}; adjusted p by {method}. "
        f"{stars_note(ch.profile, 'en')} (adjusted p).",
    )
    label = ch.demo.get(by, by)
    significant = [ch.name(c["outcome"]) for c in comps if _significant(c.get("p_adj"))]
    advice = ch.pick(
        (
            f"校正后差异显著的量表：{ch.join(significant)}；可进一步报告事后两两比较，并结合效应量判断差异的实际大小。"
            if significant
            else f"校正后各量表在不同{label}之间均无显著差异。"
        )
        + "组间比较为探索性结果，宜作为后续研究的线索。",
        (
            f"Significant after adjustment: {ch.join(significant)}; report post-hoc pairs and read the effect sizes. "
            if significant
            else f"No scale differs by {label} after adjustment. "
        )
        + "Group comparisons are exploratory leads.",
    )
    ch.table(
        ch.pick(f"各量表在不同{label}上的差异比较", f"Scale scores by {label}"),
        [ch.pick("量表", "Scale"), *groups, "t" if two else "F", "df", "p", ch.pick("校正 p", "Adj. p"), effect],
        rows,
        note,
        advice,
    )


# -- appendix: reproducibility --------------------------------------------------------------------


def _plain(value) -> str:
    """A setting as text: numbers without trailing zeros, cut-offs as ``≥ 0.9``, lists spelled out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and value[0] in _OPS:
            return f"{_OPS[value[0]]} {_plain(value[1])}"
        return ", ".join(_plain(v) for v in value)
    return "—" if value is None else str(value)


def _appendix(ch: _Chapter) -> None:
    prov = ch.s["provenance"]
    ch.heading(ch.pick("附录　可重复性信息", "Appendix: reproducibility"), 2)
    ch.para(
        ch.pick(
            "用下列版本的软件、同一问卷与分析计划、同样的输入文件和随机种子重新运行本分析，可得到相同的数值。",
            "With the software versions, instrument, analysis plan, input files and seeds below, the analysis "
            "re-runs to "
            "the same numbers.",
        )
    )
    jf = prov.get("jianfu") or {}
    commit = f" (commit {jf['commit']})" if jf.get("commit") else ""
    rows = [["jianfu", f"{jf.get('version', '—')}{commit}"]]
    rows += [["Python", str(prov["python"])]] if prov.get("python") else []
    rows += [[name, str(version or "—")] for name, version in (prov.get("packages") or {}).items()]
    ins = prov.get("instrument") or {}
    if ins:
        rows.append([ch.pick("问卷", "Instrument"), f"{ins.get('id', '—')} v{ins.get('version', '—')}"])
        rows.append([ch.pick("问卷 SHA-256", "Instrument SHA-256"), ins.get("sha256") or "—"])
    if (prov.get("plan") or {}).get("sha256"):
        rows.append([ch.pick("分析计划 SHA-256", "Analysis plan SHA-256"), prov["plan"]["sha256"]])
    rows += [[Path(str(f.get("file") or "—")).name, f.get("sha256") or "—"] for f in prov.get("inputs") or []]
    ch.table(
        ch.pick("软件版本与文件指纹", "Software versions and file fingerprints"),
        [ch.pick("项目", "Item"), Column(ch.pick("版本或 SHA-256", "Version or SHA-256"), align="left")],
        rows,
        ch.pick(
            "SHA-256 为文件内容的指纹，内容改动一个字节即不同；输入文件只列文件名。",
            "SHA-256 fingerprints the content: one changed byte changes it; input files by name only.",
        ),
        number="A1",
    )
    settings = [[ch.pick("随机种子", "Seed"), k, _plain(v)] for k, v in (prov.get("seeds") or {}).items()]
    settings += [[ch.pick("阈值", "Threshold"), k, _plain(v)] for k, v in (prov.get("thresholds") or {}).items()]
    for k in range(len(settings) - 1, 0, -1):  # each kind named once, on its first row
        if settings[k][0] == settings[k - 1][0]:
            settings[k][0] = ""
    if settings:
        ch.table(
            ch.pick("随机种子与判定阈值", "Random seeds and thresholds"),
            [ch.pick("类别", "Kind"), Column(ch.pick("参数", "Setting"), align="left"), ch.pick("取值", "Value")],
            settings,
            number="A2",
        )
    flow = prov.get("case_flow") or []
    if flow:
        rows = [
            [k + 1, step.get(f"label_{ch.lang}") or step.get("label_zh", ""), step.get("n")]
            for k, step in enumerate(flow)
        ]
        ch.table(
            ch.pick("样本筛选流程", "Case flow"),
            [ch.pick("步骤", "Step"), Column(ch.pick("说明", "Description"), align="left"), "n"],
            rows,
            ch.pick(
                "从收到的文件、读取的答卷到进入分析的答卷；一份答卷可同时有多个质量标记，“隔离”按份计数一次；"
                "被隔离的答卷保留在数据库中，不参与统计。",
                "From the files received and responses read to those analysed; a response may carry several "
                "flags and counts once as quarantined; quarantined responses stay in the store, out of every "
                "statistic.",
            ),
            number="A3",
        )


# -- entry point ----------------------------------------------------------------------------------

#: The sections in reading order: (has this summary results for it?, writer).
_SECTIONS: list[tuple[Callable[[Mapping], bool], Callable[[_Chapter], None]]] = [
    (lambda s: True, _findings),
    (lambda s: bool(s.get("sample")), _sample),
    (lambda s: bool(s.get("scales")), _reliability),
    (lambda s: bool((s.get("psychometrics") or {}).get("descriptives")), _descriptives),
    (lambda s: bool(_ols_models(s)), _regression),
    (_has_processes, _processes),
    (lambda s: bool(_ladders(s)), _invariance),
    (lambda s: bool((s.get("psychometrics") or {}).get("group_comparisons")), _groups),
]


def write_results_chapter(
    summary: Mapping,
    path: str | Path,
    *,
    lang: str = "zh",
    journal: str = "cn",
    instrument: Instrument | None = None,
) -> Path:
    """Write the Word results chapter of one run.

    Parameters
    ----------
    summary : Mapping or RunSummary
        The run summary as ``jianfu run --json`` prints it; a :class:`jianfu.summary.RunSummary`
        is read in that JSON form.
    path : str or Path
        The ``.docx`` to write; missing folders are created.
    lang : {"zh", "en"}
        Language of the chapter; the findings are the plan's sentences in that language.
    journal : {"cn", "apa", "spssau"}
        Number style and extras: ``apa`` drops the leading zero of statistics bounded by 1, ``cn``
        keeps it, ``spssau`` keeps it and adds a 分析建议 paragraph under each table.
    instrument : Instrument, optional
        For the names of scales and demographics; by default the instrument ``summary["instrument"]``
        names (:func:`find_instrument`), else the ids stand in for names.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Formatting only: every number comes from ``summary``. Sections without results are left out
    and the others numbered in order; measurement invariance appears only when
    ``summary["psychometrics"]["invariance"]`` exists, the appendix only with ``summary["provenance"]``.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"未知的语言 {lang!r}（可选：zh、en） / unknown language; use zh or en")
    if journal not in PROFILES:
        raise ValueError(
            f"未知的期刊格式 {journal!r}（可选：apa、cn、spssau） / unknown journal profile; use {PROFILES}"
        )
    if not isinstance(summary, Mapping) and hasattr(summary, "to_json"):
        summary = summary.to_json()  # a RunSummary: its JSON form, converted once
    inst = instrument if instrument is not None else find_instrument(summary)
    ch = _Chapter(summary, lang, journal, inst)
    ref = summary.get("instrument") or {}
    title = ch.w.text(inst.title) if inst is not None else ref.get("id", "")
    wave, n, when = (
        summary.get("wave", "—"),
        (summary.get("rows") or {}).get("accepted", "—"),
        summary.get("generated_at", "—"),
    )
    version = f"{ref.get('id', '—')} v{ref.get('version', '—')}"
    ch.heading(ch.pick("研究结果", "Results"), 1)
    meta = ch.doc.add_paragraph()
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_text(
        meta,
        ch.pick(
            f"问卷：{title}（{version}）；调查轮次：{wave}；有效样本 N = {n}；生成于 {when}",
            f"Instrument: {title} ({version}); wave {wave}; N = {n} accepted; generated {when}",
        ),
        size=Pt(9),
    )
    for present, write in _SECTIONS:
        if present(summary):
            write(ch)
    if summary.get("provenance"):
        _appendix(ch)
    props = ch.doc.core_properties
    props.title = f"{title} — {ch.pick('研究结果', 'Results')}"
    props.subject = f"{version}; wave {wave}"
    props.author = "jianfu"
    props.language = "zh-CN" if lang == "zh" else "en"
    props.created = datetime.now()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ch.doc.save(path)
    return path
