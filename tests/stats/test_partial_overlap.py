"""The partially overlapping t-test against R (limiting cases by t.test) and a known-truth simulation."""

from __future__ import annotations

import numpy as np
import pytest

from jianfu.stats.partial_overlap import overlap_t
from tests.reference_output import read_keyed

REF = read_keyed("partial_overlap_reference.txt")
X1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])  # R's sleep, drug 1
X2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])  # the same patients, drug 2


def _check(res, ref, keys=("t", "df", "p")):
    for k in keys:
        assert getattr(res, k) == pytest.approx(ref[k], abs=1e-8), k


def test_all_linked_is_the_paired_t_test():
    res = overlap_t(X1, X2, np.arange(10), np.arange(10))
    _check(res, REF["TEST", "paired"])
    assert (res.ci_low, res.ci_high) == pytest.approx((REF["TEST", "paired"]["lo"], REF["TEST", "paired"]["hi"]))
    assert res.method == "paired" and res.n_linked == 10


def test_no_link_is_welch():
    res = overlap_t(X1, X2)
    _check(res, REF["TEST", "welch"])
    assert res.method == "welch" and res.n_linked == 0


def test_partially_overlapping_matches_the_published_formula():
    b = np.r_[X2[:6], [2.1, -0.4, 1.3, 3.0]]
    keys1 = [f"p{i}" for i in range(10)]
    keys2 = [f"p{i}" for i in range(6)] + ["q1", "q2", "q3", None]
    res = overlap_t(X1, b, keys1, keys2)
    _check(res, REF["TEST", "overlap"])
    assert res.r_linked == pytest.approx(REF["TEST", "overlap"]["r"], abs=1e-8)
    assert res.method == "partially_overlapping" and res.n_linked == 6


def test_a_repeated_key_is_not_paired_and_blanks_are_dropped():
    x1 = np.r_[X1, np.nan]
    k1 = [*(f"p{i}" for i in range(9)), "p0", "p10"]  # p0 twice in wave 1: ambiguous, not linked
    res = overlap_t(x1, X2, k1, [f"p{i}" for i in range(10)])
    assert res.n1 == 10 and res.n_linked == 8


def test_coverage_with_a_known_difference():
    """Stable answers (r = .7) from two-thirds linked respondents: the CI covers the true change ~95% of the time,
    while Welch's interval (which ignores the link) is too wide, i.e. over-covers."""
    rng = np.random.default_rng(3)
    true, hits, welch_hits, reps = 0.3, 0, 0, 1500
    cov = [[1, 0.7], [0.7, 1]]
    for _ in range(reps):
        pairs = rng.multivariate_normal([0, -true], cov, size=40)
        a = np.r_[pairs[:, 0], rng.normal(0, 1, 20)]
        b = np.r_[pairs[:, 1], rng.normal(-true, 1, 16)]
        k1 = [*range(40), *[None] * 20]
        k2 = [*range(40), *[None] * 16]
        res, w = overlap_t(a, b, k1, k2), overlap_t(a, b)
        hits += res.ci_low <= true <= res.ci_high
        welch_hits += w.ci_low <= true <= w.ci_high
    assert 0.93 <= hits / reps <= 0.97
    assert welch_hits / reps > 0.985
