"""ICC(1), ICC(2) and r_wg(j) against R's multilevel package on Bliese's lq2002 data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jianfu.stats.agreement import icc, rwg_j, unit_agreement
from jianfu.stats.estimable import NotEstimable

REF = Path(__file__).parents[1] / "reference"
ITEMS = [f"LEAD{k:02d}" for k in range(1, 12)]


@pytest.fixture(scope="module")
def lq():
    return pd.read_csv(REF / "agreement_lq2002.csv")


@pytest.fixture(scope="module")
def ref():
    out = {"RWGJ": {}}
    for line in (REF / "agreement_reference.txt").read_text().splitlines():
        key, *rest = line.split()
        if key == "RWGJ":
            out["RWGJ"][int(rest[0])] = (float(rest[1]), int(rest[2]))
        else:
            out[key] = float(rest[0])
    return out


def test_icc_matches_multilevel(lq, ref):
    res = icc(lq[ITEMS].mean(axis=1), lq["COMPID"])
    assert res["icc1"] == pytest.approx(ref["ICC1"], abs=1e-8)
    assert res["icc2"] == pytest.approx(ref["ICC2"], abs=1e-8)
    assert res["n_units"] == 49


def test_rwg_j_matches_multilevel_per_unit(lq, ref):
    res = rwg_j(lq[ITEMS], lq["COMPID"], n_options=5)
    for unit, (value, size) in ref["RWGJ"].items():
        assert res.loc[unit, "rwg"] == pytest.approx(value, abs=1e-8)
        assert res.loc[unit, "n"] == size
    summary = unit_agreement(lq[ITEMS].mean(axis=1), lq[ITEMS], lq["COMPID"], 5)
    assert summary["rwg_mean"] == pytest.approx(ref["RWGJ_MEAN"], abs=1e-8)
    assert summary["rwg_median"] == pytest.approx(ref["RWGJ_MEDIAN"], abs=1e-8)


def test_known_truth_unit_variance_share():
    """Simulated ICC(1) of .20 (unit SD .5, person SD 1) is recovered."""
    rng = np.random.default_rng(7)
    units = rng.integers(0, 60, 6000)
    y = rng.normal(0, 0.5, 60)[units] + rng.normal(0, 1, 6000)
    assert icc(pd.Series(y), pd.Series(units))["icc1"] == pytest.approx(0.2, abs=0.05)


def test_one_unit_is_not_estimable():
    with pytest.raises(NotEstimable):
        icc(pd.Series([1.0, 2.0, 3.0]), pd.Series(["a", "a", "a"]))
