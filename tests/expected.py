"""What a synthetic survey's known truth lets a test expect of the quality flags.

The rule-based flags (speeder, straight-lining, attention, incomplete, duplicate, invalid) are
injected in known rows, so their counts are exact. The careless-responding indices are
statistical screens: they catch the injected straight-liners and, by design, rarely a diligent
respondent, so a test can bound them but not predict them to the row.
"""

from __future__ import annotations

from jianfu.instrument import CARELESS_INDICES, FLAG_NAMES

RULE_FLAGS = tuple(f for f in FLAG_NAMES if f != "careless")
#: Share of diligent respondents a careless screen may flag (two agreeing indices; Curran 2016).
CARELESS_FALSE_ALARMS = 0.01


def check_flags(flags: dict, rows: dict, survey) -> None:
    """Assert a run's ``flags`` and ``rows`` against what ``survey`` injected."""
    assert {k: flags[k] for k in RULE_FLAGS} == {k: survey.injected[k] for k in RULE_FLAGS}
    assert set(CARELESS_INDICES) <= set(flags)
    n = len(survey.answers)
    extra = rows["quarantined"] - survey.n_quarantined
    assert 0 <= extra <= flags["careless"], (extra, flags["careless"])
    assert extra <= CARELESS_FALSE_ALARMS * n, f"{extra} diligent respondents quarantined as careless"
    assert rows["accepted"] + rows["quarantined"] == rows["read"] == n
