"""reanalysis: rebuild a wave's report from the store (default: the latest wave).

For example after the analysis plan was edited. The steps are the engine's
(:func:`jianfu.workflow.reanalyse_wave`).
"""

from __future__ import annotations

from prefect import flow

from jianfu import paths, workflow
from jianfu import pipeline as engine

from .steps import PrefectSteps, publish


@flow(name="reanalysis", log_prints=True, persist_result=False)
def reanalysis(
    instrument: str = str(paths.DEFAULT_INSTRUMENT),
    wave: str | None = None,
    data_dir: str | None = None,
    out: str | None = None,
    lang: str = "zh",
    exports: list[str] | None = None,
) -> dict | None:
    """Rebuild the report of ``wave`` (default: the latest wave in the store); None if the store is empty."""
    settings = engine.Settings() if data_dir is None else engine.Settings.under(data_dir)
    steps = PrefectSteps()
    inst, plan = steps.run(workflow.LOAD, instrument)
    summary = workflow.reanalyse_wave(inst, plan, settings, wave, out=out, lang=lang, exports=exports, execute=steps)
    if summary is None:
        print("reanalysis: no wave of this instrument version in the store")
        return None
    publish(summary, inst)
    print(f"reanalysis of wave {summary.wave}: report {summary.report}")
    return summary
