"""When a statistic cannot be estimated from the data at hand, say so instead of failing.

The reason is given in Chinese and English, so a small office's first wave of 12 answers still gets
its report.

Each statistic checks its own preconditions (enough rows for its parameters, variance, a design
of full rank, enough units) with :func:`require` / :func:`require_full_rank` and raises
:class:`NotEstimable`; the analysis stage turns that into the result ``{"estimable": False,
"reason": {"zh": ..., "en": ...}}`` that the report, the JSON summary and the artifacts show.
Estimable results carry no ``estimable`` key (they keep their documented keys unchanged).

Examples
--------
>>> import numpy as np
>>> try:
...     require_full_rank(np.array([[1.0, 2.0], [2.0, 4.0]]), "预测变量", "predictors")
... except NotEstimable as exc:
...     exc.result()["estimable"], "collinear" in exc.result()["reason"]["en"]
(False, True)
"""

from __future__ import annotations

import numpy as np

from jianfu.errors import JianfuError

__all__ = ["NotEstimable", "require", "require_full_rank", "not_estimable"]


class NotEstimable(JianfuError):
    """A statistic's preconditions do not hold for these data; ``zh``/``en`` say why."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(f"无法估计：{zh} | not estimable: {en}")

    def result(self) -> dict:
        """The JSON-ready result that stands in for the statistic."""
        return not_estimable(self.zh, self.en)


def not_estimable(zh: str, en: str) -> dict:
    """``{"estimable": False, "reason": {"zh": zh, "en": en}}``."""
    return {"estimable": False, "reason": {"zh": zh, "en": en}}


def require(condition: bool, zh: str, en: str) -> None:
    """Raise :class:`NotEstimable` with the reason unless ``condition`` holds."""
    if not condition:
        raise NotEstimable(zh, en)


def require_full_rank(X: np.ndarray, what_zh: str, what_en: str) -> None:
    """Raise :class:`NotEstimable` when the columns of ``X`` are linearly dependent.

    That is: collinear predictors, a constant column next to the intercept, fewer rows than columns.
    """
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    require(
        n >= k,
        f"{what_zh}：有效样本 {n} 行，少于需估计的 {k} 个参数",
        f"{what_en}: {n} complete rows for {k} parameters",
    )
    require(
        np.linalg.matrix_rank(X) == k,
        f"{what_zh}：变量之间完全共线（或某一变量没有变化），无法分离各自的效应",
        f"{what_en}: the predictors are collinear (or one does not vary), so their effects cannot be separated",
    )
