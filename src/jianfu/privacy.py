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

from .normalize import header_key, nfkc, value_key

__all__ = ["pii_kind_of_header", "pii_kind_of_values", "mask_text", "mask_series", "load_secret",
           "keyed_hash", "MASK"]

MASK = "[已隐去]"
_ID_RE = re.compile(r"(?<![0-9])[1-9]\d{16}[0-9Xx](?![0-9Xx])")
_PHONE_RE = re.compile(r"(?<![0-9])1[3-9]\d{9}(?![0-9])")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IP_RE = re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9])")
_HEADER_KINDS = [
    ("id_number", re.compile(r"身份证|证件号|公民身份")),
    ("phone", re.compile(r"手机|电话|联系方式|mobile|phone")),
    ("email", re.compile(r"邮箱|e?mail")),
    ("ip", re.compile(r"(^|来自|地址)ip$|^ip(地址)?$")),
    ("name", re.compile(r"姓名|名字|真实姓名|^name$|微信昵称|昵称|微信号|qq")),
]
_VALUE_KINDS = [("id_number", _ID_RE), ("phone", _PHONE_RE), ("email", _EMAIL_RE), ("ip", _IP_RE)]
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


def mask_text(text: str) -> str:
    """Replace ID numbers, phone numbers, e-mail and IP addresses in ``text`` with a mask."""
    for _, pattern in _VALUE_KINDS:
        text = pattern.sub(MASK, text)
    return text


def mask_series(values: pd.Series) -> tuple[pd.Series, int]:
    """Mask personal data in a free-text column; returns the masked column and how many cells changed."""
    as_text = values.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else nfkc(v))
    masked = as_text.map(mask_text)
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
