"""Deployments of the flows with the schedules in ``flows/schedules.yaml`` (``jianfu serve``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jianfu import paths

#: The editable schedules of a checkout (``flows/schedules.yaml``), else the copy shipped in the package.
SCHEDULES = (
    paths.PROJ_ROOT / "flows" / "schedules.yaml"
    if (paths.PROJ_ROOT / "flows" / "schedules.yaml").is_file()
    else Path(__file__).with_name("schedules.yaml")
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaveRule(_Section):
    """The wave a run belongs to: a strftime pattern plus ``{quarter}`` and ``{half}``."""

    rule: str = "%Y-%m"


class InboxSchedule(_Section):
    """How often the inbox is checked, and how long a file must be unchanged before it is taken."""

    interval_minutes: float = Field(10, gt=0)
    settle_seconds: float = Field(30, ge=0)


class ReanalysisSchedule(_Section):
    """When the current wave's report is rebuilt (five-field cron, in the schedules' time zone)."""

    cron: str = "0 7 * * 1"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError("cron needs five fields: minute hour day-of-month month day-of-week")
        return v


class Schedules(_Section):
    """The contents of ``flows/schedules.yaml``: time zone, instrument, wave rule and the two schedules."""

    timezone: str = "Asia/Shanghai"
    instrument: str = str(paths.DEFAULT_INSTRUMENT.relative_to(paths.PROJ_ROOT))
    wave: WaveRule = WaveRule()
    inbox: InboxSchedule = InboxSchedule()
    reanalysis: ReanalysisSchedule = ReanalysisSchedule()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        ZoneInfo(v)  # raises for an unknown zone
        return v


def load_schedules(path: str | Path = SCHEDULES) -> Schedules:
    """Read and validate a schedules file (an empty file means every default)."""
    return Schedules.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


def _specs(schedules: Schedules, data_dir: str | None, out: str | None) -> list[tuple[str, str, dict]]:
    """(entrypoint, deployment name, keyword arguments) of each scheduled deployment."""
    from prefect.schedules import Cron, Interval

    instrument = str((paths.PROJ_ROOT / schedules.instrument).resolve())
    common = {"instrument": instrument, "data_dir": data_dir, "out": out}
    return [
        (
            "flows/inbox.py:inbox",
            "inbox-poll",
            dict(
                schedule=Interval(timedelta(minutes=schedules.inbox.interval_minutes), timezone=schedules.timezone),
                parameters=common
                | {
                    "wave_rule": schedules.wave.rule,
                    "timezone": schedules.timezone,
                    "settle_seconds": schedules.inbox.settle_seconds,
                },
                description="Pick up new uploads from data/inbox/<office>/ and refresh the wave report.",
            ),
        ),
        (
            "flows/reanalysis.py:reanalysis",
            "weekly-reanalysis",
            dict(
                schedule=Cron(schedules.reanalysis.cron, timezone=schedules.timezone),
                parameters=common,
                description="Rebuild the latest wave's report from the store.",
            ),
        ),
    ]


def deployments(schedules: Schedules, data_dir: str | None = None, out: str | None = None) -> list:
    """The ``inbox`` (interval) and ``reanalysis`` (cron) deployments, ready for ``prefect.serve``."""
    from .inbox import inbox
    from .reanalysis import reanalysis

    flows = {"flows/inbox.py:inbox": inbox, "flows/reanalysis.py:reanalysis": reanalysis}
    return [flows[entry].to_deployment(name=name, **kw) for entry, name, kw in _specs(schedules, data_dir, out)]


def deploy_to_pool(schedules: Schedules, pool: str, data_dir: str | None = None, out: str | None = None) -> list:
    """Register the same deployments with a work pool, for workers on other machines.

    The flow code is loaded from this checkout's path, so each worker machine needs the
    project at the same path (a shared mount or the same clone) with its ``.venv``;
    ``data_dir`` and ``out`` should then point at shared storage.
    """
    from prefect import flow

    ids = []
    for entry, name, kw in _specs(schedules, data_dir, out):
        remote = flow.from_source(source=str(paths.PROJ_ROOT), entrypoint=entry)
        ids.append(remote.deploy(name=name, work_pool_name=pool, build=False, push=False, print_next_steps=False, **kw))
    return ids
