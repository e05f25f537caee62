"""Prefect tasks shared by the flows: thin, typed wrappers over ``jianfu.pipeline``.

Retries only where I/O can fail (reading uploads, the store, writing the report). Parsing
an upload is cached on the file's sha256 (with its name, the instrument, the hashing key's
fingerprint and the jianfu version), so a re-run skips files already parsed; archiving is
not cached, because every data folder must hold its own copy of every received file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import jianfu
from jianfu import pipeline as engine
from jianfu.ingest import IngestResult, ingest_file
from jianfu.instrument import FLAG_NAMES, Instrument
from jianfu.plan import Plan
from jianfu.privacy import load_secret
from jianfu.readers import sha256_file
from jianfu.report_text import findings
from jianfu.store import archive_file

#: Files parsed at once in one run: bounded (Prefect's default pool is not) and modest, since
#: parsing is memory-heavy and these machines have 2 cores. ``JIANFU_WORKERS`` overrides it.
MAX_WORKERS = int(os.environ.get("JIANFU_WORKERS", min(4, (os.cpu_count() or 2) * 2)))


@task(name="load-instrument", cache_policy=NO_CACHE)
def load_inputs(instrument: str) -> tuple[Instrument, Plan]:
    return engine.load_inputs(instrument)


def _parse_key(context, parameters: dict) -> str:
    path = Path(parameters["path"])
    inst: Instrument = parameters["inst"]
    settings: engine.Settings = parameters["settings"]
    secret = load_secret(settings.secret_file)
    parts = [sha256_file(path), path.name, inst.id, inst.version,
             hashlib.sha256(inst.model_dump_json().encode()).hexdigest()[:16],
             hashlib.sha256(secret).hexdigest()[:16], str(parameters.get("sheet")), jianfu.__version__,
             repr(settings.limits)]
    return "parse-" + hashlib.sha256("|".join(parts).encode()).hexdigest()


@task(name="parse", retries=2, retry_delay_seconds=1, cache_key_fn=_parse_key, persist_result=True,
      cache_expiration=timedelta(days=90))
def parse(path: str, inst: Instrument, settings: engine.Settings, sheet: str | None = None) -> IngestResult:
    """Read, map and check one upload (cached on its content)."""
    return ingest_file(path, inst, limits=settings.limits, secret=load_secret(settings.secret_file), sheet=sheet)


@task(name="archive", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def archive(result: IngestResult, path: str, settings: engine.Settings) -> IngestResult:
    """Copy the upload, unchanged, into the archive under its sha256 and log the outcome."""
    if result.sha256:
        result = dataclasses.replace(result, archive_path=str(archive_file(path, result.sha256, settings.archive_dir)))
    get_run_logger().info("%s: %s, %s, %d rows, %d error(s), %d warning(s)", result.name, result.format,
                          result.status, result.n_rows, len(result.errors), len(result.warnings))
    return result


@task(name="clean", cache_policy=NO_CACHE)
def clean(results: list[IngestResult], inst: Instrument) -> pd.DataFrame:
    return engine.clean(results, inst)


@task(name="store", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def store(frame: pd.DataFrame, results: list[IngestResult], inst: Instrument, wave: str,
          settings: engine.Settings, offices: dict[str, str] | None = None) -> int:
    return engine.store_rows(frame, results, inst, wave, settings, offices)


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


@task(name="reanalyse", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def reanalyse(inst: Instrument, plan: Plan, wave: str, settings: engine.Settings) -> dict:
    return engine.reanalyse(inst, plan, wave, settings)


@task(name="report", retries=1, cache_policy=NO_CACHE)
def report(summary: dict, inst: Instrument, out_dir: str, lang: str = "zh") -> str:
    return str(engine.report(summary, inst, out_dir, lang=lang))


@task(name="file-away", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def file_away(path: str, office: str, result: IngestResult, settings: engine.Settings) -> str:
    return str(engine.file_away(Path(path), office, result, settings))


@task(name="publish", cache_policy=NO_CACHE)
def publish(summary: dict, inst: Instrument) -> None:
    """Artifacts of the run: a markdown summary, the quality flags per file, a link to the report."""
    rows = summary["rows"]
    lines = [f"# {inst.title.zh} · {summary['wave']}", "",
             f"- 读取 read: **{rows['read']}**, 有效 accepted: **{rows['accepted']}**, 隔离 quarantined: "
             f"**{rows['quarantined']}**",
             f"- 文件 files: {len(summary['files'])} ({sum(f['status'] == 'rejected' for f in summary['files'])} rejected)",
             f"- 报告 report: `{summary.get('report')}`", "", "## 主要发现 Key findings", ""]
    lines += [f"{k}. {line}" for k, line in enumerate(findings(summary, inst), start=1)] if summary.get("models") else []
    create_markdown_artifact("\n".join(lines), key="jianfu-summary", description="jianfu run summary")
    table = [{"file": f["path"].rsplit("/", 1)[-1], "office": f.get("office") or "", "status": f["status"],
              "rows": f["rows"], "accepted": f.get("accepted", 0), "quarantined": f.get("quarantined", 0),
              **{k: f.get("flags", {}).get(k, 0) for k in FLAG_NAMES}, "errors": len(f["errors"])}
             for f in summary["files"]]
    create_table_artifact(table, key="jianfu-quality", description="quality flags per file")
    if summary.get("report"):
        create_link_artifact(Path(summary["report"]).resolve().as_uri(), link_text=Path(summary["report"]).name,
                             key="jianfu-report", description="the Excel report")


def rebuild_wave_report(inst: Instrument, plan: Plan, wave: str, settings: engine.Settings, out: str | None,
                        lang: str) -> dict:
    """Re-analyse a whole wave from the store, write its report and publish the artifacts
    (the common end of the inbox and reanalysis flows)."""
    from jianfu.progress import stage

    with stage("model"):
        summary = reanalyse(inst, plan, wave, settings)
    with stage("report"):
        summary["report"] = report(summary, inst, out or str(settings.reports_dir), lang)
        publish(summary, inst)
    return summary
