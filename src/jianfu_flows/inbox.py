"""inbox: take in what HR offices dropped in ``data/inbox/<office>/`` and refresh the wave's report.

The steps and their order are the engine's (:func:`jianfu.workflow.process_inbox`): claim each
file, archive, parse, store rows and file records in one transaction, and only then move the
file out of the inbox; a crash anywhere is finished by a plain re-run. This flow runs each step
as a Prefect task and publishes the artifacts of every report it rebuilt.
"""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from jianfu import paths, workflow
from jianfu import pipeline as engine

from .steps import MAX_WORKERS, PrefectSteps, log_files, publish


@flow(name="inbox", log_prints=True, persist_result=False, task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS))
def inbox(
    instrument: str = str(paths.DEFAULT_INSTRUMENT),
    wave: str | None = None,
    wave_rule: str = "%Y-%m",
    timezone: str = "Asia/Shanghai",
    data_dir: str | None = None,
    out: str | None = None,
    lang: str = "zh",
    exports: list[str] | None = None,
    settle_seconds: float = 5.0,
) -> dict:
    """Process new uploads; return ``{"new_files", "duplicates", "report", "summary", "skipped", ...}``."""
    settings = engine.Settings() if data_dir is None else engine.Settings.under(data_dir)
    steps = PrefectSteps()
    inst, plan = steps.run(workflow.LOAD, instrument)
    result = workflow.process_inbox(
        inst,
        plan,
        wave or engine.wave_label(wave_rule, timezone=timezone),
        settings,
        settle_seconds=settle_seconds,
        out=out,
        lang=lang,
        exports=exports,
        execute=steps,
    )
    if result["summary"]:
        log_files(result["summary"])
        publish(result["summary"], inst)
    for s in result["skipped"]:
        print(f"skipped {s['message']}")
    print(
        f"inbox: {result['new_files']} new file(s), {result['duplicates']} re-sent; "
        f"report {result['report'] or '(unchanged)'}"
    )
    return result
