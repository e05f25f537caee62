"""The pipeline's stages as pure functions: ingest → clean → store → score → model → report.

``flows/survey_pipeline.py`` wires these as Prefect tasks; :func:`validate_files` runs the
first two without Prefect and without writing anything, for instant feedback to clerks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from .analysis import analysis_frame, psychometrics, run_models, scale_statistics
from .profile import open_answers, sample_profile, unit_comparison, wave_comparison
from .ingest import IngestResult, ingest_file
from .instrument import FLAG_NAMES, Instrument, load_instrument
from .plan import Plan, load_plan
from .privacy import load_secret
from .quality import flag_quality
from .readers import Limits
from .report import write_report
from .scoring import score_scales
from .store import Store, archive_file
from . import paths

__all__ = ["Settings", "load_inputs", "ingest_one", "clean", "store_rows", "score", "model", "validity",
           "overview", "compare_waves", "summarise", "report", "validate_files", "default_wave"]


@dataclass(frozen=True)
class Settings:
    """Where a run reads and writes; defaults are the project's ``data/`` and ``reports/``."""

    archive_dir: Path = paths.ARCHIVE_DIR
    store_path: Path = paths.STORE_DIR / "jianfu.duckdb"
    secret_file: Path = paths.SECRET_FILE
    reports_dir: Path = paths.REPORTS_DIR
    limits: Limits = field(default_factory=Limits.from_env)

    @classmethod
    def under(cls, data_dir: str | Path, reports_dir: str | Path | None = None) -> "Settings":
        """The standard layout below another data folder (tests, a second project, a mounted share)."""
        data_dir = Path(data_dir)
        return cls(archive_dir=data_dir / "archive", store_path=data_dir / "store" / "jianfu.duckdb",
                   secret_file=data_dir / ".secret_key",
                   reports_dir=Path(reports_dir) if reports_dir else paths.REPORTS_DIR)


def default_wave(now: datetime | None = None) -> str:
    """The wave label used when none is given: the year and month, e.g. ``2026-11``."""
    return (now or datetime.now()).strftime("%Y-%m")


def load_inputs(instrument_path: str | Path, plan_path: str | Path | None = None) -> tuple[Instrument, Plan]:
    inst = load_instrument(instrument_path)
    plan = load_plan(plan_path or paths.analysis_plan_for(instrument_path), inst)
    return inst, plan


def ingest_one(path: str | Path, inst: Instrument, settings: Settings, *, archive: bool = True,
               sheet: str | None = None) -> IngestResult:
    """Archive the file unchanged (when it can be read at all), then ingest it."""
    secret = load_secret(settings.secret_file) if archive else None
    result = ingest_file(path, inst, limits=settings.limits, secret=secret, sheet=sheet)
    if archive and result.sha256:
        result.archive_path = str(archive_file(path, result.sha256, settings.archive_dir))
    return result


def clean(results: list[IngestResult], inst: Instrument) -> pd.DataFrame:
    """All rows of the accepted files with their flags, ``status`` and ``reasons``."""
    frames = [r.frame for r in results if r.status == "accepted"]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    flags = flag_quality(frame, inst)
    frame["status"] = flags["quarantined"].map({True: "quarantined", False: "accepted"})
    frame["reasons"] = flags["reasons"]
    for name in FLAG_NAMES:
        frame[f"_flag_{name}"] = flags[name]
    return frame


def store_rows(frame: pd.DataFrame, results: list[IngestResult], inst: Instrument, wave: str,
               settings: Settings) -> int:
    """Record every file and write its rows to the store (idempotent per file)."""
    with Store(settings.store_path) as store:
        for r in results:
            if r.sha256:
                store.record_file(r.summary(), wave, inst, r.archive_path)
        if frame.empty:
            return 0
        return store.write_rows(frame.drop(columns=[c for c in frame if c.startswith("_flag_")]), inst, wave)


def score(frame: pd.DataFrame, inst: Instrument) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted rows and their scale scores."""
    accepted = frame[frame["status"] == "accepted"] if not frame.empty else frame
    return accepted, score_scales(accepted, inst) if not accepted.empty else pd.DataFrame()


def model(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, plan: Plan) -> tuple[dict, dict]:
    if accepted.empty:
        return {}, {}
    stats = scale_statistics(accepted, scores, inst)
    models = run_models(analysis_frame(accepted, scores, inst), plan, inst)
    return stats, models


def validity(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, plan: Plan) -> dict:
    """Factor structure, CFA, validity tables, descriptives, correlations, group comparisons."""
    return psychometrics(accepted, scores, inst, plan) if not accepted.empty else {}


def overview(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument) -> dict:
    """Sample profile, unit comparison (small units suppressed) and open answers."""
    if accepted.empty:
        return {"sample": [], "units": [], "open_answers": []}
    data = analysis_frame(accepted, scores, inst)
    ordered = ["burden", *[s.id for s in inst.scales if s.id != "burden"]]
    return {"sample": sample_profile(accepted, inst),
            "units": unit_comparison(data, [s for s in ordered if s in data]),
            "open_answers": open_answers(accepted, inst)}


def compare_waves(inst: Instrument, wave: str, settings: Settings) -> dict | None:
    """This wave against earlier waves of the same instrument version in the store."""
    if not settings.store_path.exists():
        return None
    with Store(settings.store_path, read_only=True) as store:
        return wave_comparison(store.rows(inst), inst, wave)


def summarise(results: list[IngestResult], frame: pd.DataFrame, inst: Instrument, wave: str,
              scale_stats: dict, models: dict, psychometrics: dict | None = None,
              extras: dict | None = None) -> dict:
    """The run summary: the object ``jianfu run --json`` prints (see the README for its keys)."""
    files = []
    for r in results:
        entry = r.summary()
        part = frame[frame["_file_sha256"] == r.sha256] if not frame.empty and r.status == "accepted" else None
        entry["accepted"] = int((part["status"] == "accepted").sum()) if part is not None else 0
        entry["quarantined"] = int((part["status"] == "quarantined").sum()) if part is not None else 0
        entry["flags"] = {k: int(part[f"_flag_{k}"].sum()) if part is not None else 0 for k in FLAG_NAMES}
        files.append(entry)
    read = sum(r.n_rows for r in results)
    accepted = int((frame["status"] == "accepted").sum()) if not frame.empty else 0
    quarantined = int((frame["status"] == "quarantined").sum()) if not frame.empty else 0
    return {
        "report": None,
        "instrument": {"id": inst.id, "version": inst.version},
        "wave": wave,
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "files": files,
        "rows": {"read": read, "accepted": accepted, "quarantined": quarantined},
        "flags": {k: int(frame[f"_flag_{k}"].sum()) if not frame.empty else 0 for k in FLAG_NAMES},
        "flags_enabled": inst.quality.enabled_flags,
        "scales": scale_stats,
        "models": models,
        "psychometrics": psychometrics or {},
        **(extras or {}),
    }


def report(summary: dict, inst: Instrument, out_dir: str | Path, lang: str = "zh") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    suffix = "" if lang == "zh" else f"_{lang}"
    name = f"jianfu_{inst.id}_{summary['wave']}_{stamp}{suffix}.xlsx".replace("/", "-")
    return write_report(summary, inst, Path(out_dir) / name, lang=lang)


def validate_files(files: list[str | Path], inst: Instrument, settings: Settings | None = None,
                   sheet: str | None = None) -> dict:
    """Check files without archiving or storing anything; flags are counted per file."""
    settings = settings or Settings()
    out = []
    for f in files:
        r = ingest_file(f, inst, limits=settings.limits, sheet=sheet)
        entry = r.summary()
        entry["problems"] = [p.to_dict() for p in r.problems]
        if r.status == "accepted":
            flags = flag_quality(r.frame, inst)
            entry["flags"] = {k: int(flags[k].sum()) for k in FLAG_NAMES}
            entry["quarantined"] = int(flags["quarantined"].sum())
        out.append(entry)
    return {"instrument": {"id": inst.id, "version": inst.version}, "valid": all(e["status"] == "accepted" for e in out),
            "files": out}
