"""survey_pipeline: uploaded files → cleaned, stored, scored, modelled → Excel report.

One task per stage; the engine (``jianfu.pipeline``) does the work. Ingest runs per file
and concurrently; a bad file is reported and never stops the others.
"""

from __future__ import annotations

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from jianfu import paths
from jianfu import pipeline as engine
from jianfu.ingest import IngestResult
from jianfu.instrument import Instrument
from jianfu.plan import Plan


@task(name="load-instrument", cache_policy=NO_CACHE)
def load_inputs(instrument: str) -> tuple[Instrument, Plan]:
    return engine.load_inputs(instrument)


@task(name="ingest", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def ingest(path: str, inst: Instrument, settings: engine.Settings, sheet: str | None = None) -> IngestResult:
    result = engine.ingest_one(path, inst, settings, sheet=sheet)
    logger = get_run_logger()
    logger.info("%s: %s, %s, %d rows, %d error(s), %d warning(s)", result.name, result.format, result.status,
                result.n_rows, len(result.errors), len(result.warnings))
    return result


@task(name="clean", cache_policy=NO_CACHE)
def clean(results: list[IngestResult], inst: Instrument) -> pd.DataFrame:
    return engine.clean(results, inst)


@task(name="store", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def store(frame: pd.DataFrame, results: list[IngestResult], inst: Instrument, wave: str,
          settings: engine.Settings) -> int:
    return engine.store_rows(frame, results, inst, wave, settings)


@task(name="score", cache_policy=NO_CACHE)
def score(frame: pd.DataFrame, inst: Instrument) -> tuple[pd.DataFrame, pd.DataFrame]:
    return engine.score(frame, inst)


@task(name="model", cache_policy=NO_CACHE)
def model(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, plan: Plan) -> tuple[dict, dict]:
    return engine.model(accepted, scores, inst, plan)


@task(name="psychometrics", cache_policy=NO_CACHE)
def validity(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument, plan: Plan) -> dict:
    return engine.validity(accepted, scores, inst, plan)


@task(name="overview", cache_policy=NO_CACHE)
def overview(accepted: pd.DataFrame, scores: pd.DataFrame, inst: Instrument) -> dict:
    return engine.overview(accepted, scores, inst)


@task(name="compare-waves", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def compare_waves(inst: Instrument, wave: str, settings: engine.Settings) -> dict | None:
    return engine.compare_waves(inst, wave, settings)


@task(name="report", retries=1, cache_policy=NO_CACHE)
def report(summary: dict, inst: Instrument, out_dir: str, lang: str = "zh") -> str:
    return str(engine.report(summary, inst, out_dir, lang=lang))


@flow(name="survey_pipeline", log_prints=True)
def survey_pipeline(files: list[str], instrument: str = str(paths.DEFAULT_INSTRUMENT), wave: str | None = None,
                    out: str | None = None, data_dir: str | None = None, sheet: str | None = None,
                    lang: str = "zh") -> dict:
    """Run one wave's files end to end and return the run summary (with the report path)."""
    settings = engine.Settings() if data_dir is None else engine.Settings.under(data_dir)
    wave = wave or engine.default_wave()
    inst, plan = load_inputs(instrument)
    results = [f.result() for f in [ingest.submit(p, inst, settings, sheet) for p in files]]
    frame = clean(results, inst)
    store(frame, results, inst, wave, settings)
    accepted, scores = score(frame, inst)
    # Sequential on purpose: the statistics libraries silence known-harmless warnings with
    # warnings.catch_warnings, which is not thread-safe.
    scale_stats, models = model(accepted, scores, inst, plan)
    psychometrics = validity(accepted, scores, inst, plan)
    extras = overview(accepted, scores, inst) | {"waves": compare_waves(inst, wave, settings)}
    summary = engine.summarise(results, frame, inst, wave, scale_stats, models, psychometrics, extras)
    summary["report"] = report(summary, inst, out or str(settings.reports_dir), lang)
    print(f"report written: {summary['report']}")
    return summary
