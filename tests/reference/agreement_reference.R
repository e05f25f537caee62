# ICC(1), ICC(2) and r_wg(j) from R's multilevel package (Bliese), the reference for jianfu.stats.agreement.
# Data: multilevel::lq2002 (Bliese's leadership climate data: 2042 soldiers in 49 companies), the
# 11 leadership items LEAD01..LEAD11 (5 options) and their mean, grouped by company (COMPID).
# Run: Rscript tests/reference/agreement_reference.R > tests/reference/agreement_reference.txt
suppressPackageStartupMessages(library(multilevel))
data(lq2002)
items <- paste0("LEAD", sprintf("%02d", 1:11))
d <- lq2002[, c("COMPID", items)]
write.csv(d, "tests/reference/agreement_lq2002.csv", row.names = FALSE)
score <- rowMeans(d[, items])
fit <- aov(score ~ as.factor(d$COMPID))
cat(sprintf("ICC1 %.10f\n", ICC1(fit)))
cat(sprintf("ICC2 %.10f\n", ICC2(fit)))
r <- rwg.j(d[, items], d$COMPID, ranvar = (5^2 - 1) / 12)
cat(sprintf("RWGJ_MEAN %.10f\n", mean(r$rwg.j)))
cat(sprintf("RWGJ_MEDIAN %.10f\n", median(r$rwg.j)))
for (i in seq_len(nrow(r))) cat(sprintf("RWGJ %s %.10f %d\n", r$grpid[i], r$rwg.j[i], r$gsize[i]))
