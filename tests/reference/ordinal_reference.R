# Reference for jianfu.stats.ordinal: polychoric correlations, ordinal α and ordinal ω on psych's `bfi`
# (25 six-point personality items, 2800 respondents, items missing at random; Debian r-cran-psych 2.2.9),
# written to ordinal_data.csv.
#   polychoric ... psych::polychoric(x): two-step ML, thresholds qnorm(cumulative proportions) of each item's
#                  own answers ("global"), ρ of each pair maximising Σ n_ab log P_ab(ρ) over the pairwise complete
#                  table by optimize() on (−1, 1) (tolerance ≈ 1.2e-4), smoothed only if not positive definite;
#   ordinal α .... psych::alpha(R) on the polychoric matrix R of a scale's keyed items (reverse-keyed items
#                  7 − x, bfi.keys): α = k/(k − 1) · (1 − k / ΣR) (Zumbo, Gadermann & Zeisser, 2007), beside
#                  Cronbach's α of the raw keyed answers (psych::alpha(x)$total$raw_alpha, pairwise);
#   ordinal ω .... one-factor ML of R: factanal(covmat = R, factors = 1) loadings λ, ω = (Σλ)² / ((Σλ)² + Σ(1 − λ²));
#   Φ₂ ........... mvtnorm::pmvnorm(upper = c(h, k), corr) (Genz's exact bivariate algorithm) at 80 points, r up to
#                  ±.9999, for the bivariate normal CDF the likelihood is built on;
#   smoothing .... psych::cor.smooth of a fixed matrix that is not positive definite ("smooth i j value").
# Run: Rscript tests/reference/ordinal_reference.R > tests/reference/ordinal_reference.txt
# Output lines: "tau <item> t1 … t5", "rho <item> <item> r" (lower triangle of the unkeyed items), then per scale
# "scale <name> ordinal_alpha a raw_alpha a omega w", "loadings <name> λ1 … λ5" and "bvn h k r Φ₂".
suppressPackageStartupMessages({library(psych); library(mvtnorm)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
data(bfi, package = "psych")
x <- bfi[, 1:25]
write.csv(x, file.path(here, "ordinal_data.csv"), row.names = FALSE, na = "")

pc <- polychoric(x)
for (i in colnames(x)) cat("tau", i, sprintf("%.10f", pc$tau[i, ]), "\n")
for (j in 1:24) for (i in (j + 1):25) cat("rho", colnames(x)[i], colnames(x)[j], sprintf("%.10f", pc$rho[i, j]), "\n")

keys <- list(agree = c("-A1", "A2", "A3", "A4", "A5"), conscientious = c("C1", "C2", "C3", "-C4", "-C5"),
             extraversion = c("-E1", "-E2", "E3", "E4", "E5"), neuroticism = c("N1", "N2", "N3", "N4", "N5"),
             openness = c("O1", "-O2", "O3", "O4", "-O5"))
for (s in names(keys)) {
  items <- sub("-", "", keys[[s]])
  keyed <- x[, items]
  rev <- startsWith(keys[[s]], "-")
  keyed[, rev] <- 7 - keyed[, rev]
  R <- polychoric(keyed)$rho
  ord <- suppressWarnings(alpha(R))$total$raw_alpha
  raw <- suppressWarnings(alpha(keyed))$total$raw_alpha
  lam <- as.numeric(factanal(covmat = R, factors = 1)$loadings)
  lam <- lam * sign(sum(lam))
  omega <- sum(lam)^2 / (sum(lam)^2 + sum(1 - lam^2))
  cat("scale", s, "ordinal_alpha", sprintf("%.10f", ord), "raw_alpha", sprintf("%.10f", raw),
      "omega", sprintf("%.10f", omega), "\n")
  cat("loadings", s, sprintf("%.10f", lam), "\n")
}

set.seed(1979)
r_grid <- c(-0.9999, -0.99, -0.95, -0.93, -0.9, -0.5, -0.1, 0, 0.2, 0.6, 0.8, 0.92, 0.926, 0.95, 0.99, 0.9999)
pts <- data.frame(h = c(runif(64, -3, 3), 0, 0, 1.5, -2, 8, -8, 0.3, 0.3, rep(c(-1, 1), 4)),
                  k = c(runif(64, -3, 3), 0, 1, 1.5, 2, 0.5, 0.5, 0.31, -0.3, rep(c(-1.2, 1.3), 4)),
                  r = c(sample(r_grid, 64, replace = TRUE), 0.5, -0.95, 0.999, 0.97, 0.3, 0.3, 0.99, -0.99,
                        rep(c(0.93, -0.93, 0.9999, -0.9999), 2)))
for (i in seq_len(nrow(pts))) {
  p <- pmvnorm(upper = c(pts$h[i], pts$k[i]), corr = matrix(c(1, pts$r[i], pts$r[i], 1), 2))[1]
  cat("bvn", sprintf("%.15g", c(pts$h[i], pts$k[i], pts$r[i], p)), "\n")
}

bad <- matrix(c(1, 0.9, -0.6, 0.2, 0.9, 1, 0.7, 0.1, -0.6, 0.7, 1, 0.3, 0.2, 0.1, 0.3, 1), 4)
good <- suppressWarnings(cor.smooth(bad))
for (i in 1:4) for (j in 1:4) cat("smooth", i, j, sprintf("%.12f", bad[i, j]), sprintf("%.12f", good[i, j]), "\n")
