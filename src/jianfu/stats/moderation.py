"""Probing a two-way interaction: simple slopes and the Johnson–Neyman interval.

Both take the estimates of the focal predictor (b₁) and of the interaction (b₃) with their
covariance from the fitted model — cluster-robust or HC3, as the model reports — so the probe
carries the same inference as the coefficient table. The moderator is mean-centred, as in the
model (``a:b`` terms multiply centred variables).

For moderator value w the conditional effect is θ(w) = b₁ + b₃·w with
Var θ(w) = V₁₁ + w²·V₃₃ + 2w·V₁₃. The Johnson–Neyman bounds are the roots of
θ(w)² = t²_crit · Var θ(w), a quadratic in w (Johnson & Neyman, 1936; Hayes, 2022, §7.4).

References
----------
Hayes, A. F. (2022). *Introduction to mediation, moderation, and conditional process analysis*
(3rd ed.). Guilford.
Bauer, D. J., & Curran, P. J. (2005). Probing interactions in fixed and multilevel regression:
Inferential and graphical techniques. *Multivariate Behavioral Research*, 40(3), 373–400.

Examples
--------
>>> jn = johnson_neyman(b1=0.3124, b3=0.0586, v11=0.0494**2, v33=0.0337**2, v13=0.0, df=297)
>>> [round(x, 2) for x in jn["bounds"]], jn["significant_where"]
([-2.27, 40.23], 'inside')
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["simple_slopes", "johnson_neyman", "critical_value"]


def critical_value(df: float | None, level: float = 0.95) -> float:
    """Two-sided critical value: Student's t with ``df``, or the normal when ``df`` is None."""
    q = 1 - (1 - level) / 2
    return float(stats.t.ppf(q, df) if df is not None else stats.norm.ppf(q))


def _p(t: float, df: float | None) -> float:
    return float(2 * (stats.t.sf(abs(t), df) if df is not None else stats.norm.sf(abs(t))))


def simple_slopes(
    b1: float, b3: float, v11: float, v33: float, v13: float, sd_moderator: float, df: float | None, level: float = 0.95
) -> list[dict]:
    """Conditional effects of the focal predictor at the centred moderator −1 SD, mean, +1 SD.

    Returns
    -------
    list of dict
        ``at`` (−1 SD / mean / +1 SD), ``w`` (centred moderator value), ``slope, se, t, p,
        ci_low, ci_high``.
    """
    crit = critical_value(df, level)
    out = []
    for at, w in (("-1 SD", -sd_moderator), ("mean", 0.0), ("+1 SD", sd_moderator)):
        slope = b1 + b3 * w
        se = float(np.sqrt(v11 + w * w * v33 + 2 * w * v13))
        t = slope / se
        out.append(
            {
                "at": at,
                "w": float(w),
                "slope": float(slope),
                "se": se,
                "t": float(t),
                "p": _p(t, df),
                "ci_low": float(slope - crit * se),
                "ci_high": float(slope + crit * se),
            }
        )
    return out


def johnson_neyman(
    b1: float,
    b3: float,
    v11: float,
    v33: float,
    v13: float,
    df: float | None,
    level: float = 0.95,
    observed: tuple[float, float] | None = None,
) -> dict:
    """Values of the centred moderator where the focal effect changes significance.

    Parameters
    ----------
    observed : (min, max), optional
        The observed range of the centred moderator, to say which bounds fall inside it.

    Returns
    -------
    dict
        ``bounds`` (sorted roots, empty when there are none), ``significant_where``: one of
        ``"outside"`` (w < lower or w > upper), ``"inside"`` (lower < w < upper), ``"everywhere"``,
        ``"nowhere"``; ``bounds_in_range`` when ``observed`` is given.
    """
    crit2 = critical_value(df, level) ** 2
    a = b3 * b3 - crit2 * v33
    b = 2 * (b1 * b3 - crit2 * v13)
    c = b1 * b1 - crit2 * v11
    disc = b * b - 4 * a * c
    if abs(a) < 1e-15:
        bounds = [-c / b] if b != 0 else []
        where = "one-sided" if bounds else ("everywhere" if c > 0 else "nowhere")
    elif disc < 0:
        bounds, where = [], "everywhere" if a > 0 else "nowhere"
    else:
        root = np.sqrt(disc)
        bounds = sorted([float((-b - root) / (2 * a)), float((-b + root) / (2 * a))])
        where = "outside" if a > 0 else "inside"
    out = {"bounds": bounds, "significant_where": where, "level": level}
    if observed is not None:
        out["observed_range"] = [float(observed[0]), float(observed[1])]
        out["bounds_in_range"] = [w for w in bounds if observed[0] <= w <= observed[1]]
    return out
