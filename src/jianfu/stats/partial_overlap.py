r"""Mean difference of two samples that share some respondents: the partially overlapping t-test.

Two survey waves of the same cadres are rarely the same people: some answered both (linked by
the keyed hash of their ID or phone number), some only one. Treating the waves as independent
ignores the correlation of the linked answers (too wide an interval when people are stable);
using only the linked pairs throws the rest away. Derrick et al. (2017) combine both:

.. math::

    T = \frac{\bar x_1 - \bar x_2}
             {\sqrt{s_1^2/n_1 + s_2^2/n_2 - 2 r s_1 s_2 n_c/(n_1 n_2)}}

with every observation of each wave in :math:`\bar x_k, s_k, n_k`, :math:`n_c` linked pairs whose
correlation is :math:`r`, and the Welch-type degrees of freedom

.. math::

    \nu = (n_c - 1) + \frac{\gamma - n_c + 1}{n_a + n_b + 2 n_c}(n_a + n_b),\qquad
    \gamma = \frac{(s_1^2/n_1 + s_2^2/n_2)^2}{(s_1^2/n_1)^2/(n_1-1) + (s_2^2/n_2)^2/(n_2-1)},

where :math:`n_a, n_b` are the unlinked respondents of each wave. Without linked pairs it is
Welch's test; with only linked pairs it is the paired t-test (both exactly).

References
----------
Derrick, B., Russ, B., Toher, D., & White, P. (2017). Test statistics for the comparison of
means for two samples that include both paired and independent observations. *Journal of Modern
Applied Statistical Methods*, 16(1), 137–157. (R package ``Partiallyoverlapping``, ``Pov.Test``.)

Examples
--------
R's ``sleep`` data: the same ten patients under two drugs (``t.test(..., paired = TRUE)``
gives t = −4.062, df = 9).

>>> import numpy as np
>>> d1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
>>> d2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])
>>> r = overlap_t(d1, d2, np.arange(10), np.arange(10))
>>> round(r.t, 3), round(r.df, 3)
(-4.062, 9.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

__all__ = ["OverlapTest", "overlap_t"]


@dataclass(frozen=True)
class OverlapTest:
    """Difference of means (sample 1 − sample 2) with its t-test and confidence interval."""

    diff: float
    se: float
    t: float
    df: float
    p: float
    ci_low: float
    ci_high: float
    n1: int
    n2: int
    n_linked: int
    r_linked: float | None
    #: ``welch`` (no linked pairs), ``paired`` (only linked pairs) or ``partially_overlapping``.
    method: str

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict."""
        return asdict(self)


def overlap_t(
    x1: np.ndarray,
    x2: np.ndarray,
    key1: np.ndarray | None = None,
    key2: np.ndarray | None = None,
    level: float = 0.95,
) -> OverlapTest:
    """Compare the means of ``x1`` and ``x2``, pairing the observations that share a key.

    Parameters
    ----------
    x1, x2 : array_like
        The values of each sample; missing values are dropped (with their keys).
    key1, key2 : array_like, optional
        A respondent key per value (``None``/NaN = not linkable). A key found in both samples
        pairs the two values; a key repeated within a sample is not used for pairing.
    level : float
        Confidence level of the interval.

    Returns
    -------
    OverlapTest
        ``method`` says which special case applied.

    Notes
    -----
    The correlation :math:`r` is estimated from the linked pairs only; with fewer than three
    pairs it is not estimable and the samples are treated as independent (Welch).
    """
    x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    k1 = np.full(len(x1), None, dtype=object) if key1 is None else np.asarray(key1, dtype=object)
    k2 = np.full(len(x2), None, dtype=object) if key2 is None else np.asarray(key2, dtype=object)
    ok1, ok2 = ~np.isnan(x1), ~np.isnan(x2)
    x1, k1, x2, k2 = x1[ok1], k1[ok1], x2[ok2], k2[ok2]
    n1, n2 = len(x1), len(x2)
    if n1 < 2 or n2 < 2:
        raise ValueError("each sample needs at least two values / 每组至少需要两个有效值")
    pos1, pos2 = _unique_positions(k1), _unique_positions(k2)
    linked = sorted(set(pos1) & set(pos2))
    nc = len(linked)
    m1, m2 = x1.mean(), x2.mean()
    v1, v2 = x1.var(ddof=1) / n1, x2.var(ddof=1) / n2
    gamma = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    r = None
    if nc >= 3:
        a = x1[[pos1[k] for k in linked]]
        b = x2[[pos2[k] for k in linked]]
        if a.std() > 0 and b.std() > 0:
            r = float(np.corrcoef(a, b)[0, 1])
    if r is None:
        nc, method, var, df = 0, "welch", v1 + v2, gamma
    else:
        na, nb = n1 - nc, n2 - nc
        s1, s2 = np.sqrt(v1 * n1), np.sqrt(v2 * n2)
        var = v1 + v2 - 2 * r * s1 * s2 * nc / (n1 * n2)
        df = (nc - 1) + (gamma - nc + 1) / (na + nb + 2 * nc) * (na + nb)
        method = "paired" if na == 0 and nb == 0 else "partially_overlapping"
    se = float(np.sqrt(var))
    diff = float(m1 - m2)
    t = diff / se
    h = stats.t.ppf(1 - (1 - level) / 2, df) * se
    return OverlapTest(
        diff=diff,
        se=se,
        t=float(t),
        df=float(df),
        p=float(2 * stats.t.sf(abs(t), df)),
        ci_low=diff - h,
        ci_high=diff + h,
        n1=n1,
        n2=n2,
        n_linked=nc,
        r_linked=r,
        method=method,
    )


def _unique_positions(keys: np.ndarray) -> dict:
    """``{key: position}`` for keys that occur exactly once (repeats cannot be paired safely)."""
    seen: dict = {}
    repeated = set()
    for i, k in enumerate(keys):
        if k is None or (isinstance(k, float) and np.isnan(k)) or k == "":
            continue
        if k in seen:
            repeated.add(k)
        seen[k] = i
    return {k: i for k, i in seen.items() if k not in repeated}
