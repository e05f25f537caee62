"""Simple slopes and Johnson–Neyman bounds (:mod:`jianfu.stats.moderation`) against R.

Reference values: ``tests/reference/hs1939_reference.R``, section "## Moderation".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from semopy.examples import holzinger39

from jianfu.stats.moderation import critical_value, johnson_neyman, simple_slopes


@pytest.fixture(scope="module")
def hs_interaction():
    hs = holzinger39.get_data()
    d = pd.DataFrame({"y": hs.x9, "x": hs.x1 - hs.x1.mean(), "w": hs.x4 - hs.x4.mean()})
    d["x:w"] = d.x * d.w
    return d, sm.OLS(d.y, sm.add_constant(d[["x", "w", "x:w"]])).fit()


def _args(res):
    V = res.cov_params()
    return dict(
        b1=res.params["x"],
        b3=res.params["x:w"],
        v11=V.loc["x", "x"],
        v33=V.loc["x:w", "x:w"],
        v13=V.loc["x", "x:w"],
        df=res.df_resid,
    )


def test_simple_slopes_and_johnson_neyman_match_r(hs_interaction):
    d, res = hs_interaction
    # "## Moderation": lm(x9 ~ x1c * x4c) coefficients
    assert res.params[["x", "w", "x:w"]].to_numpy() == pytest.approx([0.31239304255, 0.05443900073, 0.05858761273])
    slopes = simple_slopes(sd_moderator=d.w.std(ddof=1), **_args(res))
    assert [s["w"] for s in slopes] == pytest.approx([-1.164116284, 0, 1.164116284])
    assert [s["slope"] for s in slopes] == pytest.approx([0.2441902485, 0.3123930426, 0.3805958366], abs=1e-9)
    assert [s["se"] for s in slopes] == pytest.approx([0.06370729195, 0.04939205791, 0.06249512469], abs=1e-9)
    assert [s["p"] for s in slopes] == pytest.approx([0.0001545410044, 9.301878223e-10, 3.487532155e-09], rel=1e-6)
    jn = johnson_neyman(observed=(d.w.min(), d.w.max()), **_args(res))
    assert jn["bounds"] == pytest.approx([-2.256468767, 40.02242852], abs=1e-6)
    assert jn["significant_where"] == "inside"
    assert jn["bounds_in_range"] == pytest.approx([-2.256468767], abs=1e-6)


def test_johnson_neyman_bounds_are_where_p_is_exactly_alpha(hs_interaction):
    _, res = hs_interaction
    a = _args(res)
    for w in johnson_neyman(**a)["bounds"]:
        t = (a["b1"] + a["b3"] * w) / np.sqrt(a["v11"] + w * w * a["v33"] + 2 * w * a["v13"])
        assert abs(t) == pytest.approx(critical_value(a["df"]), rel=1e-9)


def test_johnson_neyman_degenerate_cases():
    assert johnson_neyman(b1=1.0, b3=0.0, v11=0.01, v33=0.0, v13=0.0, df=None)["significant_where"] == "everywhere"
    # An interaction estimated with error: far enough out every conditional effect is uncertain.
    assert johnson_neyman(b1=1.0, b3=0.0, v11=0.01, v33=1e-6, v13=0.0, df=None)["significant_where"] == "inside"
    assert johnson_neyman(b1=0.0, b3=0.0, v11=0.01, v33=0.01, v13=0.0, df=None)["significant_where"] == "nowhere"
