"""Failed-login lockout: 5 failures for one name within 15 minutes lock it for 15 minutes (HTTP 429).

While a name is locked every attempt is refused, whatever the password.

Failures are counted per *name as typed* (NFKC, case-folded), whether or not an account of that name
exists, so a guesser learns nothing about which names are real; they are kept in the portal database,
so a restart of the portal does not reset a lock.
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections.abc import Callable

from .db import Database

__all__ = ["Lockout", "lock_key"]


def lock_key(name: str) -> str:
    """The name failures are counted under: ``Office1``, ``office1 `` and ``ｏｆｆｉｃｅ1`` are one name.

    Examples
    --------
    >>> lock_key(" Office1"), lock_key("ｏｆｆｉｃｅ1")
    ('office1', 'office1')
    """
    return unicodedata.normalize("NFKC", name).strip().casefold()


class Lockout:
    """Count failed logins and tell when a name is locked.

    Parameters
    ----------
    db : Database
        The portal database.
    max_failures : int
        Failures within ``window`` seconds that lock the name (5).
    window, duration : float
        Seconds (15 minutes each).
    clock : callable
        Seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        max_failures: int = 5,
        window: float = 900.0,
        duration: float = 900.0,
        clock: Callable[[], float] = time.time,
    ):
        self.db, self.max_failures, self.window, self.duration, self.clock = db, max_failures, window, duration, clock

    def retry_after(self, name: str) -> int:
        """Seconds until ``name`` may try again; 0 when it is not locked."""
        now = self.clock()
        with self.db.connect(write=False) as con:
            row = con.execute("SELECT until FROM lockouts WHERE name = ?", [lock_key(name)]).fetchone()
        return max(0, math.ceil(row["until"] - now)) if row else 0

    def failed(self, name: str) -> int:
        """Record a failure; returns the seconds of the lock it caused (0 when it caused none)."""
        key, now = lock_key(name), self.clock()
        with self.db.connect() as con:
            con.execute("DELETE FROM login_failures WHERE at < ?", [now - self.window])
            con.execute("INSERT INTO login_failures VALUES (?, ?)", [key, now])
            (n,) = con.execute(
                "SELECT count(*) FROM login_failures WHERE name = ? AND at >= ?", [key, now - self.window]
            ).fetchone()
            if n < self.max_failures:
                return 0
            con.execute(
                "INSERT INTO lockouts VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET until = excluded.until",
                [key, now + self.duration],
            )
            # The lock is the penalty for these failures: after it, the count starts afresh.
            con.execute("DELETE FROM login_failures WHERE name = ?", [key])
        return math.ceil(self.duration)

    def succeeded(self, name: str) -> None:
        """A successful login forgets the name's earlier failures."""
        key = lock_key(name)
        with self.db.connect() as con:
            con.execute("DELETE FROM login_failures WHERE name = ?", [key])
            con.execute("DELETE FROM lockouts WHERE name = ? AND until <= ?", [key, self.clock()])
