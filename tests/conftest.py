"""Shared fixtures. Engine tests never touch Prefect; flow tests share one test harness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# One process per test worker: `make test` already runs two on the two cores; tests of
# jianfu.parallel and of a parallel run set JIANFU_PROCESSES themselves.
os.environ.setdefault("JIANFU_PROCESSES", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers: each gets its own Prefect home (SQLite database, profiles), so
    # temporary servers started by tests in different workers never share a database file.
    import tempfile

    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"jianfu-prefect-{os.environ['PYTEST_XDIST_WORKER']}-")

from jianfu import paths  # noqa: E402
from jianfu.instrument import load_instrument  # noqa: E402
from jianfu.plan import load_plan  # noqa: E402
from jianfu.synth import simulate, write_survey  # noqa: E402


@pytest.fixture(scope="session")
def inst():
    return load_instrument(paths.DEFAULT_INSTRUMENT)


@pytest.fixture(scope="session")
def plan(inst):
    return load_plan(paths.analysis_plan_for(paths.DEFAULT_INSTRUMENT), inst)


@pytest.fixture(scope="session")
def survey(inst):
    """600 synthetic respondents with known injected flags."""
    return simulate(inst, n=600, seed=11)


@pytest.fixture(scope="session")
def survey_files(inst, survey, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("surveys")
    return {
        fmt: write_survey(survey, inst, d / f"survey_{fmt}.{'csv' if fmt == 'csv' else 'xlsx'}", fmt)
        for fmt in ("wjx-text", "wjx-code", "template", "csv", "tencent")
    }


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (≈ 10 s), shared by every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def settings(tmp_path):
    from jianfu.pipeline import Settings

    return Settings.under(tmp_path, reports_dir=tmp_path / "reports")
