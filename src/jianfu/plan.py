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

import hashlib
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, ValidationError

from jianfu.errors import PlanError
from jianfu.instrument import Instrument, Text, _fmt

__all__ = [
    "Block",
    "Finding",
    "ReportSpec",
    "ModelSpec",
    "MediationSpec",
    "ModeratedMediationSpec",
    "Plan",
    "load_plan",
    "PlanError",
]


class _Model(BaseModel):
    # Unknown keys are refused: a misspelt key would otherwise be ignored without a word.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Block(_Model):
    """A named block of terms entered together in a hierarchical model (ΔR² per block)."""

    name: str
    terms: list[str]


class Finding(_Model):
    """One sentence of the report's key findings, written from a model's result.

    ``term`` names a coefficient of an OLS model (a scale id, a dummy's variable, ``a:b``);
    ``indirect`` a mediator of a mediation model (``total`` for the sum). ``expect`` is the
    pre-declared direction; the sentence then says whether the estimate is consistent with it.
    ``text`` holds zh and en templates with the placeholders ``{b} {beta} {ci_low} {ci_high} {p}
    {n} {verdict}`` (``{effect}`` for indirect effects).
    """

    term: str | None = None
    indirect: str | None = None
    expect: Literal["positive", "negative"] | None = None
    text: Text


class ReportSpec(_Model):
    """What the report puts first: survey knowledge in the plan, not in code."""

    #: The headline outcome (a scale or composite): charted by dimension in 摘要, first in unit tables.
    headline: str | None = None
    #: The model whose coefficients get the coefficient plot with 95% CIs.
    coefficient_chart: str | None = None
    #: Number conventions of the Word results chapter: ``cn`` keeps the leading zero (as many Chinese
    #: journals ask), ``apa`` drops it for p, r and β, ``spssau`` adds a 分析建议 under each table.
    journal: Literal["cn", "apa", "spssau"] = "cn"


class ModelSpec(_Model):
    """A hierarchical OLS model."""

    id: str
    type: Literal["ols"] = "ols"
    label: Text | None = None
    hypothesis: str | None = None
    outcome: str
    blocks: list[Block]
    cluster: str | None = "unit"
    #: Cluster-robust standard errors from this many units on (HC3 below: one unit cannot cluster).
    min_clusters: int = Field(2, ge=2)
    #: From this many units on CR1 with t(G − 1); below it CR2 with Satterthwaite df.
    cr1_min_clusters: int = Field(40, ge=2)
    multilevel: bool = False
    #: ``group_mean``: the multilevel model splits individual-level predictors into within-unit and
    #: between-unit parts and reports the contextual effect (:func:`jianfu.stats.multilevel.group_mean_split`).
    centring: Literal["none", "group_mean"] = "none"
    findings: list[Finding] = []

    @property
    def terms(self) -> list[str]:
        """Every term of every block, in order of entry."""
        return [t for b in self.blocks for t in b.terms]

    @property
    def variables(self) -> list[str]:
        """The outcome and every variable a term uses (both parts of an interaction)."""
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
    #: Resample whole units of this variable (cluster bootstrap); None resamples rows.
    cluster: str | None = "unit"
    n_boot: int = Field(5000, ge=200)
    seed: int = 20240601
    level: float = Field(0.95, gt=0.5, lt=1)
    findings: list[Finding] = []

    @property
    def variables(self) -> list[str]:
        """The columns the model needs: predictor, mediators, outcome and covariates."""
        return [self.x, *self.mediators, self.outcome, *self.covariates]


class ModeratedMediationSpec(_Model):
    """Moderated mediation: ``x`` → ``mediator`` → ``outcome`` with ``moderator`` on one path.

    The moderator sits on the a-path (``stage: a``, PROCESS model 7) or the b-path (``stage: b``,
    model 14). Estimated: conditional indirect effects at −1 SD / mean / +1 SD and the index of
    moderated mediation, by (cluster) bootstrap.
    """

    id: str
    type: Literal["moderated_mediation"]
    label: Text | None = None
    hypothesis: str | None = None
    x: str
    mediator: str
    moderator: str
    stage: Literal["a", "b"] = "a"
    outcome: str
    covariates: list[str] = []
    cluster: str | None = "unit"
    n_boot: int = Field(5000, ge=200)
    seed: int = 20240601
    level: float = Field(0.95, gt=0.5, lt=1)
    findings: list[Finding] = []

    @property
    def mediators(self) -> list[str]:
        """The one mediator, as a list (the shape :class:`MediationSpec` has)."""
        return [self.mediator]

    @property
    def variables(self) -> list[str]:
        """The columns the model needs: predictor, mediator, moderator, outcome and covariates."""
        return [self.x, self.mediator, self.moderator, self.outcome, *self.covariates]


def _kind(value) -> str:
    return value.get("type", "ols") if isinstance(value, dict) else getattr(value, "type", "ols")


AnyModel = Annotated[
    Annotated[ModelSpec, Tag("ols")]
    | Annotated[MediationSpec, Tag("mediation")]
    | Annotated[ModeratedMediationSpec, Tag("moderated_mediation")],
    Discriminator(_kind),
]


class Plan(_Model):
    """The analysis plan: models (with their findings), group comparisons, report layout, exports."""

    #: sha256 of the YAML it was loaded from (provenance); see :attr:`source_sha256`.
    _source_sha256: str | None = PrivateAttr(default=None)

    @property
    def source_sha256(self) -> str | None:
        """sha256 of the plan YAML; ``None`` for a plan built in code."""
        return self._source_sha256

    instrument: str
    models: list[AnyModel]
    group_comparisons: list[str] = ["level", "leader"]
    #: Demographics across whose groups each scale's measurement invariance is tested (multi-group
    #: CFA ladder); default: the ``group_comparisons``. Waves of one instrument version are always
    #: tested before their means are compared.
    invariance: list[str] | None = None
    report: ReportSpec = ReportSpec()
    #: Adjustment of exploratory families (group comparisons, the correlation matrix): Holm or
    #: Benjamini–Hochberg. Pre-declared hypothesis tests stay unadjusted (confirmatory).
    multiplicity: Literal["holm", "bh"] = "holm"
    #: Estimator of the confirmatory factor analysis: ``ML`` (FIML on every row when answers are
    #: missing), ``MLR`` (robust SEs, Yuan–Bentler scaled χ²) or ``WLSMV`` (items as ordinal:
    #: DWLS on polychorics, mean-and-variance adjusted χ²). MLR and WLSMV use complete rows.
    cfa_estimator: Literal["ML", "MLR", "WLSMV"] = "ML"
    #: Labelled datasets written next to every report (``jianfu run --export`` overrides).
    exports: list[Literal["sav", "dta", "parquet", "csv", "docx"]] = ["sav", "docx"]

    @property
    def invariance_groups(self) -> list[str]:
        """The demographics measurement invariance is tested across (``invariance`` or ``group_comparisons``)."""
        return list(self.group_comparisons if self.invariance is None else self.invariance)


def _indirect_names(m: AnyModel) -> list[str]:
    """What a finding's ``indirect`` may name in model ``m``."""
    if isinstance(m, ModeratedMediationSpec):
        return ["index", "-1 SD", "mean", "+1 SD"]
    if isinstance(m, MediationSpec):
        return [*m.mediators, "total"]
    return []


def load_plan(path: str | Path, inst: Instrument) -> Plan:
    """Load and check a plan against the instrument: every variable must be a scale or demographic.

    Raises
    ------
    PlanError
        With every problem, each with its place in the YAML and its line number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(path, [f"cannot read the file: {exc.strerror}"]) from None
    try:
        raw, tree = yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        raise PlanError(path, [f"YAML syntax error: {exc}"]) from None
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        # Drop the discriminator's tag from the location: it is not a key of the YAML.
        raise PlanError(
            path,
            [
                _fmt(tuple(p for p in e["loc"] if p not in ("ols", "mediation", "moderated_mediation")), e["msg"], tree)
                for e in exc.errors()
            ],
        ) from None
    known = {s.id for s in inst.scales} | {d.id for d in inst.demographics}
    problems: list[tuple[tuple, str]] = []
    if plan.instrument != inst.id:
        problems.append((("instrument",), f"plan is for {plan.instrument!r}, not {inst.id!r}"))
    for k, m in enumerate(plan.models):
        for var in m.variables:
            if var not in known:
                problems.append((("models", k), f"({m.id}): unknown variable {var!r}"))
        if not isinstance(m, ModelSpec) and m.outcome in m.mediators + [m.x]:
            problems.append((("models", k, "outcome"), f"({m.id}): the outcome cannot also be x or a mediator"))
        if isinstance(m, ModeratedMediationSpec) and m.moderator in (m.x, m.mediator, m.outcome):
            problems.append((("models", k, "moderator"), f"({m.id}): the moderator must be another variable"))
        if isinstance(m, ModelSpec):
            for t in (t for t in m.terms if ":" in t):
                if t.count(":") > 1:
                    problems.append((("models", k), f"({m.id}): only two-way interactions are supported, not {t!r}"))
                missing = [p for p in t.split(":") if p not in m.terms]
                if missing:
                    problems.append(
                        (
                            ("models", k),
                            f"({m.id}): {t!r} needs its main effects {missing} in an earlier or the same block",
                        )
                    )
            if m.outcome in (p for t in m.terms for p in t.split(":")):
                problems.append((("models", k, "outcome"), f"({m.id}): the outcome is also a predictor"))
        for j, f in enumerate(m.findings):
            where = ("models", k, "findings", j)
            if (f.term is None) == (f.indirect is None):
                problems.append((where, f"({m.id}): a finding names either `term` or `indirect`"))
            elif f.term is not None and (not isinstance(m, ModelSpec) or f.term not in m.terms):
                problems.append((where, f"({m.id}): {f.term!r} is not a term of this model"))
            elif f.indirect is not None and f.indirect not in _indirect_names(m):
                problems.append((where, f"({m.id}): `indirect` is one of {_indirect_names(m)} here"))
    ids = [m.id for m in plan.models]
    problems += [
        (("models",), f"id {i!r} is used more than once") for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if plan.report.headline and plan.report.headline not in {s.id for s in inst.scales}:
        problems.append((("report", "headline"), f"{plan.report.headline!r} is not a scale of the instrument"))
    if plan.report.coefficient_chart and plan.report.coefficient_chart not in ids:
        problems.append((("report", "coefficient_chart"), f"{plan.report.coefficient_chart!r} is not a model id"))
    demographics = {d.id for d in inst.demographics}
    problems += [
        (("group_comparisons",), f"{g!r} is not a demographic") for g in plan.group_comparisons if g not in demographics
    ]
    problems += [
        (("invariance",), f"{g!r} is not a demographic") for g in plan.invariance_groups if g not in demographics
    ]
    if problems:
        raise PlanError(path, [_fmt(loc, msg, tree) for loc, msg in problems])
    plan._source_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return plan
