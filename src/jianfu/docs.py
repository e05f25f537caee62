"""Instrument documentation generated from the YAML (never written twice by hand)."""

from __future__ import annotations

from jianfu.instrument import Instrument

__all__ = ["instrument_markdown"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _source(item) -> str:
    """A seed quote (with ``same_as`` when unchanged from an earlier version) or a published reference."""
    src = item.source
    text = f"`{src.seed}`: “{_cell(src.quote)}”" if src.seed else _cell(src.reference or "")
    if src.adapted:
        text += " (adapted)"
    if item.same_as:
        text += f"; same as `{item.same_as}`"
    return text


def instrument_markdown(inst: Instrument) -> str:
    """Markdown listing each construct, its items, reverse keys and seed sources.

    What a researcher prints for an ethics review; regenerate with ``jianfu docs``.
    """
    lines = [
        f"# {inst.title.zh}",
        "",
        f"*{inst.title.en}* — instrument `{inst.id}` version {inst.version}",
        "",
        "> Generated from `instruments/" + inst.id + ".yaml` by `jianfu docs`; do not edit by hand.",
        "",
    ]
    if inst.intro:
        lines += [f"> {inst.intro.zh}", ">", f"> {inst.intro.en}", ""]
    lines += ["## Response scales", ""]
    for rid, rs in inst.response_scales.items():
        text = f"- `{rid}`: " + "；".join(f"{k} = {v}" for k, v in rs.labels.items())
        if rs.missing_options:
            text += "；not scored: " + "；".join(f"{k} = {v}" for k, v in rs.missing_options.items())
        if rs.period:
            text += f" (reference period: {rs.period.zh} / {rs.period.en})"
        lines.append(text)
    lines += ["", "## Constructs", ""]
    for s in inst.scales:
        lines += [f"### {s.name.zh} — {s.name.en} (`{s.id}`)", ""]
        if s.definition:
            lines += [f"{s.definition.zh}", "", f"*{s.definition.en}*", ""]
        if s.role != "construct" or s.referent != "self":
            lines += [f"Role: {s.role}; referent: {s.referent}.", ""]
        if s.is_composite:
            subs = "、".join(f"{inst.scale(x).name.zh} (`{x}`)" for x in s.subscales)
            lines += [f"Second-order composite: the mean of its subscale scores, each weighing the same: {subs}.", ""]
            continue
        lines += [
            f"Response scale `{s.response_scale}`; score = mean of answered items after reverse-keying "
            f"(at least 75% answered).",
            "",
            "| id | 题目 | item (English gloss) | reverse | source (seed: quote) |",
            "|---|---|---|---|---|",
        ]
        for it in s.items:
            lines.append(
                f"| `{it.id}` | {_cell(it.text.zh)} | {_cell(it.text.en)} | {'R' if it.reverse else ''} | "
                f"{_source(it)} |"
            )
        lines.append("")
    lines += ["## Demographics", "", "| id | 题目 | question | options |", "|---|---|---|---|"]
    for d in inst.demographics:
        opts = (
            "、".join(d.options)
            if d.options
            else (f"from the `{d.options_from}` list（从名单中选择）" if d.options_from else "free text（自由填写）")
        )
        lines.append(f"| `{d.id}` | {_cell(d.text.zh)} | {_cell(d.text.en)} | {opts} |")
    lines += ["", "## Attention checks", ""]
    for c in inst.attention_checks:
        lines.append(
            f"- `{c.id}`: {c.text.zh} ({c.text.en}) — expected answer: "
            f"{c.expect} = {inst.response_scales[c.response_scale].labels[c.expect]}"
        )
    if inst.open_questions:
        lines += ["", "## Open questions", ""]
        lines += [f"- `{o.id}`: {o.text.zh} ({o.text.en})" for o in inst.open_questions]
    q = inst.quality
    lines += [
        "",
        "## Data-quality flags",
        "",
        f"- speeder: completion time under {q.speeder.min_fraction_of_median:.3f} × the file's median "
        f"({'on' if q.speeder.enabled else 'off'})",
        f"- straightline: the same answer to every Likert item ({'on' if q.straightline.enabled else 'off'})",
        f"- attention: any attention check not answered as expected ({'on' if q.attention.enabled else 'off'})",
        f"- incomplete: under {q.incomplete.min_answered:.0%} of Likert items answered "
        f"({'on' if q.incomplete.enabled else 'off'})",
        f"- duplicate: identical answers to every item and demographic; later submissions flagged "
        f"({'on' if q.duplicate.enabled else 'off'})",
        f"- invalid: a cell that is not an allowed answer; a file with more than {q.invalid.max_share:.0%} "
        f"such rows is rejected ({'on' if q.invalid.enabled else 'off'}"
        f"{', strict: any invalid cell rejects the file' if q.strict else ''})",
        "",
        "Flagged rows are quarantined (kept in the store with their reasons) and excluded from every statistic.",
        "",
    ]
    return "\n".join(lines)
