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
* Two backends share the schema and the SQL (:class:`BaseStore`); :func:`open_store` picks one.
  The embedded default is a DuckDB file (:class:`Store`): DuckDB admits one writing process at a
  time, so concurrent runs (an inbox poll while a researcher runs ``jianfu run``) queue on a lock
  file next to the database instead of failing with "could not set lock": writers take it
  exclusively, readers shared. File locks are not safe on network file systems, so workers on
  several machines share a PostgreSQL store instead (``JIANFU_STORE_URL=postgresql://…``,
  :class:`~jianfu.store.postgres.PostgresStore`): transactions, and a lock per content written.
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
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from jianfu.errors import ArchiveError, StoreBusy
from jianfu.ingest.readers import sha256_file
from jianfu.instrument import Instrument

__all__ = [
    "archive_file",
    "table_name",
    "open_store",
    "store_exists",
    "store_url_from_env",
    "BaseStore",
    "Store",
    "StoreBusy",
    "FileRecord",
    "Receipt",
    "private_dir",
    "ArchiveError",
]

#: How long a run waits for another run's write to finish before giving up.
LOCK_TIMEOUT_S = 600.0
#: The environment variable naming a PostgreSQL store; unset, the store is the DuckDB file.
STORE_URL_ENV = "JIANFU_STORE_URL"
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


#: The store's own tables. Columns added after a table was first released are listed in
#: ``_ADDED`` as well: a store made before gets them on its next write.
_TABLES = {
    "files": "sha256 VARCHAR PRIMARY KEY, name VARCHAR, format VARCHAR, status VARCHAR, n_rows INTEGER, "
    "errors JSON, warnings JSON, wave VARCHAR, instrument VARCHAR, archive_path VARCHAR, received_at TIMESTAMP, "
    "office VARCHAR, sheet VARCHAR",
    "receipts": "delivery VARCHAR PRIMARY KEY, sha256 VARCHAR, office VARCHAR, name VARCHAR, kind VARCHAR, "
    "wave VARCHAR, instrument VARCHAR, received_at TIMESTAMP",
    "wave_state": "instrument VARCHAR, wave VARCHAR, changed_at TIMESTAMP, reported_at TIMESTAMP, "
    "PRIMARY KEY (instrument, wave)",
}
_ADDED = {"files": {"office": "VARCHAR", "sheet": "VARCHAR"}}
#: Added to the responses tables by partial acceptance (the invalid cells, the missing-value codes).
_ADDED_RESPONSES = {"_invalid_detail": "VARCHAR", "_missing_codes": "VARCHAR"}
#: The key of the lock that creating or altering tables takes (backends that lock per key).
_SCHEMA_LOCK = "jianfu:schema"


def store_url_from_env() -> str | None:
    """The server store named by ``JIANFU_STORE_URL`` (``postgresql://user@host:port/db``), else None."""
    return os.environ.get(STORE_URL_ENV, "").strip() or None


def open_store(settings, read_only: bool = False, timeout: float = LOCK_TIMEOUT_S) -> BaseStore:
    """The store a run's settings name: PostgreSQL when ``settings.store_url`` is set, else the DuckDB file.

    Parameters
    ----------
    settings
        :class:`jianfu.pipeline.Settings` (``store_url``, ``store_path``).
    read_only
        Open for reading: the DuckDB file is shared with other readers, a PostgreSQL session refuses writes.
    timeout
        Seconds to wait for another run's write before :class:`~jianfu.errors.StoreBusy`.

    Returns
    -------
    BaseStore
        A :class:`Store` or a :class:`~jianfu.store.postgres.PostgresStore`; use it as a context manager.
    """
    url = getattr(settings, "store_url", None)
    if url:
        from jianfu.store.postgres import PostgresStore

        return PostgresStore(url, read_only=read_only, timeout=timeout)
    return Store(settings.store_path, read_only=read_only, timeout=timeout)


def store_exists(settings) -> bool:
    """Whether there is a store to read: a server store always is (its tables are made on connecting)."""
    return bool(getattr(settings, "store_url", None)) or Path(settings.store_path).exists()


class BaseStore(ABC):
    """The store's schema and queries, in the SQL that DuckDB and PostgreSQL share.

    A backend supplies the connection ``con`` (``con.execute(sql, params)`` with ``?`` placeholders,
    returning a cursor), how it locks the contents a transaction writes, how it bulk-inserts a
    frame and how it reads a query into one. Use a store as a context manager.
    """

    con: Any

    @abstractmethod
    def _lock(self, keys: list[str]) -> None:
        """Inside a transaction: hold ``keys`` (sorted) until it ends, against other writers."""

    @abstractmethod
    def _insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Insert every row of ``frame``, whose columns are the table's, in the open transaction."""

    @abstractmethod
    def _frame(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """The result of a query as a DataFrame, typed as the columns are."""

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def __enter__(self) -> BaseStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self, keys: set[str] | list[str] = ()) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._lock(sorted(keys))
            yield
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _columns(self, tables: list[str]) -> dict[str, list[str]]:
        """The columns of those of ``tables`` that exist, in table order."""
        out: dict[str, list[str]] = {}
        for table, column in self.con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name IN (SELECT UNNEST(?)) ORDER BY table_name, ordinal_position",
            [list(tables)],
        ).fetchall():
            out.setdefault(table, []).append(column)
        return out

    def _ensure_tables(self, wanted: dict[str, tuple[str, dict[str, str]]]) -> None:
        """Create the missing ``{table: (columns, added columns)}`` and add missing columns.

        Only a store that lacks something changes, under the schema lock, so writers that open
        the store at once neither race to create a table nor queue behind a needless ALTER.
        """

        def missing() -> dict[str, list[str] | None]:
            have = self._columns(list(wanted))
            todo: dict[str, list[str] | None] = {t: None for t in wanted if t not in have}
            for t in set(wanted) & set(have):
                if cols := [c for c in wanted[t][1] if c not in have[t]]:
                    todo[t] = cols
            return todo

        if not missing():
            return
        with self._transaction([_SCHEMA_LOCK]):
            for table, cols in missing().items():  # again, now that no other writer changes the schema
                ddl, added = wanted[table]
                if cols is None:
                    self.con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({ddl})')
                for c in cols or ():
                    self.con.execute(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS "{c}" {added[c]}')

    def _ensure_schema(self) -> None:
        self._ensure_tables({t: (ddl, _ADDED.get(t, {})) for t, ddl in _TABLES.items()})

    def _ensure_table(self, inst: Instrument) -> str:
        name = table_name(inst)
        cols = [
            '"_file_sha256" VARCHAR',
            '"_file_name" VARCHAR',
            '"_sheet" VARCHAR',
            '"_row" INTEGER',
            '"_submitted" TIMESTAMP',
            '"_duration_s" DOUBLE PRECISION',
            '"_respondent_key" VARCHAR',
            '"wave" VARCHAR',
            '"uploaded_at" TIMESTAMP',
            '"status" VARCHAR',
            '"reasons" VARCHAR',
            '"_invalid_detail" VARCHAR',
            '"_missing_codes" VARCHAR',
        ]
        cols += [f'"{i.id}" DOUBLE PRECISION' for i in inst.items]
        cols += [f'"{c.id}" DOUBLE PRECISION' for c in inst.attention_checks]
        cols += [f'"{d.id}" VARCHAR' for d in inst.demographics]
        cols += [f'"{o.id}" VARCHAR' for o in inst.open_questions]
        ddl = f'{", ".join(cols)}, PRIMARY KEY ("_file_sha256", "_sheet", "_row")'
        self._ensure_tables({name: (ddl, _ADDED_RESPONSES)})
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

        Notes
        -----
        The transaction holds every content it writes (its sha256) against other writers, so two
        workers committing the same content at once write it one after the other: the second
        replaces the first's rows with the same rows, and no row is held twice.
        """
        table = self._ensure_table(inst) if rows is not None and not rows.empty else None
        contents = {f.sha256 for f in files} | {r.sha256 for r in receipts}
        if table:
            contents |= set(rows["_file_sha256"].dropna().astype(str))
        with self._transaction(contents):
            now = _now()
            for f in files:
                self.con.execute(
                    "INSERT INTO files (sha256, name, format, status, n_rows, errors, warnings, wave, instrument, "
                    "archive_path, received_at, office, sheet) "
                    "VALUES (?, ?, ?, ?, ?, CAST(? AS JSON), CAST(? AS JSON), ?, ?, ?, ?, ?, ?) "
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
            written = self._replace_rows(table, rows, wave) if table else 0
            if files or written:
                self.con.execute(
                    "INSERT INTO wave_state VALUES (?, ?, ?, NULL) ON CONFLICT (instrument, wave) "
                    "DO UPDATE SET changed_at = excluded.changed_at",
                    [instrument_key(inst), wave, now],
                )
        return written

    def _replace_rows(self, table: str, frame: pd.DataFrame, wave: str) -> int:
        rows = frame.drop_duplicates(_KEY, keep="first").copy()
        rows["wave"] = wave
        if "uploaded_at" not in rows:  # a rewrite (reanalysis) keeps the original upload time
            rows["uploaded_at"] = _now()
        rows = rows.reindex(columns=self._columns([table])[table])
        for col in rows.columns:
            if rows[col].dtype == object:
                rows[col] = rows[col].astype("string")
        shas = sorted(rows["_file_sha256"].unique())
        self.con.execute(f'DELETE FROM "{table}" WHERE "_file_sha256" IN (SELECT UNNEST(?))', [shas])
        self._insert_frame(table, rows)
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
            "SELECT name, sha256, format, status, sheet, n_rows, errors, warnings, office, wave, received_at "
            "FROM files WHERE instrument = ?" + (" AND wave = ?" if wave else "")
        )
        params = [instrument_key(inst), *([wave] if wave else [])]
        # Sorted here, not in SQL: names compare by code point whatever the server's collation.
        found = sorted(self.con.execute(query, params).fetchall(), key=lambda r: (r[-1], r[0]))
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
            for name, sha, fmt, status, sheet, n, errors, warnings, office, w, _ in found
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
        found = self.con.execute(
            "SELECT DISTINCT wave FROM files WHERE instrument = ? AND wave IS NOT NULL", [instrument_key(inst)]
        ).fetchall()
        return sorted(w for (w,) in found)

    def unreported_waves(self, inst: Instrument) -> list[str]:
        """Waves whose stored rows changed after their last report (e.g. a run stopped before it)."""
        if not self._has_table("wave_state"):
            return []
        found = self.con.execute(
            "SELECT wave FROM wave_state WHERE instrument = ? AND (reported_at IS NULL OR reported_at < changed_at)",
            [instrument_key(inst)],
        ).fetchall()
        return sorted(w for (w,) in found)

    def row_counts(self) -> dict[tuple[str, str], int]:
        """Stored rows per (responses table, file sha256)."""
        out = {}
        for (name,) in self.con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name LIKE 'responses_%'"
        ).fetchall():
            for sha, n in self.con.execute(f'SELECT "_file_sha256", count(*) FROM "{name}" GROUP BY 1').fetchall():
                out[(name, sha)] = n
        return out

    def _has_table(self, name: str) -> bool:
        return bool(self._columns([name]))

    def rows(self, inst: Instrument, wave: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """The stored rows of an instrument version (of one ``wave``, or all), in file and row order.

        ``columns`` keeps only those of the listed columns that the table has (all by default): comparing
        waves needs a few of a wave's hundred-odd columns, and reads every wave.
        """
        name = table_name(inst)
        stored = self._columns([name]).get(name)
        if not stored:
            return pd.DataFrame()
        select = "*"
        if columns is not None:
            have = set(stored)
            wanted = [c for c in columns if c in have]
            if not wanted:
                return pd.DataFrame()
            select = ", ".join('"' + c.replace('"', '""') + '"' for c in wanted)
        if wave is None:
            return self._frame(f'SELECT {select} FROM "{name}" ORDER BY "_file_sha256", "_row"')
        return self._frame(f'SELECT {select} FROM "{name}" WHERE wave = ? ORDER BY "_file_sha256", "_row"', [wave])


class Store(BaseStore):
    """The embedded store: a DuckDB file, one writer at a time (DuckDB's model).

    Writers queue on an exclusive ``flock`` of ``<file>.lock``, readers share it, so a run that
    finds the store busy waits up to ``timeout`` seconds instead of failing.
    """

    def __init__(self, path: str | Path, read_only: bool = False, timeout: float = LOCK_TIMEOUT_S):
        self.path = Path(path)
        private_dir(self.path.parent)
        lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_file = os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "a+")
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

    def _acquire(self, mode: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock_file, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock_file.close()
                    raise StoreBusy(
                        f"数据库被另一个运行占用超过 {timeout:.0f} 秒 / the store {self.path} was busy "
                        f"for more than {timeout:.0f} s; try again when the other run has finished"
                    ) from None
                time.sleep(0.05)

    def _release(self) -> None:
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def close(self) -> None:
        """Close the connection and release the store's lock."""
        self.con.close()
        self._release()

    def _lock(self, keys: list[str]) -> None:
        """Nothing to do: the whole file is held by the writer's flock."""

    def _insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("incoming", frame)
        try:
            self.con.execute(f'INSERT INTO "{table}" SELECT * FROM incoming')
        finally:
            self.con.unregister("incoming")

    def _frame(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params).df()
