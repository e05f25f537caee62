"""CFA of ordinal items by diagonally weighted least squares on polychoric correlations (lavaan's ``"WLSMV"``).

Each answer is a cut of a standard-normal latent response y*, yᵢ = c when τ_{c−1} < y*ᵢ ≤ τ_c, and the CFA is fitted
to the correlations of the y* (Muthén, 1984; Flora & Curran, 2004), as lavaan's
``cfa(model, data, ordered = TRUE, estimator = "WLSMV")`` on complete cases (rows with a missing item dropped):

1. **Sample statistics** s = (τ, ρ): thresholds from each item's proportions and polychoric correlations by
   two-step ML (:func:`jianfu.stats.ordinal.polychoric`, unsmoothed).
2. **Their asymptotic covariance** Γ from the casewise scores (Muthén, 1984; lavaan's ``muthen1984``): with
   uᵢ the threshold scores of the univariate likelihoods, vᵢ the ρ scores of the bivariate ones, A₁₁ = Σ uᵢuᵢ′
   (block per item), A₂₁ = Σ vᵢ (∂ log Pᵢ/∂τ)′ (bivariate), A₂₂ = diag Σ vᵢ², each row's linearised estimation
   error of ρ is zᵢ = A₂₂⁻¹(vᵢ − A₂₁A₁₁⁻¹uᵢ) and Γ_ρρ = N Σ zᵢzᵢ′. A row's scores depend only on its two
   answers, so every pair's zᵢ is a lookup in a K × K table; Γ is then one product Z′Z over the rows.
3. **DWLS**: minimise Σ_pairs w (r − σ(θ))², w = 1/diag Γ, with Σ* = ΛΦΛ′ + Θ and Θ = I − diag(ΛΦΛ′) (the
   delta parameterisation: latent response variances 1), first loading of each factor 1; the thresholds are
   saturated and equal their sample values. Levenberg–Marquardt (Gauss–Newton steps, damped only when
   they fail) with the analytic Jacobian Δ = ∂σ/∂θ′.
4. **Robust SEs** (``se = "robust.sem"``): Cov(θ̂) = (Δ′WΔ)⁻¹ Δ′WΓWΔ (Δ′WΔ)⁻¹ / (N − 1) (lavaan's divisor for
   (D)WLS); standardised loadings λ√φ and factor correlations with delta-method SEs.
5. **Test** (``test = "scaled.shifted"``): T = (N − 1) Σ w (r − σ̂)², df = p(p − 1)/2 − q; with
   U = W − WΔ(Δ′WΔ)⁻¹Δ′W, a = √(df / tr((UΓ)²)) and b = df − a·tr(UΓ), the mean-and-variance adjusted
   T_MV = a·T + b is referred to χ²(df) (Asparouhov & Muthén, 2010). lavaan reports 1/a as the scaling factor
   and b as the shift. The baseline (all correlations 0) is tested the same way (for it tr(UΓ) = p(p − 1)/2).
6. **Fit indices** as lavaan prints them: CFI, TLI and RMSEA from T (standard) and from the scaled-and-shifted
   statistics of model and baseline (``*_scaled``); RMSEA with N − 1; SRMR = √(Σ (r − σ̂)² / (p(p + 1)/2)), the
   correlation residuals over the covariance elements counting the (exactly fitted) diagonal, as lavaan.

Reproduces lavaan 0.6-14 on ``psych::bfi`` (``tests/reference/cfa_estimators_reference.R``). One difference
remains: lavaan adds ½ to the empty cells of a 2 × 2 table (binary items) before estimating ρ, this module does
not; it matters only for binary items with an empty cell.

References
----------
Asparouhov, T., & Muthén, B. (2010). *Simple second order chi-square correction*. Mplus technical appendix.
Flora, D. B., & Curran, P. J. (2004). An empirical evaluation of alternative methods of estimation for
confirmatory factor analysis with ordinal data. *Psychological Methods*, 9(4), 466–491.
Muthén, B. (1984). A general structural equation model with dichotomous, ordered categorical, and continuous
latent variable indicators. *Psychometrika*, 49(1), 115–132.
Muthén, B., du Toit, S. H. C., & Spisic, D. (1997). *Robust inference using weighted least squares and quadratic
estimating equations in latent variable modeling with categorical and continuous outcomes*. Unpublished
technical report.
Savalei, V. (2021). Improving fit indices in structural equation modeling with categorical data. *Multivariate
Behavioral Research*, 56(3), 390–407.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(11)
>>> f = rng.normal(size=(1500, 1))
>>> latent = 0.7 * f + np.sqrt(1 - 0.49) * rng.normal(size=(1500, 5))   # standardised loadings 0.7
>>> answers = pd.DataFrame(np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]) + 1, columns=list("abcde"))
>>> res = fit_cfa_wlsmv(answers, {"F": list("abcde")})   # In R: cfa(model, data, ordered = TRUE, estimator = "WLSMV")
>>> res["fit"]["df"], res["estimator"], res["converged"]
(5, 'WLSMV', True)
>>> [round(row["std"], 1) for row in res["loadings"]]
[0.7, 0.7, 0.7, 0.7, 0.7]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg, special, stats
from threadpoolctl import threadpool_limits

from jianfu.stats.estimable import NotEstimable, require
from jianfu.stats.fiml import factor_correlation_frame
from jianfu.stats.ordinal import _BIG, _bvn_cdf, _bvn_pdf, _cell_probs, polychoric
from jianfu.stats.robust_cfa import _cfi, _ci, _complete_items, _loading_rows, _rmsea, _tli

__all__ = ["fit_cfa_wlsmv", "polychoric_gamma"]

# Rows per block when forming Z′Z: bounds the (rows × pairs) lookup to about 2e6 elements (16 MB).
_BLOCK_ELEMENTS = 2_000_000
_single_thread = threadpool_limits.wrap(limits=1, user_api="blas")


def _codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category index of every answer (each item's distinct answers, in order) and each item's category count."""
    codes = np.empty(x.shape, dtype=np.int64)
    counts = np.empty(x.shape[1], dtype=np.int64)
    for j in range(x.shape[1]):
        values, codes[:, j] = np.unique(x[:, j], return_inverse=True)
        counts[j] = values.size
    return codes, counts


def polychoric_gamma(
    codes: np.ndarray, tau: np.ndarray, rho: np.ndarray, n_cat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The asymptotic covariance N·Γ of the polychoric correlations, from casewise scores (Muthén, 1984).

    Parameters
    ----------
    codes : ndarray of int, (N, p)
        Category index (0 … K_j − 1) of every answer; complete rows.
    tau : ndarray, (p, kmax − 1)
        Thresholds, +∞ (or NaN) past an item's last category.
    rho : ndarray, (p, p)
        Polychoric correlations estimated from these rows with these thresholds.
    n_cat : ndarray of int, (p,)
        Categories per item.

    Returns
    -------
    gamma : ndarray, (P, P)
        N·Cov(ρ̂) for the P = p(p − 1)/2 pairs in ``np.tril_indices(p, -1)`` order, as lavaan's
        ``lavInspect(fit, "gamma")`` restricted to the correlations (threshold estimation accounted for).
    ii, jj : ndarray of int
        The pairs' row and column items.

    Notes
    -----
    lavaan's ``muthen1984`` builds the score matrix row by row; here a row's scores are looked up from the
    K × K table of its pair of answers, and only Γ_ρρ is formed, which is all that the DWLS estimates, their
    robust SEs and the scaled test need (Δ′WΔ is block diagonal with the thresholds saturated).
    """
    n, p = codes.shape
    kmax = int(n_cat.max())
    tau = np.where(np.isfinite(tau), tau, np.inf)[:, : kmax - 1]
    edges = np.clip(np.column_stack([np.full(p, -np.inf), tau, np.full(p, np.inf)]), -_BIG, _BIG)
    valid_th = np.arange(kmax - 1)[None, :] < (n_cat - 1)[:, None]  # (p, kmax − 1)

    # Univariate threshold scores U[j, c, k] = ∂ log P_c/∂τ_k and the per-item blocks of A₁₁ (first order).
    pdf_t = np.where(valid_th, stats.norm.pdf(np.where(valid_th, tau, 0.0)), 0.0)
    prob = np.diff(special.ndtr(edges), axis=1)  # (p, kmax); 0 on padding categories
    c_idx = np.arange(kmax)
    upper = (c_idx[:, None] == np.arange(kmax - 1)[None, :]).astype(float)  # category c has upper threshold c
    lower = (c_idx[:, None] == np.arange(kmax - 1)[None, :] + 1).astype(float)  # … and lower threshold c − 1
    with np.errstate(divide="ignore", invalid="ignore"):
        U = np.where(prob[:, :, None] > 0, pdf_t[:, None, :] * (upper - lower)[None] / prob[:, :, None], 0.0)
    onehot = np.zeros((n, p, kmax))
    onehot[np.arange(n)[:, None], np.arange(p)[None, :], codes] = 1.0
    n_c = onehot.sum(axis=0)  # (p, kmax) marginal counts
    A11 = np.einsum("jc,jck,jcl->jkl", n_c, U, U)
    # Identity on the padding (thresholds an item does not have) so that each block inverts; U is 0 there.
    A11[:, np.arange(kmax - 1), np.arange(kmax - 1)] += ~valid_th
    A11_inv = np.linalg.inv(A11)

    # Bivariate tables, cell probabilities and the ρ and threshold scores of every pair.
    ii, jj = np.tril_indices(p, -1)
    flat = onehot.reshape(n, p * kmax)
    table = (flat.T @ flat).reshape(p, kmax, p, kmax).transpose(0, 2, 1, 3)[ii, jj]  # (P, kmax, kmax)
    r = rho[ii, jj]
    ea, eb = edges[ii], edges[jj]
    P = _cell_probs(ea, eb, r, _bvn_cdf)
    dP = _cell_probs(ea, eb, r, _bvn_pdf)
    live = P > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.where(live, dP / P, 0.0)  # ∂ log P_ab/∂ρ
    s = np.sqrt(1 - r * r)[:, None, None]
    # ∂P_ab/∂τ^i_k = G[k, b]([a = k] − [a = k + 1]), G[k, b] = φ(τ_k)(Φ((τ'_b − ρτ_k)/s) − Φ((τ'_{b−1} − ρτ_k)/s)).
    ta, tb = ea[:, 1:-1], eb[:, 1:-1]
    rr = r[:, None, None]
    G = stats.norm.pdf(ta)[:, :, None] * np.diff(special.ndtr((eb[:, None, :] - rr * ta[:, :, None]) / s), axis=2)
    H = stats.norm.pdf(tb)[:, :, None] * np.diff(special.ndtr((ea[:, None, :] - rr * tb[:, :, None]) / s), axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        wR = np.where(live, table * R / P, 0.0)  # n_ab (∂ log P/∂ρ) / P_ab
    # A₂₁ for item i's thresholds: Σ_ab wR_ab G[k, b]([a = k] − [a = k + 1]); likewise for j with H.
    wG = np.einsum("xab,xkb->xak", wR, G)  # Σ_b wR_ab G[k, b]
    A21_i = np.einsum("xak,ak->xk", wG, upper - lower)
    wH = np.einsum("xab,xka->xbk", wR, H)
    A21_j = np.einsum("xbk,bk->xk", wH, upper - lower)
    A22 = np.sum(table * R * R, axis=(1, 2))
    # f[a] = A₂₁ᵢ A₁₁ᵢ⁻¹ U_i[a]: the thresholds' share of the linearised error, per category.
    f = np.einsum("xk,xkl,xal->xa", A21_i, A11_inv[ii], U[ii])
    g = np.einsum("xk,xkl,xbl->xb", A21_j, A11_inv[jj], U[jj])
    L = (R - f[:, :, None] - g[:, None, :]) / A22[:, None, None]  # (P, kmax, kmax) lookup of zᵢ

    n_pairs = len(ii)
    L_flat = L.reshape(-1)
    base = (np.arange(n_pairs) * kmax * kmax)[None, :]
    gamma = np.zeros((n_pairs, n_pairs), order="F")  # Fortran order: BLAS updates it in place, no copies
    step = max(1, _BLOCK_ELEMENTS // n_pairs)
    for start in range(0, n, step):
        c = codes[start : start + step]
        Z = L_flat[base + c[:, ii] * kmax + c[:, jj]]
        # Z′Z by a symmetric rank-k update of the upper triangle, accumulated in place (Z.T is Fortran-ordered).
        gamma = linalg.blas.dsyrk(1.0, Z.T, beta=1.0, c=gamma, trans=0, lower=0, overwrite_c=1)
    gamma += gamma.T  # the lower triangle is still 0: this mirrors the upper one and doubles the diagonal
    gamma[np.diag_indices(n_pairs)] /= 2
    return n * gamma, ii, jj


class _Structure:
    """Σ* off its diagonal: σᵢⱼ = λᵢλⱼφ_{f(i)f(j)}; θ = (free loadings, Φ's lower triangle)."""

    def __init__(self, items: list[str], factors: dict[str, list[str]], ii: np.ndarray, jj: np.ndarray):
        pos = {it: a for a, it in enumerate(items)}
        self.p, self.m = len(items), len(factors)
        self.item_factor = np.empty(self.p, dtype=int)
        markers = []
        for f, its in enumerate(factors.values()):
            self.item_factor[[pos[i] for i in its]] = f
            markers.append(pos[its[0]])
        self.markers = np.array(markers)
        self.load_items = np.array([a for a in range(self.p) if a not in set(markers)], dtype=int)
        self.phi_pairs = np.array([(g, h) for g in range(self.m) for h in range(g + 1)], dtype=int)
        self.nl, self.nf = len(self.load_items), len(self.phi_pairs)
        self.ii, self.jj = ii, jj

    @property
    def q(self) -> int:
        return self.nl + self.nf

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam = np.ones(self.p)
        lam[self.load_items] = theta[: self.nl]
        phi = np.zeros((self.m, self.m))
        g, h = self.phi_pairs.T
        phi[g, h] = phi[h, g] = theta[self.nl :]
        return lam, phi

    def implied(self, theta: np.ndarray) -> np.ndarray:
        lam, phi = self.unpack(theta)
        f = self.item_factor
        return lam[self.ii] * lam[self.jj] * phi[f[self.ii], f[self.jj]]

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """Δ = ∂σ/∂θ′ (pairs × q)."""
        lam, phi = self.unpack(theta)
        f, ii, jj = self.item_factor, self.ii, self.jj
        J = np.zeros((len(ii), self.q))
        col = np.full(self.p, -1)
        col[self.load_items] = np.arange(self.nl)
        rows = np.arange(len(ii))
        for a, b in ((ii, jj), (jj, ii)):
            free = col[a] >= 0
            J[rows[free], col[a][free]] += lam[b][free] * phi[f[a], f[b]][free]
        g, h = self.phi_pairs.T
        fi, fj = f[ii][:, None], f[jj][:, None]
        hit = ((fi == g) & (fj == h)) | (((fi == h) & (fj == g)) & (g != h))
        J[:, self.nl :] = (lam[ii] * lam[jj])[:, None] * hit
        return J

    def start(self, rho: np.ndarray) -> np.ndarray:
        """φ_ff = mean |r| of the marker with its factor's items; λ = r(marker, item)/φ_ff; factors uncorrelated."""
        lam = np.zeros(self.p)
        phi = np.zeros(self.m)
        for f in range(self.m):
            its = np.flatnonzero(self.item_factor == f)
            mk = self.markers[f]
            others = its[its != mk]
            phi[f] = np.clip(np.mean(np.abs(rho[mk, others])), 0.05, 1.0) if len(others) else 0.5
            lam[others] = rho[mk, others] / phi[f]
        g, h = self.phi_pairs.T
        return np.concatenate([lam[self.load_items], np.where(g == h, phi[g], 0.0)])

    def standardised(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardised loadings λ√φ_ff (item order) and factor correlations (off-diagonal φ pairs), with ∂/∂θ′."""
        lam, phi = self.unpack(theta)
        f = self.item_factor
        d = np.sqrt(np.diag(phi))
        std = lam * d[f]
        J = np.zeros((self.p + self.nf, self.q))
        J[self.load_items, np.arange(self.nl)] = d[f[self.load_items]]
        var_col = {g: self.nl + k for k, (g, h) in enumerate(self.phi_pairs) if g == h}
        for a in range(self.p):
            J[a, var_col[f[a]]] = lam[a] / (2 * d[f[a]])
        g, h = self.phi_pairs.T
        off = np.flatnonzero(g != h)
        corr = phi[g[off], h[off]] / (d[g[off]] * d[h[off]])
        for r, k in enumerate(off):
            J[self.p + r, self.nl + k] = 1 / (d[g[k]] * d[h[k]])
            J[self.p + r, var_col[g[k]]] = -corr[r] / (2 * phi[g[k], g[k]])
            J[self.p + r, var_col[h[k]]] = -corr[r] / (2 * phi[h[k], h[k]])
        return np.concatenate([std, corr]), J[np.r_[np.arange(self.p), self.p + np.arange(len(off))]]


def _dwls(model: _Structure, r: np.ndarray, sw: np.ndarray, theta: np.ndarray, tol: float, max_iter: int = 500):
    """Minimise Σ w (r − σ(θ))² by Levenberg–Marquardt (Gauss–Newton steps, damped only when they fail).

    Returns (θ, converged, message); converged when a step changes no parameter by more than ``tol``·(1 + |θ|).
    """
    e = sw * (r - model.implied(theta))
    f = float(e @ e)
    mu = 1e-4
    for _ in range(max_iter):
        J = sw[:, None] * model.jacobian(theta)
        JtJ, g = J.T @ J, J.T @ e
        scale = np.diag(JtJ).copy()
        scale[scale <= 0] = 1.0
        while True:
            try:
                step = np.linalg.solve(JtJ + mu * np.diag(scale), g)
            except np.linalg.LinAlgError:
                step = None
            if step is not None and mu <= 1e-4 and np.max(np.abs(step) / (1 + np.abs(theta))) < tol:
                return theta + step, True, ""  # an undamped step this small: at the optimum up to rounding
            if step is not None:
                trial = theta + step
                e_new = sw * (r - model.implied(trial))
                f_new = float(e_new @ e_new)
                if np.isfinite(f_new) and f_new <= f:
                    break
            mu *= 10
            if mu > 1e12:
                return theta, False, "no step reduces the fit function"
        theta, e, f = trial, e_new, f_new
        mu = max(mu / 10, 1e-12)
        if np.max(np.abs(step) / (1 + np.abs(theta))) < tol:
            return theta, True, ""
    return theta, False, f"no convergence in {max_iter} iterations"


@_single_thread
def fit_cfa_wlsmv(data: pd.DataFrame, factors: dict[str, list[str]], tol: float = 1e-10) -> dict:
    """Fit a correlated-factors CFA of ordinal items by DWLS on polychoric correlations (lavaan's WLSMV).

    Parameters
    ----------
    data : DataFrame
        Ordered answers as numbers (each item's distinct answers, in order, are its categories; at most 10);
        rows with any missing item are dropped (listwise). Other columns are ignored.
    factors : dict
        Factor name → its indicator columns (each item on one factor; the first is the marker, loading 1).
    tol : float
        Convergence: the last step changes no parameter θ by more than ``tol``·(1 + |θ|).

    Returns
    -------
    dict
        The keys of :func:`jianfu.stats.cfa.fit_cfa` — ``n, n_dropped, fit, loadings, factor_correlations,
        converged, note`` — and ``estimator = "WLSMV"``, ``parameters`` (free parameters: ``lhs, op, rhs, est,
        se, z, p``), ``thresholds`` (items × t1 …) and ``polychoric`` (the sample correlations). ``fit`` holds
        ``n, chi2, df, p, cfi, tli, rmsea, rmsea_ci, srmr, rmsea_convention`` (from the unscaled DWLS statistic),
        ``chi2_scaled, p_scaled, scaling_factor, shift, test = "scaled.shifted", se_type = "robust.sem"``,
        ``cfi_scaled, tli_scaled, rmsea_scaled, rmsea_ci_scaled`` and ``baseline_chi2, baseline_df,
        baseline_chi2_scaled, baseline_scaling_factor, baseline_shift``. Loading rows have ``est, se, z, p``
        (loadings of the latent responses, marker 1), ``std`` (loading when the factor variance is 1 — the
        standardised loading, as the latent response variance is 1), ``std_se``, ``std_z``.

    Raises
    ------
    NotEstimable
        Non-numeric or absent items, an item on two factors, an item with a single category or more than 10,
        too few complete rows, negative df.

    Notes
    -----
    See the module docstring. lavaan's options for ``estimator = "WLSMV"``: ``parameterization = "delta"``,
    ``se = "robust.sem"``, ``test = "scaled.shifted"``, ``information = "expected"``. Its "robust" CFI/RMSEA for
    categorical data (Savalei, 2021, via a categorical-ML refit) are not computed; the scaled ones are the
    ones Mplus and lavaan have long printed for WLSMV.
    """
    items, complete = _complete_items(data, factors, "WLSMV")
    x = complete.to_numpy()
    n, p = x.shape
    try:
        pc = polychoric(complete, items, smooth=False)
    except ValueError as exc:
        raise NotEstimable("WLSMV 只用于等级题（每题至多 10 个类别）", f"WLSMV is for ordinal items ({exc})") from exc
    codes, n_cat = _codes(x)
    rho = pc.rho.to_numpy()
    tau = pc.thresholds.to_numpy()
    gamma, ii, jj = polychoric_gamma(codes, tau, rho, n_cat)
    model = _Structure(items, factors, ii, jj)
    n_pairs = len(ii)
    df = n_pairs - model.q
    require(df >= 0, "模型不可识别（自由度为负）", "the model is not identified (negative degrees of freedom)")
    r = rho[ii, jj]
    w = 1.0 / np.diag(gamma)
    sw = np.sqrt(w)

    theta, converged, message = _dwls(model, r, sw, model.start(rho), tol)
    resid = r - model.implied(theta)
    Delta = model.jacobian(theta)

    # Robust covariance and the scaled-and-shifted test in the metric of W^{½}: Q = W^{½}Δ, M = W^{½}ΓW^{½}
    # (unit diagonal), so W^{½}UΓW^{−½} = M − QE⁻¹Q′M with E = Q′Q, and with X = Q′M (the one q × P × P product)
    # tr(UΓ) = P − tr(E⁻¹Q′MQ), tr((UΓ)²) = ‖M‖² − 2 tr(E⁻¹XX′) + tr((E⁻¹Q′MQ)²).
    Q = sw[:, None] * Delta
    M = gamma
    M *= sw[:, None]
    M *= sw[None, :]
    mm = float(np.sum(M * M))
    try:
        E_inv = np.linalg.inv(Q.T @ Q)
        X = Q.T @ M
        EQ = E_inv @ (X @ Q)
        cov = EQ @ E_inv / (n - 1)  # lavaan divides by N − 1 for (D)WLS
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        tr1 = n_pairs - float(np.trace(EQ))
        tr2 = mm - 2 * float(np.sum(E_inv * (X @ X.T))) + float(np.sum(EQ * EQ.T))
    except np.linalg.LinAlgError:
        cov = None
        se = np.full(model.q, np.nan)
        tr1 = tr2 = float("nan")

    chi2 = float((n - 1) * np.sum(w * resid**2))
    a = np.sqrt(df / tr2) if df > 0 else float("nan")
    shift = df - a * tr1
    chi2_s = a * chi2 + shift
    chi2_b = float((n - 1) * np.sum(w * r**2))
    df_b = n_pairs
    a_b = np.sqrt(df_b / mm)
    shift_b = df_b - a_b * n_pairs  # tr(U_B Γ) = tr(WΓ) = number of pairs
    chi2_b_s = a_b * chi2_b + shift_b
    n_rmsea = n - 1  # lavaan's N for RMSEA with DWLS
    fit = {
        "n": n,
        "chi2": chi2,
        "df": df,
        "p": float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan"),
        "cfi": _cfi(chi2, df, chi2_b, df_b),
        "tli": _tli(chi2, df, chi2_b, df_b),
        "rmsea": _rmsea(chi2, df, n_rmsea),
        "rmsea_ci": _ci(chi2, df, n_rmsea),
        "srmr": float(np.sqrt(np.sum(resid**2) / (p * (p + 1) / 2))),
        "rmsea_convention": "N − 1 (lavaan, DWLS)",
        "estimator": "WLSMV",
        "test": "scaled.shifted",
        "se_type": "robust.sem",
        "chi2_scaled": float(chi2_s),
        "p_scaled": float(stats.chi2.sf(chi2_s, df)) if df > 0 else float("nan"),
        "scaling_factor": float(1 / a),
        "shift": float(shift),
        "cfi_scaled": _cfi(chi2_s, df, chi2_b_s, df_b),
        "tli_scaled": _tli(chi2_s, df, chi2_b_s, df_b),
        "rmsea_scaled": _rmsea(chi2_s, df, n_rmsea),
        "rmsea_ci_scaled": _ci(chi2_s, df, n_rmsea),
        "baseline_chi2": chi2_b,
        "baseline_df": df_b,
        "baseline_chi2_scaled": float(chi2_b_s),
        "baseline_scaling_factor": float(1 / a_b),
        "baseline_shift": float(shift_b),
    }

    names = list(factors)
    std, J = model.standardised(theta)
    std_se = np.sqrt(np.einsum("ij,jk,ik->i", J, cov, J)) if cov is not None else np.full(len(std), np.nan)
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
    lhs = [names[model.item_factor[a]] for a in model.load_items] + [names[h] for g, h in model.phi_pairs]
    rhs = [items[a] for a in model.load_items] + [names[g] for g, h in model.phi_pairs]
    parameters = pd.DataFrame(
        {"lhs": lhs, "op": ["=~"] * model.nl + ["~~"] * model.nf, "rhs": rhs, "est": theta, "se": se}
    )
    parameters["z"] = parameters.est / parameters.se
    parameters["p"] = 2 * stats.norm.sf(parameters.z.abs())

    lam, phi = model.unpack(theta)
    residual_var = 1 - lam**2 * np.diag(phi)[model.item_factor]
    note = None
    if not converged:
        note = f"优化未收敛 | optimiser did not converge: {message}"
    elif cov is None:
        note = "信息矩阵不可逆，无法计算标准误 | the information matrix is singular: no standard errors"
    elif np.any(residual_var < 0) or np.any(np.linalg.eigvalsh(phi) < 0):
        note = (
            "潜在反应的残差方差为负或因子协方差矩阵非正定（Heywood 情形）| a negative residual variance of a latent "
            "response or a factor covariance matrix that is not positive definite (Heywood case)"
        )
    return {
        "n": n,
        "n_dropped": int(len(data) - n),
        "estimator": "WLSMV",
        "fit": fit,
        "loadings": loadings,
        "factor_correlations": corr,
        "parameters": parameters,
        "thresholds": pc.thresholds,
        "polychoric": pc.rho,
        "converged": converged,
        "note": note,
    }
