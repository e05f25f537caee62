# Reference values for jianfu.stats.partial_overlap (Derrick et al. 2017, partially overlapping t-test).
# Limiting cases against R's own t.test; the general case by the published formula, written out here
# independently of the Python code. Run: Rscript tests/reference/partial_overlap_reference.R > tests/reference/partial_overlap_reference.txt
x1 <- sleep$extra[sleep$group == 1]
x2 <- sleep$extra[sleep$group == 2]
p <- t.test(x1, x2, paired = TRUE)
cat(sprintf("TEST paired t %.10f df %.10f p %.10f lo %.10f hi %.10f\n", p$statistic, p$parameter, p$p.value, p$conf.int[1], p$conf.int[2]))
w <- t.test(x1, x2, paired = FALSE, var.equal = FALSE)
cat(sprintf("TEST welch t %.10f df %.10f p %.10f lo %.10f hi %.10f\n", w$statistic, w$parameter, w$p.value, w$conf.int[1], w$conf.int[2]))
# Partially overlapping: patients 1-6 in both, 7-10 only under drug 1; drug 2 adds four others.
a <- c(x1[1:6], x1[7:10]); b <- c(x2[1:6], c(2.1, -0.4, 1.3, 3.0))
n1 <- length(a); n2 <- length(b); nc <- 6; na <- n1 - nc; nb <- n2 - nc
r <- cor(x1[1:6], x2[1:6]); s1 <- sd(a); s2 <- sd(b)
se <- sqrt(s1^2 / n1 + s2^2 / n2 - 2 * r * s1 * s2 * nc / (n1 * n2))
gam <- (s1^2 / n1 + s2^2 / n2)^2 / ((s1^2 / n1)^2 / (n1 - 1) + (s2^2 / n2)^2 / (n2 - 1))
df <- (nc - 1) + ((gam - nc + 1) / (na + nb + 2 * nc)) * (na + nb)
t <- (mean(a) - mean(b)) / se
cat(sprintf("TEST overlap t %.10f df %.10f p %.10f r %.10f\n", t, df, 2 * pt(-abs(t), df), r))
