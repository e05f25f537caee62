"""Sessions: a signed, HttpOnly, SameSite=Strict cookie that carries a random session id.

The cookie holds only the id, signed with the portal's key (itsdangerous, HMAC-SHA1 over a key
derived per purpose), so a forged or altered cookie is refused before the database is read. The
session itself (account, CSRF token, times) is kept server-side, which gives what a cookie alone
cannot: logging out ends the session for good, a password change or a removed account ends every
session of that account, and the idle timeout is enforced by the server, not by the browser.

Behind HTTPS the cookie also gets ``Secure`` and the ``__Host-`` name prefix (no ``Domain``, path ``/``),
so neither a plain-HTTP page nor a sibling sub-domain can set or read it.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from jianfu.store.database import private_dir

from .db import Database

__all__ = ["Session", "Sessions", "load_key", "cookie_name", "cookie_options"]


def load_key(path: str | Path) -> bytes:
    """The portal's signing key at ``path``, created (32 random bytes, mode 0600) on first use."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def cookie_name(base: str, secure: bool) -> str:
    """``__Host-<base>`` behind HTTPS (browsers then insist on Secure, path /, no Domain), else ``base``.

    Examples
    --------
    >>> cookie_name("jianfu_session", True), cookie_name("jianfu_session", False)
    ('__Host-jianfu_session', 'jianfu_session')
    """
    return f"__Host-{base}" if secure else base


def cookie_options(secure: bool, max_age: int | None = None) -> dict:
    """Keyword arguments of ``Response.set_cookie`` for every portal cookie."""
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": "/", "max_age": max_age}


@dataclass(frozen=True)
class Session:
    """A live session: its id, the account, its CSRF token, and when it began and was last used."""

    sid: str
    name: str
    csrf: str
    created_at: float
    last_seen: float


class Sessions:
    """Create, load and end sessions.

    Parameters
    ----------
    db : Database
    key : bytes
        The portal's signing key.
    idle_seconds : float
        A session unused for this long has ended.
    max_age_seconds : float
        A session ends this long after login in any case.
    clock : callable
    """

    def __init__(
        self,
        db: Database,
        key: bytes,
        idle_seconds: float = 1800.0,
        max_age_seconds: float = 12 * 3600.0,
        clock: Callable[[], float] = time.time,
    ):
        self.db, self.idle, self.max_age, self.clock = db, idle_seconds, max_age_seconds, clock
        self._signer = URLSafeTimedSerializer(key, salt="jianfu-portal-session")

    def create(self, name: str) -> tuple[str, Session]:
        """A new session for ``name``: (cookie value, session). Always a fresh id (no session fixation)."""
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), name, secrets.token_urlsafe(32), now, now)
        with self.db.connect() as con:
            con.execute("DELETE FROM sessions WHERE last_seen < ?", [now - self.idle])
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                [session.sid, session.name, session.csrf, session.created_at, session.last_seen],
            )
        return self._signer.dumps(session.sid), session

    def _sid(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            sid = self._signer.loads(cookie)
        except BadSignature:
            return None
        return sid if isinstance(sid, str) else None

    def load(self, cookie: str | None) -> Session | None:
        """The live session the cookie names (its idle clock restarted), or None."""
        sid = self._sid(cookie)
        if sid is None:
            return None
        now = self.clock()
        with self.db.connect() as con:
            row = con.execute("SELECT * FROM sessions WHERE sid = ?", [sid]).fetchone()
            if row is None:
                return None
            if now - row["last_seen"] > self.idle or now - row["created_at"] > self.max_age:
                con.execute("DELETE FROM sessions WHERE sid = ?", [sid])
                return None
            con.execute("UPDATE sessions SET last_seen = ? WHERE sid = ?", [now, sid])
        return Session(row["sid"], row["name"], row["csrf"], row["created_at"], now)

    def end(self, cookie: str | None) -> None:
        """End the session the cookie names (logging out)."""
        sid = self._sid(cookie)
        if sid is not None:
            with self.db.connect() as con:
                con.execute("DELETE FROM sessions WHERE sid = ?", [sid])
