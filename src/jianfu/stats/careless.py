"""Careless-responding indices: multiple hurdles beyond speeders, straight-lining and attention checks.

The five indices of Curran (2016), computed as the R package ``careless`` (Yentes & Wilhelm, 1.2.2) does,
so that a reviewer can reproduce them:

* **longstring** — the longest run of identical consecutive answers (Johnson, 2005); with ``average``
  also the mean run length, k / number of runs. A missing answer ends a run and is a run of its own
  (R's ``rle``).
* **irv** — intra-individual response variability, the SD of a respondent's answers (n − 1
  denominator; Dunn et al., 2018); with ``split`` also the SD within consecutive chunks cut as R's
  ``cut(seq_along(x), n)``.
* **mahalanobis** — D²ᵢ = (xᵢ − x̄)ᵀ S⁻¹ (xᵢ − x̄) with the pairwise-complete covariance S, its p from
  χ²(k) and a flag at p < .001 (Tabachnick & Fidell, 2013; Meade & Craig, 2012). A missing answer is
  handled, by default, by using only the answered items: D² on the answered sub-vector with the
  matching sub-matrix of S, tested on as many df as items answered (``missing="available"``). R's
  ``careless::mahad`` (via ``psych::outlier``) instead counts a missing answer as a zero deviation and
  still tests on k df, which understates D² of incomplete rows (``missing="mean"`` reproduces it).
* **even_odd** — per scale, the mean of the odd-position and of the even-position items; r between the
  two vectors of half-scale means across scales (pairwise complete), Spearman–Brown corrected
  r_SB = 2r / (1 + r), floored at −1, and returned negated, −r_SB, as ``careless`` ≥ 1.2 does, so that
  higher means more careless (Johnson, 2005; Jackson, 1976). Reverse-keyed items must already be
  reversed. Undefined (NaN) when a half has no variance across scales.
* **psychsyn** — psychometric synonyms: the item pairs whose sample correlation exceeds ``critval`` = .60
  (pairwise complete; Meade & Craig, 2012), and per respondent the Pearson r between the first and the
  second items of those pairs, if more than two pairs are answered. ``anto=True`` takes the pairs below
  −``critval`` (psychometric antonyms). Undefined when either column has no variance; ``careless``
  then reshuffles the pairs at random up to ten times (``resample_na``), here off by default so that
  flags are reproducible.

:func:`careless_flags` turns the indices into boolean flags with :class:`CarelessThresholds` and counts
them per row, so that a row can be quarantined only when several indices agree (Curran, 2016,
recommends multiple hurdles rather than one strict screen).

References
----------
Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in survey data.
*Journal of Experimental Social Psychology*, 66, 4–19. https://doi.org/10.1016/j.jesp.2015.07.006
Dunn, A. M., Heggestad, E. D., Shanock, L. R., & Theilgard, N. (2018). Intra-individual response
variability as an indicator of insufficient effort responding. *Journal of Business and Psychology*,
33, 105–121.
Jackson, D. N. (1976). *The appraisal of personal reliability*. Paper presented at the meetings of the
Society of Multivariate Experimental Psychology, University Park, PA.
Johnson, J. A. (2005). Ascertaining the validity of individual protocols from web-based personality
inventories. *Journal of Research in Personality*, 39(1), 103–129.
Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data. *Psychological
Methods*, 17(3), 437–455.
Tabachnick, B. G., & Fidell, L. S. (2013). *Using multivariate statistics* (6th ed.). Pearson.
Yentes, R. D., & Wilhelm, F. (2023). *careless: Procedures for computing indices of careless
responding* (R package version 1.2.2). https://github.com/ryentes/careless

Examples
--------
>>> import pandas as pd
>>> answers = pd.DataFrame({"q1": [4, 3, 5], "q2": [4, 2, 1], "q3": [4, 3, 4], "q4": [2, 5, 3]})
>>> longstring(answers).tolist()                 # In R: careless::longstring(answers)
[3, 1, 1]
>>> irv(answers).round(3).tolist()               # In R: careless::irv(answers)
[1.0, 1.258, 1.708]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats

from .estimable import NotEstimable, require

__all__ = [
    "INDICES",
    "CarelessThresholds",
    "longstring",
    "irv",
    "mahalanobis",
    "even_odd",
    "synonym_pairs",
    "psychsyn",
    "careless_indices",
    "careless_flags",
]

INDICES = ("longstring", "irv", "mahalanobis", "even_odd", "psychsyn")
"""Names of the flag columns of :func:`careless_flags`, in the order of Curran (2016)."""


@dataclass(frozen=True)
class CarelessThresholds:
    """When an index flags a row (the instrument's ``quality.careless`` section).

    None of these cut-offs is universal (Curran, 2016; the ``careless`` vignette says no general rule
    of thumb exists); the defaults are conservative, so that with two agreeing flags required a
    diligent respondent is rarely quarantined.

    Attributes
    ----------
    longstring : float
        Flag when the longest run of identical answers is at least this share of the battery's items.
        Default 0.5: Curran (2016) suggests, as a baseline, a run of half the scale's length or more.
    irv : float
        Flag when the SD of a row's answers is below this share of the response range (max − min
        answer). Default 0.125, i.e. SD < 0.5 on a 1–5 scale: e.g. three answers in five or more on one
        option and the rest on the next one — near straight-lining, which low IRV marks (Dunn et al., 2018).
    mahalanobis : float
        Flag when D²'s p-value is below this. Default .001 (Tabachnick & Fidell, 2013; Meade & Craig, 2012).
    even_odd : float
        Flag when the Spearman–Brown corrected even–odd r is below this. Default .30, Jackson's (1976)
        cut-off for individual reliability as used by Johnson (2005).
    psychsyn : float
        Flag when the within-person correlation over psychometric synonyms is below this. Default 0:
        a diligent respondent answers items that most people answer alike, alike (r > 0; Meade & Craig,
        2012); random answers give r around 0, so about half of random responders fall below.
    psychsyn_critval : float
        Sample correlation above which an item pair counts as synonyms. Default .60 (Meade & Craig, 2012;
        ``careless::psychsyn``).
    """

    longstring: float = 0.5
    irv: float = 0.125
    mahalanobis: float = 0.001
    even_odd: float = 0.30
    psychsyn: float = 0.0
    psychsyn_critval: float = 0.60

    @classmethod
    def from_mapping(cls, values: Mapping | None) -> CarelessThresholds:
        """Thresholds from a YAML mapping; keys left out keep their defaults, unknown keys are an error."""
        values = dict(values or {})
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            names = ", ".join(unknown)
            raise ValueError(f"未知的粗心作答阈值：{names} | unknown careless-responding thresholds: {names}")
        return cls(**{k: float(v) for k, v in values.items()})


def _matrix(frame: pd.DataFrame, items: Sequence[str] | None) -> np.ndarray:
    cols = list(frame.columns) if items is None else list(items)
    absent = [c for c in cols if c not in frame.columns]
    if absent:
        names = ", ".join(map(str, absent))
        raise KeyError(f"数据中没有这些题目：{names} | items not in the data: {names}")
    if not cols:
        raise ValueError("没有题目可计算 | no items given")
    return frame[cols].to_numpy(dtype=float, copy=True)


def _pairwise(x: np.ndarray, corr: bool = False) -> np.ndarray:
    """Pairwise-complete covariances (n − 1) or Pearson correlations of the columns of ``x`` (NaN missing).

    The values of pandas' ``DataFrame.cov()`` / ``.corr()`` (R's ``use = "pairwise"``) from four
    matrix products: every pair's count, sums and cross-products over the rows answering both,
    on columns centred first so that the sums stay small. pandas visits the pairs one at a time
    (0.6 s for 20,000 × 64 answers, against 0.05 s here).

    >>> x = np.array([[1, 2, np.nan], [2, 1, 3], [3, 4, 1], [4, 3, 2.0]])
    >>> bool(np.allclose(_pairwise(x), pd.DataFrame(x).cov()))
    True
    """
    m = ~np.isnan(x)
    mf = m.astype(float)
    counts = mf.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.where(counts > 0, np.where(m, x, 0.0).sum(axis=0) / counts, 0.0)
        x0 = np.where(m, x - centre, 0.0)
        n = mf.T @ mf
        sx = x0.T @ mf  # sx[i, j]: Σ xᵢ over the rows that answer both i and j
        cross = x0.T @ x0 - sx * sx.T / n
        if not corr:
            return cross / (n - 1)
        ss = (x0 * x0).T @ mf - sx * sx / n  # Σ (xᵢ − x̄ᵢ⁽ʲ⁾)² over the same rows
        return cross / np.sqrt(ss * ss.T)


def _row_sd(x: np.ndarray) -> np.ndarray:
    """SD of each row over its non-missing values (n − 1), NaN with fewer than two (R's ``sd(na.rm=TRUE)``)."""
    ok = ~np.isnan(x)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=1) / n
        ss = np.where(ok, (x - mean[:, None]) ** 2, 0.0).sum(axis=1)
        return np.where(n >= 2, np.sqrt(ss / (n - 1)), np.nan)


def _row_mean(x: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(ok, x, 0.0).sum(axis=1) / n, np.nan)


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of ``a[i]`` with ``b[i]`` for every row i.

    Over the positions where both are present (R's ``cor(use = "pairwise.complete.obs")`` row by row).
    NaN with fewer than two such positions or when either vector is constant there — judged by
    max == min, not by a rounded variance, so that a constant vector is never given a spurious r.
    """
    ok = ~(np.isnan(a) | np.isnan(b))
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(ok, a - np.where(ok, a, 0.0).sum(axis=1, keepdims=True) / n[:, None], 0.0)
        db = np.where(ok, b - np.where(ok, b, 0.0).sum(axis=1, keepdims=True) / n[:, None], 0.0)
        r = (da * db).sum(axis=1) / np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    constant = np.zeros(len(a), dtype=bool)
    for v in (a, b):
        constant |= np.where(ok, v, -np.inf).max(axis=1) == np.where(ok, v, np.inf).min(axis=1)
    r = np.clip(r, -1.0, 1.0)
    r[(n < 2) | constant] = np.nan
    return r


def longstring(frame: pd.DataFrame, items: Sequence[str] | None = None, *, average: bool = False):
    """Longest run of identical consecutive answers per row (and the average run length).

    Parameters
    ----------
    frame : DataFrame
        One row per respondent; answers as given (before reverse-keying), NaN when missing.
    items : sequence of str, optional
        Item columns in the order they were presented; all columns by default.
    average : bool
        Also return the mean run length k / (number of runs).

    Returns
    -------
    Series ``longstring`` (int, or float NaN for a row with no answer), or with ``average`` a DataFrame
    with columns ``longstring`` and ``average``.

    Notes
    -----
    As R's ``rle``, a missing answer ends the run before it and forms a run of length one, so a
    straight line with one skipped item counts as two runs.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame([[3, 3, 3, 2, 2], [1, 2, None, 2, 2]], columns=list("abcde"))
    >>> longstring(x, average=True)          # In R: careless::longstring(x, avg = TRUE)
       longstring  average
    0           3     2.50
    1           2     1.25
    """
    x = _matrix(frame, items)
    n, k = x.shape
    run = np.ones(n)
    best = np.ones(n)
    runs = np.ones(n)
    for j in range(1, k):
        same = x[:, j] == x[:, j - 1]  # NaN == NaN is False: a missing answer breaks the run, as rle
        run = np.where(same, run + 1, 1)
        best = np.maximum(best, run)
        runs += ~same
    none = np.isnan(x).all(axis=1)
    longest = pd.Series(best, index=frame.index, name="longstring")
    longest = longest.astype(int) if not none.any() else longest.where(~none)
    if not average:
        return longest
    return pd.DataFrame({"longstring": longest, "average": np.where(none, np.nan, k / runs)}, index=frame.index)


def _r_cut(k: int, n: int) -> np.ndarray:
    """Chunk number 0..n−1 of positions 1..k as R's ``cut(seq_along(x), n, labels = FALSE)``.

    n equal-width right-closed intervals over [1, k], the outer limits widened by (k − 1)/1000.
    """
    by = (k - 1) / n
    breaks = 1 + np.arange(n + 1) * by
    breaks[0], breaks[-1] = 1 - (k - 1) / 1000, k + (k - 1) / 1000
    return np.searchsorted(breaks, np.arange(1, k + 1), side="left") - 1


def irv(frame: pd.DataFrame, items: Sequence[str] | None = None, *, split: int | None = None):
    """Intra-individual response variability: the SD of each row's answers.

    Parameters
    ----------
    frame : DataFrame
        One row per respondent, NaN when missing.
    items : sequence of str, optional
        Item columns in presentation order; all columns by default.
    split : int, optional
        Also the SD within ``split`` consecutive chunks of the items (2 ≤ split ≤ number of items),
        cut as ``careless::irv(split = TRUE, num.split = split)`` does.

    Returns
    -------
    Series ``irv``, or with ``split`` a DataFrame with ``irv`` and ``irv1`` … ``irv<split>``.

    Notes
    -----
    IRVᵢ = √(Σⱼ (xᵢⱼ − x̄ᵢ)² / (kᵢ − 1)) over the kᵢ answered items; NaN when kᵢ < 2. Low values mark
    straight-lining, high ones random answering (Dunn et al., 2018).

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame([[3, 3, 3, 3, 4, 2], [1, 5, 1, 5, 3, None]])
    >>> irv(x, split=2).round(4)              # In R: careless::irv(x, split = TRUE, num.split = 2)
          irv    irv1    irv2
    0  0.6325  0.0000  1.0000
    1  2.0000  2.3094  1.4142
    """
    x = _matrix(frame, items)
    out = pd.Series(_row_sd(x), index=frame.index, name="irv")
    if split is None:
        return out
    k = x.shape[1]
    if not 2 <= split <= k:
        raise ValueError(f"split 须在 2 与题目数 {k} 之间 | split must be between 2 and the number of items ({k})")
    chunk = _r_cut(k, split)
    parts = {f"irv{c + 1}": _row_sd(x[:, chunk == c]) for c in range(split)}
    return pd.DataFrame({"irv": out, **parts}, index=frame.index)


#: Rows missing at most this many answers get D² from the inverse of the full S (below).
_SCHUR_MAX_MISSING = 24


def _d2_available(dev: np.ndarray, answered: np.ndarray, cov: np.ndarray, well_conditioned: bool) -> np.ndarray:
    """D² of each row over its answered items, d_Oᵀ S_OO⁻¹ d_O, without a solve per pattern.

    Scattered non-response gives nearly every row its own pattern (15,000 patterns in 20,000 rows),
    so a solve per pattern costs seconds. With P = S⁻¹ and M the row's missing items,
    S_OO⁻¹ = P_OO − P_OM P_MM⁻¹ P_MO, hence with y = P d̃ (d̃: the deviations, 0 where missing)

        D² = d̃ᵀ y − y_Mᵀ P_MM⁻¹ y_M,

    one product for all rows plus an m × m solve per row missing m answers, batched by m. Rows
    missing many answers, and every row when S is ill-conditioned, are solved by pattern instead.
    """
    d0 = np.where(answered, dev, 0.0)
    out = np.full(len(dev), np.nan)
    n_missing = (~answered).sum(axis=1)
    by_pattern = np.ones(len(dev), dtype=bool)
    if well_conditioned:
        P = np.linalg.inv(cov)
        y = d0 @ P
        quad = np.einsum("ij,ij->i", d0, y)
        for m in np.unique(n_missing[n_missing <= _SCHUR_MAX_MISSING]):
            rows = np.flatnonzero(n_missing == m)
            by_pattern[rows] = False
            if m == 0:
                out[rows] = quad[rows]
                continue
            for chunk in np.array_split(rows, max(1, len(rows) * m * m // 2_000_000 + 1)):
                idx = np.nonzero(~answered[chunk])[1].reshape(len(chunk), m)  # row-major: each row's columns
                y_m = np.take_along_axis(y[chunk], idx, axis=1)
                p_mm = P[idx[:, :, None], idx[:, None, :]]
                out[chunk] = quad[chunk] - np.einsum("ij,ij->i", y_m, np.linalg.solve(p_mm, y_m[:, :, None])[:, :, 0])
    rest = np.flatnonzero(by_pattern)
    if rest.size:
        patterns, which = np.unique(answered[rest], axis=0, return_inverse=True)
        which = which.ravel()
        for p, seen in enumerate(patterns):
            rows = rest[which == p]
            d = dev[np.ix_(rows, seen)]
            out[rows] = np.einsum("ij,ij->i", d, np.linalg.solve(cov[np.ix_(seen, seen)], d.T).T)
    return out


def mahalanobis(
    frame: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    alpha: float = 0.001,
    missing: str = "available",
) -> pd.DataFrame:
    """Mahalanobis D² of each row from the sample centroid, its χ² p-value and a flag.

    Parameters
    ----------
    frame : DataFrame
        One row per respondent, NaN when missing.
    items : sequence of str, optional
        Item columns; all columns by default.
    alpha : float
        Flag rows with p < ``alpha`` (default .001).
    missing : {"available", "mean"}
        ``"available"`` (default): D² of the answered items only, with the sub-matrix of S, on as many df
        as items answered. ``"mean"``: a missing answer is a zero deviation and df = k, as
        ``careless::mahad`` / ``psych::outlier``.

    Returns
    -------
    DataFrame with ``d2``, ``df``, ``p`` and ``flag`` (NaN / False for a row with no answer).

    Raises
    ------
    NotEstimable
        Fewer answering rows than items, an item that does not vary, or items that are linearly
        dependent (S singular).

    Notes
    -----
    D²ᵢ = (xᵢ − x̄)ᵀ S⁻¹ (xᵢ − x̄), x̄ the item means over available answers, S the pairwise-complete
    covariance (n − 1), p = P(χ²_df > D²ᵢ). With missing answers the sub-matrix inverse comes from S⁻¹ by
    the Schur complement (:func:`_d2_available`), one small solve per row instead of one per pattern.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 2], "b": [2, 1, 4, 3, 5, 5]})
    >>> mahalanobis(x).round(3)          # In R: careless::mahad(x, flag = TRUE, confidence = .999)
          d2  df      p   flag
    0  1.587   2  0.452  False
    1  2.090   2  0.352  False
    2  0.181   2  0.913  False
    3  1.163   2  0.559  False
    4  2.250   2  0.325  False
    5  2.729   2  0.256  False
    """
    if missing not in ("available", "mean"):
        raise ValueError(f"missing 须为 'available' 或 'mean' | missing must be 'available' or 'mean', not {missing!r}")
    x = _matrix(frame, items)
    n, k = x.shape
    answered = ~np.isnan(x)
    some = answered.any(axis=1)
    require(
        some.sum() > k,
        f"马氏距离：作答 {some.sum()} 人，少于或等于题目数 {k}",
        f"Mahalanobis distance: {some.sum()} respondents for {k} items (need more respondents than items)",
    )
    cov = _pairwise(x)  # pairwise complete, n − 1, as R's cov(use = "pairwise")
    require(
        np.isfinite(cov).all(),
        "马氏距离：有两道题从未被同一人同时作答，无法估计其协方差",
        "Mahalanobis distance: two items were never answered by the same respondent, so their covariance is unknown",
    )
    flat = np.flatnonzero(np.diag(cov) <= 0)
    require(
        flat.size == 0,
        f"马氏距离：第 {', '.join(str(j + 1) for j in flat)} 题没有变化",
        f"Mahalanobis distance: item(s) {', '.join(str(j + 1) for j in flat)} do not vary",
    )
    eig = np.linalg.eigvalsh(cov)
    require(
        eig[0] > 1e-10 * eig[-1],
        "马氏距离：题目之间线性相关（协方差矩阵奇异）",
        "Mahalanobis distance: the items are linearly dependent (singular covariance matrix)",
    )
    dev = x - np.nanmean(x[some], axis=0)
    d2 = np.full(n, np.nan)
    df = np.full(n, np.nan)
    if missing == "mean":
        d0 = np.where(answered, dev, 0.0)
        d2[some] = np.einsum("ij,ij->i", d0[some], np.linalg.solve(cov, d0[some].T).T)
        df[some] = k
    else:
        d2[some] = _d2_available(dev[some], answered[some], cov, well_conditioned=eig[0] > 1e-8 * eig[-1])
        df[some] = answered[some].sum(axis=1)
    p = np.full(n, np.nan)
    p[some] = stats.chi2.sf(d2[some], df[some])
    out = pd.DataFrame({"d2": d2, "df": df, "p": p, "flag": np.nan_to_num(p, nan=1.0) < alpha}, index=frame.index)
    if some.all():
        out["df"] = out["df"].astype(int)
    return out


def even_odd(frame: pd.DataFrame, items_by_scale: Mapping[str, Sequence[str]]) -> pd.Series:
    """Even–odd consistency, negated as ``careless::evenodd``: higher means more careless.

    Parameters
    ----------
    frame : DataFrame
        One row per respondent, reverse-keyed items already reversed, NaN when missing.
    items_by_scale : mapping of str to sequence of str
        Each scale's items in presentation order; odd and even refer to positions within the scale
        (1st, 3rd, … and 2nd, 4th, …). At least two scales.

    Returns
    -------
    Series ``even_odd`` = −r_SB in [−1, 1]; NaN where r is undefined (a half without variance across
    scales, fewer than two scales with both halves answered).

    Raises
    ------
    NotEstimable
        Fewer than two scales, the least the method needs (careless stops there too).

    Notes
    -----
    For each scale s the row's means E_s (even positions) and O_s (odd positions); r = cor(E, O) over
    scales with both present; r_SB = 2r / (1 + r), floored at −1 (r < −1/3 would give less). Johnson
    (2005) reads r_SB < .30 as an invalid protocol, i.e. ``even_odd`` > −.30. Needs many scales to be
    stable: with s scales r rests on s points.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame([[1, 1, 2, 3, 3, 4, 5, 5], [5, 1, 1, 5, 5, 1, 1, 5]], columns=list("abcdefgh"))
    >>> scales = {"s1": ["a", "b"], "s2": ["c", "d"], "s3": ["e", "f"], "s4": ["g", "h"]}
    >>> even_odd(x, scales).round(4).tolist()      # In R: careless::evenodd(x, c(2, 2, 2, 2))
    [-0.9706, 1.0]
    """
    scales = [list(v) for v in items_by_scale.values()]
    require(
        len(scales) >= 2,
        "奇偶一致性至少需要两个量表",
        "even-odd consistency needs at least two scales",
    )
    odd = np.column_stack([_row_mean(_matrix(frame, s[0::2])) for s in scales])
    even = np.column_stack(
        [_row_mean(_matrix(frame, s[1::2])) if len(s) > 1 else np.full(len(frame), np.nan) for s in scales]
    )
    r = _rowwise_pearson(even, odd)
    with np.errstate(divide="ignore", invalid="ignore"):
        sb = np.maximum(2 * r / (1 + r), -1.0)  # r = −1 gives −inf, floored to −1 as careless does
    return pd.Series(-sb, index=frame.index, name="even_odd")


def synonym_pairs(
    frame: pd.DataFrame, items: Sequence[str] | None = None, *, critval: float = 0.60, anto: bool = False
) -> list[tuple[str, str]]:
    """Item pairs whose sample correlation exceeds ``critval`` (below −``critval`` with ``anto``).

    Correlations are pairwise complete; pairs are listed as ``careless`` finds them (by the second item
    in column order, then the first). Examples are under :func:`psychsyn`.
    """
    cols = list(frame.columns) if items is None else list(items)
    corr = _pairwise(_matrix(frame, cols), corr=True)
    c = abs(critval)
    hit = corr < -c if anto else corr > c
    return [(cols[i], cols[j]) for j in range(len(cols)) for i in range(j + 1, len(cols)) if hit[i, j]]


def psychsyn(
    frame: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    critval: float = 0.60,
    anto: bool = False,
    pairs: Sequence[tuple[str, str]] | None = None,
    resample_na: bool = False,
    random_state: int | np.random.Generator | None = None,
    diag: bool = False,
):
    """Psychometric synonyms (antonyms): within-person r over item pairs that correlate strongly.

    Parameters
    ----------
    frame : DataFrame
        One row per respondent, NaN when missing.
    items : sequence of str, optional
        Items among which pairs are sought; all columns by default.
    critval : float
        A pair is a synonym when its sample r > ``critval`` (antonym: r < −``critval``); default .60.
    anto : bool
        Psychometric antonyms instead of synonyms (``careless::psychant``).
    pairs : sequence of (str, str), optional
        The pairs to use, e.g. from a reference sample; found with :func:`synonym_pairs` by default.
    resample_na : bool
        Where r is undefined (one column without variance), swap the two items of each pair at random
        and retry, at most ten times, as careless's default does. Off by default: reproducible flags.
    random_state : int or Generator, optional
        Seed for ``resample_na``.
    diag : bool
        Also return the number of pairs answered.

    Returns
    -------
    Series ``psychsyn``, or with ``diag`` a DataFrame with ``n_pairs`` and ``psychsyn``. NaN with two
    answered pairs or fewer.

    Raises
    ------
    NotEstimable
        No pair passes ``critval`` (careless stops there too).

    Notes
    -----
    With the P pairs (aₚ, bₚ), rᵢ = cor((xᵢₐ₁ … xᵢₐₚ), (xᵢ_b₁ … xᵢ_bₚ)) over the pairs row i answered. A
    diligent respondent answers synonyms alike (r near 1; antonyms near −1), a random one not (r near 0).

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a1": [1, 2, 3, 4, 5, 2, 4, 3, 1, 5], "a2": [1, 2, 3, 5, 5, 2, 4, 3, 2, 3],
    ...                   "b1": [3, 5, 1, 2, 4, 4, 1, 5, 2, 3], "b2": [3, 4, 1, 2, 4, 5, 2, 5, 2, 1],
    ...                   "c1": [5, 1, 4, 2, 3, 3, 5, 1, 4, 2], "c2": [4, 1, 4, 2, 3, 3, 5, 2, 5, 5]})
    >>> synonym_pairs(x)                      # In R: careless::psychsyn_critval(x)
    [('a2', 'a1'), ('b2', 'b1'), ('c2', 'c1')]
    >>> psychsyn(x).round(3).tolist()         # In R: careless::psychsyn(x, .60)
    [0.982, 0.996, 1.0, 1.0, 1.0, 0.982, 0.996, 0.982, 0.945, -0.327]
    """
    if pairs is None:
        pairs = synonym_pairs(frame, items, critval=critval, anto=anto)
    require(
        len(pairs) > 0,
        f"没有样本相关{'低于 −' if anto else '高于 '}{abs(critval):.2f} 的题目对",
        f"no item pair correlates {'below −' if anto else 'above '}{abs(critval):.2f} in the sample",
    )
    a = _matrix(frame, [p[0] for p in pairs])
    b = _matrix(frame, [p[1] for p in pairs])
    n_pairs = (~(np.isnan(a) | np.isnan(b))).sum(axis=1)
    r = _rowwise_pearson(a, b)
    r[n_pairs <= 2] = np.nan
    if resample_na:
        rng = np.random.default_rng(random_state)
        for _ in range(10):
            todo = np.flatnonzero(np.isnan(r) & (n_pairs > 2))
            if todo.size == 0:
                break
            swap = rng.random((todo.size, a.shape[1])) < 0.5
            a[todo], b[todo] = np.where(swap, b[todo], a[todo]), np.where(swap, a[todo], b[todo])
            r[todo] = _rowwise_pearson(a[todo], b[todo])
    out = pd.Series(r, index=frame.index, name="psychsyn")
    return pd.DataFrame({"n_pairs": n_pairs, "psychsyn": out}, index=frame.index) if diag else out


def careless_indices(
    frame: pd.DataFrame,
    items_by_scale: Mapping[str, Sequence[str]],
    *,
    keyed: pd.DataFrame | None = None,
    critval: float = 0.60,
) -> pd.DataFrame:
    """The five indices per row, over all items of ``items_by_scale`` in the order given.

    Parameters
    ----------
    frame : DataFrame
        Answers as given (longstring and IRV read what the respondent clicked).
    items_by_scale : mapping of str to sequence of str
        Scales and their items in presentation order.
    keyed : DataFrame, optional
        The same answers with reverse-keyed items reversed (:func:`jianfu.scoring.keyed_items`), used by
        even–odd consistency; ``frame`` when omitted (no reverse-keyed items).
    critval : float
        Synonym threshold for :func:`psychsyn`.

    Returns
    -------
    DataFrame with ``longstring``, ``irv``, ``mahalanobis_d2``, ``mahalanobis_p``, ``even_odd`` and
    ``psychsyn``. An index that cannot be computed on these data is NaN, and ``attrs["not_estimable"]``
    maps its name to ``{"zh": …, "en": …}`` saying why.

    Examples
    --------
    See :func:`careless_flags`.
    """
    items = list(dict.fromkeys(i for scale in items_by_scale.values() for i in scale))
    out = pd.DataFrame(index=frame.index)
    out["longstring"] = longstring(frame, items).astype(float)
    out["irv"] = irv(frame, items)
    reasons: dict[str, dict] = {}
    try:
        d = mahalanobis(frame, items)
        out["mahalanobis_d2"], out["mahalanobis_p"] = d["d2"], d["p"]
    except NotEstimable as exc:
        out["mahalanobis_d2"] = out["mahalanobis_p"] = np.nan
        reasons["mahalanobis"] = exc.result()["reason"]
    try:
        out["even_odd"] = even_odd(frame if keyed is None else keyed, items_by_scale)
    except NotEstimable as exc:
        out["even_odd"] = np.nan
        reasons["even_odd"] = exc.result()["reason"]
    try:
        out["psychsyn"] = psychsyn(frame, items, critval=critval)
    except NotEstimable as exc:
        out["psychsyn"] = np.nan
        reasons["psychsyn"] = exc.result()["reason"]
    out.attrs["not_estimable"] = reasons
    return out


def careless_flags(
    frame: pd.DataFrame,
    items_by_scale: Mapping[str, Sequence[str]],
    thresholds: CarelessThresholds | Mapping | None = None,
    *,
    keyed: pd.DataFrame | None = None,
    response_range: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Boolean careless-responding flags per row and how many of them a row raises.

    Parameters
    ----------
    frame : DataFrame
        Answers as given, one row per respondent, NaN when missing.
    items_by_scale : mapping of str to sequence of str
        Scales and their items in presentation order (the battery).
    thresholds : CarelessThresholds or mapping, optional
        Cut-offs (see :class:`CarelessThresholds` for the defaults and their sources).
    keyed : DataFrame, optional
        Answers with reverse-keyed items reversed, for even–odd consistency.
    response_range : (float, float), optional
        Lowest and highest response option, for the IRV cut-off; the lowest and highest answer seen by
        default.

    Returns
    -------
    DataFrame with boolean ``longstring``, ``irv``, ``mahalanobis``, ``even_odd``, ``psychsyn`` and the
    integer ``careless_count``. A row is flagged when

    * longstring ≥ ``thresholds.longstring`` × number of items;
    * IRV < ``thresholds.irv`` × (max − min response);
    * Mahalanobis p < ``thresholds.mahalanobis``;
    * r_SB (= −``even_odd``) < ``thresholds.even_odd``;
    * psychsyn < ``thresholds.psychsyn``.

    An undefined index (NaN) does not flag. ``attrs["not_estimable"]`` names the indices that could not
    be computed on these data, with the reason in Chinese and English; ``attrs["thresholds"]`` holds
    the thresholds used.

    Notes
    -----
    The indices see two kinds of carelessness (Meade & Craig, 2012): long strings and low IRV mark
    invariant answering; D², even–odd and synonyms mark random answering. Even–odd and synonyms both
    measure consistency across scales, so they tend to agree, also on diligent respondents with a flat
    profile (every trait near the same level), and are noisy with few scales. In simulated 8-scale
    surveys (``tests/stats/test_careless.py``) two agreeing flags caught every near straight-liner,
    60–90% of random responders and under 1% of diligent respondents.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> trait = rng.normal(size=(200, 6)).repeat(4, axis=1)          # 6 scales of 4 items, 200 people
    >>> answers = pd.DataFrame(np.clip(np.rint(3 + trait + rng.normal(0, .7, (200, 24))), 1, 5),
    ...                        columns=[f"{s}{i}" for s in "abcdef" for i in range(1, 5)])
    >>> answers.iloc[0] = 4                         # a straight-liner
    >>> answers.iloc[1] = rng.integers(1, 6, 24)    # a random responder
    >>> scales = {s: [f"{s}{i}" for i in range(1, 5)] for s in "abcdef"}
    >>> flags = careless_flags(answers, scales)
    >>> flags.head(2)
       longstring    irv  mahalanobis  even_odd  psychsyn  careless_count
    0        True   True        False     False     False               2
    1       False  False         True      True     False               2
    >>> flags[list(INDICES)].sum().tolist()        # even-odd and synonyms also flag flat profiles
    [1, 1, 1, 14, 12]
    >>> int((flags["careless_count"] >= 2).sum())
    7
    """
    t = thresholds if isinstance(thresholds, CarelessThresholds) else CarelessThresholds.from_mapping(thresholds)
    values = careless_indices(frame, items_by_scale, keyed=keyed, critval=t.psychsyn_critval)
    items = list(dict.fromkeys(i for scale in items_by_scale.values() for i in scale))
    if response_range is None:
        answers = frame[items].to_numpy(dtype=float)
        response_range = (np.nanmin(answers), np.nanmax(answers)) if np.isfinite(answers).any() else (0.0, 0.0)
    span = response_range[1] - response_range[0]
    flags = pd.DataFrame(index=frame.index)
    flags["longstring"] = (values["longstring"] >= t.longstring * len(items)).to_numpy(bool)
    flags["irv"] = (values["irv"] < t.irv * span).to_numpy(bool)
    flags["mahalanobis"] = (values["mahalanobis_p"] < t.mahalanobis).to_numpy(bool)
    flags["even_odd"] = (-values["even_odd"] < t.even_odd).to_numpy(bool)
    flags["psychsyn"] = (values["psychsyn"] < t.psychsyn).to_numpy(bool)
    flags["careless_count"] = flags[list(INDICES)].sum(axis=1).astype(int)
    flags.attrs["not_estimable"] = values.attrs["not_estimable"]
    flags.attrs["thresholds"] = asdict(t)
    return flags
