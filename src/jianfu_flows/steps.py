"""How the flows execute the engine's steps, plus the artifacts a run publishes.

Each :class:`jianfu.workflow.Step` becomes a Prefect task wrapping the engine function itself
(retried when the step does I/O). The order of the steps is the engine's (:mod:`jianfu.workflow`),
never repeated here.

Results are never persisted: the frames passing between steps hold respondents' answers, and
Prefect's result storage is readable outside jianfu's private data folder.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from jianfu import parallel
from jianfu.instrument import FLAG_NAMES, Instrument
from jianfu.report.text import findings
from jianfu.summary import RunSummary
from jianfu.workflow import Step

#: Files parsed at once in one run: bounded (Prefect's default pool is not) and modest, since
#: parsing is memory-heavy and these machines have 2 cores. ``JIANFU_WORKERS`` overrides it.
MAX_WORKERS = int(os.environ.get("JIANFU_WORKERS", min(4, (os.cpu_count() or 2) * 2)))

#: Bytes of uploads parsed at once. A 100k-row export (57 MB) needs ≈ 0.8 GB while it is parsed,
#: and threads keep what they freed: four at once took a 10-file wave past 10 GB. Large files are
#: therefore parsed one after another, small ones side by side. ``JIANFU_PARSE_MB`` overrides it.
PARSE_BUDGET = int(float(os.environ.get("JIANFU_PARSE_MB", 32)) * 2**20)


def as_task(step: Step) -> Task:
    """The Prefect task of an engine step (no caching, no persisted results; retries for I/O)."""
    return task(
        step.fn,
        name=step.name,
        retries=2 if step.io else 0,
        retry_delay_seconds=1,
        cache_policy=NO_CACHE,
        persist_result=False,
    )


def _quoted(args: tuple, kwargs: dict) -> tuple[list, dict]:
    # Steps never receive Prefect futures: quote() spares Prefect walking every argument (an
    # instrument's hundreds of pydantic items, a summary's tables) looking for some, which cost
    # 3-7 CPU s per 20k-row run. Prefect removes the annotation before calling the function.
    return [quote(a) for a in args], {k: quote(v) for k, v in kwargs.items()}


def _file_size(item: Any) -> int:
    """The size of ``item`` if it names a file, else 0."""
    if not isinstance(item, str | os.PathLike):
        return 0
    try:
        return os.stat(item).st_size
    except OSError:
        return 0


def _collect(pending: parallel.Pending) -> Any:
    return pending.result()


class _Collected:
    """A step started in a worker process; ``result()`` records it as its Prefect task."""

    def __init__(self, task_: Task, pending: parallel.Pending) -> None:
        self._task, self._pending = task_, pending

    def result(self) -> Any:
        return self._task(quote(self._pending))


class PrefectSteps:
    """An executor for :mod:`jianfu.workflow` that runs each step as a Prefect task."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def _task(self, step: Step) -> Task:
        if step.name not in self._tasks:
            self._tasks[step.name] = as_task(step)
        return self._tasks[step.name]

    def run(self, step: Step, /, *args: Any, **kwargs: Any) -> Any:
        """Run the step as its Prefect task and wait for the result."""
        args, kwargs = _quoted(args, kwargs)
        return self._task(step)(*args, **kwargs)

    def map(self, step: Step, items: Iterable[Any], /, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Run the step on each item as concurrent tasks, yield the results in order.

        At most :data:`MAX_WORKERS` run at once, and items that are files only while their sizes
        together stay within :data:`PARSE_BUDGET` (one at a time may exceed it).
        """
        pending: deque[tuple[Any, int]] = deque()
        load = 0
        for item in items:
            size = _file_size(item)
            while pending and (len(pending) >= MAX_WORKERS or load + size > PARSE_BUDGET):
                future, done = pending.popleft()
                load -= done
                yield future.result()
            # Not quoted: a task runner that ships the call elsewhere (Dask) would pass the annotation on.
            pending.append((self._task(step).submit(item, *args, **kwargs), size))
            load += size
        while pending:
            yield pending.popleft()[0].result()

    def submit(self, step: Step, /, *args: Any, **kwargs: Any) -> _Collected:
        """Start the step in a worker process now (:func:`jianfu.parallel.offload`).

        Its Prefect task, run when the result is asked for, waits for the worker (or computes the
        step itself when no worker has begun it) and records the step in the flow run.
        """
        collector = task(_collect, name=step.name, retries=0, cache_policy=NO_CACHE, persist_result=False)
        return _Collected(collector, parallel.offload(step.fn, *args, **kwargs))


def log_files(summary: RunSummary) -> None:
    """One log line per file: its outcome, never its content."""
    for f in summary.files:
        copy = f" (copy of {f.copy_of})" if f.copy_of else ""
        print(
            f"{Path(f.path).name}{copy}: {f.format}, {f.status}, {f.rows} rows, "
            f"{len(f.errors)} error(s), {len(f.warnings)} warning(s)"
        )


@task(name="publish", cache_policy=NO_CACHE, persist_result=False)
def publish(summary: RunSummary, inst: Instrument) -> None:
    """Artifacts of the run: a markdown summary, the quality flags per file, a link to the report."""
    rows = summary.rows
    lines = [
        f"# {inst.title.zh} · {summary.wave}",
        "",
        f"- 读取 read: **{rows.read}**, 有效 accepted: **{rows.accepted}**, 隔离 quarantined: **{rows.quarantined}**",
        f"- 文件 files: {len(summary.files)} ({sum(f.status == 'rejected' for f in summary.files)} rejected)",
        f"- 报告 report: `{summary.report}`",
        "",
        "## 主要发现 Key findings",
        "",
    ]
    lines += [f"{k}. {line}" for k, line in enumerate(findings(summary, inst), start=1)] if summary.models else []
    create_markdown_artifact("\n".join(lines), key="jianfu-summary", description="jianfu run summary")
    table = [
        {
            "file": Path(f.path).name,
            "office": f.office or "",
            "status": f.status,
            "rows": f.rows,
            "accepted": f.accepted,
            "quarantined": f.quarantined,
            **{k: f.flags.get(k, 0) for k in FLAG_NAMES},
            "errors": len(f.errors),
        }
        for f in summary.files
    ]
    create_table_artifact(table, key="jianfu-quality", description="quality flags per file")
    if summary.report:
        create_link_artifact(
            Path(summary.report).resolve().as_uri(),
            link_text=Path(summary.report).name,
            key="jianfu-report",
            description="the Excel report",
        )
