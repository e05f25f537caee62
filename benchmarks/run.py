"""`make bench`: jianfu's speed and memory against baselines measured in the same run.

For each size (default 1k, 10k, 100k respondents; a 问卷星 text export with ~110 columns):

* parse floor — python-calamine reading the file, nothing else;
* baseline — benchmarks/baseline.py, what a researcher would write (pandas.read_excel with
  openpyxl, α per scale with pingouin, one statsmodels OLS);
* ``jianfu validate`` — parse, map, check, flag (no Prefect);
* ``jianfu run`` — the whole flow to the report, and the same minus Prefect's fixed start-up
  (a trivial flow timed in this run).

Every command runs in a fresh process; peak RSS is that process's maximum resident set. The
table is printed and saved to benchmarks/results/ (``latest.md`` and a timestamped JSON).

Usage: python benchmarks/run.py [SIZE ...]
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"
PY = sys.executable

TARGETS = {"run_vs_floor": 3.0, "baseline_vs_run": 3.0, "rss_mb_100k": 1536.0, "growth_10k_100k": 10.0}


def export(n: int) -> Path:
    """The synthetic 问卷星 export with ``n`` rows (generated once, kept in benchmarks/data/)."""
    path = DATA / f"wjx_{n}.xlsx"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        from jianfu import paths
        from jianfu.instrument import load_instrument
        from jianfu.synth import simulate, write_survey

        inst = load_instrument(paths.DEFAULT_INSTRUMENT)
        write_survey(simulate(inst, n=n, seed=2026), inst, path, fmt="wjx-text")
    return path


def measure(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(args)} exited {code}:\n{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def main(sizes: list[int]) -> dict:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "JIANFU_NO_PROGRESS": "1"}
    work = Path(tempfile.mkdtemp(prefix="jianfu-bench-"))
    env["PREFECT_HOME"] = str(work / "prefect")
    startup, _ = measure([PY, str(HERE / "prefect_startup.py")], env)
    rows = []
    for n in sizes:
        path = export(n)
        floor = measure(
            [
                PY,
                "-c",
                "import sys; from python_calamine import CalamineWorkbook as W; "
                "W.from_path(sys.argv[1]).get_sheet_by_index(0).to_python()",
                str(path),
            ],
            env,
        )
        baseline = measure([PY, str(HERE / "baseline.py"), str(path)], env)
        validate = measure([PY, "-m", "jianfu.cli", "validate", "--json", str(path)], env)
        run_env = {**env, "JIANFU_DATA_DIR": str(work / f"data{n}")}
        run = measure(
            [PY, "-m", "jianfu.cli", "run", "--json", "--wave", "bench", "--out", str(work / "reports"), str(path)],
            run_env,
        )
        rows.append(
            {
                "n": n,
                "mb": path.stat().st_size / 2**20,
                "floor_s": floor[0],
                "floor_rss": floor[1],
                "baseline_s": baseline[0],
                "baseline_rss": baseline[1],
                "validate_s": validate[0],
                "validate_rss": validate[1],
                "run_s": run[0],
                "run_rss": run[1],
                "run_ex_prefect_s": max(run[0] - startup, 1e-9),
            }
        )
        print(
            f"{n:>7} rows: floor {floor[0]:.1f}s, baseline {baseline[0]:.1f}s, validate {validate[0]:.1f}s, "
            f"run {run[0]:.1f}s",
            file=sys.stderr,
        )
    shutil.rmtree(work, ignore_errors=True)
    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "prefect_startup_s": startup,
        "rows": rows,
        "targets": TARGETS,
    }
    return result


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def table(result: dict) -> str:
    """The markdown table. Targets are judged at 100k rows, where the issue sets them; at small
    sizes Prefect's start-up (which varies by seconds between runs) swamps every ratio."""
    ok = lambda good: "✓" if good else "✗ missed"  # noqa: E731
    lines = [
        f"Benchmark {result['when']} on {result['machine']}",
        f"Prefect fixed start-up (temporary server + one trivial flow): {result['prefect_startup_s']:.1f} s",
        "",
        "| rows | file MB | parse floor s | baseline s | validate s | run s | run − Prefect s "
        "| (run − Prefect) / floor, target ≤ 3 | baseline / run, target ≥ 3 | baseline / (run − Prefect) "
        "| peak RSS MB of run, target ≤ 1536 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        judged = r["n"] >= 100_000
        verdict = (lambda good: " " + ok(good)) if judged else (lambda good: "")  # noqa: E731
        vs_floor = r["run_ex_prefect_s"] / r["floor_s"]
        speedup = r["baseline_s"] / r["run_s"]
        lines.append(
            f"| {r['n']:,} | {r['mb']:.1f} | {r['floor_s']:.2f} | {r['baseline_s']:.2f} | {r['validate_s']:.2f} "
            f"| {r['run_s']:.2f} | {r['run_ex_prefect_s']:.2f} | {vs_floor:.1f}{verdict(vs_floor <= 3)} "
            f"| {speedup:.1f}{verdict(speedup >= 3)} | {r['baseline_s'] / r['run_ex_prefect_s']:.1f} "
            f"| {r['run_rss']:.0f}{verdict(r['run_rss'] <= TARGETS['rss_mb_100k'])} |"
        )
    by_n = {r["n"]: r for r in result["rows"]}
    if 10_000 in by_n and 100_000 in by_n:
        growth = by_n[100_000]["run_ex_prefect_s"] / by_n[10_000]["run_ex_prefect_s"]
        lines += ["", f"Growth 10k → 100k (run − Prefect): ×{growth:.1f} {ok(growth <= 12)} (linear ≈ ×10)"]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"]:  # re-print a saved result: python benchmarks/run.py --table FILE.json
        print(table(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))))
        raise SystemExit(0)
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    result = main(sizes)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench_{datetime.now():%Y%m%d-%H%M%S}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    text = table(result)
    (RESULTS / "latest.md").write_text(text + "\n", encoding="utf-8")
    print(text)
