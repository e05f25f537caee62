"""Fixtures of the portal tests: a clock to move forward, and small surveys in every format."""

from __future__ import annotations

from pathlib import Path

import pytest
from portal.helpers import Clock

from jianfu.ingest.template import fill_template
from jianfu.synth import simulate, survey_table, write_survey


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch):
    """Argon2id with light parameters: the tests hash dozens of passwords on a shared machine."""
    from argon2 import PasswordHasher

    monkeypatch.setattr("jianfu_portal.accounts._HASHER", PasswordHasher(time_cost=1, memory_cost=8 * 1024))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(scope="session")
def small_surveys(inst, tmp_path_factory) -> dict[str, Path]:
    """Small clean files in several formats, distinct content each."""
    d = tmp_path_factory.mktemp("portal_surveys")
    return {
        fmt: write_survey(
            simulate(inst, n=30, seed=70 + k, inject=False),
            inst,
            d / f"s_{fmt}.{'csv' if fmt == 'csv' else 'xlsx'}",
            fmt,
        )
        for k, fmt in enumerate(("wjx-text", "csv", "template"))
    }


@pytest.fixture(scope="session")
def one_bad_cell(inst, tmp_path_factory) -> tuple[Path, str]:
    """800 clean rows with one mistyped cell (data row 11 = spreadsheet row 12), as the issue's 'done when'."""
    table = survey_table(simulate(inst, n=800, seed=3, inject=False), inst, "csv")
    item = inst.items[4].id
    table[item] = table[item].astype(object)
    table.loc[10, item] = "很很同意"
    path = tmp_path_factory.mktemp("bad_cell") / "一处错误.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path, item


@pytest.fixture(scope="session")
def filled_template(inst, tmp_path_factory) -> tuple[Path, str]:
    """Our template filled with 60 answers, one of them not an allowed option."""
    table = survey_table(simulate(inst, n=60, seed=5, inject=False), inst, "template").astype(object)
    column = next(c for c in table.columns if "问责" in str(c))
    table.loc[3, column] = "很很同意"
    return fill_template(inst, table, tmp_path_factory.mktemp("tpl") / "模板_填好.xlsx"), column
