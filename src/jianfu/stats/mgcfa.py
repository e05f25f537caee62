"""Multi-group confirmatory factor analysis by maximum likelihood, with equality constraints across groups.

The engine of the measurement-invariance ladder (:mod:`jianfu.stats.invariance`). semopy fits
one group at a time, so the groups are stacked here: every group has its own loadings Λ_g,
residual variances Θ_g (diagonal), factor covariances Ψ_g, intercepts ν_g and factor means α_g,
and an equality constraint makes two groups point at the same entry of one
shared parameter vector θ. The model-implied moments are

    Σ_g = Λ_g Ψ_g Λ_g′ + Θ_g,    μ_g = ν_g + Λ_g α_g,

and θ minimises lavaan's multi-group ML discrepancy (``estimator = "ML"``, ``likelihood =
"normal"``, complete data)

    F(θ) = Σ_g (N_g / N) [log|Σ_g| + tr(S_g Σ_g⁻¹) − log|S_g| − p + (ȳ_g − μ_g)′ Σ_g⁻¹ (ȳ_g − μ_g)],

with S_g the covariance with divisor N_g, so that χ² = N·F = Σ_g N_g F_g (**N_g**, not N_g − 1,
as lavaan). The gradient is analytic, ∂F/∂θ = Σ_g (N_g/N) [tr(W_g ∂Σ_g/∂θ) − 2 (ȳ_g − μ_g)′ Σ_g⁻¹
∂μ_g/∂θ] with W_g = Σ_g⁻¹ − Σ_g⁻¹ (S_g + d_g d_g′) Σ_g⁻¹; the expected information per
observation is I(θ) = Σ_g (N_g/N) [∂μ′ Σ⁻¹ ∂μ + ½ tr(Σ⁻¹ ∂Σ Σ⁻¹ ∂Σ)]. L-BFGS-B finds the
minimum and Fisher scoring (θ ← θ − t (2I)⁻¹ ∇F) polishes it to machine precision.
Standard errors are √diag((N·I)⁻¹), lavaan's ``se = "standard"`` with expected information.

Identification is lavaan's default: the first indicator of each factor has loading 1 in every
group; factor means are 0 unless intercepts are constrained equal, when they are free in every
group but the first. ``free_intercepts`` releases single intercepts (lavaan's ``group.partial``).

References
----------
Jöreskog, K. G. (1971). Simultaneous factor analysis in several populations. *Psychometrika*,
36(4), 409–426.
Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
Statistical Software*, 48(2), 1–36.
Sörbom, D. (1974). A general method for studying differences in factor means and factor
structure between groups. *British Journal of Mathematical and Statistical Psychology*, 27(2),
229–239.

Examples
--------
>>> from semopy.examples import holzinger39
>>> data = holzinger39.get_data()
>>> factors = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
>>> fit = fit_mgcfa(data, factors, "school", equal=("loadings",))
>>> round(fit.chi2, 3), fit.df          # In R: cfa(model, HS, group = "school", group.equal = "loadings")
(124.044, 54)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from jianfu.stats.estimable import require

__all__ = ["EQUALITY_KINDS", "GroupMoments", "MGCFAFit", "group_moments", "fit_mgcfa", "score_test_intercepts"]

#: What ``equal`` may constrain across groups (lavaan's ``group.equal`` names).
EQUALITY_KINDS = ("loadings", "intercepts", "residuals")


@dataclass(frozen=True)
class GroupMoments:
    """Complete-case sample moments per group.

    Labels (order of first appearance, as lavaan), N_g, means ȳ_g and covariances S_g with divisor N_g.
    """

    labels: list[str]
    items: list[str]
    n: np.ndarray
    means: list[np.ndarray]
    covs: list[np.ndarray]
    n_dropped: int


def group_moments(data: pd.DataFrame, items: list[str], group: str) -> GroupMoments:
    """Listwise-complete moments of ``items`` per level of ``group`` (lavaan's ``missing = "listwise"``).

    Rows missing the group are dropped with the incomplete ones; group labels become strings.
    """
    if group in items:
        raise ValueError(f"the group column {group!r} is also an item")
    complete = data[items + [group]].dropna()
    labels = [str(g) for g in pd.unique(complete[group])]
    keys = complete[group].astype(str)
    n, means, covs = [], [], []
    for g in labels:
        x = complete.loc[keys == g, items].to_numpy(dtype=float)
        n.append(len(x))
        means.append(x.mean(axis=0))
        covs.append(np.cov(x, rowvar=False, bias=True).reshape(len(items), len(items)))
    return GroupMoments(labels, list(items), np.array(n), means, covs, int(len(data) - len(complete)))


@dataclass
class _Layout:
    """Where each model-matrix entry of each group takes its value in θ (−1: fixed)."""

    factors: list[str]
    items: list[str]
    factor_of: np.ndarray  # (p,) factor index of each item
    marker: np.ndarray  # (p,) bool, loading fixed at 1
    lam: np.ndarray  # (G, p) θ index of item i's loading
    theta: np.ndarray  # (G, p)
    psi: np.ndarray  # (G, m, m), symmetric
    nu: np.ndarray  # (G, p)
    alpha: np.ndarray  # (G, m)
    names: list[str] = field(default_factory=list)

    @property
    def q(self) -> int:
        return len(self.names)


def _layout(
    factors: dict[str, list[str]],
    n_groups: int,
    equal: tuple[str, ...],
    free_intercepts: tuple[str, ...],
    labels: list[str],
) -> _Layout:
    fnames = list(factors)
    items = [i for its in factors.values() for i in its]
    p, m, G = len(items), len(fnames), n_groups
    factor_of = np.array([fnames.index(f) for f, its in factors.items() for _ in its])
    marker = np.array([k == 0 for its in factors.values() for k in range(len(its))])
    names: list[str] = []
    shared: dict[str, int] = {}

    def new(name: str, key: str | None) -> int:
        # key: the name of the parameter shared by all groups when constrained equal
        if key is not None and key in shared:
            return shared[key]
        names.append(name)
        if key is not None:
            shared[key] = len(names) - 1
        return len(names) - 1

    lam, theta, nu = (np.full((G, p), -1) for _ in range(3))
    psi, alpha = np.full((G, m, m), -1), np.full((G, m), -1)
    for g in range(G):
        tag = f"[{labels[g]}]"
        for i, item in enumerate(items):
            f = fnames[factor_of[i]]
            if not marker[i]:
                lam[g, i] = new(f"{f}=~{item}{tag}", f"{f}=~{item}" if "loadings" in equal else None)
            eq_nu = "intercepts" in equal and item not in free_intercepts
            nu[g, i] = new(f"{item}~1{tag}", f"{item}~1" if eq_nu else None)
            theta[g, i] = new(f"{item}~~{item}{tag}", f"{item}~~{item}" if "residuals" in equal else None)
        for a in range(m):
            for b in range(a + 1):
                psi[g, a, b] = psi[g, b, a] = new(f"{fnames[a]}~~{fnames[b]}{tag}", None)
            if "intercepts" in equal and g > 0:
                alpha[g, a] = new(f"{fnames[a]}~1{tag}", None)
    return _Layout(fnames, items, factor_of, marker, lam, theta, psi, nu, alpha, names)


def _matrices(lay: _Layout, theta_vec: np.ndarray, g: int):
    """Λ, Θ (diagonal as a vector), Ψ, ν and α of group ``g``."""
    p, m = len(lay.items), len(lay.factors)
    th = np.append(theta_vec, 0.0)  # index −1 reads the appended 0
    Lam = np.zeros((p, m))
    Lam[np.arange(p), lay.factor_of] = np.where(lay.marker, 1.0, th[lay.lam[g]])
    return Lam, th[lay.theta[g]], th[lay.psi[g]], th[lay.nu[g]], th[lay.alpha[g]]


@cache
def _tril(m: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.tril_indices(m)``, built once per size: a ladder asks for it thousands of times."""
    a, b = np.tril_indices(m)
    a.flags.writeable = b.flags.writeable = False
    return a, b


def _jacobian(lay: _Layout, theta_vec: np.ndarray, g: int):
    """Σ_g, μ_g and their derivatives ∂Σ_g/∂θ (q × p × p) and ∂μ_g/∂θ (q × p)."""
    Lam, th, Psi, nu, alpha = _matrices(lay, theta_vec, g)
    p, m = Lam.shape
    Sigma, mu = Lam @ Psi @ Lam.T + np.diag(th), nu + Lam @ alpha
    dS, dmu = np.zeros((lay.q + 1, p, p)), np.zeros((lay.q + 1, p))  # row q collects fixed entries
    rows = np.arange(p)
    A = Lam @ Psi
    # ∂Σ/∂λ_ij = e_i a_j′ + a_j e_i′ with a_j = (ΛΨ)_{·j};  ∂μ/∂λ_ij = e_i α_j
    dl = np.zeros((p, p, p))
    dl[rows, rows, :] += A[:, lay.factor_of].T
    dl[rows, :, rows] += A[:, lay.factor_of].T
    np.add.at(dS, lay.lam[g], dl)
    np.add.at(dmu, (lay.lam[g], rows), alpha[lay.factor_of])
    # ∂Σ/∂ψ_ab = Λ_a Λ_b′ + Λ_b Λ_a′ (a ≠ b), Λ_a Λ_a′ (a = b)
    a_idx, b_idx = _tril(m)
    outer = np.einsum("ik,jk->kij", Lam[:, a_idx], Lam[:, b_idx])
    dpsi = outer + np.where((a_idx != b_idx)[:, None, None], outer.transpose(0, 2, 1), 0.0)
    np.add.at(dS, lay.psi[g][a_idx, b_idx], dpsi)
    dS[lay.theta[g], rows, rows] += 1.0
    np.add.at(dmu, (lay.nu[g], rows), 1.0)
    np.add.at(dmu, lay.alpha[g], Lam.T)
    return Sigma, mu, dS[:-1], dmu[:-1]


class _Problem:
    """The objective, gradient and information of one multi-group model on one set of moments.

    F and its gradient are computed for all groups at once on stacked (G × p × p) matrices: the
    models of a ladder are small, so the cost is per numpy call, not per flop.
    """

    def __init__(self, lay: _Layout, mom: GroupMoments):
        self.lay, self.mom = lay, mom
        self.w = mom.n / mom.n.sum()
        self.logdet_S = [np.linalg.slogdet(S)[1] for S in mom.covs]
        self.S = np.stack(mom.covs)
        self.means = np.stack(mom.means)
        self.fixed_f = np.asarray(self.logdet_S) + len(lay.items)
        p, m, q = len(lay.items), len(lay.factors), lay.q
        rows = np.arange(p)
        self._rows = rows
        self._a, self._b = _tril(m)
        self._psi_mult = np.where(self._a == self._b, 1.0, 2.0)
        # θ index of every gradient entry, in the order f_grad concatenates them; fixed entries → slot q
        psi = lay.psi[:, self._a, self._b]
        index = np.concatenate([lay.lam.ravel(), psi.ravel(), lay.theta.ravel(), lay.nu.ravel(), lay.alpha.ravel()])
        self._grad_index = np.where(index < 0, q, index)
        self._diag = (slice(None), rows, rows)

    def _stacked(self, theta_vec: np.ndarray):
        """Λ (G × p × m), Θ diagonals (G × p), Ψ (G × m × m), ν (G × p), α (G × m) of every group."""
        lay = self.lay
        th = np.append(theta_vec, 0.0)  # index −1 reads the appended 0
        G, p, m = lay.lam.shape[0], len(lay.items), len(lay.factors)
        Lam = np.zeros((G, p, m))
        Lam[:, self._rows, lay.factor_of] = np.where(lay.marker, 1.0, th[lay.lam])
        return Lam, th[lay.theta], th[lay.psi], th[lay.nu], th[lay.alpha]

    def group_f(self, theta_vec: np.ndarray) -> np.ndarray:
        """F_g for every group (χ²_g = N_g F_g)."""
        Lam, th, Psi, nu, alpha = self._stacked(theta_vec)
        Sigma = Lam @ Psi @ Lam.transpose(0, 2, 1)
        Sigma[self._diag] += th
        Si = np.linalg.inv(Sigma)
        d = self.means - nu - np.einsum("gpm,gm->gp", Lam, alpha)
        quad = np.einsum("gp,gpq,gq->g", d, Si, d)
        return np.linalg.slogdet(Sigma)[1] + np.einsum("gpq,gpq->g", self.S, Si) - self.fixed_f + quad

    def f_grad(self, theta_vec: np.ndarray) -> tuple[float, np.ndarray]:
        """F and its analytic gradient, from the matrix derivatives of F_g (no Jacobian needed).

        With W = Σ⁻¹ − Σ⁻¹(S + dd′)Σ⁻¹ and g_μ = −2Σ⁻¹d: ∂F_g/∂Λ = 2WΛΨ + g_μα′, ∂F_g/∂Ψ = Λ′WΛ
        (doubled off the diagonal, where ψ_ab = ψ_ba), ∂F_g/∂θ_ii = W_ii, ∂F_g/∂ν = g_μ,
        ∂F_g/∂α = Λ′g_μ; entries shared across groups add up.
        """
        lay, w = self.lay, self.w
        Lam, th, Psi, nu, alpha = self._stacked(theta_vec)
        LamT = Lam.transpose(0, 2, 1)
        Sigma = Lam @ Psi @ LamT
        Sigma[self._diag] += th
        chol = np.linalg.cholesky(Sigma)  # LinAlgError when a Σ_g is not positive definite
        Si = np.linalg.inv(Sigma)
        d = self.means - nu - np.einsum("gpm,gm->gp", Lam, alpha)
        Sid = np.einsum("gpq,gq->gp", Si, d)
        logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        f_g = logdet + np.einsum("gpq,gpq->g", self.S, Si) - self.fixed_f + np.einsum("gp,gp->g", d, Sid)
        W = Si - Si @ self.S @ Si - Sid[:, :, None] * Sid[:, None, :]
        g_mu = -2 * Sid
        d_lam = 2 * W @ Lam @ Psi + g_mu[:, :, None] * alpha[:, None, :]
        d_psi = LamT @ W @ Lam
        values = np.concatenate(
            [
                (w[:, None] * d_lam[:, self._rows, lay.factor_of]).ravel(),
                (w[:, None] * d_psi[:, self._a, self._b] * self._psi_mult).ravel(),
                (w[:, None] * W[self._diag]).ravel(),
                (w[:, None] * g_mu).ravel(),
                (w[:, None] * np.einsum("gpm,gp->gm", Lam, g_mu)).ravel(),
            ]
        )
        grad = np.bincount(self._grad_index, weights=values, minlength=lay.q + 1)
        return float(w @ f_g), grad[:-1]

    def information(self, theta_vec: np.ndarray) -> np.ndarray:
        """Expected information per observation, Σ_g (N_g/N) [∂μ′Σ⁻¹∂μ + ½ tr(Σ⁻¹∂ΣΣ⁻¹∂Σ)]."""
        info = np.zeros((self.lay.q, self.lay.q))
        for g in range(len(self.mom.covs)):
            Sigma, _, dS, dmu = _jacobian(self.lay, theta_vec, g)
            Si = np.linalg.inv(Sigma)
            B = Si @ dS  # (q, p, p): Σ⁻¹ ∂Σ/∂θ_k
            # tr(B_k B_l) = Σ_ij B_k[i, j] B_l[j, i], one matrix product
            trace = B.reshape(len(B), -1) @ B.transpose(0, 2, 1).reshape(len(B), -1).T
            info += self.w[g] * (dmu @ Si @ dmu.T + 0.5 * trace)
        return info

    def objective(self, theta_vec: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            return self.f_grad(theta_vec)
        except np.linalg.LinAlgError:
            # Σ_g left the positive-definite cone: a large value sends the line search back
            return 1e10, np.zeros(self.lay.q)


def _start(lay: _Layout, mom: GroupMoments) -> np.ndarray:
    """Start values.

    Loadings 1 (lavaan's ``start = "simple"``), residual variances half the observed variances and
    factor variances 0.05 (lavaan's default), intercepts the observed means, everything else 0.
    """
    start = np.zeros(lay.q)
    for g in range(len(mom.labels)):
        start[lay.lam[g][lay.lam[g] >= 0]] = 1.0
        start[lay.theta[g]] = np.diag(mom.covs[g]) / 2
        start[lay.nu[g]] = mom.means[g]
        diag = lay.psi[g][np.diag_indices(len(lay.factors))]
        start[diag] = 0.05
    return start


def _warm_start(lay: _Layout, prev: MGCFAFit) -> np.ndarray:
    """Start values from a fitted neighbour on the same moments (the previous step of a ladder).

    Each parameter starts at the mean of the neighbour's estimates at the matrix entries it
    covers: a loading made equal across groups starts at the mean of the free loadings, a latent
    mean the neighbour did not have at 0.
    """
    total, count = np.zeros(lay.q + 1), np.zeros(lay.q + 1)  # the last slot collects fixed entries
    for g in range(len(prev.groups)):
        Lam, th, Psi, nu, alpha = _matrices(prev.layout, prev.theta, g)
        rows = np.arange(len(lay.items))
        for idx, value in (
            (lay.lam[g], Lam[rows, lay.factor_of]),
            (lay.theta[g], th),
            (lay.psi[g].ravel(), Psi.ravel()),
            (lay.nu[g], nu),
            (lay.alpha[g], alpha),
        ):
            np.add.at(total, idx, value)
            np.add.at(count, idx, 1.0)
    return (total / np.maximum(count, 1.0))[:-1]


@dataclass
class MGCFAFit:
    """A fitted multi-group CFA: estimates, standard errors and lavaan's fit measures.

    ``estimates`` has one row per free parameter and group (``group, op, lhs, rhs, est, se, z, p``,
    lavaan's ``parameterEstimates`` vocabulary: ``=~`` loading, ``~~`` (co)variance, ``~1``
    intercept or mean); a parameter shared by several groups appears once per group.
    """

    groups: list[str]
    n: dict[str, int]
    n_dropped: int
    equal: tuple[str, ...]
    free_intercepts: tuple[str, ...]
    chi2: float
    df: int
    p: float
    cfi: float
    tli: float
    rmsea: float
    srmr: float
    chi2_baseline: float
    df_baseline: int
    converged: bool
    identified: bool
    estimates: pd.DataFrame
    theta: np.ndarray = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    layout: _Layout = field(repr=False)
    moments: GroupMoments = field(repr=False)

    def fit_measures(self) -> dict:
        """``{chi2, df, p, cfi, tli, rmsea, srmr, converged, identified}`` as plain values (JSON-ready)."""
        return {
            "chi2": self.chi2,
            "df": self.df,
            "p": self.p,
            "cfi": self.cfi,
            "tli": self.tli,
            "rmsea": self.rmsea,
            "srmr": self.srmr,
            "converged": self.converged,
            "identified": self.identified,
        }


def _fit_measures(prob: _Problem, theta_vec: np.ndarray) -> dict:
    mom, lay = prob.mom, prob.lay
    p, G, N = len(mom.items), len(mom.labels), int(mom.n.sum())
    chi2 = float(mom.n @ prob.group_f(theta_vec))
    df = int(G * p * (p + 3) // 2 - lay.q)
    # Baseline: independent items with free means and variances in each group (lavaan's default).
    chi2_b = float(
        sum(n * (np.log(np.diag(S)).sum() - ld) for n, S, ld in zip(mom.n, mom.covs, prob.logdet_S, strict=True))
    )
    df_b = G * p * (p - 1) // 2
    d, d_b = max(chi2 - df, 0.0), max(chi2_b - df_b, 0.0)
    cfi = 1.0 - d / max(d, d_b) if max(d, d_b) > 0 else 1.0
    tli = ((chi2_b / df_b - chi2 / df) / (chi2_b / df_b - 1)) if df > 0 else 1.0
    rmsea = float(np.sqrt(max(chi2 / N / df - 1 / N, 0.0)) * np.sqrt(G)) if df > 0 else 0.0
    srmr = 0.0
    for g in range(G):
        Lam, th, Psi, nu, alpha = _matrices(lay, theta_vec, g)
        sd = np.sqrt(np.diag(mom.covs[g]))
        r = (mom.covs[g] - Lam @ Psi @ Lam.T - np.diag(th)) / np.outer(sd, sd)
        e = (mom.means[g] - nu - Lam @ alpha) / sd
        srmr += prob.w[g] * np.sqrt((np.sum(r[_tril(p)] ** 2) + np.sum(e**2)) / (p * (p + 1) / 2 + p))
    return {
        "chi2": chi2,
        "df": df,
        "p": float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan"),
        "cfi": float(cfi),
        "tli": float(tli),
        "rmsea": rmsea,
        "srmr": float(srmr),
        "chi2_baseline": chi2_b,
        "df_baseline": df_b,
    }


def _scoring(prob: _Problem, theta: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, float, np.ndarray]:
    """Fisher scoring, θ ← θ − t (2I)⁻¹ ∇F (2I is the expected Hessian of F), halving t until F decreases."""
    f, grad = prob.objective(theta)
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(2 * prob.information(theta), grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-10:
            f_new, g_new = prob.objective(theta - t * step)
            if f_new <= f:
                break
            t /= 2
        else:
            break
        theta, f, grad = theta - t * step, f_new, g_new
        if np.max(np.abs(t * step)) < 1e-10:
            break
    return theta, f, grad


def _done(f: float, grad: np.ndarray) -> bool:
    return bool(f < 1e9 and np.max(np.abs(grad)) < 1e-6)


def _minimise(
    prob: _Problem, start: np.ndarray, max_polish: int = 100, warm: np.ndarray | None = None
) -> tuple[np.ndarray, bool]:
    """Minimise F: L-BFGS-B with the analytic gradient, then Fisher scoring.

    Fisher scoring ends at the optimum to machine precision. Fisher scoring alone wanders off from a
    poor start (to loadings of ±90 on HS1939 from a perturbed one); L-BFGS-B alone stops short of
    the optimum (|∇F| > 1e-6) in about 1 of 100 small simulated samples. From a ``warm`` start (the
    estimates of the previous, nested model) scoring alone usually converges in a few steps, ten
    times faster than L-BFGS-B; only when it does not is the cold path taken.
    """
    if warm is not None:
        theta, f, grad = _scoring(prob, warm, max_iter=30)
        if _done(f, grad):
            return theta, True
    theta = optimize.minimize(
        prob.objective,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    ).x
    theta, f, grad = _scoring(prob, theta, max_polish)
    return theta, _done(f, grad)


def _estimates(lay: _Layout, theta_vec: np.ndarray, se: np.ndarray, groups: list[str]) -> pd.DataFrame:
    rows = []
    for g, label in enumerate(groups):
        entries = [("=~", lay.factors[lay.factor_of[i]], item, lay.lam[g, i]) for i, item in enumerate(lay.items)]
        entries += [("~~", item, item, lay.theta[g, i]) for i, item in enumerate(lay.items)]
        entries += [
            ("~~", lay.factors[a], lay.factors[b], lay.psi[g, a, b])
            for a in range(len(lay.factors))
            for b in range(a, len(lay.factors))
        ]
        entries += [("~1", item, "", lay.nu[g, i]) for i, item in enumerate(lay.items)]
        entries += [("~1", f, "", lay.alpha[g, a]) for a, f in enumerate(lay.factors)]
        rows += [(label, op, lhs, rhs, int(k)) for op, lhs, rhs, k in entries if k >= 0]
    out = pd.DataFrame(rows, columns=["group", "op", "lhs", "rhs", "index"])
    k = out["index"].to_numpy()
    est, err = theta_vec[k].astype(float), se[k].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(err > 0, est / err, np.nan)
    out["est"], out["se"], out["z"], out["p"] = est, err, z, 2 * stats.norm.sf(np.abs(z))
    return out[["group", "op", "lhs", "rhs", "est", "se", "z", "p", "index"]]


def _identified(info: np.ndarray) -> bool:
    """Whether the expected information is positive definite (the parameters are identified)."""
    eig = np.linalg.eigvalsh(info)
    return bool(eig[0] > 1e-12 * max(eig[-1], 1e-300))


def _require_estimable(lay: _Layout, mom: GroupMoments) -> None:
    p, G = len(mom.items), len(mom.labels)
    require(
        G >= 2, f"分组变量只有 {G} 个有效组，至少需要 2 组", f"the group variable has {G} usable group(s); 2 are needed"
    )
    m = len(lay.factors)
    per_group = (p - m) + 2 * p + m * (m + 1) // 2  # configural: loadings, residuals, intercepts, Ψ
    for label, n, S in zip(mom.labels, mom.n, mom.covs, strict=True):
        require(
            n >= max(per_group, p + 1),
            f"组“{label}”仅有 {n} 条完整作答，少于构型模型每组需估计的 {max(per_group, p + 1)} 个参数",
            f"group '{label}' has {n} complete rows, fewer than the {max(per_group, p + 1)} parameters "
            "the configural model estimates per group",
        )
        eig = np.linalg.eigvalsh(S)
        require(
            eig[0] > 1e-10 * max(eig[-1], 1e-300),
            f"组“{label}”中题目的协方差矩阵奇异（有题目无变化或题目完全共线）",
            f"in group '{label}' the items' covariance matrix is singular (an item does not vary, or items "
            "are collinear)",
        )
    require(
        G * p * (p + 3) // 2 - lay.q >= 0,
        "模型不可识别（自由度为负）：单因子至少需要 3 个题目",
        "the model is not identified (negative df): a single factor needs at least 3 items",
    )


# BLAS threads only contend on these tiny matrices: on a busy machine they made L-BFGS-B 5-10x slower.
_single_thread = threadpool_limits.wrap(limits=1, user_api="blas")


@_single_thread
def fit_mgcfa(
    data: pd.DataFrame | GroupMoments,
    factors: dict[str, list[str]],
    group: str | None = None,
    equal: tuple[str, ...] = (),
    free_intercepts: tuple[str, ...] = (),
    start: MGCFAFit | None = None,
) -> MGCFAFit:
    """Fit a multi-group CFA by ML with parameters constrained equal across groups.

    Parameters
    ----------
    data : DataFrame or GroupMoments
        Item responses and the group column (complete cases are used), or moments from
        :func:`group_moments` (refitting several models on the same data).
    factors : dict
        Factor name → indicators; the first indicator is the marker (loading 1).
    group : str
        The grouping column (ignored when ``data`` holds moments).
    equal : tuple of {"loadings", "intercepts", "residuals"}
        lavaan's ``group.equal``. With ``"intercepts"`` the factor means are free in every group
        but the first (fixed at 0 there).
    free_intercepts : tuple of str
        Items whose intercepts stay free in all groups although ``"intercepts"`` is constrained
        (lavaan's ``group.partial = c("x3~1")``).
    start : MGCFAFit, optional
        A model fitted to the same moments (the previous step of a ladder) whose estimates start
        this one; the optimum is the same, reached sooner.

    Returns
    -------
    MGCFAFit
        χ² (Σ N_g F_g), df, p, CFI, TLI, RMSEA, SRMR, the baseline χ², parameter estimates with
        standard errors, ``converged`` (|∇F| < 1e-6) and ``identified`` (the information matrix is
        positive definite at the solution; standard errors are NaN otherwise, as lavaan's).

    Raises
    ------
    NotEstimable
        Fewer than two groups, a group with fewer complete rows than its parameters (or than
        p + 1), a singular covariance matrix within a group, or negative degrees of freedom.

    Notes
    -----
    Fit measures as lavaan 0.6 reports them for several groups: the baseline model has free
    means and variances per group (df_b = G·p(p − 1)/2); CFI = 1 − max(χ² − df, 0) /
    max(χ² − df, χ²_b − df_b, 0); TLI = (χ²_b/df_b − χ²/df) / (χ²_b/df_b − 1);
    RMSEA = √max(χ²/(N·df) − 1/N, 0) · √G; SRMR = Σ_g (N_g/N) SRMR_g with Bentler's SRMR_g,
    the root mean square of the covariance residuals (diagonal included) and the mean residuals,
    each divided by the observed standard deviations, over p(p + 1)/2 + p elements.
    """
    bad = set(equal) - set(EQUALITY_KINDS)
    if bad:
        raise ValueError(f"unknown equality constraint(s) {sorted(bad)}; use {EQUALITY_KINDS}")
    items = [i for its in factors.values() for i in its]
    if len(set(items)) != len(items):
        raise ValueError("an item may load on one factor only")
    mom = data if isinstance(data, GroupMoments) else group_moments(data, items, group)
    lay = _layout(factors, len(mom.labels), tuple(equal), tuple(free_intercepts), mom.labels)
    _require_estimable(lay, mom)
    prob = _Problem(lay, mom)
    warm = _warm_start(lay, start) if start is not None and start.moments is mom else None
    theta, converged = _minimise(prob, _start(lay, mom), warm=warm)
    info = prob.information(theta)
    # Empirical under-identification (a factor variance at 0, say): lavaan reports the fit but no SEs.
    identified = _identified(info)
    vcov = np.linalg.inv(info * mom.n.sum()) if identified else np.full_like(info, np.nan)
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))  # NaN stays NaN
    fm = _fit_measures(prob, theta)
    return MGCFAFit(
        groups=mom.labels,
        n=dict(zip(mom.labels, map(int, mom.n), strict=True)),
        n_dropped=mom.n_dropped,
        equal=tuple(equal),
        free_intercepts=tuple(free_intercepts),
        converged=converged,
        identified=identified,
        estimates=_estimates(lay, theta, se, mom.labels),
        theta=theta,
        vcov=vcov,
        layout=lay,
        moments=mom,
        **fm,
    )


@_single_thread
def score_test_intercepts(fit: MGCFAFit, items: list[str] | None = None) -> pd.DataFrame:
    """Score (Lagrange-multiplier) tests for releasing each equal intercept in all groups.

    Parameters
    ----------
    fit : MGCFAFit
        A model with ``"intercepts"`` in ``equal``.
    items : list of str, optional
        The items to test; default every item whose intercept is still constrained.

    Returns
    -------
    DataFrame
        ``item, factor, chi2, df, p`` sorted by χ², largest first; χ² is NaN when releasing the
        item would leave its factor's mean unidentified (its last equal intercept).

    Notes
    -----
    Releasing item j adds deviations δ_jg (μ_g gains e_j δ_jg) in the groups g ≥ 2. At the
    constrained estimates θ̂, with the gradient ∇F and expected information I of the model
    extended by δ_j (blocks I_θθ, I_θδ = Σ_g (N_g/N) ∂μ_g′Σ_g⁻¹e_j, I_δδ = (N_g/N) (Σ_g⁻¹)_jj),

        T = (N/4) ∇F(θ̂, 0)′ I(θ̂, 0)⁻¹ ∇F(θ̂, 0) ~ χ²(G − 1),

    the score of the log-likelihood −(N/2)F weighted by its inverse information; one information
    matrix serves every item. With two groups T equals lavaan's univariate
    ``lavTestScore(fit)$uni`` for that intercept's equality constraint, with more groups
    ``lavTestScore(fit, release = <its G − 1 constraints>)$test`` (Bentler, 1990).

    References
    ----------
    Bentler, P. M. (1990). Fit indexes, Lagrange multipliers, constraint changes and incomplete
    data in structural models. *Multivariate Behavioral Research*, 25(2), 163–172.
    """
    if "intercepts" not in fit.equal:
        raise ValueError("score tests for intercepts need a model with equal intercepts")
    lay, mom = fit.layout, fit.moments
    items = [i for i in (lay.items if items is None else items) if i not in fit.free_intercepts]
    prob, G = _Problem(lay, mom), len(mom.labels)
    _, grad = prob.f_grad(fit.theta)
    info = prob.information(fit.theta)
    cross, block, score = [], [], []  # per group g ≥ 2: I_θδ (q × p), I_δδ (p × p), ∇_δF
    for g in range(1, G):
        Sigma, mu, _, dmu = _jacobian(lay, fit.theta, g)
        Si = np.linalg.inv(Sigma)
        cross.append(prob.w[g] * dmu @ Si)
        block.append(prob.w[g] * Si)
        score.append(prob.w[g] * -2 * Si @ (mom.means[g] - mu))
    rows = []
    for item in items:
        j = lay.items.index(item)
        ext = np.block(
            [
                [info, np.column_stack([c[:, j] for c in cross])],
                [np.vstack([c[:, j] for c in cross]), np.diag([b[j, j] for b in block])],
            ]
        )
        ext_grad = np.concatenate([grad, [s_[j] for s_ in score]])
        # Releasing the last equal intercept of a factor leaves its mean unidentified: no test.
        chi2 = float(mom.n.sum() / 4 * ext_grad @ np.linalg.solve(ext, ext_grad)) if _identified(ext) else float("nan")
        rows.append(
            {
                "item": item,
                "factor": lay.factors[lay.factor_of[j]],
                "chi2": chi2,
                "df": G - 1,
                "p": float(stats.chi2.sf(chi2, G - 1)),
            }
        )
    return (
        pd.DataFrame(rows, columns=["item", "factor", "chi2", "df", "p"])
        .sort_values("chi2", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
