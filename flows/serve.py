"""Deployments of the flows with the schedules in ``flows/schedules.yaml`` (``jianfu serve``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jianfu import paths

SCHEDULES = Path(__file__).with_name("schedules.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaveRule(_Section):
    rule: str = "%Y-%m"


class InboxSchedule(_Section):
    interval_minutes: float = Field(10, gt=0)
    settle_seconds: float = Field(30, ge=0)


class ReanalysisSchedule(_Section):
    cron: str = "0 7 * * 1"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError("cron needs five fields: minute hour day-of-month month day-of-week")
        return v


class Schedules(_Section):
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
    return Schedules.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


def deployments(schedules: Schedules, data_dir: str | None = None, out: str | None = None) -> list:
    """The ``inbox`` (interval) and ``reanalysis`` (cron) deployments, ready for ``prefect.serve``."""
    from prefect.schedules import Cron, Interval

    from .inbox import inbox
    from .reanalysis import reanalysis

    instrument = str((paths.PROJ_ROOT / schedules.instrument).resolve())
    common = {"instrument": instrument, "data_dir": data_dir, "out": out}
    return [
        inbox.to_deployment(
            name="inbox-poll",
            schedule=Interval(timedelta(minutes=schedules.inbox.interval_minutes), timezone=schedules.timezone),
            parameters=common | {"wave_rule": schedules.wave.rule, "timezone": schedules.timezone,
                                 "settle_seconds": schedules.inbox.settle_seconds},
            description="Pick up new uploads from data/inbox/<office>/ and refresh the wave report."),
        reanalysis.to_deployment(
            name="weekly-reanalysis",
            schedule=Cron(schedules.reanalysis.cron, timezone=schedules.timezone),
            parameters=common,
            description="Rebuild the latest wave's report from the store."),
    ]
