"""survey_pipeline: uploaded files → cleaned, stored, scored, modelled → Excel report.

One task per stage; the engine (``jianfu.pipeline``) does the work. Files are parsed
concurrently (cached on their content) and each is archived; a bad file is reported and
never stops the others.
"""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from jianfu import paths
from jianfu import pipeline as engine

from flows import tasks as t
from jianfu.progress import stage


@flow(name="survey_pipeline", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=t.MAX_WORKERS))
def survey_pipeline(files: list[str], instrument: str = str(paths.DEFAULT_INSTRUMENT), wave: str | None = None,
                    out: str | None = None, data_dir: str | None = None, sheet: str | None = None,
                    lang: str = "zh") -> dict:
    """Run one wave's files end to end and return the run summary (with the report path)."""
    settings = engine.Settings() if data_dir is None else engine.Settings.under(data_dir)
    wave = wave or engine.default_wave()
    inst, plan = t.load_inputs(instrument)
    with stage("ingest", total=len(files)) as advance:
        parsed = [t.parse.submit(p, inst, settings, sheet) for p in files]
        results = []
        for p, future in zip(files, parsed):
            results.append(t.archive(future.result(), p, settings))
            advance()
    with stage("clean"):
        frame = t.clean(results, inst)
    with stage("store"):
        t.store(frame, results, inst, wave, settings)
    with stage("model"):
        accepted, scores = t.score(frame, inst)
        # Sequential on purpose: the statistics libraries silence known-harmless warnings with
        # warnings.catch_warnings, which is not thread-safe.
        scale_stats, models = t.model(accepted, scores, inst, plan)
        psychometrics = t.validity(accepted, scores, inst, plan)
        extras = t.overview(accepted, scores, inst) | {"waves": t.compare_waves(inst, wave, settings)}
        summary = engine.summarise(results, frame, inst, wave, scale_stats, models, psychometrics, extras)
    with stage("report"):
        summary["report"] = t.report(summary, inst, out or str(settings.reports_dir), lang)
        t.publish(summary, inst)
    print(f"report written: {summary['report']}")
    return summary
