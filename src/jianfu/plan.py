"""The analysis plan: models declared in YAML next to the instrument, not in code.

Examples
--------
``instruments/cadre_burden.analysis.yaml``::

    models:
      - id: empowerment_burden
        type: ols
        outcome: burden
        blocks:
          - {name: controls, terms: [level, leader]}
          - {name: empowerment, terms: [incentive_power, coordination_power]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .instrument import Instrument, Text

__all__ = ["Block", "ModelSpec", "Plan", "load_plan", "PlanError"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Block(_Model):
    name: str
    terms: list[str]


class ModelSpec(_Model):
    id: str
    type: Literal["ols"] = "ols"
    label: Text | None = None
    hypothesis: str | None = None
    outcome: str
    blocks: list[Block]
    cluster: str | None = "unit"
    min_clusters: int = Field(20, ge=2)

    @property
    def terms(self) -> list[str]:
        return [t for b in self.blocks for t in b.terms]


class Plan(_Model):
    instrument: str
    models: list[ModelSpec]


class PlanError(ValueError):
    def __init__(self, path: str | Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"分析计划有 {len(problems)} 处问题 / analysis plan has {len(problems)} problem(s): "
                         f"{path}\n" + "\n".join(f"  - {p}" for p in problems))


def load_plan(path: str | Path, inst: Instrument) -> Plan:
    """Load and check a plan against the instrument: every variable must be a scale or demographic."""
    path = Path(path)
    try:
        plan = Plan.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise PlanError(path, [f"cannot read the file: {exc.strerror}"]) from None
    except ValidationError as exc:
        raise PlanError(path, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]) from None
    known = {s.id for s in inst.scales} | {d.id for d in inst.demographics}
    problems = []
    if plan.instrument != inst.id:
        problems.append(f"instrument: plan is for {plan.instrument!r}, not {inst.id!r}")
    for k, m in enumerate(plan.models):
        for var in [m.outcome, *[p for t in m.terms for p in t.split(":")]]:
            if var not in known:
                problems.append(f"models[{k}] ({m.id}): unknown variable {var!r}")
    if problems:
        raise PlanError(path, problems)
    return plan
