"""Content validity judged by an expert panel.

The statistics (:mod:`~jianfu.cvi.panel`), the Excel rating form and result (:mod:`~jianfu.cvi.excel`)
and the ``jianfu cvi`` commands (:mod:`~jianfu.cvi.cli`).
"""
