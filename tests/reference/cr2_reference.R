# Reference for jianfu.stats.cr2: CR2 (Bell–McCaffrey) cluster-robust standard errors with
# Satterthwaite degrees of freedom (clubSandwich::coef_test), CR1 as Stata (sandwich::vcovCL),
# on an unbalanced subset of sandwich::PetersenCL (15 firms; the data written next to this file).
# Run: Rscript tests/reference/cr2_reference.R > tests/reference/cr2_reference.txt
suppressMessages({library(sandwich); library(clubSandwich)})
data("PetersenCL", package = "sandwich")
d <- subset(PetersenCL, firm <= 15 & !(firm %% 3 == 0 & year > 6))
d$odd <- d$year %% 2
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
write.csv(d[, c("firm", "year", "x", "y", "odd")], file.path(here, "cr2_data.csv"), row.names = FALSE)
fit <- lm(y ~ x + odd, data = d)
cat(sprintf("n %d clusters %d\n", nrow(d), length(unique(d$firm))))
ct <- coef_test(fit, vcov = "CR2", cluster = d$firm, test = "Satterthwaite")
for (i in seq_len(nrow(ct))) {
  cat(sprintf("CR2 %s beta %.10f se %.10f df %.10f p %.10f\n", ct$Coef[i], ct$beta[i], ct$SE[i], ct$df_Satt[i], ct$p_Satt[i]))
}
v1 <- vcovCL(fit, cluster = ~firm, type = "HC1")
for (i in seq_along(coef(fit))) cat(sprintf("CR1 %s se %.10f\n", names(coef(fit))[i], sqrt(v1[i, i])))
ci <- conf_int(fit, vcov = "CR2", cluster = d$firm, level = 0.95)
for (i in seq_len(nrow(ci))) cat(sprintf("CI %s low %.10f high %.10f\n", ci$Coef[i], ci$CI_L[i], ci$CI_U[i]))
