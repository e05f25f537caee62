# Reference for jianfu.stats.careless: the five careless-responding indices of the R package `careless`
# (Yentes & Wilhelm, version 1.2.2, github.com/ryentes/careless at commit 0a84caf; not in Debian, installed from
# source into a private library) on its bundled simulated `careless_dataset` (200 respondents, 10 scales × 5
# items on 1–5; 80% normal, 10% straight-lining, 10% random responders), written to careless_data.csv.
#   longstring(x, avg = TRUE) ............ longest and average run of identical consecutive answers;
#   irv(x, split = TRUE, num.split = 3) .. SD of a row's answers, overall and in three consecutive chunks;
#   mahad(x, flag = TRUE, confidence = .999)  Mahalanobis D² (psych::outlier: pairwise covariance, a missing
#                                             answer counts as a zero deviation) and D² > qchisq(.999, k);
#   evenodd(x, rep(5, 10)) ............... −(Spearman–Brown corrected r between even- and odd-half scale means);
#   psychsyn(x, .60, resample_na = FALSE)  within-person r over item pairs with sample r > .60 (deterministic:
#                                          careless's default resample_na = TRUE reshuffles NA rows at random);
#   psychsyn(x_rev, .60, anto = TRUE, resample_na = FALSE)  antonyms, on x with the items of scales A–E
#                                          reversed (6 − x), so that pairs with r < −.60 exist (the simulated
#                                          synonyms pair item k of one scale with item k of another).
# Variant "na": the same data with NA wherever (7 i + 13 j) %% 47 == 0 (row i, column j, 1-based) and in
# columns 1–40 of row 3. For it also "d2_avail": stats::mahalanobis of the answered items only, with the pairwise
# covariance's submatrix and column means over available values, and its df = number answered.
# Run (with careless in /tmp/rlib):
#   R_LIBS=/tmp/rlib Rscript tests/reference/careless_reference.R > tests/reference/careless_reference.txt
# Output: "# <variant>" then a header line and one whitespace-separated line per respondent; NA as NA.
suppressPackageStartupMessages(library(careless))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
x <- careless_dataset
write.csv(x, file.path(here, "careless_data.csv"), row.names = FALSE)

x_na <- x
ij <- expand.grid(i = seq_len(nrow(x)), j = seq_len(ncol(x)))
hit <- (7 * ij$i + 13 * ij$j) %% 47 == 0
for (h in which(hit)) x_na[ij$i[h], ij$j[h]] <- NA
x_na[3, 1:40] <- NA

reversed <- grepl("^scale[A-E]", names(x))
x_rev <- x
x_rev[reversed] <- 6 - x_rev[reversed]

indices <- function(d, rev) {
  ls <- longstring(d, avg = TRUE)
  iv <- irv(d, split = TRUE, num.split = 3)
  md <- mahad(d, plot = FALSE, flag = TRUE, confidence = 0.999)
  eo <- suppressWarnings(evenodd(d, rep(5, 10)))
  ps <- psychsyn(d, 0.60, diag = TRUE, resample_na = FALSE)
  pa <- psychsyn(rev, 0.60, anto = TRUE, diag = TRUE, resample_na = FALSE)
  m <- colMeans(d, na.rm = TRUE)
  S <- cov(d, use = "pairwise")
  avail <- t(sapply(seq_len(nrow(d)), function(i) {
    o <- !is.na(unlist(d[i, ]))
    c(mahalanobis(unlist(d[i, o]), m[o], S[o, o]), sum(o))
  }))
  data.frame(row = seq_len(nrow(d)), longstr = ls$longstr, avgstr = ls$avgstr,
             irv = iv$irvTotal, irv1 = iv$irv1, irv2 = iv$irv2, irv3 = iv$irv3,
             d2 = md$d_sq, flag = md$flagged, d2_avail = avail[, 1], df_avail = avail[, 2],
             evenodd = eo, psychsyn = ps$cor, syn_pairs = ps$numPairs, psychant = pa$cor, ant_pairs = pa$numPairs)
}

x_na_rev <- x_na
x_na_rev[reversed] <- 6 - x_na_rev[reversed]
for (variant in c("complete", "na")) {
  d <- if (variant == "complete") x else x_na
  rev <- if (variant == "complete") x_rev else x_na_rev
  out <- indices(d, rev)
  cat("#", variant, "\n")
  cat(names(out), "\n")
  for (r in seq_len(nrow(out))) cat(sapply(out[r, ], function(v) if (is.na(v)) "NA" else sprintf("%.12g", v)), "\n")
}

# careless's default psychsyn (resample_na = TRUE): rows whose correlation is NA are reshuffled within pairs;
# only the rows that stay NA (no variance in either column) are deterministic.
set.seed(2016)
res <- psychsyn(x, 0.60, resample_na = TRUE)
cat("# resampled_na_rows", which(is.na(res)), "\n")
cat("# synonym_pairs", nrow(careless:::get_item_pairs(x, 0.60)), "\n")
