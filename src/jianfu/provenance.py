"""Provenance: what it takes to re-run an analysis and get the same numbers, and where every case went.

The block records the software (jianfu and its git commit when run from a checkout, Python, the
statistics libraries), the sha256 of the instrument, the plan and every input file, the random
seeds, every threshold in force, and the case flow — received → copies → each quality flag →
quarantined → analysed — which the report draws as a CONSORT-style diagram.

Examples
--------
>>> from jianfu.summary import RunSummary
>>> s = RunSummary(instrument={"id": "demo", "version": "1.0"}, wave="2026-11",
...                rows={"read": 10, "accepted": 8, "quarantined": 2}, flags={"speeder": 2},
...                flags_enabled=["speeder"])
>>> [(step["step"], step["n"]) for step in case_flow(s)]
[('files_received', 0), ('files_rejected', 0), ('file_copies', 0), ('rows_read', 10), ('flag_speeder', 2), \
('quarantined', 2), ('analysed', 8)]
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from jianfu import __version__
from jianfu.instrument import Instrument
from jianfu.plan import Plan
from jianfu.summary import Provenance, RunSummary

__all__ = ["PACKAGES", "case_flow", "git_commit", "provenance", "sha256_bytes"]

#: The libraries whose versions can change a number in the report.
PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "pingouin",
    "semopy",
    "factor_analyzer",
    "scikit-learn",
    "duckdb",
    "openpyxl",
    "python-calamine",
    "pyreadstat",
    "prefect",
)

#: Words for the case-flow steps (zh, en); ``flag_<name>`` steps take the flag's name.
_STEPS = {
    "files_received": ("收到文件", "files received"),
    "files_rejected": ("整份退回的文件", "files rejected as a whole"),
    "file_copies": ("重复上传（内容相同，只分析一次）", "copies of a file already received (analysed once)"),
    "rows_read": ("读取答卷", "responses read"),
    "quarantined": ("隔离（保留，不参与统计）", "quarantined (kept, left out of statistics)"),
    "analysed": ("进入分析", "analysed"),
}
_FLAGS = {
    "speeder": ("作答过快", "speeders"),
    "straightline": ("直线作答", "straight-lining"),
    "attention": ("注意力题未通过", "failed attention check"),
    "incomplete": ("作答不完整", "incomplete"),
    "duplicate": ("重复提交", "duplicate submissions"),
    "invalid": ("含无效单元格", "invalid cells"),
}


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the checkout jianfu runs from, or ``None`` (an installed wheel, no git)."""
    here = start or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def case_flow(summary: RunSummary) -> list[dict[str, Any]]:
    """Where every received file and response went, in order; a response may carry several flags."""
    files = summary.files
    steps: list[tuple[str, int]] = [
        ("files_received", len(files)),
        ("files_rejected", sum(f.status == "rejected" for f in files)),
        ("file_copies", sum(f.copy_of is not None for f in files)),
        ("rows_read", summary.rows.read),
        *[(f"flag_{name}", int(summary.flags.get(name, 0))) for name in summary.flags_enabled],
        ("quarantined", summary.rows.quarantined),
        ("analysed", summary.rows.accepted),
    ]
    out = []
    for step, n in steps:
        if step.startswith("flag_"):
            zh, en = _FLAGS.get(step[5:], (step[5:], step[5:]))
            zh, en = f"标记：{zh}", f"flagged: {en}"
        else:
            zh, en = _STEPS[step]
        out.append({"step": step, "label_zh": zh, "label_en": en, "n": int(n)})
    return out


def _thresholds(inst: Instrument, plan: Plan, summary: RunSummary) -> dict[str, Any]:
    from jianfu.report.profile import MIN_UNIT_N

    out: dict[str, Any] = _flatten("quality", inst.quality.model_dump(mode="json"))
    out["multiplicity"] = plan.multiplicity
    out["significance_level"] = 0.05
    out["unit_suppression_min_n"] = MIN_UNIT_N
    for m in plan.models:
        for key in ("min_clusters", "cr1_min_clusters", "n_boot"):
            if hasattr(m, key):
                out[f"models.{m.id}.{key}"] = getattr(m, key)
    for key, value in (summary.psychometrics.get("cfa") or {}).get("cutoffs", {}).items():
        out[f"cfa.cutoffs.{key}"] = value
    return out


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    """``{"speeder": {"min_seconds": 60}}`` → ``{"quality.speeder.min_seconds": 60}``: one setting per row."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flatten(f"{prefix}.{k}", v)
        return out
    return {prefix: value}


def _seeds(plan: Plan) -> dict[str, int]:
    from jianfu.analysis import PARALLEL_ANALYSIS_SEED

    seeds = {"parallel_analysis": PARALLEL_ANALYSIS_SEED}
    seeds |= {f"{m.id}.bootstrap": int(m.seed) for m in plan.models if getattr(m, "seed", None) is not None}
    return seeds


def provenance(summary: RunSummary, inst: Instrument, plan: Plan) -> Provenance:
    """The provenance block of ``summary`` (``summary.provenance``; the report's 方法说明 and the Word appendix)."""
    return Provenance(
        jianfu={"version": __version__, "commit": git_commit()},
        python=platform.python_version(),
        packages={name: _version(name) for name in PACKAGES},
        instrument={"id": inst.id, "version": inst.version, "sha256": inst.source_sha256},
        plan={"instrument": plan.instrument, "sha256": plan.source_sha256},
        inputs=[{"file": Path(f.path).name, "sha256": f.sha256} for f in summary.files],
        seeds=_seeds(plan),
        thresholds=_thresholds(inst, plan, summary),
        case_flow=case_flow(summary),
    )
