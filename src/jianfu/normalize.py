"""Text normalisation for matching headers and answer labels from real survey exports.

Exports from 问卷星 / 腾讯问卷 number their questions (``12、``, ``12.``, ``(1)12``), write
Likert-grid rows as ``12、(row text)``, mix full- and half-width punctuation and sometimes
contain compatibility ideographs (``⽬`` for 目). NFKC folds the last two; the rest is
stripped so that a header reduces to the words of the question.

Examples
--------
>>> header_key("12、（您所在单位的层级）：")
'您所在单位的层级'
>>> header_key(header_key("(1)12. 项⽬") ) == header_key("(1)12. 项⽬")
True
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["nfkc", "header_key", "value_key", "MISSING_TOKENS"]

_NUMBER_PREFIX = re.compile(
    r"^\s*(?:\(\s*\d+\s*\)\s*)?(?:第\s*)?(?:Q\s*)?\d+(?:\s*[.\-]\s*\d+)*\s*(?:题)?\s*[、.:：)\]]?\s*",
    re.IGNORECASE,
)
_WRAPPED = re.compile(r"^\((.*)\)$")
# Everything that is not a letter, digit or CJK ideograph is dropped from the match key.
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)

#: Cell contents that mean "no answer" in wjx / tencent exports and in our template.
MISSING_TOKENS = frozenset(
    {"", "(跳过)", "跳过", "(空)", "空", "-3", "-2", "(未填)", "未填", "nan", "none", "n/a", "na"}
)


def nfkc(text: object) -> str:
    """NFKC-normalise and strip; ``None`` becomes ``""``."""
    if text is None:
        return ""
    return unicodedata.normalize("NFKC", str(text)).strip()


def _header_key_once(header: object) -> str:
    s = nfkc(header).replace("\t", " ")
    s = _NUMBER_PREFIX.sub("", s, count=1)
    s = s.strip().rstrip(":：?？ ")
    m = _WRAPPED.match(s)
    if m:
        s = m.group(1)
    return nfkc(_NON_WORD.sub("", s).lower())


def header_key(header: object) -> str:
    """Reduce a column header to the words that identify the question.

    Idempotent: ``header_key(header_key(h)) == header_key(h)``. Stripping a number prefix
    can expose another (``"1 2 abc"``), so the reduction runs to its fixed point.
    """
    key = _header_key_once(header)
    for _ in range(8):
        nxt = _header_key_once(key)
        if nxt == key:
            break
        key = nxt
    return key


def value_key(value: object) -> str:
    """Normalise an answer cell for label lookup (NFKC, no spaces, lower case)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", "", nfkc(value)).lower()
