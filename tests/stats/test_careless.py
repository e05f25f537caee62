"""Careless-responding indices against the R package ``careless`` 1.2.2 and against planted careless rows.

Reference: ``tests/reference/careless_reference.R`` and its output ``careless_reference.txt``: longstring, irv
(split in 3), mahad (D² and flag at .999), evenodd, psychsyn and antonyms on ``careless::careless_dataset``
(``careless_data.csv``), complete and with NA at fixed cells ("na"); plus ``stats::mahalanobis`` on the
answered items only, the reference for ``missing="available"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jianfu.stats.careless import (
    INDICES,
    CarelessThresholds,
    careless_flags,
    careless_indices,
    even_odd,
    irv,
    longstring,
    mahalanobis,
    psychsyn,
    synonym_pairs,
)
from jianfu.stats.estimable import NotEstimable

REF = Path(__file__).parents[1] / "reference"
DATA = pd.read_csv(REF / "careless_data.csv").astype(float)
SCALES = {s: [f"scale{s}{i}" for i in range(1, 6)] for s in "ABCDEFGHIJ"}


def _reference() -> dict[str, pd.DataFrame]:
    tables, name, header, rows = {}, None, None, []
    for line in (REF / "careless_reference.txt").read_text().splitlines():
        words = line.split()
        if words[0] == "#":
            if name and header:
                tables[name] = pd.DataFrame(rows, columns=header).set_index("row")
            name, header, rows = words[1], None, []
            tables.setdefault("meta", {})[words[1]] = words[2:]
        elif header is None:
            header = words
        else:
            rows.append([np.nan if w == "NA" else float(w) for w in words])
    return tables


REFERENCE = _reference()


def _with_na(x: pd.DataFrame) -> pd.DataFrame:
    """The "na" variant of the R script: NA where (7 i + 13 j) mod 47 == 0 (1-based), and row 3, items 1–40."""
    i, j = np.meshgrid(np.arange(1, x.shape[0] + 1), np.arange(1, x.shape[1] + 1), indexing="ij")
    out = x.mask((7 * i + 13 * j) % 47 == 0)
    out.iloc[2, :40] = np.nan
    return out


def _reversed(x: pd.DataFrame) -> pd.DataFrame:
    out = x.copy()
    cols = [c for c in x if c[5] in "ABCDE"]
    out[cols] = 6 - out[cols]
    return out


VARIANTS = {"complete": DATA, "na": _with_na(DATA)}


def _same(got, expected, tol=1e-8):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=0, atol=tol)


def test_the_na_variant_has_missing_answers_where_the_r_script_put_them():
    x = VARIANTS["na"]
    assert 150 < x.isna().sum().sum() < 300 and x.iloc[2, :40].isna().all() and x.iloc[2, 40:].notna().sum() == 9


@pytest.mark.parametrize("variant", VARIANTS)
def test_longstring_matches_careless(variant):
    ref, x = REFERENCE[variant], VARIANTS[variant]
    got = longstring(x, average=True)
    _same(got["longstring"], ref["longstr"])
    _same(got["average"], ref["avgstr"])
    assert longstring(DATA).dtype.kind == "i" and longstring(DATA).max() == 50  # row 50 straight-lines


@pytest.mark.parametrize("variant", VARIANTS)
def test_irv_and_its_split_match_careless(variant):
    ref, x = REFERENCE[variant], VARIANTS[variant]
    got = irv(x, split=3)
    for col, r_col in [("irv", "irv"), ("irv1", "irv1"), ("irv2", "irv2"), ("irv3", "irv3")]:
        _same(got[col], ref[r_col])
    _same(irv(x), ref["irv"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_mahalanobis_mean_mode_matches_careless_mahad(variant):
    ref, x = REFERENCE[variant], VARIANTS[variant]
    got = mahalanobis(x, missing="mean")
    _same(got["d2"], ref["d2"], tol=1e-6)
    assert (got["flag"].to_numpy() == ref["flag"].astype(bool).to_numpy()).all()
    assert (got["df"] == 50).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_mahalanobis_on_answered_items_matches_stats_mahalanobis(variant):
    ref, x = REFERENCE[variant], VARIANTS[variant]
    got = mahalanobis(x)
    _same(got["d2"], ref["d2_avail"], tol=1e-6)
    _same(got["df"], ref["df_avail"])
    p = got["p"].to_numpy()
    assert ((p < 0.001) == got["flag"]).all()
    if variant == "na":  # a missing answer as a zero deviation understates D² of an incomplete row
        incomplete = x.isna().any(axis=1).to_numpy()
        mean_mode = mahalanobis(x, missing="mean")["d2"].to_numpy()
        assert (got["d2"].to_numpy()[incomplete] < mean_mode[incomplete]).mean() > 0.5


def test_mahalanobis_flags_the_randomly_answering_rows_of_the_dataset():
    got = mahalanobis(DATA)
    assert got["flag"].sum() == REFERENCE["complete"]["flag"].sum() == 18
    assert DATA[got["flag"].to_numpy()].std(axis=1).mean() > DATA[~got["flag"].to_numpy()].std(axis=1).mean() + 0.4


@pytest.mark.parametrize("variant", VARIANTS)
def test_even_odd_matches_careless_evenodd(variant):
    ref, x = REFERENCE[variant], VARIANTS[variant]
    _same(even_odd(x, SCALES), ref["evenodd"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_psychsyn_and_antonyms_match_careless(variant):
    ref, x = REFERENCE[variant], VARIANTS[variant]
    got = psychsyn(x, diag=True)
    _same(got["psychsyn"], ref["psychsyn"])
    _same(got["n_pairs"], ref["syn_pairs"])
    anto = psychsyn(_reversed(x), anto=True, diag=True)
    _same(anto["psychsyn"], ref["psychant"])
    _same(anto["n_pairs"], ref["ant_pairs"])


def test_synonym_pairs_are_the_53_careless_finds_and_pairs_can_be_given():
    pairs = synonym_pairs(DATA)
    assert len(pairs) == int(REFERENCE["meta"]["synonym_pairs"][0]) == 53
    assert ("scaleC1", "scaleA1") in pairs and all(DATA[a].corr(DATA[b]) > 0.6 for a, b in pairs)
    _same(psychsyn(DATA, pairs=pairs), REFERENCE["complete"]["psychsyn"])
    assert len(synonym_pairs(DATA, critval=0.9)) == 0


def test_resampling_fills_only_rows_where_one_column_varies_as_careless():
    resampled = psychsyn(DATA, resample_na=True, random_state=2016)
    assert [i + 1 for i in np.flatnonzero(resampled.isna())] == [
        int(v) for v in REFERENCE["meta"]["resampled_na_rows"]
    ]  # rows 50 and 89 answer both items of every pair alike: no swap gives them variance

    x = DATA.copy()
    pairs = synonym_pairs(DATA)
    first = list(dict.fromkeys(a for a, _ in pairs))
    x.loc[0, first] = 3.0  # the first items of the pairs constant, the second ones not: r undefined
    plain = psychsyn(x, pairs=pairs)
    filled = psychsyn(x, pairs=pairs, resample_na=True, random_state=1)
    assert np.isnan(plain[0]) and np.isfinite(filled[0])
    assert (filled.drop(index=0).dropna() == plain.drop(index=0).dropna()).all()


def test_careless_flags_apply_the_thresholds_to_the_r_values():
    ref = REFERENCE["complete"]
    flags = careless_flags(DATA, SCALES)
    assert list(flags.columns) == [*INDICES, "careless_count"]
    assert (flags["longstring"].to_numpy() == (ref["longstr"] >= 25).to_numpy()).all()
    assert (flags["irv"].to_numpy() == (ref["irv"] < 0.5).to_numpy()).all()
    assert (flags["mahalanobis"].to_numpy() == ref["flag"].astype(bool).to_numpy()).all()
    assert (flags["even_odd"].to_numpy() == (-ref["evenodd"] < 0.30).to_numpy()).all()
    assert (flags["psychsyn"].to_numpy() == (ref["psychsyn"] < 0).to_numpy()).all()
    assert (flags["careless_count"] == flags[list(INDICES)].sum(axis=1)).all()
    assert flags.attrs["not_estimable"] == {} and flags.attrs["thresholds"]["mahalanobis"] == 0.001

    strict = careless_flags(DATA, SCALES, {"longstring": 0.2, "irv": 0.25}, response_range=(1, 5))
    assert (strict["longstring"].to_numpy() == (ref["longstr"] >= 10).to_numpy()).all()
    assert (strict["irv"].to_numpy() == (ref["irv"] < 1.0).to_numpy()).all()


def _survey(seed: int, n: int = 400, scales: int = 8, per_scale: int = 5):
    """Diligent respondents answer a trait per scale plus noise; 5% straight-line and 5% answer at random."""
    rng = np.random.default_rng(seed)
    k = scales * per_scale
    trait = rng.normal(size=(n, scales)).repeat(per_scale, axis=1)
    x = np.clip(np.rint(3 + trait + rng.normal(0, 0.7, (n, k))), 1, 5)
    straight = np.arange(0, n // 20)
    random = np.arange(n // 20, n // 10)
    x[straight] = rng.integers(1, 6, (straight.size, 1))
    x[straight, rng.integers(0, k, straight.size)] = 3  # one item off the line, not a perfect straight line
    x[random] = rng.integers(1, 6, (random.size, k))
    cols = [f"s{s}_{i}" for s in range(scales) for i in range(per_scale)]
    frame = pd.DataFrame(x, columns=cols)
    return frame, {f"s{s}": cols[s * per_scale : (s + 1) * per_scale] for s in range(scales)}, straight, random


def test_two_agreeing_flags_catch_planted_careless_rows_and_spare_the_diligent():
    caught = {"straight": [], "random": [], "careful": []}
    for seed in range(1, 6):
        frame, scales, straight, random = _survey(seed=seed)
        flags = careless_flags(frame, scales)
        careful = np.setdiff1d(np.arange(len(frame)), np.r_[straight, random])
        two = (flags["careless_count"] >= 2).to_numpy()
        caught["straight"] += list(two[straight])
        caught["random"] += list(two[random])
        caught["careful"] += list(two[careful])
        assert flags["longstring"].iloc[straight].all() and flags["irv"].iloc[straight].all()
        assert flags["mahalanobis"].iloc[random].mean() >= 0.9 and not flags["mahalanobis"].iloc[careful].any()
    assert np.mean(caught["straight"]) == 1.0
    # D² finds the random responders; the second hurdle, a consistency index over 8 scales, only about 2 in 3
    assert 0.6 <= np.mean(caught["random"]) <= 0.9
    assert np.mean(caught["careful"]) <= 0.01


def test_reverse_keyed_answers_go_to_even_odd_only():
    frame, scales, _, _ = _survey(seed=3)
    flipped = frame.copy()
    rev = [c for c in frame if c.endswith("_1")]
    flipped[rev] = 6 - flipped[rev]  # as the respondent saw a reverse-keyed item
    plain = careless_indices(frame, scales)
    keyed = careless_indices(flipped, scales, keyed=frame)
    _same(keyed["even_odd"], plain["even_odd"])
    assert not np.allclose(even_odd(flipped, scales).fillna(0), plain["even_odd"].fillna(0))


def test_what_cannot_be_computed_is_named_not_raised():
    frame, scales, _, _ = _survey(seed=5, n=30, scales=1, per_scale=6)
    flags = careless_flags(frame, scales)
    assert set(flags.attrs["not_estimable"]) >= {"even_odd"}
    assert not flags["even_odd"].any()
    reason = flags.attrs["not_estimable"]["even_odd"]
    assert "两个量表" in reason["zh"] and "two scales" in reason["en"]

    with pytest.raises(NotEstimable):
        even_odd(frame, scales)
    with pytest.raises(NotEstimable):
        psychsyn(frame, critval=0.99)
    with pytest.raises(NotEstimable, match="do not vary"):
        mahalanobis(frame.assign(s0_0=3.0))
    with pytest.raises(NotEstimable, match="more respondents than items"):
        mahalanobis(frame.head(6))
    with pytest.raises(NotEstimable, match="linearly dependent"):
        mahalanobis(frame.assign(total=frame.sum(axis=1)))


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown careless-responding thresholds: longest"):
        careless_flags(DATA, SCALES, {"longest": 0.5})
    with pytest.raises(KeyError, match="items not in the data: nope"):
        longstring(DATA, ["scaleA1", "nope"])
    with pytest.raises(ValueError, match="split must be between 2"):
        irv(DATA, split=51)
    with pytest.raises(ValueError, match="missing must be"):
        mahalanobis(DATA, missing="pairwise")
    assert CarelessThresholds.from_mapping({"irv": "0.2"}).irv == 0.2


def test_rows_without_answers_are_missing_not_flagged():
    x = DATA.head(80).copy()
    x.iloc[5] = np.nan
    assert np.isnan(longstring(x).iloc[5]) and np.isnan(irv(x).iloc[5])
    m = mahalanobis(x.iloc[:, :10])
    assert np.isnan(m["d2"].iloc[5]) and not m["flag"].iloc[5] and m["d2"].drop(index=5).notna().all()
    flags = careless_flags(x, SCALES)
    assert flags["careless_count"].iloc[5] == 0


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_pairwise_moments_equal_pandas_pairwise_cov_and_corr(offset):
    """The matrix-product moments equal pandas' pair-by-pair loop (R's use = "pairwise") with holes,
    a constant item, an item answered once and one never answered."""
    from jianfu.stats.careless import _pairwise

    rng = np.random.default_rng(8)
    x = rng.integers(1, 6, size=(300, 9)).astype(float) + offset
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, 1], x[1:, 2], x[:, 3] = 3.0, np.nan, np.nan
    off = ~np.eye(9, dtype=bool)
    cov, corr = pd.DataFrame(x).cov().to_numpy(), pd.DataFrame(x).corr().to_numpy()
    assert np.allclose(_pairwise(x), cov, equal_nan=True, atol=1e-10)
    assert np.allclose(_pairwise(x, corr=True)[off], corr[off], equal_nan=True, atol=1e-10)
    assert np.isnan(_pairwise(x, corr=True)[0, 1]) and np.isnan(_pairwise(x)[2, 3])
