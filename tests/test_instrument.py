"""The default instrument: contract keys, grounding in the seeds, loader behaviour."""

from __future__ import annotations

import pytest

from jianfu import paths
from jianfu.instrument import InstrumentError, dump_instrument, parse_instrument, verify_sources

REQUIRED_SCALES = [
    "accountability_pressure",
    "blame_avoidance",
    "incentive_power",
    "coordination_power",
    "disciplinary_power",
    "discretion_resources",
    "fault_tolerance",
    "responsibility_clarity",
    "burden_documents_meetings",
    "burden_inspection",
    "burden_digital",
    "burden_shifting",
    "burden_hidden",
    "burden",
    "initiative",
    "exhaustion",
    "digital_literacy",
]
REQUIRED_DEMOGRAPHICS = [
    "unit",
    "level",
    "leader",
    "rank",
    "tenure",
    "age_band",
    "gender",
    "education",
    "staffing",
    "region",
]


def test_contract_scales_and_demographics(inst):
    assert inst.id == "cadre_burden" and inst.version == "1.0"
    assert [s.id for s in inst.scales] == REQUIRED_SCALES
    assert inst.scale("burden").subscales == [s for s in REQUIRED_SCALES if s.startswith("burden_")]
    assert [d.id for d in inst.demographics] == REQUIRED_DEMOGRAPHICS
    assert inst.scale("accountability_pressure").response_scale == "agree5"
    level = next(d for d in inst.demographics if d.id == "level")
    assert level.options == ["乡镇", "街道", "村（社区）"]
    staffing = next(d for d in inst.demographics if d.id == "staffing")
    assert staffing.options == ["公务员", "事业编制", "聘用", "其他"]
    assert next(d for d in inst.demographics if d.id == "unit").free_text
    assert inst.attention_checks and all(
        c.expect in inst.response_scales[c.response_scale].labels for c in inst.attention_checks
    )


def test_every_first_order_scale_has_4_to_6_items_and_a_reverse_item(inst):
    for s in inst.first_order_scales:
        assert 4 <= len(s.items) <= 6, s.id
        assert any(i.reverse for i in s.items), f"{s.id} has no reverse-keyed item"


def test_ids_are_unique(inst):
    ids = (
        [s.id for s in inst.scales]
        + [i.id for i in inst.items]
        + [d.id for d in inst.demographics]
        + [c.id for c in inst.attention_checks]
        + [o.id for o in inst.open_questions]
    )
    assert len(ids) == len(set(ids))


def test_every_quote_occurs_verbatim_in_its_seed(inst):
    if not paths.SEEDS_DIR.is_dir():
        pytest.skip(f"seed articles not found at {paths.SEEDS_DIR}")
    assert verify_sources(inst, paths.SEEDS_DIR) == []


def test_verify_sources_catches_a_false_quote(inst, tmp_path):
    seed = inst.items[0].source.seed
    (tmp_path / seed).write_text("完全无关的文字", encoding="utf-8")
    problems = verify_sources(inst, tmp_path)
    assert any(inst.items[0].id in p for p in problems)


def test_facets_of_fault_tolerance_and_initiative(inst):
    ft = {i.model_extra.get("facet") for i in inst.scale("fault_tolerance").items}
    assert {"know", "applied", "trust"} <= ft
    ini = {i.model_extra.get("facet") for i in inst.scale("initiative").items}
    assert {"敢为", "愿为", "善为", "想为"} <= ini


def test_round_trip(inst):
    assert parse_instrument(dump_instrument(inst)) == inst


def test_broken_yaml_reports_every_problem_with_its_path():
    text = paths.DEFAULT_INSTRUMENT.read_text(encoding="utf-8")
    broken = (
        text.replace("response_scale: agree5", "response_scale: agree7", 1)
        .replace("expect: 4", "expect: 9")
        .replace("id: ba1", "id: ap1")
        .replace("  - id: unit\n", "  - id: work_unit\n")
    )
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(broken, "broken.yaml")
    problems = exc.value.problems
    assert len(problems) >= 4
    joined = "\n".join(problems)
    assert "scales[0].response_scale (line" in joined and "agree7" in joined
    assert "attention_checks[0].expect" in joined
    assert "'ap1' is used 2 times" in joined
    assert "'unit' is required" in joined


def test_structural_errors_are_all_reported():
    text = paths.DEFAULT_INSTRUMENT.read_text(encoding="utf-8")
    broken = text.replace('version: "1.0"\n', "", 1).replace("reverse: false", "reverse: perhaps", 2)
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(broken)
    joined = "\n".join(exc.value.problems)
    assert "version" in joined and joined.count("reverse") == 2


def test_docs_are_generated_from_yaml(inst):
    from jianfu.docs import instrument_markdown

    md = instrument_markdown(inst)
    for s in inst.scales:
        assert s.id in md
    for i in inst.items:
        assert f"`{i.id}`" in md and i.source.quote.replace("|", "\\|") in md
    committed = (paths.PROJ_ROOT / "docs" / "instrument.md").read_text(encoding="utf-8")
    assert committed == md, "docs/instrument.md is stale: run `jianfu docs`"
