"""reanalysis: rebuild a wave's report from the store (after the analysis plan changed, say).

Nothing is read from the inbox and no upload is touched; the wave's rows are re-flagged
together, re-scored and re-modelled with the current instrument and plan.
"""

from __future__ import annotations

from prefect import flow

from jianfu import paths
from jianfu import pipeline as engine
from jianfu.store import Store

from flows import tasks as t


@flow(name="reanalysis", log_prints=True)
def reanalysis(instrument: str = str(paths.DEFAULT_INSTRUMENT), wave: str | None = None,
               data_dir: str | None = None, out: str | None = None, lang: str = "zh") -> dict | None:
    """Rebuild the report of ``wave`` (default: the latest wave in the store); None if the store is empty."""
    settings = engine.Settings() if data_dir is None else engine.Settings.under(data_dir)
    inst, plan = t.load_inputs(instrument)
    if not settings.store_path.exists():
        print("reanalysis: the store is empty")
        return None
    if wave is None:
        with Store(settings.store_path, read_only=True) as store:
            waves = store.waves(inst)
        if not waves:
            print("reanalysis: no wave of this instrument version in the store")
            return None
        wave = waves[-1]
    summary = t.rebuild_wave_report(inst, plan, wave, settings, out, lang)
    print(f"reanalysis of wave {wave}: report {summary['report']}")
    return summary
