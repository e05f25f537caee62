"""Synthetic surveys with a known truth, in every layout HR offices send.

Respondents are nested in units; latent constructs follow the structural model declared next to
the instrument (``instruments/<id>.synth.yaml``: which latents are exogenous and correlated,
each endogenous latent's parents — ``a:b`` for a product — residual SD and unit random-intercept
SD). Scales without a latent of their own load on their composite's latent. Likert items are cut
from ``λ·η + √(1−λ²)·ε`` at fixed thresholds, reverse items from ``−η``. Speeders,
straight-liners, attention failures, incomplete responses and duplicates are injected in known,
disjoint numbers, so tests can assert the pipeline finds exactly those rows. An instrument with
no structural model gets independent standard-normal latents.

The ``realism`` section of the same file adds what real answers have and clean simulated ones hide
(see :class:`Realism`): a method factor shared by the reverse-keyed items, acquiescence on
agreement formats, blank cells missing completely at random (MCAR) and at random given a
demographic (MAR), 不适用 / 不了解 answers where the response scale offers them, and 8–60 units
whose random intercepts are part of every latent; an item's loading, shift and 不适用 rate then
belong to the item, not to the survey, so every wave of a questionnaire measures alike. None of it
changes the latent model, so :func:`population_coefficients` stays the exact truth; every blank,
every 不适用 and every response-style score is recorded in :class:`SynthSurvey`.
``simulate(..., realism=False)`` gives the clean data (item for item the same as before the section
existed).

Examples
--------
>>> from jianfu import paths
>>> from jianfu.instrument import load_instrument
>>> inst = load_instrument(paths.DEFAULT_INSTRUMENT)
>>> survey = simulate(inst, n=300, seed=1)
>>> survey.injected["speeder"], len(survey.answers)
(9, 300)
>>> blank = survey.missing_kind.isin(["mcar", "mar"]).to_numpy().mean()  # blanks of several percent
>>> bool(0.02 < blank < 0.08), sorted(map(int, survey.missing_codes.stack().dropna().unique()))  # 不适用, 不了解
(True, [8, 9])
>>> clean = simulate(inst, n=300, seed=1, realism=False)
>>> bool(clean.missing_codes.isna().all().all()), bool(clean.method.eq(0).all().all())
(True, True)
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jianfu import paths
from jianfu.ingest.template import question_text
from jianfu.instrument import FLAG_NAMES, Instrument

__all__ = [
    "SynthSurvey",
    "StructuralModel",
    "Realism",
    "MissingData",
    "Units",
    "simulate",
    "write_survey",
    "FORMATS",
    "MISSING_KINDS",
    "load_structural_model",
    "structural_model_for",
    "population_covariance",
    "population_coefficients",
]

Format = Literal["wjx-text", "wjx-code", "template", "csv", "tencent"]
FORMATS: tuple[str, ...] = ("wjx-text", "wjx-code", "template", "csv", "tencent")
#: Why an item cell holds no score (:attr:`SynthSurvey.missing_kind`); ``""`` = answered and scored.
MISSING_KINDS: tuple[str, ...] = ("mcar", "mar", "code", "incomplete")

_THRESHOLDS = np.array([-1.3, -0.45, 0.35, 1.2])
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
_PLACES = [
    "城关",
    "东城",
    "西湖",
    "南山",
    "北塘",
    "新桥",
    "青石",
    "柳河",
    "白沙",
    "金田",
    "长乐",
    "永安",
    "清水",
    "红旗",
    "枫林",
    "太平",
    "双河",
    "石门",
    "桃源",
    "龙泉",
]
_LEVEL_SUFFIX = {"乡镇": "镇", "街道": "街道", "村（社区）": "社区"}
#: Item nonresponse of the clean generator (``realism=False``): sparse MCAR blanks.
_CLEAN_MCAR = 0.01


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExogenousBlock(_Strict):
    """Standard-normal latents, pairwise correlated ``r``."""

    variables: list[str]
    r: float = Field(0.0, gt=-1, lt=1)


class Equation(_Strict):
    """``latent = Σ coefficient·parent + residual_sd·ε (+ a unit intercept with SD unit_sd)``."""

    coefficients: dict[str, float] = {}
    residual_sd: float = Field(1.0, gt=0)
    unit_sd: float = Field(0.0, ge=0)


class MissingData(_Strict):
    """Blank item cells, missing completely at random (MCAR) and at random given a demographic (MAR).

    Each cell is left blank with probability ``mcar`` whoever answers, plus a probability that
    depends on the respondent's answer to the demographic ``mar_on``.

    The MAR probability rises log-linearly over the options of ``mar_on`` in their declared order,
    from the first option to ``mar_ratio`` times that rate at the last one, and is scaled so that
    ``mar`` is its mean over the respondents.
    """

    mcar: float = Field(0.0, ge=0, lt=0.5)
    mar: float = Field(0.0, ge=0, lt=0.5)
    mar_on: str | None = None
    mar_ratio: float = Field(3.0, ge=1)

    @model_validator(mode="after")
    def _mar_needs_a_variable(self) -> MissingData:
        if self.mar and not self.mar_on:
            raise ValueError("`mar` needs `mar_on`, the demographic the blank rate depends on")
        return self


class Units(_Strict):
    """How many units the respondents come from, and how much of each latent is shared within a unit.

    Without an explicit ``n_units`` the count is drawn uniformly from ``min``…``max``, but never
    more than leave ``min_mean_size`` respondents per unit on average (a 60-respondent wave has
    no 60 units). ``icc`` is the share of every exogenous latent's variance and of every equation
    residual that is a unit random intercept; the total variances, hence the latent model, stay
    as declared. Equations with ``unit_sd`` keep that intercept on top.
    """

    min: int = Field(8, ge=1)
    max: int = Field(60, ge=1)
    min_mean_size: int = Field(10, ge=1)
    icc: float = Field(0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Units:
        if self.max < self.min:
            raise ValueError(f"units: max ({self.max}) is below min ({self.min})")
        return self


class Realism(_Strict):
    """What real answers carry besides the constructs (the ``realism:`` section of a ``*.synth.yaml``).

    Every field defaults to "absent", so a section lists only what it adds.

    Attributes
    ----------
    acquiescence_sd : float
        SD of a person-level shift towards agreement, added to the continuous response of every
        item whose response scale is in ``agreement_formats``, *before* reverse scoring: on a
        balanced scale it partly cancels, on same-keyed scales it inflates their correlations.
    agreement_formats : list of str
        Response-scale ids of agree–disagree formats; ids the instrument does not declare are
        ignored, so one model serves several versions of an instrument.
    reverse_method_loading : float
        Loading γ of a person-level method factor shared by all reverse-keyed items. It replaces a
        share γ² of the item's variance, so the trait loading falls from λ to λ·√(1−γ²) and a CFA
        without the method factor leaves the reverse items' residuals correlated.
    missing : MissingData
        Blank cells (MCAR and MAR).
    not_applicable : float
        Mean share of 不适用 / 不了解 answers among the answered items whose response scale declares
        ``missing_options`` (codes drawn evenly); each item draws its own rate from a Beta(2, ·)
        with this mean, as real items differ in how often they do not apply.
    units : Units, optional
        Unit count and unit random intercepts; absent: ``max(5, n // 15)`` units, no shared part.

    Notes
    -----
    Blanks and 不适用 answers together never leave a row below the instrument's ``incomplete``
    threshold (``quality.incomplete.min_answered``): cells beyond that budget are answered after all,
    so only the rows injected as incomplete are flagged as such.
    """

    acquiescence_sd: float = Field(0.0, ge=0, le=1)
    agreement_formats: list[str] = []
    reverse_method_loading: float = Field(0.0, ge=0, lt=1)
    missing: MissingData = MissingData()
    not_applicable: float = Field(0.0, ge=0, lt=0.5)
    units: Units | None = None

    @model_validator(mode="after")
    def _acquiescence_needs_formats(self) -> Realism:
        if self.acquiescence_sd and not self.agreement_formats:
            raise ValueError("`acquiescence_sd` needs `agreement_formats`: the response scales it shifts")
        return self


class StructuralModel(_Strict):
    """The generator's latent model (see ``instruments/cadre_burden.synth.yaml``)."""

    instrument: str | None = None
    exogenous: list[ExogenousBlock] = []
    equations: dict[str, Equation] = {}
    second_order_loading: float = Field(0.8, gt=0, lt=1)
    realism: Realism | None = None

    @property
    def exogenous_names(self) -> list[str]:
        """The exogenous latents, block by block."""
        return [v for b in self.exogenous for v in b.variables]

    @property
    def latents(self) -> list[str]:
        """Every latent, exogenous first, then the equations in generation order."""
        return [*self.exogenous_names, *self.equations]

    @property
    def truth(self) -> dict[str, dict[str, float]]:
        """The generating coefficients of every equation with parents."""
        return {v: dict(eq.coefficients) for v, eq in self.equations.items() if eq.coefficients}


def load_structural_model(path: str | Path) -> StructuralModel:
    """Read a ``*.synth.yaml`` structural model (and its ``realism`` section)."""
    return StructuralModel.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})


def structural_model_for(inst: Instrument, instruments_dir: str | Path | None = None) -> StructuralModel:
    """The model in ``<instruments_dir>/<instrument id>.synth.yaml``, or independent latents per scale."""
    path = Path(instruments_dir or paths.INSTRUMENTS_DIR) / f"{inst.id}.synth.yaml"
    if path.is_file():
        return load_structural_model(path)
    sub = {s for c in inst.scales if c.is_composite for s in c.subscales}
    return StructuralModel(equations={s.id: Equation() for s in inst.scales if s.id not in sub})


@dataclass
class SynthSurvey:
    """A generated survey: answers, paradata, and what was injected where.

    ``answers`` holds item and attention-check codes (float, NaN = no score), demographic
    labels and open answers, keyed by instrument ids — the scored view, as ingest stores it.
    ``flags`` marks, per injected kind, the rows that carry it (disjoint). ``latent`` holds the
    generating factor scores and ``truth`` the structural coefficients they were generated with.

    The realism truth (all indexed like ``answers``):

    * ``missing_kind`` — per item cell, why it has no score: ``"mcar"``, ``"mar"`` (blank),
      ``"code"`` (a non-scored answer such as 不适用, its code in ``missing_codes``),
      ``"incomplete"`` (blanked for an injected incomplete row), ``""`` (answered);
    * ``missing_codes`` — the 不适用 / 不了解 codes (8, 9, …) respondents chose, NaN elsewhere; the
      writers put them in the file, so ingest stores them as ``_missing_codes``;
    * ``method`` — the person-level ``acquiescence`` shift and ``reverse_method`` factor score;
    * ``item_truth`` — per item: ``scale``, ``reverse``, ``agreement`` (acquiescence applies),
      ``loading`` (standardised trait loading of the continuous response), ``method_loading``,
      ``not_applicable`` (the item's 不适用 / 不了解 rate);
    * ``mar_probability`` — the MAR blank probability of each option of ``realism.missing.mar_on``;
    * ``realism`` — the section that was applied (``None``: clean data).
    """

    answers: pd.DataFrame
    duration_s: np.ndarray
    submitted: list[datetime]
    flags: pd.DataFrame
    latent: pd.DataFrame
    pii: pd.DataFrame
    seed: int
    truth: dict[str, dict[str, float]] = field(default_factory=dict)
    missing_kind: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing_codes: pd.DataFrame = field(default_factory=pd.DataFrame)
    method: pd.DataFrame = field(default_factory=pd.DataFrame)
    item_truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    mar_probability: dict[str, float] = field(default_factory=dict)
    realism: Realism | None = None

    @property
    def injected(self) -> dict[str, int]:
        """Rows injected per quality flag (every flag of the pipeline, 0 for those never injected)."""
        counts = {k: int(v) for k, v in self.flags.sum().items()}
        return {k: counts.get(k, 0) for k in FLAG_NAMES} | counts

    @property
    def n_quarantined(self) -> int:
        """Rows carrying any injected flag."""
        return int(self.flags.any(axis=1).sum())

    def blanked(self, kind: str) -> pd.DataFrame:
        """Boolean frame of the item cells whose ``missing_kind`` is ``kind`` (one of :data:`MISSING_KINDS`)."""
        if kind not in MISSING_KINDS:
            raise ValueError(f"kind must be one of {MISSING_KINDS}, not {kind!r}")
        return self.missing_kind == kind


def population_covariance(model: StructuralModel) -> pd.DataFrame:
    """The exact covariance of the raw latents implied by the structural equations.

    Each latent is a linear combination of independent sources (the correlated exogenous
    blocks, one residual per equation, the unit intercepts) and of products of two linear
    latents. For zero-mean Gaussian factors a product is uncorrelated with every linear source,
    and Isserlis' theorem gives the products' covariances:
    ``Cov(ab, cd) = σ_ac σ_bd + σ_ad σ_bc``.
    """
    exo = model.exogenous_names
    eqs = model.equations
    products = sorted({t for eq in eqs.values() for t in eq.coefficients if ":" in t})
    sources = [
        *exo,
        *(f"e_{v}" for v in eqs),
        *(f"u_{v}" for v, eq in eqs.items() if eq.unit_sd),
        *(f"p_{t}" for t in products),
    ]
    names = model.latents
    A = pd.DataFrame(0.0, index=names, columns=sources)
    cov_s = pd.DataFrame(0.0, index=sources, columns=sources)
    for block in model.exogenous:
        for a in block.variables:
            A.loc[a, a] = 1.0
            for b in block.variables:
                cov_s.loc[a, b] = 1.0 if a == b else block.r
    for v, eq in eqs.items():
        cov_s.loc[f"e_{v}", f"e_{v}"] = 1.0
        if eq.unit_sd:
            cov_s.loc[f"u_{v}", f"u_{v}"] = eq.unit_sd**2
    linear: set[str] = set(exo)
    for v, eq in eqs.items():
        row = pd.Series(0.0, index=sources)
        for term, coef in eq.coefficients.items():
            if ":" in term:
                factors = term.split(":")
                if not set(factors) <= linear:
                    raise ValueError(f"{term}: both factors of a product must be linear latents defined before {v}")
                row[f"p_{term}"] += coef
                for other in products:  # the products' covariances, once both are defined
                    fa, fb = (A.loc[f] for f in factors)
                    oc, od = (A.loc[f] for f in other.split(":"))
                    if all(f in linear for f in other.split(":")):
                        c = (fa @ cov_s @ oc) * (fb @ cov_s @ od) + (fa @ cov_s @ od) * (fb @ cov_s @ oc)
                        cov_s.loc[f"p_{term}", f"p_{other}"] = cov_s.loc[f"p_{other}", f"p_{term}"] = c
            else:
                row += coef * A.loc[term]
        row[f"e_{v}"] = eq.residual_sd
        if eq.unit_sd:
            row[f"u_{v}"] = 1.0
        A.loc[v] = row
        if not any(":" in t or t not in linear for t in eq.coefficients):
            linear.add(v)
    return A @ cov_s @ A.T


def population_coefficients(model: StructuralModel, outcome: str, predictors: list[str]) -> dict[str, float]:
    """Population OLS slopes of ``outcome`` on ``predictors`` for the standardised latents.

    These are the latents :func:`simulate` returns in ``latent``: the slopes are the truth a correctly
    specified regression on the latent scores estimates, omitted mediators and confounders included.
    The ``realism`` section leaves them unchanged.

    Examples
    --------
    >>> from jianfu import paths
    >>> model = load_structural_model(paths.INSTRUMENTS_DIR / "cadre_burden.synth.yaml")
    >>> round(population_coefficients(model, "exhaustion", ["burden", "digital_literacy"])["digital_literacy"], 3)
    -0.103
    """
    cov = population_covariance(model)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    beta = np.linalg.solve(corr.loc[predictors, predictors], corr.loc[predictors, outcome])
    return dict(zip(predictors, map(float, beta), strict=True))


def _latent_model(
    model: StructuralModel,
    n: int,
    unit_effects: dict[str, np.ndarray],
    rng: np.random.Generator,
    *,
    unit: np.ndarray | None = None,
    n_units: int = 0,
    icc: float = 0.0,
) -> pd.DataFrame:
    """Latent scores, standardised by their population SDs.

    With ``icc`` a share of every independent source (exogenous block, equation residual) is a unit
    intercept, ``√(1−icc)·within + √icc·between``: the same variances and correlations, hence the
    same population model, but respondents of a unit resemble each other.
    """
    blocks = []
    for block in model.exogenous:
        k = len(block.variables)
        corr = np.full((k, k), block.r) + np.eye(k) * (1 - block.r)
        x = rng.multivariate_normal(np.zeros(k), corr, size=n)
        if icc:
            between = rng.multivariate_normal(np.zeros(k), corr, size=n_units)[unit]
            x = math.sqrt(1 - icc) * x + math.sqrt(icc) * between
        blocks.append(pd.DataFrame(x, columns=block.variables))
    lat = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=range(n))
    for v, eq in model.equations.items():
        e = rng.standard_normal(n)
        if icc:
            e = math.sqrt(1 - icc) * e + math.sqrt(icc) * rng.standard_normal(n_units)[unit]
        value = eq.residual_sd * e
        for term, coef in eq.coefficients.items():
            a, *b = term.split(":")
            value = value + coef * (lat[a] * lat[b[0]] if b else lat[a])
        lat[v] = value + unit_effects.get(v, 0.0)
    # Standardised by the population SD, so population_coefficients() is the exact truth.
    return lat / np.sqrt(np.diag(population_covariance(model).loc[lat.columns, lat.columns]))


def _items(
    inst: Instrument, model: StructuralModel, lat: pd.DataFrame, real: Realism | None, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], pd.DataFrame, pd.DataFrame]:
    """Item codes cut from continuous responses; returns the codes, the items' truth and the response styles.

    The continuous response of an item with trait loading λ is ``λ·(±η) + √(1−λ²)·ε``; a reverse
    item under a method factor of loading γ takes ``√(1−γ²)·(that) + γ·M``; an agreement-format
    item adds the respondent's acquiescence ``a``; every item adds its own shift, then the fixed
    thresholds cut it into 1–5. With realism λ and the shift belong to the item (:func:`_item_rng`),
    so every survey of an instrument, and an item kept across versions, measures the same way and
    waves are measurement-invariant by construction. Without realism the draws are the clean
    generator's, in its order (λ and the shift change with the seed).
    """
    n = len(lat)
    parent = {sub: c.id for c in inst.scales if c.is_composite for sub in c.subscales}
    loading2 = model.second_order_loading
    acq_sd = real.acquiescence_sd if real else 0.0
    gamma = real.reverse_method_loading if real else 0.0
    agreement = set(real.agreement_formats) if real else set()
    # With realism both scores are drawn even at zero size, so that two sections differing in one of
    # them give the same items otherwise (a paired comparison of their effect).
    acquiescence = acq_sd * rng.standard_normal(n) if real else np.zeros(n)
    method = rng.standard_normal(n) if real else np.zeros(n)
    answers: dict[str, np.ndarray] = {}
    truth = []
    for s in inst.first_order_scales:
        if s.id in lat:
            eta = lat[s.id].to_numpy()
        elif parent.get(s.id) in lat:  # a subscale: second-order loading on its composite
            eta = loading2 * lat[parent[s.id]].to_numpy() + math.sqrt(1 - loading2**2) * rng.standard_normal(n)
        else:
            eta = rng.standard_normal(n)
        agrees = s.response_scale in agreement
        for item in s.items:
            params = _item_rng(inst, item.id) if real else rng
            loading = params.uniform(0.65, 0.85)
            shift = params.normal(0, 0.15)
            y = loading * (-eta if item.reverse else eta) + np.sqrt(1 - loading**2) * rng.standard_normal(n)
            trait, method_loading = loading, 0.0
            if item.reverse and gamma:
                y = math.sqrt(1 - gamma**2) * y + gamma * method
                trait, method_loading = loading * math.sqrt(1 - gamma**2), gamma
            if agrees and acq_sd:
                y = y + acquiescence  # on the raw answer: reverse scoring later turns it into disagreement
            answers[item.id] = (np.searchsorted(_THRESHOLDS, y + shift) + 1).astype(float)
            truth.append((item.id, s.id, item.reverse, agrees and bool(acq_sd), trait, method_loading))
    item_truth = pd.DataFrame(
        truth, columns=["item", "scale", "reverse", "agreement", "loading", "method_loading"]
    ).set_index("item")
    item_truth["not_applicable"] = 0.0
    return answers, item_truth, pd.DataFrame({"acquiescence": acquiescence, "reverse_method": method * (gamma > 0)})


def _item_rng(inst: Instrument, item_id: str, part: str = "measurement") -> np.random.Generator:
    """A generator for an item's own parameters, seeded by the instrument and item ids (not the survey seed)."""
    digest = hashlib.sha256(f"{inst.id}/{item_id}/{part}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _missing_budget(inst: Instrument) -> int:
    """The most unanswered items a row may have without being flagged ``incomplete``."""
    k = len(inst.items)
    ok = [m for m in range(k + 1) if (k - m) / max(1, k) >= inst.quality.incomplete.min_answered]
    return max(ok, default=0)


def _nonresponse(
    inst: Instrument,
    frame: pd.DataFrame,
    real: Realism,
    kind: np.ndarray,
    codes: np.ndarray,
    item_truth: pd.DataFrame,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Mark blanks (MCAR, MAR) and 不适用 / 不了解 answers in ``kind`` and ``codes`` (in place).

    Returns the MAR probability of each option of ``real.missing.mar_on``.
    """
    n, k = kind.shape
    item_ids = list(item_truth.index)
    miss = real.missing
    p_mar = np.zeros(n)
    mar_probability: dict[str, float] = {}
    if miss.mar:
        demo = next((d for d in inst.demographics if d.id == miss.mar_on and d.options), None)
        if demo is None:
            raise ValueError(
                f"realism.missing.mar_on={miss.mar_on!r} 不是本问卷有选项的背景题 / "
                f"is not a demographic with options in {inst.id}"
            )
        position = frame[demo.id].map({o: i for i, o in enumerate(demo.options)}).to_numpy(int)
        weight = miss.mar_ratio ** (np.arange(len(demo.options)) / max(1, len(demo.options) - 1))
        p_option = np.minimum(weight * miss.mar / weight[position].mean(), 0.5)
        p_mar = p_option[position]
        mar_probability = dict(zip(demo.options, map(float, p_option), strict=True))
    u = rng.random((n, k))
    kind[u < miss.mcar] = "mcar"
    kind[(u >= miss.mcar) & (u < miss.mcar + p_mar[:, None])] = "mar"

    scale_of = inst.likert_response_scale()
    offered = {i: list(inst.response_scales[scale_of[i]].missing_options) for i in item_ids}
    eligible = [j for j, i in enumerate(item_ids) if offered[i]]
    if real.not_applicable and eligible:
        share = real.not_applicable
        # Each item's own rate, like its loading a property of the item, not of the survey.
        rates = np.array(
            [_item_rng(inst, item_ids[j], "not_applicable").beta(2.0, 2.0 * (1 - share) / share) for j in eligible]
        )
        hit = (rng.random((n, len(eligible))) < rates) & (kind[:, eligible] == "")
        for c, j in enumerate(eligible):
            rows = np.flatnonzero(hit[:, c])
            kind[rows, j] = "code"
            codes[rows, j] = rng.choice(offered[item_ids[j]], size=len(rows))
        item_truth.iloc[eligible, item_truth.columns.get_loc("not_applicable")] = rates

    # A clean row must stay clean: cells beyond the incomplete budget are answered after all.
    budget = _missing_budget(inst)
    for r in np.flatnonzero((kind != "").sum(axis=1) > budget):
        cells = np.flatnonzero(kind[r] != "")
        back = rng.choice(cells, size=len(cells) - budget, replace=False)
        kind[r, back] = ""
        codes[r, back] = np.nan
    return mar_probability


def _unit_count(units: Units, n: int, rng: np.random.Generator) -> int:
    high = min(units.max, max(units.min, n // units.min_mean_size))
    return int(min(rng.integers(units.min, high + 1), max(1, n)))


def simulate(
    inst: Instrument,
    n: int = 500,
    seed: int = 2024,
    *,
    n_units: int | None = None,
    inject: bool = True,
    rates: dict[str, float] | None = None,
    start: datetime | None = None,
    model: StructuralModel | None = None,
    realism: bool | Realism = True,
) -> SynthSurvey:
    """Generate ``n`` responses to ``inst`` from the latent structural model.

    Parameters
    ----------
    inst : Instrument
        The questionnaire; every first-order scale gets items, every demographic a value.
    n : int
        Number of rows, duplicates included.
    seed : int
        Seed of the NumPy generator; the same seed gives the same survey.
    n_units : int, optional
        Number of units (clusters); default: drawn as ``realism.units`` says, else ``max(5, n // 15)``.
    inject : bool
        Inject careless responding (default rates 3% speeder, 2% straight-liner, 3% attention,
        2% incomplete, 2% duplicate, each at least one row when ``n >= 50``).
    model : StructuralModel, optional
        The latent model; default :func:`structural_model_for` the instrument.
    realism : bool or Realism
        ``True`` (default): apply the model's ``realism`` section, if it has one; ``False``: clean
        data (sparse 1% MCAR blanks, no response styles, no 不适用, ``max(5, n // 15)`` units),
        draw for draw what the generator gave before realism existed; a :class:`Realism`: apply that.

    Returns
    -------
    SynthSurvey
        Answers and paradata with the truth: injected flags, latent scores, the cells left blank or
        answered 不适用 and why, the response-style scores and the items' loadings.

    Notes
    -----
    Order of generation: units and latents; continuous item responses (method factor, acquiescence)
    cut into codes; demographics; blanks and 不适用 answers, within the incomplete budget; the
    injected careless rows (a straight-liner answers every item, an incomplete row loses 30–60% of
    them); duplicates copy clean rows with all their blanks; rows sorted by submission time.
    """
    model = model or structural_model_for(inst)
    real = model.realism if realism is True else (realism if isinstance(realism, Realism) else None)
    rng = np.random.default_rng(seed)
    rates = rates or {"speeder": 0.03, "straightline": 0.02, "attention": 0.03, "incomplete": 0.02, "duplicate": 0.02}
    counts = {k: (max(1, round(r * n)) if n >= 50 else 0) if inject else 0 for k, r in rates.items()}
    n_dup = counts["duplicate"]
    n_base = n - n_dup
    units = real.units if real else None
    if n_units is None:
        n_units = _unit_count(units, n, rng) if units else max(5, n // 15)

    level_opts = next(d.options for d in inst.demographics if d.id == "level") or ["乡镇"]
    unit_level = rng.choice(len(level_opts), size=n_units, p=_probs(len(level_opts), rng))
    unit_names = [
        f"{_PLACES[u % len(_PLACES)]}{'' if u < len(_PLACES) else u // len(_PLACES) + 1}"
        f"{_LEVEL_SUFFIX.get(level_opts[unit_level[u]], '')}"
        for u in range(n_units)
    ]
    region_of_unit = rng.integers(0, 4, size=n_units)
    unit = rng.integers(0, n_units, size=n_base)
    unit_effects = {v: rng.normal(0, eq.unit_sd, size=n_units)[unit] for v, eq in model.equations.items() if eq.unit_sd}

    icc = units.icc if units else 0.0
    lat = _latent_model(model, n_base, unit_effects, rng, unit=unit, n_units=n_units, icc=icc)
    answers: dict[str, np.ndarray | list]
    answers, item_truth, method = _items(inst, model, lat, real, rng)  # type: ignore[assignment]
    for check in inst.attention_checks:
        answers[check.id] = np.full(n_base, float(check.expect))
    for d in inst.demographics:
        if d.id == "unit":
            answers[d.id] = [unit_names[u] for u in unit]
        elif d.id == "level":
            answers[d.id] = [level_opts[unit_level[u]] for u in unit]
        elif d.id == "region" and d.options and len(d.options) == 4:
            answers[d.id] = [d.options[region_of_unit[u]] for u in unit]
        elif d.options:
            answers[d.id] = list(rng.choice(d.options, size=n_base, p=_probs(len(d.options), rng)))
        else:
            answers[d.id] = [""] * n_base
    for q in inst.open_questions:
        pool = ["希望减少重复填报。", "", "", "会议太多，希望精简。", "建议整合工作群。", "", "无"]
        answers[q.id] = list(rng.choice(pool, size=n_base))
    frame = pd.DataFrame(answers)
    item_ids = [i.id for i in inst.items]
    column = {ident: j for j, ident in enumerate(item_ids)}

    kind = np.full((n_base, len(item_ids)), "", dtype=object)
    codes = np.full((n_base, len(item_ids)), np.nan)
    mar_probability: dict[str, float] = {}
    if real is None:  # sparse item nonresponse for everyone (well under the incomplete threshold)
        kind[rng.random((n_base, len(item_ids))) < _CLEAN_MCAR] = "mcar"
    else:
        mar_probability = _nonresponse(inst, frame, real, kind, codes, item_truth, rng)
    frame[item_ids] = frame[item_ids].mask(kind != "")

    duration = np.clip(rng.lognormal(np.log(540), 0.35, size=n_base), 0.45 * 540, None)
    flags = pd.DataFrame(False, index=range(n_base), columns=list(rates))
    order = rng.permutation(n_base)
    pos = 0

    def take(k: int) -> np.ndarray:
        nonlocal pos
        rows = order[pos : pos + k]
        pos += k
        return rows

    rows = take(counts["speeder"])
    duration[rows] = rng.uniform(0.08, 0.22, size=len(rows)) * 540
    flags.loc[rows, "speeder"] = True
    # The injections edit one array (a row-wise .loc per respondent costs ~10 ms at 100k rows).
    checks = [c.id for c in inst.attention_checks]
    edited = list(dict.fromkeys(item_ids + checks))
    at = {ident: j for j, ident in enumerate(edited)}
    values = frame[edited].to_numpy(dtype=float, copy=True)
    rows = take(counts["straightline"])
    for r in rows:
        values[r, : len(item_ids)] = float(rng.integers(1, 6))
        kind[r], codes[r] = "", np.nan  # a straight-liner answers everything
    flags.loc[rows, "straightline"] = True
    rows = take(counts["attention"])
    for r in rows:
        for check in inst.attention_checks:
            wrong = [c for c in inst.response_scales[check.response_scale].labels if c != check.expect]
            values[r, at[check.id]] = float(rng.choice(wrong))
    flags.loc[rows, "attention"] = True
    rows = take(counts["incomplete"])
    for r in rows:
        k = int(len(item_ids) * rng.uniform(0.3, 0.6))
        chosen = list(rng.choice(item_ids, size=k, replace=False))
        values[r, [at[c] for c in chosen]] = np.nan
        cells = [column[c] for c in chosen if kind[r, column[c]] in ("", "code")]  # blanks keep their kind
        kind[r, cells], codes[r, cells] = "incomplete", np.nan
    flags.loc[rows, "incomplete"] = True
    frame[edited] = values

    t0 = start or datetime(2026, 10, 8, 8, 30)
    gaps = np.cumsum(rng.exponential(300, size=n_base))
    submitted = [t0 + timedelta(seconds=float(g)) for g in gaps]

    # Duplicates: exact copies of clean respondents, submitted later than their originals.
    clean = order[pos:]
    sources = rng.choice(clean, size=n_dup, replace=False) if n_dup else np.array([], int)
    dup = frame.iloc[sources].copy()
    frame = pd.concat([frame, dup], ignore_index=True)
    duration = np.concatenate([duration, rng.lognormal(np.log(540), 0.3, size=n_dup).clip(0.45 * 540)])
    submitted += [submitted[s] + timedelta(minutes=float(rng.uniform(5, 600))) for s in sources]
    flags = pd.concat(
        [flags, pd.DataFrame({k: k == "duplicate" for k in rates}, index=range(n_dup))], ignore_index=True
    )
    lat = pd.concat([lat, lat.iloc[sources]], ignore_index=True)
    method = pd.concat([method, method.iloc[sources]], ignore_index=True)
    kind = np.concatenate([kind, kind[sources]])
    codes = np.concatenate([codes, codes[sources]])

    # Rows in submission order, as exports list them.
    by_time = np.argsort(np.array(submitted, dtype="datetime64[s]"), kind="stable")
    frame = frame.iloc[by_time].reset_index(drop=True)
    flags = flags.iloc[by_time].reset_index(drop=True)
    lat = lat.iloc[by_time].reset_index(drop=True)
    method = method.iloc[by_time].reset_index(drop=True)
    duration = np.round(duration[by_time]).astype(int)
    submitted = [submitted[i] for i in by_time]
    pii = _fake_pii(len(frame), rng)
    return SynthSurvey(
        frame,
        duration,
        submitted,
        flags,
        lat,
        pii,
        seed,
        model.truth,
        missing_kind=pd.DataFrame(kind[by_time], columns=item_ids),
        missing_codes=pd.DataFrame(codes[by_time], columns=item_ids),
        method=method,
        item_truth=item_truth,
        mar_probability=mar_probability,
        realism=real,
    )


def _probs(k: int, rng: np.random.Generator) -> np.ndarray:
    p = rng.dirichlet(np.full(k, 4.0))
    return p / p.sum()


def _fake_pii(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Names, mobile numbers and IPs such as real exports carry (all fictitious)."""
    names = [rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN, size=rng.integers(1, 3))) for _ in range(n)]
    phones = [f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}" for _ in range(n)]
    ips = [
        f"{rng.integers(1, 224)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}" for _ in range(n)
    ]
    return pd.DataFrame({"name": names, "phone": phones, "ip": ips})


# ---------------------------------------------------------------- layouts


def _wjx_columns(inst: Instrument) -> list[tuple[str, str, str]]:
    """(header, kind, id) in 问卷星 order: personal data, then the questionnaire, numbered per question.

    A Likert grid's rows share its number and are written ``N、(row text)``.
    """
    from jianfu.ingest.template import question_groups

    cols: list[tuple[str, str, str]] = [("1、您的姓名：", "pii", "name"), ("2、您的手机号码：", "pii", "phone")]
    for number, (kind, ids) in enumerate(question_groups(inst), start=3):
        for ident in ids:
            text = question_text(inst, ident)
            header = (
                f"{number}、({text})"
                if kind == "likert" and len(ids) > 1
                else f"{number}、{text}" + ("：" if kind == "demo" else "")
            )
            cols.append((header, kind, ident))
    return cols


def survey_table(survey: SynthSurvey, inst: Instrument, fmt: Format) -> pd.DataFrame:
    """The survey as the table a given export layout would hold (headers and cell values).

    A cell without a score in ``answers`` whose respondent chose 不适用 / 不了解
    (``missing_codes``) holds that answer, as its code or its label. A survey whose rows were
    replaced without ``missing_codes`` (its index no longer matches) is written with those cells blank.
    """
    a = survey.answers
    codes = survey.missing_codes
    coded = [c for c in codes.columns if c in a and codes[c].notna().any()] if codes.index.equals(a.index) else []
    if coded:
        a = a.copy()
        a[coded] = a[coded].fillna(codes[coded])  # only where no score was (re)set since
    rs_of = inst.likert_response_scale()
    labels = {k: inst.response_scales[v].labels | inst.response_scales[v].missing_options for k, v in rs_of.items()}
    out: dict[str, list | np.ndarray | pd.Series] = {}
    if fmt == "csv":
        out["submitted"] = [t.strftime("%Y-%m-%d %H:%M:%S") for t in survey.submitted]
        out["duration_s"] = survey.duration_s
        for col in a.columns:
            out[col] = a[col].astype("Int64") if col in rs_of else a[col]
        return pd.DataFrame(out)
    if fmt.startswith("wjx"):
        n = len(a)
        out["序号"] = np.arange(1, n + 1)
        out["提交答卷时间"] = [t.strftime("%Y/%m/%d %H:%M:%S") for t in survey.submitted]
        out["所用时间"] = [f"{d}秒" for d in survey.duration_s]
        out["来源"] = ["微信"] * n
        out["来源详情"] = ["N/A"] * n
        out["来自IP"] = [f"{ip}(浙江-杭州)" for ip in survey.pii["ip"]]
        columns = _wjx_columns(inst)
    elif fmt == "tencent":
        # 腾讯问卷: its own paradata; questions "N.text"; grid rows "N.stem—row text"; times as 9分3秒.
        n = len(a)
        out["编号"] = np.arange(1, n + 1)
        out["用户类型"] = ["微信用户"] * n
        out["昵称"] = survey.pii["name"]
        out["起答时间"] = [
            (t - timedelta(seconds=int(d))).strftime("%Y-%m-%d %H:%M:%S")
            for t, d in zip(survey.submitted, survey.duration_s, strict=True)
        ]
        out["结束时间"] = [t.strftime("%Y-%m-%d %H:%M:%S") for t in survey.submitted]
        out["答题时长"] = [f"{d // 60}分{d % 60}秒" for d in survey.duration_s]
        columns = [
            (_tencent_header(h, kind, inst, ident), kind, ident)
            for h, kind, ident in _wjx_columns(inst)
            if ident != "name"
        ]
    else:
        columns = [(question_text(inst, ident), kind, ident) for _, kind, ident in _wjx_columns(inst) if kind != "pii"]
    demo_opts = {d.id: d.options for d in inst.demographics}
    for header, kind, ident in columns:
        if kind == "pii":
            out[header] = survey.pii[ident]
        elif kind == "likert":
            col = a[ident]
            if fmt == "wjx-code":
                out[header] = col.astype("Int64")
            else:
                out[header] = col.map(labels[ident]).fillna("(跳过)" if fmt == "wjx-text" else "")
        elif kind == "demo" and fmt == "wjx-code" and demo_opts.get(ident):
            out[header] = a[ident].map({o: i + 1 for i, o in enumerate(demo_opts[ident])})
        else:
            out[header] = a[ident].fillna("")
    return pd.DataFrame(out)


def _tencent_header(wjx_header: str, kind: str, inst: Instrument, ident: str) -> str:
    number = wjx_header.split("、", 1)[0]
    if kind == "likert":
        return f"{number}.请根据您的实际情况，评价以下说法—{question_text(inst, ident)}"
    return f"{number}.{question_text(inst, ident) if kind != 'pii' else wjx_header.split('、', 1)[1]}"


def write_survey(survey: SynthSurvey, inst: Instrument, path: str | Path, fmt: Format = "wjx-text") -> Path:
    """Write the survey in one of :data:`FORMATS` (``.xlsx`` except ``csv``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = survey_table(survey, inst, fmt)
    if fmt == "csv":
        table.to_csv(path, index=False, encoding="utf-8-sig")
    elif fmt == "template":
        from jianfu.ingest.template import fill_template

        fill_template(inst, table, path)
    else:
        _write_xlsx(table, path, sheet="Sheet1")
    return path


def _write_xlsx(table: pd.DataFrame, path: Path, sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)

    def cell(v: object) -> object:
        if v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, str) and v.startswith("="):  # survey platforms export answers as text, never formulas
            c = WriteOnlyCell(ws, value=v)
            c.data_type = "s"
            return c
        return v

    ws.append(list(table.columns))
    for row in table.itertuples(index=False):
        ws.append([cell(v) for v in row])
    wb.save(path)
