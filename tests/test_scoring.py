"""Scale scores (:mod:`jianfu.scoring`): reverse keying, the 75% rule and equally weighted composites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jianfu.scoring import score_scales


def test_scoring_conventions(inst):
    items = inst.scale("accountability_pressure").items  # 6 items, the last reversed
    ap = [i.id for i in items]
    assert [i.reverse for i in items] == [False] * 5 + [True]
    frame = pd.DataFrame(np.nan, index=range(3), columns=[i.id for i in inst.items])
    frame.loc[0, ap] = [5, 5, 5, 5, 5, 1]  # reverse of 1 is 5 → mean 5
    frame.loc[1, ap[:5]] = [1, 2, 3, 4, 5]  # 5 of 6 answered (≥ 75%) → mean 3
    frame.loc[2, ap[:4]] = [4, 4, 4, 4]  # 4 of 6 answered (< 75%) → missing
    for s in inst.scale("burden").subscales:
        frame.loc[0, [i.id for i in inst.scale(s).items]] = 3
    scores = score_scales(frame, inst)
    assert scores.loc[0, "accountability_pressure"] == 5
    assert scores.loc[1, "accountability_pressure"] == 3
    assert np.isnan(scores.loc[2, "accountability_pressure"])
    # 3 is the midpoint, so reverse keying leaves it 3; every subscale 3 → composite 3
    assert scores.loc[0, "burden"] == 3
    # equal weighting: change one subscale only
    frame.loc[0, [i.id for i in inst.scale("burden_hidden").items]] = [
        1 if i.reverse else 5 for i in inst.scale("burden_hidden").items
    ]
    assert score_scales(frame, inst).loc[0, "burden"] == pytest.approx((3 * 4 + 5) / 5)
    frame.loc[0, [i.id for i in inst.scale("burden_hidden").items]] = np.nan
    assert np.isnan(score_scales(frame, inst).loc[0, "burden"])
