"""Every pre-declared hypothesis, reported whether supported or not.

The analysis plan declares, per model, the findings to report (``findings``: a term or an
indirect effect, the expected direction, and a zh/en sentence template). This module reads them
against the fitted models and returns one entry per finding with its estimate, 95% CI, p and a
verdict — ``consistent`` (CI excludes 0 in the expected direction), ``opposite`` (excludes 0 the
other way), ``not_supported`` (CI includes 0), ``associated`` (no direction declared, CI
excludes 0) or ``not_estimable`` — and its sentence in both languages. The wording is that of
cross-sectional, single-source data: associations, never causes.

Examples
--------
>>> from jianfu.plan import Finding
>>> from jianfu.instrument import Text
>>> f = Finding(term="x", expect="negative", text=Text(zh="x：b = {b}，{verdict}。", en="x: b = {b}; {verdict}."))
>>> verdict({"b": -0.2, "ci_low": -0.3, "ci_high": -0.1}, f.expect)
'consistent'
>>> render(f.text.en, {"b": -0.2, "ci_low": -0.3, "ci_high": -0.1, "p": 0.001}, "consistent", "en")
'x: b = −0.200; consistent with the expected direction.'
"""

from __future__ import annotations

from jianfu.plan import Finding, Plan

__all__ = ["evaluate", "verdict", "render", "VERDICTS"]

VERDICTS = {
    "consistent": ("与预设方向一致", "consistent with the expected direction"),
    "opposite": ("方向与预设相反", "in the direction opposite to the one expected"),
    "not_supported": ("95% 置信区间包含 0，预设的关联未获支持", "the 95% CI includes 0: not supported"),
    "associated": ("95% 置信区间不含 0", "the 95% CI excludes 0"),
    "not_estimable": ("无法估计", "not estimable"),
}


def verdict(estimate: dict, expect: str | None) -> str:
    """The verdict of one estimate (``b``, ``ci_low``, ``ci_high``) against the expected sign."""
    lo, hi = estimate.get("ci_low"), estimate.get("ci_high")
    if lo is None or hi is None:
        return "not_estimable"
    if lo <= 0 <= hi:
        return "not_supported"
    if expect is None:
        return "associated"
    return "consistent" if (estimate["b"] > 0) == (expect == "positive") else "opposite"


def _num(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    return f"{x:.{digits}f}".replace("-", "−")


def _p(p: float | None) -> str:
    if p is None:
        return "—"
    return "< .001" if p < 0.001 else "= " + f"{p:.3f}".lstrip("0")


def render(template: str, estimate: dict, verdict_key: str, lang: str) -> str:
    """Fill a finding's template; placeholders: ``{b} {beta} {effect} {ci_low} {ci_high} {p} {n} {verdict}``."""
    words = VERDICTS[verdict_key][0 if lang == "zh" else 1]
    return template.format(
        b=_num(estimate.get("b")),
        beta=_num(estimate.get("beta"), 2),
        effect=_num(estimate.get("b")),
        ci_low=_num(estimate.get("ci_low")),
        ci_high=_num(estimate.get("ci_high")),
        p=_p(estimate.get("p")),
        n=estimate.get("n", "—"),
        verdict=words,
    )


def _estimate(result: dict, finding: Finding) -> tuple[dict | None, dict | None]:
    """The estimate a finding is about, or the reason there is none."""
    if not result:
        return None, {"zh": "模型未运行", "en": "the model was not run"}
    if result.get("estimable") is False:
        return None, result.get("reason")
    if finding.term is not None:
        t = result.get("terms", {}).get(finding.term)
        if t is None:
            return None, {
                "zh": f"“{finding.term}”在样本中没有变化，未进入模型",
                "en": f"{finding.term!r} does not vary in the sample and was left out of the model",
            }
        return {
            "b": t["b"],
            "beta": t.get("beta"),
            "ci_low": t.get("ci_low"),
            "ci_high": t.get("ci_high"),
            "p": t.get("p"),
            "n": result.get("n"),
        }, None
    if "index_of_moderated_mediation" in result:  # moderated mediation: the index or a conditional effect
        imm = result["index_of_moderated_mediation"]
        ind = (
            {"effect": imm["estimate"], **imm}
            if finding.indirect == "index"
            else next((c for c in result.get("conditional_indirect", []) if c["at"] == finding.indirect), None)
        )
    else:
        ind = result.get("indirect", {}).get(finding.indirect)
    if ind is None:
        return None, {"zh": "没有该间接效应", "en": "no such indirect effect"}
    return {
        "b": ind["effect"],
        "ci_low": ind.get("ci_low"),
        "ci_high": ind.get("ci_high"),
        "p": None,
        "n": result.get("n"),
    }, None


def evaluate(models: dict[str, dict], plan: Plan) -> list[dict]:
    """One entry per finding the plan declares, judged against the fitted models.

    Each entry holds ``hypothesis, model, term | indirect, expect, estimate, ci_low, ci_high, p,
    beta, verdict, text {zh, en}`` (and ``reason`` when not estimable).
    """
    out = []
    for spec in plan.models:
        result = models.get(spec.id, {})
        for f in spec.findings:
            est, reason = _estimate(result, f)
            entry = {
                "hypothesis": spec.hypothesis,
                "model": spec.id,
                "type": spec.type,
                "term": f.term,
                "indirect": f.indirect,
                "expect": f.expect,
                "confirmatory": True,
            }
            if est is None:
                key = "not_estimable"
                entry |= {
                    "estimate": None,
                    "beta": None,
                    "ci_low": None,
                    "ci_high": None,
                    "p": None,
                    "verdict": key,
                    "reason": reason,
                }
                text = {
                    lang: f"{render(getattr(f.text, lang), {}, key, lang)}"
                    f"{'：' if lang == 'zh' else ': '}{(reason or {}).get(lang, '')}"
                    for lang in ("zh", "en")
                }
            else:
                key = verdict(est, f.expect)
                entry |= {
                    "estimate": est["b"],
                    "beta": est.get("beta"),
                    "ci_low": est.get("ci_low"),
                    "ci_high": est.get("ci_high"),
                    "p": est.get("p"),
                    "verdict": key,
                }
                text = {lang: render(getattr(f.text, lang), est, key, lang) for lang in ("zh", "en")}
            entry["text"] = text
            out.append(entry)
    return out
