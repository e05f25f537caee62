"""Read one uploaded spreadsheet safely and fast: xlsx/xls via python-calamine, CSV via pandas.

A large .xlsx sheet is read in blocks of rows (:mod:`jianfu.ingest.xlsx_blocks`), so calamine never
holds all of its cells at once.

Files are inspected before they are parsed: size limits, the real container type (a CSV
renamed ``.xlsx`` is read as CSV with a warning), zip bombs (total and ratio of the
uncompressed size), macros (``vbaProject.bin``; never executed, always refused) and
password protection (an OLE container where a zip was expected). Every refusal is a
:class:`~jianfu.problems.Problem` in Chinese and English.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import pandas as pd

from jianfu.ingest import xlsx_blocks
from jianfu.problems import Problem, error, warning

__all__ = ["Limits", "RawSheet", "sha256_file", "read_sheet"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXCEL_EXT = {".xlsx", ".xls", ".xlsb", ".ods"}
_MACRO_EXT = {".xlsm", ".xltm", ".xlam"}
_TEXT_EXT = {".csv", ".txt"}


@dataclass(frozen=True)
class Limits:
    """Refusal thresholds for uploads; :meth:`from_env` reads overrides such as ``JIANFU_MAX_MB=200``."""

    max_bytes: int = 100 * 2**20
    max_uncompressed_bytes: int = 1 * 2**30
    max_compression_ratio: float = 200.0
    max_rows: int = 500_000
    max_columns: int = 2_000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        """Limits read from the environment.

        ``JIANFU_MAX_MB``, ``JIANFU_MAX_UNCOMPRESSED_MB``, ``JIANFU_MAX_RATIO``, ``JIANFU_MAX_ROWS``
        and ``JIANFU_MAX_COLUMNS`` are applied where set.
        """
        import os

        env = os.environ if env is None else env
        base = cls()
        mb = 2**20
        return cls(
            max_bytes=int(float(env.get("JIANFU_MAX_MB", base.max_bytes / mb)) * mb),
            max_uncompressed_bytes=int(
                float(env.get("JIANFU_MAX_UNCOMPRESSED_MB", base.max_uncompressed_bytes / mb)) * mb
            ),
            max_compression_ratio=float(env.get("JIANFU_MAX_RATIO", base.max_compression_ratio)),
            max_rows=int(env.get("JIANFU_MAX_ROWS", base.max_rows)),
            max_columns=int(env.get("JIANFU_MAX_COLUMNS", base.max_columns)),
        )


@dataclass
class RawSheet:
    """Cell values of one sheet: ``header`` and ``data`` (object columns, positional).

    ``first_data_row`` is the 1-based spreadsheet row number of ``data.iloc[0]``;
    ``first_column`` the 0-based spreadsheet column of ``header[0]``. ``formulas`` lists the
    cells that hold a formula rather than a value: ``(row, column index in header, formula)``.
    """

    file: str
    sheet: str
    sheet_names: list[str]
    header: list[str]
    data: pd.DataFrame
    first_data_row: int
    container: str
    problems: list[Problem] = field(default_factory=list)
    first_column: int = 0
    formulas: list[tuple[int, int, str]] = field(default_factory=list)


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _refuse(code: str, zh: str, en: str, fix_zh: str, fix_en: str, name: str) -> list[Problem]:
    return [error(code, zh, en, fix_zh, fix_en, file=name)]


def _inspect_zip(path: Path, name: str, limits: Limits) -> list[Problem]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        return _refuse(
            "file.corrupt",
            "文件已损坏，无法打开",
            "the file is corrupt and cannot be opened",
            "请从问卷平台重新导出，或在 Excel 中打开后另存为 .xlsx 再上传",
            "export it again from the survey platform, or open it in Excel and save as .xlsx",
            name,
        )
    if any(i.filename.lower().endswith("vbaproject.bin") for i in infos):
        return _refuse(
            "file.macro",
            "文件包含宏（VBA 代码），出于安全原因不予处理",
            "the workbook contains macros (VBA), which are never run and not accepted",
            "在 Excel 中另存为“Excel 工作簿 (*.xlsx)”（不含宏）后再上传",
            "save it in Excel as 'Excel Workbook (*.xlsx)' without macros and upload again",
            name,
        )
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > limits.max_uncompressed_bytes or total / packed > limits.max_compression_ratio:
        return _refuse(
            "file.zip_bomb",
            f"文件解压后过大（{total / 2**20:.0f} MB，压缩比 {total / packed:.0f}），疑似异常文件",
            f"the workbook expands to {total / 2**20:.0f} MB (ratio {total / packed:.0f}), beyond the safety limits",
            "请确认文件来源；如确为问卷数据，请删除空白行列或拆分为多个文件后上传",
            "check where the file came from; if it is survey data, delete blank rows/columns "
            "or split it into several files",
            name,
        )
    return []


def _decode_csv(raw: bytes) -> tuple[str, str]:
    """The text and its encoding (UTF-8, else GBK/GB18030).

    Raises
    ------
    UnicodeDecodeError
        Neither decodes the whole file; ``start`` is where UTF-8 first failed (a file mostly in
        UTF-8 with a line pasted from a GBK source fails there).
    """
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        first_failure = exc
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise first_failure from None


def _first_header_row(rows: list[list]) -> int | None:
    for i, row in enumerate(rows):
        if sum(1 for v in row if v not in (None, "") and str(v).strip()) >= 2:
            return i
    return None


def _from_rows(
    rows: list[list],
    name: str,
    sheet: str,
    sheet_names: list[str],
    container: str,
    limits: Limits,
    problems: list[Problem],
    start: tuple[int, int] = (0, 0),
) -> RawSheet | list[Problem]:
    h = _first_header_row(rows)
    if h is None:
        return problems + [
            error(
                "sheet.empty",
                "工作表为空，没有找到表头和数据",
                "the sheet is empty: no header, no data",
                "请确认上传的是导出的答卷数据文件，而不是空白文件",
                "upload the exported response data, not an empty file",
                file=name,
                sheet=sheet,
            )
        ]
    header = ["" if v is None else str(v).strip() for v in rows[h]]
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    header = header[:width]
    body = [r[:width] + [None] * (width - len(r)) for r in rows[h + 1 :]]
    # Trailing rows that are entirely blank (formatted but empty) carry no answers.
    while body and all(v in (None, "") for v in body[-1]):
        body.pop()
    if not body:
        return problems + [
            error(
                "sheet.header_only",
                "只有表头，没有任何答卷数据",
                "the sheet has a header row but no responses",
                "请在问卷平台导出时选择“全部答卷”，确认文件中有数据行",
                "export all responses and check the file has data rows",
                file=name,
                sheet=sheet,
                row=h + 1 + start[0],
            )
        ]
    if len(body) > limits.max_rows:
        return problems + [
            error(
                "file.too_many_rows",
                f"数据行数（{len(body)}）超过上限 {limits.max_rows}",
                f"{len(body)} data rows exceed the limit of {limits.max_rows}",
                "请拆分为多个文件后上传",
                "split the file into several files",
                file=name,
                sheet=sheet,
            )
        ]
    if width > limits.max_columns:
        return problems + [
            error(
                "file.too_many_columns",
                f"列数（{width}）超过上限 {limits.max_columns}",
                f"{width} columns exceed the limit of {limits.max_columns}",
                "请删除与问卷无关的列",
                "delete columns that are not part of the survey",
                file=name,
                sheet=sheet,
            )
        ]
    data = pd.DataFrame(body, dtype=object)
    return RawSheet(
        name, sheet, sheet_names, header, data, h + 2 + start[0], container, problems, first_column=start[1]
    )


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of an .xlsx holds a formula (``<f>`` element), scanning the XML as bytes."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.startswith("xl/worksheets/") or not info.filename.endswith(".xml"):
                continue
            tail = b""
            with zf.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    block = tail + chunk
                    if b"<f>" in block or b"<f " in block or b"<x:f" in block:
                        return True
                    tail = block[-8:]
    return False


def _formula_cells(path: Path, sheet: str, first_column: int, limit: int = 1000) -> list[tuple[int, int, str]]:
    """Formula cells of ``sheet`` (only called when :func:`_has_formulas` found some)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        found = []
        for row in wb[sheet].iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    found.append((cell.row, cell.column - 1 - first_column, str(cell.value)))
                    if len(found) >= limit:
                        return found
        return found
    finally:
        wb.close()


def read_sheet(
    path: str | Path, *, limits: Limits = Limits(), sheet: str | None = None, display_name: str | None = None
) -> RawSheet | list[Problem]:
    """Read the first sheet with data (or ``sheet``) of an upload.

    Returns a :class:`RawSheet`, or the list of problems that made the file unreadable.
    """
    path = Path(path)
    name = display_name or path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _refuse(
            "file.unreadable",
            f"无法读取文件（{exc.strerror}）",
            f"cannot read the file ({exc.strerror})",
            "请确认文件存在且未被其他程序占用",
            "check that the file exists and is not locked",
            name,
        )
    if size > limits.max_bytes:
        return _refuse(
            "file.too_large",
            f"文件过大（{size / 2**20:.0f} MB，上限 {limits.max_bytes / 2**20:.0f} MB）",
            f"the file is too large ({size / 2**20:.0f} MB; limit {limits.max_bytes / 2**20:.0f} MB)",
            "请删除无关的工作表、图片和空白行，或拆分为多个文件",
            "remove unrelated sheets, pictures and blank rows, or split the file",
            name,
        )
    if size == 0:
        return _refuse(
            "file.empty",
            "文件为空（0 字节）",
            "the file is empty (0 bytes)",
            "请重新导出后上传",
            "export the file again and upload it",
            name,
        )
    ext = path.suffix.lower()
    if ext in _MACRO_EXT:
        return _refuse(
            "file.macro",
            "启用宏的工作簿（.xlsm）出于安全原因不予处理",
            "macro-enabled workbooks (.xlsm) are not accepted, for safety",
            "在 Excel 中另存为“Excel 工作簿 (*.xlsx)”后再上传",
            "save it in Excel as .xlsx and upload again",
            name,
        )
    if ext not in _EXCEL_EXT | _TEXT_EXT:
        return _refuse(
            "file.type",
            f"不支持的文件类型“{ext or '无扩展名'}”",
            f"unsupported file type '{ext or 'none'}'",
            "请上传 .xlsx、.xls 或 .csv 文件",
            "upload an .xlsx, .xls or .csv file",
            name,
        )
    with open(path, "rb") as fh:
        magic = fh.read(8)
    problems: list[Problem] = []
    if ext in _EXCEL_EXT:
        if magic.startswith(_ZIP_MAGIC):
            bad = _inspect_zip(path, name, limits)
            if bad:
                return bad
            container = "xlsx"
        elif magic == _OLE_MAGIC:
            if ext != ".xls":
                return _refuse(
                    "file.encrypted",
                    "文件受密码保护（已加密），无法读取",
                    "the workbook is password-protected (encrypted) and cannot be read",
                    "请在 Excel 中取消密码（文件→信息→保护工作簿→用密码进行加密，清空密码）后另存再上传",
                    "remove the password in Excel (File → Info → Protect Workbook → Encrypt with "
                    "Password, clear it), save and upload again",
                    name,
                )
            container = "xls"
        else:
            problems.append(
                warning(
                    "file.misnamed",
                    f"文件扩展名为 {ext}，但内容是文本（CSV），已按 CSV 读取",
                    f"the file is named {ext} but holds text (CSV); it was read as CSV",
                    "下次请使用正确的扩展名 .csv",
                    "name such files .csv next time",
                    file=name,
                )
            )
            ext = ".csv"
    if ext in _TEXT_EXT:
        return _read_csv(path, name, limits, problems)
    return _read_excel(path, name, limits, sheet, container, problems)


def _read_csv(path: Path, name: str, limits: Limits, problems: list[Problem]) -> RawSheet | list[Problem]:
    raw = path.read_bytes()
    try:
        text, enc = _decode_csv(raw)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return problems + [
            error(
                "file.encoding",
                f"无法识别文件编码：从第 {line} 行起不是 UTF-8，整个文件也不是 GBK（可能混有不同编码的行）",
                f"cannot decode the file: line {line} is not UTF-8 and the file as a whole is not GBK/GB18030 either "
                "(lines in different encodings?)",
                f"检查第 {line} 行（可能是从其他文件粘贴的），"
                "然后在 Excel 中将整个文件另存为“CSV UTF-8（逗号分隔）”后上传",
                f"check line {line} (pasted from another file?), "
                "then save the whole file as 'CSV UTF-8' and upload again",
                file=name,
                sheet="CSV",
                row=line,
            )
        ]
    try:
        frame = pd.read_csv(
            StringIO(text),
            dtype=str,
            header=None,
            keep_default_na=False,
            skip_blank_lines=False,
            sep=None,
            engine="python",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        return problems + _refuse(
            "file.csv_parse",
            f"CSV 格式错误：{exc}",
            f"malformed CSV: {exc}",
            "请用 Excel 打开检查分隔符和引号后重新保存",
            "open it in Excel, check separators and quotes, save again",
            name,
        )
    rows = frame.to_numpy(dtype=object).tolist()
    return _from_rows(rows, name, "CSV", ["CSV"], f"csv/{enc}", limits, problems)


def _interner() -> Callable[[Iterable[list]], list[list]]:
    """A function turning rows into lists in which each distinct value is held once.

    An export repeats a handful of answer labels millions of times, so sharing them keeps a
    10⁵-row upload's memory near its size.
    """
    # One table per type: 1, 1.0 and True are equal as dict keys but must stay distinct values.
    text: dict[str, str] = {}
    number: dict[float, float] = {}
    t, n = text.setdefault, number.setdefault

    def intern(rows: Iterable[list]) -> list[list]:
        return [
            [t(v, v) if v.__class__ is str else n(v, v) if v.__class__ is float else v for v in row] for row in rows
        ]

    return intern


def intern_block(rows: Iterable[list]) -> list[list]:
    """:func:`_interner` for one block of a large sheet, in whichever process reads the block.

    Each block gets its own table (a function that can be sent to a worker process); its rows
    come back with the table's sharing intact (pickle keeps shared objects shared), so a label
    is held once per block of a few thousand rows.
    """
    return _interner()(rows)


def _read_excel(
    path: Path, name: str, limits: Limits, sheet: str | None, container: str, problems: list[Problem]
) -> RawSheet | list[Problem]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
        wanted = [sheet] if sheet else names
        if sheet and sheet not in names:
            return problems + [
                error(
                    "sheet.missing",
                    f"找不到工作表“{sheet}”（现有：{'、'.join(names)}）",
                    f"no sheet named '{sheet}' (found: {', '.join(names)})",
                    "请检查工作表名称",
                    "check the sheet name",
                    file=name,
                )
            ]
        intern = _interner()
        for sheet_name in wanted:
            try:
                blocks = xlsx_blocks.read_rows(path, sheet_name, intern_block) if container == "xlsx" else None
            except xlsx_blocks.Unsuitable:
                blocks = None
            if blocks is not None:  # a large sheet, read block by block
                rows, start, formulas = blocks.rows, (0, blocks.first_column), blocks.has_formulas
            else:
                ws = wb.get_sheet_by_name(sheet_name)
                # iter_rows() yields the leading blank rows but starts at the first used column.
                start = (0, (ws.start or (0, 0))[1])
                rows = intern(ws.iter_rows())
                del ws
                formulas = None  # not known yet: scanned below only if the sheet has a header
            del blocks
            if _first_header_row(rows) is not None:
                del wb  # release calamine's copy of the cells before the frame is built
                raw = _from_rows(rows, name, sheet_name, names, container, limits, problems, start)
                if formulas is None:
                    formulas = container == "xlsx" and _has_formulas(path)
                if isinstance(raw, RawSheet) and formulas:
                    raw.formulas = _formula_cells(path, sheet_name, raw.first_column)
                return raw
        return problems + [
            error(
                "sheet.empty",
                "所有工作表都是空的",
                "every sheet is empty",
                "请确认上传的是导出的答卷数据文件",
                "upload the exported response data",
                file=name,
            )
        ]
    except Exception as exc:  # calamine raises its own error types for corrupt or encrypted files
        return problems + _refuse(
            "file.corrupt",
            f"文件已损坏或格式无法识别（{type(exc).__name__}）",
            f"the file is corrupt or not a readable workbook ({type(exc).__name__}: {exc})",
            "请从问卷平台重新导出，或在 Excel 中打开后另存为 .xlsx 再上传",
            "export it again, or open it in Excel and save as .xlsx",
            name,
        )
