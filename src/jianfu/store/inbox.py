"""The inbox: uploads that HR offices drop in ``inbox/<office>/``, taken in without losing any.

A batch goes through these steps, each safe to repeat:

1. **scan** — the files waiting, and every file passed over with the reason (hidden or temporary
   name, a link, a folder too deep, still being copied), so nothing is skipped without a word;
2. **claim** — an exclusive lock on each file (``flock`` on the file itself), so two inbox runs
   at once never take the same file: a file another run holds is left to it;
3. **sort** — content already in the store, or twice in this batch (the same export dropped in
   two office folders), is a *re-sent copy*: archived and recorded, never stored twice;
4. archive (verified), parse and clean the new files;
5. **commit** — file records, receipts and rows in one store transaction;
6. **file away** — only now is each file moved out of the inbox.

A crash at any point leaves every file either still in the inbox or with its rows stored (both,
between 5 and 6), and a plain re-run finishes the work: files still waiting are processed again
(their earlier partial work was never committed), files already stored are recognised by their
sha256 and filed away.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jianfu.errors import ArchiveError
from jianfu.ingest.readers import sha256_file
from jianfu.store.database import FileRecord, Receipt, private_dir

__all__ = [
    "Waiting",
    "Skipped",
    "Scan",
    "Delivery",
    "scan_inbox",
    "claim",
    "sort_deliveries",
    "receipts_for",
    "file_away",
    "TEMPORARY_SUFFIXES",
]

#: Browser downloads and copies in progress: picked up once they have their final name.
TEMPORARY_SUFFIXES = {".part", ".tmp", ".crdownload", ".download", ".partial"}
#: Office folders are one level deep: ``inbox/<office>/<file>``.
MAX_DEPTH = 2


@dataclass(frozen=True)
class Waiting:
    """A file ready to be taken in: its office (``_`` for the inbox root) and path."""

    office: str
    path: Path


@dataclass(frozen=True)
class Skipped:
    """A file the scan passed over, with the reason and what the office can do about it."""

    office: str
    name: str
    code: str
    zh: str
    en: str

    def to_dict(self) -> dict:
        """The skipped file as a JSON-ready dict, with its bilingual message."""
        return {
            "office": self.office,
            "name": self.name,
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
            "message": f"{self.office}/{self.name}：{self.zh} | {self.en}",
        }


@dataclass(frozen=True)
class Scan:
    """What the inbox holds: files to take in, files passed over, files still being copied."""

    waiting: list[Waiting] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    settling: int = 0


_REASONS = {
    "hidden": (
        "文件名以“.”或“~$”开头，被视为隐藏或临时文件，未处理；请去掉开头的点或“~$”后重新放入",
        "the name starts with '.' or '~$' (a hidden or temporary file) and was not taken in; "
        "rename it without the leading '.' or '~$'",
    ),
    "temporary": (
        "文件仍是下载/复制中的临时文件，未处理；复制完成后会自动处理",
        "a download or copy in progress (temporary name); it is taken in once it has its final name",
    ),
    "link": (
        "这是一个快捷方式/链接，不是文件本身，未处理；请放入文件本身",
        "a link, not the file itself: not taken in; put the file itself in the folder",
    ),
    "too_deep": (
        "文件位于子文件夹中，未处理；请直接放在本单位的收件文件夹中",
        "the file is inside a sub-folder: not taken in; put it directly in the office's inbox folder",
    ),
    "not_a_file": ("不是普通文件，未处理", "not a regular file: not taken in"),
}


def _skip(office: str, name: str, code: str) -> Skipped:
    zh, en = _REASONS[code]
    return Skipped(office, name, code, zh, en)


def scan_inbox(inbox_dir: str | Path, settle_seconds: float = 5.0, now: float | None = None) -> Scan:
    """The files waiting in ``inbox_dir/<office>/``, oldest first, and those passed over.

    Passed over, each with its reason: hidden and temporary names (``.x``, ``~$x``, ``*.part``),
    links (a link could lead anywhere on the machine), files in sub-folders of an office folder,
    and anything that is not a regular file. Files modified within ``settle_seconds`` are still
    being copied: they are counted, not reported, and taken in by a later run.
    """
    root = Path(inbox_dir)
    if not root.is_dir():
        return Scan()
    now = time.time() if now is None else now
    waiting, skipped, settling = [], [], 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        rel_dir = base.relative_to(root)
        office = rel_dir.parts[0] if rel_dir.parts else "_"
        for d in list(dirnames):
            if (base / d).is_symlink():
                skipped.append(_skip(office, str(rel_dir / d), "link"))
        for name in filenames:
            path = base / name
            rel = path.relative_to(root)
            shown = "/".join(rel.parts[1:]) if len(rel.parts) > 1 else name
            if len(rel.parts) > MAX_DEPTH:
                skipped.append(_skip(office, shown, "too_deep"))
            elif any(p.startswith((".", "~$")) for p in rel.parts):
                skipped.append(_skip(office, shown, "hidden"))
            elif path.is_symlink():
                skipped.append(_skip(office, shown, "link"))
            elif path.suffix.lower() in TEMPORARY_SUFFIXES:
                skipped.append(_skip(office, shown, "temporary"))
            elif not path.is_file():
                skipped.append(_skip(office, shown, "not_a_file"))
            elif now - path.stat().st_mtime < settle_seconds:
                settling += 1
            else:
                waiting.append(Waiting(office, path))
    waiting.sort(key=lambda w: (w.path.stat().st_mtime, str(w.path)))
    skipped.sort(key=lambda s: (s.office, s.name))
    return Scan(waiting, skipped, settling)


@dataclass(frozen=True)
class Delivery:
    """A claimed inbox file: held under an exclusive lock until the claim ends.

    ``delivery`` names this delivery (office, file name and modification time) so that
    recording it twice — after a crash between commit and filing away — keeps one receipt.
    """

    office: str
    path: Path
    sha256: str
    delivery: str
    fd: int = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        """The file name as the office gave it."""
        return self.path.name


def _try_claim(w: Waiting) -> Delivery | None:
    try:
        fd = os.open(w.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # gone already: another run filed it away
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Locked, but the other run may have moved the file away between our open and its unlock.
        st = os.fstat(fd)
        if not os.path.exists(w.path) or os.stat(w.path).st_ino != st.st_ino:
            raise BlockingIOError
        sha = sha256_file(w.path)
    except OSError:
        os.close(fd)
        return None
    return Delivery(w.office, w.path, sha, f"{w.office}/{w.path.name}@{st.st_mtime_ns}", fd)


@contextmanager
def claim(waiting: list[Waiting]) -> Iterator[list[Delivery]]:
    """Lock the waiting files this run will take in; files held by another run are left out.

    The locks are released when the block ends (or the process dies: the kernel drops them).
    """
    claimed = [d for d in map(_try_claim, waiting) if d is not None]
    try:
        yield claimed
    finally:
        for d in claimed:
            os.close(d.fd)


def sort_deliveries(claimed: list[Delivery], known: set[str]) -> tuple[list[Delivery], list[Delivery]]:
    """Split into new content (first delivery of each sha256 not in ``known``) and re-sent copies.

    Examples
    --------
    >>> d = lambda office, sha: Delivery(office, Path(f"{office}.xlsx"), sha, office, -1)
    >>> new, copies = sort_deliveries([d("a", "1"), d("b", "1"), d("c", "2")], known={"2"})
    >>> [x.office for x in new], [x.office for x in copies]
    (['a'], ['b', 'c'])
    """
    new, copies, seen = [], [], set(known)
    for d in claimed:
        (copies if d.sha256 in seen else new).append(d)
        seen.add(d.sha256)
    return new, copies


def receipts_for(new: list[Delivery], copies: list[Delivery]) -> list[Receipt]:
    """One receipt per delivery: ``new`` for first arrivals, ``resent`` for copies."""
    return [Receipt(d.sha256, d.office, d.name, "new", d.delivery) for d in new] + [
        Receipt(d.sha256, d.office, d.name, "resent", d.delivery) for d in copies
    ]


def records_for(results: list, deliveries: list[Delivery]) -> list[FileRecord]:
    """File records of parsed new deliveries (``results`` in the same order), with their office."""
    return [
        FileRecord.from_summary(r.summary(), r.archive_path, office=d.office)
        for r, d in zip(results, deliveries, strict=True)
    ]


def file_away(
    d: Delivery,
    status: str,
    problems: list[str],
    archive_path: str | Path | None,
    processed_dir: Path,
    rejected_dir: Path,
) -> Path:
    """Move a delivery out of the inbox — only once its archived copy is verified.

    Accepted content goes to ``processed/<office>/``; rejected content to ``rejected/<office>/``
    with a ``<name>.问题.txt`` listing every problem and its fix for the office that sent it.
    """
    archived = Path(archive_path) if archive_path else None
    if archived is None or not archived.exists() or sha256_file(archived) != d.sha256:
        raise ArchiveError(
            f"归档副本缺失或不一致，文件保留在收件箱 / not moving {d.path.name}: its archived copy "
            "is missing or differs; it stays in the inbox"
        )
    target_dir = private_dir((processed_dir if status == "accepted" else rejected_dir) / d.office)
    target = target_dir / f"{datetime.now():%Y%m%d-%H%M%S}_{d.name}"
    k = 1
    while target.exists():
        target = target_dir / f"{datetime.now():%Y%m%d-%H%M%S}-{k}_{d.name}"
        k += 1
    if status != "accepted":
        note = target.with_name(target.name + ".问题.txt")
        fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(problems) + "\n")
    shutil.move(str(d.path), target)
    os.chmod(target, 0o600)
    return target
