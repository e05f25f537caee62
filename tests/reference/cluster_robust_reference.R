# Reference for jianfu.stats.cluster_robust: OLS with cluster-robust inference.
#   CR2 (Bell–McCaffrey) with Satterthwaite df ... clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite")
#   CR2 confidence intervals ..................... clubSandwich::conf_int(vcov = "CR2")
#   Satterthwaite df of a linear contrast ........ clubSandwich::linear_contrast(vcov = "CR2")
#   CR1 as Stata, G/(G−1)·(n−1)/(n−p) ............ sandwich::vcovCL(type = "HC1")
#   Multi-constraint Wald test, HTZ small-sample F  clubSandwich::Wald_test(vcov = "CR2", test = "HTZ")
#   Naive F(q, G − 1) with Stata's CR1 ........... clubSandwich::Wald_test(vcov = "CR1S", test = "Naive-F")
# Three designs:
#   petersen  sandwich::PetersenCL, all 5,000 rows in 500 firms (balanced, 10 years each);
#   small     its first 12 firms, unbalanced (firms 4, 8, 12 keep years 1–6 only): 108 rows;
#   mortality clubSandwich::MortalityRates as in the package vignette "panel-data-CRVE" (motor-vehicle
#             deaths 1970–1983, state and year fixed effects as dummies, 50 states): the cluster dummies
#             make I − Hⱼⱼ singular, so CR2 needs the generalised inverse square root.
# Data the tests need are written next to this script, rounded to 10 significant digits, and every
# model below is fitted to the data as read back, so Python and R see the same numbers.
# Run: Rscript tests/reference/cluster_robust_reference.R > tests/reference/cluster_robust_reference.txt
# Output lines: <design> <statistic> <term or hypothesis> key value [key value ...]
suppressMessages({library(sandwich); library(clubSandwich)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
roundtrip <- function(d, file) {
  num <- vapply(d, is.double, logical(1))
  d[num] <- lapply(d[num], signif, digits = 10)
  write.csv(d, file.path(here, file), row.names = FALSE)
  read.csv(file.path(here, file))
}

data("PetersenCL", package = "sandwich")
pet <- roundtrip(PetersenCL, "cluster_robust_petersen.csv")
pet$odd <- pet$year %% 2
pet$late <- as.numeric(pet$year > 5)
small <- subset(pet, firm <= 12 & !(firm %% 4 == 0 & year > 6))

data("MortalityRates", package = "clubSandwich")
mv <- subset(MortalityRates, cause == "Motor Vehicle" & year <= 1983 & !is.na(beertaxa))
mv <- roundtrip(mv[, c("state", "year", "mrate", "legal", "beertaxa")], "cluster_robust_mortality.csv")

report <- function(design, fit, cluster, coefs, hypotheses, contrast) {
  cat(sprintf("%s design n %d clusters %d p %d\n", design, nrow(model.matrix(fit)),
              length(unique(cluster)), length(coef(fit))))
  ct <- coef_test(fit, vcov = "CR2", cluster = cluster, test = "Satterthwaite", coefs = coefs)
  ci <- conf_int(fit, vcov = "CR2", cluster = cluster, level = 0.95, coefs = coefs)
  for (i in seq_len(nrow(ct))) {
    cat(sprintf("%s CR2 %s beta %.12g se %.12g df %.12g t %.12g p %.12g ci_low %.12g ci_high %.12g\n",
                design, ct$Coef[i], ct$beta[i], ct$SE[i], ct$df_Satt[i], ct$tstat[i], ct$p_Satt[i],
                ci$CI_L[i], ci$CI_U[i]))
  }
  v1 <- vcovCL(fit, cluster = cluster, type = "HC1")
  for (nm in coefs) cat(sprintf("%s CR1 %s se %.12g\n", design, nm, sqrt(v1[nm, nm])))
  lc <- linear_contrast(fit, vcov = "CR2", cluster = cluster, contrasts = contrast)
  cat(sprintf("%s contrast %s est %.12g se %.12g df %.12g\n", design, rownames(contrast)[1], lc$Est[1],
              lc$SE[1], lc$df[1]))
  for (h in names(hypotheses)) {
    w <- Wald_test(fit, constraints = constrain_zero(hypotheses[[h]]), vcov = "CR2", cluster = cluster,
                   test = "HTZ")
    cat(sprintf("%s HTZ %s F %.12g delta %.12g df_num %d df_denom %.12g p %.12g\n", design, h, w$Fstat,
                w$delta, w$df_num, w$df_denom, w$p_val))
    w1 <- Wald_test(fit, constraints = constrain_zero(hypotheses[[h]]), vcov = "CR1S", cluster = cluster,
                    test = "Naive-F")
    cat(sprintf("%s NaiveF %s F %.12g df_num %d df_denom %.12g p %.12g\n", design, h, w1$Fstat,
                w1$df_num, w1$df_denom, w1$p_val))
  }
}

contrast_x_odd <- matrix(c(0, 1, -1, 0), nrow = 1, dimnames = list("x-odd", NULL))
fit_pet <- lm(y ~ x + odd + late, data = pet)
report("petersen", fit_pet, pet$firm, c("(Intercept)", "x", "odd", "late"),
       list("odd+late" = c("odd", "late"), "x+odd+late" = c("x", "odd", "late")), contrast_x_odd)
fit_small <- lm(y ~ x + odd + late, data = small)
report("small", fit_small, small$firm, c("(Intercept)", "x", "odd", "late"),
       list("odd+late" = c("odd", "late"), "x+odd+late" = c("x", "odd", "late")), contrast_x_odd)
# The full CR2 matrix of the small design (lower triangle), to check covariances as well as SEs.
vs <- vcovCR(fit_small, cluster = small$firm, type = "CR2")
for (i in 1:4) for (j in 1:i) cat(sprintf("small vcov %d,%d value %.12g\n", i - 1, j - 1, vs[i, j]))

fit_mv <- lm(mrate ~ 0 + legal + beertaxa + factor(state) + factor(year), data = mv)
contrast_mv <- matrix(c(1, -1, rep(0, length(coef(fit_mv)) - 2)), nrow = 1, dimnames = list("legal-beertaxa", NULL))
report("mortality", fit_mv, mv$state, c("legal", "beertaxa"), list("legal+beertaxa" = c("legal", "beertaxa")),
       contrast_mv)
