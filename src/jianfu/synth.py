"""Synthetic surveys with a known truth, in every layout HR offices send.

Respondents are nested in units; latent constructs follow a structural model in which
empowerment lowers burden, accountability pressure raises it directly and through blame
avoidance, and fault-tolerance awareness buffers pressure → blame avoidance. Likert items
are cut from ``λ·η + √(1−λ²)·ε`` at fixed thresholds, reverse items from ``−η``. Speeders,
straight-liners, attention failures, incomplete responses and duplicates are injected in
known, disjoint numbers, so tests can assert the pipeline finds exactly those rows.

Examples
--------
>>> from jianfu.instrument import load_instrument
>>> inst = load_instrument("instruments/cadre_burden.yaml")          # doctest: +SKIP
>>> survey = simulate(inst, n=300, seed=1)                            # doctest: +SKIP
>>> survey.injected["speeder"]                                        # doctest: +SKIP
9
>>> write_survey(survey, inst, "wjx.xlsx", fmt="wjx-text")            # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .instrument import Instrument
from .template import question_text

__all__ = ["SynthSurvey", "simulate", "write_survey", "FORMATS", "STRUCTURAL_TRUTH", "population_covariance",
           "population_coefficients"]

Format = Literal["wjx-text", "wjx-code", "template", "csv", "tencent"]
FORMATS: tuple[str, ...] = ("wjx-text", "wjx-code", "template", "csv", "tencent")

#: Generating coefficients of the latent structural model (standardised latents).
STRUCTURAL_TRUTH: dict[str, dict[str, float]] = {
    "blame_avoidance": {"accountability_pressure": 0.40, "fault_tolerance": -0.20,
                        "accountability_pressure:fault_tolerance": -0.20},
    "burden": {"incentive_power": -0.15, "coordination_power": -0.12, "disciplinary_power": -0.08,
               "discretion_resources": -0.15, "accountability_pressure": 0.25,
               "blame_avoidance": 0.20, "responsibility_clarity": -0.10},
    "initiative": {"burden": -0.25, "incentive_power": 0.15, "discretion_resources": 0.15,
                   "fault_tolerance": 0.20},
    "exhaustion": {"burden": 0.45, "digital_literacy": -0.10},
}

_THRESHOLDS = np.array([-1.3, -0.45, 0.35, 1.2])
_EMPOWERMENT = ["incentive_power", "coordination_power", "disciplinary_power", "discretion_resources"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
_PLACES = ["城关", "东城", "西湖", "南山", "北塘", "新桥", "青石", "柳河", "白沙", "金田",
           "长乐", "永安", "清水", "红旗", "枫林", "太平", "双河", "石门", "桃源", "龙泉"]
_LEVEL_SUFFIX = {"乡镇": "镇", "街道": "街道", "村（社区）": "社区"}


@dataclass
class SynthSurvey:
    """A generated survey: answers, paradata, and what was injected where.

    ``answers`` holds item and attention-check codes (float, NaN = missing), demographic
    labels and open answers, keyed by instrument ids. ``flags`` marks, per injected kind,
    the rows that carry it (disjoint). ``latent`` holds the generating factor scores.
    """

    answers: pd.DataFrame
    duration_s: np.ndarray
    submitted: list[datetime]
    flags: pd.DataFrame
    latent: pd.DataFrame
    pii: pd.DataFrame
    seed: int
    truth: dict[str, dict[str, float]] = field(default_factory=lambda: STRUCTURAL_TRUTH)

    @property
    def injected(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.flags.sum().items()}

    @property
    def n_quarantined(self) -> int:
        return int(self.flags.any(axis=1).sum())


_UNIT_SD = 0.35
#: The structural equations, in generation order: latent → ({parent or "a:b": coefficient},
#: residual SD). The four empowerment latents are exogenous, standard normal, correlated 0.3.
_EQUATIONS: dict[str, tuple[dict[str, float], float]] = {
    "accountability_pressure": ({}, 1.0),
    "fault_tolerance": ({e: 0.3 / len(_EMPOWERMENT) for e in _EMPOWERMENT}, 0.9),
    "digital_literacy": ({}, 1.0),
    "responsibility_clarity": ({"coordination_power": 0.25, "discretion_resources": 0.25}, 0.9),
    "blame_avoidance": (STRUCTURAL_TRUTH["blame_avoidance"], 0.85),
    "burden": (STRUCTURAL_TRUTH["burden"], 0.8),          # plus a random unit intercept, SD _UNIT_SD
    "initiative": (STRUCTURAL_TRUTH["initiative"], 0.85),
    "exhaustion": (STRUCTURAL_TRUTH["exhaustion"], 0.85),
}
_EMP_CORR = np.full((4, 4), 0.3) + np.eye(4) * 0.7


def population_covariance() -> pd.DataFrame:
    """The exact covariance of the raw latents implied by the structural equations.

    Each latent is a linear combination of independent sources (the correlated empowerment
    block, one residual per latent, the unit intercept) plus, for blame avoidance, the product
    of two independent zero-mean normals, which is uncorrelated with every linear source.
    """
    names = [*_EMPOWERMENT, *_EQUATIONS]
    sources = [*_EMPOWERMENT, *(f"e_{v}" for v in _EQUATIONS), "unit", "product"]
    A = pd.DataFrame(0.0, index=names, columns=sources)
    for k, e in enumerate(_EMPOWERMENT):
        A.loc[e, e] = 1.0
    cov_s = pd.DataFrame(0.0, index=sources, columns=sources)
    cov_s.loc[_EMPOWERMENT, _EMPOWERMENT] = _EMP_CORR
    for v in _EQUATIONS:
        cov_s.loc[f"e_{v}", f"e_{v}"] = 1.0
    cov_s.loc["unit", "unit"] = _UNIT_SD**2
    for v, (parents, sd) in _EQUATIONS.items():
        row = pd.Series(0.0, index=sources)
        for term, coef in parents.items():
            if ":" in term:
                a, b = (A.loc[p] for p in term.split(":"))
                var_a, var_b = a @ cov_s @ a, b @ cov_s @ b
                cov_s.loc["product", "product"] = var_a * var_b + (a @ cov_s @ b) ** 2
                row["product"] += coef
            else:
                row += coef * A.loc[term]
        row[f"e_{v}"] = sd
        if v == "burden":
            row["unit"] = 1.0
        A.loc[v] = row
    return A @ cov_s @ A.T


def population_coefficients(outcome: str, predictors: list[str]) -> dict[str, float]:
    """Population OLS slopes of ``outcome`` on ``predictors`` for the standardised latents that
    :func:`simulate` returns in ``latent`` — the truth a correctly specified regression on the
    latent scores estimates, omitted mediators and confounders included.

    Examples
    --------
    >>> round(population_coefficients("exhaustion", ["burden", "digital_literacy"])["digital_literacy"], 3)
    -0.103
    """
    cov = population_covariance()
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    beta = np.linalg.solve(corr.loc[predictors, predictors], corr.loc[predictors, outcome])
    return dict(zip(predictors, map(float, beta)))


def _latent_model(n: int, unit_effect: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    lat = pd.DataFrame(rng.multivariate_normal(np.zeros(4), _EMP_CORR, size=n), columns=_EMPOWERMENT)
    for v, (parents, sd) in _EQUATIONS.items():
        value = sd * rng.standard_normal(n)
        for term, coef in parents.items():
            a, *b = term.split(":")
            value = value + coef * (lat[a] * lat[b[0]] if b else lat[a])
        lat[v] = value + (unit_effect if v == "burden" else 0.0)
    # Standardised by the population SD, so population_coefficients() is the exact truth.
    return lat / np.sqrt(np.diag(population_covariance().loc[lat.columns, lat.columns]))


def _codes(eta: np.ndarray, loading: float, shift: float, rng: np.random.Generator) -> np.ndarray:
    y = loading * eta + np.sqrt(1 - loading**2) * rng.standard_normal(eta.shape[0]) + shift
    return (np.searchsorted(_THRESHOLDS, y) + 1).astype(float)


def simulate(inst: Instrument, n: int = 500, seed: int = 2024, *, n_units: int | None = None,
             inject: bool = True, rates: dict[str, float] | None = None,
             start: datetime | None = None) -> SynthSurvey:
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
    """
    rng = np.random.default_rng(seed)
    rates = rates or {"speeder": 0.03, "straightline": 0.02, "attention": 0.03,
                      "incomplete": 0.02, "duplicate": 0.02}
    counts = {k: (max(1, round(r * n)) if n >= 50 else 0) if inject else 0 for k, r in rates.items()}
    n_dup = counts["duplicate"]
    n_base = n - n_dup
    n_units = n_units or max(5, n // 15)

    level_opts = next(d.options for d in inst.demographics if d.id == "level") or ["乡镇"]
    unit_level = rng.choice(len(level_opts), size=n_units, p=_probs(len(level_opts), rng))
    unit_names = [f"{_PLACES[u % len(_PLACES)]}{'' if u < len(_PLACES) else u // len(_PLACES) + 1}"
                  f"{_LEVEL_SUFFIX.get(level_opts[unit_level[u]], '')}" for u in range(n_units)]
    region_of_unit = rng.integers(0, 4, size=n_units)
    unit = rng.integers(0, n_units, size=n_base)
    unit_effect = rng.normal(0, _UNIT_SD, size=n_units)[unit]

    lat = _latent_model(n_base, unit_effect, rng)
    answers: dict[str, np.ndarray | list] = {}
    for s in inst.first_order_scales:
        if s.id in lat:
            eta = lat[s.id].to_numpy()
        else:  # a burden subscale: second-order loading on perceived burden
            eta = 0.8 * lat["burden"].to_numpy() + 0.6 * rng.standard_normal(n_base)
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
        rows = order[pos:pos + k]
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
    flags = pd.concat([flags, pd.DataFrame({k: k == "duplicate" for k in rates}, index=range(n_dup))],
                      ignore_index=True)
    lat = pd.concat([lat, lat.iloc[sources]], ignore_index=True)

    # Rows in submission order, as exports list them.
    by_time = np.argsort(np.array(submitted, dtype="datetime64[s]"), kind="stable")
    frame = frame.iloc[by_time].reset_index(drop=True)
    flags = flags.iloc[by_time].reset_index(drop=True)
    lat = lat.iloc[by_time].reset_index(drop=True)
    duration = np.round(duration[by_time]).astype(int)
    submitted = [submitted[i] for i in by_time]
    pii = _fake_pii(len(frame), rng)
    return SynthSurvey(frame, duration, submitted, flags, lat, pii, seed)


def _probs(k: int, rng: np.random.Generator) -> np.ndarray:
    p = rng.dirichlet(np.full(k, 4.0))
    return p / p.sum()


def _fake_pii(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Names, mobile numbers and IPs such as real exports carry (all fictitious)."""
    names = [rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN, size=rng.integers(1, 3))) for _ in range(n)]
    phones = [f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}" for _ in range(n)]
    ips = [f"{rng.integers(1, 224)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"
           for _ in range(n)]
    return pd.DataFrame({"name": names, "phone": phones, "ip": ips})


# ---------------------------------------------------------------- layouts


def _wjx_columns(inst: Instrument) -> list[tuple[str, str, str]]:
    """(header, kind, id) in 问卷星 order: personal data, then the questionnaire, numbered per question;
    a Likert grid's rows share its number and are written ``N、(row text)``."""
    from .template import question_groups

    cols: list[tuple[str, str, str]] = [("1、您的姓名：", "pii", "name"), ("2、您的手机号码：", "pii", "phone")]
    for number, (kind, ids) in enumerate(question_groups(inst), start=3):
        for ident in ids:
            text = question_text(inst, ident)
            header = f"{number}、({text})" if kind == "likert" and len(ids) > 1 else \
                f"{number}、{text}" + ("：" if kind == "demo" else "")
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
        out["起答时间"] = [(t - timedelta(seconds=int(d))).strftime("%Y-%m-%d %H:%M:%S")
                       for t, d in zip(survey.submitted, survey.duration_s)]
        out["结束时间"] = [t.strftime("%Y-%m-%d %H:%M:%S") for t in survey.submitted]
        out["答题时长"] = [f"{d // 60}分{d % 60}秒" for d in survey.duration_s]
        columns = [(_tencent_header(h, kind, inst, ident), kind, ident) for h, kind, ident in _wjx_columns(inst)
                   if ident != "name"]
    else:
        columns = [(question_text(inst, ident), kind, ident) for _, kind, ident in _wjx_columns(inst)
                   if kind != "pii"]
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
        from .template import fill_template

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
