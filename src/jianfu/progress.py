"""Progress of a run, reported to whoever listens: the CLI draws a rich progress bar.

The flows announce their stages with :func:`stage`; nothing is shown unless a reporter is
installed with :func:`reporting` (the CLI does so when stderr is a terminal), so the engine
and the flows stay silent in tests, schedules and workers.

Examples
--------
>>> events = []
>>> class Collect:
...     def start(self, name, total): events.append(("start", name, total))
...     def advance(self, name, n): events.append(("advance", name, n))
...     def finish(self, name): events.append(("finish", name))
>>> with reporting(Collect()):
...     with stage("ingest", total=2) as advance:
...         advance(); advance()
>>> [e[0] for e in events]
['start', 'advance', 'advance', 'finish']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Reporter", "stage", "reporting", "STAGE_LABELS"]

STAGE_LABELS = {
    "ingest": "读取与校验 ingest",
    "clean": "清洗 clean",
    "store": "入库 store",
    "model": "计分与建模 model",
    "report": "生成报告 report",
    "scan": "扫描收件箱 inbox",
    "load": "读取本轮数据 load",
}


class Reporter(Protocol):
    """Whoever listens to the stages of a run (the CLI's progress bar)."""

    def start(self, name: str, total: int | None) -> None:
        """Stage ``name`` begins, with ``total`` units of work if known."""

    def advance(self, name: str, n: int) -> None:
        """Stage ``name`` has done ``n`` more units."""

    def finish(self, name: str) -> None:
        """Stage ``name`` is over (also when it failed)."""


# A module global rather than a context variable: flows may run their body in another thread.
_reporter: Reporter | None = None


@contextmanager
def reporting(reporter: Reporter) -> Iterator[Reporter]:
    """Install ``reporter`` for the duration of the block."""
    global _reporter
    previous, _reporter = _reporter, reporter
    try:
        yield reporter
    finally:
        _reporter = previous


@contextmanager
def stage(name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Announce a stage; the yielded function advances it by ``n`` units (files, say)."""
    reporter = _reporter
    if reporter is not None:
        reporter.start(name, total)

    def advance(n: int = 1) -> None:
        if reporter is not None:
            reporter.advance(name, n)

    try:
        yield advance
    finally:
        if reporter is not None:
            reporter.finish(name)
