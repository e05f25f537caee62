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
#: v2.0 adds a policy evaluation and a social-desirability marker.
V2_SCALES = [*REQUIRED_SCALES, "policy_evaluation", "impression_management"]
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
V1 = paths.INSTRUMENTS_DIR / "cadre_burden_v1.yaml"


def test_contract_scales_and_demographics(inst):
    assert inst.id == "cadre_burden" and inst.version == "2.0"
    assert [s.id for s in inst.scales] == V2_SCALES
    assert inst.scale("burden").subscales == [s for s in REQUIRED_SCALES if s.startswith("burden_")]
    assert set(REQUIRED_DEMOGRAPHICS) | {"party"} == {d.id for d in inst.demographics}
    assert inst.scale("accountability_pressure").response_scale == "agree5_na"
    level = next(d for d in inst.demographics if d.id == "level")
    assert level.options == ["乡镇", "街道", "村（社区）"]
    staffing = next(d for d in inst.demographics if d.id == "staffing")
    assert "村（社区）“两委”成员" in staffing.options and "参照公务员法管理人员（参公）" in staffing.options
    assert next(d for d in inst.demographics if d.id == "unit").options_from == "units"
    # An instructed response that acquiescence does not satisfy.
    [check] = inst.attention_checks
    assert check.expect == 1 and check.expect in inst.response_scales[check.response_scale].labels
    assert {s.role for s in inst.scales} == {"construct", "marker", "policy_evaluation"}
    assert inst.response_scales["agree5_na"].missing_options == {8: "不适用", 9: "不了解"}


def test_v1_stays_loadable_and_its_cut_texts_are_whole():
    from jianfu.instrument import load_instrument

    v1 = load_instrument(V1)
    assert v1.version == "1.0" and [s.id for s in v1.scales] == REQUIRED_SCALES
    assert [d.id for d in v1.demographics] == REQUIRED_DEMOGRAPHICS
    ap2 = next(i for i in v1.items if i.id == "ap2")
    assert ap2.text.en == "If people under my charge get something wrong, I am held to account too."


def test_every_first_order_scale_has_4_to_6_items(inst):
    for s in inst.first_order_scales:
        assert 4 <= len(s.items) <= 6, s.id


def test_every_item_text_is_a_whole_sentence_in_both_languages(inst):
    for item in inst.items:
        assert set(item.text.model_dump()) == {"zh", "en"}
        assert item.text.zh.strip() and item.text.en.strip()
        assert item.text.en.rstrip()[-1] in ".?!\"'”’)", item.id


def test_unknown_key_is_refused_with_its_line():
    text = paths.DEFAULT_INSTRUMENT.read_text(encoding="utf-8").replace(
        "id: cadre_burden\n", "id: cadre_burden\ncolour: red\n", 1
    )
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(text, "x.yaml")
    assert any(p.startswith("colour (line") for p in exc.value.problems)


def test_a_text_cut_by_an_unquoted_comma_is_refused_with_its_line():
    """The v1 defect: {en: If people get something wrong, I am held to account too.} loses its second half."""
    text = V1.read_text(encoding="utf-8").replace(
        'en: "If people under my charge get something wrong, I am held to account too."',
        "en: If people under my charge get something wrong, I am held to account too.",
    )
    line = next(k for k, row in enumerate(text.splitlines(), start=1) if "I am held to account too." in row)
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(text, "v1.yaml")
    [problem] = exc.value.problems
    assert f"(line {line})" in problem and "not permitted" in problem


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
    ft = {i.facet for i in inst.scale("fault_tolerance").items}
    assert {"know", "applied", "trust"} <= ft
    ini = {i.facet for i in inst.scale("initiative").items}
    assert {"敢为", "愿为", "善为", "想为"} <= ini


def test_round_trip(inst):
    again = parse_instrument(dump_instrument(inst))
    # Same content; the source sha256 (provenance) differs because the dumped text is not the file.
    assert again.model_dump() == inst.model_dump()
    assert again.source_sha256 != inst.source_sha256 and len(again.source_sha256) == 64


def test_broken_yaml_reports_every_problem_with_its_path():
    text = paths.DEFAULT_INSTRUMENT.read_text(encoding="utf-8")
    broken = (
        text.replace("response_scale: agree5", "response_scale: agree7", 1)
        .replace("expect: 1", "expect: 9")
        .replace("id: ba1\n", "id: ap7\n")
        .replace("  - id: unit\n", "  - id: work_unit\n")
    )
    with pytest.raises(InstrumentError) as exc:
        parse_instrument(broken, "broken.yaml")
    problems = exc.value.problems
    assert len(problems) >= 4
    joined = "\n".join(problems)
    assert "scales[0].response_scale (line" in joined and "agree7" in joined
    assert "attention_checks[0].expect" in joined
    assert "'ap7' is used 2 times" in joined
    assert "'unit' is required" in joined


def test_structural_errors_are_all_reported():
    text = paths.DEFAULT_INSTRUMENT.read_text(encoding="utf-8")
    broken = text.replace('version: "2.0"\n', "", 1).replace("reverse: false", "reverse: perhaps", 2)
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
        assert f"`{i.id}`" in md and (i.source.quote or i.source.reference).replace("|", "\\|") in md
    committed = (paths.PROJ_ROOT / "docs" / "instrument.md").read_text(encoding="utf-8")
    assert committed == md, "docs/instrument.md is stale: run `jianfu docs`"
