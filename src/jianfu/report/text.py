"""Words of the report in Chinese (default) and English.

Sheet names, headers, labels, and the key findings, which are written from the results rather than
from a template of fixed claims.
"""

from __future__ import annotations

from jianfu.instrument import ALL_FLAGS, Instrument
from jianfu.summary import RunSummary

__all__ = ["Words", "term_label", "findings", "SHEET_KEYS"]

#: Sheets in reading order; ``waves`` appears only when the store holds earlier waves.
SHEET_KEYS = [
    "summary",
    "sample",
    "quality",
    "validity",
    "descriptives",
    "regression",
    "medmod",
    "sensitivity",
    "units",
    "open",
    "waves",
    "methods",
    "codebook",
]

_WORDS: dict[str, tuple[str, str]] = {
    # sheets
    "summary": ("摘要", "Summary"),
    "sample": ("样本概况", "Sample"),
    "quality": ("数据质量", "Data quality"),
    "validity": ("信度效度", "Reliability & validity"),
    "descriptives": ("描述与相关", "Descriptives & correlations"),
    "regression": ("回归结果", "Regression"),
    "sensitivity": ("敏感性分析", "Sensitivity"),
    "medmod": ("中介与调节", "Mediation & moderation"),
    "units": ("单位对比", "Unit comparison"),
    "open": ("开放回答", "Open answers"),
    "waves": ("波次对比", "Wave comparison"),
    "methods": ("方法说明", "Methods"),
    "codebook": ("附录", "Appendix"),
    # common headers
    "scale": ("量表", "Scale"),
    "code": ("代码", "Code"),
    "items": ("题目数", "Items"),
    "mean": ("均值", "Mean"),
    "sd": ("标准差", "SD"),
    "p": ("p", "p"),
    "sig": ("显著性", "Sig."),
    "variable": ("变量", "Variable"),
    "file": ("文件", "File"),
    "format": ("格式", "Format"),
    "status": ("状态", "Status"),
    "read": ("读取行数", "Rows read"),
    "accepted": ("有效", "Accepted"),
    "quarantined": ("隔离", "Quarantined"),
    "errors": ("错误数", "Errors"),
    "warnings": ("提示数", "Warnings"),
    "type": ("类型", "Type"),
    "detail": ("说明", "Detail"),
    "error": ("错误", "Error"),
    "warning": ("提示", "Warning"),
    "status_accepted": ("接受", "accepted"),
    "status_rejected": ("拒收", "rejected"),
    "level": ("类别", "Category"),
    "count": ("人数", "n"),
    "share": ("占比", "Share"),
    "not_given": ("未填写", "not given"),
    "unit": ("单位", "Unit"),
    "unit_level": ("层级", "Level"),
    "suppressed": ("少于 5 人，不予显示", "fewer than 5, suppressed"),
    "stars": ("* p < .05，** p < .01，*** p < .001", "* p < .05, ** p < .01, *** p < .001"),
    "cross_sectional": (
        "说明：本调查为横断面数据，以上关系为相关关系，不能直接解释为因果效应。",
        "Note: the survey is cross-sectional; these are associations, not causal effects.",
    ),
}
_FLAG_WORDS = {
    "speeder": ("作答过快", "Speeding"),
    "straightline": ("直线作答", "Straight-lining"),
    "attention": ("注意力题未通过", "Failed attention check"),
    "incomplete": ("作答不完整", "Incomplete"),
    "duplicate": ("重复提交", "Duplicate"),
    "invalid": ("含无效答案", "Invalid answer"),
    "careless": ("粗心作答（≥2 项指标）", "Careless (≥ 2 indices)"),
    "longstring": ("指标：最长连续相同", "Index: long string"),
    "irv": ("指标：个体内变异过低", "Index: low IRV"),
    "mahalanobis": ("指标：马氏距离异常", "Index: Mahalanobis D²"),
    "even_odd": ("指标：奇偶一致性低", "Index: even–odd"),
    "psychsyn": ("指标：同义题不一致", "Index: synonyms"),
}


class Words:
    """Look-ups in one language: ``w("mean")``, ``w.scale(inst, id)``, ``w.flag(name)``."""

    def __init__(self, lang: str = "zh"):
        if lang not in ("zh", "en"):
            raise ValueError(f"language must be zh or en, not {lang!r}")
        self.lang = lang
        self._i = 0 if lang == "zh" else 1

    def __call__(self, key: str) -> str:
        """The word for ``key`` in this language."""
        return _WORDS[key][self._i]

    def pick(self, zh: str, en: str) -> str:
        """Whichever of ``zh`` and ``en`` is in this language."""
        return zh if self.lang == "zh" else en

    def text(self, t) -> str:
        """An instrument ``Text`` (or ``{zh, en}`` dict) in this language."""
        if t is None:
            return ""
        if isinstance(t, dict):
            return t.get(self.lang) or t.get("zh") or ""
        return getattr(t, self.lang) or t.zh

    def flag(self, name: str) -> str:
        """The label of the quality flag ``name``."""
        return _FLAG_WORDS[name][self._i]

    def flags(self) -> list[str]:
        """The labels of all quality flags and careless indices, in :data:`~jianfu.instrument.ALL_FLAGS` order."""
        return [self.flag(k) for k in ALL_FLAGS]

    def se_type(self, se_type: str | None) -> str:
        """A model's standard-error type (``cluster-robust by unit (CR2)``, ``HC3``) as a reader's words."""
        if se_type and se_type.startswith("cluster-robust by "):
            var, _, kind = se_type.removeprefix("cluster-robust by ").partition(" (")
            name = "单位" if var == "unit" else var
            if kind.startswith("CR2"):
                return self.pick(
                    f"按{name}聚类的 CR2 稳健标准误（Bell–McCaffrey，Satterthwaite 自由度）",
                    f"CR2 standard errors clustered by {var} (Bell–McCaffrey, Satterthwaite df)",
                )
            return self.pick(f"按{name}聚类的稳健标准误（CR1）", f"standard errors clustered by {var} (CR1)")
        if se_type == "HC3":
            return self.pick(
                "HC3 稳健标准误（只有 1 个单位，无法聚类）", "HC3 robust standard errors (one unit only: no clustering)"
            )
        return se_type or ""


#: The parts of a group-mean-centred predictor (:func:`jianfu.stats.multilevel.group_mean_split`).
_CENTRED_PARTS = (
    ("within", "单位内", "within units"),
    ("between", "单位间", "between units"),
    ("contextual", "情境效应", "contextual"),
)


def term_label(term: str, inst: Instrument, w: Words | None = None) -> str:
    """Label of a model term: scale name, ``单位层级：街道`` for a dummy, ``×`` for interactions."""
    w = w or Words()
    for part, zh, en in _CENTRED_PARTS:
        if term.endswith(f" ({part})"):
            return term_label(term[: -len(part) - 3], inst, w) + w.pick(f"（{zh}）", f" ({en})")
    names = {s.id: w.text(s.name) for s in inst.scales}
    names.update({d.id: w.text(d.label) if d.label else d.id for d in inst.demographics})
    if ":" in term:
        return " × ".join(names.get(p, p) for p in term.split(":"))
    if term.endswith("]") and "[" in term:
        var, level = term[:-1].split("[", 1)
        return f"{names.get(var, var)}{w.pick('：', ': ')}{level}"
    return names.get(term, term)


def not_estimable_text(result: dict, w: Words) -> str:
    """The sentence that stands in for a statistic that could not be estimated."""
    reason = result.get("reason") or {}
    return w.pick(f"无法估计：{reason.get('zh', '')}。", f"Not estimable: {reason.get('en', '')}.")


def findings(summary: RunSummary, inst: Instrument, lang: str = "zh") -> list[str]:
    """Plain-language key findings generated from the results in ``summary``."""
    w = Words(lang)
    names = {s.id: w.text(s.name) for s in inst.scales}
    rows = summary.rows
    out = [
        w.pick(
            f"本次共读取 {rows.read} 份答卷，{rows.accepted} 份有效进入分析，{rows.quarantined} 份因数据质量"
            "问题被隔离（未删除，可在“数据质量”表查看原因）。",
            f"{rows.read} responses were read; {rows.accepted} entered the analysis and {rows.quarantined} "
            "were quarantined for data-quality reasons (kept, with reasons, in 'Data quality').",
        )
    ]
    models = summary.models
    # Every pre-declared hypothesis, supported or not, in the plan's own words.
    out += [h.text[w.lang] for h in summary.hypotheses]
    declared = {h.model for h in summary.hypotheses}
    for model_id, m in models.items():
        if model_id not in declared or m.get("estimable") is False or m.get("r2") is None:
            continue
        outcome = names.get(m["outcome"], m["outcome"])
        label = w.text(m.get("label")) or model_id
        out.append(
            w.pick(
                f"{label}：模型解释了{outcome}差异的 {m['r2'] * 100:.1f}%"
                f"（n = {m['n']}，{w.se_type(m.get('se_type'))}）。",
                f"{label}: the model explains {m['r2'] * 100:.1f}% of the variance in {outcome.lower()} "
                f"(n = {m['n']}, {w.se_type(m.get('se_type'))}).",
            )
        )
        ml = m.get("multilevel")
        if ml and ml.get("icc") is not None:
            out.append(
                w.pick(
                    f"{outcome}差异中约 {ml['icc'] * 100:.0f}% 来自单位之间（ICC），单位层面的措施有其作用空间。",
                    f"About {ml['icc'] * 100:.0f}% of the variance in {outcome.lower()} lies between units "
                    "(ICC): unit-level measures have room to act.",
                )
            )
    for model_id, m in models.items():
        if m.get("estimable") is False:
            label = w.text(m.get("label")) or model_id
            out.append(
                f"{label}（{model_id}）：{not_estimable_text(m, w)}"
                if lang == "zh"
                else f"{label} ({model_id}): {not_estimable_text(m, w)}"
            )
    harman = summary.psychometrics.get("harman")
    if harman:
        out.append(
            w.pick(
                f"共同方法偏差：第一个未旋转因子解释 {harman['share'] * 100:.1f}% 的方差，"
                f"{'超过' if harman['flagged'] else '低于'} 50% 的判断标准"
                "（该检验只是弱证据，Podsakoff et al., 2003）。",
                f"Common-method variance: the first unrotated factor explains {harman['share'] * 100:.1f}% "
                "of the variance, "
                f"{'above' if harman['flagged'] else 'below'} the 50% rule "
                "(weak evidence either way; Podsakoff et al., 2003).",
            )
        )
    ulmc = (summary.psychometrics.get("method_bias") or {}).get("ulmc") or {}
    if ulmc.get("verdict") in ("flagged", "not_flagged"):
        d, share = ulmc["delta"]["cfi"], ulmc.get("method_share") or 0.0
        out.append(
            w.pick(
                f"加入一个负荷于全部条目的方法因子（ULMC）后 ΔCFI = {d:+.3f}，"
                f"方法因子平均解释 {share * 100:.1f}% 的条目方差："
                + ("提示存在共同方法变异，变量间相关可能因此偏高。" if ulmc["flagged"] else "未见明显的共同方法变异。"),
                f"A method factor on every item (ULMC) changes CFI by {d:+.3f} and explains {share * 100:.1f}% of the "
                "items' variance on average: "
                + (
                    "common-method variance is likely and may inflate the correlations."
                    if ulmc["flagged"]
                    else "no marked common-method variance."
                ),
            )
        )
    out.append(w("cross_sectional"))
    return out
