"""`make bench`: jianfu's speed and memory against baselines measured in the same run.

For each size (default 1k, 20k, 100k respondents; a 问卷星 text export with ~110 columns):

* parse floors — python-calamine reading the file to Python values, and fastexcel reading it to Arrow;
* baseline — benchmarks/baseline.py, what a researcher would write (pandas.read_excel with
  openpyxl, α per scale with pingouin, one statsmodels OLS);
* ``jianfu validate`` — parse, map, check, flag (no Prefect);
* ``jianfu run`` — the whole flow to the report, against a Prefect server started for the bench with
  ``jianfu server start``, and the same minus Prefect's fixed overhead (a trivial flow timed in this
  run against that server); at 20k also once with Prefect's temporary server;
* where the 20k run's time goes — each task's duration, read back from the Prefect server.

Prefect's fixed overhead is measured each way a run can pay it: the temporary server (in a new and in
a used PREFECT_HOME), a running server, and the temporary server started in a thread while the engine
imports and parses the 20k file (``benchmarks/prefect_startup.py``). The readers are compared on the
20k 问卷星 export and the 20k template (``benchmarks/readers.py``).

``--big N`` (``make bench BIG=1``, N = 1,000,000 by default) instead runs one wave of N respondents in
10 files against one of those files alone; a small N (``make bench BIG=1 BIG_N=20000``) proves the path.

Every command runs in a fresh process; wall and CPU seconds and peak RSS are that process's (its
reaped children included). The machine's load average is recorded at the start and the end: these
machines have 2 cores shared with other work, so wall times vary with the load, CPU times much less.
The table is printed and saved to benchmarks/results/ (``latest.md``, or ``latest-big.md``, and JSON).

Usage: python benchmarks/run.py [SIZE ...] | --big [N] | --table FILE.json
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"
PY = sys.executable
CLI = [PY, "-m", "jianfu_flows.cli"]

TARGETS = {
    "run_vs_floor_20k": 3.0,  # (run − Prefect) / calamine parse floor at 20k, at most
    "run_ex_prefect_1k_s": 3.0,  # run − Prefect at 1k, seconds, at most
    "prefect_overhead_s": 5.0,  # Prefect's fixed overhead for one run, seconds, at most
    "baseline_vs_run_100k": 5.0,  # baseline / run at 100k, at least
    "rss_mb_100k": 1536.0,  # peak RSS of the 100k run, at most
    "rss_mb_big": 3072.0,  # peak RSS of the 10-file wave, at most
    "big_vs_tenth": 11.0,  # the 10-file wave / one tenth of it, at most
}


def export(n: int, fmt: str = "wjx-text", seed: int = 2026, name: str | None = None) -> Path:
    """A synthetic export with ``n`` rows (generated once, kept in benchmarks/data/)."""
    path = DATA / f"{name or ('wjx' if fmt == 'wjx-text' else fmt)}_{n}.xlsx"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        from jianfu import paths
        from jianfu.instrument import load_instrument
        from jianfu.synth import simulate, write_survey

        inst = load_instrument(paths.DEFAULT_INSTRUMENT)
        print(f"writing {path.name} ...", file=sys.stderr)
        write_survey(simulate(inst, n=n, seed=seed), inst, path, fmt=fmt)
    return path


def _watch_tree(pid: int, limit_mb: float, stop: threading.Event, out: dict) -> None:
    """Sample the summed RSS of ``pid`` and its descendants (forkserver workers too); kill all above ``limit_mb``."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.wait(0.2):
        try:
            procs = [root, *root.children(recursive=True)]
            total = 0
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            return
        out["tree_mb"] = max(out.get("tree_mb", 0.0), total / 2**20)
        if total / 2**20 > limit_mb:
            out["killed_at_mb"] = total / 2**20
            for proc in reversed(procs):
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
            return


def measure(args: list[str], env: dict, limit_mb: float = float("inf")) -> dict:
    """Wall and CPU seconds and peak RSS (MB) of one command in a fresh process, with its stderr.

    ``rss_mb`` is the largest single process (the kernel's ru_maxrss over the command and its reaped
    children); ``tree_mb`` the largest sum over all of its processes at once, sampled every 0.2 s. Above
    ``limit_mb`` (summed) the command is killed and ``killed_at_mb`` says so: a 10⁶-row wave must not
    take the machine down.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    stop, tree = threading.Event(), {}
    watcher = threading.Thread(target=_watch_tree, args=(proc.pid, limit_mb, stop, tree), daemon=True)
    watcher.start()
    stderr = proc.stderr.read().decode(errors="replace")  # read while it runs: a full pipe would block it
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    watcher.join()
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1) and "killed_at_mb" not in tree:
        raise RuntimeError(f"{' '.join(args)} exited {code}:\n{stderr[-3000:]}")
    return {
        "wall": elapsed,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "tree_mb": tree.get("tree_mb", usage.ru_maxrss / 1024),
        **({"killed_at_mb": tree["killed_at_mb"]} if "killed_at_mb" in tree else {}),
        "stderr": stderr,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api(url: str, path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        f"{url}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def task_seconds(api_url: str, stderr: str) -> dict[str, float]:
    """Seconds per task of the flow run whose log is ``stderr``, from the server (tasks of one name summed)."""
    found = re.search(r"/runs/flow-run/([0-9a-f-]{36})", stderr)
    if not found:
        return {}
    seconds: dict[str, float] = {}
    for t in _api(api_url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [found.group(1)]}}}):
        name = t["name"].rsplit("-", 1)[0]
        seconds[name] = seconds.get(name, 0.0) + float(t["total_run_time"] or 0.0)
    return dict(sorted(seconds.items(), key=lambda kv: -kv[1]))


def run_args(files: list[Path], work: Path, label: str) -> list[str]:
    return [*CLI, "run", "--json", "--wave", "bench", "--out", str(work / f"reports-{label}"), *map(str, files)]


def prefect_overhead(env: dict, api_url: str, work: Path, overlap_file: Path) -> dict:
    """Seconds of Prefect per process each way (trivial flow), and what overlap with parsing saves."""
    trivial = [PY, str(HERE / "prefect_startup.py")]
    temp_env = {**env, "PREFECT_HOME": str(work / "prefect-home")}
    result = {
        "temporary_new_home_s": measure(trivial, temp_env)["wall"],
        "temporary_s": statistics.median(measure(trivial, temp_env)["wall"] for _ in range(2)),
        "running_s": statistics.median(measure(trivial, {**env, "PREFECT_API_URL": api_url})["wall"] for _ in range(3)),
        "sequential_parse_s": measure([*trivial, "--sequential", str(overlap_file)], temp_env)["wall"],
        "overlap_parse_s": measure([*trivial, "--overlap", str(overlap_file)], temp_env)["wall"],
        "parse_only_s": measure([PY, str(HERE / "readers.py"), "jianfu", str(overlap_file)], env)["wall"],
    }
    return result


def compare_readers(env: dict, n: int) -> list[dict]:
    rows = []
    for layout, fmt in (("问卷星 export", "wjx-text"), ("template", "template")):
        path = export(n, fmt)
        for mode in ("calamine", "fastexcel", "fastexcel-rows", "jianfu"):
            m = measure([PY, str(HERE / "readers.py"), mode, str(path)], env)
            rows.append({"layout": layout, "n": n, "mode": mode, **{k: m[k] for k in ("wall", "cpu", "rss_mb")}})
    return rows


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(env: dict, work: Path) -> tuple[dict, str, int]:
    server_env = {**env, "JIANFU_DATA_DIR": str(work / "server")}
    done = subprocess.run(
        [*CLI, "server", "start", "--port", str(_free_port()), "--json"],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"jianfu server start failed:\n{done.stderr[-3000:]}")
    started = json.loads(done.stdout)
    return server_env, started["url"], started["pid"]


def size_row(
    n: int, files: list[Path], env: dict, server: tuple[str, int], overhead: float, work: Path, temp: bool = False
) -> dict:
    """One row of the table: the floors, baseline and validate on the first file (only when it is the
    only one), ``jianfu run`` on all of them."""
    api_url, server_pid = server
    row: dict = {"n": n, "files": len(files), "mb": sum(f.stat().st_size for f in files) / 2**20}
    if len(files) == 1:
        path = str(files[0])
        floor = measure([PY, str(HERE / "readers.py"), "calamine", path], env)
        fast = measure([PY, str(HERE / "readers.py"), "fastexcel", path], env)
        baseline = measure([PY, str(HERE / "baseline.py"), path], env)
        row |= {
            "floor_s": floor["wall"],
            "floor_cpu": floor["cpu"],
            "fastexcel_s": fast["wall"],
            "fastexcel_cpu": fast["cpu"],
            "baseline_s": baseline["wall"],
            "baseline_rss": baseline["rss_mb"],
            "validate_s": measure([*CLI, "validate", "--json", path], env)["wall"],
        }
    run_env = {**env, "JIANFU_DATA_DIR": str(work / f"data{n}"), "PREFECT_API_URL": api_url}
    server_cpu = process_cpu(server_pid)
    # A wave of several files may outgrow the machine: stop it at 4× its memory target, and say so.
    run = measure(
        run_args(files, work, str(n)), run_env, limit_mb=4 * TARGETS["rss_mb_big"] if len(files) > 1 else float("inf")
    )
    row |= {
        "run_s": run["wall"],
        "run_cpu": run["cpu"],
        "server_cpu": process_cpu(server_pid) - server_cpu,  # what the server spent answering this run
        "run_rss": run["rss_mb"],
        "run_tree_mb": run["tree_mb"],
        **({"killed_at_mb": run["killed_at_mb"]} if "killed_at_mb" in run else {}),
        "run_ex_prefect_s": max(run["wall"] - overhead, 1e-9),
        "tasks": task_seconds(api_url, run["stderr"]),
    }
    if temp:  # the same run as a user without a server pays it: Prefect's temporary server
        temp_env = {**env, "JIANFU_DATA_DIR": str(work / f"data{n}-temp"), "PREFECT_HOME": str(work / "prefect-home")}
        temp_run = measure(run_args(files, work, f"{n}-temp"), temp_env)
        row |= {"run_temporary_s": temp_run["wall"], "run_temporary_cpu": temp_run["cpu"]}
    timings = ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k.endswith("_s") and isinstance(v, float))
    print(f"{n:>9} rows in {len(files)} file(s): {timings}", file=sys.stderr)
    return row


def main(sizes: list[int], big: int | None = None) -> dict:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "JIANFU_NO_PROGRESS": "1"}
    env.pop("PREFECT_API_URL", None)
    work = Path(tempfile.mkdtemp(prefix="jianfu-bench-"))
    load_start = os.getloadavg()
    result: dict = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine(), "targets": TARGETS}
    server_env, api_url, server_pid = start_server(env, work)
    server = (api_url, server_pid)
    try:
        if big:
            per = big // 10
            files = [export(per, seed=2026 + i, name=f"wjx_part{i}") for i in range(10)]
            overhead = statistics.median(
                measure([PY, str(HERE / "prefect_startup.py")], {**env, "PREFECT_API_URL": api_url})["wall"]
                for _ in range(3)
            )
            result["prefect"] = {"running_s": overhead}
            result["big"] = big
            result["rows"] = [size_row(per, files[:1], env, server, overhead, work)]
            result["rows"].append(size_row(big, files, env, server, overhead, work))
        else:
            overlap_n = 20_000 if 20_000 in sizes else sizes[0]
            result["prefect"] = prefect_overhead(env, api_url, work, export(overlap_n))
            result["readers"] = compare_readers(env, overlap_n)
            overhead = result["prefect"]["running_s"]
            result["rows"] = [size_row(n, [export(n)], env, server, overhead, work, temp=n == overlap_n) for n in sizes]
    finally:
        subprocess.run([*CLI, "server", "stop"], env=server_env, capture_output=True, timeout=120)
        shutil.rmtree(work, ignore_errors=True)
    result["load"] = {"start": load_start, "end": os.getloadavg()}
    return result


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def _tree(row: dict) -> float:
    """Peak memory of a run's processes together (older results have only the largest process)."""
    return row.get("run_tree_mb", row["run_rss"])


def _ok(good: bool) -> str:
    return "✓" if good else "✗ missed"


def table(result: dict) -> str:
    """The markdown tables and the verdict on each target."""
    load = result.get("load", {})
    loads = " → ".join(f"{a[0]:.1f}" for a in (load.get("start"), load.get("end")) if a)
    lines = [
        f"Benchmark {result['when']} on {result['machine']}; 1-min load average at start → end: {loads} "
        "(2 cores shared with other work: wall times stretch with the load, CPU times much less).",
        "",
        "| rows | file MB | parse floor calamine s | fastexcel s | baseline s | validate s | run s | run − Prefect s "
        "| (run − Prefect) / floor | baseline / run | peak RSS MB, largest process | peak MB, all processes "
        "| run CPU s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        if "floor_s" in r:
            lines.append(
                f"| {r['n']:,} | {r['mb']:.1f} | {r['floor_s']:.2f} | {r['fastexcel_s']:.2f} | {r['baseline_s']:.2f} "
                f"| {r['validate_s']:.2f} | {r['run_s']:.2f} | {r['run_ex_prefect_s']:.2f} "
                f"| {r['run_ex_prefect_s'] / r['floor_s']:.1f} | {r['baseline_s'] / r['run_s']:.1f} "
                f"| {r['run_rss']:.0f} | {r.get('run_tree_mb', r['run_rss']):.0f} | {r['run_cpu']:.1f} |"
            )
        else:
            lines.append(
                f"| {r['n']:,} in {r['files']} files | {r['mb']:.1f} | | | | | {r['run_s']:.2f} "
                f"| {r['run_ex_prefect_s']:.2f} | | | {r['run_rss']:.0f} | {r.get('run_tree_mb', r['run_rss']):.0f} "
                f"| {r['run_cpu']:.1f} |"
            )
    p = result["prefect"]
    by_n = {r["n"]: r for r in result["rows"] if r["files"] == 1}
    targets = result["targets"]
    lines += ["", "Prefect's fixed overhead per process (import, server, one trivial flow with one task):", ""]
    if "temporary_s" in p:
        hidden = p["sequential_parse_s"] - p["overlap_parse_s"]
        lines += [
            "| how | s |",
            "|---|---:|",
            f"| temporary server, new PREFECT_HOME (creates its database) | {p['temporary_new_home_s']:.1f} |",
            f"| temporary server, PREFECT_HOME used before | {p['temporary_s']:.1f} |",
            f"| running server (`jianfu server start`), median of 3 | {p['running_s']:.1f} |",
            f"| temporary server after importing the engine and parsing the file | {p['sequential_parse_s']:.1f} |",
            f"| the same with the server started in a thread meanwhile (overlap) | {p['overlap_parse_s']:.1f} |",
            f"| of which the engine's import and the parse alone | {p['parse_only_s']:.1f} |",
            "",
            f"Overlap saves {hidden:.1f} s; a running server saves {p['temporary_s'] - p['running_s']:.1f} s.",
        ]
    limit = targets["prefect_overhead_s"]
    verdicts = [
        f"- Prefect's fixed overhead with a running server: {p['running_s']:.1f} s (target ≤ {limit:g}) "
        f"{_ok(p['running_s'] <= limit)}"
    ]
    if 20_000 in by_n:
        r = by_n[20_000]
        ratio = r["run_ex_prefect_s"] / r["floor_s"]
        verdicts.append(
            f"- 20k: (run − Prefect) / calamine floor = {ratio:.1f} (target ≤ {targets['run_vs_floor_20k']:g}) "
            f"{_ok(ratio <= targets['run_vs_floor_20k'])}; by CPU time {r['run_cpu'] / r['floor_cpu']:.1f}"
        )
        if "run_temporary_s" in r:
            verdicts.append(
                f"- 20k end to end: {r['run_s']:.1f} s against the running server, "
                f"{r['run_temporary_s']:.1f} s with the temporary server"
                + (
                    f" (CPU: {r['run_cpu']:.1f} s + the server's {r['server_cpu']:.1f} s, against "
                    f"{r['run_temporary_cpu']:.1f} s with the temporary server's)"
                    if "run_temporary_cpu" in r
                    else ""
                )
            )
    if 1_000 in by_n:
        s = by_n[1_000]["run_ex_prefect_s"]
        verdicts.append(
            f"- 1k: run − Prefect = {s:.1f} s (target ≤ {targets['run_ex_prefect_1k_s']:g} s) "
            f"{_ok(s <= targets['run_ex_prefect_1k_s'])}"
        )
    if 100_000 in by_n:
        r = by_n[100_000]
        speedup = r["baseline_s"] / r["run_s"]
        verdicts += [
            f"- 100k: baseline / run = {speedup:.1f} (target ≥ {targets['baseline_vs_run_100k']:g}) "
            f"{_ok(speedup >= targets['baseline_vs_run_100k'])}; peak memory of all its processes together "
            f"{_tree(r):.0f} MB (target ≤ {targets['rss_mb_100k']:.0f}) {_ok(_tree(r) <= targets['rss_mb_100k'])}, "
            f"largest single process {r['run_rss']:.0f} MB"
        ]
    if result.get("big"):  # the wave against one tenth of it
        tenth, wave = result["rows"]
        growth = wave["run_s"] / tenth["run_s"]
        if "killed_at_mb" in wave:
            verdicts.append(
                f"- {wave['n']:,} respondents in {wave['files']} files: stopped after {wave['run_s']:.0f} s when its "
                f"processes held {wave['killed_at_mb']:.0f} MB together (the bench's limit, 4× the target of "
                f"{targets['rss_mb_big']:.0f} MB) ✗ missed"
            )
        else:
            verdicts.append(
                f"- {wave['n']:,} respondents in {wave['files']} files: {wave['run_s']:.0f} s, "
                f"×{growth:.1f} the time of one file of {tenth['n']:,} (target ≤ ×{targets['big_vs_tenth']:g}) "
                f"{_ok(growth <= targets['big_vs_tenth'])}; "
                f"peak memory of all its processes {_tree(wave):.0f} MB (target ≤ {targets['rss_mb_big']:.0f}) "
                f"{_ok(_tree(wave) <= targets['rss_mb_big'])}, largest single process {wave['run_rss']:.0f} MB"
            )
    lines += ["", "Targets:", "", *verdicts]
    if result.get("readers"):
        lines += [
            "",
            "Readers on the same file (wall s / CPU s / peak RSS MB):",
            "",
            "| layout | rows | calamine → Python | fastexcel → Arrow | fastexcel → Python rows | jianfu read_sheet |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for layout in dict.fromkeys(r["layout"] for r in result["readers"]):
            cells = {r["mode"]: r for r in result["readers"] if r["layout"] == layout}
            n = next(iter(cells.values()))["n"]
            lines.append(
                f"| {layout} | {n:,} | "
                + " | ".join(
                    f"{c['wall']:.2f} / {c['cpu']:.2f} / {c['rss_mb']:.0f}"
                    for c in (cells[m] for m in ("calamine", "fastexcel", "fastexcel-rows", "jianfu"))
                )
                + " |"
            )
    timed = [r for r in result["rows"] if r.get("tasks")]
    if timed:
        r = next((r for r in timed if r["n"] == 20_000), timed[0])
        total = sum(r["tasks"].values())
        lines += [
            "",
            f"Where the {r['n']:,}-row run's time goes (Prefect task durations; {total:.1f} s of {r['run_s']:.1f} s "
            "wall in tasks):",
            "",
            "| task | s | share of run |",
            "|---|---:|---:|",
            *(f"| {k} | {v:.2f} | {v / r['run_s']:.0%} |" for k, v in r["tasks"].items() if v >= 0.05),
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"]:  # re-print a saved result: python benchmarks/run.py --table FILE.json
        print(table(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))))
        raise SystemExit(0)
    big = None
    if sys.argv[1:2] == ["--big"]:
        big = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
        sizes = []
    else:
        sizes = [int(a) for a in sys.argv[1:]] or [1_000, 20_000, 100_000]
    result = main(sizes, big)
    RESULTS.mkdir(exist_ok=True)
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    (RESULTS / f"bench_{'big_' if big else ''}{stamp}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    text = table(result)
    (RESULTS / ("latest-big.md" if big else "latest.md")).write_text(text + "\n", encoding="utf-8")
    print(text)
