"""CFA by maximum likelihood with robust standard errors and the Yuan–Bentler scaled χ² (lavaan's ``"MLR"``).

Five-point answers are not multivariate normal: their kurtosis makes the ML χ² too large (or too small) and the
information-based standard errors too small. MLR keeps the ML estimates and corrects both, as lavaan's
``cfa(model, data, estimator = "MLR")`` on complete cases (rows with a missing item dropped, lavaan's default):

* **Estimates**: ML on the complete cases (Σ = ΛΦΛ′ + Θ, first loading of each factor 1), the same optimum as
  :func:`jianfu.stats.cfa.fit_cfa`; χ² = N·F_ML with N, df = p(p + 1)/2 − q.
* **Standard errors** (``se = "robust.huber.white"``): the sandwich Cov(θ̂) = E⁻¹ B E⁻¹ / N with E the observed
  information per row (the Hessian of −ℓ/N at θ̂) and B = Σᵢ sᵢsᵢ′ / N from the casewise scores
  sᵢⱼ = ∂ℓᵢ/∂θⱼ = ½ (wᵢ′Σⱼwᵢ − tr(Σ⁻¹Σⱼ)), wᵢ = Σ̂⁻¹(yᵢ − ȳ) (Huber, 1967; White, 1982). Standardised
  loadings and factor correlations get delta-method SEs from this covariance.
* **Scaled χ²** (``test = "yuan.bentler.mplus"``): T_YB = T / c with c = tr(UΓ) / df, where
  tr(UΓ) = tr(A₁⁻¹B₁) − tr(E⁻¹B) (Yuan & Bentler, 2000; Asparouhov & Muthén, 2005). A₁ and B₁ are the expected and
  first-order information of the saturated covariance model at S; with mᵢ = (yᵢ − ȳ)′S⁻¹(yᵢ − ȳ) the first trace
  is ½ (mean mᵢ² − p), so no p² × p² matrix is formed.
* **Baseline**: the independence model (Σ = diag S), χ²_B = N(Σ log sⱼⱼ − log|S|), df_B = p(p − 1)/2, scaled the
  same way; for it tr(E⁻¹B) = ½ Σⱼ (kurtⱼ − 1) with kurtⱼ = mean zᵢⱼ⁴ of the standardised item.
* **Fit indices**, as lavaan's ``fitMeasures``: ``cfi, tli, rmsea`` from the ML χ²; ``*_scaled`` from the scaled
  χ² of the model and the baseline (RMSEA = √max((T_YB − df)/(N·df), 0)); ``*_robust`` with the population
  corrections of Brosseau-Liard, Savalei & Li (2012) and Brosseau-Liard & Savalei (2014):
  CFI = 1 − max(T − c·df, 0) / max(T − c·df, T_B − c_B·df_B, 0), RMSEA = √(c · max(T_YB − df, 0)/(N·df)),
  which lavaan labels "Robust" in ``summary(fit, fit.measures = TRUE)``; SRMR (Bentler's) is unchanged by MLR.

Reproduces lavaan 0.6-14 on ``psych::bfi`` (``tests/reference/cfa_estimators_reference.R``).

References
----------
Asparouhov, T., & Muthén, B. (2005). Multivariate statistical modeling with survey data. *Proceedings of the
Federal Committee on Statistical Methodology (FCSM) Research Conference*.
Brosseau-Liard, P. E., & Savalei, V. (2014). Adjusting incremental fit indices for nonnormality. *Multivariate
Behavioral Research*, 49(5), 460–470.
Brosseau-Liard, P. E., Savalei, V., & Li, L. (2012). An investigation of the sample performance of two
nonnormality corrections for RMSEA. *Multivariate Behavioral Research*, 47(6), 904–930.
Huber, P. J. (1967). The behavior of maximum likelihood estimates under nonstandard conditions. *Proceedings of
the Fifth Berkeley Symposium on Mathematical Statistics and Probability*, 1, 221–233.
White, H. (1982). Maximum likelihood estimation of misspecified models. *Econometrica*, 50(1), 1–25.
Yuan, K.-H., & Bentler, P. M. (2000). Three likelihood-based methods for mean and covariance structure analysis
with nonnormal missing data. *Sociological Methodology*, 30, 165–200.

Examples
--------
>>> from semopy.examples import holzinger39
>>> data = holzinger39.get_data()
>>> factors = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> res = fit_cfa_mlr(data, factors)   # In R: lavaan::cfa(HS.model, data, estimator = "MLR")
>>> fit = res["fit"]
>>> round(fit["chi2"], 3), round(fit["chi2_scaled"], 3), round(fit["scaling_factor"], 3), fit["df"]
(85.306, 87.132, 0.979, 24)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from jianfu.stats.cfa import _srmr, rmsea_ci
from jianfu.stats.estimable import NotEstimable, require
from jianfu.stats.fiml import (
    _delta_se,
    _hessian,
    _Model,
    _moment_state,
    _newton,
    _standardised,
    _start_values,
    factor_correlation_frame,
)

__all__ = ["fit_cfa_mlr"]

# Thin products (rows × items): one BLAS thread, as in jianfu.stats.fiml, so two busy cores do not contend.
_single_thread = threadpool_limits.wrap(limits=1, user_api="blas")


def _cfi(t: float, df: float, t_b: float, df_b: float, c: float = 1.0, c_b: float = 1.0) -> float:
    """CFI as lavaan's ``lav_fit_cfi``: 1 − max(T − c·df, 0) / max(T − c·df, T_B − c_B·df_B, 0)."""
    d, d_b = max(t - c * df, 0.0), max(t_b - c_b * df_b, 0.0)
    top = max(d, d_b)
    return 1.0 if np.isclose(d, 0.0) and np.isclose(top, 0.0) else float(1.0 - d / top)


def _tli(t: float, df: float, t_b: float, df_b: float, c: float = 1.0, c_b: float = 1.0) -> float:
    """TLI as lavaan's ``lav_fit_tli``: 1 − (T − c·df)·df_B / ((T_B − c_B·df_B)·df)."""
    t2 = (t_b - c_b * df_b) * df
    return float(1.0 - (t - c * df) * df_b / t2) if df > 0 and abs(t2) > 0 else 1.0


def _rmsea(t: float, df: float, n: float, c: float = 1.0) -> float:
    """RMSEA as lavaan's ``lav_fit_rmsea``: √max(T/(N·df) − c/N, 0)."""
    return float(np.sqrt(max(t / (n * df) - c / n, 0.0))) if df > 0 else 0.0


def _ci(chi2: float, df: float, n: float, c: float = 1.0) -> list[float]:
    """RMSEA's 90% CI as lavaan's ``lav_fit_rmsea_ci``: √(c·λ/(N·df)) at the non-centralities λ of χ²."""
    if not df > 0 or not np.isfinite(chi2):
        return [float("nan")] * 2
    lo, hi = rmsea_ci(chi2, df, n)
    return [float(lo * np.sqrt(c)), float(hi * np.sqrt(c))]


def _complete_items(data: pd.DataFrame, factors: dict[str, list[str]], what: str) -> tuple[list[str], pd.DataFrame]:
    """The model's items and the complete rows (listwise deletion), with the checks both robust estimators share."""
    items = [i for its in factors.values() for i in its]
    require(len(set(items)) == len(items), "同一条目出现在多个因子中", "an item is listed under more than one factor")
    absent = [i for i in items if i not in data.columns]
    require(not absent, f"数据中缺少条目：{', '.join(absent)}", f"items not in the data: {', '.join(absent)}")
    try:
        complete = data[items].apply(pd.to_numeric, errors="raise").dropna().astype(float)
    except (TypeError, ValueError) as exc:
        raise NotEstimable("条目须为数值", f"items must be numeric ({exc})") from exc
    p = len(items)
    require(
        len(complete) > p + 1,
        f"{what}：完整作答的行（{len(complete)}）不足题目数 + 2",
        f"{what}: {len(complete)} complete rows, fewer than items + 2",
    )
    return items, complete


def _loading_rows(names, items, item_factor, load_pos, est, se, std, std_se) -> list[dict]:
    """One row per item: unstandardised loading (marker fixed at 1) with its SE, z, p and the standardised one."""
    rows = []
    for a, item in enumerate(items):
        j = load_pos.get(a)
        e = float(est[j]) if j is not None else 1.0
        s = float(se[j]) if j is not None and np.isfinite(se[j]) else None
        z = e / s if s else None
        rows.append(
            {
                "factor": names[item_factor[a]],
                "item": item,
                "est": e,
                "se": s,
                "z": z,
                "p": float(2 * stats.norm.sf(abs(z))) if z is not None else None,
                "std": float(std[a]),
                "std_se": float(std_se[a]),
                "std_z": float(std[a] / std_se[a]) if std_se[a] > 0 else None,
            }
        )
    return rows


@_single_thread
def fit_cfa_mlr(data: pd.DataFrame, factors: dict[str, list[str]], gtol: float = 1e-7) -> dict:
    """Fit a correlated-factors CFA by ML with robust (Huber–White) SEs and the Yuan–Bentler scaled χ² (MLR).

    Parameters
    ----------
    data : DataFrame
        Item responses (reverse-keyed as the report wants them; the model does not care); rows with any missing
        item are dropped (listwise). Other columns are ignored.
    factors : dict
        Factor name → its indicator columns (each item on one factor; the first is the marker, loading 1).
    gtol : float
        Convergence criterion: largest gradient element of −ℓ/N.

    Returns
    -------
    dict
        The keys of :func:`jianfu.stats.cfa.fit_cfa` — ``n, n_dropped, fit, loadings, factor_correlations,
        converged, note`` — and ``estimator = "MLR"``, ``parameters`` (every free parameter: lavaan's ``lhs, op,
        rhs``, est, se, z, p). ``fit`` holds ``n, chi2, df, p, cfi, tli, rmsea, rmsea_ci, srmr, rmsea_convention``
        (from the ML χ², as ``fit_cfa``), ``chi2_scaled, p_scaled, scaling_factor, test = "yuan.bentler.mplus",
        se_type = "robust.huber.white"``, ``cfi_scaled, tli_scaled, rmsea_scaled, rmsea_ci_scaled``,
        ``cfi_robust, tli_robust, rmsea_robust, rmsea_ci_robust`` and ``baseline_chi2, baseline_df,
        baseline_chi2_scaled, baseline_scaling_factor``. Each loading row has ``est, se, z, p`` (robust),
        ``std`` (standardised, lavaan's ``std.all``), ``std_se``, ``std_z``.

    Raises
    ------
    NotEstimable
        Non-numeric or absent items, an item on two factors, too few complete rows, negative df, or a sample
        covariance matrix that is not positive definite.

    Notes
    -----
    See the module docstring. lavaan's ``cfa(model, data, estimator = "MLR")`` fixes the same options:
    ``information = "observed"``, ``se = "robust.huber.white"``, ``test = "yuan.bentler.mplus"``, no mean structure
    (the means are saturated and change nothing).
    """
    items, complete = _complete_items(data, factors, "MLR")
    model = _Model.build(items, factors)
    p, n = model.p, len(complete)
    nl, nf, nt, _ = model.sizes
    k = nl + nf + nt  # the covariance-structure parameters; the means (last p) are saturated
    df = p * (p + 1) // 2 - k
    require(df >= 0, "模型不可识别（自由度为负）", "the model is not identified (negative degrees of freedom)")

    Y = complete.to_numpy()
    mu_s = Y.mean(axis=0)
    D = Y - mu_s
    S = D.T @ D / n
    try:
        S_inv = np.linalg.inv(np.linalg.cholesky(S))
    except np.linalg.LinAlgError as exc:
        raise NotEstimable(
            "样本协方差矩阵非正定（条目共线或方差为 0）",
            "the sample covariance matrix is not positive definite (collinear or constant items)",
        ) from exc
    S_inv = S_inv.T @ S_inv

    def evaluate(mu, sigma):
        return _moment_state(mu_s, S, n, mu, sigma)

    try:
        res, ok, _ = _newton(model, _start_values(model, mu_s, S), evaluate, None, n, gtol=gtol)
        theta = res.x
        mu, sigma = model.implied(theta)
        state = evaluate(mu, sigma)
    except np.linalg.LinAlgError as exc:
        raise NotEstimable(
            "模型隐含协方差矩阵非正定，无法估计", "the model-implied covariance matrix is not positive definite"
        ) from exc
    F = model.derivatives(theta)
    info = -(_hessian(None, state, *F) + model.second_term(theta, state.G)) / n
    E = info[:k, :k]  # the mean block is uncoupled from Σ's parameters at μ = ȳ
    K = state.K

    # Casewise scores of the structural parameters: sᵢⱼ = (wᵢ·aⱼ)(wᵢ·bⱼ) − aⱼ′Kbⱼ for ∂Σ/∂θⱼ = aⱼbⱼ′ + bⱼaⱼ′.
    Fa, Fb = F[0][:, :k], F[1][:, :k]
    W = D @ K
    scores = (W @ Fa) * (W @ Fb) - np.einsum("pj,pj->j", Fa, K @ Fb)
    B = scores.T @ scores / n
    try:
        E_inv = np.linalg.inv(E)
        cov = E_inv @ B @ E_inv / n
        trace_h0 = float(np.sum(B * E_inv))
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        E_inv = cov = None
        trace_h0 = float("nan")
        se = np.full(k, np.nan)

    # χ² of the model and of the independence baseline; tr(A₁⁻¹B₁) of the saturated model from mᵢ = dᵢ′S⁻¹dᵢ.
    logdet_S = np.linalg.slogdet(S)[1]
    chi2 = max(float(n * (np.linalg.slogdet(sigma)[1] + np.sum(S * K) - logdet_S - p)), 0.0)
    chi2_b = float(n * (np.sum(np.log(np.diag(S))) - logdet_S))
    df_b = p * (p - 1) // 2
    m = np.einsum("ij,jk,ik->i", D, S_inv, D)
    trace_h1 = 0.5 * float(np.mean(m**2)) - 0.5 * p
    z4 = np.mean((D / np.sqrt(np.diag(S))) ** 4, axis=0)
    c = (trace_h1 - trace_h0) / df if df > 0 else float("nan")
    c_b = (trace_h1 - 0.5 * float(np.sum(z4 - 1.0))) / df_b
    if not c > 0:
        c = float("nan")
    chi2_s, chi2_b_s = chi2 / c, chi2_b / c_b
    fit = {
        "n": n,
        "chi2": chi2,
        "df": df,
        "p": float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan"),
        "cfi": _cfi(chi2, df, chi2_b, df_b),
        "tli": _tli(chi2, df, chi2_b, df_b),
        "rmsea": _rmsea(chi2, df, n),
        "rmsea_ci": _ci(chi2, df, n),
        "srmr": _srmr(S, sigma),
        "rmsea_convention": "N (lavaan)",
        "estimator": "MLR",
        "test": "yuan.bentler.mplus",
        "se_type": "robust.huber.white",
        "chi2_scaled": chi2_s,
        "p_scaled": float(stats.chi2.sf(chi2_s, df)) if df > 0 else float("nan"),
        "scaling_factor": c,
        "cfi_scaled": _cfi(chi2_s, df, chi2_b_s, df_b),
        "tli_scaled": _tli(chi2_s, df, chi2_b_s, df_b),
        "rmsea_scaled": _rmsea(chi2, c * df, n),
        "rmsea_ci_scaled": _ci(chi2, c * df, n),
        "cfi_robust": _cfi(chi2, df, chi2_b, df_b, c, c_b),
        "tli_robust": _tli(chi2, df, chi2_b, df_b, c, c_b),
        "rmsea_robust": _rmsea(chi2, df, n, c),
        "rmsea_ci_robust": _ci(chi2_s, df, n, c),
        "baseline_chi2": chi2_b,
        "baseline_df": df_b,
        "baseline_chi2_scaled": chi2_b_s,
        "baseline_scaling_factor": c_b,
    }

    names = list(factors)
    full_cov = np.zeros((model.q, model.q))
    if cov is not None:
        full_cov[:k, :k] = cov
    std = _standardised(model, theta)
    std_se = _delta_se(model, theta, full_cov) if cov is not None else np.full(len(std), np.nan)
    loadings = _loading_rows(
        names,
        items,
        model.item_factor,
        {int(a): j for j, a in enumerate(model.load_items)},
        theta,
        se,
        std,
        std_se,
    )
    corr = factor_correlation_frame(names, model.phi_pairs, std[p:])

    lhs, op, rhs = [], [], []
    for a in model.load_items:
        lhs.append(names[model.item_factor[a]]), op.append("=~"), rhs.append(items[a])
    for g, h in model.phi_pairs:
        lhs.append(names[h]), op.append("~~"), rhs.append(names[g])
    for a in range(p):
        lhs.append(items[a]), op.append("~~"), rhs.append(items[a])
    parameters = pd.DataFrame({"lhs": lhs, "op": op, "rhs": rhs, "est": theta[:k], "se": se})
    parameters["z"] = parameters.est / parameters.se
    parameters["p"] = 2 * stats.norm.sf(parameters.z.abs())

    note = None
    if not ok:
        note = f"优化未收敛 | optimiser did not converge: {res.message}"
    elif cov is None:
        note = "信息矩阵不可逆，无法计算标准误 | the information matrix is singular: no standard errors"
    elif np.any(model.unpack(theta)[2] < 0):
        note = "存在负的残差方差（Heywood 情形）| a negative residual variance (Heywood case)"
    return {
        "n": n,
        "n_dropped": int(len(data) - n),
        "estimator": "MLR",
        "fit": fit,
        "loadings": loadings,
        "factor_correlations": corr,
        "parameters": parameters,
        "converged": bool(ok),
        "note": note,
    }
