"""inbox: pick up what HR offices dropped in ``data/inbox/<office>/`` and refresh the wave's report.

Each new file is parsed (cached on its content), archived, stored with its office, and only
then moved out of the inbox (to ``processed/`` or, with a problem list for the office, to
``rejected/``). A file whose content was received before is archived already and is filed
away without being stored twice. The wave's report is rebuilt from the store, over every
file received for the wave so far. With nothing new, the flow changes nothing.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from jianfu import paths
from jianfu import pipeline as engine
from jianfu.progress import stage
from jianfu.readers import sha256_file
from jianfu.store import Store

from flows import tasks as t


@flow(name="inbox", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=t.MAX_WORKERS))
def inbox(instrument: str = str(paths.DEFAULT_INSTRUMENT), wave: str | None = None, wave_rule: str = "%Y-%m",
          timezone: str = "Asia/Shanghai", data_dir: str | None = None, out: str | None = None, lang: str = "zh",
          settle_seconds: float = 5.0) -> dict:
    """Process new uploads; return ``{"new_files", "duplicates", "report", "summary"}``."""
    logger = get_run_logger()
    settings = engine.Settings() if data_dir is None else engine.Settings.under(data_dir)
    wave = wave or engine.wave_label(wave_rule, timezone=timezone)
    inst, plan = t.load_inputs(instrument)
    with stage("scan"):
        waiting = engine.scan_inbox(settings, settle_seconds)
    if not waiting:
        print(f"inbox {settings.inbox_dir}: nothing new")
        return {"new_files": 0, "duplicates": 0, "wave": wave, "report": None, "summary": None}
    new, repeats = [], []
    if settings.store_path.exists():
        with Store(settings.store_path, read_only=True) as store:
            for office, path in waiting:
                (repeats if store.known(sha256_file(path)) else new).append((office, path))
    else:
        new = waiting
    fresh = {str(path) for _, path in new}
    with stage("ingest", total=len(waiting)) as advance:
        parsed = [(office, str(path), t.parse.submit(str(path), inst, settings)) for office, path in waiting]
        results, offices = [], {}
        for office, path, future in parsed:
            result = t.archive(future.result(), path, settings)
            if path in fresh:
                results.append(result)
                offices[result.path] = office
            else:
                logger.info("%s (%s): received before (sha256 %s…); archived, not stored again",
                            result.name, office, result.sha256[:12])
            t.file_away(path, office, result, settings)
            advance()
    with stage("clean"):
        frame = t.clean(results, inst)
    with stage("store"):
        t.store(frame, results, inst, wave, settings, offices)
    summary = t.rebuild_wave_report(inst, plan, wave, settings, out, lang)
    print(f"inbox: {len(results)} new file(s), {len(repeats)} received before; report {summary['report']}")
    return {"new_files": len(results), "duplicates": len(repeats), "wave": wave, "report": summary["report"],
            "summary": summary}
