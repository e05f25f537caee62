"""Group comparisons of a unit attribute (a unit's level) respect that respondents are nested in units.

Known truth: no level difference, a unit random intercept, 12 units. Respondent-level Welch tests
reject the true null most of the time; the cluster-robust Wald test (CR2, HTZ) keeps its level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jianfu.stats.descriptives import compare_groups, is_cluster_attribute


def _null_survey(seed: int, n_units: int = 12, n: int = 360) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = np.array(["乡镇", "街道", "村（社区）"])[np.arange(n_units) % 3]
    unit = rng.integers(0, n_units, n)
    y = rng.normal(0, 0.5, n_units)[unit] + rng.normal(0, 1, n)  # ICC = .2, no level effect
    return pd.DataFrame({"y": y, "unit": unit.astype(str), "level": level[unit], "leader": rng.choice(["是", "否"], n)})


def test_a_unit_attribute_is_tested_by_cluster_robust_wald():
    data = _null_survey(0)
    res = compare_groups(data, ["y"], "level", ["乡镇", "街道", "村（社区）"], clusters="unit")[0]
    assert res["clustered"] and res["test"] == "Wald (CR2, HTZ)" and res["n_clusters"] == 12
    assert res["df1"] == 2 and 1 < res["df2"] < 12  # HTZ df, far below the respondent count
    assert res["effect"] == "eta_squared" and 0 <= res["effect_size"] < 1
    # An attribute of the person (leader) varies within units: it stays a respondent-level Welch test.
    person = compare_groups(data, ["y"], "leader", clusters="unit")[0]
    assert not person["clustered"] and person["test"] == "Welch t"
    assert is_cluster_attribute(data, "level", "unit") and not is_cluster_attribute(data, "leader", "unit")


@pytest.mark.slow
def test_type_i_error_under_a_true_null_with_twelve_units():
    clustered, welch = [], []
    for seed in range(120):
        data = _null_survey(seed)
        clustered.append(compare_groups(data, ["y"], "level", clusters="unit")[0]["p"] < 0.05)
        welch.append(compare_groups(data, ["y"], "level")[0]["p"] < 0.05)
    assert np.mean(clustered) <= 0.08, np.mean(clustered)  # nominal .05 (HTZ is slightly conservative)
    assert np.mean(welch) > 0.4  # what the respondent-level test would have claimed
