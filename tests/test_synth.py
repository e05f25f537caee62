"""The realistic generator against its own declared truth (``instruments/cadre_burden.synth.yaml``, ``realism:``).

Every check compares what the data show with what the generator was told to put there: blank
rates within binomial sampling error, MAR varying with the declared demographic and MCAR not,
不适用 / 不了解 answers surviving write → ingest → run as missing codes, the reverse items' method
factor visible in item–rest correlations and in a CFA's fit, acquiescence cancelling on a balanced
scale, the unit count and the unit share of the latent variance, and the latent model unchanged
(``population_coefficients`` recovered from the latent scores).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import semopy
from expected import check_flags
from pydantic import ValidationError
from scipy import stats

from jianfu import pipeline as engine
from jianfu import workflow
from jianfu.ingest.parse import ingest_file
from jianfu.quality.flags import flag_quality
from jianfu.synth import (
    MissingData,
    Realism,
    StructuralModel,
    Units,
    population_coefficients,
    simulate,
    structural_model_for,
    write_survey,
)

EMPOWERMENT = ["incentive_power", "coordination_power", "disciplinary_power", "discretion_resources"]


@pytest.fixture(scope="module")
def model(inst) -> StructuralModel:
    return structural_model_for(inst)


@pytest.fixture(scope="module")
def realism(model) -> Realism:
    assert model.realism is not None, "cadre_burden.synth.yaml declares a realism section"
    return model.realism


@pytest.fixture(scope="module")
def big(inst):
    """4,000 respondents without injected rows: every row is a clean respondent."""
    return simulate(inst, n=4000, seed=5, inject=False)


def _within(observed: float, p: float, n: int, z: float = 4.0) -> bool:
    """``observed`` is a binomial share of ``n`` trials within ``z`` standard errors of ``p``."""
    return abs(observed - p) <= z * np.sqrt(p * (1 - p) / n)


def _keyed(survey, inst, scale_id: str, reverse: bool = True) -> pd.DataFrame:
    scale = inst.scale(scale_id)
    rs = inst.response_scales[scale.response_scale]
    x = survey.answers[[i.id for i in scale.items]].copy()
    for item in scale.items:
        if item.reverse and reverse:
            x[item.id] = rs.min + rs.max - x[item.id]
    return x


def _item_rest(survey, inst) -> pd.Series:
    out = {}
    for scale in inst.first_order_scales:
        x = _keyed(survey, inst, scale.id).dropna()
        for item in x.columns:
            out[item] = np.corrcoef(x[item], x.drop(columns=item).sum(axis=1))[0, 1]
    return pd.Series(out)


# ---------------------------------------------------------------- reproducibility and the clean switch


def test_the_same_seed_gives_the_same_survey(inst):
    a, b = simulate(inst, n=150, seed=9), simulate(inst, n=150, seed=9)
    for frame in ("answers", "flags", "latent", "missing_kind", "missing_codes", "method", "item_truth", "pii"):
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame))
    assert a.submitted == b.submitted and a.mar_probability == b.mar_probability
    c = simulate(inst, n=150, seed=10)
    assert not a.answers.equals(c.answers)


def test_item_parameters_belong_to_the_instrument_not_the_wave(inst):
    """Two waves of one questionnaire measure the same way: same loadings, shifts and 不适用 rates."""
    may, nov = simulate(inst, n=300, seed=1), simulate(inst, n=300, seed=2)
    pd.testing.assert_frame_equal(may.item_truth, nov.item_truth)
    # Answers of the same row differ (new respondents), the measurement model does not; the clean
    # generator (realism=False) drew its loadings from the survey seed.
    assert not may.answers.equals(nov.answers)
    clean_may, clean_nov = (simulate(inst, n=300, seed=s, realism=False) for s in (1, 2))
    assert not np.allclose(clean_may.item_truth["loading"], clean_nov.item_truth["loading"])


def test_realism_false_gives_the_clean_data(inst, model):
    clean = simulate(inst, n=600, seed=11, realism=False)
    assert clean.realism is None and clean.mar_probability == {}
    assert clean.missing_codes.isna().all().all() and (clean.method == 0).all().all()
    assert clean.answers["unit"].nunique() <= 600 // 15  # the clean rule: max(5, n // 15) units
    assert (clean.item_truth["method_loading"] == 0).all() and not clean.item_truth["agreement"].any()
    kinds = set(np.unique(clean.missing_kind.to_numpy()))
    assert kinds <= {"", "mcar", "incomplete"}
    clean_rows = ~clean.flags["incomplete"].to_numpy()
    assert _within(
        (clean.missing_kind[clean_rows] == "mcar").to_numpy().mean(), 0.01, clean_rows.sum() * len(inst.items)
    )
    # Realism is added on top of the same latent model: the generating coefficients are shared.
    assert clean.truth == simulate(inst, n=50, seed=11).truth == model.truth


# ---------------------------------------------------------------- blanks and 不适用


def test_blank_and_not_applicable_shares_match_the_declared_rates(inst, big, realism):
    kind = big.missing_kind
    n_cells = kind.size
    # The incomplete budget re-answers a few cells of the rows with most blanks; at these rates it
    # touches < 0.1% of the cells, well inside the 4 SE bands below.
    assert _within((kind == "mcar").to_numpy().mean(), realism.missing.mcar, n_cells)
    assert _within((kind == "mar").to_numpy().mean(), realism.missing.mar, n_cells)
    # 不适用 / 不了解 only where the response scale offers them, at each item's own rate among answered cells.
    offers = big.item_truth["not_applicable"] > 0
    scale_of = inst.likert_response_scale()
    assert offers.to_dict() == {i: bool(inst.response_scales[scale_of[i]].missing_options) for i in offers.index}
    assert (kind.loc[:, ~offers.to_numpy()] != "code").all().all()
    assert big.item_truth.loc[offers, "not_applicable"].mean() == pytest.approx(realism.not_applicable, abs=0.015)
    for item in offers[offers].index:
        at_risk = kind[item].isin(["", "code"])
        share = (kind.loc[at_risk, item] == "code").mean()
        assert _within(share, big.item_truth.loc[item, "not_applicable"], int(at_risk.sum()), z=4.5), item
    # Codes split evenly between 不适用 (8) and 不了解 (9); the scored answers carry no code.
    codes = big.missing_codes.stack().dropna()
    assert set(codes.unique()) == {8.0, 9.0} and _within((codes == 8).mean(), 0.5, len(codes))
    assert big.answers[big.item_truth.index].where(kind == "code").isna().all().all()


def test_mar_depends_on_the_declared_demographic_and_mcar_does_not(inst, big, realism):
    declared = realism.missing.mar_on
    options = next(d.options for d in inst.demographics if d.id == declared)
    assert list(big.mar_probability) == options
    p = np.array(list(big.mar_probability.values()))
    # Log-linear over the options: the last is mar_ratio times the first, each step the same factor.
    assert p[-1] / p[0] == pytest.approx(realism.missing.mar_ratio)
    assert np.diff(np.log(p)) == pytest.approx(np.full(len(p) - 1, np.log(realism.missing.mar_ratio) / (len(p) - 1)))
    group = big.answers[declared]
    k = big.missing_kind.shape[1]
    mar = (big.missing_kind == "mar").sum(axis=1).groupby(group).sum()
    mcar = (big.missing_kind == "mcar").sum(axis=1).groupby(group).sum()
    cells = group.value_counts() * k
    for option, prob in big.mar_probability.items():
        assert _within(mar[option] / cells[option], prob, cells[option]), option
        assert _within(mcar[option] / cells[option], realism.missing.mcar, cells[option]), option
    # Independence tests across the options: MAR depends on the variable, MCAR does not.
    table = lambda blanks: np.column_stack([blanks[options], cells[options] - blanks[options]])  # noqa: E731
    assert stats.chi2_contingency(table(mar))[1] < 1e-12
    assert stats.chi2_contingency(table(mcar))[1] > 0.001
    # ... and MAR depends on no other demographic beyond what its correlation with the declared one carries.
    other = big.answers["gender"]
    by_gender = (big.missing_kind == "mar").sum(axis=1).groupby([other, group]).sum() / (
        big.answers.groupby([other, group]).size() * k
    )
    for option in options:
        assert by_gender.xs(option, level=1).max() - by_gender.xs(option, level=1).min() < 0.01


def test_blanks_never_push_a_clean_row_over_the_incomplete_rule(inst, tmp_path):
    """Heavy blanking (15% MCAR) makes many rows reach the budget; only injected rows are flagged."""
    heavy = Realism(missing=MissingData(mcar=0.15))
    survey = simulate(inst, n=300, seed=4, realism=heavy)
    budget = len(inst.items) - int(np.ceil(inst.quality.incomplete.min_answered * len(inst.items)))
    unanswered = (survey.missing_kind != "").sum(axis=1)
    clean = ~survey.flags["incomplete"]
    assert unanswered[clean].max() == budget  # rows were capped, not pushed over
    assert (unanswered[clean] == budget).sum() > 10
    path = write_survey(survey, inst, tmp_path / "heavy.xlsx", fmt="wjx-text")
    result = ingest_file(path, inst)
    flags = flag_quality(result.frame, inst)
    for flag in ("incomplete", "straightline", "attention", "duplicate", "speeder"):
        assert (flags[flag].to_numpy() == survey.flags[flag].to_numpy()).all(), flag


@pytest.mark.parametrize("fmt", ["wjx-text", "wjx-code", "csv", "template", "tencent"])
def test_not_applicable_answers_round_trip_as_missing_codes(inst, survey, survey_files, fmt):
    """The session survey (realistic) written in every layout: ingest keeps 8/9 beside the item, unscored."""
    result = ingest_file(survey_files[fmt], inst)
    coded = survey.missing_codes.stack()
    expected = {(row, f"{item}={int(code)}") for (row, item), code in coded.items() if not np.isnan(code)}
    stored = result.frame["_missing_codes"].dropna()
    got = {(row, pair) for row, cell in stored.items() for pair in cell.split(";")}
    assert len(expected) > 100 and got == expected
    items = list(survey.item_truth.index)
    values = result.frame[items].to_numpy(float)
    assert set(np.unique(values[~np.isnan(values)])) <= {1.0, 2.0, 3.0, 4.0, 5.0}  # never scored
    assert np.isnan(values[survey.missing_codes.notna().to_numpy()]).all()


def test_a_realistic_wave_runs_with_exact_flags_and_counted_codes(inst, plan, tmp_path):
    """write → run_files: every injected row quarantined (and at most the careless screens' false alarms
    besides); 不适用 / 不了解 counted per item over the accepted rows, as the generator recorded them."""
    survey = simulate(inst, n=400, seed=31)
    path = write_survey(survey, inst, tmp_path / "realistic.xlsx", fmt="wjx-text")
    settings = engine.Settings.under(tmp_path / "data", tmp_path / "reports")
    summary = workflow.run_files([path], inst, plan, "2026-10", settings)
    check_flags(summary["flags"], summary["rows"], survey)
    status = engine.clean([ingest_file(path, inst)], inst)["status"]  # the same rows, in file order
    assert (status == "accepted").sum() == summary["rows"]["accepted"]
    accepted = (status == "accepted").to_numpy()
    assert not (accepted & survey.flags.any(axis=1).to_numpy()).any()
    counts = {code: survey.missing_codes[accepted].eq(code).sum() for code in (8.0, 9.0)}
    checked = 0
    for scale in inst.first_order_scales:
        if not inst.response_scales[scale.response_scale].missing_options:
            continue
        rows = summary["scales"][scale.id]["items"]
        for item in scale.items:
            assert rows[item.id]["n_code_8"] == counts[8.0][item.id], item.id
            assert rows[item.id]["n_code_9"] == counts[9.0][item.id], item.id
            checked += counts[8.0][item.id] + counts[9.0][item.id]
    assert checked > 100


# ---------------------------------------------------------------- response styles


def test_the_reverse_method_factor_lowers_reverse_items_item_rest_correlations(inst, realism):
    """Paired: the same seed with and without the method factor differs only in the reverse items' responses."""
    gamma = realism.reverse_method_loading
    with_method = simulate(inst, n=4000, seed=5, inject=False)
    without = simulate(
        inst, n=4000, seed=5, inject=False, realism=realism.model_copy(update={"reverse_method_loading": 0})
    )
    truth = with_method.item_truth
    pd.testing.assert_frame_equal(
        with_method.answers.drop(columns=truth.index[truth["reverse"]]),
        without.answers.drop(columns=truth.index[truth["reverse"]]),
    )
    assert truth.loc[truth["reverse"], "loading"].to_numpy() == pytest.approx(
        without.item_truth.loc[truth["reverse"], "loading"].to_numpy() * np.sqrt(1 - gamma**2)
    )
    r_with, r_without = _item_rest(with_method, inst), _item_rest(without, inst)
    n_reverse = truth.groupby("scale")["reverse"].transform("sum")
    single = truth.index[truth["reverse"] & (n_reverse == 1)]  # no other reverse item in the rest score
    ratio = r_with[single] / r_without[single]
    assert len(single) >= 8 and (ratio < 0.97).all() and (ratio > 0.8).all()
    # The trait loading falls by √(1−γ²); the ordinal item–rest correlation falls about as much.
    assert ratio.mean() == pytest.approx(np.sqrt(1 - gamma**2), abs=0.03)
    forward = truth.index[~truth["reverse"]]
    assert (r_with[forward] - r_without[forward]).abs().median() < 0.01


def test_a_cfa_without_the_method_factor_misfits(inst, realism):
    """Likelihood-ratio test of an orthogonal method factor on the reverse items of four scales."""
    scales = ["incentive_power", "coordination_power", "fault_tolerance", "exhaustion"]
    reverse = [i.id for s in scales for i in inst.scale(s).items if i.reverse]
    items = [i.id for s in scales for i in inst.scale(s).items]
    traits = [f"{s} =~ " + " + ".join(i.id for i in inst.scale(s).items) for s in scales]
    method = ["M =~ " + " + ".join(reverse), *(f"M ~~ 0*{s}" for s in scales)]

    def lr_p(gamma: float) -> float:
        style = realism.model_copy(update={"reverse_method_loading": gamma, "acquiescence_sd": 0.0})
        data = simulate(inst, n=2000, seed=8, inject=False, realism=style).answers[items].dropna()
        chi2 = []
        for syntax in (traits, traits + method):
            m = semopy.Model("\n".join(syntax))
            m.fit(data)
            st = semopy.calc_stats(m).T
            chi2.append((float(st.loc["chi2"].iloc[0]), float(st.loc["DoF"].iloc[0])))
        (c0, d0), (c1, d1) = chi2
        return float(stats.chi2.sf(c0 - c1, d0 - d1))

    assert lr_p(realism.reverse_method_loading) < 1e-6
    assert lr_p(0.0) > 0.01


def test_acquiescence_shifts_agreement_items_before_reverse_scoring(inst, big):
    acq = big.method["acquiescence"]
    truth = big.item_truth
    assert acq.std() == pytest.approx(big.realism.acquiescence_sd, rel=0.05)
    agree, rev = truth["agreement"], truth["reverse"]
    raw = lambda cols: big.answers[truth.index[cols]].mean(axis=1)  # noqa: E731
    # Towards agreement on every agreement item, reverse-keyed ones included; frequency items untouched.
    assert np.corrcoef(acq, raw(agree & ~rev))[0, 1] > 0.3
    assert np.corrcoef(acq, raw(agree & rev))[0, 1] > 0.2
    assert abs(np.corrcoef(acq, raw(~agree))[0, 1]) < 0.05
    # On a balanced scale (3 + 3 items) it cancels once the reverse items are scored.
    im = "impression_management"
    assert np.corrcoef(acq, _keyed(big, inst, im, reverse=False).mean(axis=1))[0, 1] > 0.3
    assert abs(np.corrcoef(acq, _keyed(big, inst, im).mean(axis=1))[0, 1]) < 0.1


# ---------------------------------------------------------------- units and the latent truth


@pytest.mark.parametrize("n", [1, 12, 60, 300, 600, 2000])
def test_the_unit_count_is_within_the_declared_bounds(inst, realism, n):
    units = realism.units
    high = min(units.max, max(units.min, n // units.min_mean_size))
    counts = {simulate(inst, n=n, seed=s, inject=False).answers["unit"].nunique() for s in range(6)}
    # Every unit drawn is named, but with few respondents some units draw nobody.
    assert all(c <= min(high, n) for c in counts)
    if n >= 300:
        assert min(counts) >= units.min and len(counts) > 1


def test_unit_intercepts_have_the_declared_share_and_leave_the_latent_model_unchanged(inst, model, realism):
    survey = simulate(inst, n=12_000, seed=2, n_units=60, inject=False)
    lat, unit = survey.latent, survey.answers["unit"]
    icc_declared = realism.units.icc

    def icc(x: pd.Series) -> float:  # ANOVA estimator, ICC(1)
        groups = x.groupby(unit)
        k, n0 = groups.ngroups, len(x) / groups.ngroups
        msb = (groups.size() * (groups.mean() - x.mean()) ** 2).sum() / (k - 1)
        msw = ((x - groups.transform("mean")) ** 2).sum() / (len(x) - k)
        return (msb - msw) / (msb + (n0 - 1) * msw)

    # An exogenous latent and a residual-only equation: the unit share is exactly the declared ICC.
    assert icc(lat["incentive_power"]) == pytest.approx(icc_declared, abs=0.03)
    assert icc(lat["digital_literacy"]) == pytest.approx(icc_declared, abs=0.03)
    clean = simulate(inst, n=12_000, seed=2, n_units=60, inject=False, realism=False)
    assert abs(icc(clean.latent["incentive_power"])) < 0.01
    # Variances stay 1 and regressions on the latent scores recover the population coefficients.
    assert lat.var().to_numpy() == pytest.approx(np.ones(lat.shape[1]), abs=0.06)
    predictors = [*EMPOWERMENT, "accountability_pressure"]
    truth = population_coefficients(model, "burden", predictors)
    X = np.column_stack([np.ones(len(lat)), lat[predictors].to_numpy()])
    b = np.linalg.lstsq(X, lat["burden"].to_numpy(), rcond=None)[0][1:]
    assert b == pytest.approx([truth[p] for p in predictors], abs=0.04)


# ---------------------------------------------------------------- the YAML section


def test_the_realism_section_is_validated(inst, model):
    with pytest.raises(ValidationError, match="extra"):
        Realism.model_validate({"acquiesence_sd": 0.2})  # a typo is refused, not ignored
    with pytest.raises(ValidationError, match="mar_on"):
        MissingData(mar=0.03)
    with pytest.raises(ValidationError, match="below min"):
        Units(min=20, max=8)
    with pytest.raises(ValidationError, match="agreement_formats"):
        Realism(acquiescence_sd=0.3)
    with pytest.raises(ValidationError):
        StructuralModel.model_validate({"realism": {"missing": {"mcar": 0.7}}})
    bad = Realism(missing=MissingData(mar=0.03, mar_on="unit"))  # free text: no ordered options
    with pytest.raises(ValueError, match="mar_on"):
        simulate(inst, n=60, seed=1, realism=bad)


def test_formats_an_instrument_lacks_are_ignored(model):
    """One model serves v1 and v2: v1 has no agree5_na and no 不适用 codes."""
    from jianfu import paths
    from jianfu.instrument import load_instrument

    v1 = load_instrument(paths.INSTRUMENTS_DIR / "cadre_burden_v1.yaml")
    survey = simulate(v1, n=200, seed=3, inject=False)
    assert survey.missing_codes.isna().all().all()
    agree5 = {i.id for s in v1.first_order_scales if s.response_scale == "agree5" for i in s.items}
    assert set(survey.item_truth.index[survey.item_truth["agreement"]]) == agree5
