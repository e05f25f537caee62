"""Quality flags (:mod:`jianfu.quality.flags`) follow the instrument's ``quality`` section."""

from __future__ import annotations

from jianfu.instrument import FLAG_NAMES


def test_quality_flags_follow_the_yaml(inst, survey_files, survey):
    from jianfu.ingest.parse import ingest_file
    from jianfu.quality.flags import flag_quality

    frame = ingest_file(survey_files["wjx-code"], inst).frame
    on = flag_quality(frame, inst)
    careless_only = on["careless"] & ~on[[f for f in FLAG_NAMES if f != "careless"]].any(axis=1)
    assert int(on["quarantined"].sum()) == survey.n_quarantined + int(careless_only.sum())
    assert careless_only.sum() <= 0.01 * len(frame)
    quality = inst.quality.model_copy(update={"speeder": inst.quality.speeder.model_copy(update={"enabled": False})})
    off = flag_quality(frame, inst.model_copy(update={"quality": quality}))
    assert int(off["speeder"].sum()) == survey.injected["speeder"]  # still computed and reported
    speeder_only = off["speeder"] & ~off[[f for f in FLAG_NAMES if f != "speeder"]].any(axis=1)
    assert int(off["quarantined"].sum()) == int(on["quarantined"].sum()) - int(speeder_only.sum())
    assert speeder_only.sum() == survey.injected["speeder"]  # injected flags are disjoint
    stricter = inst.quality.model_copy(
        update={"incomplete": inst.quality.incomplete.model_copy(update={"min_answered": 1.0})}
    )
    assert (
        flag_quality(frame, inst.model_copy(update={"quality": stricter}))["incomplete"].sum()
        > survey.injected["incomplete"]
    )
