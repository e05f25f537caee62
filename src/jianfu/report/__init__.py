"""The Excel report.

The workbook and its sheets (:mod:`~jianfu.report.workbook`), the words in Chinese and English
(:mod:`~jianfu.report.text`), cell styles (:mod:`~jianfu.report.styles`), native charts
(:mod:`~jianfu.report.charts`) and the descriptive parts beyond the models (:mod:`~jianfu.report.profile`).
"""
