"""The pipelines, each declared once: which engine step runs when, whoever executes it.

``jianfu run`` (:func:`run_files`), the inbox (:func:`process_inbox`) and the reanalysis of a
wave (:func:`rebuild_wave`) are plain functions here. They call their steps through an
executor: :class:`Direct` calls each step in this process (tests, library use, the fault-
injection runs); the Prefect flows in ``flows/`` pass one that runs each :class:`Step` as a
Prefect task (retried when ``io`` is set). The step order therefore exists once, and the flows
only choose how steps are executed.

Examples
--------
>>> double = Step("double", lambda x: 2 * x)
>>> Direct().run(double, 21), list(Direct().map(double, [1, 2])), Direct().submit(double, 4).result()
(42, [2, 4], 8)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from threadpoolctl import threadpool_limits

from jianfu import faults, parallel
from jianfu import pipeline as stages
from jianfu.ingest.parse import IngestResult
from jianfu.instrument import Instrument
from jianfu.plan import Plan
from jianfu.progress import stage
from jianfu.provenance import provenance
from jianfu.store.database import FileRecord, Receipt, archive_file, open_store, store_exists
from jianfu.store.inbox import Delivery, claim, file_away, receipts_for, records_for, scan_inbox, sort_deliveries
from jianfu.summary import RunSummary

__all__ = [
    "Step",
    "Executor",
    "Direct",
    "analyse",
    "run_files",
    "process_inbox",
    "rebuild_wave",
    "reanalyse_wave",
    "STEPS",
]


@dataclass(frozen=True)
class Step:
    """One step of a pipeline: an engine function with a name; ``io`` steps may be retried."""

    name: str
    fn: Callable[..., Any]
    io: bool = False


class Executor(Protocol):
    """How the steps of a pipeline are run: :class:`Direct` here, or as Prefect tasks by the flows."""

    def run(self, step: Step, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``step`` once and return its result."""

    def map(self, step: Step, items: Iterable[Any], /, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Run ``step`` on each of ``items`` (first argument) and yield the results in order."""

    def submit(self, step: Step, /, *args: Any, **kwargs: Any) -> Any:
        """Start ``step`` on another core and return at once; the returned object's ``result()`` waits for it."""


class Direct:
    """Run every step here and now, one after the other."""

    def run(self, step: Step, /, *args: Any, **kwargs: Any) -> Any:
        """Call the step's function."""
        return step.fn(*args, **kwargs)

    def map(self, step: Step, items: Iterable[Any], /, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Call the step's function on one item after another."""
        for item in items:
            yield step.fn(item, *args, **kwargs)

    def submit(self, step: Step, /, *args: Any, **kwargs: Any) -> parallel.Pending:
        """Start the step's function in a worker process (:func:`jianfu.parallel.offload`)."""
        return parallel.offload(step.fn, *args, **kwargs)


# -- steps that exist only to give a pipeline boundary a name ---------------------------------


def _load_inputs(instrument: str | Path, plan: str | Path | None = None) -> tuple[Instrument, Plan]:
    return stages.load_inputs(instrument, plan)


def _known(settings: stages.Settings, shas: list[str]) -> set[str]:
    if not store_exists(settings):
        return set()
    with open_store(settings, read_only=True) as store:
        return store.known_shas(shas)


def _stored_files(settings: stages.Settings, shas: list[str]) -> dict[str, dict]:
    if not shas or not store_exists(settings):
        return {}
    with open_store(settings, read_only=True) as store:
        return {f["sha256"]: f for f in store.all_files() if f["sha256"] in set(shas)}


def _archive_copy(d: Delivery, settings: stages.Settings) -> str:
    return str(archive_file(d.path, d.sha256, settings.archive_dir))


def _commit(
    frame: pd.DataFrame,
    files: list[FileRecord],
    receipts: list[Receipt],
    inst: Instrument,
    wave: str,
    settings: stages.Settings,
) -> int:
    rows = frame.drop(columns=[c for c in frame if c.startswith("_flag_")]) if not frame.empty else None
    with open_store(settings) as store:
        return store.commit_batch(inst, wave, files=files, receipts=receipts, rows=rows)


def _file_away(
    d: Delivery, status: str, problems: list[str], archive_path: str | None, settings: stages.Settings
) -> str:
    return str(file_away(d, status, problems, archive_path, settings.processed_dir, settings.rejected_dir))


def _mark_reported(inst: Instrument, wave: str, settings: stages.Settings) -> None:
    with open_store(settings) as store:
        store.mark_reported(inst, wave)


def _pending_waves(inst: Instrument, settings: stages.Settings) -> list[str]:
    if not store_exists(settings):
        return []
    with open_store(settings, read_only=True) as store:
        return store.unreported_waves(inst)


def _report(summary: RunSummary, inst: Instrument, out_dir: str | Path, lang: str) -> str:
    return str(stages.report(summary, inst, out_dir, lang=lang))


LOAD = Step("load-instrument", _load_inputs)
INGEST = Step("ingest", stages.ingest_one, io=True)
KNOWN = Step("known-content", _known, io=True)
STORED = Step("stored-files", _stored_files, io=True)
ARCHIVE_COPY = Step("archive", _archive_copy, io=True)
CLEAN = Step("clean", stages.clean)
COMMIT = Step("store", _commit, io=True)
FILE_AWAY = Step("file-away", _file_away, io=True)
SCORE = Step("score", stages.score)
MODEL = Step("model", stages.model)
VALIDITY = Step("psychometrics", stages.validity)
INVARIANCE = Step("invariance", stages.invariance)
SENSITIVITY = Step("sensitivity", stages.sensitivity)
OVERVIEW = Step("overview", stages.overview)
COMPARE_WAVES = Step("compare-waves", stages.compare_waves, io=True)
SUMMARISE = Step("summarise", stages.summarise)
PROVENANCE = Step("provenance", provenance)
LOAD_WAVE = Step("load-wave", stages.load_wave, io=True)
HYPOTHESES = Step("hypotheses", stages.hypotheses)
EXPORT = Step("export", stages.export_datasets, io=True)
CHAPTER = Step("export-docx", stages.export_chapter, io=True)
REPORT = Step("report", _report, io=True)
MARK_REPORTED = Step("mark-reported", _mark_reported, io=True)
PENDING_WAVES = Step("pending-waves", _pending_waves, io=True)
#: Every step, by name (the Prefect executor makes one task of each).
STEPS = {
    s.name: s
    for s in (
        LOAD,
        INGEST,
        KNOWN,
        STORED,
        ARCHIVE_COPY,
        CLEAN,
        COMMIT,
        FILE_AWAY,
        SCORE,
        MODEL,
        VALIDITY,
        INVARIANCE,
        OVERVIEW,
        COMPARE_WAVES,
        SUMMARISE,
        LOAD_WAVE,
        HYPOTHESES,
        EXPORT,
        CHAPTER,
        REPORT,
        MARK_REPORTED,
        PENDING_WAVES,
    )
}


def _formats(exports: list[str] | None, plan: Plan) -> list[str]:
    """The export formats asked for on the command line, else the plan's default."""
    return list(plan.exports if exports is None else exports)


def _export(
    execute: Executor,
    frame: pd.DataFrame,
    inst: Instrument,
    summary: RunSummary,
    formats: list[str],
    plan: Plan,
    lang: str,
) -> dict:
    """``{format: path}`` next to the report: the Word chapter on another core while the datasets are written here."""
    journal = plan.report.journal
    chapter = None
    if "docx" in formats and not frame.empty:
        chapter = execute.submit(CHAPTER, summary, inst, summary.report, journal, lang)
    tables = [f for f in formats if f != "docx"]
    written = execute.run(EXPORT, frame, inst, summary.report, tables, summary, journal, lang)
    if chapter is not None:
        written["docx"] = chapter.result()
    return written


def _split_copies(results: list[IngestResult]) -> tuple[list[IngestResult], dict[str, str]]:
    """Results with distinct content, and ``{path of a copy: name of the first with that content}``."""
    first: dict[str, IngestResult] = {}
    distinct, copies = [], {}
    for r in results:
        if r.sha256 and r.sha256 in first:
            copies[r.path] = first[r.sha256].name
        else:
            if r.sha256:
                first[r.sha256] = r
            distinct.append(r)
    return distinct, copies


def _release_frames(results: list) -> None:
    """Drop each file's rows once they are in the cleaned frame: a 10-file wave is not held twice.

    An accepted file keeps an empty frame with its columns (a file without one counts as rejected);
    the copy matters, an empty slice would keep the rows' arrays alive.
    """
    for r in results:
        if r.frame is not None:
            r.frame = r.frame.iloc[:0].copy()


def _gather(pending: list, sizes: list[int]) -> list[list]:
    """The results of submitted blocks (:func:`jianfu.parallel.gather`), split into runs of ``sizes``."""
    results = parallel.gather(pending)
    out, start = [], 0
    for n in sizes:
        out.append(results[start : start + n])
        start += n
    return out


def _psychometrics(structure: list[dict], rest: list[dict], ladders: list[dict]) -> dict:
    """The psychometrics block of the summary from its parts and the ladders of each group."""
    from jianfu.analysis import PSYCHOMETRICS_PARTS, merge_psychometrics

    if not structure[0]:  # no accepted row
        return {}
    parts = dict(zip(PSYCHOMETRICS_PARTS, [*structure, *rest], strict=True))
    invariance = {g: ladder for block in ladders for g, ladder in block["invariance"].items()}
    return merge_psychometrics(parts) | {"invariance": invariance, "invariance_rule": ladders[0]["invariance_rule"]}


def analyse(
    frame: pd.DataFrame,
    results: list,
    inst: Instrument,
    plan: Plan,
    wave: str,
    settings: stages.Settings,
    *,
    extras: dict | None = None,
    execute: Executor | None = None,
) -> RunSummary:
    """Every analysis step after cleaning: score → model → psychometrics → overview → waves → summary.

    ``results`` are this run's ingest results or, for a wave rebuilt from the store, its stored
    file entries. Returns the run summary without the report path.
    """
    from jianfu.analysis import PSYCHOMETRICS_PARTS

    execute = execute or Direct()
    accepted, scores = execute.run(SCORE, frame, inst)
    # Psychometrics and the invariance ladders need neither the models nor each other: they go to
    # the other cores (jianfu.parallel) in blocks, the longest first, while this process fits the
    # models and their sensitivity. Within a process the work stays sequential: the statistics
    # libraries silence known-harmless warnings with warnings.catch_warnings, which is not
    # thread-safe.
    groups = [g for g in plan.invariance_groups if g in accepted] or [None]
    first, *others = PSYCHOMETRICS_PARTS
    structure = execute.submit(VALIDITY, accepted, scores, inst, plan, part=first)
    ladders = [execute.submit(INVARIANCE, accepted, inst, plan, groups=None if g is None else [g]) for g in groups]
    rest = [execute.submit(VALIDITY, accepted, scores, inst, plan, part=p) for p in others]
    # One BLAS thread: the matrices are small, and more threads only contend with the workers.
    with threadpool_limits(limits=1, user_api="blas"):
        scale_stats, models = execute.run(MODEL, accepted, scores, inst, plan)
        robustness = execute.run(SENSITIVITY, frame, accepted, scores, inst, plan, models)
        structure, ladders, rest = _gather([structure, *ladders, *rest], [1, len(ladders), len(rest)])
    psychometrics = _psychometrics(structure, rest, ladders)
    headline = plan.report.headline
    more = execute.run(OVERVIEW, accepted, scores, inst, headline) | {
        "waves": execute.run(COMPARE_WAVES, inst, wave, settings),
        "hypotheses": execute.run(HYPOTHESES, models, plan),
        "sensitivity": robustness,
        "layout": plan.report.model_dump(),
    }
    summary = execute.run(
        SUMMARISE, results, frame, inst, wave, scale_stats, models, psychometrics, more | (extras or {})
    )
    summary.provenance = execute.run(PROVENANCE, summary, inst, plan)
    return summary


def run_files(
    files: list[str | Path],
    inst: Instrument,
    plan: Plan,
    wave: str,
    settings: stages.Settings,
    *,
    out: str | Path | None = None,
    sheet: str | None = None,
    lang: str = "zh",
    exports: list[str] | None = None,
    strict: bool | None = None,
    execute: Executor | None = None,
) -> RunSummary:
    """Files → archived, parsed, cleaned, stored, scored, modelled → report; returns the run summary.

    The same content given twice (the same export under two names) is analysed and stored once;
    the copy is listed with ``copy_of`` naming the first.
    """
    execute = execute or Direct()
    parallel.warm()  # the workers import the statistics while the files are read
    paths = [str(f) for f in files]
    with stage("ingest", total=len(paths)) as advance:
        results = []
        for r in execute.map(INGEST, paths, inst, settings, sheet=sheet, strict=strict):
            results.append(r)
            advance()
    faults.point("archived")
    distinct, copies = _split_copies(results)
    with stage("clean"):
        frame = execute.run(CLEAN, distinct, inst)
        _release_frames(results)
    faults.point("cleaned")
    with stage("store"):
        records = [FileRecord.from_summary(r.summary(), r.archive_path) for r in distinct if r.sha256]
        receipts = [
            Receipt(r.sha256, None, r.name, "resent" if r.path in copies else "new", f"run/{r.name}/{r.sha256}")
            for r in results
            if r.sha256
        ]
        execute.run(COMMIT, frame, records, receipts, inst, wave, settings)
    faults.point("stored")
    with stage("model"):
        summary = analyse(frame, results, inst, plan, wave, settings, execute=execute)
    with stage("report"):
        summary.report = execute.run(REPORT, summary, inst, out or settings.reports_dir, lang)
        summary.exports = _export(execute, frame, inst, summary, _formats(exports, plan), plan, lang)
        execute.run(MARK_REPORTED, inst, wave, settings)
    faults.point("reported")
    return summary


def rebuild_wave(
    inst: Instrument,
    plan: Plan,
    wave: str,
    settings: stages.Settings,
    *,
    out: str | Path | None = None,
    lang: str = "zh",
    exports: list[str] | None = None,
    execute: Executor | None = None,
) -> RunSummary:
    """A wave's report rebuilt from the store over every file received for it so far."""
    execute = execute or Direct()
    parallel.warm()
    with stage("load"):
        rows, files = execute.run(LOAD_WAVE, inst, wave, settings)
    with stage("model"):
        summary = analyse(rows, files, inst, plan, wave, settings, execute=execute)
    with stage("report"):
        summary.report = execute.run(REPORT, summary, inst, out or settings.reports_dir, lang)
        summary.exports = _export(execute, rows, inst, summary, _formats(exports, plan), plan, lang)
        execute.run(MARK_REPORTED, inst, wave, settings)
    return summary


def process_inbox(
    inst: Instrument,
    plan: Plan,
    wave: str,
    settings: stages.Settings,
    *,
    settle_seconds: float = 5.0,
    out: str | Path | None = None,
    lang: str = "zh",
    exports: list[str] | None = None,
    execute: Executor | None = None,
) -> dict:
    """Take in what the offices dropped in the inbox and refresh the affected waves' reports.

    Returns ``{"new_files", "duplicates", "wave", "report", "summary", "skipped", "held", "settling",
    "reports"}``: ``duplicates`` counts re-sent copies (content received before, or twice in this
    batch); ``skipped`` lists the files passed over with the reason; ``held`` counts files another
    inbox run had claimed; ``reports`` maps every wave whose report was rebuilt to its path — the
    current wave when it received new content, and any wave whose report an interrupted run did
    not finish.
    """
    execute = execute or Direct()
    with stage("scan"):
        scan = scan_inbox(settings.inbox_dir, settle_seconds)
    faults.point("scanned")
    with claim(scan.waiting) as claimed:
        known = execute.run(KNOWN, settings, [d.sha256 for d in claimed])
        new, copies = sort_deliveries(claimed, known)
        with stage("ingest", total=len(claimed)) as advance:
            results = []
            for r in execute.map(INGEST, [str(d.path) for d in new], inst, settings):
                results.append(r)
                advance()
            copy_archives = []
            for d in copies:
                copy_archives.append(execute.run(ARCHIVE_COPY, d, settings))
                advance()
        faults.point("archived")
        with stage("clean"):
            frame = execute.run(CLEAN, results, inst)
            _release_frames(results)
        faults.point("cleaned")
        if claimed:
            with stage("store"):
                execute.run(COMMIT, frame, records_for(results, new), receipts_for(new, copies), inst, wave, settings)
        faults.point("stored")
        stored = execute.run(STORED, settings, [d.sha256 for d in copies])
        for r, d in zip(results, new, strict=True):
            execute.run(FILE_AWAY, d, r.status, [str(p) for p in r.problems], r.archive_path, settings)
            faults.point("filed-one")
        for d, archived in zip(copies, copy_archives, strict=True):
            first = stored[d.sha256]  # committed above, or in an earlier run
            execute.run(FILE_AWAY, d, first["status"], first["errors"], archived, settings)
            faults.point("filed-one")
    faults.point("filed")
    waves = execute.run(PENDING_WAVES, inst, settings)
    reports, summary = {}, None
    for w in waves:
        s = rebuild_wave(inst, plan, w, settings, out=out, lang=lang, exports=exports, execute=execute)
        reports[w] = s.report
        if w == wave:
            summary = s
    faults.point("reported")
    return {
        "new_files": len(new),
        "duplicates": len(copies),
        "wave": wave,
        "report": reports.get(wave),
        "summary": summary,
        "reports": reports,
        "skipped": [s.to_dict() for s in scan.skipped],
        "held": len(scan.waiting) - len(claimed),
        "settling": scan.settling,
    }


def _latest_wave(inst: Instrument, settings: stages.Settings) -> str | None:
    if not store_exists(settings):
        return None
    with open_store(settings, read_only=True) as store:
        waves = store.waves(inst)
    return waves[-1] if waves else None


LATEST_WAVE = Step("latest-wave", _latest_wave, io=True)
STEPS[LATEST_WAVE.name] = LATEST_WAVE


def reanalyse_wave(
    inst: Instrument,
    plan: Plan,
    settings: stages.Settings,
    wave: str | None = None,
    *,
    out: str | Path | None = None,
    lang: str = "zh",
    exports: list[str] | None = None,
    execute: Executor | None = None,
) -> RunSummary | None:
    """Rebuild the report of ``wave`` (default: the latest wave in the store); None when there is none."""
    execute = execute or Direct()
    wave = wave or execute.run(LATEST_WAVE, inst, settings)
    if wave is None:
        return None
    return rebuild_wave(inst, plan, wave, settings, out=out, lang=lang, exports=exports, execute=execute)
