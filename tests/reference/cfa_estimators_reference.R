# Reference for jianfu.stats.robust_cfa (MLR) and jianfu.stats.wlsmv (WLSMV): lavaan's robust CFA estimators on
# psych's `bfi` (25 six-point personality items, 2800 respondents, items missing at random), read from
# ordinal_data.csv (written by ordinal_reference.R; the same bfi[, 1:25]). Rows with any missing item of the model
# are dropped (listwise, lavaan's default for both estimators). Two models, items as they are (A1, C4, C5 are
# reverse-worded and load negatively):
#   two .... A =~ A1 + … + A5; C =~ C1 + … + C5 (2632 complete rows);
#   five ... the Big Five, A, C, E, N, O with five items each (2436 complete rows);
#   mixed .. WLSMV only: the two-factor model with A1 dichotomised (A1 >= 4) and C2 collapsed to three
#            categories ((C2 + 1) %/% 2), so items with 2, 3 and 6 categories meet.
# Estimators:
#   MLR .... cfa(model, data, estimator = "MLR"): ML estimates, Huber–White sandwich SEs with the observed
#            information, Yuan–Bentler scaled χ² (test = "yuan.bentler.mplus"), scaled and robust CFI/TLI/RMSEA;
#   WLSMV .. cfa(model, data, ordered = TRUE, estimator = "WLSMV"): thresholds and polychoric correlations with
#            their asymptotic covariance (Muthén, 1984), DWLS, robust.sem SEs, scaled-and-shifted χ².
# Run: Rscript tests/reference/cfa_estimators_reference.R > tests/reference/cfa_estimators_reference.txt
# Output lines: <kind> <estimator>.<model>[:<parameter>] key value [key value ...]
#   data ... rows used; fit ... fitMeasures() (WLSMV: and the shift b of the scaled-and-shifted test); param ... parameterEstimates() est, se and standardizedSolution()
#   est.std, se (loadings and factor (co)variances); wls ... WLSMV only, the sample statistic of a correlation
#   (lavInspect "wls.obs") and the diagonal of its asymptotic covariance N·Γ (lavInspect "gamma").
suppressPackageStartupMessages(library(lavaan))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
bfi <- read.csv(file.path(here, "ordinal_data.csv"))

line <- function(kind, name, values) {
  cat(kind, name, paste(names(values), sprintf("%.12g", unlist(values)), collapse = " "), "\n")
}
cat("# R", R.version.string, "| lavaan", as.character(packageVersion("lavaan")), "\n")

models <- list(
  two = "A =~ A1 + A2 + A3 + A4 + A5\n C =~ C1 + C2 + C3 + C4 + C5",
  five = paste(sprintf("%s =~ %s", c("A", "C", "E", "N", "O"),
                       sapply(c("A", "C", "E", "N", "O"), function(f) paste0(f, 1:5, collapse = " + "))),
               collapse = "\n")
)
measures <- c("ntotal", "npar", "chisq", "df", "pvalue", "chisq.scaled", "pvalue.scaled", "chisq.scaling.factor",
              "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
              "baseline.chisq.scaling.factor", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
              "cfi.scaled", "tli.scaled", "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
              "cfi.robust", "tli.robust", "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "srmr")

for (m in names(models)) {
  for (est in c("MLR", "WLSMV")) {
    tag <- paste0(est, ".", m)
    fit <- if (est == "MLR") {
      cfa(models[[m]], data = bfi, estimator = "MLR")
    } else {
      cfa(models[[m]], data = bfi, ordered = TRUE, estimator = "WLSMV")
    }
    line("data", tag, list(rows = nrow(bfi), n = lavInspect(fit, "nobs")))
    fm <- fitMeasures(fit)
    fm <- as.list(unclass(fm[intersect(measures, names(fm))]))
    if (est == "WLSMV") fm$chisq.shift.parameter <- lavInspect(fit, "test")$scaled.shifted$shift.parameter
    line("fit", tag, fm)
    pe <- parameterEstimates(fit)
    ss <- standardizedSolution(fit)
    keep <- which(pe$op == "=~" | (pe$op == "~~" & pe$lhs %in% c("A", "C", "E", "N", "O")))
    for (i in keep) {
      line("param", paste0(tag, ":", pe$lhs[i], pe$op[i], pe$rhs[i]),
           list(est = pe$est[i], se = pe$se[i], std = ss$est.std[i], std_se = ss$se[i]))
    }
    if (est == "WLSMV" && m == "two") {
      obs <- lavInspect(fit, "wls.obs")
      gam <- diag(lavInspect(fit, "gamma"))
      ov <- lavNames(fit, "ov")
      p <- length(ov)
      nth <- length(obs) - p * (p - 1) / 2
      k <- nth
      for (j in 1:(p - 1)) for (i in (j + 1):p) {
        k <- k + 1
        line("wls", paste0(tag, ":", ov[i], "~~", ov[j]), list(obs = obs[k], gamma = gam[k]))
      }
    }
  }
}

mixed <- bfi
mixed$A1 <- as.integer(mixed$A1 >= 4)
mixed$C2 <- (mixed$C2 + 1) %/% 2
fit <- cfa(models$two, data = mixed, ordered = TRUE, estimator = "WLSMV")
tag <- "WLSMV.mixed"
line("data", tag, list(rows = nrow(mixed), n = lavInspect(fit, "nobs")))
fm <- fitMeasures(fit)
fm <- as.list(unclass(fm[intersect(measures, names(fm))]))
fm$chisq.shift.parameter <- lavInspect(fit, "test")$scaled.shifted$shift.parameter
line("fit", tag, fm)
pe <- parameterEstimates(fit)
ss <- standardizedSolution(fit)
for (i in which(pe$op == "=~" | (pe$op == "~~" & pe$lhs %in% c("A", "C")))) {
  line("param", paste0(tag, ":", pe$lhs[i], pe$op[i], pe$rhs[i]),
       list(est = pe$est[i], se = pe$se[i], std = ss$est.std[i], std_se = ss$se[i]))
}
