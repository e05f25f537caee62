"""The pipeline's stages as pure functions: ingest → clean → store → score → model → report.

``flows/survey_pipeline.py`` wires these as Prefect tasks; :func:`validate_files` runs the
first two without Prefect and without writing anything, for instant feedback to clerks.
"""

from __future__ import annotations

import functools
import itertools
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from jianfu import paths
from jianfu.ingest.parse import IngestResult, ingest_file
from jianfu.ingest.readers import Limits, sha256_file
from jianfu.ingest.units import UnitList, load_units
from jianfu.instrument import ALL_FLAGS, Instrument, load_instrument
from jianfu.plan import Plan, load_plan
from jianfu.privacy import load_secret
from jianfu.quality.flags import flag_quality
from jianfu.scoring import score_scales
from jianfu.store.database import FileRecord, archive_file, open_store, store_exists, store_url_from_env
from jianfu.summary import FileSummary, RunSummary

# The statistics and report stack (pingouin, statsmodels, semopy, openpyxl charts) is imported
# by the stages that need it, so `jianfu validate` answers a clerk in the time it takes to parse.

__all__ = [
    "Settings",
    "load_inputs",
    "ingest_one",
    "clean",
    "store_rows",
    "score",
    "model",
    "validity",
    "overview",
    "compare_waves",
    "summarise",
    "report",
    "validate_files",
    "default_wave",
    "wave_label",
    "load_wave",
    "export_datasets",
    "hypotheses",
]


@dataclass(frozen=True)
class Settings:
    """Where a run reads and writes; defaults are the project's ``data/`` and ``reports/``."""

    archive_dir: Path = paths.ARCHIVE_DIR
    store_path: Path = paths.STORE_DIR / "jianfu.duckdb"
    secret_file: Path = paths.SECRET_FILE
    reports_dir: Path = paths.REPORTS_DIR
    inbox_dir: Path = paths.INBOX_DIR
    processed_dir: Path = paths.DATA_DIR / "processed"
    rejected_dir: Path = paths.DATA_DIR / "rejected"
    limits: Limits = field(default_factory=Limits.from_env)
    #: A PostgreSQL store shared by workers on several machines (``JIANFU_STORE_URL``); None: the DuckDB file.
    store_url: str | None = field(default_factory=store_url_from_env)
    #: The wave's coded units list (:mod:`jianfu.ingest.units`); None: the unit is free text.
    units_file: Path | None = None

    @property
    def units(self) -> UnitList | None:
        """The units list, read once per file version (UnitsError if it cannot be used)."""
        if self.units_file is None:
            return None
        path = Path(self.units_file)
        return _units_cached(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)

    @classmethod
    def under(cls, data_dir: str | Path, reports_dir: str | Path | None = None) -> Settings:
        """The standard layout below another data folder (tests, a second project, a mounted share)."""
        data_dir = Path(data_dir)
        return cls(
            archive_dir=data_dir / "archive",
            store_path=data_dir / "store" / "jianfu.duckdb",
            secret_file=data_dir / ".secret_key",
            inbox_dir=data_dir / "inbox",
            processed_dir=data_dir / "processed",
            rejected_dir=data_dir / "rejected",
            reports_dir=Path(reports_dir) if reports_dir else paths.REPORTS_DIR,
        )


@functools.lru_cache(maxsize=8)
def _units_cached(path: str, mtime_ns: int) -> UnitList:
    return load_units(path)


def default_wave(now: datetime | None = None) -> str:
    """The wave label used when none is given: the year and month, e.g. ``2026-11``."""
    return (now or datetime.now()).strftime("%Y-%m")


def wave_label(rule: str = "%Y-%m", now: datetime | None = None, timezone: str = "Asia/Shanghai") -> str:
    """The wave a run at ``now`` belongs to.

    ``rule`` is a strftime pattern that may also use ``{quarter}`` and ``{half}``, evaluated in
    ``timezone``.

    Examples
    --------
    >>> wave_label("%Y-Q{quarter}", datetime(2026, 11, 22, 1, 0, tzinfo=ZoneInfo("UTC")))
    '2026-Q4'
    >>> wave_label("%Y-%m", datetime(2026, 11, 30, 20, 0, tzinfo=ZoneInfo("UTC")))   # already December in Beijing
    '2026-12'
    """
    local = (now or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone))
    return local.strftime(rule).format(quarter=(local.month - 1) // 3 + 1, half=1 if local.month <= 6 else 2)


def load_inputs(instrument_path: str | Path, plan_path: str | Path | None = None) -> tuple[Instrument, Plan]:
    """The instrument and its analysis plan, the plan checked against the instrument.

    Parameters
    ----------
    instrument_path
        The instrument YAML.
    plan_path
        The analysis plan YAML; by default the one that belongs to the instrument
        (:func:`jianfu.paths.analysis_plan_for`).
    """
    inst = load_instrument(instrument_path)
    plan = load_plan(plan_path or paths.analysis_plan_for(instrument_path), inst)
    return inst, plan


def ingest_one(
    path: str | Path,
    inst: Instrument,
    settings: Settings,
    *,
    archive: bool = True,
    sheet: str | None = None,
    strict: bool | None = None,
) -> IngestResult:
    """Archive the file unchanged and verified (when it can be read at all), then ingest it.

    Archiving comes first: whatever happens to the upload later, its bytes are kept.
    """
    if not archive:
        return ingest_file(path, inst, limits=settings.limits, sheet=sheet, strict=strict, units=settings.units)
    try:
        digest = sha256_file(path)
    except OSError:  # unreadable: ingest_file says why, in the clerk's words
        return ingest_file(path, inst, limits=settings.limits, sheet=sheet, strict=strict, units=settings.units)
    archived = archive_file(path, digest, settings.archive_dir)
    result = ingest_file(
        path,
        inst,
        limits=settings.limits,
        secret=load_secret(settings.secret_file),
        sheet=sheet,
        strict=strict,
        units=settings.units,
    )
    result.archive_path = str(archived)
    return result


def clean(results: list[IngestResult], inst: Instrument) -> pd.DataFrame:
    """All rows of the accepted files with their flags, ``status`` and ``reasons``."""
    frames = [r.frame for r in results if r.status == "accepted"]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    flags = flag_quality(frame, inst)
    added = pd.DataFrame(
        {
            "status": flags["quarantined"].map({True: "quarantined", False: "accepted"}),
            "reasons": flags["reasons"],
            **{f"_flag_{name}": flags[name] for name in ALL_FLAGS},
        },
        index=frame.index,
    )
    # One concat instead of a column at a time: the frame is wide (an item per column) and would fragment.
    return pd.concat([frame.drop(columns=[c for c in added if c in frame], errors="ignore"), added], axis=1)


def store_rows(
    frame: pd.DataFrame,
    results: list[IngestResult],
    inst: Instrument,
    wave: str,
    settings: Settings,
    offices: dict[str, str] | None = None,
) -> int:
    """Record every file and write its rows to the store in one transaction (idempotent)."""
    offices = offices or {}
    records = [
        FileRecord.from_summary(r.summary(), r.archive_path, office=offices.get(r.path)) for r in results if r.sha256
    ]
    rows = frame.drop(columns=[c for c in frame if c.startswith("_flag_")]) if not frame.empty else None
    with open_store(settings) as store:
        return store.commit_batch(inst, wave, files=records, rows=rows)


def score(frame: pd.DataFrame, inst: Instrument) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted rows and their scale scores."""
    accepted = frame[frame["status"] == "accepted"] if not frame.empty else frame
    return accepted, score_scales(accepted, inst) if not accepted.empty else pd.DataFrame()


def model(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, plan: Plan) -> tuple[dict, dict]:
    """Scale statistics and the plan's models on the accepted rows.

    Returns
    -------
    tuple of dict
        The scale statistics (:func:`jianfu.analysis.scale_statistics`) and the fitted models by id
        (:func:`jianfu.analysis.run_models`); both empty when no row was accepted.
    """
    from jianfu.analysis import analysis_frame, run_models, scale_statistics

    if accepted.empty:
        return {}, {}
    stats = scale_statistics(accepted, scores, inst)
    models = run_models(analysis_frame(accepted, scores, inst), plan, inst)
    return stats, models


def sensitivity(
    frame: pd.DataFrame, accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, plan: Plan, models: dict
) -> dict:
    """The hypothesis models as reported, by multiple imputation, and with the quality-flagged rows back in."""
    from jianfu.analysis import analysis_frame
    from jianfu.sensitivity import model_sensitivity

    if accepted.empty or not models:
        return {}
    flagged = frame[frame["status"] == "quarantined"] if "status" in frame else frame.iloc[:0]
    flagged_data = (
        analysis_frame(flagged, score_scales(flagged, inst), inst).join(flagged.filter(like="_flag_"))
        if not flagged.empty
        else pd.DataFrame(columns=accepted.columns)
    )
    return model_sensitivity(analysis_frame(accepted, scores, inst), flagged_data, plan, inst, models)


def validity(
    accepted: pd.DataFrame,
    scores: pd.DataFrame,
    inst: Instrument,
    plan: Plan,
    invariance: bool = True,
    part: str | None = None,
) -> dict:
    """Factor structure, CFA, validity tables, descriptives, correlations, group comparisons.

    With ``invariance=False`` the invariance ladders are left to :func:`invariance`; with ``part``
    (one of :data:`jianfu.analysis.PSYCHOMETRICS_PARTS`) only that part is computed, for
    :func:`jianfu.analysis.merge_psychometrics` to join.
    """
    from jianfu.analysis import psychometrics, psychometrics_part

    if accepted.empty:
        return {}
    if part is not None:
        return psychometrics_part(part, accepted, scores, inst, plan)
    return psychometrics(accepted, scores, inst, plan, invariance=invariance)


def invariance(accepted: pd.DataFrame, inst: Instrument, plan: Plan, groups: list[str] | None = None) -> dict:
    """``{invariance, invariance_rule}``: the ladders across the plan's groups (part of the psychometrics).

    ``groups`` narrows them to some of the plan's invariance groups (one block of work each).
    """
    from jianfu.analysis import invariance_block

    if accepted.empty:
        return {}
    if groups is not None:
        plan = plan.model_copy(update={"invariance": [g for g in plan.invariance_groups if g in groups]})
    return invariance_block(accepted, inst, plan)


def overview(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, headline: str | None = None) -> dict:
    """Sample profile, unit comparison (small units suppressed; the ``headline`` scale first) and open answers."""
    from jianfu.analysis import analysis_frame
    from jianfu.report.profile import open_answers, sample_profile, unit_comparison

    if accepted.empty:
        return {"sample": [], "units": [], "open_answers": []}
    data = analysis_frame(accepted, scores, inst)
    ordered = [s.id for s in inst.scales]
    if headline in ordered:
        ordered = [headline, *[s for s in ordered if s != headline]]
    return {
        "sample": sample_profile(accepted, inst),
        "units": unit_comparison(data, [s for s in ordered if s in data]),
        "open_answers": open_answers(accepted, inst),
    }


def hypotheses(models: dict, plan: Plan) -> list[dict]:
    """Every finding the plan declares, with estimate, CI and verdict (:func:`jianfu.hypotheses.evaluate`)."""
    from jianfu.hypotheses import evaluate

    return evaluate(models, plan)


#: What comparing waves reads besides the items (:func:`jianfu.report.profile.wave_comparison`).
_COMPARISON_COLUMNS = ["wave", "status", "_respondent_key"]


def compare_waves(inst: Instrument, wave: str, settings: Settings) -> dict | None:
    """The current wave compared with the earlier waves in the store.

    Waves of earlier versions of the questionnaire (their YAML beside this one, same ``id``) join
    the comparison with the scales whose items are unchanged (``same_as``), mapped onto this
    version's item ids; a wave label stored under both versions is taken from this version only.
    """
    from jianfu.comparability import carried_scales, earlier_versions, rows_as
    from jianfu.report.profile import wave_comparison

    if not store_exists(settings):
        return None
    earlier = list(reversed(earlier_versions(inst)))  # newest first: a wave is taken from its latest version
    with open_store(settings, read_only=True) as store:
        if len(set(store.waves(inst)).union(*(store.waves(old) for old in earlier))) < 2:
            return None  # nothing to compare: spare reading the wave's rows back
        stored = store.rows(inst, columns=_COMPARISON_COLUMNS + [i.id for i in inst.items])
        versions: dict[str, dict] = {}
        frames = [stored]
        for old in earlier:
            rows = store.rows(old, columns=_COMPARISON_COLUMNS + [i.id for i in old.items])
            if rows.empty:
                continue
            seen = set().union(*(set(f["wave"]) for f in frames if not f.empty))
            rows = rows[~rows["wave"].isin(seen)]
            shared = carried_scales(inst, old)
            versions |= {w: {"version": old.version, "scales": shared} for w in rows["wave"].dropna().unique()}
            frames.append(rows_as(inst, old, rows))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return None
    stored = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return wave_comparison(stored, inst, wave, versions)


def summarise(
    results: list[IngestResult | dict],
    frame: pd.DataFrame,
    inst: Instrument,
    wave: str,
    scale_stats: dict,
    models: dict,
    psychometrics: dict | None = None,
    extras: dict | None = None,
) -> RunSummary:
    """The run summary (:class:`~jianfu.summary.RunSummary`); ``jianfu run --json`` prints its JSON form.

    ``results`` are this run's ingest results or, for a report rebuilt from the store, the
    stored file entries (:meth:`jianfu.store.database.Store.files`).
    """
    files, first = [], {}
    for r in results:
        entry = r.summary() if isinstance(r, IngestResult) else dict(r)
        if entry["sha256"] and entry["sha256"] in first:
            # The same content again (another name or office): analysed once, under the first.
            entry["copy_of"] = first[entry["sha256"]]
            part = None
        else:
            first[entry["sha256"]] = Path(entry["path"]).name
            part = (
                frame[frame["_file_sha256"] == entry["sha256"]]
                if not frame.empty and entry["status"] == "accepted"
                else None
            )
        entry["accepted"] = int((part["status"] == "accepted").sum()) if part is not None else 0
        entry["quarantined"] = int((part["status"] == "quarantined").sum()) if part is not None else 0
        entry["flags"] = {k: int(part[f"_flag_{k}"].sum()) if part is not None else 0 for k in ALL_FLAGS}
        files.append(FileSummary(**entry))
    read = sum(f.rows or 0 for f in files if f.copy_of is None)
    accepted = int((frame["status"] == "accepted").sum()) if not frame.empty else 0
    quarantined = int((frame["status"] == "quarantined").sum()) if not frame.empty else 0
    return RunSummary(
        instrument={"id": inst.id, "version": inst.version},
        wave=wave,
        files=files,
        rows={"read": read, "accepted": accepted, "quarantined": quarantined},
        flags={k: int(frame[f"_flag_{k}"].sum()) if not frame.empty else 0 for k in ALL_FLAGS},
        flags_enabled=inst.quality.enabled_flags,
        scales=scale_stats,
        models=models,
        psychometrics=psychometrics or {},
        **(extras or {}),
    )


def load_wave(inst: Instrument, wave: str, settings: Settings) -> tuple[pd.DataFrame, list[dict]]:
    """Every row and file received for ``wave``, with quality flags computed afresh over all of them.

    A response submitted twice in files uploaded days apart is caught as a duplicate only when
    the wave is flagged as a whole, so the stored statuses are updated here (one write).
    """
    with open_store(settings, read_only=True) as store:
        rows = store.rows(inst, wave)
        files = store.files(inst, wave)
    if rows.empty:
        return pd.DataFrame(), files
    rows = rows.drop(columns=["status", "reasons", "wave"], errors="ignore")
    flags = flag_quality(rows, inst)
    rows["status"] = flags["quarantined"].map({True: "quarantined", False: "accepted"})
    rows["reasons"] = flags["reasons"]
    with open_store(settings) as store:
        store.write_rows(rows, inst, wave)
    for name in ALL_FLAGS:
        rows[f"_flag_{name}"] = flags[name]
    return rows, files


def report(summary: RunSummary, inst: Instrument, out_dir: str | Path, lang: str = "zh") -> Path:
    """Write the Excel report of a run into ``out_dir`` and return its path.

    The file is named after the instrument, the wave and the time of writing
    (``jianfu_<id>_<wave>_<YYYYmmdd-HHMMSS>[-k][_en].xlsx``), so a report never overwrites an earlier one.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    from jianfu.report.workbook import write_report

    suffix = "" if lang == "zh" else f"_{lang}"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for k in itertools.count():
        # The name is claimed atomically: two workers rebuilding one wave in the same second get one name each.
        name = f"jianfu_{inst.id}_{summary.wave}_{stamp}{f'-{k}' if k else ''}{suffix}.xlsx".replace("/", "-")
        try:
            os.close(os.open(out_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            break
        except FileExistsError:
            continue
    return write_report(summary, inst, out_dir / name, lang=lang)


def export_datasets(
    frame: pd.DataFrame,
    inst: Instrument,
    report_path: str | Path,
    formats: list[str],
    summary: RunSummary | None = None,
    journal: str = "cn",
    lang: str = "zh",
) -> dict:
    """What researchers continue with, next to the report (same stem): ``{format: path}``.

    Labelled datasets (``sav``, ``dta``, ``parquet``, ``csv``; :mod:`jianfu.export.datasets`) and the
    Word results chapter (``docx``; :mod:`jianfu.export.docx_chapter`, in ``journal`` conventions).
    """
    if not formats or frame.empty:
        return {}
    from jianfu.export.datasets import write_datasets

    stem = Path(report_path).with_suffix("")
    accepted = frame[frame["status"] == "accepted"]
    quarantined = frame[frame["status"] == "quarantined"]
    tables = [f for f in formats if f != "docx"]
    written = (
        {k: str(v) for k, v in write_datasets(accepted, quarantined, inst, stem, tables).items()} if tables else {}
    )
    if "docx" in formats and summary is not None:
        written["docx"] = export_chapter(summary, inst, report_path, journal, lang)
    return written


def export_chapter(
    summary: RunSummary, inst: Instrument, report_path: str | Path, journal: str = "cn", lang: str = "zh"
) -> str:
    """The Word results chapter next to the report (same stem, ``.docx``); needs the summary only."""
    from jianfu.export.docx_chapter import write_results_chapter

    path = Path(report_path).with_suffix(".docx")
    return str(write_results_chapter(summary, path, lang=lang, journal=journal, instrument=inst))


def validate_files(
    files: list[str | Path],
    inst: Instrument,
    settings: Settings | None = None,
    sheet: str | None = None,
    strict: bool | None = None,
) -> dict:
    """Check files without archiving or storing anything; flags are counted per file."""
    settings = settings or Settings()
    out = []
    for f in files:
        r = ingest_file(f, inst, limits=settings.limits, sheet=sheet, strict=strict, units=settings.units)
        entry = r.summary()
        entry["problems"] = [p.to_dict() for p in r.problems]
        if r.status == "accepted":
            flags = flag_quality(r.frame, inst)
            entry["flags"] = {k: int(flags[k].sum()) for k in ALL_FLAGS}
            entry["quarantined"] = int(flags["quarantined"].sum())
        out.append(entry)
    return {
        "instrument": {"id": inst.id, "version": inst.version},
        "valid": all(e["status"] == "accepted" for e in out),
        "files": out,
    }
