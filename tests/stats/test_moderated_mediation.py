"""Moderated mediation (PROCESS models 7 and 14) against lavaan and a known truth.

Reference: ``tests/reference/moderated_mediation_reference.R`` and its printed output (lavaan
ML on the recursive path model = equation-by-equation OLS for the point estimates; delta-method
SEs, which the bootstrap SE should approximate).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jianfu.stats.estimable import NotEstimable
from jianfu.stats.moderated_mediation import moderated_mediation

REF = Path(__file__).parents[1] / "reference"


def _lavaan() -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, tuple[float, float]]] = {}
    block = "head"
    for line in (REF / "moderated_mediation_reference.txt").read_text().splitlines():
        if line.startswith("model"):
            block = line.split()[1]
            out[block] = {}
        elif " est " in line:
            label, _, est, _, se = line.split()
            out[block][label] = (float(est), float(se))
    return out


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "moderated_mediation_data.csv")


@pytest.mark.parametrize("stage, model", [("a", "7"), ("b", "14")])
def test_matches_lavaan(data, stage, model):
    ref = _lavaan()[model]
    res = moderated_mediation(data, "x", "m", "w", "y", covariates=data[["cv"]], stage=stage, n_boot=2000, seed=3)
    assert res["model"] == int(model)
    mine = {
        "index": res["index_of_moderated_mediation"]["estimate"],
        **{k: c["effect"] for k, c in zip(["lo", "mid", "hi"], res["conditional_indirect"], strict=True)},
        "cp": res["paths"]["direct"]["b"],
    }
    if stage == "a":
        mine |= {"a1": res["paths"]["a"]["b"], "a3": res["paths"]["a×w"]["b"], "b": res["paths"]["b"]["b"]}
    else:
        mine |= {"a": res["paths"]["a"]["b"], "b1": res["paths"]["b"]["b"], "b3": res["paths"]["b×w"]["b"]}
    for label, value in mine.items():
        assert value == pytest.approx(ref[label][0], abs=1e-6), label
    # The bootstrap SE of the index approximates the first-order delta-method SE. For model 7 that is
    # lavaan's; for model 14 lavaan's SEs are not valid (it treats m·w as a fixed exogenous variable
    # although it contains the endogenous m), so the delta method is applied to the OLS paths.
    if stage == "a":
        delta = ref["index"][1]
    else:
        a, b3 = res["paths"]["a"], res["paths"]["b×w"]
        delta = np.hypot(a["b"] * b3["se"], b3["b"] * a["se"])
    assert res["index_of_moderated_mediation"]["se_boot"] == pytest.approx(delta, rel=0.2)
    lo, hi = res["index_of_moderated_mediation"]["ci_low"], res["index_of_moderated_mediation"]["ci_high"]
    assert lo < ref["index"][0] < hi and lo > 0


def test_no_moderation_gives_an_index_near_zero():
    """Known truth: W does not moderate; the index's CI covers 0 in most of 40 samples (~95%)."""
    covered = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        d = pd.DataFrame({"x": rng.normal(size=200), "w": rng.normal(size=200)})
        d["m"] = 0.4 * d.x + rng.normal(size=200)
        d["y"] = 0.4 * d.m + rng.normal(size=200)
        imm = moderated_mediation(d, "x", "m", "w", "y", n_boot=400, seed=seed)["index_of_moderated_mediation"]
        covered += imm["ci_low"] <= 0 <= imm["ci_high"]
    assert covered >= 34


def test_cluster_bootstrap_widens_the_interval_when_units_differ():
    """X and M vary mostly between 12 units: resampling rows understates the uncertainty."""
    rng = np.random.default_rng(7)
    unit = np.repeat(np.arange(12), 40)
    ux, um = rng.normal(size=12)[unit], rng.normal(size=12)[unit]
    d = pd.DataFrame({"x": ux + 0.3 * rng.normal(size=480), "w": rng.normal(size=480)})
    d["m"] = 0.4 * d.x + 0.3 * d.x * d.w + um + 0.5 * rng.normal(size=480)
    d["y"] = 0.5 * d.m + rng.normal(size=480)
    rows = moderated_mediation(d, "x", "m", "w", "y", n_boot=1000, seed=1)
    units = moderated_mediation(d, "x", "m", "w", "y", n_boot=1000, seed=1, clusters=pd.Series(unit, index=d.index))
    assert units["resampling"] == "units" and units["n_clusters"] == 12 and rows["resampling"] == "rows"
    width = {
        k: r["conditional_indirect"][1]["ci_high"] - r["conditional_indirect"][1]["ci_low"]
        for k, r in (("rows", rows), ("units", units))
    }
    assert width["units"] > 1.3 * width["rows"]


def test_too_few_rows_is_not_estimable():
    d = pd.DataFrame({"x": [1.0, 2, 3, 4], "w": [1.0, 0, 1, 0], "m": [1.0, 2, 2, 3], "y": [2.0, 1, 3, 4]})
    with pytest.raises(NotEstimable):
        moderated_mediation(d, "x", "m", "w", "y", n_boot=200)
