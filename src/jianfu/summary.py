"""The run summary, typed: what one run found, read by the report, the exports, the flows and the CLI.

:class:`RunSummary` is built by the engine (:func:`jianfu.pipeline.summarise`) and serialised by
:meth:`RunSummary.to_json` to the ``jianfu run --json`` contract (README, "Command line"): keys may be
added, never renamed or removed. Code reads it by attribute (``summary.rows.accepted``); indexing
(``summary["rows"]["accepted"]``) reads the JSON form, for scripts and tests written against the
contract.

Parts whose shape is settled are typed models (files, row counts, scales, the sample, units,
hypotheses, exports, provenance). The statistics of ``models`` and ``psychometrics`` differ by model
type and method and stay mappings of plain values; each part allows keys the next statistic adds.

Examples
--------
>>> s = RunSummary(instrument={"id": "demo", "version": "1.0"}, wave="2026-11",
...                rows={"read": 3, "accepted": 2, "quarantined": 1})
>>> s.rows.accepted
2
>>> s["rows"]
{'read': 3, 'accepted': 2, 'quarantined': 1}
>>> s.to_json()["instrument"]
{'id': 'demo', 'version': '1.0'}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FileSummary",
    "Hypothesis",
    "InstrumentRef",
    "ItemSummary",
    "OpenAnswers",
    "Provenance",
    "ReportLayout",
    "RowCounts",
    "RunSummary",
    "SampleVariable",
    "ScaleSummary",
    "UnitSummary",
    "json_safe",
]


def _absent_when_none(default: Any = None) -> Any:
    """A field that appears in the JSON only when it has a value (``copy_of``, ``office``, ...)."""
    return Field(default, exclude_if=lambda v: v is None)


class Part(BaseModel):
    """A part of the summary: typed fields, and room for keys that later statistics add."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, ser_json_inf_nan="null")


class InstrumentRef(Part):
    """The instrument a run used: its id and version."""

    id: str
    version: str


class RowCounts(Part):
    """Rows of the analysed (distinct) files: read, accepted for analysis, quarantined with reasons."""

    read: int = 0
    accepted: int = 0
    quarantined: int = 0


class FileSummary(Part):
    """One received file: where it came from, whether it was accepted, and what it contributed."""

    path: str
    sha256: str | None = None
    format: str | None = None
    status: str
    sheet: str | None = None
    rows: int | None = None
    errors: list[Any] = Field(default_factory=list)
    warnings: list[Any] = Field(default_factory=list)
    accepted: int = 0
    quarantined: int = 0
    flags: dict[str, int] = Field(default_factory=dict)
    #: Name of the first file with the same content; a copy is analysed once, under the first.
    copy_of: str | None = _absent_when_none()
    #: The HR office whose inbox folder the file came from (inbox runs only).
    office: str | None = _absent_when_none()


class ItemSummary(Part):
    """One item's analysis (:func:`jianfu.stats.reliability.item_analysis`) on the accepted rows."""

    n: float
    mean: float | None = None
    sd: float | None = None
    skew: float | None = None
    kurtosis: float | None = None
    item_rest_r: float | None = None
    alpha_if_deleted: float | None = None


class ScaleSummary(Part):
    """A scale's score distribution and internal consistency on the accepted rows."""

    n: int
    mean: float | None = None
    sd: float | None = None
    alpha: float | None = None
    alpha_ci: list[float | None] | None = None
    omega: float | None = None
    #: Percentile bootstrap CI of ω, which ω it is, and warnings such as a negative loading.
    omega_ci: list[float | None] | None = _absent_when_none()
    omega_kind: str | None = _absent_when_none()
    omega_warnings: list[dict] | None = _absent_when_none()
    #: α on the polychoric correlations (Zumbo et al. 2007): the items as ordinal (first-order scales only).
    ordinal_alpha: float | None = _absent_when_none()
    n_items: int
    n_complete: int | None = None
    items: dict[str, ItemSummary] = Field(default_factory=dict)


class SampleLevel(Part):
    level: str
    n: int
    share: float


class SampleVariable(Part):
    """Who answered: one demographic with the count and share of each answer."""

    id: str
    #: Counts per answer for a coded demographic; free-text ones give ``distinct`` and ``missing`` instead.
    levels: list[SampleLevel] | None = _absent_when_none()
    distinct: int | None = _absent_when_none()
    missing: int | None = _absent_when_none()


class UnitSummary(Part):
    """A unit's respondents and scale means; ``suppressed`` below the minimum group size (means withheld)."""

    unit: str
    n: int
    suppressed: bool
    level: str | None = None
    means: dict[str, float | None] | None = None


class OpenAnswers(Part):
    """The answers given to one open question."""

    id: str
    n: int
    answers: list[str]


class Hypothesis(Part):
    """A pre-declared hypothesis (or exploratory finding) with its estimate, CI and verdict."""

    hypothesis: str | None = None
    model: str
    type: str
    term: str | None = None
    indirect: str | None = None
    expect: str | None = None
    confirmatory: bool
    estimate: float | None = None
    beta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    verdict: str
    text: dict[str, str]
    reason: dict[str, str] | str | None = _absent_when_none()


class ReportLayout(Part):
    """What the report puts first, from the plan's ``report`` section: the headline scale and charted model."""

    headline: str | None = None
    coefficient_chart: str | None = None


class Provenance(Part):
    """What it takes to re-run the analysis and get the same numbers."""

    jianfu: dict[str, str | None] = Field(default_factory=dict)
    python: str | None = None
    packages: dict[str, str | None] = Field(default_factory=dict)
    instrument: dict[str, str | None] = Field(default_factory=dict)
    plan: dict[str, str | None] = Field(default_factory=dict)
    inputs: list[dict[str, str | None]] = Field(default_factory=list)
    seeds: dict[str, int] = Field(default_factory=dict)
    thresholds: dict[str, Any] = Field(default_factory=dict)
    case_flow: list[dict[str, Any]] = Field(default_factory=list)


class RunSummary(Part):
    """Everything one run found, in the order the report tells it."""

    report: str | None = None
    instrument: InstrumentRef
    wave: str
    generated_at: str = Field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    files: list[FileSummary] = Field(default_factory=list)
    rows: RowCounts = Field(default_factory=RowCounts)
    flags: dict[str, int] = Field(default_factory=dict)
    flags_enabled: list[str] = Field(default_factory=list)
    scales: dict[str, ScaleSummary] = Field(default_factory=dict)
    #: Per model id, its statistics (shape by model type: see :mod:`jianfu.analysis`).
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Reliability, structure, CFA, descriptives, correlations, group comparisons, invariance.
    psychometrics: dict[str, Any] = Field(default_factory=dict)
    sample: list[SampleVariable] = Field(default_factory=list)
    units: list[UnitSummary] = Field(default_factory=list)
    open_answers: list[OpenAnswers] = Field(default_factory=list)
    #: Scale means per wave and the change from the previous wave (None with one wave).
    waves: dict[str, Any] | None = None
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    #: The hypothesis models as reported, by multiple imputation and with flagged rows (:mod:`jianfu.sensitivity`).
    sensitivity: dict[str, Any] = Field(default_factory=dict)
    layout: ReportLayout = Field(default_factory=ReportLayout)
    exports: dict[str, str] = Field(default_factory=dict)
    provenance: Provenance | None = _absent_when_none()

    def to_json(self) -> dict[str, Any]:
        """The ``jianfu run --json`` object: plain dicts, lists, strings, numbers; NaN becomes ``None``."""
        return json_safe(self.model_dump())

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields and key not in (self.model_extra or {}):
            raise KeyError(key)
        return _plain(getattr(self, key))

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields or key in (self.model_extra or {})

    def get(self, key: str, default: Any = None) -> Any:
        """``summary[key]`` (the JSON form), or ``default`` for a key the summary does not have."""
        return self[key] if key in self else default

    def distinct_files(self) -> list[FileSummary]:
        """The received files without content copies (the rows of each are counted once)."""
        return [f for f in self.files if f.copy_of is None]


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return json_safe(value)


def json_safe(obj: Any) -> Any:
    """Plain JSON values: NaN and ±inf become ``None``, NumPy scalars Python numbers, tuples lists.

    >>> import numpy as np
    >>> json_safe({"r": np.float64("nan"), "n": np.int64(3), "ci": (0.1, float("inf"))})
    {'r': None, 'n': 3, 'ci': [0.1, None]}
    """
    if isinstance(obj, BaseModel):
        return json_safe(obj.model_dump())
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "dtype") and hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    return obj
