# Reference for jianfu.moderated_mediation (PROCESS models 7 and 14): point estimates of the paths,
# the index of moderated mediation and the conditional indirect effects from lavaan (ML on a
# recursive path model equals equation-by-equation OLS), with delta-method SEs for comparison.
# Model 14's lavaan SEs are not used: lavaan treats mw = m·w as a fixed exogenous variable although it
# contains the endogenous m, so only its point estimates (= OLS) are a reference.
# Data simulated here (seeded) and written to moderated_mediation_data.csv.
# Run: Rscript tests/reference/moderated_mediation_reference.R > tests/reference/moderated_mediation_reference.txt
suppressMessages(library(lavaan))
set.seed(20241123)
n <- 300
x <- rnorm(n); w <- rnorm(n, 3, 1); cv <- rbinom(n, 1, 0.4)
m <- 0.2 + 0.5 * x + 0.1 * w + 0.25 * x * w + 0.3 * cv + rnorm(n)
y <- 0.1 + 0.2 * x + 0.4 * m + 0.15 * w + 0.2 * m * w - 0.2 * cv + rnorm(n)
d <- data.frame(x = round(x, 4), w = round(w, 4), cv = cv, m = round(m, 4), y = round(y, 4))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
write.csv(d, file.path(here, "moderated_mediation_data.csv"), row.names = FALSE)
d$xw <- d$x * d$w; d$mw <- d$m * d$w
mw <- mean(d$w); sw <- sd(d$w)
cat(sprintf("w_mean %.10f\nw_sd %.10f\n", mw, sw))

m7 <- sprintf('
  m ~ a1*x + a2*w + a3*xw + cv
  y ~ cp*x + b*m + cv
  index := a3*b
  lo := (a1 + a3*%.10f)*b
  mid := (a1 + a3*%.10f)*b
  hi := (a1 + a3*%.10f)*b', mw - sw, mw, mw + sw)
f7 <- sem(m7, data = d)
pe <- parameterEstimates(f7)
cat("model 7\n")
for (lab in c("a1", "a2", "a3", "b", "cp", "index", "lo", "mid", "hi")) {
  r <- pe[pe$label == lab, ][1, ]
  cat(sprintf("%s est %.10f se %.10f\n", lab, r$est, r$se))
}
m14 <- sprintf('
  m ~ a*x + cv
  y ~ cp*x + b1*m + b2*w + b3*mw + cv
  index := a*b3
  lo := a*(b1 + b3*%.10f)
  mid := a*(b1 + b3*%.10f)
  hi := a*(b1 + b3*%.10f)', mw - sw, mw, mw + sw)
f14 <- sem(m14, data = d)
pe <- parameterEstimates(f14)
cat("model 14\n")
for (lab in c("a", "b1", "b2", "b3", "cp", "index", "lo", "mid", "hi")) {
  r <- pe[pe$label == lab, ][1, ]
  cat(sprintf("%s est %.10f se %.10f\n", lab, r$est, r$se))
}
