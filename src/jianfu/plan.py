"""The analysis plan: models declared in YAML next to the instrument, not in code.

Two kinds of model:

* ``type: ols`` (the default) — hierarchical OLS in blocks; an ``a:b`` term is the product of
  mean-centred ``a`` and ``b`` and is probed (simple slopes, Johnson–Neyman) with ``a`` as the
  focal predictor and ``b`` as the moderator; ``multilevel: true`` adds a random-intercept
  model by ``cluster``.
* ``type: mediation`` — ``x`` → ``mediators`` → ``outcome`` with ``covariates``, bootstrapped.

``group_comparisons`` names the demographics whose groups are compared on every scale score.

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
        multilevel: true
      - id: blame_mediation
        type: mediation
        x: accountability_pressure
        mediators: [blame_avoidance]
        outcome: burden
        covariates: [level, leader]
    group_comparisons: [level, leader]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from .instrument import Instrument, Text

__all__ = ["Block", "ModelSpec", "MediationSpec", "Plan", "load_plan", "PlanError"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Block(_Model):
    name: str
    terms: list[str]


class ModelSpec(_Model):
    """A hierarchical OLS model."""

    id: str
    type: Literal["ols"] = "ols"
    label: Text | None = None
    hypothesis: str | None = None
    outcome: str
    blocks: list[Block]
    cluster: str | None = "unit"
    min_clusters: int = Field(20, ge=2)
    multilevel: bool = False

    @property
    def terms(self) -> list[str]:
        return [t for b in self.blocks for t in b.terms]

    @property
    def variables(self) -> list[str]:
        return [self.outcome, *[p for t in self.terms for p in t.split(":")]]


class MediationSpec(_Model):
    """``x`` → ``mediators`` → ``outcome``, with a percentile bootstrap of the indirect effects."""

    id: str
    type: Literal["mediation"]
    label: Text | None = None
    hypothesis: str | None = None
    x: str
    mediators: list[str] = Field(min_length=1)
    outcome: str
    covariates: list[str] = []
    n_boot: int = Field(5000, ge=200)
    seed: int = 20240601
    level: float = Field(0.95, gt=0.5, lt=1)

    @property
    def variables(self) -> list[str]:
        return [self.x, *self.mediators, self.outcome, *self.covariates]


def _kind(value) -> str:
    return value.get("type", "ols") if isinstance(value, dict) else getattr(value, "type", "ols")


AnyModel = Annotated[Union[Annotated[ModelSpec, Tag("ols")], Annotated[MediationSpec, Tag("mediation")]],
                     Discriminator(_kind)]


class Plan(_Model):
    instrument: str
    models: list[AnyModel]
    group_comparisons: list[str] = ["level", "leader"]


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
        for var in m.variables:
            if var not in known:
                problems.append(f"models[{k}] ({m.id}): unknown variable {var!r}")
        if isinstance(m, ModelSpec):
            for t in (t for t in m.terms if ":" in t):
                if t.count(":") > 1:
                    problems.append(f"models[{k}] ({m.id}): only two-way interactions are supported, not {t!r}")
                missing = [p for p in t.split(":") if p not in m.terms]
                if missing:
                    problems.append(f"models[{k}] ({m.id}): {t!r} needs its main effects {missing} in an "
                                    "earlier or the same block")
    ids = [m.id for m in plan.models]
    problems += [f"models: id {i!r} is used more than once" for i in sorted({i for i in ids if ids.count(i) > 1})]
    demographics = {d.id for d in inst.demographics}
    problems += [f"group_comparisons: {g!r} is not a demographic" for g in plan.group_comparisons
                 if g not in demographics]
    if problems:
        raise PlanError(path, problems)
    return plan
