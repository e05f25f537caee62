"""Portal accounts: one per HR office (it uploads for that office only) or per researcher (sees every office).

An office account's name *is* the office: it names the office's inbox folder (``inbox/<name>/``), so
names are restricted to letters (any script), digits, ``-``, ``_`` and ``·``, start with a letter or
digit, and are NFC-normalised. Passwords are stored as Argon2id hashes (argon2-cffi's defaults, RFC 9106
low-memory profile) and re-hashed on login when those parameters change.

References
----------
Biryukov, A., Dinu, D., Khovratovich, D., & Josefsson, S. (2021). *Argon2 Memory-Hard Function for
Password Hashing and Proof-of-Work Applications* (RFC 9106).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .db import Database

__all__ = ["ROLES", "MIN_PASSWORD_LENGTH", "Account", "AccountError", "Accounts", "normalise_name"]

ROLES = ("office", "researcher")
MIN_PASSWORD_LENGTH = 10
_NAME_RE = re.compile(r"^[^\W_][\w\-·]{0,39}$")
_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("jianfu-portal-no-such-account")


class AccountError(ValueError):
    """A bad account request, with a bilingual message (Chinese first)."""


def normalise_name(name: str) -> str:
    """The canonical form of an account name (NFC, surrounding blanks removed).

    Examples
    --------
    >>> normalise_name(" 城关镇 ")
    '城关镇'
    """
    return unicodedata.normalize("NFC", name).strip()


@dataclass(frozen=True)
class Account:
    """A portal user: ``office`` is the office it uploads for (None for a researcher, who sees all)."""

    name: str
    role: str
    created_at: str = ""

    @property
    def office(self) -> str | None:
        """The office this account uploads for and sees; None for a researcher."""
        return self.name if self.role == "office" else None

    @property
    def is_researcher(self) -> bool:
        """Researchers see every office and the waves; they do not upload."""
        return self.role == "researcher"

    def can_see(self, office: str) -> bool:
        """Whether this account may see an upload of ``office``."""
        return self.is_researcher or office == self.name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Accounts:
    """Create, check and remove accounts in the portal database."""

    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def check_name(name: str) -> str:
        """The normalised name, or :class:`AccountError` when it cannot name an office folder.

        Examples
        --------
        >>> Accounts.check_name("东城街道"), Accounts.check_name("office-2")
        ('东城街道', 'office-2')
        >>> Accounts.check_name("../etc")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        AccountError: 账号名只能包含文字、数字……
        """
        name = normalise_name(name)
        if not _NAME_RE.match(name):
            raise AccountError(
                "账号名只能包含文字、数字、“-”“_”“·”，以文字或数字开头，最多 40 个字符 / an account name may hold "
                "letters, digits, '-', '_' and '·', must start with a letter or digit, and has at most 40 characters"
            )
        return name

    @staticmethod
    def check_password(password: str) -> None:
        """:class:`AccountError` for a password shorter than :data:`MIN_PASSWORD_LENGTH`."""
        if len(password) < MIN_PASSWORD_LENGTH:
            n = MIN_PASSWORD_LENGTH
            raise AccountError(f"密码至少需要 {n} 个字符 / the password needs at least {n} characters")

    def add(self, name: str, password: str, role: str = "office") -> Account:
        """Create an account; :class:`AccountError` if the name is taken or invalid, or the password too short."""
        name = self.check_name(name)
        if role not in ROLES:
            raise AccountError(f"角色只能是 office 或 researcher / the role must be one of {', '.join(ROLES)}")
        self.check_password(password)
        digest = _HASHER.hash(password)
        now = _now()
        with self.db.connect() as con:
            if con.execute("SELECT 1 FROM accounts WHERE name = ?", [name]).fetchone():
                raise AccountError(f"账号“{name}”已存在 / the account {name!r} exists already")
            con.execute("INSERT INTO accounts VALUES (?, ?, ?, ?, ?)", [name, role, digest, now, now])
        return Account(name, role, now)

    def get(self, name: str) -> Account | None:
        """The account of that name, or None."""
        with self.db.connect(write=False) as con:
            row = con.execute("SELECT name, role, created_at FROM accounts WHERE name = ?", [normalise_name(name)])
            found = row.fetchone()
        return Account(found["name"], found["role"], found["created_at"]) if found else None

    def list(self) -> list[Account]:
        """Every account: offices first, then researchers, each by name."""
        with self.db.connect(write=False) as con:
            rows = con.execute("SELECT name, role, created_at FROM accounts ORDER BY role, name").fetchall()
        return [Account(r["name"], r["role"], r["created_at"]) for r in rows]

    def offices(self) -> list[str]:
        """The names of the office accounts."""
        return [a.name for a in self.list() if a.role == "office"]

    def remove(self, name: str) -> bool:
        """Delete the account and end its sessions; False when there was none. Its uploads stay."""
        name = normalise_name(name)
        with self.db.connect() as con:
            gone = con.execute("DELETE FROM accounts WHERE name = ?", [name]).rowcount
            con.execute("DELETE FROM sessions WHERE name = ?", [name])
        return bool(gone)

    def set_password(self, name: str, password: str) -> None:
        """Replace the password and end every session of the account."""
        name = normalise_name(name)
        self.check_password(password)
        digest = _HASHER.hash(password)
        with self.db.connect() as con:
            changed = con.execute(
                "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE name = ?", [digest, _now(), name]
            ).rowcount
            if not changed:
                raise AccountError(f"没有账号“{name}” / there is no account {name!r}")
            con.execute("DELETE FROM sessions WHERE name = ?", [name])

    def verify(self, name: str, password: str) -> Account | None:
        """The account when ``password`` is right, else None (in about the same time either way)."""
        name = normalise_name(name)
        with self.db.connect(write=False) as con:
            row = con.execute("SELECT name, role, password_hash, created_at FROM accounts WHERE name = ?", [name])
            found = row.fetchone()
        try:
            _HASHER.verify(found["password_hash"] if found else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if found is None:
            return None
        if _HASHER.check_needs_rehash(found["password_hash"]):
            with self.db.connect() as con:
                con.execute("UPDATE accounts SET password_hash = ? WHERE name = ?", [_HASHER.hash(password), name])
        return Account(found["name"], found["role"], found["created_at"])
