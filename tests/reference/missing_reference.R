# Reference for jianfu.stats.missing.
#
# 1. Little's (1988) MCAR test on R's `airquality` (153 days; Ozone and Solar.R incomplete, 4 patterns).
#    naniar::mcar_test is not in Debian; its algorithm (naniar R/mcar-test.R, adapted from BaylorEdPsych's
#    LittleMCAR) is reproduced below with the EM estimates of mu and Sigma taken from lavaan's h1 EM (the same
#    ML estimates that naniar takes from norm::em.norm), run to a tight tolerance. naniar's own test suite
#    (tests/testthat/test-mcar-test.R) publishes the value for this dataset:
#      statistic 35.1061288689702, df 14, p.value 0.00141778113856683, missing.patterns 4,
#    which this script reproduces (to norm's EM tolerance).
# 2. Rubin's rules with Barnard–Rubin degrees of freedom: mice::pool on lm(chl ~ age + bmi) fitted to m = 20
#    imputations of mice::nhanes (predictive mean matching, seed 20150). The imputed datasets are written
#    to missing_nhanes_imputed.csv (long format, column .imp) so that the Python test fits the same lm per
#    dataset and pools it itself.
# Run: Rscript tests/reference/missing_reference.R > tests/reference/missing_reference.txt
# Output lines: <kind> <name> key value [key value ...]
suppressMessages({library(lavaan); library(mice)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
line <- function(kind, name, values) {
  cat(kind, name, paste(names(values), sprintf("%.15g", unlist(values)), collapse = " "), "\n")
}
cat("# R", R.version.string, "| lavaan", as.character(packageVersion("lavaan")),
    "| mice", as.character(packageVersion("mice")), "\n")

# --- 1. Little's MCAR test ------------------------------------------------------------------------------------
aq <- airquality
write.csv(aq, file.path(here, "missing_airquality.csv"), row.names = FALSE, na = "")
data <- data.matrix(read.csv(file.path(here, "missing_airquality.csv")))
em <- lavaan:::lav_mvnorm_missing_h1_estimate_moments(Y = data, max.iter = 100000L, tol = 1e-13)
grand_mean <- em$Mu
grand_cov <- em$Sigma
line("em", "mean", setNames(as.list(grand_mean), colnames(data)))
line("em", "var", setNames(as.list(diag(grand_cov)), colnames(data)))
line("em", "cov_Ozone", setNames(as.list(grand_cov[1, ]), colnames(data)))

n_var <- ncol(data)
r <- 1 * is.na(data)
mdp <- as.vector(r %*% (2^((1:n_var - 1)))) + 1
d2 <- 0
kj_total <- 0
for (pattern in unique(mdp)) {
  rows <- data[mdp == pattern, , drop = FALSE]
  keep <- !is.na(colSums(rows))
  kj_total <- kj_total + sum(keep)
  if (sum(keep) == 0) next
  mu <- colMeans(rows)[keep] - grand_mean[keep]
  d2 <- d2 + nrow(rows) * as.numeric(t(mu) %*% solve(grand_cov[keep, keep, drop = FALSE]) %*% mu)
}
df <- kj_total - n_var
line("little", "airquality", list(statistic = d2, df = df, p = 1 - pchisq(d2, df),
                                  patterns = length(unique(mdp))))

# --- 2. mice::pool on nhanes ---------------------------------------------------------------------------------
imp <- mice(nhanes, m = 20, seed = 20150, printFlag = FALSE)
long <- complete(imp, action = "long")
write.csv(long[, c(".imp", ".id", "age", "bmi", "hyp", "chl")], file.path(here, "missing_nhanes_imputed.csv"),
          row.names = FALSE)
fit <- with(imp, lm(chl ~ age + bmi))
pooled <- pool(fit)
s <- summary(pooled, conf.int = TRUE)
for (i in seq_len(nrow(pooled$pooled))) {
  pr <- pooled$pooled[i, ]
  line("pool", as.character(pr$term),
       list(estimate = pr$estimate, ubar = pr$ubar, b = pr$b, t = pr$t, dfcom = pr$dfcom, df = pr$df,
            riv = pr$riv, lambda = pr$lambda, fmi = pr$fmi, se = s$std.error[i], statistic = s$statistic[i],
            p = s$p.value[i], ci_low = s[i, "2.5 %"], ci_high = s[i, "97.5 %"]))
}
