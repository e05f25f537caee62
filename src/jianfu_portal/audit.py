"""The audit log: who did what, when, to which content — append-only, one JSON object per line.

Every login, failed login, lockout, logout, upload (new or already received), download, reanalysis
request and account change is written to ``<data dir>/portal/audit.log``. An entry keeps the time
(UTC), the event, the account, the office, the client address, the sha256 of the content concerned
and a few whitelisted details (file name, upload id, status, wave). It never holds a password or an
answer: :meth:`AuditLog.write` accepts only the keys in :data:`DETAIL_KEYS`, and a failed login by an
unknown name is logged without the name (a password typed into the name field must not end up here).

The file is opened with ``O_APPEND`` and each entry carries ``prev``, the sha256 of the line before it,
so deleting or editing a line breaks the chain (:meth:`AuditLog.verify`). Writers from several threads
and processes (the portal, ``jianfu office``) take an exclusive ``flock`` while they append.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from jianfu.store.database import private_dir

__all__ = ["AuditLog", "EVENTS", "DETAIL_KEYS"]

EVENTS = (
    "login",
    "login.failed",
    "login.locked",
    "logout",
    "csrf.failed",
    "upload",
    "upload.duplicate",
    "upload.too_large",
    "download.template",
    "download.report",
    "reanalyse",
    "account.add",
    "account.remove",
    "account.passwd",
)
#: The only details an entry may carry besides who, when, what and sha256.
DETAIL_KEYS = ("upload_id", "filename", "status", "wave", "account", "role", "bytes", "path")
_GENESIS = "0" * 64


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _last_line(fh) -> bytes | None:
    end = fh.seek(0, os.SEEK_END)
    if end == 0:
        return None
    step, pos, tail = 4096, end, b""
    while pos > 0:
        pos = max(0, pos - step)
        fh.seek(pos)
        tail = fh.read(end - pos)
        if tail.rstrip(b"\n").count(b"\n") >= 1:
            break
    return tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]


class AuditLog:
    """The append-only audit log at ``path``.

    Examples
    --------
    >>> import tempfile
    >>> log = AuditLog(Path(tempfile.mkdtemp()) / "audit.log")
    >>> log.write("login", "城关镇", office="城关镇", ip="127.0.0.1")["event"]
    'login'
    >>> log.write("upload", "城关镇", sha256="ab" * 32, filename="第一批.xlsx", status="processing")["prev"] != "0" * 64
    True
    >>> [e["event"] for e in log.entries()], log.verify()
    (['login', 'upload'], True)
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        private_dir(self.path.parent)

    def write(
        self,
        event: str,
        who: str | None,
        *,
        office: str | None = None,
        sha256: str | None = None,
        ip: str | None = None,
        **detail: object,
    ) -> dict:
        """Append one entry; returns it. Unknown events or detail keys are a programming error."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        unknown = set(detail) - set(DETAIL_KEYS)
        if unknown:
            raise ValueError(f"audit entries carry no {', '.join(sorted(unknown))}")
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "who": who,
            "office": office,
            "ip": ip,
            "sha256": sha256,
            **{k: detail[k] for k in DETAIL_KEYS if detail.get(k) is not None},
        }
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "rb+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                last = _last_line(fh)
                entry["prev"] = _line_hash(last) if last else _GENESIS
                fh.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return entry

    def entries(self) -> list[dict]:
        """Every entry, oldest first."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_bytes().splitlines() if line.strip()]

    def verify(self) -> bool:
        """Whether every entry names the hash of the one before it (nothing removed or edited)."""
        prev = _GENESIS
        if not self.path.exists():
            return True
        for line in self.path.read_bytes().splitlines():
            if not line.strip():
                continue
            if json.loads(line).get("prev") != prev:
                return False
            prev = _line_hash(line)
        return True
