# Reference values for jianfu.stats.multilevel group-mean centring (within / between / contextual effects).
# High School and Beyond (nlme::MathAchieve; Raudenbush & Bryk 2002, ch. 5): math achievement of 7,185 pupils
# in 160 schools on SES and sex, each split into its school mean and the deviation from it; REML (lme4).
# Run from the repository root:
#   Rscript tests/reference/multilevel_centring_reference.R > tests/reference/multilevel_centring_reference.txt
suppressMessages(library(lme4))
d <- nlme::MathAchieve
d <- data.frame(school = as.character(d$School), ses = round(d$SES, 3), female = as.integer(d$Sex == "Female"),
                mathach = round(d$MathAch, 3))
write.csv(d, "tests/reference/multilevel_hsb.csv", row.names = FALSE)
for (v in c("ses", "female")) {
  d[[paste0(v, "_between")]] <- ave(d[[v]], d$school)
  d[[paste0(v, "_within")]] <- d[[v]] - d[[paste0(v, "_between")]]
}
m <- lmer(mathach ~ ses_within + ses_between + female_within + female_between + (1 | school), data = d, REML = TRUE)
co <- summary(m)$coefficients
V <- as.matrix(vcov(m))
for (term in rownames(co)) {
  cat(sprintf("TERM %s b %.8f se %.8f\n", term, co[term, 1], co[term, 2]))
}
for (v in c("ses", "female")) {
  w <- paste0(v, "_within"); b <- paste0(v, "_between")
  est <- co[b, 1] - co[w, 1]
  se <- sqrt(V[b, b] + V[w, w] - 2 * V[b, w])
  cat(sprintf("CONTEXTUAL %s b %.8f se %.8f\n", v, est, se))
}
vc <- as.data.frame(VarCorr(m))
cat(sprintf("VAR model tau2 %.8f sigma2 %.8f n %d groups %d\n", vc$vcov[1], vc$vcov[2], nrow(d), length(unique(d$school))))
