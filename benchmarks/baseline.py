"""What a researcher would write by hand for the same export: the speed baseline for jianfu.

pandas.read_excel with openpyxl, labels mapped to codes, reverse-keying, Cronbach's α per scale
with pingouin, and one statsmodels OLS of burden on the empowerment scales. No quality flags,
no privacy, no store, no psychometrics, no report.

Usage: python benchmarks/baseline.py EXPORT.xlsx
"""

from __future__ import annotations

import sys

import pandas as pd
import pingouin as pg
import statsmodels.formula.api as smf

from jianfu import paths
from jianfu.instrument import load_instrument
from jianfu.normalize import header_key


def main(path: str) -> None:
    inst = load_instrument(paths.DEFAULT_INSTRUMENT)
    frame = pd.read_excel(path, engine="openpyxl")
    texts = {header_key(i.text.zh): i for i in inst.items}
    columns = {}
    for col in frame.columns:
        key = header_key(str(col).split("、", 1)[-1].strip("()（）"))
        if key in texts:
            columns[texts[key].id] = col
    rs = (
        inst.response_scales["agree5"]
        if "agree5" in inst.response_scales
        else next(iter(inst.response_scales.values()))
    )
    codes = {label: code for code, label in rs.labels.items()}
    items = pd.DataFrame({i: frame[c].map(codes) for i, c in columns.items()})
    for s in inst.first_order_scales:
        for item in s.items:
            if item.reverse and item.id in items:
                items[item.id] = rs.min + rs.max - items[item.id]
    scores = {}
    for s in inst.first_order_scales:
        cols = [i.id for i in s.items if i.id in items]
        if len(cols) >= 2:
            pg.cronbach_alpha(items[cols])
            scores[s.id] = items[cols].mean(axis=1)
    scores = pd.DataFrame(scores)
    burden = inst.scale("burden")
    scores["burden"] = scores[list(burden.subscales)].mean(axis=1)
    smf.ols(
        "burden ~ incentive_power + coordination_power + disciplinary_power + discretion_resources"
        " + accountability_pressure",
        data=scores,
    ).fit()


if __name__ == "__main__":
    main(sys.argv[1])
