"""The researchers' view of the waves: which offices have uploaded, how many rows, their quality, the report.

Read from the store (what the pipeline has taken in, whichever way it arrived: portal or shared
folder) and from the reports folder; the portal's own records add only the uploads still being
processed.
"""

from __future__ import annotations

import glob
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jianfu.instrument import FLAG_NAMES, Instrument
from jianfu.store.database import open_store, store_exists, table_name

__all__ = ["latest_report", "overview"]


def latest_report(reports_dir: str | Path, inst: Instrument, wave: str) -> Path | None:
    """The newest report of ``wave`` in ``reports_dir`` (as named by :func:`jianfu.pipeline.report`), or None.

    Examples
    --------
    >>> import tempfile, types
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "jianfu_cadre_burden_2026-11_20261130-080000.xlsx").write_bytes(b"")
    >>> latest_report(d, types.SimpleNamespace(id="cadre_burden"), "2026-11").name
    'jianfu_cadre_burden_2026-11_20261130-080000.xlsx'
    >>> latest_report(d, types.SimpleNamespace(id="cadre_burden"), "2026-12") is None
    True
    """
    stem = f"jianfu_{inst.id}_{wave}_".replace("/", "-")
    found = [Path(p) for p in glob.glob(str(Path(reports_dir) / (glob.escape(stem) + "*.xlsx")))]
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


def _local(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def overview(
    inst: Instrument,
    settings,
    offices: list[str],
    pending: dict[str, int],
    timezone: str = "Asia/Shanghai",
    timeout: float = 5.0,
) -> list[dict]:
    """One entry per wave, newest first: offices with their files and rows, quality flags, the latest report.

    Parameters
    ----------
    inst : Instrument
    settings : jianfu.pipeline.Settings
    offices : list of str
        Every office account, so that offices which have not uploaded yet are listed too.
    pending : dict
        Uploads still being processed, by wave (:meth:`UploadService.pending_by_wave`).

    Raises
    ------
    jianfu.errors.StoreBusy
        The store stayed locked by a writing run for ``timeout`` seconds.
    """
    files: list[dict] = []
    rows: list[tuple] = []
    unreported: set[str] = set()
    if store_exists(settings):
        with open_store(settings, read_only=True, timeout=timeout) as store:
            files = store.files(inst)
            unreported = set(store.unreported_waves(inst))
            table = table_name(inst)
            has = store.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table])
            if has.fetchone()[0]:
                rows = store.con.execute(f'SELECT wave, "_file_sha256", status, reasons FROM "{table}"').fetchall()
    office_of = {}
    waves: dict[str, dict] = {}
    for f in files:
        w = waves.setdefault(f["wave"], {"offices": {}})
        office = f["office"] or "—"
        office_of[f["sha256"]] = office
        o = w["offices"].setdefault(
            office, {"files": 0, "rejected_files": 0, "rows_read": 0, "accepted": 0, "quarantined": 0}
        )
        o["files"] += 1
        o["rejected_files"] += f["status"] != "accepted"
        o["rows_read"] += int(f["rows"] or 0) if f["status"] == "accepted" else 0
    for wave in pending:
        waves.setdefault(wave, {"offices": {}})
    flags: dict[str, dict[str, int]] = {}
    for wave, sha, status, reasons in rows:
        o = waves.get(wave, {"offices": {}})["offices"].get(office_of.get(sha, "—"))
        if o is not None:
            o["accepted" if status == "accepted" else "quarantined"] += 1
        counts = flags.setdefault(wave, dict.fromkeys(FLAG_NAMES, 0))
        for name in (reasons or "").split(","):
            if name in counts:
                counts[name] += 1
    out = []
    for wave in sorted(waves, reverse=True):
        w = waves[wave]
        report = latest_report(settings.reports_dir, inst, wave)
        accepted = sum(o["accepted"] for o in w["offices"].values())
        quarantined = sum(o["quarantined"] for o in w["offices"].values())
        out.append(
            {
                "wave": wave,
                "offices": [{"office": k, **v} for k, v in sorted(w["offices"].items())],
                "missing_offices": sorted(set(offices) - set(w["offices"])),
                "rows": {"accepted": accepted, "quarantined": quarantined},
                "quarantined_share": quarantined / (accepted + quarantined) if accepted + quarantined else None,
                "flags": flags.get(wave, dict.fromkeys(FLAG_NAMES, 0)),
                "processing": pending.get(wave, 0),
                "report": report.name if report else None,
                "report_at": _local(report.stat().st_mtime, timezone) if report else None,
                "report_current": wave not in unreported and report is not None,
            }
        )
    return out
