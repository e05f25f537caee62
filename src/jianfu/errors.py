"""The errors jianfu raises, one hierarchy: catch :class:`JianfuError` to catch them all.

Problems with an *upload* are not raised: they are collected as
:class:`jianfu.problems.Problem` lists, so a clerk sees everything wrong with a file at once.
Errors here are for what stops a run: a broken instrument or plan (with its file and YAML
line), a store another process holds too long, an archive copy that does not verify. Every
message is bilingual, Chinese first.

Examples
--------
>>> issubclass(InstrumentError, JianfuError) and issubclass(StoreBusy, StoreError)
True
"""

from __future__ import annotations

__all__ = [
    "JianfuError",
    "ConfigError",
    "InstrumentError",
    "PlanError",
    "UploadError",
    "StoreError",
    "StoreBusy",
    "ArchiveError",
]


class JianfuError(Exception):
    """Base of every error jianfu raises on purpose."""


class ConfigError(JianfuError, ValueError):
    """A configuration file (instrument, analysis plan, schedules) is invalid."""


class InstrumentError(ConfigError):
    """An instrument YAML has problems; ``problems`` lists every one with its YAML path and line."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"问卷定义文件有 {len(problems)} 处问题 / instrument file has {len(problems)} "
            f"problem(s): {self.path}\n{lines}"
        )


class PlanError(ConfigError):
    """An analysis plan has problems; ``problems`` lists every one with its file and line."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(
            f"分析计划有 {len(problems)} 处问题 / analysis plan has {len(problems)} problem(s): "
            f"{path}\n" + "\n".join(f"  - {p}" for p in problems)
        )


class UploadError(JianfuError):
    """An upload cannot be taken in at all (raised where a caller asked for an exception, not a problem list)."""


class StoreError(JianfuError):
    """The store or the archive cannot do what was asked."""


class StoreBusy(StoreError):
    """Another process held the store for longer than the lock timeout."""


class ArchiveError(StoreError):
    """The archived copy of a received file is missing or differs from what was received."""
