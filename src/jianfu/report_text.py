"""Words of the report in Chinese (default) and English: sheet names, headers, labels, and the
key findings, which are written from the results rather than from a template of fixed claims.
"""

from __future__ import annotations

from .instrument import FLAG_NAMES, Instrument
from .report_style import p_text

__all__ = ["Words", "term_label", "findings", "SHEET_KEYS"]

#: Sheets in reading order; ``waves`` appears only when the store holds earlier waves.
SHEET_KEYS = ["summary", "sample", "quality", "validity", "descriptives", "regression", "medmod", "units",
              "open", "waves", "methods", "codebook"]

_WORDS: dict[str, tuple[str, str]] = {
    # sheets
    "summary": ("摘要", "Summary"), "sample": ("样本概况", "Sample"), "quality": ("数据质量", "Data quality"),
    "validity": ("信度效度", "Reliability & validity"), "descriptives": ("描述与相关", "Descriptives & correlations"),
    "regression": ("回归结果", "Regression"), "medmod": ("中介与调节", "Mediation & moderation"),
    "units": ("单位对比", "Unit comparison"), "open": ("开放回答", "Open answers"),
    "waves": ("波次对比", "Wave comparison"), "methods": ("方法说明", "Methods"), "codebook": ("附录", "Appendix"),
    # common headers
    "scale": ("量表", "Scale"), "code": ("代码", "Code"), "items": ("题目数", "Items"), "mean": ("均值", "Mean"),
    "sd": ("标准差", "SD"), "p": ("p", "p"), "sig": ("显著性", "Sig."), "variable": ("变量", "Variable"),
    "file": ("文件", "File"), "format": ("格式", "Format"), "status": ("状态", "Status"),
    "read": ("读取行数", "Rows read"), "accepted": ("有效", "Accepted"), "quarantined": ("隔离", "Quarantined"),
    "errors": ("错误数", "Errors"), "warnings": ("提示数", "Warnings"), "type": ("类型", "Type"),
    "detail": ("说明", "Detail"), "error": ("错误", "Error"), "warning": ("提示", "Warning"),
    "status_accepted": ("接受", "accepted"), "status_rejected": ("拒收", "rejected"),
    "level": ("类别", "Category"), "count": ("人数", "n"), "share": ("占比", "Share"),
    "not_given": ("未填写", "not given"), "unit": ("单位", "Unit"), "unit_level": ("层级", "Level"),
    "suppressed": ("少于 5 人，不予显示", "fewer than 5, suppressed"),
    "stars": ("* p < .05，** p < .01，*** p < .001", "* p < .05, ** p < .01, *** p < .001"),
    "cross_sectional": ("说明：本调查为横断面数据，以上关系为相关关系，不能直接解释为因果效应。",
                        "Note: the survey is cross-sectional; these are associations, not causal effects."),
}
_FLAG_WORDS = {"speeder": ("作答过快", "Speeding"), "straightline": ("直线作答", "Straight-lining"),
               "attention": ("注意力题未通过", "Failed attention check"),
               "incomplete": ("作答不完整", "Incomplete"), "duplicate": ("重复提交", "Duplicate"),
               "invalid": ("含无效答案", "Invalid answer")}


class Words:
    """Look-ups in one language: ``w("mean")``, ``w.scale(inst, id)``, ``w.flag(name)``."""

    def __init__(self, lang: str = "zh"):
        if lang not in ("zh", "en"):
            raise ValueError(f"language must be zh or en, not {lang!r}")
        self.lang = lang
        self._i = 0 if lang == "zh" else 1

    def __call__(self, key: str) -> str:
        return _WORDS[key][self._i]

    def pick(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def text(self, t) -> str:
        """An instrument ``Text`` (or ``{zh, en}`` dict) in this language."""
        if t is None:
            return ""
        if isinstance(t, dict):
            return t.get(self.lang) or t.get("zh") or ""
        return getattr(t, self.lang) or t.zh

    def flag(self, name: str) -> str:
        return _FLAG_WORDS[name][self._i]

    def flags(self) -> list[str]:
        return [self.flag(k) for k in FLAG_NAMES]

    def se_type(self, se_type: str | None) -> str:
        if se_type and se_type.startswith("cluster-robust by "):
            var = se_type.removeprefix("cluster-robust by ")
            return self.pick(f"按{'单位' if var == 'unit' else var}聚类的稳健标准误", f"standard errors clustered by {var}")
        if se_type == "HC3":
            return self.pick("HC3 稳健标准误（单位数不足以聚类）", "HC3 robust standard errors (too few units to cluster)")
        return se_type or ""


def term_label(term: str, inst: Instrument, w: Words | None = None) -> str:
    """Label of a model term: scale name, ``单位层级：街道`` for a dummy, ``×`` for interactions."""
    w = w or Words()
    names = {s.id: w.text(s.name) for s in inst.scales}
    names.update({d.id: w.text(d.label) if d.label else d.id for d in inst.demographics})
    if ":" in term:
        return " × ".join(names.get(p, p) for p in term.split(":"))
    if term.endswith("]") and "[" in term:
        var, level = term[:-1].split("[", 1)
        return f"{names.get(var, var)}{w.pick('：', ': ')}{level}"
    return names.get(term, term)


def _strength(beta: float | None, w: Words) -> str:
    a = abs(beta or 0)
    if a >= 0.3:
        return w.pick("较强", "moderate-to-strong")
    if a >= 0.1:
        return w.pick("中等偏弱", "modest")
    return w.pick("微弱", "weak")


def not_estimable_text(result: dict, w: Words) -> str:
    """The sentence that stands in for a statistic that could not be estimated."""
    reason = result.get("reason") or {}
    return w.pick(f"无法估计：{reason.get('zh', '')}。", f"Not estimable: {reason.get('en', '')}.")


def findings(summary: dict, inst: Instrument, lang: str = "zh") -> list[str]:
    """Plain-language key findings generated from the results in ``summary``."""
    w = Words(lang)
    names = {s.id: w.text(s.name) for s in inst.scales}
    rows = summary["rows"]
    out = [w.pick(f"本次共读取 {rows['read']} 份答卷，{rows['accepted']} 份有效进入分析，{rows['quarantined']} 份因数据质量"
                  "问题被隔离（未删除，可在“数据质量”表查看原因）。",
                  f"{rows['read']} responses were read; {rows['accepted']} entered the analysis and {rows['quarantined']} "
                  "were quarantined for data-quality reasons (kept, with reasons, in 'Data quality').")]
    models = summary.get("models", {})
    model = models.get("empowerment_burden")
    if model and model.get("terms"):
        lower, higher = [], []
        for term, t in model["terms"].items():
            if t.get("term") not in names or t["p"] is None or t["p"] >= 0.05 or term == "accountability_pressure":
                continue
            text = f"{names[term]}（β = {t['beta']:.2f}，{_strength(t['beta'], w)}）" if lang == "zh" else \
                f"{names[term]} (β = {t['beta']:.2f}, {_strength(t['beta'], w)})"
            (lower if t["b"] < 0 else higher).append(text)
        sep = w.pick("、", "; ")
        if lower:
            out.append(w.pick("赋能与负担：在控制单位层级等因素后，" + sep.join(lower) + " 越高，基层干部感知的负担越轻。",
                              "Empowerment and burden: after controls, cadres reporting more " + sep.join(lower)
                              + " perceive less burden."))
        else:
            out.append(w.pick("赋能与负担：本次数据中没有发现哪一类赋能与负担感知显著负相关（p < .05）。",
                              "Empowerment and burden: no empowerment measure relates to lower perceived burden here "
                              "(p < .05)."))
        if higher:
            out.append(w.pick(sep.join(higher) + " 越高，负担感知反而越重，值得进一步了解原因。",
                              "Higher " + sep.join(higher) + " goes with more perceived burden, which deserves a closer look."))
        ap = model["terms"].get("accountability_pressure")
        if ap and ap["p"] is not None and ap["p"] < 0.05:
            out.append(w.pick(f"问责压力越大，负担感知越重（β = {ap['beta']:.2f}）。" if ap["b"] > 0 else
                              f"问责压力与负担感知呈负相关（β = {ap['beta']:.2f}）。",
                              f"More accountability pressure goes with more perceived burden (β = {ap['beta']:.2f})."
                              if ap["b"] > 0 else f"Accountability pressure relates negatively to burden (β = {ap['beta']:.2f})."))
        out.append(w.pick(f"该模型解释了负担感知差异的 {model['r2'] * 100:.1f}%（n = {model['n']}，{w.se_type(model.get('se_type'))}）。",
                          f"The model explains {model['r2'] * 100:.1f}% of the variance in perceived burden "
                          f"(n = {model['n']}, {w.se_type(model.get('se_type'))})."))
        ml = model.get("multilevel")
        if ml and ml.get("icc") is not None:
            out.append(w.pick(f"负担感知差异中约 {ml['icc'] * 100:.0f}% 来自单位之间（ICC），单位层面的减负措施有其作用空间。",
                              f"About {ml['icc'] * 100:.0f}% of the variance in burden lies between units (ICC): "
                              "unit-level measures have room to act."))
    med = models.get("blame_mediation")
    if med and med.get("indirect"):
        ind = next(iter(med["indirect"].values()))
        sig = ind["ci_low"] is not None and (ind["ci_low"] > 0 or ind["ci_high"] < 0)
        out.append(w.pick(
            f"避责心理的中介作用：问责压力经由避责心理加重负担感知的间接效应为 {ind['effect']:.3f}"
            f"（95% 置信区间 [{ind['ci_low']:.3f}, {ind['ci_high']:.3f}]），{'区间不含 0，中介作用成立' if sig else '区间包含 0，未见可靠的中介作用'}。",
            f"Blame avoidance as mediator: the indirect effect of accountability pressure on burden is {ind['effect']:.3f} "
            f"(95% CI [{ind['ci_low']:.3f}, {ind['ci_high']:.3f}]); "
            f"{'the interval excludes 0' if sig else 'the interval includes 0, so no reliable mediation'}."))
    mod = models.get("fault_tolerance_moderation")
    term = "accountability_pressure:fault_tolerance"
    if mod and term in mod.get("terms", {}):
        t = mod["terms"][term]
        if t["p"] < 0.05 and t["b"] < 0:
            out.append(w.pick(f"容错纠错：容错纠错认知越强，问责压力与避责心理之间的关联越弱（交互项 b = {t['b']:.2f}，p {_p(t['p'])}）。",
                              f"Fault tolerance: the stronger the awareness of fault-tolerance mechanisms, the weaker the "
                              f"link between accountability pressure and blame avoidance (interaction b = {t['b']:.2f}, p {_p(t['p'])})."))
        elif t["p"] < 0.05:
            out.append(w.pick(f"容错纠错：交互项显著但方向为正（b = {t['b']:.2f}），容错纠错认知强时问责压力与避责心理的关联反而更强。",
                              f"Fault tolerance: the interaction is significant but positive (b = {t['b']:.2f}): the link is "
                              "stronger where fault-tolerance awareness is high."))
        else:
            out.append(w.pick(f"容错纠错：未发现容错纠错认知显著缓冲问责压力对避责心理的影响（交互项 p {_p(t['p'])}）。",
                              f"Fault tolerance: no evidence that it buffers accountability pressure → blame avoidance "
                              f"(interaction p {_p(t['p'])})."))
    for model_id, m in models.items():
        if m.get("estimable") is False:
            label = w.text(m.get("label")) or model_id
            out.append(f"{label}（{model_id}）：{not_estimable_text(m, w)}" if lang == "zh"
                       else f"{label} ({model_id}): {not_estimable_text(m, w)}")
    harman = summary.get("psychometrics", {}).get("harman")
    if harman:
        out.append(w.pick(
            f"共同方法偏差：第一个未旋转因子解释 {harman['share'] * 100:.1f}% 的方差，"
            f"{'超过' if harman['flagged'] else '低于'} 40% 的判断标准。",
            f"Common-method variance: the first unrotated factor explains {harman['share'] * 100:.1f}% of the variance, "
            f"{'above' if harman['flagged'] else 'below'} the 40% rule of thumb."))
    out.append(w("cross_sectional"))
    return out


def _p(p: float) -> str:
    """``< .001`` or ``= .042``: the p of a sentence, after the letter p."""
    text = p_text(p)
    return text if text.startswith("<") else f"= {text}"
