"""Turn one uploaded spreadsheet into coded responses, with every problem collected.

Stages: read safely (:mod:`jianfu.ingest.readers`) → detect the layout (``template``, ``wjx-text``,
``wjx-code``, ``tencent``, ``csv``, ``xlsx``) → match headers to instrument ids by their
normalised text → map answers to codes (labels, codes, ``5(非常同意)``, aliases; blanks and
``(跳过)`` are missing) → parse paradata (``所用时间`` as ``312秒`` or ``5分12秒``) → drop
personal data at the door. A file whose structure is wrong (no recognised question, duplicated
questions, unreadable) is rejected as a whole; a row with a cell that is not an allowed answer is
kept and quarantined as ``invalid`` while the other rows are analysed, unless too many rows are
invalid or ``strict`` is asked for. Nothing is dropped silently, and the clerk gets the full list
of what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from jianfu.ingest.readers import Limits, RawSheet, read_sheet, sha256_file
from jianfu.ingest.template import CODEBOOK_SHEET, RESPONSE_SHEET
from jianfu.ingest.units import UnitList
from jianfu.instrument import Instrument
from jianfu.normalize import MISSING_TOKENS, header_key, nfkc, value_key
from jianfu.privacy import KEY_PRIORITY, keyed_hash, mask_series, mask_value, pii_kind_of_header, pii_kind_of_values
from jianfu.problems import Problem, error, warning

__all__ = ["IngestResult", "ingest_file", "META_COLUMNS", "parse_duration"]

#: Provenance and paradata columns every ingested frame starts with.
META_COLUMNS = ["_file_sha256", "_file_name", "_sheet", "_row", "_submitted", "_duration_s", "_respondent_key"]
#: Set on rows quarantined as ``invalid``: the invalid cells, ``column=value`` (masked), joined by "；".
INVALID_DETAIL = "_invalid_detail"
#: Per row, the non-scored answers (不适用 / 不了解) as ``item=code`` pairs joined by ``;``.
MISSING_CODES = "_missing_codes"
_MAX_CELL_PROBLEMS_PER_COLUMN = 10

_WJX_META = {"序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自ip"}
_TENCENT_META = {
    "编号",
    "开始答题时间",
    "结束答题时间",
    "答题时长",
    "起答时间",
    "结束时间",
    "提交时间",
    "渠道",
    "用户类型",
    "用户标识",
    "昵称",
}
_DURATION_HEADERS = {"所用时间", "答题时长", "duration_s", "用时", "用时秒", "答题用时", "答题用时秒"}
_SUBMITTED_HEADERS = {"提交答卷时间", "结束答题时间", "提交时间", "结束时间", "submitted"}
_IGNORED_META = _WJX_META | _TENCENT_META | {"respondent", "备注"}
_DURATION_KEYS = {header_key(h) for h in _DURATION_HEADERS}
_SUBMITTED_KEYS = {header_key(h) for h in _SUBMITTED_HEADERS}
_IGNORED_KEYS = {header_key(h) for h in _IGNORED_META}
_DURATION_RE = re.compile(
    r"^(?:(\d+(?:\.\d+)?)(?:小时|时|h))?(?:(\d+(?:\.\d+)?)(?:分钟|分|m|min))?(?:(\d+(?:\.\d+)?)(?:秒|s|sec))?$"
)
_CODE_LABEL_RE = re.compile(r"^(\d+)(?:\((.*)\)|[.、:](.*))$")


@dataclass
class IngestResult:
    """What came of one file: its coded rows (``frame``) and every problem found."""

    path: str
    name: str
    sha256: str
    format: str = "unknown"
    sheet: str | None = None
    frame: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    n_rows: int = 0
    matched: dict[str, str] = field(default_factory=dict)
    archive_path: str | None = None

    @property
    def errors(self) -> list[Problem]:
        """The problems that reject the file."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that leave the file accepted."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def status(self) -> str:
        """``rejected`` when there is an error or no frame, else ``accepted``."""
        return "rejected" if self.errors or self.frame is None else "accepted"

    def summary(self) -> dict:
        """The per-file entry of ``jianfu run --json`` (messages as strings)."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "status": self.status,
            "sheet": self.sheet,
            "rows": self.n_rows,
            "errors": [str(p) for p in self.errors],
            "warnings": [str(p) for p in self.warnings],
        }


def parse_duration(values: pd.Series) -> pd.Series:
    """Seconds from ``312``, ``312秒``, ``5分12秒``, ``1小时2分`` or ``0:05:12``; unparseable → NaN."""

    def one(v: object) -> float:
        s = value_key(v)
        if not s:
            return np.nan
        try:
            return float(s)
        except ValueError:
            pass
        m = _DURATION_RE.match(s)
        if m and any(m.groups()):
            h, mi, se = (float(g) if g else 0.0 for g in m.groups())
            return h * 3600 + mi * 60 + se
        parts = s.split(":")
        if 2 <= len(parts) <= 3 and all(p.replace(".", "", 1).isdigit() for p in parts):
            secs = 0.0
            for p in parts:
                secs = secs * 60 + float(p)
            return secs
        return np.nan

    uniq = pd.unique(values)
    return values.map(dict(zip(uniq, (one(u) for u in uniq), strict=True)))


def _targets(inst: Instrument) -> tuple[dict[str, str], dict[str, str]]:
    """Header key → id for every question, and id → kind (likert/demo/open)."""
    key_to_id: dict[str, str] = {}
    kind: dict[str, str] = {}
    for s in inst.first_order_scales:
        for item in s.items:
            kind[item.id] = "likert"
            for t in (item.text.zh, item.text.en, item.id):
                key_to_id[header_key(t)] = item.id
    for c in inst.attention_checks:
        kind[c.id] = "likert"
        for t in (c.text.zh, c.text.en, c.id):
            key_to_id[header_key(t)] = c.id
    for d in inst.demographics:
        kind[d.id] = "demo"
        for t in (d.text.zh, d.text.en, d.id):
            key_to_id[header_key(t)] = d.id
    for o in inst.open_questions:
        kind[o.id] = "open"
        for t in (o.text.zh, o.text.en, o.id):
            key_to_id[header_key(t)] = o.id
    return key_to_id, kind


def _match(key: str, key_to_id: dict[str, str]) -> str | None:
    if key in key_to_id:
        return key_to_id[key]
    if len(key) < 6:
        return None
    # Exports sometimes prefix a grid row with its stem ("…的看法—行文本") or truncate it.
    hits = {i for k, i in key_to_id.items() if len(k) >= 6 and (key.endswith(k) or k.startswith(key))}
    return hits.pop() if len(hits) == 1 else None


def _likert_lookup(inst: Instrument, scale_id: str) -> dict[str, float]:
    rs = inst.response_scales[scale_id]
    lookup: dict[str, float] = {}
    for code, label in (rs.labels | rs.missing_options).items():
        lookup[value_key(label)] = float(code)
        lookup[str(code)] = float(code)
    for code, aliases in rs.aliases.items():
        for a in aliases:
            lookup.setdefault(value_key(a), float(code))
    return lookup


def _option_lookup(options: list[str]) -> dict[str, str]:
    lookup = {value_key(o): o for o in options}
    for i, o in enumerate(options, start=1):
        lookup.setdefault(str(i), o)
    return lookup


def _map_column(raw: pd.Series, lookup: dict, missing) -> tuple[pd.Series, dict[object, str]]:
    """Map a column through ``lookup`` by unique value; returns mapped values and the bad raw values."""
    # Each distinct value is looked up once and the column is rebuilt from its codes: Series.map
    # would hash every cell again (a third of a 10⁵-row file's parse time).
    codes, uniq = pd.factorize(raw, use_na_sentinel=False)
    mapping: dict[object, object] = {}
    bad: dict[object, str] = {}
    for u in uniq:
        k = value_key(u)
        if k in MISSING_TOKENS:
            mapping[u] = missing
            continue
        if k in lookup:
            mapping[u] = lookup[k]
            continue
        m = _CODE_LABEL_RE.match(k)
        if m:
            code, label = m.group(1), m.group(2) or m.group(3) or ""
            by_code = lookup.get(code)
            if by_code is not None and (not label or lookup.get(label) == by_code):
                mapping[u] = by_code
                continue
        mapping[u] = missing
        bad[u] = nfkc(u)
    if not len(raw):
        return raw.map(mapping), bad
    # The dtype Series.map gives: the one inferred from the mapped values.
    mapped = pd.Series([mapping[u] for u in uniq]).take(codes)
    mapped.index = raw.index
    mapped.name = raw.name
    return mapped, bad


def _report_unlisted(result, bad: dict, col: pd.Series, rows, header: str, units: UnitList, where: dict) -> None:
    """One error per unlisted unit spelling, with its rows and the closest names on the list."""
    for raw_value, shown in bad.items():
        hit_rows = [int(rows[p]) for p in col[col == raw_value].index]
        close = units.closest(shown)
        hint_zh = f"是否为：{'、'.join(close)}？" if close else ""
        hint_en = f" Did you mean: {', '.join(close)}?" if close else ""
        more = f" 等 {len(hit_rows)} 行" if len(hit_rows) > 1 else ""
        result.problems.append(
            error(
                "unit.not_listed",
                f"单位“{shown}”不在本轮单位名单（{Path(units.source).name}）中{more}。{hint_zh}",
                f"unit '{shown}' is not on this wave's units list ({Path(units.source).name})"
                f"{f' ({len(hit_rows)} rows)' if len(hit_rows) > 1 else ''}.{hint_en}",
                "改为名单中的单位名称或编码；若确为新单位，请先把它加入单位名单再重新运行",
                "change it to a name or code on the list; if it is a new unit, add it to the units list and run again",
                row=hit_rows[0],
                column=header,
                value=shown,
                **where,
            )
        )


def _detect_format(sheet: RawSheet, keys: list[str], likert_values: list[pd.Series]) -> str:
    keyset = set(keys)
    if sheet.sheet == RESPONSE_SHEET and CODEBOOK_SHEET in sheet.sheet_names:
        return "template"
    if {"序号", "提交答卷时间"} <= keyset or {"提交答卷时间", "所用时间"} <= keyset:
        vals = pd.concat(likert_values) if likert_values else pd.Series(dtype=object)
        # Normalise each distinct answer once, not every cell (a 10⁵-row export has ~10⁷ cells).
        counts = vals.value_counts(dropna=False)
        keys = [value_key(v) for v in counts.index]
        answered = np.array([k not in MISSING_TOKENS for k in keys])
        digits = np.array([k.isdigit() for k in keys])
        total = counts.to_numpy()[answered].sum()
        numeric = counts.to_numpy()[answered & digits].sum() / total if total else 0.0
        return "wjx-code" if numeric >= 0.9 else "wjx-text"
    if len(keyset & {header_key(t) for t in _TENCENT_META}) >= 2:
        return "tencent"
    return "csv" if sheet.container.startswith("csv") else "xlsx"


def _letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 → A, 27 → AB."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_CELL_CODES = {"value.not_allowed", "value.not_allowed_more", "value.formula", "unit.not_listed"}


def _accept_partially(
    result: IngestResult, inst: Instrument, n_invalid: int, n: int, strict: bool, where: dict
) -> None:
    """Turn invalid-cell errors into warnings (the rows are quarantined as ``invalid``).

    Unless ``strict`` or too many rows are invalid: then the file stays rejected and says why.
    """
    share, limit = n_invalid / max(n, 1), inst.quality.invalid.max_share
    if strict:
        return
    if share > limit:
        result.problems.append(
            error(
                "file.too_many_invalid",
                f"{n_invalid} 行（{share:.0%}）含无效答案，超过 {limit:.0%} 的上限，整个文件未被接收",
                f"{n_invalid} rows ({share:.0%}) hold invalid answers, more than the {limit:.0%} limit: the file was "
                "not accepted",
                "这通常说明用错了问卷或导出格式有误；请核对后重新导出上传，或按下列问题逐一修改",
                "this usually means the wrong questionnaire or a damaged export: check it and export again, or fix "
                "the cells listed",
                **where,
            )
        )
        return
    note_zh, note_en = (
        "；该行已隔离，不参与分析，其余行照常分析",
        "; the row is quarantined and left out of the analysis",
    )
    result.problems = [
        replace(p, severity="warning", zh=p.zh + note_zh, en=p.en + note_en)
        if p.code in _CELL_CODES and p.severity == "error"
        else p
        for p in result.problems
    ]


def ingest_file(
    path: str | Path,
    inst: Instrument,
    *,
    limits: Limits = Limits(),
    sheet: str | None = None,
    secret: bytes | None = None,
    display_name: str | None = None,
    strict: bool | None = None,
    units: UnitList | None = None,
) -> IngestResult:
    """Read, match, map and de-identify one upload.

    Parameters
    ----------
    path : path-like
        The uploaded file (``.xlsx``, ``.xls``, ``.csv``).
    inst : Instrument
        The questionnaire the file answers.
    secret : bytes, optional
        Key for the respondent hash; without it no respondent key is kept.
    strict : bool, optional
        Reject the file for any invalid cell. By default (``quality.strict`` of the instrument,
        false) a row with an invalid cell is kept and quarantined as ``invalid`` — its
        ``_invalid_detail`` names the cells — and the file is rejected only when more than
        ``quality.invalid.max_share`` of its rows are invalid.
    units : UnitList, optional
        The wave's coded unit list (:mod:`jianfu.ingest.units`): the answers to a demographic with
        ``options_from: units`` must name a unit on it (by name, code or alias) and become its name.

    Returns
    -------
    IngestResult
        ``frame`` holds :data:`META_COLUMNS` then one column per matched instrument id
        (Likert codes as float, demographics as their canonical option, open answers masked).
    """
    path = Path(path)
    name = display_name or path.name
    try:
        digest = sha256_file(path)
    except OSError:
        digest = ""
    result = IngestResult(str(path), name, digest)
    raw = read_sheet(path, limits=limits, sheet=sheet, display_name=name)
    if isinstance(raw, list):
        result.problems = raw
        return result
    result.sheet = raw.sheet
    result.problems = list(raw.problems)
    where = {"file": name, "sheet": raw.sheet}
    key_to_id, kind = _targets(inst)
    keys = [header_key(h) for h in raw.header]

    matched: dict[int, str] = {}
    pii_cols: dict[int, str] = {}
    meta_cols: dict[str, int] = {}
    for j, (h, k) in enumerate(zip(raw.header, keys, strict=True)):
        ident = _match(k, key_to_id) if k else None
        pii = pii_kind_of_header(h) if ident is None else None
        if ident is not None:
            if ident in matched.values():
                # Both columns may carry the same header text: name them by their letters.
                c0 = next(c for c, i in matched.items() if i == ident)
                a, b = _letter(raw.first_column + c0), _letter(raw.first_column + j)
                result.problems.append(
                    error(
                        "header.duplicate",
                        f"题目“{ident}”出现在两列：第 {a} 列“{raw.header[c0]}”和第 {b} 列“{h}”",
                        f"question '{ident}' appears in two columns: column {a} ('{raw.header[c0]}') and column {b} "
                        f"('{h}')",
                        f"删除其中一列（例如第 {b} 列）后重新上传",
                        f"delete one of them (e.g. column {b}) and upload again",
                        column=f"{b}: {h}",
                        **where,
                    )
                )
                continue
            matched[j] = ident
        elif pii:
            pii_cols[j] = pii
        elif k in _DURATION_KEYS and "duration" not in meta_cols:
            meta_cols["duration"] = j
        elif k in _SUBMITTED_KEYS and "submitted" not in meta_cols:
            meta_cols["submitted"] = j
        elif k in _IGNORED_KEYS:
            continue
        else:
            values_kind = pii_kind_of_values(raw.data[j])
            if values_kind:
                pii_cols[j] = values_kind
            elif k:
                result.problems.append(
                    warning(
                        "header.unknown",
                        "这一列不属于问卷，已忽略",
                        "this column is not part of the questionnaire and was ignored",
                        "如果它本应是问卷题目，请使用模板中的原题目文字作为列名",
                        "if it should be a question, use the question text from the template as its header",
                        column=h,
                        **where,
                    )
                )
    for j, kind_ in pii_cols.items():
        result.problems.append(
            warning(
                "privacy.column_dropped",
                f"这一列含个人信息（{kind_}），已在入库前删除",
                f"this column holds personal data ({kind_}) and was removed before storage",
                "今后导出时可不包含此列",
                "you may leave this column out of future exports",
                column=raw.header[j],
                **where,
            )
        )

    likert_ids = [i for i in matched.values() if kind[i] == "likert"]
    result.format = _detect_format(raw, keys, [raw.data[j] for j, i in matched.items() if kind[i] == "likert"])
    all_items = [i.id for i in inst.items]
    missing_items = [i for i in all_items if i not in matched.values()]
    if not likert_ids or len(missing_items) == len(all_items):
        result.problems.append(
            error(
                "sheet.no_items",
                "没有识别出任何问卷题目，可能上传了错误的文件或使用了其他问卷",
                "no question of the instrument was recognised: wrong file or another questionnaire",
                f"请使用“{inst.title.zh}”的模板或问卷星导出的原始答卷",
                f"use the {inst.id} template or the original export",
                **where,
            )
        )
        return result
    if missing_items:
        result.problems.append(
            warning(
                "header.missing_items",
                f"有 {len(missing_items)} 道题目没有找到对应的列：{'、'.join(missing_items[:15])}"
                + ("……" if len(missing_items) > 15 else ""),
                f"{len(missing_items)} instrument question(s) have no column: {', '.join(missing_items[:15])}",
                "检查这些题目的列名是否被修改或删除",
                "check whether those columns were renamed or deleted",
                **where,
            )
        )

    n = len(raw.data)
    rows = np.arange(raw.first_data_row, raw.first_data_row + n)
    out: dict[str, object] = {
        "_file_sha256": digest,
        "_file_name": name,
        "_sheet": raw.sheet,
        "_row": rows,
        "_submitted": pd.to_datetime(raw.data[meta_cols["submitted"]].map(nfkc), errors="coerce", format="mixed")
        if "submitted" in meta_cols
        else pd.NaT,
        "_duration_s": parse_duration(raw.data[meta_cols["duration"]]).astype(float)
        if "duration" in meta_cols
        else np.nan,
        "_respondent_key": None,
    }
    if secret is not None:
        for preferred in KEY_PRIORITY:
            col = next((j for j, k in pii_cols.items() if k == preferred), None)
            if col is not None:
                out["_respondent_key"] = keyed_hash(raw.data[col], secret).to_numpy()
                break

    invalid_cells: dict[int, list[str]] = {}  # row position → "column=value" of each invalid cell
    missing_codes: dict[int, list[str]] = {}  # row position → "item=8" for each 不适用 / 不了解 answer
    scale_of = inst.likert_response_scale()
    lookups = {rs: _likert_lookup(inst, rs) for rs in set(scale_of.values())}
    options = {d.id: d.options for d in inst.demographics}
    listed = {d.id: d.options_from for d in inst.demographics}
    for j, ident in matched.items():
        col = raw.data[j]
        if kind[ident] == "likert":
            rs = inst.response_scales[scale_of[ident]]
            mapped, bad = _map_column(col, lookups[scale_of[ident]], np.nan)
            allowed = "、".join(f"{c}={lab}" for c, lab in (rs.labels | rs.missing_options).items())
            values = mapped.astype(float)
            if rs.missing_options:
                # 不适用 / 不了解 are answers, not scores: kept as their own code beside the item, NaN in it.
                coded = values.isin([float(c) for c in rs.missing_options])
                for pos in np.flatnonzero(coded.to_numpy()):
                    missing_codes.setdefault(int(pos), []).append(f"{ident}={int(values.iloc[pos])}")
                values = values.where(~coded)
            out[ident] = values.to_numpy()
        elif kind[ident] == "demo" and options.get(ident):
            mapped, bad = _map_column(col, _option_lookup(options[ident]), None)
            allowed = "、".join(options[ident])
            out[ident] = mapped.to_numpy(dtype=object)
        elif kind[ident] == "demo" and units is not None and listed.get(ident) == "units":
            mapped, bad = _map_column(col, units.lookup, None)
            out[ident] = mapped.to_numpy(dtype=object)
            _report_unlisted(result, bad, col, rows, raw.header[j], units, where)
            for pos in col[col.isin(list(bad))].index:
                invalid_cells.setdefault(int(pos), []).append(f"{raw.header[j]}={mask_value(bad[col.iloc[pos]])}")
            bad = {}
        else:
            masked, n_masked = mask_series(col)
            out[ident] = masked.to_numpy(dtype=object)
            bad = {}
            if n_masked:
                result.problems.append(
                    warning(
                        "privacy.masked",
                        f"{n_masked} 个单元格中的身份证号、手机号、邮箱或 IP 已被隐去",
                        f"ID/phone numbers, e-mail or IP addresses in {n_masked} cell(s) were masked",
                        "请提醒受访者不要在开放题中填写个人信息",
                        "remind respondents not to enter personal data in open answers",
                        column=raw.header[j],
                        **where,
                    )
                )
        if bad:
            positions = col[col.isin(list(bad))].index
            for pos in positions:
                invalid_cells.setdefault(int(pos), []).append(f"{raw.header[j]}={mask_value(bad[col.iloc[pos]])}")
            for pos in positions[:_MAX_CELL_PROBLEMS_PER_COLUMN]:
                result.problems.append(
                    error(
                        "value.not_allowed",
                        f"答案不在允许的取值内（允许：{allowed}）",
                        f"the answer is not an allowed value (allowed: {allowed})",
                        "改为允许的选项文字或编码；未作答请留空",
                        "change it to one of the allowed labels or codes; leave unanswered cells blank",
                        row=int(rows[pos]),
                        column=raw.header[j],
                        value=bad[col.iloc[pos]],
                        **where,
                    )
                )
            if len(positions) > _MAX_CELL_PROBLEMS_PER_COLUMN:
                result.problems.append(
                    error(
                        "value.not_allowed_more",
                        f"本列还有 {len(positions) - _MAX_CELL_PROBLEMS_PER_COLUMN} 个类似的错误值",
                        f"{len(positions) - _MAX_CELL_PROBLEMS_PER_COLUMN} more cells in this column "
                        "have values that are not allowed",
                        f"允许的取值：{allowed}",
                        f"allowed values: {allowed}",
                        column=raw.header[j],
                        **where,
                    )
                )
    for row, j, formula in raw.formulas:
        if j in matched and row >= raw.first_data_row:
            invalid_cells.setdefault(int(row - raw.first_data_row), []).append(f"{raw.header[j]}=(公式 formula)")
            result.problems.append(
                error(
                    "value.formula",
                    "答案单元格是公式而不是填写的值",
                    "the answer cell holds a formula, not an answer",
                    "把公式替换为实际答案（复制后“选择性粘贴→数值”），或从问卷平台重新导出",
                    "replace the formula with the answer itself (copy, then Paste Special → Values), or export again",
                    row=row,
                    column=raw.header[j],
                    value=formula,
                    **where,
                )
            )
    frame = pd.DataFrame({k: v for k, v in out.items()}, index=range(n))
    frame["_invalid_detail"] = pd.Series(
        {pos: "；".join(cells) for pos, cells in invalid_cells.items()}, index=range(n), dtype=object
    )
    frame[MISSING_CODES] = pd.Series(
        {pos: ";".join(cells) for pos, cells in missing_codes.items()}, index=range(n), dtype=object
    )
    if invalid_cells:
        _accept_partially(result, inst, len(invalid_cells), n, inst.quality.strict if strict is None else strict, where)
    if "duration" not in meta_cols and result.format.startswith("wjx"):
        result.problems.append(
            warning(
                "meta.no_duration",
                "没有找到“所用时间”列，无法识别作答过快的答卷",
                "no completion-time column: speeders cannot be detected",
                "导出时请保留“所用时间”列",
                "keep the 所用时间 column when exporting",
                **where,
            )
        )
    elif "duration" in meta_cols and frame["_duration_s"].isna().any():
        bad_rows = rows[frame["_duration_s"].isna().to_numpy()][:5]
        n_bad, examples = int(frame["_duration_s"].isna().sum()), ", ".join(map(str, bad_rows))
        result.problems.append(
            warning(
                "meta.bad_duration",
                f"有 {n_bad} 行的作答时间无法识别（如第 {examples} 行）",
                f"{n_bad} completion time(s) could not be parsed (e.g. rows {examples})",
                "作答时间应写作“312秒”或“5分12秒”",
                "write completion times like 312秒 or 5分12秒",
                column=raw.header[meta_cols["duration"]],
                **where,
            )
        )
    result.frame = frame
    result.n_rows = n
    result.matched = {raw.header[j]: i for j, i in matched.items()}
    return result
