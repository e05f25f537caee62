"""``jianfu doctor``: check that the archive, the files table and the stored rows agree.

What can be repaired is repaired from the archive.

What is checked (each finding names the content by the first 12 digits of its sha256):

* ``archive.corrupt`` — an archived file whose bytes no longer match its name (its sha256);
  repaired from an intact copy in ``processed/``, ``rejected/`` or the inbox, if one exists;
* ``archive.missing`` — a recorded file whose archived copy is gone; repaired the same way;
* ``rows.missing`` — an accepted file whose stored rows are fewer than the rows it had (a run
  stopped between recording the file and storing its rows, as v1 could); repaired by ingesting
  the archived copy again and storing its rows under the file's wave;
* ``rows.orphan`` — stored rows of a content that has no file record; repaired by recording the
  file from its archived copy;
* ``archive.unrecorded`` — archived content that was never recorded: a file still waiting in the
  inbox (``pending``, the next inbox run takes it in) or one that was lost after archiving;
  repaired by delivering the archived copy to the inbox again, under its office when a copy in
  ``processed/`` tells which.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from jianfu.ingest.readers import sha256_file
from jianfu.instrument import Instrument, load_instrument
from jianfu.store.database import FileRecord, archive_file, open_store, private_dir, store_exists

__all__ = ["Finding", "check", "repair"]

_ARCHIVE_NAME = re.compile(r"^([0-9a-f]{64})(\.[.a-z0-9]*)?$")
_STAMPED = re.compile(r"^\d{8}-\d{6}(?:-\d+)?_(.+)$")


@dataclass
class Finding:
    """One inconsistency (or a note), with whether it was repaired."""

    code: str
    sha256: str
    zh: str
    en: str
    repaired: bool = False
    pending: bool = False

    def __str__(self) -> str:
        state = "（已修复 repaired）" if self.repaired else ""
        return f"[{self.code}] {self.sha256[:12]}：{self.zh}{state} | {self.en}"

    def to_dict(self) -> dict:
        """The finding as the ``jianfu doctor --json`` entry, with its message."""
        return asdict(self) | {"message": str(self)}


def _archive(settings) -> dict[str, Path]:
    root = Path(settings.archive_dir)
    out = {}
    if root.is_dir():
        for p in root.iterdir():
            m = _ARCHIVE_NAME.match(p.name)
            if m and p.is_file():
                out[m.group(1)] = p
    return out


def _copies(settings) -> dict[str, list[tuple[str, Path]]]:
    """Intact copies of received files outside the archive: sha256 → [(office, path)]."""
    out: dict[str, list[tuple[str, Path]]] = {}
    for base in (settings.processed_dir, settings.rejected_dir, settings.inbox_dir):
        base = Path(base)
        if not base.is_dir():
            continue
        for p in base.rglob("*"):
            if p.is_file() and not p.is_symlink() and not p.name.endswith(".问题.txt"):
                rel = p.relative_to(base)
                office = rel.parts[0] if len(rel.parts) > 1 else "_"
                out.setdefault(sha256_file(p), []).append((office, p))
    return out


def check(settings) -> list[Finding]:
    """Every inconsistency between the archive, the files table and the stored rows."""
    archive = _archive(settings)
    findings: list[Finding] = []
    for sha, p in archive.items():
        if sha256_file(p) != sha:
            findings.append(
                Finding(
                    "archive.corrupt",
                    sha,
                    "归档文件内容与其校验值不符",
                    "the archived file's bytes do not match its sha256",
                )
            )
    if not store_exists(settings):
        files, counts = [], {}
    else:
        with open_store(settings, read_only=True) as store:
            files, counts = store.all_files(), store.row_counts()
    recorded = {f["sha256"] for f in files}
    stored_rows: dict[str, int] = {}
    for (_, sha), n in counts.items():
        stored_rows[sha] = stored_rows.get(sha, 0) + n
    for f in files:
        sha = f["sha256"]
        if sha not in archive:
            findings.append(
                Finding(
                    "archive.missing",
                    sha,
                    f"已登记的文件“{f['name']}”没有归档副本",
                    f"recorded file '{f['name']}' has no archived copy",
                )
            )
        if f["status"] == "accepted" and stored_rows.get(sha, 0) < (f["n_rows"] or 0):
            findings.append(
                Finding(
                    "rows.missing",
                    sha,
                    f"文件“{f['name']}”有 {f['n_rows']} 行，库中只有 {stored_rows.get(sha, 0)} 行",
                    f"file '{f['name']}' had {f['n_rows']} rows but {stored_rows.get(sha, 0)} are stored",
                )
            )
    for sha in sorted(set(stored_rows) - recorded):
        findings.append(
            Finding("rows.orphan", sha, "库中有答卷行，但没有对应的文件记录", "stored rows have no file record")
        )
    waiting = {
        sha
        for sha, places in _copies(settings).items()
        if any(Path(p).is_relative_to(Path(settings.inbox_dir)) for _, p in places)
    }
    for sha in sorted(set(archive) - recorded - set(stored_rows)):
        if sha in waiting:
            findings.append(
                Finding(
                    "archive.unrecorded",
                    sha,
                    "文件已归档，仍在收件箱中等待处理（下次收件时处理）",
                    "archived and still waiting in the inbox: the next inbox run takes it in",
                    pending=True,
                )
            )
        else:
            findings.append(Finding("archive.unrecorded", sha, "文件已归档但从未入库", "archived but never stored"))
    return findings


def _instrument_for(key: str, instruments_dir: Path, default: Instrument) -> Instrument | None:
    if f"{default.id}@{default.version}" == key:
        return default
    for p in sorted(Path(instruments_dir).glob("*.yaml")):
        if p.name.endswith(".analysis.yaml"):
            continue
        try:
            inst = load_instrument(p)
        except Exception:  # another YAML in the folder; not the one we look for
            continue
        if f"{inst.id}@{inst.version}" == key:
            return inst
    return None


def repair(settings, findings: list[Finding], default: Instrument, instruments_dir: Path) -> list[Finding]:
    """Repair what the archive allows; returns ``findings`` with ``repaired`` set."""
    from jianfu import pipeline  # the ingest and clean stages; imported here to keep `check` light

    archive = _archive(settings)
    copies = _copies(settings)
    by_sha: dict[str, dict] = {}
    if store_exists(settings):
        with open_store(settings, read_only=True) as store:
            by_sha = {f["sha256"]: f for f in store.all_files()}
    for f in findings:
        if f.pending:
            continue
        if f.code in {"archive.corrupt", "archive.missing"}:
            good = next((p for _, p in copies.get(f.sha256, []) if sha256_file(p) == f.sha256), None)
            if good is not None:
                target = archive.get(f.sha256)
                if target is not None:
                    target.unlink()
                archive_file(good, f.sha256, settings.archive_dir)
                f.repaired = True
        elif f.code in {"rows.missing", "rows.orphan"} and f.sha256 in archive:
            record = by_sha.get(f.sha256, {})
            inst = _instrument_for(
                record.get("instrument") or f"{default.id}@{default.version}", instruments_dir, default
            )
            if inst is None:
                continue
            path = archive[f.sha256]
            result = pipeline.ingest_file(
                path,
                inst,
                limits=settings.limits,
                secret=pipeline.load_secret(settings.secret_file),
                display_name=record.get("name") or path.name,
            )
            result.archive_path = str(path)
            frame = pipeline.clean([result], inst)
            wave = record.get("wave") or pipeline.default_wave()
            rows = frame.drop(columns=[c for c in frame if c.startswith("_flag_")]) if not frame.empty else None
            with open_store(settings) as store:
                store.commit_batch(
                    inst,
                    wave,
                    files=[
                        FileRecord.from_summary(
                            result.summary() | {"path": record.get("name") or path.name},
                            str(path),
                            office=record.get("office"),
                        )
                    ],
                    rows=rows,
                )
            f.repaired = True
        elif f.code == "archive.unrecorded" and f.sha256 in archive:
            office, name = "_", archive[f.sha256].name
            for off, p in copies.get(f.sha256, []):
                m = _STAMPED.match(p.name)
                office, name = off, (m.group(1) if m else p.name)
                break
            target_dir = private_dir(Path(settings.inbox_dir) / office)
            target = target_dir / name
            if not target.exists():
                shutil.copyfile(archive[f.sha256], target)
                target.chmod(0o600)
            f.repaired = True
            f.zh += f"；已重新放入收件箱 {office}/{name}，下次收件时处理"
            f.en += f"; delivered again to the inbox as {office}/{name} for the next inbox run"
    return findings
