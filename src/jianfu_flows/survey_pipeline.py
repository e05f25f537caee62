"""survey_pipeline: uploaded files → archived, cleaned, stored, scored, modelled → Excel report.

The steps and their order are the engine's (:func:`jianfu.workflow.run_files`); this flow runs
each as a Prefect task, parses files concurrently and publishes the run's artifacts. A bad file
is reported and never stops the others.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from jianfu import paths, workflow
from jianfu import pipeline as engine

from .steps import MAX_WORKERS, PrefectSteps, log_files, publish


@flow(
    name="survey_pipeline",
    log_prints=True,
    persist_result=False,
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),
)
def survey_pipeline(
    files: list[str],
    instrument: str = str(paths.DEFAULT_INSTRUMENT),
    wave: str | None = None,
    out: str | None = None,
    data_dir: str | None = None,
    sheet: str | None = None,
    lang: str = "zh",
    exports: list[str] | None = None,
    strict: bool = False,
    units: str | None = None,
) -> dict:
    """Run one wave's files end to end and return the run summary (with the report path)."""
    settings = engine.Settings() if data_dir is None else engine.Settings.under(data_dir)
    if units:
        settings = dataclasses.replace(settings, units_file=Path(units))
    steps = PrefectSteps()
    inst, plan = steps.run(workflow.LOAD, instrument)
    summary = workflow.run_files(
        files,
        inst,
        plan,
        wave or engine.default_wave(),
        settings,
        out=out,
        sheet=sheet,
        lang=lang,
        exports=exports,
        strict=strict or None,
        execute=steps,
    )
    log_files(summary)
    publish(summary, inst)
    print(f"report written: {summary.report}")
    return summary
