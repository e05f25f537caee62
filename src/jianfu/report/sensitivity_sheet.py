"""The 敏感性分析 sheet: each hypothesis model as reported, by multiple imputation and with flagged rows."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from jianfu.instrument import Instrument
from jianfu.report.styles import STAT, P, note, page, table, title
from jianfu.report.text import Words, term_label
from jianfu.summary import RunSummary

__all__ = ["sensitivity_sheet"]

_VERSIONS = ("listwise", "mi", "with_flagged")


def _headers(w: Words) -> list[str]:
    out = [w.pick("项", "Term")]
    for zh, en in (
        ("报告（完整个案）", "As reported"),
        ("多重插补", "Multiple imputation"),
        ("含被隔离答卷", "With flagged"),
    ):
        name = w.pick(zh, en)
        out += [f"{name} b", "95% CI ↓", "95% CI ↑", "p"]
    return out


def sensitivity_sheet(ws: Worksheet, summary: RunSummary, inst: Instrument, w: Words) -> None:
    """One table per model: the key coefficients three ways, the n of each, and why a version is missing."""
    top = title(
        ws,
        w("sensitivity"),
        w.pick(
            "预设假设所在模型的三种做法：按报告（完整个案）、多重插补（缺失超过 5% 时，m = 20，Rubin 规则）、"
            "加回被隔离的答卷（重复提交与无效单元格除外）。系数方向或显著性随做法改变的结论需谨慎解读。",
            "The models behind the pre-declared hypotheses three ways: as reported (complete cases), by multiple "
            "imputation (when more than 5% of rows are incomplete; m = 20, Rubin's rules) and with the "
            "quality-flagged rows back in (except duplicates and invalid cells). A conclusion whose sign or "
            "significance changes with the handling deserves caution.",
        ),
    )
    names = {s.id: w.text(s.name) for s in inst.scales}
    if not summary.sensitivity:
        note(ws, top, w.pick("本次没有可做敏感性分析的模型。", "No model to check this time."))
        page(ws)
        return
    for model_id, entry in summary.sensitivity.items():
        label = w.text((summary.models.get(model_id) or {}).get("label")) or model_id
        n = entry.get("n") or {}
        top = note(
            ws,
            top,
            f"{label}（{names.get(entry['outcome'], entry['outcome'])}）"
            + w.pick(
                f"：n = {n.get('listwise')} / {n.get('mi') or '—'} / {n.get('with_flagged') or '—'}；"
                f"有缺失的答卷占 {entry['incomplete_share']:.1%}",
                f": n = {n.get('listwise')} / {n.get('mi') or '—'} / {n.get('with_flagged') or '—'}; "
                f"{entry['incomplete_share']:.1%} of rows incomplete",
            ),
            bold=True,
        )
        rows = []
        for term, versions in entry.get("terms", {}).items():
            row = [term_label(term, inst, w)]
            for v in _VERSIONS:
                t = versions.get(v) or {}
                row += [t.get("b"), t.get("ci_low"), t.get("ci_high"), t.get("p")]
            rows.append(row)
        formats = {1 + 4 * k + o: STAT for k in range(3) for o in range(3)} | {4 + 4 * k: P for k in range(3)}
        top = table(ws, top, _headers(w), rows, formats=formats, widths=[30, *[11] * 12])
        for version, reason in (entry.get("reasons") or {}).items():
            top = note(ws, top - 1, f"{version}: {w.text(reason)}") + 1
    page(ws)
