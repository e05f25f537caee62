# Reference for jianfu.stats.multiplicity, in base R only (effectsize / MBESS are not installed):
#   adjusted p ..... stats::p.adjust(p, "holm") and p.adjust(p, "BH") on a fixed vector with NA and ties;
#   Hedges' g ...... g = J(ν)·d, d = (mean(x) − mean(y)) / s_pooled, J(ν) = Γ(ν/2) / (√(ν/2) Γ((ν − 1)/2)),
#                    ν = n₁ + n₂ − 2 (Hedges, 1981); CI: the noncentrality λ solving
#                    pt(t, ν, λ) = 0.975 and 0.025 with t = d·√(n₁n₂/(n₁+n₂)), mapped back by the same
#                    scale and J (Steiger & Fouladi, 1997; as effectsize::hedges_g);
#   η², ω² ......... one-way table from aov(): η² = SS_b / (SS_b + SS_w);
#                    ω² = (SS_b − df_b·MS_w) / (SS_b + SS_w + MS_w), 0 if negative (Hays, 1963);
#                    CI: λ solving pf(F, df_b, df_w, λ) = 0.975 and 0.025 (0 if pf(F, df_b, df_w) is
#                    already below), mapped by λ / (λ + N), N = df_b + df_w + 1 (Steiger, 2004; MBESS::ci.pvaf).
# Data: mtcars (mpg by am), ToothGrowth (len by supp), PlantGrowth (weight by group), InsectSprays
# (count by spray), written to multiplicity_data.csv; plus a small "doc" pair used in the docstring and a
# table with F < 1.
# Run: Rscript tests/reference/multiplicity_reference.R > tests/reference/multiplicity_reference.txt
# Output lines: <statistic> <case> key value [key value ...]
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))

p <- c(0.01, 0.04, NA, 0.03, 0.005, 0.2, 0.04, 0.8, NA, 0.049, 0.0001, 0.5)
cat("padjust input", sprintf("%.12g", p), "\n")
cat("padjust holm", sprintf("%.12g", p.adjust(p, "holm")), "\n")
cat("padjust BH", sprintf("%.12g", p.adjust(p, "BH")), "\n")

data <- rbind(
  data.frame(dataset = "mtcars", group = ifelse(mtcars$am == 0, "automatic", "manual"), value = mtcars$mpg),
  data.frame(dataset = "ToothGrowth", group = as.character(ToothGrowth$supp), value = ToothGrowth$len),
  data.frame(dataset = "PlantGrowth", group = as.character(PlantGrowth$group), value = PlantGrowth$weight),
  data.frame(dataset = "InsectSprays", group = as.character(InsectSprays$spray), value = InsectSprays$count),
  data.frame(dataset = "doc", group = rep(c("x", "y"), c(5, 6)),
             value = c(5.1, 4.9, 6.2, 5.8, 6.0, 4.2, 4.8, 5.0, 4.4, 5.3, 4.6))
)
write.csv(data, file.path(here, "multiplicity_data.csv"), row.names = FALSE)

hedges <- function(x, y, level = 0.95) {
  n1 <- length(x); n2 <- length(y); nu <- n1 + n2 - 2
  s <- sqrt(((n1 - 1) * var(x) + (n2 - 1) * var(y)) / nu)
  d <- (mean(x) - mean(y)) / s
  J <- exp(lgamma(nu / 2) - lgamma((nu - 1) / 2)) / sqrt(nu / 2)
  scale <- sqrt(n1 * n2 / (n1 + n2)); t <- d * scale; a <- 1 - level
  # pt() warns about its precision where it is within 1e-10 of 1: at the far end of the bracket, not at the root.
  ncp <- function(target) {
    suppressWarnings(uniroot(function(l) pt(t, nu, l) - target, c(t - 10, t + 10), tol = 1e-13)$root)
  }
  c(d = d, J = J, g = J * d, low = J * ncp(1 - a / 2) / scale, high = J * ncp(a / 2) / scale)
}
two <- list(mtcars = c("automatic", "manual"), ToothGrowth = c("OJ", "VC"), doc = c("x", "y"))
for (nm in names(two)) {
  d <- data[data$dataset == nm, ]
  r <- hedges(d$value[d$group == two[[nm]][1]], d$value[d$group == two[[nm]][2]])
  cat(sprintf("hedges %s x %s y %s d %.12g J %.12g g %.12g ci_low %.12g ci_high %.12g\n", nm, two[[nm]][1],
              two[[nm]][2], r["d"], r["J"], r["g"], r["low"], r["high"]))
}

pve <- function(ss_b, ss_w, df_b, df_w, level = 0.95) {
  F <- (ss_b / df_b) / (ss_w / df_w); a <- 1 - level; N <- df_b + df_w + 1
  ncp <- function(target) {
    if (pf(F, df_b, df_w) <= target) return(0)
    hi <- max(df_b * max(F, 1), 1); while (pf(F, df_b, df_w, hi) > target) hi <- hi * 2
    uniroot(function(l) pf(F, df_b, df_w, l) - target, c(0, hi), tol = 1e-13)$root
  }
  lo <- ncp(1 - a / 2); up <- ncp(a / 2)
  ms_w <- ss_w / df_w
  c(F = F, p = pf(F, df_b, df_w, lower.tail = FALSE), eta2 = ss_b / (ss_b + ss_w),
    omega2 = max(0, (ss_b - df_b * ms_w) / (ss_b + ss_w + ms_w)), low = lo / (lo + N), high = up / (up + N))
}
for (nm in c("PlantGrowth", "InsectSprays")) {
  d <- data[data$dataset == nm, ]
  tab <- summary(aov(value ~ factor(group), data = d))[[1]]
  r <- pve(tab[1, "Sum Sq"], tab[2, "Sum Sq"], tab[1, "Df"], tab[2, "Df"])
  cat(sprintf("anova %s ss_effect %.12g ss_error %.12g df_effect %d df_error %d F %.12g p %.12g\n", nm,
              tab[1, "Sum Sq"], tab[2, "Sum Sq"], tab[1, "Df"], tab[2, "Df"], tab[1, "F value"], tab[1, "Pr(>F)"]))
  cat(sprintf("pve %s eta2 %.12g omega2 %.12g ci_low %.12g ci_high %.12g\n", nm, r["eta2"], r["omega2"],
              r["low"], r["high"]))
}
# A table with F < 1: ω² would be negative (reported as 0) and the lower limit is 0.
r <- pve(2, 100, 2, 27)
cat(sprintf("pve small_F eta2 %.12g omega2 %.12g ci_low %.12g ci_high %.12g F %.12g\n", r["eta2"], r["omega2"],
            r["low"], r["high"], r["F"]))
