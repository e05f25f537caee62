"""Analysis datasets with labels: SPSS ``.sav``, Stata ``.dta``, Parquet, and CSV with its codebook.

Researchers re-run models in SPSS, Stata or R; these files spare them rebuilding the data by hand.
Every format holds the same variables, one row per respondent:

* a pseudonymous response id (``resp_id``: a hash of the file, sheet and row the answer came from,
  never of anything the respondent wrote), the wave when the frame carries one;
* the demographics as integer codes with their options as value labels, in the instrument's order;
* every item and attention check as answered (reverse-keyed items raw), the Chinese question text
  as its variable label and the response labels as value labels;
* the scale scores (reverse-keyed, as in :func:`jianfu.scoring.score_scales`), the completion time
  and the quality flags (0/1).

The quarantined rows go to a second file of the same layout that adds the quarantine reasons and
the invalid cells (masked).

Non-substantive answers (``missing_options`` such as 8 不适用, 9 不了解) are declared, not dropped:

* ``.sav``: the codes themselves, labelled, declared as SPSS discrete user-missing values;
* ``.dta``: Stata extended missing values, one letter per code over the whole instrument in code
  order (8 → ``.a``, 9 → ``.b`` when those are the codes); pyreadstat cannot label extended
  missing values, so the codebook says which letter is which answer;
* Parquet and CSV: empty in the item column (so that no mean ever counts an 8 as an answer) and
  the codes in ``missing_codes`` as ``item=code`` pairs, as the store keeps them.

Privacy follows the report's rules: personal data never reaches an export. The respondent key
(derived from a phone or ID number), file names, submission times and open answers are left out
(open answers only on request, masked); free-text demographics and the invalid-cell details are
masked with :func:`jianfu.privacy.mask_text`; units (and other lists kept outside the instrument)
with fewer than ``suppress_below`` accepted respondents keep their code only, without their name,
and are numbered after the named units in the order they first appear, so that the code carries no
trace of the name.

Variable names are valid in SPSS and Stata alike (:func:`variable_names`); the codebook maps each
to the jianfu id it comes from.

Examples
--------
>>> names = variable_names(["ap7", "单位", "and", "AP7", "x" * 40])
>>> names["ap7"], names["单位"], names["and"], names["AP7"], len(names["x" * 40])
('ap7', 'v_80b19d68', 'and_v', 'AP7_2', 32)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from jianfu import __version__
from jianfu.instrument import ALL_FLAGS, Instrument
from jianfu.privacy import mask_text
from jianfu.report.profile import MIN_UNIT_N
from jianfu.report.text import Words
from jianfu.scoring import score_scales

__all__ = [
    "FORMATS",
    "Variable",
    "ExportData",
    "variable_names",
    "build_export",
    "codebook_frame",
    "write_datasets",
]

#: The formats :func:`write_datasets` writes, in this order.
FORMATS = ("sav", "dta", "parquet", "csv")
Measure = Literal["nominal", "ordinal", "scale"]

_NAME_MAX = 32  # Stata's limit; SPSS allows 64 bytes
# SPSS reserved keywords and Stata reserved names (compared in lower case: SPSS names ignore case).
_RESERVED = {
    *("all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"),
    *("byte", "double", "float", "if", "in", "int", "long", "strl", "using", "str"),
}
_STATA_STR = re.compile(r"^str\d+$")
# Label limits of the formats, in UTF-8 bytes (Stata also counts characters).
_SAV_VAR_LABEL_BYTES = 256
_SAV_VALUE_LABEL_BYTES = 120
_DTA_VAR_LABEL_CHARS = 80
_DTA_VAR_LABEL_BYTES = 320
_DTA_FILE_LABEL_CHARS = 80
_SAV_FILE_LABEL_BYTES = 64
_SAV_NOTE_LINE_BYTES = 80
_DTA_STRING_BYTES = 2045
#: Longest open answer or free-text demographic kept (characters), within Stata's string width.
_TEXT_LIMIT = 600
_YES_NO = {0: "否", 1: "是"}


@dataclass(frozen=True)
class Variable:
    """One variable of the export, as the codebook lists it.

    ``missing`` holds the non-substantive codes (user-missing in SPSS); ``stata_missing`` maps
    each of them to its Stata extended missing value.
    """

    name: str
    source: str
    kind: str
    label_zh: str
    label_en: str
    measure: Measure
    value_labels: dict[int, str] = field(default_factory=dict)
    missing: dict[int, str] = field(default_factory=dict)
    stata_missing: dict[int, str] = field(default_factory=dict)
    reverse: bool = False
    scale: str | None = None
    response_scale: str | None = None
    note: str = ""
    #: The formats that carry the variable (``missing_codes`` exists in Parquet and CSV only).
    formats: tuple[str, ...] = FORMATS
    #: The variable exists in the quarantined file only (reasons, invalid cells).
    quarantined_only: bool = False


@dataclass
class ExportData:
    """The two tables of an export in SPSS layout (missing codes in place) and their variables.

    Columns are the export names; ``missing_codes`` (Parquet/CSV) is added by the writers.
    """

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    variables: list[Variable]
    instrument: dict[str, str]

    def variable(self, name: str) -> Variable:
        """The variable called ``name`` in the export."""
        return next(v for v in self.variables if v.name == name)


# -- names ---------------------------------------------------------------------------------


def _base_name(ident: str) -> str:
    if not ident.isascii():
        # Chinese or other non-ASCII ids: a stable short hash, the same whatever else is exported.
        return "v_" + hashlib.sha256(ident.encode("utf-8")).hexdigest()[:8]
    name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", ident)).strip("_")
    if not name:
        return "v_" + hashlib.sha256(ident.encode("utf-8")).hexdigest()[:8]
    if not name[0].isalpha():
        name = "v_" + name  # SPSS names start with a letter; Stata's may not start with a digit
    name = name[:_NAME_MAX].rstrip("_")
    if name.lower() in _RESERVED or _STATA_STR.match(name.lower()):
        name = name[: _NAME_MAX - 2] + "_v"
    return name


def variable_names(idents: Iterable[str]) -> dict[str, str]:
    """Map ids to names valid in both SPSS and Stata: deterministic, unique, at most 32 characters.

    Parameters
    ----------
    idents : iterable of str
        jianfu ids in the order of the export; earlier ids keep their name when two collide.

    Returns
    -------
    dict
        id → name. A name is ASCII letters, digits and underscores, starts with a letter, is no
        reserved word of either program (``and`` → ``and_v``) and differs from every other name
        also when case is ignored (SPSS ignores case): the second ``AP7`` becomes ``AP7_2``.
        Non-ASCII ids become ``v_`` and eight hex digits of their sha256.

    Notes
    -----
    SPSS: at most 64 bytes, first character a letter, no reserved keyword (ALL, AND, BY, EQ, GE,
    GT, LE, LT, NE, NOT, OR, TO, WITH). Stata: at most 32 characters, letters, digits and ``_``,
    not starting with a digit, no reserved name (``byte``, ``double``, ``float``, ``if``, ``in``,
    ``int``, ``long``, ``str#``, ``strL``, ``using``, ``with``, ``_all``, ``_n`` …; names starting
    with ``_`` are avoided altogether).
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for ident in idents:
        if ident in out:
            continue
        base = _base_name(ident)
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            suffix = f"_{k}"
            name = base[: _NAME_MAX - len(suffix)] + suffix
        taken.add(name.lower())
        out[ident] = name
    return out


# -- building the tables -------------------------------------------------------------------


def _codes_of(values: pd.Series, options: Sequence[str]) -> pd.Series:
    lookup = {opt: float(k) for k, opt in enumerate(options, start=1)}
    return values.map(lambda v: lookup.get(v, np.nan)).astype(float)


def _list_codes(accepted: pd.Series, quarantined: pd.Series, min_n: int) -> tuple[dict[str, int], dict[int, str]]:
    """Codes for a demographic answered from an outside list (units): named ones first, by name.

    Values with fewer than ``min_n`` accepted respondents get a code but no label, numbered after
    the named ones in order of first appearance (a code derived from the name would give it away).
    """

    def clean(s: pd.Series) -> pd.Series:
        s = s.dropna().astype(str)
        return s[s.str.strip() != ""]

    acc, quar = clean(accepted), clean(quarantined)
    sizes = acc.value_counts()
    named = sorted(v for v, n in sizes.items() if n >= min_n)
    seen = set(named)
    hidden = [v for v in pd.unique(pd.concat([acc, quar], ignore_index=True)) if v not in seen]
    codes = {v: k for k, v in enumerate([*named, *hidden], start=1)}
    return codes, {codes[v]: _masked(v) for v in named}


def _missing_answers(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Per item, the non-scored codes given (from ``_missing_codes``: ``item=code`` joined by ``;``)."""
    out: dict[str, dict[int, float]] = {}
    if "_missing_codes" not in frame:
        return {}
    for pos, cell in zip(frame.index, frame["_missing_codes"], strict=True):
        if not isinstance(cell, str) or not cell:
            continue
        for pair in cell.split(";"):
            item, _, code = pair.partition("=")
            if item and code.strip().lstrip("-").isdigit():
                out.setdefault(item.strip(), {})[pos] = float(code)
    return {item: pd.Series(v, dtype=float) for item, v in out.items()}


def _resp_ids(frame: pd.DataFrame) -> pd.Series:
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    keys = frame["_file_sha256"].astype(str) + "/" + frame["_sheet"].astype(str) + "/" + frame["_row"].astype(str)
    return keys.map(lambda k: hashlib.sha256(k.encode("utf-8")).hexdigest()[:16])


def _flags(frame: pd.DataFrame, name: str) -> pd.Series:
    col = f"_flag_{name}"
    if col in frame:
        return frame[col].fillna(False).astype(bool).astype(int)
    # A frame read back from the store has the reasons but not the flag columns.
    reasons = frame["reasons"] if "reasons" in frame else pd.Series("", index=frame.index)
    return reasons.fillna("").astype(str).map(lambda r: int(name in r.split(","))).astype(int)


def _masked(value: object) -> str:
    """A text with personal data masked, cut to ``_TEXT_LIMIT`` characters.

    :func:`jianfu.privacy.mask_text` keeps the text's own punctuation (村（社区）), where
    :func:`~jianfu.privacy.mask_value` would normalise it to half-width first.
    """
    text = mask_text(str(value))
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "…"


def _mask_text_column(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else _masked(v))


@dataclass(frozen=True)
class _Spec:
    """A variable before it has its export name: where its values come from and what it means."""

    ident: str
    kind: str
    label_zh: str
    label_en: str
    obj: object = None  # the instrument's Demographic, Item, AttentionCheck or Scale
    owner: object = None  # the Scale of an item


def _specs(inst: Instrument, include_open_answers: bool, has_wave: bool) -> list[_Spec]:
    """Every variable in export order: id, wave, demographics, items, scores, paradata, flags."""
    zh, en = Words("zh"), Words("en")
    out = [_Spec("resp_id", "id", "答卷编号（匿名）", "Response id (pseudonymous)")]
    if has_wave:
        out.append(_Spec("wave", "meta", "调查波次", "Survey wave"))
    out += [_Spec(d.id, "demographic", d.text.zh, d.text.en, d) for d in inst.demographics]
    checks_after: dict[str, list] = {}
    for c in inst.attention_checks:
        checks_after.setdefault(c.after or "", []).append(c)
    for s in inst.first_order_scales:
        out += [_Spec(i.id, "item", i.text.zh, i.text.en, i, s) for i in s.items]
        out += [_Spec(c.id, "attention", c.text.zh, c.text.en, c) for c in checks_after.pop(s.id, [])]
    out += [_Spec(c.id, "attention", c.text.zh, c.text.en, c) for rest in checks_after.values() for c in rest]
    out += [_Spec(s.id, "scale", f"{s.name.zh}（量表得分）", f"{s.name.en} (scale score)", s) for s in inst.scales]
    out.append(_Spec("duration_s", "meta", "作答用时（秒）", "Completion time (seconds)"))
    out += [_Spec(f"flag_{f}", "flag", f"质量标记：{zh.flag(f)}", f"Quality flag: {en.flag(f)}", f) for f in ALL_FLAGS]
    if include_open_answers:
        out += [_Spec(o.id, "open", o.text.zh, o.text.en, o) for o in inst.open_questions]
    out += [
        _Spec("reasons", "quarantine", "隔离原因（质量标记，逗号分隔）", "Quarantine reasons (comma-separated flags)"),
        _Spec("invalid_detail", "quarantine", "无效答案（题目=取值，个人信息已隐去）", "Invalid cells (masked)"),
        _Spec(
            "missing_codes",
            "missing_codes",
            "非实质性回答（题目=代码，如不适用、不了解）",
            "Non-substantive answers (item=code: not applicable, don't know)",
        ),
    ]
    return out


def _scale_note(inst: Instrument, s) -> str:
    if s.is_composite:
        subs = ", ".join(s.subscales)
        return f"子维度得分的均值，任一缺失则缺失 / mean of the subscale scores, missing if any is: {subs}"
    reversed_ = [i.id for i in s.items if i.reverse]
    lo, hi = inst.score_range(s)
    rev = f"; reverse-keyed ({lo}+{hi}−x): {', '.join(reversed_)}" if reversed_ else ""
    return f"作答题目（反向题已反向）的均值，至少作答 75% / mean of the answered items (≥ 75% answered){rev}"


def _describe(spec: _Spec, name: str, inst: Instrument, ctx: dict) -> Variable:
    """The codebook entry of one variable."""
    attrs: dict = {"name": name, "source": spec.ident, "kind": spec.kind, "measure": "nominal"}
    attrs |= {"label_zh": spec.label_zh, "label_en": spec.label_en}
    if spec.kind == "demographic":
        d = spec.obj
        if d.options:
            attrs["value_labels"] = dict(enumerate(d.options, start=1))
        elif d.id in ctx["list_codes"]:
            attrs["value_labels"] = ctx["list_codes"][d.id][1]
            n = ctx["suppress_below"]
            attrs["note"] = (
                f"有效答卷少于 {n} 份的只有代码、没有名称 / codes without a label: fewer than {n} accepted respondents"
            )
        else:
            attrs["note"] = "自由填写，个人信息已隐去 / free text, personal data masked"
    elif spec.kind in ("item", "attention"):
        rs_id = spec.owner.response_scale if spec.kind == "item" else spec.obj.response_scale
        rs = inst.response_scales[rs_id]
        attrs |= {
            "measure": "ordinal",
            "value_labels": dict(rs.labels),
            "missing": dict(rs.missing_options),
            "stata_missing": {c: "." + ctx["letters"][c] for c in rs.missing_options},
            "response_scale": rs_id,
        }
        if spec.kind == "item":
            attrs |= {"reverse": spec.obj.reverse, "scale": spec.owner.id}
            if spec.obj.reverse:
                attrs["note"] = (
                    "反向计分题：原始作答，量表得分中已反向 / reverse-keyed: raw answer, reversed in the score"
                )
        else:
            attrs["note"] = f"注意力检验题，应选 {spec.obj.expect} / attention check, expected {spec.obj.expect}"
    elif spec.kind == "scale":
        attrs |= {"measure": "scale", "scale": spec.ident, "note": _scale_note(inst, spec.obj)}
    elif spec.kind == "flag":
        attrs["value_labels"] = dict(_YES_NO)
    elif spec.ident == "duration_s":
        attrs["measure"] = "scale"
    elif spec.kind == "open":
        attrs["note"] = "开放题，个人信息已隐去 / open answer, personal data masked"
    elif spec.kind == "quarantine":
        attrs["quarantined_only"] = True
    elif spec.kind == "missing_codes":
        attrs["formats"] = ("parquet", "csv")
    return Variable(**attrs)


def _column(spec: _Spec, part: str, f: pd.DataFrame, ctx: dict) -> pd.Series:
    """The values of one variable for the rows of ``f`` (SPSS layout: missing codes in place)."""
    nan = pd.Series(np.nan, index=f.index, dtype=float)
    none = pd.Series(None, index=f.index, dtype=object)
    ident, kind = spec.ident, spec.kind
    if kind == "id":
        return _resp_ids(f)
    if ident == "wave":
        return f["wave"].astype(object) if "wave" in f else none
    if kind == "demographic":
        if ident not in f:
            return nan if (spec.obj.options or ident in ctx["list_codes"]) else none
        if spec.obj.options:
            return _codes_of(f[ident], spec.obj.options)
        if ident in ctx["list_codes"]:
            codes = ctx["list_codes"][ident][0]
            return f[ident].map(lambda v: codes.get(str(v), np.nan)).astype(float)
        return _mask_text_column(f[ident])
    if kind in ("item", "attention"):
        col = f[ident].astype(float) if ident in f else nan
        given = ctx["missing"][part].get(ident)
        return col if given is None else col.where(col.notna(), given.reindex(f.index))
    if kind == "scale":
        scores = ctx["scores"][part]
        return scores[ident] if ident in scores else nan
    if ident == "duration_s":
        return f["_duration_s"].astype(float) if "_duration_s" in f else nan
    if kind == "flag":
        return _flags(f, spec.obj)
    if kind == "open":
        return _mask_text_column(f[ident]) if ident in f else none
    if ident == "reasons":
        return f["reasons"].fillna("").astype(str) if "reasons" in f else none
    return _mask_text_column(f["_invalid_detail"]) if "_invalid_detail" in f else none


def build_export(
    accepted: pd.DataFrame,
    quarantined: pd.DataFrame,
    instrument: Instrument,
    *,
    suppress_below: int = MIN_UNIT_N,
    include_open_answers: bool = False,
) -> ExportData:
    """The export's tables and codebook, in memory: what :func:`write_datasets` writes.

    Parameters
    ----------
    accepted, quarantined : DataFrame
        Rows as :func:`jianfu.pipeline.clean` or :func:`jianfu.pipeline.load_wave` return them
        (``status`` accepted resp. quarantined), with the ``_file_sha256``, ``_sheet``, ``_row``,
        ``_duration_s``, ``_missing_codes`` and ``_flag_*`` (or ``reasons``) columns.
    instrument : Instrument
        The questionnaire the rows answer.
    suppress_below : int
        Units (and other answers from an outside list) with fewer accepted respondents keep their
        code only (default :data:`jianfu.report.profile.MIN_UNIT_N`).
    include_open_answers : bool
        Add the open answers, masked; left out by default since free text can identify a person
        even without a number in it.

    Returns
    -------
    ExportData
        Both tables with export names as columns, non-substantive answers as their codes (the
        SPSS layout), and the :class:`Variable` list in column order.
    """
    inst = instrument
    frames = {"accepted": accepted, "quarantined": quarantined}
    specs = _specs(inst, include_open_answers, has_wave=any("wave" in f for f in frames.values()))
    names = variable_names(s.ident for s in specs)
    all_missing = sorted({c for rs in inst.response_scales.values() for c in rs.missing_options})
    empty = pd.Series(dtype=object)
    ctx = {
        "suppress_below": suppress_below,
        # One Stata letter per non-substantive code over the whole instrument, in code order.
        "letters": {code: chr(ord("a") + k) for k, code in enumerate(all_missing)},
        "list_codes": {
            d.id: _list_codes(accepted.get(d.id, empty), quarantined.get(d.id, empty), suppress_below)
            for d in inst.demographics
            if d.options_from is not None or (d.id == "unit" and not d.options)
        },
        "scores": {p: score_scales(f, inst) if not f.empty else pd.DataFrame(index=f.index) for p, f in frames.items()},
        "missing": {p: _missing_answers(f) for p, f in frames.items()},
    }
    variables = [_describe(s, names[s.ident], inst, ctx) for s in specs]
    tables = {}
    for part, f in frames.items():
        cols = {
            v.name: _column(s, part, f, ctx).reset_index(drop=True)
            for s, v in zip(specs, variables, strict=True)
            if "sav" in v.formats and (part == "quarantined" or not v.quarantined_only)
        }
        tables[part] = pd.DataFrame(cols, index=range(len(f)))
    meta = {"id": inst.id, "version": inst.version, "title": inst.title.zh}
    return ExportData(tables["accepted"], tables["quarantined"], variables, meta)


# -- codebook ------------------------------------------------------------------------------


def _pairs(labels: dict[int, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in labels.items())


def codebook_frame(export: ExportData) -> pd.DataFrame:
    """One row per variable: name, jianfu id, labels, value labels, missing codes, keying, note."""
    rows = []
    for v in export.variables:
        rows.append(
            {
                "name": v.name,
                "source": v.source,
                "kind": v.kind,
                "label_zh": v.label_zh,
                "label_en": v.label_en,
                "measure": v.measure,
                "value_labels": _pairs(v.value_labels),
                "missing": _pairs(v.missing),
                "stata_missing": "; ".join(f"{k}={m}" for k, m in v.stata_missing.items()),
                "reverse": v.reverse,
                "scale": v.scale or "",
                "response_scale": v.response_scale or "",
                "formats": ",".join(v.formats),
                "quarantined_only": v.quarantined_only,
                "note": v.note,
            }
        )
    return pd.DataFrame(rows)


def _codebook_json(export: ExportData) -> list[dict]:
    out = []
    for v in export.variables:
        entry = asdict(v)
        for key in ("value_labels", "missing", "stata_missing"):
            entry[key] = {str(k): lab for k, lab in entry[key].items()}
        entry["formats"] = list(v.formats)
        out.append(entry)
    return out


# -- writers -------------------------------------------------------------------------------


def _fit(text: str, max_bytes: int, max_chars: int | None = None) -> str:
    """``text`` cut to the limits of a label field, with an ellipsis when cut."""
    limit_chars = max_chars if max_chars is not None else len(text)
    if len(text) <= limit_chars and len(text.encode("utf-8")) <= max_bytes:
        return text
    out = ""
    for ch in text:
        trial = out + ch
        if len(trial) + 1 > limit_chars or len((trial + "…").encode("utf-8")) > max_bytes:
            break
        out = trial
    return out + "…"


def _in_file(export: ExportData, frame: pd.DataFrame, fmt: str) -> list[Variable]:
    return [v for v in export.variables if v.name in frame and fmt in v.formats]


def _write_sav(export: ExportData, frame: pd.DataFrame, path: Path, part: str) -> None:
    import pyreadstat

    variables = _in_file(export, frame, "sav")
    numeric = {v.name for v in variables if pd.api.types.is_numeric_dtype(frame[v.name])}
    reversed_ = [v.name for v in variables if v.reverse]
    notes = [
        f"jianfu {__version__}: {export.instrument['id']} v{export.instrument['version']} ({part})",
        "反向计分题为原始作答，量表得分中已反向：",
        "reverse-keyed items hold the raw answers; the scale scores reverse them:",
        *_byte_lines(", ".join(reversed_) or "-", _SAV_NOTE_LINE_BYTES),
    ]
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=_fit(f"{export.instrument['title']} {export.instrument['version']}", _SAV_FILE_LABEL_BYTES),
        column_labels={v.name: _fit(v.label_zh, _SAV_VAR_LABEL_BYTES) for v in variables},
        variable_value_labels={
            v.name: {k: _fit(lab, _SAV_VALUE_LABEL_BYTES) for k, lab in (v.value_labels | v.missing).items()}
            for v in variables
            if v.value_labels or v.missing
        },
        missing_ranges={v.name: sorted(v.missing) for v in variables if v.missing},
        variable_measure={v.name: v.measure for v in variables},
        variable_format={v.name: _sav_format(v) for v in variables if v.name in numeric},
        note=notes,
    )


def _byte_lines(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` UTF-8 bytes (SPSS document lines are 80 bytes)."""
    lines, line = [], ""
    for ch in text:
        if len((line + ch).encode("utf-8")) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines


def _sav_format(v: Variable) -> str:
    if v.measure == "scale":
        return "F8.0" if v.source == "duration_s" else "F8.2"
    top = max([*v.value_labels, *v.missing, 1])
    return f"F{len(str(int(top)))}.0"


def _write_dta(export: ExportData, frame: pd.DataFrame, path: Path) -> None:
    import pyreadstat

    variables = _in_file(export, frame, "dta")
    out = frame.copy()
    for v in variables:
        if v.stata_missing:
            letters = {float(code): mark.lstrip(".") for code, mark in v.stata_missing.items()}
            out[v.name] = out[v.name].astype(object).map(lambda x, m=letters: m.get(x, x))
        elif out[v.name].dtype == object or pd.api.types.is_string_dtype(out[v.name]):
            out[v.name] = out[v.name].map(lambda x: x if x is None or x != x else _fit(str(x), _DTA_STRING_BYTES))
    pyreadstat.write_dta(
        out,
        str(path),
        file_label=_fit(f"{export.instrument['title']} {export.instrument['version']}", 320, _DTA_FILE_LABEL_CHARS),
        column_labels={v.name: _fit(v.label_zh, _DTA_VAR_LABEL_BYTES, _DTA_VAR_LABEL_CHARS) for v in variables},
        variable_value_labels={v.name: dict(v.value_labels) for v in variables if v.value_labels},
        missing_user_values={
            v.name: [m.lstrip(".") for m in v.stata_missing.values()] for v in variables if v.stata_missing
        },
    )


def _open_layout(export: ExportData, frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet/CSV layout: non-substantive codes leave the item columns for ``missing_codes``."""
    out = frame.copy()
    pairs: list[list[str]] = [[] for _ in range(len(out))]
    for v in export.variables:
        if v.missing and v.name in out:
            coded = out[v.name].isin([float(c) for c in v.missing])
            for pos in np.flatnonzero(coded.to_numpy()):
                pairs[pos].append(f"{v.name}={int(out[v.name].iloc[pos])}")
            out[v.name] = out[v.name].where(~coded)
    for v in export.variables:
        if v.name in out and (v.value_labels or v.missing):
            out[v.name] = out[v.name].astype("Int64")  # codes read as 4, not 4.0, in R and Excel
    name = next(v.name for v in export.variables if v.kind == "missing_codes")
    out[name] = pd.Series([";".join(p) or None for p in pairs], index=out.index, dtype=object)
    return out


def _write_parquet(export: ExportData, frame: pd.DataFrame, path: Path, part: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(_open_layout(export, frame), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta |= {
        b"jianfu.instrument": json.dumps(
            {"id": export.instrument["id"], "version": export.instrument["version"]}, ensure_ascii=False
        ).encode("utf-8"),
        b"jianfu.part": part.encode("utf-8"),
        b"jianfu.version": __version__.encode("utf-8"),
        b"jianfu.codebook": json.dumps(_codebook_json(export), ensure_ascii=False).encode("utf-8"),
    }
    pq.write_table(table.replace_schema_metadata(meta), str(path))


def write_datasets(
    accepted: pd.DataFrame,
    quarantined: pd.DataFrame,
    instrument: Instrument,
    stem: str | Path,
    formats: Sequence[str] = FORMATS,
    suppress_below: int = MIN_UNIT_N,
    *,
    include_open_answers: bool = False,
) -> dict[str, Path]:
    """Write the analysis datasets next to the report: ``<stem>.sav``, ``.dta``, ``.parquet``, ``.csv``.

    Parameters
    ----------
    accepted, quarantined : DataFrame
        The accepted and the quarantined rows (see :func:`build_export`).
    instrument : Instrument
        The questionnaire the rows answer.
    stem : path-like
        Path without suffix, e.g. the report's path without ``.xlsx``; its folder is created.
    formats : sequence of str
        Any of :data:`FORMATS`.
    suppress_below : int
        Units with fewer accepted respondents keep their code only.
    include_open_answers : bool
        Add the open answers, masked (default: left out).

    Returns
    -------
    dict
        Format → path of the accepted rows' file; ``"<format>_quarantined"`` → the quarantined
        rows' file (written also when there are none, so that the set of files is always the
        same); ``"codebook"`` → ``<stem>_codebook.csv`` when CSV is written.

    Notes
    -----
    Text files are UTF-8; the CSV files carry a byte-order mark so that Excel opens the Chinese
    labels correctly. The Parquet metadata holds ``jianfu.instrument`` (id, version),
    ``jianfu.part`` and ``jianfu.codebook`` (JSON, one object per variable). In R,
    ``haven::read_sav(path, user_na = TRUE)`` keeps the user-missing codes as ``labelled_spss``.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"不支持的导出格式：{', '.join(unknown)}（可选：{', '.join(FORMATS)}） / "
            f"unknown export format(s) {unknown}; choose from {list(FORMATS)}"
        )
    export = build_export(
        accepted, quarantined, instrument, suppress_below=suppress_below, include_open_answers=include_open_answers
    )
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in [f for f in FORMATS if f in formats]:
        for part, frame in (("accepted", export.accepted), ("quarantined", export.quarantined)):
            key = fmt if part == "accepted" else f"{fmt}_quarantined"
            path = stem.with_name(stem.name + ("" if part == "accepted" else "_quarantined") + f".{fmt}")
            if fmt == "sav":
                _write_sav(export, frame, path, part)
            elif fmt == "dta":
                _write_dta(export, frame, path)
            elif fmt == "parquet":
                _write_parquet(export, frame, path, part)
            else:
                _open_layout(export, frame).to_csv(path, index=False, encoding="utf-8-sig")
            written[key] = path
    if "csv" in formats:
        path = stem.with_name(stem.name + "_codebook.csv")
        codebook_frame(export).to_csv(path, index=False, encoding="utf-8-sig")
        written["codebook"] = path
    return written
