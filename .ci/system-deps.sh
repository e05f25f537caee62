#!/usr/bin/env bash
# System tools the tests need, from Debian packages, installed from this one place (make test calls it).
# As root it installs what is missing; otherwise it says what is missing and how to install it, and fails,
# because a test skipped for a missing tool is not a passing test.
set -euo pipefail

# Debian packages the tests use, and what for
NEED=(
  libreoffice-calc-nogui     # the Excel report and the CVI workbook converted to PDF
  libreoffice-writer-nogui   # the Word tables (.docx) converted to PDF
  ghostscript                # PDF -> PNG, to look at rendered documents
  fonts-droid-fallback       # a CJK font, so Chinese renders in those PDFs
  chromium                   # the portal's browser test (Playwright drives the system Chromium)
  pspp                       # the .sav export opened and summarised by an independent SPSS clone
  postgresql                 # the PostgreSQL store's tests start a throwaway server (initdb, pg_ctl)
)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for pkg in "${NEED[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages for the tests: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "missing system packages for the tests: ${missing[*]}" >&2
echo "install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
exit 1
