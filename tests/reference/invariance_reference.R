# Reference for jianfu.stats.invariance: the measurement-invariance ladder by multi-group CFA (ML),
# lavaan's tutorial example (HolzingerSwineford1939, three factors, group = "school"), plus the
# score tests for the scalar model's intercept constraints, a partial-scalar model and latent means.
# lavaan orders groups by first appearance in the data: Pasteur (n = 156), then Grant-White (145).
# The tests read the same table as shipped by semopy (hs1939_reference.txt checks the column means).
# Run: Rscript tests/reference/invariance_reference.R > tests/reference/invariance_reference.txt
suppressPackageStartupMessages(library(lavaan))
HS <- HolzingerSwineford1939
cat("R", R.version.string, "| lavaan", as.character(packageVersion("lavaan")), "\n")
cat("groups", paste(unique(HS$school), collapse = ","), "| n", table(HS$school)[unique(HS$school)], "\n")
model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "baseline.chisq", "baseline.df")
fits <- list(
  configural = cfa(model, data = HS, group = "school"),
  metric = cfa(model, data = HS, group = "school", group.equal = "loadings"),
  scalar = cfa(model, data = HS, group = "school", group.equal = c("loadings", "intercepts")),
  strict = cfa(model, data = HS, group = "school", group.equal = c("loadings", "intercepts", "residuals")),
  partial = cfa(model, data = HS, group = "school", group.equal = c("loadings", "intercepts"),
                group.partial = c("x3~1", "x7~1")),
  partial_x3 = cfa(model, data = HS, group = "school", group.equal = c("loadings", "intercepts"),
                   group.partial = "x3~1"),
  strict_partial = cfa(model, data = HS, group = "school", group.equal = c("loadings", "intercepts", "residuals"),
                       group.partial = c("x3~1", "x7~1")))
cat("\n## fit measures (lavaan: N_g in each group's chi-square, RMSEA with sqrt(G), srmr = Bentler's incl. means)\n")
for (step in names(fits)) {
  fm <- fitMeasures(fits[[step]], measures)
  cat("FIT", step, paste(sprintf("%s %.10f", names(fm), fm), collapse = " "), "\n")
}
cat("\n## likelihood-ratio tests between steps (lavTestLRT)\n")
lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar, fits$strict)
print(lrt)
for (i in 2:nrow(lrt)) cat(sprintf("LRT %s dchisq %.10f ddf %d p %.10f\n", rownames(lrt)[i],
                                   lrt[i, "Chisq diff"], lrt[i, "Df diff"], lrt[i, "Pr(>Chisq)"]))
cat("\n## univariate score tests of the scalar model's intercept constraints (lavTestScore, expected information)\n")
cat("(then for the model with x3's intercept freed, the next step of a partial-invariance search)\n")
for (step in c("scalar", "partial_x3")) {
  pt <- parTable(fits[[step]])
  st <- lavTestScore(fits[[step]])$uni
  for (i in seq_len(nrow(st))) {
    row <- pt[pt$plabel == st$lhs[i], ]
    if (row$op == "~1") cat(sprintf("SCORE %s %s X2 %.10f df %d p %.10f\n", step, row$lhs, st$X2[i], st$df[i],
                                    st$p.value[i]))
  }
}
cat("\n## latent means of the second group (first group's fixed at 0), scalar and partial models\n")
for (step in c("scalar", "partial", "partial_x3")) {
  pe <- parameterEstimates(fits[[step]])
  lm <- pe[pe$op == "~1" & pe$lhs %in% c("visual", "textual", "speed") & pe$group == 2, ]
  for (i in seq_len(nrow(lm))) cat(sprintf("MEAN %s %s est %.10f se %.10f z %.10f p %.10f\n", step, lm$lhs[i],
                                           lm$est[i], lm$se[i], lm$z[i], lm$pvalue[i]))
}
cat("\n## loadings of the metric model (shared across groups)\n")
pe <- parameterEstimates(fits$metric)
lo <- pe[pe$op == "=~" & pe$group == 1, ]
for (i in seq_len(nrow(lo))) cat(sprintf("LOADING metric %s %s est %.10f se %.10f\n", lo$lhs[i], lo$rhs[i], lo$est[i], lo$se[i]))

cat("\n## three groups (id %% 3: 0 -> g0, 1 -> g1, 2 -> g2), to check the sqrt(G) in RMSEA and joint score tests\n")
HS$g3 <- paste0("g", HS$id %% 3)
cat("groups", paste(unique(HS$g3), collapse = ","), "| n", table(HS$g3)[unique(HS$g3)], "\n")
fits3 <- list(
  configural = cfa(model, data = HS, group = "g3"),
  metric = cfa(model, data = HS, group = "g3", group.equal = "loadings"),
  scalar = cfa(model, data = HS, group = "g3", group.equal = c("loadings", "intercepts")))
for (step in names(fits3)) {
  fm <- fitMeasures(fits3[[step]], measures)
  cat("FIT3", step, paste(sprintf("%s %.10f", names(fm), fm), collapse = " "), "\n")
}
cat("(score test releasing an item's intercept in all three groups: lavTestScore(release = its two constraints))\n")
pt <- parTable(fits3$scalar)
cons <- pt[pt$op == "==", ]
for (item in c("x3", "x7")) {
  lab <- pt$plabel[pt$lhs == item & pt$op == "~1" & pt$group == 1]
  idx <- which(cons$lhs == lab)
  ts <- lavTestScore(fits3$scalar, release = idx)$test
  cat(sprintf("SCORE3 %s X2 %.10f df %d p %.10f\n", item, ts$X2, ts$df, ts$p.value))
}
pe <- parameterEstimates(fits3$scalar)
lm <- pe[pe$op == "~1" & pe$lhs %in% c("visual", "textual", "speed") & pe$group > 1, ]
for (i in seq_len(nrow(lm))) cat(sprintf("MEAN3 scalar %s %s est %.10f se %.10f z %.10f p %.10f\n",
                                         lavInspect(fits3$scalar, "group.label")[lm$group[i]], lm$lhs[i],
                                         lm$est[i], lm$se[i], lm$z[i], lm$pvalue[i]))
