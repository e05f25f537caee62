# Reference for jianfu.stats.descriptives: Games–Howell post hoc comparisons after Welch's ANOVA, η² with its
# noncentral-F confidence interval, ω², and the studentized range distribution they rest on.
# Debian R 4.2 with r-cran-rstatix 0.7.2 and r-cran-effectsize 0.8.3.
#
# Data: R's PlantGrowth (weight ~ group, 3 × 10) and Holzinger & Swineford (1939) from lavaan: x1 ~ ageyr
# (6 groups of 2 to 99 pupils: unequal n and variances, no effect) and x7 ~ school × grade (groups G7, G8, P7,
# P8 of 65–79 pupils, the pupil without a grade left out: a large effect, p-values down to 10⁻¹¹).
#   gh ....... Games–Howell by formula for every pair (group order of the factor levels): diff = mean1 − mean2,
#              se = √(v1/n1 + v2/n2), t = diff/se, Welch df, p = ptukey(√2·|t|, k, df, lower.tail = FALSE),
#              ci = diff ∓ qtukey(.95, k, df)/√2 · se. Checked here against rstatix::games_howell_test (which
#              reports mean2 − mean1, se/√2, and p to 3 decimals).
#   eta2 ..... classic one-way F from aov(); eta2 = SS_b/SS_t; omega2 = (SS_b − df1·MS_w)/(SS_t + MS_w);
#              ncp_low/ncp_high = λ solving pf(F, df1, df2, ncp = λ) = .975 / .025 by uniroot (0 when F is below
#              that central-F point); ci_low/ci_high = λ/(λ + N) (Steiger, 2004, as MBESS::ci.pvaf);
#              effectsize_* = effectsize::eta_squared(aov, ci = .95, alternative = "two.sided") (its λ bounds
#              mapped by λ/(λ + df2)) and effectsize::omega_squared's point estimate.
#   ptukey ... ptukey(q, k, df, lower.tail = FALSE) and qtukey(p, k, df) at a grid (names q_k_df), where R's
#              algorithm is accurate (10 ≤ df ≤ 5000).
# Run: Rscript tests/reference/posthoc_reference.R > tests/reference/posthoc_reference.txt
# Output lines: <kind> <name> key value [key value ...]
suppressPackageStartupMessages({library(rstatix); library(effectsize); library(lavaan)})
line <- function(kind, name, values) {
  cat(kind, name, paste(names(values), sprintf("%.12g", unlist(values)), collapse = " "), "\n")
}
cat("# R", R.version.string, "| rstatix", as.character(packageVersion("rstatix")), "| effectsize",
    as.character(packageVersion("effectsize")), "\n")

HS <- HolzingerSwineford1939
HS$ageyr <- factor(HS$ageyr)
HS$sg <- paste0(substr(HS$school, 1, 1), HS$grade)
sets <- list(plantgrowth = list(PlantGrowth, "weight", "group"), hs1939 = list(HS, "x1", "ageyr"),
             hs1939_sg = list(HS[!is.na(HS$grade), ], "x7", "sg"))
for (name in names(sets)) {
  d <- sets[[name]][[1]]; y <- sets[[name]][[2]]; g <- sets[[name]][[3]]
  d[[g]] <- factor(d[[g]])
  lv <- levels(d[[g]]); k <- length(lv)
  m <- tapply(d[[y]], d[[g]], mean); v <- tapply(d[[y]], d[[g]], var); n <- tapply(d[[y]], d[[g]], length)
  rs <- as.data.frame(games_howell_test(d, as.formula(paste(y, "~", g)), detailed = TRUE))
  for (a in 1:(k - 1)) for (b in (a + 1):k) {
    u1 <- v[a] / n[a]; u2 <- v[b] / n[b]
    diff <- m[a] - m[b]; se <- sqrt(u1 + u2); t <- diff / se
    df <- (u1 + u2)^2 / (u1^2 / (n[a] - 1) + u2^2 / (n[b] - 1))
    p <- ptukey(sqrt(2) * abs(t), k, df, lower.tail = FALSE)
    half <- qtukey(0.95, k, df) / sqrt(2) * se
    r <- rs[rs$group1 == lv[a] & rs$group2 == lv[b], ]
    stopifnot(abs(r$estimate + diff) < 1e-9, abs(r$df - df) < 1e-6, abs(r$p.adj - p) <= 5e-4,
              abs(r$conf.low + diff + half) < 1e-6, abs(r$se - se / sqrt(2)) < 1e-9)
    line("gh", paste(name, lv[a], lv[b], sep = "/"),
         list(diff = diff, se = se, t = t, df = df, p = p, ci_low = diff - half, ci_high = diff + half))
  }
  fit <- aov(as.formula(paste(y, "~", g)), data = d)
  tab <- summary(fit)[[1]]
  f <- tab[1, "F value"]; df1 <- tab[1, "Df"]; df2 <- tab[2, "Df"]; N <- nrow(d)
  ss_b <- tab[1, "Sum Sq"]; ss_w <- tab[2, "Sum Sq"]
  ncp <- function(target) {
    if (pf(f, df1, df2) <= target) return(0)
    uniroot(function(l) pf(f, df1, df2, ncp = l) - target, c(0, 10 * f * df1 + 100), tol = 1e-12)$root
  }
  lo <- ncp(0.975); hi <- ncp(0.025)
  es <- eta_squared(fit, ci = 0.95, alternative = "two.sided", verbose = FALSE)
  line("eta2", name, list(
    n = N, f = f, df1 = df1, df2 = df2, eta2 = ss_b / (ss_b + ss_w),
    omega2 = (ss_b - df1 * ss_w / df2) / (ss_b + ss_w + ss_w / df2),
    ncp_low = lo, ncp_high = hi, ci_low = lo / (lo + N), ci_high = hi / (hi + N),
    effectsize_eta2 = es$Eta2, effectsize_low = es$CI_low, effectsize_high = es$CI_high,
    effectsize_omega2 = omega_squared(fit, ci = NULL, verbose = FALSE)$Omega2))
}

for (q in c(0.5, 2, 3.5, 5)) for (k in c(2, 3, 6, 12)) for (df in c(10, 17.3, 100, 4999.5)) {
  line("ptukey", paste(q, k, df, sep = "_"), list(q = q, k = k, df = df, sf = ptukey(q, k, df, lower.tail = FALSE)))
}
for (p in c(0.9, 0.95, 0.99)) for (k in c(2, 3, 6, 12)) for (df in c(10, 17.3, 100, 4999.5)) {
  line("qtukey", paste(p, k, df, sep = "_"), list(p = p, k = k, df = df, q = qtukey(p, k, df)))
}
