"""Property tests: normalisation, reverse-keying, label round trips, α invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from jianfu.ingest.parse import _likert_lookup, _map_column
from jianfu.normalize import header_key, value_key
from jianfu.scoring import reverse_key
from jianfu.stats.reliability import cronbach_alpha


@settings(max_examples=500)
@given(st.text())
def test_header_key_is_idempotent(h):
    assert header_key(header_key(h)) == header_key(h)


def test_header_key_strips_real_export_decorations():
    assert header_key("12、（您所在单位的层级）：") == header_key("您所在单位的层级")
    assert header_key("(1)12. 我清楚自己岗位") == header_key("我清楚自己岗位")
    assert header_key("12.\t项⽬") == "项目"  # U+2F6C KANGXI RADICAL EYE, folded by NFKC
    assert header_key("第3题 您的性别:") == "您的性别"


@given(st.lists(st.integers(1, 5), min_size=1, max_size=50))
def test_reverse_keying_twice_is_identity(xs):
    x = pd.Series(xs, dtype=float)
    assert reverse_key(reverse_key(x, 1, 5), 1, 5).equals(x)


@given(st.lists(st.sampled_from([1, 2, 3, 4, 5]), min_size=1, max_size=30))
def test_label_code_label_round_trip(inst, codes):
    rs = inst.response_scales["agree5"]
    labels = pd.Series([rs.labels[c] for c in codes], dtype=object)
    mapped, bad = _map_column(labels, _likert_lookup(inst, "agree5"), np.nan)
    assert not bad
    assert [rs.labels[int(c)] for c in mapped] == list(labels)


def test_label_variants_map_to_codes(inst):
    raw = pd.Series(
        ["5(非常同意)", "4", 3.0, "比较不同意", " 非常不同意 ", "(跳过)", "", None, "一般", "6", "很好"], dtype=object
    )
    mapped, bad = _map_column(raw, _likert_lookup(inst, "agree5"), np.nan)
    assert mapped.tolist()[:5] == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert np.isnan(mapped.iloc[5:8].astype(float)).all()
    assert mapped.iloc[8] == 3.0  # alias from the YAML
    assert set(bad.values()) == {"6", "很好"}
    assert value_key("５（非常同意）") == "5(非常同意)"


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(4))), st.integers(0, 2**16))
def test_alpha_is_invariant_to_item_order(order, seed):
    rng = np.random.default_rng(seed)
    eta = rng.standard_normal(60)
    data = pd.DataFrame({f"i{k}": eta + rng.standard_normal(60) for k in range(4)})
    a1, _ = cronbach_alpha(data)
    a2, _ = cronbach_alpha(data[[f"i{k}" for k in order]])
    assert abs(a1 - a2) < 1e-12
