"""Data-quality flags from the instrument's ``quality`` section.

* speeder — completion time under ``min_fraction_of_median`` × the file's median time;
* straightline — one and the same answer to every answered Likert item of the battery
  (scale items; attention checks excluded), at least three answered;
* attention — any attention check answered with something other than ``expect``;
* incomplete — fewer than ``min_answered`` of the Likert items answered;
* duplicate — identical answers to every item and demographic as an earlier submission
  (by submission time, then file order); the later copies are flagged;
* invalid — a cell that is not an allowed answer (``_invalid_detail`` names it, set at ingest);
* careless — at least ``quality.careless.min_flags`` careless-responding hurdles agree: long
  string, IRV, Mahalanobis D², and consistency (even–odd or psychometric synonyms, one hurdle since
  both measure it; Curran 2016, :mod:`jianfu.stats.careless`); each index is a flag column of its
  own, reported, never quarantining alone.

Flagged rows are quarantined, never deleted; a flag switched off in the YAML is still
computed and reported but does not quarantine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jianfu.instrument import CARELESS_INDICES, FLAG_NAMES, Instrument
from jianfu.scoring import keyed_items
from jianfu.stats.careless import CarelessThresholds, careless_flags

__all__ = ["flag_quality", "FLAG_NAMES"]


def flag_quality(frame: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Boolean flags per row (:data:`FLAG_NAMES` and the careless indices) plus ``quarantined`` and ``reasons``.

    ``frame`` is the concatenation of ingested files (see :func:`jianfu.ingest.parse.ingest_file`);
    speeders are judged against the median of their own file.
    """
    q = inst.quality
    items = [i.id for i in inst.items if i.id in frame]
    likert = frame[items].to_numpy(dtype=float) if items else np.empty((len(frame), 0))
    answered = ~np.isnan(likert)
    n_answered = answered.sum(axis=1)
    flags = pd.DataFrame(index=frame.index)

    duration = frame["_duration_s"].astype(float)
    median = duration.groupby(frame["_file_sha256"]).transform("median")
    flags["speeder"] = (duration < q.speeder.min_fraction_of_median * median).fillna(False).to_numpy(bool)

    with np.errstate(invalid="ignore"):
        lo = np.where(answered, likert, np.inf).min(axis=1)
        hi = np.where(answered, likert, -np.inf).max(axis=1)
    flags["straightline"] = (n_answered >= 3) & (lo == hi)

    failed = np.zeros(len(frame), dtype=bool)
    for check in inst.attention_checks:
        if check.id in frame:
            v = frame[check.id].to_numpy(dtype=float)
            failed |= ~np.isnan(v) & (v != check.expect)
    flags["attention"] = failed

    share = n_answered / max(1, len(inst.items))
    flags["incomplete"] = share < q.incomplete.min_answered

    detail = frame["_invalid_detail"] if "_invalid_detail" in frame else pd.Series(None, index=frame.index)
    flags["invalid"] = (detail.notna() & (detail.astype(str) != "")).to_numpy(bool)

    keys = items + [d.id for d in inst.demographics if d.id in frame]
    order = frame.sort_values(["_submitted", "_file_sha256", "_row"], kind="stable", na_position="last").index
    dup = frame.loc[order, keys].duplicated(keep="first")
    flags["duplicate"] = dup.reindex(frame.index).to_numpy(bool)

    careless = _careless(frame, inst)
    for name in CARELESS_INDICES:
        flags[name] = careless[name].to_numpy(bool)
    # Even–odd consistency and psychometric synonyms both measure consistency across item pairs
    # (Meade & Craig, 2012) and agree on diligent respondents with a flat profile: they count as one
    # hurdle, so two agreeing flags always come from two different kinds of evidence.
    consistency = careless["even_odd"] | careless["psychsyn"]
    hurdles = careless["longstring"].astype(int) + careless["irv"] + careless["mahalanobis"] + consistency
    flags["careless"] = (hurdles >= q.careless.min_flags).to_numpy(bool)

    enabled = q.enabled_flags
    flags["quarantined"] = flags[enabled].any(axis=1) if enabled else False
    names = np.array(FLAG_NAMES)
    active = flags[list(FLAG_NAMES)].to_numpy(bool)
    flags["reasons"] = [",".join(names[row]) for row in active]
    return flags


def _careless(frame: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """The five careless-responding flags over the scale items, in the order they were asked."""
    battery = {s.id: [i.id for i in s.items if i.id in frame] for s in inst.first_order_scales}
    battery = {k: v for k, v in battery.items() if v}
    items = [i for its in battery.values() for i in its]
    if not items or len(frame) < 3:
        return pd.DataFrame(False, index=frame.index, columns=[*CARELESS_INDICES]).assign(careless_count=0)
    rule = inst.quality.careless
    thresholds = CarelessThresholds(
        longstring=rule.longstring,
        irv=rule.irv,
        mahalanobis=rule.mahalanobis,
        even_odd=rule.even_odd,
        psychsyn=rule.psychsyn,
        psychsyn_critval=rule.psychsyn_critval,
    )
    scales = [inst.response_scales[s.response_scale] for s in inst.first_order_scales if s.id in battery]
    answers = frame[items].astype(float)
    return careless_flags(
        answers,
        battery,
        thresholds,
        keyed=keyed_items(frame, inst)[items].astype(float),
        response_range=(min(rs.min for rs in scales), max(rs.max for rs in scales)),
    ).set_axis(frame.index)
