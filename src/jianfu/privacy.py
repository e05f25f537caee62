"""Privacy at the door: personal data never reaches the store, a report or a log.

Columns that carry names, ID-card numbers, phone numbers, e-mail or IP addresses are found
by header keywords and by value patterns and are dropped; the strongest identifier in a
row (ID number, else phone, else name) is replaced by a keyed hash (HMAC-SHA256 with a
local secret created on first use) so that repeat respondents can still be linked without
being identified. Free-text answers are scanned for the same patterns and masked.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from jianfu.normalize import header_key, nfkc, value_key

__all__ = [
    "pii_kind_of_header",
    "pii_kind_of_values",
    "mask_text",
    "mask_value",
    "mask_series",
    "load_secret",
    "keyed_hash",
    "MASK",
]

MASK = "[已隐去]"
# Patterns run on NFKC-normalised text (full-width digits, brackets and ＠ become ASCII). Digits may
# be grouped by single spaces, dashes or dots, as people write them ("139 1234 5679", "139-0000-2222").
_G = r"[ \-.]?"  # one optional group separator
_ID18_RE = re.compile(rf"(?<![0-9])[1-9](?:{_G}[0-9]){{16}}{_G}[0-9Xx](?![0-9Xx])")
_BANK_RE = re.compile(rf"(?<![0-9])[0-9](?:{_G}[0-9]){{15,18}}(?![0-9])")
_ID15_RE = re.compile(rf"(?<![0-9])[1-9](?:{_G}[0-9]){{14}}(?![0-9])")
_PHONE_RE = re.compile(rf"(?<![0-9+])(?:(?:\+|00)?86{_G})?1{_G}[3-9](?:{_G}[0-9]){{9}}(?![0-9])")
_LANDLINE_RE = re.compile(r"(?<![0-9])(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})[ \-]?[0-9]{3,4}[ \-]?[0-9]{4}(?![0-9])")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IP_RE = re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9])")
# Longest shapes first, so an ID number is not half-masked as a phone number.
_MASKS = [_EMAIL_RE, _ID18_RE, _BANK_RE, _ID15_RE, _IP_RE, _PHONE_RE, _LANDLINE_RE]
_HEADER_KINDS = [
    ("id_number", re.compile(r"身份证|证件号|公民身份")),
    ("phone", re.compile(r"手机|电话|联系方式|mobile|phone")),
    ("email", re.compile(r"邮箱|e?mail")),
    ("ip", re.compile(r"(^|来自|地址)ip$|^ip(地址)?$")),
    ("name", re.compile(r"姓名|名字|真实姓名|^name$|微信昵称|昵称|微信号|qq")),
]
_VALUE_KINDS = [
    ("id_number", _ID18_RE),
    ("id_number", _ID15_RE),
    ("phone", _PHONE_RE),
    ("email", _EMAIL_RE),
    ("ip", _IP_RE),
    ("phone", _LANDLINE_RE),
    ("bank_card", _BANK_RE),
]
#: Identifier strength for the respondent key: the first present wins.
KEY_PRIORITY = ("id_number", "phone", "email", "name")


def pii_kind_of_header(header: str) -> str | None:
    """The kind of personal data a column header announces, or ``None``."""
    key = header_key(header)
    for kind, pattern in _HEADER_KINDS:
        if pattern.search(key):
            return kind
    return None


def pii_kind_of_values(values: pd.Series, threshold: float = 0.5) -> str | None:
    """The kind of personal data most non-empty cells of a column look like, or ``None``."""
    sample = [value_key(v) for v in values.dropna().head(200) if value_key(v)]
    if not sample:
        return None
    for kind, pattern in _VALUE_KINDS:
        if sum(bool(pattern.search(s)) for s in sample) / len(sample) >= threshold:
            return kind
    return None


def _may_hold_personal_data(text: str) -> bool:
    """Cheap pre-check: every pattern needs an @ or at least seven digits."""
    return "@" in text or sum(ch.isdigit() for ch in text) >= 7


#: Full-width ASCII forms (digits, letters, ＋ － （ ） ＠ ．) and the ideographic space, one character
#: each to its ASCII twin: the patterns see "１３９" as "139" while the text keeps its own punctuation.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def mask_text(text: str) -> str:
    """Replace ID-card, phone, landline and bank-card numbers, e-mail and IP addresses with a mask.

    Full-width digits and signs are recognised as their ASCII forms; the rest of the text is
    kept as written. Ordinary numbers — years, dates, counts, amounts, the 12345 hotline — are
    kept.

    Examples
    --------
    >>> mask_text("电话 139-0000-2222，身份证 110101 19900307 777X，2024年开会37次，打12345")
    '电话 [已隐去]，身份证 [已隐去]，2024年开会37次，打12345'
    >>> mask_text("座机（010）8765 4321，手机＋８６ １３８ ００１３ ８０００")
    '座机[已隐去]，手机[已隐去]'
    """
    text = str(text)
    probe = text.translate(_HALF_WIDTH)  # same length as text: spans found in it apply to text
    if not _may_hold_personal_data(probe):
        return text
    for pattern in _MASKS:
        spans = [m.span() for m in pattern.finditer(probe)]
        for start, end in reversed(spans):
            text = text[:start] + MASK + text[end:]
            probe = probe[:start] + MASK + probe[end:]
    return text


def mask_value(value: object, limit: int = 30) -> str:
    """A cell value as it may be shown or stored: personal data masked, at most ``limit`` characters.

    Examples
    --------
    >>> mask_value("13912345679")
    '[已隐去]'
    >>> mask_value("很" * 40)[-3:]
    '很很…'
    """
    text = mask_text(nfkc(value))
    return text if len(text) <= limit else text[:limit] + "…"


def mask_series(values: pd.Series) -> tuple[pd.Series, int]:
    """Mask personal data in a free-text column; returns the masked column and how many cells changed."""
    as_text = values.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else nfkc(v))
    uniq = pd.unique(as_text)
    masked = as_text.map(dict(zip(uniq, map(mask_text, uniq), strict=True)))
    return masked, int((masked != as_text).sum())


def load_secret(path: str | Path) -> bytes:
    """Read the local hashing key, creating it (mode 600) on first use.

    Concurrent first uses (files ingested in parallel) agree on one key: each writes a
    private temporary file and hard-links it into place, which succeeds for exactly one of
    them, so nobody ever reads a half-written key.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another ingest created it first; use theirs
        finally:
            tmp.unlink()
    return bytes.fromhex(path.read_text().strip())


def keyed_hash(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 (first 16 hex digits) of each normalised value; empty cells stay empty."""

    def one(v: object) -> str | None:
        k = value_key(v)
        if not k:
            return None
        return hmac.new(key, k.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    return values.map(one)
