"""Nothing lost: the archive of received files and the embedded DuckDB store of rows.

* Every received file, good or bad, is copied unchanged to ``data/archive/<sha256><ext>`` and
  verified before anything else happens to it.
* Accepted and quarantined rows go to one wide table per instrument version, keyed by their
  content (file sha256, sheet, source row), with their provenance (wave, upload time) and
  quarantine reasons. Writing is an idempotent upsert: storing the same content again, from the
  same or another office, never holds a row twice.
* :meth:`Store.commit_batch` writes a batch's file records, its receipts (who sent which
  content when; a second copy is recorded as ``resent``) and its rows in **one transaction**, so
  a crash leaves either all of them or none.
* DuckDB admits one writing process at a time, so concurrent runs (an inbox poll while a
  researcher runs ``jianfu run``) queue on a lock file next to the database instead of
  failing with "could not set lock": writers take it exclusively, readers shared.
* Everything is private to the account that runs jianfu: folders 0700, files 0600, since the
  archive holds respondents' names and phone numbers by design.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from jianfu.errors import ArchiveError, StoreBusy
from jianfu.ingest.readers import sha256_file
from jianfu.instrument import Instrument

__all__ = ["archive_file", "table_name", "Store", "StoreBusy", "FileRecord", "Receipt", "private_dir", "ArchiveError"]

#: How long a run waits for another run's write to finish before giving up.
LOCK_TIMEOUT_S = 600.0
_KEY = ["_file_sha256", "_sheet", "_row"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only; returns it."""
    path = Path(path)
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode=0o700)
        except FileExistsError:  # another process made it meanwhile
            pass
        os.chmod(p, 0o700)
    target = missing[0] if missing else path
    if not missing and target.stat().st_uid == os.getuid():
        os.chmod(target, 0o700)  # tighten a folder an older version created with the default mode
    return target


def archive_file(path: str | Path, sha256: str, archive_dir: str | Path) -> Path:
    """Copy ``path`` to the archive under its sha256, once, and verify the copy.

    The original is never modified. The copy is written under a temporary name, checked against
    ``sha256`` and only then renamed into place, so the archive never holds a partial file under
    a final name; an existing entry is verified too (a damaged one is replaced).

    Raises
    ------
    ArchiveError
        When the file changed between hashing and copying (the upload is still being written).
    """
    path = Path(path)
    archive_dir = private_dir(archive_dir)
    suffix = re.sub(r"[^.a-z0-9]", "", path.suffix.lower())[:8]
    target = archive_dir / f"{sha256}{suffix}"
    if target.exists() and sha256_file(target) == sha256:
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    if sha256_file(tmp) != sha256:
        tmp.unlink(missing_ok=True)
        raise ArchiveError(
            f"文件在复制期间发生变化，稍后重试 / {path.name} changed while it was being archived; "
            "it stays in the inbox and is tried again on the next run"
        )
    tmp.replace(target)
    return target


def table_name(inst: Instrument) -> str:
    """The responses table of an instrument version: one table per version, its columns fixed."""
    return "responses_" + re.sub(r"[^a-z0-9]+", "_", f"{inst.id}_v{inst.version}".lower())


def instrument_key(inst: Instrument) -> str:
    return f"{inst.id}@{inst.version}"


@dataclass(frozen=True)
class FileRecord:
    """What the store keeps about one received content (one sha256): no personal data."""

    sha256: str
    name: str
    format: str
    status: str
    rows: int
    errors: list[str]
    warnings: list[str]
    archive_path: str | None
    office: str | None = None
    sheet: str | None = None

    @classmethod
    def from_summary(cls, summary: dict, archive_path: str | None, office: str | None = None) -> FileRecord:
        """The record of a file from its run-summary entry (:meth:`IngestResult.summary`)."""
        return cls(
            summary["sha256"],
            Path(summary["path"]).name,
            summary["format"],
            summary["status"],
            int(summary["rows"] or 0),
            [str(e) for e in summary["errors"]],
            [str(w) for w in summary["warnings"]],
            archive_path,
            office,
            summary.get("sheet"),
        )


@dataclass(frozen=True)
class Receipt:
    """One delivery of a content: ``kind`` is ``new`` for the first, ``resent`` for later copies.

    ``delivery`` identifies the delivery itself (e.g. the inbox path and its modification time),
    so recording the same delivery twice after a crash keeps one receipt.
    """

    sha256: str
    office: str | None
    name: str
    kind: str
    delivery: str


class Store:
    """The DuckDB store. Use as a context manager; one writer at a time (DuckDB's model)."""

    def __init__(self, path: str | Path, read_only: bool = False, timeout: float = LOCK_TIMEOUT_S):
        self.path = Path(path)
        private_dir(self.path.parent)
        lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock = os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "a+")
        self._acquire(fcntl.LOCK_SH if read_only else fcntl.LOCK_EX, timeout)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
            if not read_only:
                self._ensure_schema()
                for p in (self.path, self.path.with_name(self.path.name + ".wal")):
                    if p.exists():
                        os.chmod(p, 0o600)
        except Exception:
            self._release()
            raise

    def _ensure_schema(self) -> None:
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS files (sha256 VARCHAR PRIMARY KEY, name VARCHAR, format VARCHAR, "
            "status VARCHAR, n_rows INTEGER, errors JSON, warnings JSON, wave VARCHAR, instrument VARCHAR, "
            "archive_path VARCHAR, received_at TIMESTAMP)"
        )
        self.con.execute("ALTER TABLE files ADD COLUMN IF NOT EXISTS office VARCHAR")
        self.con.execute("ALTER TABLE files ADD COLUMN IF NOT EXISTS sheet VARCHAR")
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS receipts (delivery VARCHAR PRIMARY KEY, sha256 VARCHAR, office VARCHAR, "
            "name VARCHAR, kind VARCHAR, wave VARCHAR, instrument VARCHAR, received_at TIMESTAMP)"
        )
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS wave_state (instrument VARCHAR, wave VARCHAR, changed_at TIMESTAMP, "
            "reported_at TIMESTAMP, PRIMARY KEY (instrument, wave))"
        )

    def _acquire(self, mode: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock.close()
                    raise StoreBusy(
                        f"数据库被另一个运行占用超过 {timeout:.0f} 秒 / the store {self.path} was busy "
                        f"for more than {timeout:.0f} s; try again when the other run has finished"
                    ) from None
                time.sleep(0.05)

    def _release(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def close(self) -> None:
        """Close the connection and release the store's lock."""
        self.con.close()
        self._release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ensure_table(self, inst: Instrument) -> str:
        name = table_name(inst)
        cols = [
            '"_file_sha256" VARCHAR',
            '"_file_name" VARCHAR',
            '"_sheet" VARCHAR',
            '"_row" INTEGER',
            '"_submitted" TIMESTAMP',
            '"_duration_s" DOUBLE',
            '"_respondent_key" VARCHAR',
            '"wave" VARCHAR',
            '"uploaded_at" TIMESTAMP',
            '"status" VARCHAR',
            '"reasons" VARCHAR',
            '"_invalid_detail" VARCHAR',
            '"_missing_codes" VARCHAR',
        ]
        cols += [f'"{i.id}" DOUBLE' for i in inst.items]
        cols += [f'"{c.id}" DOUBLE' for c in inst.attention_checks]
        cols += [f'"{d.id}" VARCHAR' for d in inst.demographics]
        cols += [f'"{o.id}" VARCHAR' for o in inst.open_questions]
        self.con.execute(
            f'CREATE TABLE IF NOT EXISTS "{name}" ({", ".join(cols)}, PRIMARY KEY ("_file_sha256", "_sheet", "_row"))'
        )
        # A store made before partial acceptance lacks the column that names a row's invalid cells.
        self.con.execute(f'ALTER TABLE "{name}" ADD COLUMN IF NOT EXISTS "_invalid_detail" VARCHAR')
        self.con.execute(f'ALTER TABLE "{name}" ADD COLUMN IF NOT EXISTS "_missing_codes" VARCHAR')
        return name

    # -- writing -------------------------------------------------------------------------

    def commit_batch(
        self,
        inst: Instrument,
        wave: str,
        files: list[FileRecord] = (),
        receipts: list[Receipt] = (),
        rows: pd.DataFrame | None = None,
    ) -> int:
        """Store a batch in one transaction: file records, receipts, and the rows of its files.

        A file record that exists already keeps its first office and time of receipt; its rows
        are replaced, so committing the same batch twice changes nothing. Rows whose key
        (file sha256, sheet, row) occurs twice in ``rows`` are stored once. Returns rows written.
        """
        self.con.execute("BEGIN TRANSACTION")
        try:
            now = _now()
            for f in files:
                self.con.execute(
                    "INSERT INTO files (sha256, name, format, status, n_rows, errors, warnings, wave, instrument, "
                    "archive_path, received_at, office, sheet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (sha256) DO UPDATE SET format = excluded.format, status = excluded.status, "
                    "n_rows = excluded.n_rows, errors = excluded.errors, warnings = excluded.warnings, "
                    "archive_path = excluded.archive_path, sheet = excluded.sheet",
                    [
                        f.sha256,
                        f.name,
                        f.format,
                        f.status,
                        f.rows,
                        json.dumps(f.errors, ensure_ascii=False),
                        json.dumps(f.warnings, ensure_ascii=False),
                        wave,
                        instrument_key(inst),
                        f.archive_path,
                        now,
                        f.office,
                        f.sheet,
                    ],
                )
            for r in receipts:
                self.con.execute(
                    "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery) DO NOTHING",
                    [r.delivery, r.sha256, r.office, r.name, r.kind, wave, instrument_key(inst), now],
                )
            written = 0
            if rows is not None and not rows.empty:
                written = self._replace_rows(rows, inst, wave)
            if files or written:
                self.con.execute(
                    "INSERT INTO wave_state VALUES (?, ?, ?, NULL) ON CONFLICT (instrument, wave) "
                    "DO UPDATE SET changed_at = excluded.changed_at",
                    [instrument_key(inst), wave, now],
                )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return written

    def _replace_rows(self, frame: pd.DataFrame, inst: Instrument, wave: str) -> int:
        name = self._ensure_table(inst)
        columns = [r[0] for r in self.con.execute(f'DESCRIBE "{name}"').fetchall()]
        rows = frame.drop_duplicates(_KEY, keep="first").copy()
        rows["wave"] = wave
        if "uploaded_at" not in rows:  # a rewrite (reanalysis) keeps the original upload time
            rows["uploaded_at"] = _now()
        rows = rows.reindex(columns=columns)
        for col in rows.columns:
            if rows[col].dtype == object:
                rows[col] = rows[col].astype("string")
        shas = sorted(rows["_file_sha256"].unique())
        self.con.execute(f'DELETE FROM "{name}" WHERE "_file_sha256" IN (SELECT UNNEST(?))', [shas])
        self.con.register("incoming", rows)
        try:
            self.con.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
        finally:
            self.con.unregister("incoming")
        return len(rows)

    def record_file(
        self, summary: dict, wave: str, inst: Instrument, archive_path: str, office: str | None = None
    ) -> None:
        """Record one file (its own transaction); prefer :meth:`commit_batch`."""
        self.commit_batch(inst, wave, files=[FileRecord.from_summary(summary, archive_path, office)])

    def write_rows(self, frame: pd.DataFrame, inst: Instrument, wave: str) -> int:
        """Replace the rows of every file in ``frame`` in one transaction (idempotent); returns rows written."""
        return self.commit_batch(inst, wave, rows=frame)

    def mark_reported(self, inst: Instrument, wave: str) -> None:
        """The wave's report now reflects everything stored for it."""
        self.con.execute(
            "UPDATE wave_state SET reported_at = ? WHERE instrument = ? AND wave = ?",
            [_now(), instrument_key(inst), wave],
        )

    # -- reading -------------------------------------------------------------------------

    def known(self, sha256: str) -> bool:
        """Whether a file with this content was received and stored before."""
        return self.con.execute("SELECT count(*) FROM files WHERE sha256 = ?", [sha256]).fetchone()[0] > 0

    def known_shas(self, shas: list[str]) -> set[str]:
        """The subset of ``shas`` already received and stored."""
        if not shas:
            return set()
        return {
            s
            for (s,) in self.con.execute(
                "SELECT sha256 FROM files WHERE sha256 IN (SELECT UNNEST(?))", [list(shas)]
            ).fetchall()
        }

    def files(self, inst: Instrument, wave: str | None = None) -> list[dict]:
        """Received files of this instrument version (and wave), oldest first, as run-summary entries."""
        query = (
            "SELECT name, sha256, format, status, sheet, n_rows, errors, warnings, office, wave FROM files "
            "WHERE instrument = ?" + (" AND wave = ?" if wave else "") + " ORDER BY received_at, name"
        )
        params = [instrument_key(inst), *([wave] if wave else [])]
        return [
            {
                "path": name,
                "sha256": sha,
                "format": fmt,
                "status": status,
                "sheet": sheet,
                "rows": n,
                "errors": json.loads(errors or "[]"),
                "warnings": json.loads(warnings or "[]"),
                "office": office,
                "wave": w,
            }
            for name, sha, fmt, status, sheet, n, errors, warnings, office, w in self.con.execute(
                query, params
            ).fetchall()
        ]

    def all_files(self) -> list[dict]:
        """Every file record, of every instrument (for consistency checks)."""
        cols = ["sha256", "name", "status", "n_rows", "wave", "instrument", "archive_path", "office", "sheet", "errors"]
        rows = self.con.execute(f"SELECT {', '.join(cols)} FROM files").fetchall()
        out = [dict(zip(cols, r, strict=True)) for r in rows]
        for f in out:
            f["errors"] = json.loads(f["errors"] or "[]")
        return out

    def receipts(self) -> list[dict]:
        """Every inbox delivery recorded, oldest first."""
        cols = ["delivery", "sha256", "office", "name", "kind", "wave", "instrument", "received_at"]
        if not self._has_table("receipts"):
            return []
        return [
            dict(zip(cols, r, strict=True))
            for r in self.con.execute(f"SELECT {', '.join(cols)} FROM receipts ORDER BY received_at").fetchall()
        ]

    def waves(self, inst: Instrument) -> list[str]:
        """The waves with at least one file of this instrument version, in label order."""
        return [
            w
            for (w,) in self.con.execute(
                "SELECT DISTINCT wave FROM files WHERE instrument = ? AND wave IS NOT NULL ORDER BY wave",
                [instrument_key(inst)],
            ).fetchall()
        ]

    def unreported_waves(self, inst: Instrument) -> list[str]:
        """Waves whose stored rows changed after their last report (e.g. a run stopped before it)."""
        if not self._has_table("wave_state"):
            return []
        return [
            w
            for (w,) in self.con.execute(
                "SELECT wave FROM wave_state WHERE instrument = ? "
                "AND (reported_at IS NULL OR reported_at < changed_at) ORDER BY wave",
                [instrument_key(inst)],
            ).fetchall()
        ]

    def row_counts(self) -> dict[tuple[str, str], int]:
        """Stored rows per (responses table, file sha256)."""
        out = {}
        for (name,) in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'responses_%'"
        ).fetchall():
            for sha, n in self.con.execute(f'SELECT "_file_sha256", count(*) FROM "{name}" GROUP BY 1').fetchall():
                out[(name, sha)] = n
        return out

    def _has_table(self, name: str) -> bool:
        return (
            self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[
                0
            ]
            > 0
        )

    def rows(self, inst: Instrument, wave: str | None = None) -> pd.DataFrame:
        """The stored rows of an instrument version (of one ``wave``, or all), in file and row order."""
        name = table_name(inst)
        if not self._has_table(name):
            return pd.DataFrame()
        if wave is None:
            return self.con.execute(f'SELECT * FROM "{name}" ORDER BY "_file_sha256", "_row"').df()
        return self.con.execute(f'SELECT * FROM "{name}" WHERE wave = ? ORDER BY "_file_sha256", "_row"', [wave]).df()
