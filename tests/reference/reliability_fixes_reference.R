# Reference for the review fixes of issue 16 in jianfu.stats.reliability (ω) and jianfu.stats.structure
# (parallel analysis). Debian r-cran-psych 2.2.9, lavaan 0.6.14, semTools.
#
# ω with signed loadings. Data: psych's `bfi`, agreeableness items A1–A5, complete rows (2709). A1 ("Am
# indifferent to the feelings of others") is reverse-worded; "unreversed" leaves it as answered (the mis-keyed
# scale the fix is for), "keyed" uses 7 − A1. Per scale:
#   loadings ....... factanal(covmat = cor(x), factors = 1): one-factor ML, signed standardised loadings;
#   omega .......... signed = (Σλ)² / ((Σλ)² + Σψ) from those loadings; abs = the same with |λ| (jianfu before
#                    the fix); compRelSEM = semTools::compRelSEM(cfa(f =~ A1 + … + A5, sample.cov = cor(x),
#                    std.lv = TRUE), obs.var = FALSE) (the model-implied denominator, same formula);
#                    psych_noflip = psych::omega(x, nfactors = 1, fm = "ml", flip = FALSE)$omega.tot, whose
#                    denominator is the observed 1'R1; psych_default = psych::omega(..., flip = TRUE, the
#                    default), which silently reverses A1 (so it reports the keyed scale's ω for the mis-keyed one);
#   se ............. delta-method SE of ω of the standardised items, as a lavaan := parameter of the raw-data CFA
#                    (standardised loadings sᵢ = lᵢ / √(lᵢ² + θᵢ)); se_ml under normal theory, se_mlr with
#                    estimator = "MLR" (sandwich, robust to the items' non-normality: what a case bootstrap estimates).
#
# Parallel analysis on the reduced correlation matrix (SMC on the diagonal), psych::fa.parallel(fa = "fa",
# SMC = TRUE). Data: Holzinger & Swineford (1939) x1–x9 (N = 301) and bfi's 25 items, complete rows (2436).
#   fa_values ...... eigenvalues of R with diag(R) <- smc(R), largest first (deterministic; = fa.parallel's fa.values);
#   pc_values ...... eigenvalues of R (for the PCA kind);
#   nfact .......... the number of factors fa.parallel suggests with the 95th percentile of 500 simulated (seeded)
#                    data sets: smc = SMC = TRUE (what jianfu does), psych_default = SMC = FALSE (communalities
#                    of a one-factor minres solution on the diagonal), pc = the principal-component count.
#                    Simulated quantiles vary; only the suggested counts are compared.
#
# Run: Rscript tests/reference/reliability_fixes_reference.R > tests/reference/reliability_fixes_reference.txt
# Output lines: <kind> <name> key value [key value ...]
suppressPackageStartupMessages({library(psych); library(lavaan); library(semTools)})
line <- function(kind, name, values) {
  cat(kind, name, paste(names(values), sprintf("%.10g", unlist(values)), collapse = " "), "\n")
}
cat("# R", R.version.string, "| psych", as.character(packageVersion("psych")), "| lavaan",
    as.character(packageVersion("lavaan")), "| semTools", as.character(packageVersion("semTools")), "\n")

data(bfi, package = "psych")
agree <- na.omit(bfi[, paste0("A", 1:5)])
scales <- list(unreversed = agree, keyed = transform(agree, A1 = 7 - A1))
std_omega <- paste0(
  "f =~ l1*A1 + l2*A2 + l3*A3 + l4*A4 + l5*A5\n",
  paste0("A", 1:5, " ~~ t", 1:5, "*A", 1:5, collapse = "\n"), "\n",
  paste0("s", 1:5, " := l", 1:5, "/sqrt(l", 1:5, "^2 + t", 1:5, ")", collapse = "\n"), "\n",
  "omega := (s1+s2+s3+s4+s5)^2 / ((s1+s2+s3+s4+s5)^2 + 5 - (s1^2+s2^2+s3^2+s4^2+s5^2))")
for (s in names(scales)) {
  x <- scales[[s]]
  R <- cor(x)
  fl <- factanal(covmat = R, factors = 1, n.obs = nrow(x))
  lam <- fl$loadings[, 1]
  if (sum(lam) < 0) lam <- -lam
  psi <- fl$uniquenesses
  line("loadings", paste0("bfi_agree_", s), as.list(lam))
  fit <- cfa("f =~ A1 + A2 + A3 + A4 + A5", sample.cov = R, sample.nobs = nrow(x), std.lv = TRUE)
  se <- sapply(c("ML", "MLR"), function(est) {
    pe <- parameterEstimates(cfa(std_omega, data = x, std.lv = TRUE, estimator = est))
    pe$se[pe$lhs == "omega"]
  })
  om <- function(flip) suppressMessages(suppressWarnings(
    omega(x, nfactors = 1, fm = "ml", flip = flip, plot = FALSE)))$omega.tot
  line("omega", paste0("bfi_agree_", s), list(
    n = nrow(x),
    signed = sum(lam)^2 / (sum(lam)^2 + sum(psi)),
    abs = sum(abs(lam))^2 / (sum(abs(lam))^2 + sum(psi)),
    compRelSEM = unname(compRelSEM(fit, obs.var = FALSE)),
    psych_noflip = om(FALSE),
    psych_default = om(TRUE),
    se_ml = unname(se["ML"]),
    se_mlr = unname(se["MLR"])))
}

HS <- HolzingerSwineford1939[, paste0("x", 1:9)]
big5 <- na.omit(bfi[, 1:25])
for (d in list(list("hs1939", HS), list("bfi25", big5))) {
  x <- d[[2]]
  R <- cor(x)
  reduced <- R
  diag(reduced) <- smc(R)
  fa_values <- eigen(reduced, symmetric = TRUE)$values
  quiet <- function(expr) { invisible(capture.output(value <- expr)); value }  # fa.parallel prints its verdict
  set.seed(20240601)
  pa <- quiet(fa.parallel(x, fa = "fa", SMC = TRUE, n.iter = 500, plot = FALSE))
  stopifnot(isTRUE(all.equal(pa$fa.values, fa_values)))
  set.seed(20240601)
  pa_default <- quiet(fa.parallel(x, fa = "fa", n.iter = 500, plot = FALSE))
  set.seed(20240601)
  pa_pc <- quiet(fa.parallel(x, fa = "pc", n.iter = 500, plot = FALSE))
  line("fa_values", d[[1]], setNames(as.list(fa_values), paste0("e", seq_along(fa_values))))
  line("pc_values", d[[1]], setNames(as.list(eigen(R)$values), paste0("e", seq_along(fa_values))))
  line("nfact", d[[1]], list(n = nrow(x), smc = pa$nfact, psych_default = pa_default$nfact, pc = pa_pc$ncomp))
}
