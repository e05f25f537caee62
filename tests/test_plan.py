"""The analysis plan is checked before anything runs, and every problem names its YAML line."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from jianfu import paths
from jianfu.errors import PlanError
from jianfu.plan import load_plan
from jianfu.synth import simulate, write_survey
from jianfu_flows.cli import app


def _plan_copy(tmp_path, edit) -> tuple:
    inst_path = tmp_path / "cadre_burden.yaml"
    shutil.copyfile(paths.DEFAULT_INSTRUMENT, inst_path)
    text = paths.analysis_plan_for(paths.DEFAULT_INSTRUMENT).read_text(encoding="utf-8")
    plan_path = paths.analysis_plan_for(inst_path)
    plan_path.write_text(edit(text), encoding="utf-8")
    return inst_path, plan_path


def _line(path, needle: str) -> int:
    return next(k for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in line)


def test_unknown_variable_and_unknown_key_are_reported_with_their_lines(inst, tmp_path):
    _, plan_path = _plan_copy(
        tmp_path,
        lambda t: t.replace("outcome: burden", "outcome: burdn", 1).replace(
            "\n    multilevel: true\n", "\n    multilevel: true\n    multilvel: true\n", 1
        ),
    )
    with pytest.raises(PlanError) as err:
        load_plan(plan_path, inst)
    text = str(err.value)
    assert f"(line {_line(plan_path, 'multilvel')})" in text and "Extra inputs are not permitted" in text


def test_semantic_problems_carry_lines(inst, tmp_path):
    _, plan_path = _plan_copy(tmp_path, lambda t: t.replace("outcome: burden", "outcome: burdn", 1))
    with pytest.raises(PlanError) as err:
        load_plan(plan_path, inst)
    assert "'burdn'" in str(err.value) and "(line " in str(err.value)


def test_validate_and_run_refuse_a_bad_plan_before_starting(inst, tmp_path):
    inst_path, _ = _plan_copy(tmp_path, lambda t: t.replace("outcome: burden", "outcome: burdn", 1))
    upload = write_survey(simulate(inst, n=30, seed=1), inst, tmp_path / "u.xlsx", fmt="wjx-text")
    runner = CliRunner()
    for command in (["validate"], ["run"]):
        result = runner.invoke(app, [*command, "--instrument", str(inst_path), str(upload)])
        assert result.exit_code == 2, result.output
        assert "burdn" in result.output and "(line " in result.output and "Traceback" not in result.output


def test_a_label_cut_by_an_unquoted_comma_is_refused(inst, tmp_path):
    from jianfu import paths
    from jianfu.plan import PlanError, load_plan

    text = paths.analysis_plan_for(paths.DEFAULT_INSTRUMENT).read_text(encoding="utf-8")
    bad = tmp_path / "x.analysis.yaml"
    bad.write_text(text.replace('en: "Burden, empowerment and initiative"', "en: Burden, empowerment and initiative"))
    line = next(k for k, row in enumerate(bad.read_text().splitlines(), 1) if "en: Burden, empowerment" in row)
    with pytest.raises(PlanError) as exc:
        load_plan(bad, inst)
    assert any(f"(line {line})" in p and "not permitted" in p for p in exc.value.problems)


EMPOWERMENT = [
    "incentive_power",
    "coordination_power",
    "disciplinary_power",
    "discretion_resources",
    "accountability_pressure",
]


def test_plan_declares_the_issue_models(plan):
    kinds = {m.id: m.type for m in plan.models}
    assert kinds["empowerment_burden"] == "ols" and kinds["blame_mediation"] == "mediation"
    assert kinds["blame_moderated_mediation"] == "moderated_mediation"
    h2 = next(m for m in plan.models if m.id == "blame_moderated_mediation")
    eb_covariates = next(m for m in plan.models if m.id == "empowerment_burden").blocks[0].terms
    assert h2.covariates == eb_covariates and h2.cluster == "unit"
    eb = next(m for m in plan.models if m.id == "empowerment_burden")
    assert set(EMPOWERMENT) <= set(eb.terms) and eb.multilevel
    med = next(m for m in plan.models if m.id == "blame_mediation")
    assert (med.x, med.mediators, med.outcome) == ("accountability_pressure", ["blame_avoidance"], "burden")
    assert plan.group_comparisons == ["level", "leader"]


def test_plan_errors_list_every_problem(inst, tmp_path):
    bad = tmp_path / "bad.analysis.yaml"
    bad.write_text(
        "instrument: cadre_burden\ngroup_comparisons: [nope]\nmodels:\n"
        "  - {id: a, outcome: burden, blocks: [{name: b, terms: ['accountability_pressure:fault_tolerance']}]}\n"
        "  - {id: a, type: mediation, x: accountability_pressure, mediators: [ghost], outcome: burden}\n",
        encoding="utf-8",
    )
    with pytest.raises(PlanError) as err:
        load_plan(bad, inst)
    text = str(err.value)
    assert "main effects" in text and "'ghost'" in text and "more than once" in text and "'nope'" in text
