"""User-facing problems with input: collected, bilingual (Chinese first), and located.

Every problem names the file, sheet, row, column and value it is about and says how to fix
the input; the value is kept with personal data masked and at most 30 characters. Problems are
collected into lists, never raised one at a time, so an HR clerk sees everything wrong with an
upload in one pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from jianfu.privacy import mask_text, mask_value

__all__ = ["Problem", "error", "warning"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``code`` is a stable machine-readable id (``value.not_allowed``, ``file.encrypted``, ...);
    ``zh``/``en`` describe the problem and ``fix_zh``/``fix_en`` how to repair the file.
    """

    code: str
    severity: Severity
    zh: str
    en: str
    fix_zh: str
    fix_en: str
    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        # The offending cell may hold an ID or phone number typed in the wrong place: whatever the
        # caller passes, the problem keeps it masked and short, everywhere it is written.
        if self.value is not None:
            object.__setattr__(self, "value", mask_value(self.value))
        # A header row that is really a respondent's answers puts personal data in column names and texts.
        for name in ("zh", "en", "column"):
            text = getattr(self, name)
            if text:
                object.__setattr__(self, name, mask_text(text))

    def where_zh(self) -> str:
        """Where the problem is, in Chinese: file, sheet, row and column as far as known."""
        parts = [f"文件“{self.file}”"]
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.column:
            parts.append(f"列“{self.column}”")
        return "，".join(parts)

    def where_en(self) -> str:
        """Where the problem is, in English: file, sheet, row and column as far as known."""
        parts = [f'file "{self.file}"']
        if self.sheet:
            parts.append(f'sheet "{self.sheet}"')
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f'column "{self.column}"')
        return ", ".join(parts)

    def __str__(self) -> str:
        value = f"（值：“{self.value}”）" if self.value is not None else ""
        value_en = f' (value: "{self.value}")' if self.value is not None else ""
        return (
            f"{self.where_zh()}：{self.zh}{value}。修改方法：{self.fix_zh} | "
            f"{self.where_en()}: {self.en}{value_en}. Fix: {self.fix_en}"
        )

    def to_dict(self) -> dict:
        """The problem as a JSON-ready dict, with its full bilingual message."""
        d = asdict(self)
        d["message"] = str(self)
        return d


def error(code: str, zh: str, en: str, fix_zh: str, fix_en: str, **where) -> Problem:
    """A problem that rejects the file; ``where`` holds ``file``, ``sheet``, ``row``, ``column``, ``value``."""
    return Problem(code, "error", zh, en, fix_zh, fix_en, **where)


def warning(code: str, zh: str, en: str, fix_zh: str, fix_en: str, **where) -> Problem:
    """A problem that leaves the file accepted; ``where`` as for :func:`error`."""
    return Problem(code, "warning", zh, en, fix_zh, fix_en, **where)
