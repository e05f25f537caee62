"""Content validity of an instrument judged by an expert panel: I-CVI, modified κ*, S-CVI/Ave and S-CVI/UA.

Party-school researchers send each draft instrument to 5–10 experts, who rate how relevant every
item is to its construct on a 4-point scale (1 不相关 … 4 非常相关). :func:`write_rating_workbook`
writes that form from an instrument (construct, definition, item text and the seed quote it
operationalises); :func:`score_ratings` reads the returned forms — one workbook, several (one per
expert) or a DataFrame — and computes the item- and scale-level indices of Lynn (1986), Polit & Beck
(2006) and Polit, Beck & Owen (2007); :func:`write_cvi_result` writes a short Chinese-first workbook.
A form with a missing or impossible rating is refused with every problem located (file, sheet,
row, column) and the fix, in Chinese and English. The statistics are here; the Excel form and
result live in :mod:`jianfu.cvi.excel` and are re-exported.

Examples
--------
>>> import pandas as pd
>>> ratings = pd.DataFrame({"e1": [4, 3, 2], "e2": [4, 4, 3], "e3": [3, 4, 4]}, index=["q1", "q2", "q3"])
>>> res = score_ratings(ratings)
>>> res.items[["n_relevant", "i_cvi"]].round(2).values.tolist()
[[3.0, 1.0], [3.0, 1.0], [2.0, 0.67]]
>>> round(res.overall["s_cvi_ave"], 2), round(res.overall["s_cvi_ua"], 2)
(0.89, 0.67)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import comb
from pathlib import Path

import pandas as pd

from jianfu.cvi.excel import (
    INSTRUCTIONS_SHEET,
    RATINGS_SHEET,
    RELEVANCE,
    RatingsError,
    read_forms,
    write_cvi_result,
    write_rating_workbook,
)

__all__ = [
    "RATINGS_SHEET",
    "INSTRUCTIONS_SHEET",
    "RELEVANCE",
    "I_CVI_MIN",
    "S_CVI_AVE_MIN",
    "S_CVI_UA_MIN",
    "RatingsError",
    "CVIResult",
    "chance_agreement",
    "modified_kappa",
    "kappa_evaluation",
    "item_cvi",
    "score_ratings",
    "write_rating_workbook",
    "write_cvi_result",
]

#: An item is kept when its I-CVI is at least .78 (Lynn 1986; Polit, Beck & Owen 2007).
I_CVI_MIN = 0.78
#: Scale-level benchmarks: S-CVI/Ave ≥ .90 (Polit & Beck 2006), S-CVI/UA ≥ .80.
S_CVI_AVE_MIN = 0.90
S_CVI_UA_MIN = 0.80


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


def chance_agreement(n_experts: int, n_relevant: int) -> float:
    r"""Probability that ``n_relevant`` of ``n_experts`` call an item relevant by chance.

    Parameters
    ----------
    n_experts : int
        Number of experts who rated the item, N.
    n_relevant : int
        Number of them who rated it 3 or 4, A.

    Returns
    -------
    float
        p_c, the binomial probability of exactly A "relevant" ratings out of N when each expert
        says relevant or not relevant with probability .5.

    Notes
    -----
    .. math:: p_c = \frac{N!}{A!\,(N-A)!}\; 0.5^N

    References
    ----------
    Polit, D. F., Beck, C. T., & Owen, S. V. (2007). Is the CVI an acceptable indicator of content
    validity? Appraisal and recommendations. *Research in Nursing & Health, 30*, 459–467.

    Examples
    --------
    >>> round(chance_agreement(6, 5), 3)
    0.094
    """
    if not 0 <= n_relevant <= n_experts or n_experts < 1:
        raise ValueError(f"need 0 <= n_relevant <= n_experts and n_experts >= 1, got {n_relevant}/{n_experts}")
    return comb(n_experts, n_relevant) * 0.5**n_experts


def modified_kappa(n_experts: int, n_relevant: int) -> float:
    r"""Modified kappa κ*: the I-CVI adjusted for chance agreement.

    Parameters
    ----------
    n_experts : int
        Number of experts who rated the item, N.
    n_relevant : int
        Number of them who rated it 3 or 4, A.

    Returns
    -------
    float
        κ* = (I-CVI − p_c) / (1 − p_c).

    Notes
    -----
    With I-CVI = A / N and p_c from :func:`chance_agreement`,

    .. math:: \kappa^* = \frac{\text{I-CVI} - p_c}{1 - p_c}

    Polit, Beck & Owen (2007) evaluate κ* > .74 as excellent, .60–.74 good, .40–.59 fair (after
    Cicchetti & Sparrow 1981 and Fleiss 1981); see :func:`kappa_evaluation`.

    References
    ----------
    Polit, D. F., Beck, C. T., & Owen, S. V. (2007). Is the CVI an acceptable indicator of content
    validity? Appraisal and recommendations. *Research in Nursing & Health, 30*, 459–467.

    Examples
    --------
    Six experts, five rate the item relevant (Polit, Beck & Owen 2007: I-CVI .83, p_c .094, κ* .82):

    >>> round(modified_kappa(6, 5), 2)
    0.82
    >>> round(modified_kappa(9, 7), 2), round(modified_kappa(3, 3), 2)
    (0.76, 1.0)
    """
    pc = chance_agreement(n_experts, n_relevant)
    return (n_relevant / n_experts - pc) / (1 - pc)


def _r2(x: float) -> float:
    # Benchmarks apply to the two-decimal values the literature reports (7/9 = .7778 is the ".78"
    # Lynn's cut-off was derived from); the tiny offset rounds .745 up whatever its binary form.
    return round(x + 1e-9, 2)


def kappa_evaluation(kappa: float) -> tuple[str, str]:
    """Verbal evaluation of κ* in Chinese and English.

    Parameters
    ----------
    kappa : float
        A modified kappa from :func:`modified_kappa`.

    Returns
    -------
    tuple of str
        ``(zh, en)``: 优秀 excellent (κ* > .74), 良好 good (.60–.74), 一般 fair (.40–.59),
        差 poor (< .40), judged on κ* rounded to two decimals as in Polit, Beck & Owen (2007).

    Examples
    --------
    >>> kappa_evaluation(0.76), kappa_evaluation(0.47)
    (('优秀', 'excellent'), ('一般', 'fair'))
    """
    k = _r2(kappa)
    if k > 0.74:
        return "优秀", "excellent"
    if k >= 0.60:
        return "良好", "good"
    if k >= 0.40:
        return "一般", "fair"
    return "差", "poor"


def item_cvi(ratings: pd.DataFrame) -> pd.DataFrame:
    """Item-level content validity: N, A, I-CVI, p_c, κ* and its evaluation for every item.

    Parameters
    ----------
    ratings : DataFrame
        One row per item, one column per expert, complete integer ratings 1–4.

    Returns
    -------
    DataFrame
        Indexed like ``ratings`` with ``n_experts``, ``n_relevant`` (ratings of 3 or 4), ``i_cvi``
        (= A / N), ``pc``, ``kappa``, ``evaluation`` / ``evaluation_en`` and ``below_cutoff``
        (I-CVI below :data:`I_CVI_MIN` at two decimals).

    Notes
    -----
    I-CVI is the proportion of experts rating the item 3 or 4 (Lynn 1986); p_c and κ* follow
    Polit, Beck & Owen (2007), see :func:`modified_kappa`.

    References
    ----------
    Lynn, M. R. (1986). Determination and quantification of content validity. *Nursing Research,
    35*(6), 382–385.
    """
    n = ratings.shape[1]
    a = (ratings >= 3).sum(axis=1).astype(int)
    out = pd.DataFrame({"n_experts": n, "n_relevant": a, "i_cvi": a / n}, index=ratings.index)
    out["pc"] = [chance_agreement(n, int(k)) for k in a]
    out["kappa"] = [modified_kappa(n, int(k)) for k in a]
    labels = [kappa_evaluation(k) for k in out["kappa"]]
    out["evaluation"] = [zh for zh, _ in labels]
    out["evaluation_en"] = [en for _, en in labels]
    out["below_cutoff"] = [_r2(v) < I_CVI_MIN for v in out["i_cvi"]]
    return out


def _scale_cvi(i_cvi: pd.Series) -> tuple[float, float]:
    """S-CVI/Ave (mean I-CVI) and S-CVI/UA (share of items every expert rated relevant)."""
    return float(i_cvi.mean()), float((i_cvi == 1).mean())


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CVIResult:
    """Content-validity indices of one expert panel.

    ``items``: per item ``construct``, ``text``, ``n_experts``, ``n_relevant``, ``i_cvi``, ``pc``,
    ``kappa``, ``evaluation``/``evaluation_en``, ``below_cutoff``. ``scales``: per construct
    ``n_items``, ``s_cvi_ave``, ``s_cvi_ua``, ``n_below``. ``overall``: the same for all items plus
    ``n_experts``. ``experts``: the share of items each expert rated 3 or 4 (an expert far below the
    others reads the constructs differently). ``ratings``: the integer ratings scored.
    """

    items: pd.DataFrame
    scales: pd.DataFrame
    overall: dict
    experts: pd.Series
    ratings: pd.DataFrame
    sources: list[str]
    instrument: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready summary (``jianfu cvi score --json``)."""
        items = self.items.drop(columns=["text"]).reset_index(names="item")
        scales = self.scales.reset_index(names="construct")
        return {
            "instrument": self.instrument,
            "sources": self.sources,
            "overall": self.overall,
            "scales": scales.to_dict(orient="records"),
            "items": items.to_dict(orient="records"),
            "experts": {k: float(v) for k, v in self.experts.items()},
            "below_cutoff": [str(i) for i in self.items.index[self.items["below_cutoff"]]],
            "notes": self.notes,
        }


def score_ratings(
    source: str | Path | pd.DataFrame | Sequence[str | Path | pd.DataFrame],
    constructs: Mapping[str, str] | None = None,
) -> CVIResult:
    """Score returned rating forms: I-CVI, p_c, κ* per item; S-CVI/Ave and S-CVI/UA per construct and overall.

    Parameters
    ----------
    source : path, DataFrame, or a sequence of them
        Forms written by :func:`write_rating_workbook` and filled in by the experts — one with all
        experts, or one per expert (their columns are put side by side; a header used in two files
        is prefixed with the file name). A DataFrame has one row per item (the index holds item ids)
        and one column per expert. Expert columns left entirely blank are ignored.
    constructs : mapping, optional
        Item id → construct, for DataFrame input (forms carry their construct column).

    Returns
    -------
    CVIResult

    Raises
    ------
    RatingsError
        Listing every missing rating, value outside 1–4, missing sheet or broken header, with its
        file, sheet, row, column and fix.

    Notes
    -----
    For N experts and an item rated 3 or 4 by A of them: I-CVI = A / N (Lynn 1986);
    p_c = [N! / (A!(N − A)!)]·0.5^N and κ* = (I-CVI − p_c)/(1 − p_c) (Polit, Beck & Owen 2007).
    S-CVI/Ave is the mean I-CVI of a construct's items and S-CVI/UA the proportion of its items
    rated 3 or 4 by every expert (Polit & Beck 2006). Items with I-CVI below .78 are marked.

    References
    ----------
    Lynn, M. R. (1986). Determination and quantification of content validity. *Nursing Research,
    35*(6), 382–385.
    Polit, D. F., & Beck, C. T. (2006). The content validity index: Are you sure you know what's
    being reported? *Research in Nursing & Health, 29*, 489–497.
    Polit, D. F., Beck, C. T., & Owen, S. V. (2007). Is the CVI an acceptable indicator of content
    validity? *Research in Nursing & Health, 30*, 459–467.
    """
    panel = read_forms(source, constructs)
    ratings = panel.ratings
    items = item_cvi(ratings)
    items.insert(0, "construct", panel.constructs.reindex(items.index).fillna("").replace("", "全部 All"))
    items.insert(1, "text", panel.texts.reindex(items.index).fillna(""))
    scales = pd.DataFrame(
        [
            (name, len(g), *_scale_cvi(g["i_cvi"]), int(g["below_cutoff"].sum()))
            for name, g in items.groupby("construct", sort=False)
        ],
        columns=["construct", "n_items", "s_cvi_ave", "s_cvi_ua", "n_below"],
    ).set_index("construct")
    ave, ua = _scale_cvi(items["i_cvi"])
    overall = {
        "n_items": len(items),
        "n_experts": ratings.shape[1],
        "s_cvi_ave": ave,
        "s_cvi_ua": ua,
        "n_below": int(items["below_cutoff"].sum()),
    }
    notes = []
    if ratings.shape[1] < 3:
        notes.append(
            "专家少于 3 位，内容效度指数不足为据（Lynn 1986 建议至少 3 位）。"
            "Fewer than 3 experts: the indices carry little evidence (Lynn 1986 asks for at least 3)."
        )
    return CVIResult(
        items=items,
        scales=scales,
        overall=overall,
        experts=(ratings >= 3).mean(),
        ratings=ratings,
        sources=panel.files,
        instrument=panel.instrument,
        notes=notes,
    )
