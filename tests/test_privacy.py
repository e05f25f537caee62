"""Masking matches how people write numbers, and leaves ordinary numbers alone (property tests)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jianfu.privacy import MASK, mask_text, mask_value, pii_kind_of_values
from jianfu.problems import error

FULL = str.maketrans("0123456789", "０１２３４５６７８９")
digit = st.sampled_from("0123456789")
chinese = st.text(alphabet=st.sampled_from(list("我们单位今年会议文件多填报表格基层减负希望，。：、")), max_size=12)
# Ordinary numbers that may stand next to an identifier in an answer.
ordinary = st.sampled_from(["", "2024年", "开了37次会", "每周12个小时", "3000元", "打12345热线", "第3季度", "80%"])


def _grouped(digits: str, draw) -> str:
    """The digits as a person might write them: runs split by spaces, dashes or dots, maybe full-width."""
    sep = draw(st.sampled_from(["", " ", "-", ".", " - "[1]]))
    cuts = sorted(draw(st.lists(st.integers(1, len(digits) - 1), max_size=3, unique=True)))
    parts, last = [], 0
    for c in cuts:
        parts.append(digits[last:c])
        last = c
    parts.append(digits[last:])
    text = sep.join(parts)
    return text.translate(FULL) if draw(st.booleans()) and sep in ("", " ") else text


@st.composite
def mobile(draw) -> tuple[str, str]:
    digits = "1" + draw(st.sampled_from("3456789")) + "".join(draw(st.lists(digit, min_size=9, max_size=9)))
    prefix = draw(st.sampled_from(["", "+86 ", "+86", "0086-", "86-", "０086 "]))
    return prefix + _grouped(digits, draw), digits


@st.composite
def id_number(draw) -> tuple[str, str]:
    long = draw(st.booleans())
    body = draw(st.sampled_from("123456789")) + "".join(
        draw(st.lists(digit, min_size=16 if long else 14, max_size=16 if long else 14))
    )
    if long:
        body += draw(st.sampled_from("0123456789Xx"))
    return _grouped(body, draw), re.sub(r"\D", "", body)


@st.composite
def landline(draw) -> tuple[str, str]:
    area = draw(st.sampled_from(["010", "021", "0755", "0571", "028"]))
    local = draw(st.sampled_from("2345678")) + "".join(draw(st.lists(digit, min_size=6, max_size=7)))
    form = draw(st.sampled_from(["{a}-{l}", "({a}){l}", "（{a}）{l}", "{a} {l}", "{a}-{l3} {l4}"]))
    return form.format(a=area, l=local, l3=local[:-4], l4=local[-4:]), area + local


@st.composite
def bank_card(draw) -> tuple[str, str]:
    n = draw(st.integers(16, 19))
    digits = "62" + "".join(draw(st.lists(digit, min_size=n - 2, max_size=n - 2)))
    sep = draw(st.sampled_from(["", " ", "-"]))
    return sep.join(digits[k : k + 4] for k in range(0, n, 4)), digits


@st.composite
def email(draw) -> tuple[str, str]:
    user = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=10))
    user = user.strip(".") or "a"
    domain = draw(st.sampled_from(["example.com", "qq.com", "163.com", "gov.cn"]))
    at = draw(st.sampled_from(["@", "＠"]))
    return f"{user}{at}{domain}", f"{user}@{domain}"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))


def _survives(original_digits: str, masked: str) -> bool:
    """Whether any 7-digit run of the identifier is still readable in the masked text."""
    left = _digits(masked)
    return any(original_digits[k : k + 7] in left for k in range(len(original_digits) - 6))


@settings(max_examples=200, deadline=None)
@given(pii=st.one_of(mobile(), id_number(), landline(), bank_card()), before=chinese, after=chinese, other=ordinary)
def test_no_identifier_survives_in_chinese_text(pii, before, after, other):
    written, digits = pii
    text = f"{before}{other}，{written}。{after}"
    masked = mask_text(text)
    assert MASK in masked
    assert not _survives(re.sub(r"\D", "", digits), masked), (text, masked)
    # The words around it are kept as written.
    assert masked.startswith(before) and masked.endswith(f"。{after}")
    assert other in masked


@settings(max_examples=100, deadline=None)
@given(address=email(), before=chinese)
def test_no_email_survives(address, before):
    written, plain = address
    masked = mask_text(f"{before}邮箱{written}")
    assert plain.split("@")[1] not in masked and MASK in masked


ORDINARY = [
    "2024年",
    "2019—2025年",
    "2024-11-23",
    "2024.11.23",
    "2024年11月23日",
    "20241123",
    "8:30",
    "12:45:00",
    "开了37次会",
    "每周加班12个小时",
    "3000元",
    "1,200,000元",
    "85%",
    "打12345热线",
    "110",
    "12388",
    "〔2019〕16号",
    "中办发〔2019〕16号文件",
    "第3季度",
    "5分12秒",
    "312秒",
    "问卷第12题",
    "3.5分",
    "0.75",
    "10万元",
    "一年开了120次会，填了300张表",
    "QQ群有1500人",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_survive(text):
    assert mask_text(text) == text


def test_whole_columns_of_ordinary_numbers_are_not_taken_for_personal_data():
    import pandas as pd

    assert pii_kind_of_values(pd.Series(["20241123", "20241124", "20241125"])) is None
    assert pii_kind_of_values(pd.Series(["139 1234 5679", "13800138000"])) == "phone"
    assert pii_kind_of_values(pd.Series(["110101199003077777", "11010119900307123X"])) == "id_number"


def test_problem_values_and_texts_are_masked_and_short():
    p = error(
        "value.not_allowed",
        "答案“13912345679”不在允许的取值内",
        "not allowed: 13912345679",
        "改",
        "fix",
        file="a.xlsx",
        row=3,
        column="手机 139 1234 5679",
        value="身份证110101199003077777" + "很" * 50,
    )
    d = p.to_dict()
    for text in (str(p), d["message"], d["value"], d["zh"], d["en"], d["column"]):
        assert "13912345679" not in _digits(text) and "110101199003077777" not in _digits(text)
    assert len(p.value) <= 31 and p.value.endswith("…")
    assert mask_value("很很同意") == "很很同意"
