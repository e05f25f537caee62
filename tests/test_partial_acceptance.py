"""One mistyped cell does not cost an office its whole file: partial acceptance (issue 17's product
decision, the brief's ground rule), with the strict mode that keeps the old behaviour."""

from __future__ import annotations

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.ingest.parse import ingest_file
from jianfu.store.database import Store
from jianfu.synth import simulate, survey_table


def _csv(inst, tmp_path, bad_rows: dict[int, str], n: int = 800):
    table = survey_table(simulate(inst, n=n, seed=3, inject=False), inst, "csv")
    item = inst.items[4].id
    table[item] = table[item].astype(object)
    for row, value in bad_rows.items():
        table.loc[row, item] = value
    path = tmp_path / "one_bad_cell.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path, item


def test_one_bad_cell_in_800_rows_quarantines_that_row_only(inst, plan, tmp_path):
    path, item = _csv(inst, tmp_path, {10: "很很同意"})
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    result = engine.ingest_one(path, inst, settings)
    assert result.status == "accepted" and not result.errors
    [problem] = [p for p in result.warnings if p.code == "value.not_allowed"]
    # The cell is named: file, sheet, row (data row 11 is spreadsheet row 12), column, value, fix.
    assert (problem.row, problem.column, problem.value) == (12, item, "很很同意")
    assert "隔离" in problem.zh and "quarantined" in problem.en
    frame = engine.clean([result], inst)
    assert frame["_flag_invalid"].sum() == 1 and frame.loc[frame["_flag_invalid"], "_row"].tolist() == [12]
    summary = workflow.analyse(frame, [result], inst, plan, "w", settings)
    assert summary["rows"] == {"read": 800, "accepted": 799, "quarantined": 1}
    assert summary["flags"]["invalid"] == 1
    # Kept in the store with its reason and the cell it is about.
    engine.store_rows(frame, [result], inst, "w", settings)
    with Store(settings.store_path, read_only=True) as store:
        rows = store.rows(inst)
    kept = rows[rows["reasons"].str.contains("invalid", na=False)]
    assert len(kept) == 1 and kept["_invalid_detail"].tolist() == [f"{item}=很很同意"]


def test_strict_mode_and_too_many_invalid_rows_reject_the_file(inst, tmp_path):
    path, _ = _csv(inst, tmp_path, {10: "很很同意"})
    assert ingest_file(path, inst, strict=True).status == "rejected"
    strict_inst = inst.model_copy(update={"quality": inst.quality.model_copy(update={"strict": True})})
    assert ingest_file(path, strict_inst).status == "rejected"
    many, _ = _csv(inst, tmp_path, {k: "x" for k in range(60)})  # 7.5% of rows > the 5% limit
    result = ingest_file(many, inst)
    assert result.status == "rejected"
    assert "file.too_many_invalid" in {p.code for p in result.errors}


def test_an_id_number_typed_in_an_answer_cell_is_not_stored(inst, tmp_path):
    path, item = _csv(inst, tmp_path, {5: "110101199003077777"})
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    result = engine.ingest_one(path, inst, settings)
    frame = engine.clean([result], inst)
    engine.store_rows(frame, [result], inst, "w", settings)
    with Store(settings.store_path, read_only=True) as store:
        text = store.rows(inst).to_csv() + store.con.execute("SELECT * FROM files").df().to_csv()
    assert "110101199003077777" not in text and "invalid" in text


def test_validate_strict_on_the_command_line(inst, tmp_path):
    from typer.testing import CliRunner

    from jianfu_flows.cli import app

    path, _ = _csv(inst, tmp_path, {10: "很很同意"}, n=200)
    runner = CliRunner()
    lenient = runner.invoke(app, ["validate", "--json", str(path)])
    assert lenient.exit_code == 0, lenient.output
    strict = runner.invoke(app, ["validate", "--strict", "--json", str(path)])
    assert strict.exit_code == 1
