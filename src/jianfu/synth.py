"""Synthetic surveys with a known truth, in every layout HR offices send.

Respondents are nested in units; latent constructs follow the structural model declared next to
the instrument (``instruments/<id>.synth.yaml``: which latents are exogenous and correlated,
each endogenous latent's parents — ``a:b`` for a product — residual SD and unit random-intercept
SD). Scales without a latent of their own load on their composite's latent. Likert items are cut
from ``λ·η + √(1−λ²)·ε`` at fixed thresholds, reverse items from ``−η``. Speeders,
straight-liners, attention failures, incomplete responses and duplicates are injected in known,
disjoint numbers, so tests can assert the pipeline finds exactly those rows. An instrument with
no structural model gets independent standard-normal latents.

Examples
--------
>>> from jianfu import paths
>>> from jianfu.instrument import load_instrument
>>> inst = load_instrument(paths.DEFAULT_INSTRUMENT)
>>> survey = simulate(inst, n=300, seed=1)
>>> survey.injected["speeder"], len(survey.answers)
(9, 300)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from jianfu import paths
from jianfu.ingest.template import question_text
from jianfu.instrument import FLAG_NAMES, Instrument

__all__ = [
    "SynthSurvey",
    "StructuralModel",
    "simulate",
    "write_survey",
    "FORMATS",
    "load_structural_model",
    "structural_model_for",
    "population_covariance",
    "population_coefficients",
]

Format = Literal["wjx-text", "wjx-code", "template", "csv", "tencent"]
FORMATS: tuple[str, ...] = ("wjx-text", "wjx-code", "template", "csv", "tencent")

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


class StructuralModel(_Strict):
    """The generator's latent model (see ``instruments/cadre_burden.synth.yaml``)."""

    instrument: str | None = None
    exogenous: list[ExogenousBlock] = []
    equations: dict[str, Equation] = {}
    second_order_loading: float = Field(0.8, gt=0, lt=1)

    @property
    def exogenous_names(self) -> list[str]:
        return [v for b in self.exogenous for v in b.variables]

    @property
    def latents(self) -> list[str]:
        return [*self.exogenous_names, *self.equations]

    @property
    def truth(self) -> dict[str, dict[str, float]]:
        """The generating coefficients of every equation with parents."""
        return {v: dict(eq.coefficients) for v, eq in self.equations.items() if eq.coefficients}


def load_structural_model(path: str | Path) -> StructuralModel:
    """Read a ``*.synth.yaml`` structural model."""
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

    ``answers`` holds item and attention-check codes (float, NaN = missing), demographic
    labels and open answers, keyed by instrument ids. ``flags`` marks, per injected kind,
    the rows that carry it (disjoint). ``latent`` holds the generating factor scores and
    ``truth`` the structural coefficients they were generated with.
    """

    answers: pd.DataFrame
    duration_s: np.ndarray
    submitted: list[datetime]
    flags: pd.DataFrame
    latent: pd.DataFrame
    pii: pd.DataFrame
    seed: int
    truth: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def injected(self) -> dict[str, int]:
        """Rows injected per quality flag (every flag of the pipeline, 0 for those never injected)."""
        counts = {k: int(v) for k, v in self.flags.sum().items()}
        return {k: counts.get(k, 0) for k in FLAG_NAMES} | counts

    @property
    def n_quarantined(self) -> int:
        return int(self.flags.any(axis=1).sum())


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
    """Population OLS slopes of ``outcome`` on ``predictors`` for the standardised latents that
    :func:`simulate` returns in ``latent`` — the truth a correctly specified regression on the
    latent scores estimates, omitted mediators and confounders included.

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
    return dict(zip(predictors, map(float, beta)))


def _latent_model(
    model: StructuralModel, n: int, unit_effects: dict[str, np.ndarray], rng: np.random.Generator
) -> pd.DataFrame:
    blocks = []
    for block in model.exogenous:
        k = len(block.variables)
        corr = np.full((k, k), block.r) + np.eye(k) * (1 - block.r)
        blocks.append(pd.DataFrame(rng.multivariate_normal(np.zeros(k), corr, size=n), columns=block.variables))
    lat = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=range(n))
    for v, eq in model.equations.items():
        value = eq.residual_sd * rng.standard_normal(n)
        for term, coef in eq.coefficients.items():
            a, *b = term.split(":")
            value = value + coef * (lat[a] * lat[b[0]] if b else lat[a])
        lat[v] = value + unit_effects.get(v, 0.0)
    # Standardised by the population SD, so population_coefficients() is the exact truth.
    return lat / np.sqrt(np.diag(population_covariance(model).loc[lat.columns, lat.columns]))


def _codes(eta: np.ndarray, loading: float, shift: float, rng: np.random.Generator) -> np.ndarray:
    y = loading * eta + np.sqrt(1 - loading**2) * rng.standard_normal(eta.shape[0]) + shift
    return (np.searchsorted(_THRESHOLDS, y) + 1).astype(float)


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
        Number of units (clusters); default ``max(5, n // 15)``.
    inject : bool
        Inject careless responding (default rates 3% speeder, 2% straight-liner, 3% attention,
        2% incomplete, 2% duplicate, each at least one row when ``n >= 50``).
    model : StructuralModel, optional
        The latent model; default :func:`structural_model_for` the instrument.
    """
    model = model or structural_model_for(inst)
    rng = np.random.default_rng(seed)
    rates = rates or {"speeder": 0.03, "straightline": 0.02, "attention": 0.03, "incomplete": 0.02, "duplicate": 0.02}
    counts = {k: (max(1, round(r * n)) if n >= 50 else 0) if inject else 0 for k, r in rates.items()}
    n_dup = counts["duplicate"]
    n_base = n - n_dup
    n_units = n_units or max(5, n // 15)

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

    lat = _latent_model(model, n_base, unit_effects, rng)
    parent = {sub: c.id for c in inst.scales if c.is_composite for sub in c.subscales}
    loading2 = model.second_order_loading
    answers: dict[str, np.ndarray | list] = {}
    for s in inst.first_order_scales:
        if s.id in lat:
            eta = lat[s.id].to_numpy()
        elif parent.get(s.id) in lat:  # a subscale: second-order loading on its composite
            eta = loading2 * lat[parent[s.id]].to_numpy() + math.sqrt(1 - loading2**2) * rng.standard_normal(n_base)
        else:
            eta = rng.standard_normal(n_base)
        for item in s.items:
            loading = rng.uniform(0.65, 0.85)
            answers[item.id] = _codes(-eta if item.reverse else eta, loading, rng.normal(0, 0.15), rng)
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

    # Sparse item nonresponse for everyone (well under the incomplete threshold).
    miss = rng.random((n_base, len(item_ids))) < 0.01
    frame[item_ids] = frame[item_ids].mask(miss)

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
    for r in take(counts["straightline"]):
        frame.loc[r, item_ids] = float(rng.integers(1, 6))
        flags.loc[r, "straightline"] = True
    for r in take(counts["attention"]):
        for check in inst.attention_checks:
            wrong = [c for c in inst.response_scales[check.response_scale].labels if c != check.expect]
            frame.loc[r, check.id] = float(rng.choice(wrong))
        flags.loc[r, "attention"] = True
    for r in take(counts["incomplete"]):
        k = int(len(item_ids) * rng.uniform(0.3, 0.6))
        frame.loc[r, list(rng.choice(item_ids, size=k, replace=False))] = np.nan
        flags.loc[r, "incomplete"] = True

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

    # Rows in submission order, as exports list them.
    by_time = np.argsort(np.array(submitted, dtype="datetime64[s]"), kind="stable")
    frame = frame.iloc[by_time].reset_index(drop=True)
    flags = flags.iloc[by_time].reset_index(drop=True)
    lat = lat.iloc[by_time].reset_index(drop=True)
    duration = np.round(duration[by_time]).astype(int)
    submitted = [submitted[i] for i in by_time]
    pii = _fake_pii(len(frame), rng)
    return SynthSurvey(frame, duration, submitted, flags, lat, pii, seed, model.truth)


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
    """(header, kind, id) in 问卷星 order: personal data, then the questionnaire, numbered per question;
    a Likert grid's rows share its number and are written ``N、(row text)``.
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
    """The survey as the table a given export layout would hold (headers and cell values)."""
    a = survey.answers
    rs_of = inst.likert_response_scale()
    labels = {k: inst.response_scales[v].labels for k, v in rs_of.items()}
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
            for t, d in zip(survey.submitted, survey.duration_s)
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
