# Reference for jianfu.stats.fiml: a CFA by full-information ML on incomplete rows, as lavaan's
#   cfa(model, data, missing = "ml")
# (casewise likelihood, intercepts free, observed information from the Hessian; chi-square against the
# EM-estimated saturated model, the independence baseline fitted by FIML as well).
# Data: Holzinger & Swineford (1939), N = 301, as shipped with lavaan, with missing values injected with a
# fixed seed: each of x1–x9 missing completely at random with probability 0.08, x9 further missing at random
# (probability 0.3) when x7 is observed and above its median, and row 5 missing on every item (lavaan
# drops that row, so n = 300). The data are written next to this script with 15 significant digits and the
# model is fitted to the data as read back, so Python and R see the same numbers.
# Run: Rscript tests/reference/fiml_reference.R > tests/reference/fiml_reference.txt
# Output lines: <kind> <name> key value [key value ...]
suppressMessages(library(lavaan))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
items <- paste0("x", 1:9)
HS <- HolzingerSwineford1939[, c("id", items)]
set.seed(20150)
for (v in items) HS[runif(nrow(HS)) < 0.08, v] <- NA
mar <- !is.na(HS$x7) & HS$x7 > median(HolzingerSwineford1939$x7) & runif(nrow(HS)) < 0.3
HS$x9[mar] <- NA
HS[5, items] <- NA
write.csv(HS, file.path(here, "fiml_hs1939_missing.csv"), row.names = FALSE, na = "")
HS <- read.csv(file.path(here, "fiml_hs1939_missing.csv"))

line <- function(kind, name, values) {
  cat(kind, name, paste(names(values), sprintf("%.12g", unlist(values)), collapse = " "), "\n")
}
cat("# R", R.version.string, "| lavaan", as.character(packageVersion("lavaan")), "\n")
line("data", "missing", c(rows = nrow(HS), cells_missing = sum(is.na(HS[, items])),
                          complete_rows = sum(complete.cases(HS[, items]))))

model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
fit <- suppressWarnings(cfa(model, data = HS, missing = "ml"))
fm <- fitMeasures(fit, c("ntotal", "npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
                         "rmsea.ci.upper", "srmr", "baseline.chisq", "baseline.df", "logl", "unrestricted.logl"))
line("fit", "measures", as.list(unclass(fm)))

pe <- parameterEstimates(fit)
ss <- standardizedSolution(fit)
for (i in seq_len(nrow(pe))) {
  line("param", paste0(pe$lhs[i], pe$op[i], pe$rhs[i]),
       list(est = pe$est[i], se = pe$se[i], std = ss$est.std[i], std_se = ss$se[i]))
}

cat("# EM (saturated) moments, as lavaan's h1 model\n")
h1 <- lavInspect(fit, "sampstat.h1")
line("h1", "mean", setNames(as.list(h1$mean), items))
line("h1", "var", setNames(as.list(diag(h1$cov)), items))
