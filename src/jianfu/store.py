"""Nothing lost: the archive of received files and the embedded DuckDB store of rows.

* Every received file, good or bad, is copied unchanged to ``data/archive/<sha256><ext>``.
* Accepted and quarantined rows go to one wide table per instrument version, with their
  provenance (file sha256, sheet, source row, wave, upload time) and quarantine reasons.
* Storing a file replaces its earlier rows in one transaction, so re-running the same file
  is idempotent: every row is held exactly once.
* DuckDB admits one writing process at a time, so concurrent runs (an inbox poll while a
  researcher runs ``jianfu run``) queue on a lock file next to the database instead of
  failing with "could not set lock": writers take it exclusively, readers shared.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from .instrument import Instrument

__all__ = ["archive_file", "table_name", "Store", "StoreBusy"]

#: How long a run waits for another run's write to finish before giving up.
LOCK_TIMEOUT_S = 600.0


class StoreBusy(RuntimeError):
    """Another process held the store for longer than the lock timeout."""


def archive_file(path: str | Path, sha256: str, archive_dir: str | Path) -> Path:
    """Copy ``path`` to the archive under its sha256 (once; the original is never modified)."""
    path = Path(path)
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    suffix = re.sub(r"[^.a-z0-9]", "", path.suffix.lower())[:8]
    target = archive_dir / f"{sha256}{suffix}"
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return target


def table_name(inst: Instrument) -> str:
    return "responses_" + re.sub(r"[^a-z0-9]+", "_", f"{inst.id}_v{inst.version}".lower())


class Store:
    """The DuckDB store. Use as a context manager; one writer at a time (DuckDB's model)."""

    def __init__(self, path: str | Path, read_only: bool = False, timeout: float = LOCK_TIMEOUT_S):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path.with_name(self.path.name + ".lock"), "a+")
        self._acquire(fcntl.LOCK_SH if read_only else fcntl.LOCK_EX, timeout)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
            if not read_only:
                self.con.execute(
                    "CREATE TABLE IF NOT EXISTS files (sha256 VARCHAR PRIMARY KEY, name VARCHAR, format VARCHAR, "
                    "status VARCHAR, n_rows INTEGER, errors JSON, warnings JSON, wave VARCHAR, instrument VARCHAR, "
                    "archive_path VARCHAR, received_at TIMESTAMP)")
                self.con.execute("ALTER TABLE files ADD COLUMN IF NOT EXISTS office VARCHAR")
                self.con.execute("ALTER TABLE files ADD COLUMN IF NOT EXISTS sheet VARCHAR")
        except Exception:
            self._release()
            raise

    def _acquire(self, mode: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock.close()
                    raise StoreBusy(f"数据库被另一个运行占用超过 {timeout:.0f} 秒 / the store {self.path} was busy "
                                    f"for more than {timeout:.0f} s; try again when the other run has finished") from None
                time.sleep(0.05)

    def _release(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def close(self) -> None:
        self.con.close()
        self._release()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ensure_table(self, inst: Instrument) -> str:
        name = table_name(inst)
        cols = ['"_file_sha256" VARCHAR', '"_file_name" VARCHAR', '"_sheet" VARCHAR', '"_row" INTEGER',
                '"_submitted" TIMESTAMP', '"_duration_s" DOUBLE', '"_respondent_key" VARCHAR',
                '"wave" VARCHAR', '"uploaded_at" TIMESTAMP', '"status" VARCHAR', '"reasons" VARCHAR']
        cols += [f'"{i.id}" DOUBLE' for i in inst.items]
        cols += [f'"{c.id}" DOUBLE' for c in inst.attention_checks]
        cols += [f'"{d.id}" VARCHAR' for d in inst.demographics]
        cols += [f'"{o.id}" VARCHAR' for o in inst.open_questions]
        self.con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({", ".join(cols)}, '
                         'PRIMARY KEY ("_file_sha256", "_sheet", "_row"))')
        return name

    def record_file(self, summary: dict, wave: str, inst: Instrument, archive_path: str,
                    office: str | None = None) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO files (sha256, name, format, status, n_rows, errors, warnings, wave, instrument, "
            "archive_path, received_at, office, sheet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [summary["sha256"], Path(summary["path"]).name, summary["format"], summary["status"], summary["rows"],
             json.dumps(summary["errors"], ensure_ascii=False), json.dumps(summary["warnings"], ensure_ascii=False),
             wave, f"{inst.id}@{inst.version}", archive_path, datetime.now(timezone.utc).replace(tzinfo=None),
             office, summary.get("sheet")])

    def known(self, sha256: str) -> bool:
        """Whether a file with this content was received before."""
        return self.con.execute("SELECT count(*) FROM files WHERE sha256 = ?", [sha256]).fetchone()[0] > 0

    def files(self, inst: Instrument, wave: str | None = None) -> list[dict]:
        """Received files of this instrument version (and wave), oldest first, as run-summary entries."""
        query = ("SELECT name, sha256, format, status, sheet, n_rows, errors, warnings, office, wave FROM files "
                 "WHERE instrument = ?" + (" AND wave = ?" if wave else "") + " ORDER BY received_at, name")
        params = [f"{inst.id}@{inst.version}", *([wave] if wave else [])]
        return [{"path": name, "sha256": sha, "format": fmt, "status": status, "sheet": sheet, "rows": n,
                 "errors": json.loads(errors or "[]"), "warnings": json.loads(warnings or "[]"), "office": office,
                 "wave": w}
                for name, sha, fmt, status, sheet, n, errors, warnings, office, w in self.con.execute(query, params).fetchall()]

    def waves(self, inst: Instrument) -> list[str]:
        return [w for (w,) in self.con.execute(
            "SELECT DISTINCT wave FROM files WHERE instrument = ? AND wave IS NOT NULL ORDER BY wave",
            [f"{inst.id}@{inst.version}"]).fetchall()]

    def write_rows(self, frame: pd.DataFrame, inst: Instrument, wave: str) -> int:
        """Replace the rows of every file in ``frame`` (idempotent); returns rows written."""
        name = self._ensure_table(inst)
        columns = [r[0] for r in self.con.execute(f'DESCRIBE "{name}"').fetchall()]
        rows = frame.copy()
        rows["wave"] = wave
        if "uploaded_at" not in rows:  # a rewrite (reanalysis) keeps the original upload time
            rows["uploaded_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        rows = rows.reindex(columns=columns)
        for col in rows.columns:
            if rows[col].dtype == object:
                rows[col] = rows[col].astype("string")
        self.con.execute("BEGIN TRANSACTION")
        try:
            shas = sorted(rows["_file_sha256"].unique())
            self.con.execute(f'DELETE FROM "{name}" WHERE "_file_sha256" IN (SELECT UNNEST(?))', [shas])
            self.con.register("incoming", rows)
            self.con.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
            self.con.unregister("incoming")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        return len(rows)

    def rows(self, inst: Instrument, wave: str | None = None) -> pd.DataFrame:
        name = table_name(inst)
        exists = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                  [name]).fetchone()[0]
        if not exists:
            return pd.DataFrame()
        if wave is None:
            return self.con.execute(f'SELECT * FROM "{name}" ORDER BY "_file_sha256", "_row"').df()
        return self.con.execute(f'SELECT * FROM "{name}" WHERE wave = ? ORDER BY "_file_sha256", "_row"',
                                [wave]).df()
