# Reference for jianfu.stats.method_bias: common-method variance beyond Harman's test, and a second-order factor.
# Data: psych's `bfi` (25 six-point personality items), read from ordinal_data.csv (written by
# ordinal_reference.R, so Python and R see the same numbers), complete cases only (n = 2436), reverse-keyed items
# (bfi.keys: A1, C4, C5, E1, E2, O2, O5) recoded 7 - x. Every model is lavaan's cfa(model, data), ML with
# likelihood "normal" (chi-square = N F), expected information, first loading of each trait fixed to 1.
#   trait .......... the five correlated trait factors (agree, consc, extra, neuro, open);
#   ulmc ........... trait + one method factor on all 25 items: loadings free, variance fixed to 1, orthogonal to
#                    the traits (Podsakoff et al., 2003; Williams, Cote & Buckley, 1989);
#   reverse ........ trait + a method factor on the 7 reverse-keyed items only, identified the same way;
#   *_equal ........ the same two method models with equal method loadings (Williams, Hartman & Cavazotte's
#                    2010 "Method-C"; lavaan: method =~ NA*x1 + m*x1 + m*x2 + ...);
#   second_order ... the five traits load on one second-order factor g (first loading 1, g's variance free,
#                    disturbances uncorrelated);
#   second_order4 .. agree, consc, extra and open under g; neuro stays first-order and correlates with g
#                    (lavaan's default: exogenous latents covary).
# On lavaan's HolzingerSwineford1939 the ULMC is improper (the visual factor's variance is negative), so bfi is used.
# Marker adjustment (Lindell & Whitney, 2001), computed here by hand: scale scores are item means of the keyed
# items, `open` plays the marker, r_M is the smallest (and the second smallest) positive correlation of the marker
# with the other four scales, r_A = (r - r_M) / (1 - r_M), t = r_A / sqrt((1 - r_A^2) / (n - 3)), two-sided p.
# Run: Rscript tests/reference/method_bias_reference.R > tests/reference/method_bias_reference.txt
# Output lines: <kind> <name> key value [key value ...]; parameter names are lavaan's lhs, op, rhs run together.
suppressMessages(library(lavaan))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
raw <- read.csv(file.path(here, "ordinal_data.csv"))
d <- raw[complete.cases(raw), ]
reverse <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
d[reverse] <- 7 - d[reverse]

line <- function(kind, name, values) {
  cat(kind, name, paste(names(values), sprintf("%.12g", unlist(values)), collapse = " "), "\n")
}
cat("# R", R.version.string, "| lavaan", as.character(packageVersion("lavaan")), "\n")
line("data", "bfi", list(rows = nrow(raw), complete = nrow(d)))

traits <- list(agree = paste0("A", 1:5), consc = paste0("C", 1:5), extra = paste0("E", 1:5),
               neuro = paste0("N", 1:5), open = paste0("O", 1:5))
trait <- paste(sprintf("%s =~ %s", names(traits), sapply(traits, paste, collapse = " + ")), collapse = "\n")
method_factor <- function(name, items, equal = FALSE) {
  loads <- if (equal) paste0("NA*", items[1], " + ", paste0("m*", items, collapse = " + ")) else
    paste0("NA*", paste(items, collapse = " + "))
  paste0(trait, "\n", name, " =~ ", loads, "\n", name, " ~~ 1*", name, "\n",
         name, " ~~ ", paste0("0*", names(traits), collapse = " + "))
}
models <- list(
  trait = trait,
  ulmc = method_factor("method", unlist(traits)),
  reverse = method_factor("method", reverse),
  ulmc_equal = method_factor("method", unlist(traits), equal = TRUE),
  reverse_equal = method_factor("method", reverse, equal = TRUE),
  second_order = paste0(trait, "\ng =~ agree + consc + extra + neuro + open"),
  second_order4 = paste0(trait, "\ng =~ agree + consc + extra + open")
)
measures <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr")
fits <- lapply(models, function(m) cfa(m, data = d))
for (name in names(fits)) {
  fit <- fits[[name]]
  line("fit", name, c(as.list(unclass(fitMeasures(fit, measures))), converged = lavInspect(fit, "converged")))
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  for (i in seq_len(nrow(pe))) {
    line("param", paste0(name, ":", pe$lhs[i], pe$op[i], pe$rhs[i]), list(est = pe$est[i], se = pe$se[i],
                                                                          std = ss$est.std[i]))
  }
}
cat("# method share: mean squared standardised method loading over the items the method factor loads on\n")
for (name in c("ulmc", "reverse", "ulmc_equal", "reverse_equal")) {
  ss <- standardizedSolution(fits[[name]])
  lam <- ss$est.std[ss$lhs == "method" & ss$op == "=~"]
  line("share", name, list(method = mean(lam^2), items = length(lam)))
}
cat("# Marsh & Hocevar (1985) target coefficient: chi-square(first order) / chi-square(second order)\n")
for (name in c("second_order", "second_order4")) {
  line("target", name, list(t = fitMeasures(fits$trait, "chisq") / fitMeasures(fits[[name]], "chisq")))
}
for (name in c("ulmc", "reverse", "ulmc_equal", "reverse_equal")) {
  lrt <- anova(fits[[name]], fits$trait)
  line("lrt", name, list(dchisq = lrt[2, "Chisq diff"], ddf = lrt[2, "Df diff"], p = lrt[2, "Pr(>Chisq)"]))
}

cat("# marker adjustment by hand (Lindell & Whitney, 2001), open as the marker\n")
scores <- sapply(traits, function(items) rowMeans(d[items]))
r <- cor(scores)
n <- nrow(scores)
substantive <- setdiff(names(traits), "open")
with_marker <- sort(r["open", substantive][r["open", substantive] > 0])
line("marker", "open", c(as.list(r["open", substantive]), n = n))
for (choice in c("smallest", "second_smallest")) {
  r_m <- if (choice == "smallest") with_marker[1] else with_marker[2]
  line("r_m", choice, list(r_m = unname(r_m)))
  for (a in seq_along(substantive)) for (b in seq_along(substantive)) if (a < b) {
    r_u <- r[substantive[a], substantive[b]]
    r_a <- (r_u - r_m) / (1 - r_m)
    t <- r_a / sqrt((1 - r_a^2) / (n - 3))
    line("adjusted", paste0(choice, ":", substantive[a], "~", substantive[b]),
         list(r = r_u, r_adjusted = unname(r_a), t = unname(t), p = unname(2 * pt(-abs(t), n - 3))))
  }
}
