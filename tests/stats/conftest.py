"""Fixtures shared by the statistics tests."""

from __future__ import annotations

import pandas as pd
import pytest
from semopy.examples import holzinger39


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    """Holzinger & Swineford (1939), N = 301: the data of ``tests/reference/hs1939_reference.R``."""
    return holzinger39.get_data()
