"""Uploads: streamed to disk within the size limits, archived, checked, and delivered to the office's inbox.

What happens to one uploaded file, in order:

1. **stream** (:func:`receive_files`) — the multipart body is parsed as it arrives and each file is
   written to ``portal/staging/<id>/<name>`` while its sha256 is computed; a file beyond
   ``Limits.max_bytes`` (or a request beyond :func:`request_limit`) stops the upload with HTTP 413
   and leaves nothing behind. ``<id>`` is chosen by the server; ``<name>`` is the client's file name
   reduced to a safe base name (:func:`safe_name`) — never its path;
2. **archive** — the bytes are copied to ``archive/<sha256><ext>`` and verified before anything else
   (:func:`jianfu.store.database.archive_file`), as the inbox does;
3. **dedupe** — the same sha256 from the same office is recognised (a unique key in the portal
   database, so two simultaneous uploads of one file cannot both pass) and reported as already
   received, with the result of the first upload;
4. **check** — :func:`jianfu.pipeline.validate_files`, the engine behind ``jianfu validate``: accepted
   or rejected, rows read and quarantined, every problem with sheet, row, column, value and fix;
5. **deliver** — the file is linked into ``inbox/<office>/<id>_<name>`` under its final name in one
   step, so the inbox never sees a partial file; rejected files go there too, so the inbox flow records
   them and writes the office's ``*.问题.txt`` exactly as for a file dropped in the shared folder.

An accepted upload is ``processing`` until the inbox run has stored it and rebuilt its wave's report
(:meth:`UploadService.refresh` reads that from the store), then ``accepted``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import threading
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

from jianfu.instrument import FLAG_NAMES, Instrument
from jianfu.store.database import BaseStore, StoreBusy, archive_file, open_store, private_dir, store_exists, table_name

from .accounts import Account
from .db import Database

__all__ = [
    "Received",
    "UploadTooLarge",
    "BadUpload",
    "safe_name",
    "new_id",
    "request_limit",
    "receive_files",
    "UploadService",
    "STATUSES",
]

#: What the API and the pages show: ``processing`` covers a file still being checked and an accepted
#: file the pipeline has not yet stored (or whose wave report is not yet rebuilt).
STATUSES = ("accepted", "rejected", "processing")
_ID_RE = re.compile(r"^[0-9a-f]{12}$")
_MAX_FIELD_BYTES = 4096
_MAX_FIELDS = 20


class UploadTooLarge(Exception):
    """A file (or the request) is beyond the size limit: HTTP 413."""

    def __init__(self, limit: int, filename: str | None = None):
        self.limit, self.filename = limit, filename
        mb = f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{limit / 1024:.0f} KB"
        who_zh = f"文件“{filename}”" if filename else "上传内容"
        who_en = f"the file {filename!r}" if filename else "the upload"
        super().__init__(
            f"{who_zh}超过 {mb} 的大小上限，未被接收；请删除空白行列或拆分为多个文件后重新上传 / "
            f"{who_en} is larger than the {mb} limit and was not received; delete blank rows and columns or "
            "split it into several files"
        )


class BadUpload(Exception):
    """A malformed upload request: HTTP 400, with a bilingual message."""


def new_id() -> str:
    """A fresh upload id: 12 random hex digits (48 bits), unguessable enough to name a staging folder."""
    return secrets.token_hex(6)


def safe_name(client_name: str | None, max_stem: int = 60) -> str:
    r"""The client's file name reduced to a safe base name, never a path.

    No folders, no control or reserved characters, no leading dots, at most ``max_stem`` characters
    before a short lowercase extension.

    Examples
    --------
    >>> safe_name("../../x.xlsx"), safe_name("C:\\Users\\科员\\第一批 (终).XLSX"), safe_name("..")
    ('x.xlsx', '第一批 (终).xlsx', 'upload')
    >>> safe_name("~$锁.xlsx"), safe_name("a\x00b<c>.csv"), safe_name("")
    ('锁.xlsx', 'abc.csv', 'upload')
    """
    name = unicodedata.normalize("NFC", client_name or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C") and c not in '<>:"|?*')
    name = re.sub(r"\s+", " ", name).strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = re.sub(r"[^a-z0-9]", "", ext.lower())[:8]
    stem = stem.lstrip(".~$ ").rstrip(". ")[:max_stem].rstrip(". ")
    return f"{stem or 'upload'}{'.' + ext if ext else ''}"


def request_limit(max_bytes: int, max_files: int) -> int:
    """The most bytes one upload request may carry: every file at its limit, plus room for the form."""
    return max_bytes * max_files + 64 * 1024


@dataclass
class Received:
    """One file streamed to ``path`` (``portal/staging/<id>/<filename>``)."""

    id: str
    filename: str
    path: Path
    sha256: str
    size: int


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    disposition: bytes = b""
    data: bytearray = field(default_factory=bytearray)
    received: Received | None = None
    fh: object = None
    hasher: object = None
    discard: bool = False


class _Parser:
    """The callbacks of python-multipart's streaming parser: files to disk, small fields to memory."""

    def __init__(self, staging: Path, max_bytes: int, max_files: int):
        self.staging, self.max_bytes, self.max_files = staging, max_bytes, max_files
        self.files: list[Received] = []
        self.fields: dict[str, str] = {}
        self.too_large: str | None = None
        self.error: str | None = None
        self._part = _Part()
        self._header_field = b""
        self._header_value = b""
        self._n_fields = 0

    def on_part_begin(self) -> None:
        self._part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._part.disposition = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._part.disposition)
        part = self._part
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            self._n_fields += 1
            if self._n_fields > _MAX_FIELDS:
                self.error = "表单字段过多 / too many form fields"
            return
        part.filename = options[b"filename"].decode("utf-8", "replace")
        if part.name != "files" or len(self.files) >= self.max_files or self.error or self.too_large:
            if part.name == "files" and len(self.files) >= self.max_files:
                self.error = f"一次最多上传 {self.max_files} 个文件 / at most {self.max_files} files per upload"
            part.discard = True
            return
        upload_id = new_id()
        folder = private_dir(self.staging / upload_id)
        path = folder / safe_name(part.filename)
        part.fh = open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        part.hasher = hashlib.sha256()
        part.received = Received(upload_id, path.name, path, "", 0)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part, chunk = self._part, data[start:end]
        if part.filename is None:
            part.data.extend(chunk)
            if len(part.data) > _MAX_FIELD_BYTES:
                self.error = "表单字段过长 / a form field is too long"
                part.data.clear()
            return
        if part.discard or part.received is None:
            return
        part.received.size += len(chunk)
        if part.received.size > self.max_bytes:
            # Stop writing but keep reading: answering 413 before the client has finished sending
            # would break its connection instead of showing the message.
            self.too_large = part.received.filename
            self._drop(part)
            return
        part.fh.write(chunk)
        part.hasher.update(chunk)

    def _drop(self, part: _Part) -> None:
        part.discard = True
        if part.fh is not None:
            part.fh.close()
            part.fh = None
        if part.received is not None:
            shutil.rmtree(part.received.path.parent, ignore_errors=True)
            part.received = None

    def on_part_end(self) -> None:
        part = self._part
        if part.filename is None:
            if part.name and part.name not in self.fields:
                self.fields[part.name] = bytes(part.data).decode("utf-8", "replace")
            return
        if part.received is None:
            return
        part.fh.close()
        part.fh = None
        if part.received.size == 0 and not part.filename:
            # A form submitted with no file chosen sends one empty part without a name.
            self._drop(part)
            return
        part.received.sha256 = part.hasher.hexdigest()
        self.files.append(part.received)

    def on_end(self) -> None:
        pass

    def cleanup(self) -> None:
        self._drop(self._part)
        for r in self.files:
            shutil.rmtree(r.path.parent, ignore_errors=True)
        self.files = []

    def callbacks(self) -> dict:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin",
                "on_part_data",
                "on_part_end",
                "on_header_field",
                "on_header_value",
                "on_header_end",
                "on_headers_finished",
                "on_end",
            )
        }


async def receive_files(
    content_type: str,
    content_length: str | None,
    stream: AsyncIterator[bytes],
    staging: Path,
    max_bytes: int,
    max_files: int,
) -> tuple[list[Received], dict[str, str]]:
    """Stream a ``multipart/form-data`` body: files of the field ``files`` to ``staging``, other fields to memory.

    Returns
    -------
    (files, fields)
        The received files in the order sent, and the small form fields (``csrf_token``).

    Raises
    ------
    UploadTooLarge
        A file is larger than ``max_bytes`` or the body larger than :func:`request_limit`;
        whatever was written is removed.
    BadUpload
        Not a multipart form, too many fields or files, or a malformed body.
    """
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise BadUpload("请用表单上传文件（multipart/form-data）/ upload the files as multipart/form-data")
    total_limit = request_limit(max_bytes, max_files)
    if content_length and content_length.isdigit() and int(content_length) > total_limit:
        raise UploadTooLarge(total_limit)
    parser = _Parser(private_dir(staging), max_bytes, max_files)
    multipart = MultipartParser(params[b"boundary"], parser.callbacks())
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > total_limit:
                raise UploadTooLarge(total_limit)
            multipart.write(chunk)
        multipart.finalize()
    except (UploadTooLarge, BadUpload):
        parser.cleanup()
        raise
    except Exception as exc:  # a malformed body, or the client went away mid-upload
        parser.cleanup()
        raise BadUpload(
            f"上传内容不完整或格式有误 / the upload was incomplete or malformed ({type(exc).__name__})"
        ) from None
    if parser.too_large:
        parser.cleanup()
        raise UploadTooLarge(max_bytes, parser.too_large)
    if parser.error:
        parser.cleanup()
        raise BadUpload(parser.error)
    return parser.files, parser.fields


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _flag_counts(reasons: list[str | None]) -> dict[str, int]:
    """Rows per quality flag from the store's ``reasons`` column (comma-separated flag names).

    Examples
    --------
    >>> _flag_counts(["invalid", "speeder,duplicate", None, ""])["invalid"]
    1
    """
    counts = dict.fromkeys(FLAG_NAMES, 0)
    for r in reasons:
        for name in (r or "").split(","):
            if name in counts:
                counts[name] += 1
    return counts


def _row_statuses(store: BaseStore, table: str, shas: list[str]) -> dict[str, list[tuple[str, str | None]]]:
    """(status, reasons) of every stored row of these contents, by sha256."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    exists = store.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table])
    if not shas or not exists.fetchone()[0]:
        return out
    for sha, status, reasons in store.con.execute(
        f'SELECT "_file_sha256", status, reasons FROM "{table}" WHERE "_file_sha256" IN (SELECT UNNEST(?))', [shas]
    ).fetchall():
        out.setdefault(sha, []).append((status, reasons))
    return out


class UploadService:
    """Receive, check, deliver and look up uploads.

    Parameters
    ----------
    db : Database
        The portal database.
    inst : Instrument
        The questionnaire uploads are checked against.
    settings : jianfu.pipeline.Settings
        The engine's folders (inbox, archive, store) and size limits.
    staging : Path
        Where uploads are streamed before they are checked (``portal/staging``).
    """

    def __init__(self, db: Database, inst: Instrument, settings, staging: Path):
        self.db, self.inst, self.settings, self.staging = db, inst, settings, Path(staging)
        # Striped locks: one content is always archived under the same lock.
        self._locks = [threading.Lock() for _ in range(64)]

    def _archive(self, path: Path, sha256: str) -> None:
        # archive_file names its temporary copy by process id: two request threads archiving the same
        # content at once (one file sent twice in a hurry) would write the same temporary file.
        with self._locks[int(sha256[:8], 16) % len(self._locks)]:
            archive_file(path, sha256, self.settings.archive_dir)

    # -- receiving ----------------------------------------------------------------------

    def accept(self, received: Received, account: Account, wave: str) -> tuple[dict, bool]:
        """Archive, dedupe, check and deliver one received file: (upload record, already received before)."""
        from jianfu.pipeline import validate_files

        office = account.office
        if office is None:
            raise PermissionError("only office accounts upload")
        self._archive(received.path, received.sha256)
        try:
            with self.db.connect() as con:
                con.execute(
                    "INSERT INTO uploads (id, office, account, filename, stored_name, sha256, size, wave, status, "
                    "received_at) VALUES (?, ?, ?, ?, '', ?, ?, ?, 'checking', ?)",
                    [
                        received.id,
                        office,
                        account.name,
                        received.filename,
                        received.sha256,
                        received.size,
                        wave,
                        _now(),
                    ],
                )
        except sqlite3.IntegrityError:
            shutil.rmtree(received.path.parent, ignore_errors=True)
            return self.find(office, received.sha256), True
        checked = validate_files([received.path], self.inst, self.settings)["files"][0]
        return self._deliver(received, office, checked), False

    def _deliver(self, received: Received, office: str, checked: dict) -> dict:
        accepted = checked["status"] == "accepted"
        n = int(checked.get("rows") or 0)
        quarantined = int(checked.get("quarantined") or 0) if accepted else 0
        flags = checked.get("flags") or dict.fromkeys(FLAG_NAMES, 0)
        stored_name = f"{received.id}_{received.filename}"
        inbox = private_dir(Path(self.settings.inbox_dir) / office)
        try:
            # A hard link publishes the complete file under its final name in one step.
            os.link(received.path, inbox / stored_name)
        except OSError:  # the inbox is on another file system: copy under a hidden name, then rename
            tmp = inbox / f".{stored_name}.part"
            shutil.copyfile(received.path, tmp)
            os.replace(tmp, inbox / stored_name)
        os.chmod(inbox / stored_name, 0o600)
        with self.db.connect() as con:
            con.execute(
                "UPDATE uploads SET status = ?, stored_name = ?, rows_read = ?, rows_accepted = ?, "
                "rows_quarantined = ?, flags = ?, problems = ? WHERE id = ?",
                [
                    "processing" if accepted else "rejected",
                    stored_name,
                    n,
                    n - quarantined if accepted else 0,
                    quarantined,
                    json.dumps(flags),
                    json.dumps(checked["problems"], ensure_ascii=False),
                    received.id,
                ],
            )
        shutil.rmtree(received.path.parent, ignore_errors=True)
        return self.get(received.id)

    def record_batch(self, office: str, results: list[tuple[dict, bool]]) -> str:
        """Remember which uploads one form submission produced (for its result page); returns the batch id."""
        batch = secrets.token_hex(8)
        with self.db.connect() as con:
            con.executemany(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?)",
                [(batch, i, rec["id"], int(dup), office) for i, (rec, dup) in enumerate(results)],
            )
        return batch

    def batch(self, batch: str) -> tuple[str | None, list[tuple[dict, bool]]]:
        """(office, [(upload record, was a duplicate)]) of a batch; (None, []) when unknown."""
        with self.db.connect(write=False) as con:
            rows = con.execute(
                "SELECT upload_id, duplicate, office FROM batches WHERE batch = ? ORDER BY seq", [batch]
            ).fetchall()
        if not rows:
            return None, []
        return rows[0]["office"], [(self.get(r["upload_id"]), bool(r["duplicate"])) for r in rows]

    def recover(self) -> int:
        """Finish uploads a stopped portal left in the middle of their check; returns how many.

        The bytes are in staging or, failing that, in the archive (step 2 came before the record).
        """
        from jianfu.pipeline import validate_files

        with self.db.connect(write=False) as con:
            stuck = [dict(r) for r in con.execute("SELECT * FROM uploads WHERE status = 'checking'").fetchall()]
        done = 0
        for rec in stuck:
            path = self.staging / rec["id"] / rec["filename"]
            if not path.exists():
                archived = next(Path(self.settings.archive_dir).glob(f"{rec['sha256']}*"), None)
                if archived is None:
                    continue
                private_dir(path.parent)
                shutil.copyfile(archived, path)
            received = Received(rec["id"], rec["filename"], path, rec["sha256"], rec["size"])
            self._deliver(received, rec["office"], validate_files([path], self.inst, self.settings)["files"][0])
            done += 1
        return done

    # -- looking up ---------------------------------------------------------------------

    def get(self, upload_id: str) -> dict | None:
        """The upload record of that id, or None (also for anything that is not an id)."""
        if not _ID_RE.match(upload_id or ""):
            return None
        with self.db.connect(write=False) as con:
            row = con.execute("SELECT * FROM uploads WHERE id = ?", [upload_id]).fetchone()
        return dict(row) if row else None

    def find(self, office: str, sha256: str) -> dict | None:
        """The office's upload of that content, or None."""
        with self.db.connect(write=False) as con:
            row = con.execute("SELECT * FROM uploads WHERE office = ? AND sha256 = ?", [office, sha256]).fetchone()
        return dict(row) if row else None

    def list(self, office: str | None = None, limit: int = 500) -> list[dict]:
        """Uploads of ``office`` (every office when None), newest first."""
        query = "SELECT * FROM uploads" + (" WHERE office = ?" if office else "")
        with self.db.connect(write=False) as con:
            rows = con.execute(
                query + " ORDER BY received_at DESC, rowid DESC LIMIT ?", [*([office] if office else []), limit]
            ).fetchall()
        return [dict(r) for r in rows]

    def pending_by_wave(self) -> dict[str, int]:
        """Uploads still being checked or processed, counted by wave."""
        with self.db.connect(write=False) as con:
            rows = con.execute(
                "SELECT wave, count(*) AS n FROM uploads WHERE status IN ('checking', 'processing') GROUP BY wave"
            ).fetchall()
        return {r["wave"]: r["n"] for r in rows}

    @staticmethod
    def item(rec: dict) -> dict:
        """The JSON API's view of an upload record."""
        return {
            "id": rec["id"],
            "filename": rec["filename"],
            "office": rec["office"],
            "wave": rec["wave"],
            "sha256": rec["sha256"],
            "status": "processing" if rec["status"] == "checking" else rec["status"],
            "rows": {
                "read": rec["rows_read"],
                "accepted": rec["rows_accepted"],
                "quarantined": rec["rows_quarantined"],
            },
            "flags": json.loads(rec["flags"] or "{}"),
            "errors": json.loads(rec["problems"] or "[]"),
            "received_at": rec["received_at"],
        }

    # -- following the pipeline ---------------------------------------------------------

    def refresh(self, timeout: float = 2.0) -> int:
        """Settle ``processing`` uploads the inbox run has finished: status, rows and flags from the store.

        An upload is finished when the store records its content, the file has left the inbox and the
        wave's report has been rebuilt since. Returns how many uploads were settled; a busy store
        (another run writing) is simply tried again on the next call.
        """
        with self.db.connect(write=False) as con:
            pending = [dict(r) for r in con.execute("SELECT * FROM uploads WHERE status = 'processing'").fetchall()]
        if not pending or not store_exists(self.settings):
            return 0
        shas = sorted({p["sha256"] for p in pending})
        try:
            with open_store(self.settings, read_only=True, timeout=timeout) as store:
                files = {f["sha256"]: f for f in store.all_files() if f["sha256"] in set(shas)}
                unreported = set(store.unreported_waves(self.inst))
                rows = _row_statuses(store, table_name(self.inst), sorted(files))
        except StoreBusy:
            return 0
        settled = 0
        for rec in pending:
            f = files.get(rec["sha256"])
            if f is None or f["wave"] in unreported:
                continue
            if (Path(self.settings.inbox_dir) / rec["office"] / rec["stored_name"]).exists():
                continue
            mine = rows.get(rec["sha256"], [])
            with self.db.connect() as con:
                con.execute(
                    "UPDATE uploads SET status = ?, wave = ?, rows_read = ?, rows_accepted = ?, rows_quarantined = ?, "
                    "flags = ?, processed_at = ? WHERE id = ? AND status = 'processing'",
                    [
                        f["status"],
                        f["wave"] or rec["wave"],
                        int(f["n_rows"] or 0),
                        sum(s == "accepted" for s, _ in mine),
                        sum(s == "quarantined" for s, _ in mine),
                        json.dumps(_flag_counts([r for _, r in mine])),
                        _now(),
                        rec["id"],
                    ],
                )
            settled += 1
        return settled
