# Reference values for tests/test_psychometrics.py, computed with R psych / lavaan / semTools.
# Data: Holzinger & Swineford (1939), N = 301, as shipped with lavaan (semopy ships the same
# table, which the tests read). Run:  Rscript tests/reference/hs1939_reference.R > tests/reference/hs1939_reference.txt
suppressPackageStartupMessages({library(lavaan); library(psych); library(semTools)})
options(digits = 10, width = 120)
HS <- HolzingerSwineford1939
X <- HS[, paste0("x", 1:9)]
cat("R", R.version.string, "| lavaan", as.character(packageVersion("lavaan")),
    "| psych", as.character(packageVersion("psych")), "| semTools", as.character(packageVersion("semTools")), "\n")
cat("\n## column means (to check the tests read the same data)\n"); print(colMeans(X))

cat("\n## CFA, three factors, ML (lavaan defaults: N in chi-square and RMSEA, marker-variable identification)\n")
HS.model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
fit <- cfa(HS.model, data = HS)
print(unclass(fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
                                 "rmsea.ci.upper", "srmr"))))
pe <- parameterEstimates(fit); print(as.data.frame(pe[pe$op == "=~", c("lhs", "rhs", "est", "se")]), digits = 10)
ss <- standardizedSolution(fit); lo <- as.data.frame(ss[ss$op == "=~", c("lhs", "rhs", "est.std")]); print(lo, digits = 10)
print(as.data.frame(ss[ss$op == "~~" & ss$lhs != ss$rhs & ss$lhs %in% c("visual", "textual", "speed"), c("lhs", "rhs", "est.std")]), digits = 10)

cat("\n## CR (Fornell-Larcker 1981, from standardised loadings) and AVE\n")
for (f in c("visual", "textual", "speed")) {
  l <- lo$est.std[lo$lhs == f]
  cat(f, "CR =", sum(l)^2 / (sum(l)^2 + sum(1 - l^2)), " AVE =", mean(l^2), "\n")
}
cat("semTools::AVE\n"); print(unclass(AVE(fit)))

cat("\n## HTMT2 (semTools::htmt default, geometric means of absolute correlations)\n")
print(unclass(htmt(HS.model, data = HS)))
cat("\n## HTMT (htmt2 = FALSE, arithmetic means, Henseler et al. 2015)\n")
print(unclass(htmt(HS.model, data = HS, htmt2 = FALSE)))

cat("\n## omega_total from a one-factor ML factor analysis (psych::fa, fm = 'ml') of the correlations\n")
omega1 <- function(d) { l <- as.numeric(fa(d, nfactors = 1, fm = "ml")$loadings); sum(l)^2 / (sum(l)^2 + sum(1 - l^2)) }
cat("omega x1-x3 =", omega1(X[, 1:3]), "\n")
cat("omega x4-x6 =", omega1(X[, 4:6]), "\n")
cat("omega x1-x9 =", omega1(X), "\n")

cat("\n## psych::alpha on x1-x9: raw alpha, item-rest r (r.drop), alpha if item dropped\n")
a <- psych::alpha(X, check.keys = FALSE, warnings = FALSE)
cat("raw_alpha =", a$total$raw_alpha, "\n")
print(data.frame(r.drop = a$item.stats$r.drop, alpha.drop = a$alpha.drop$raw_alpha, row.names = names(X)))

cat("\n## KMO and Bartlett's test of sphericity (psych)\n")
k <- KMO(X); cat("MSA =", k$MSA, "\n"); print(k$MSAi)
b <- cortest.bartlett(cor(X), n = nrow(X)); cat("bartlett chisq =", b$chisq, " df =", b$df, " p =", b$p.value, "\n")

cat("\n## Harman's single factor: first eigenvalue of the correlation matrix / number of items\n")
cat("share =", eigen(cor(X))$values[1] / 9, "\n")

cat("\n## Correlations of unit-weighted factor scores (psych::corr.test, pairwise)\n")
S <- data.frame(visual = rowMeans(X[, 1:3]), textual = rowMeans(X[, 4:6]), speed = rowMeans(X[, 7:9]))
ct <- corr.test(S, adjust = "none"); print(ct$r); print(ct$p)

cat("\n## Welch tests\n")
tt <- t.test(x1 ~ school, data = HS); cat("welch t =", tt$statistic, " df =", tt$parameter, " p =", tt$p.value, "\n")
ow <- oneway.test(x1 ~ factor(ageyr), data = HS); cat("welch F =", ow$statistic, " df1 =", ow$parameter[1],
  " df2 =", ow$parameter[2], " p =", ow$p.value, "\n")

cat("\n## Moderation: x9 ~ x1c * x4c (mean-centred), simple slopes of x1 at x4c = -1SD, 0, +1SD, Johnson-Neyman\n")
d <- data.frame(y = HS$x9, x = HS$x1 - mean(HS$x1), w = HS$x4 - mean(HS$x4))
m <- lm(y ~ x * w, data = d); print(coef(summary(m))); V <- vcov(m); b <- coef(m)
sdw <- sd(d$w); tc <- qt(0.975, df.residual(m))
for (w in c(-sdw, 0, sdw)) {
  s <- b["x"] + b["x:w"] * w; se <- sqrt(V["x", "x"] + w^2 * V["x:w", "x:w"] + 2 * w * V["x", "x:w"])
  cat("w =", w, " slope =", s, " se =", se, " t =", s / se, " p =", 2 * pt(-abs(s / se), df.residual(m)), "\n")
}
# (b1 + b3 w)^2 = tc^2 (V11 + w^2 V33 + 2 w V13): a quadratic in w
A <- b["x:w"]^2 - tc^2 * V["x:w", "x:w"]; B <- 2 * (b["x"] * b["x:w"] - tc^2 * V["x", "x:w"]); C <- b["x"]^2 - tc^2 * V["x", "x"]
cat("JN bounds (moderator, centred) =", sort((-B + c(-1, 1) * sqrt(B^2 - 4 * A * C)) / (2 * A)), "\n")
