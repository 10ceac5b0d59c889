#!/usr/bin/env bash
# Pre-deploy gate: audit the servers about to go live and block the deploy unless every one
# is GO. Usage: pre-deploy-gate.sh INVENTORY [more auditor options, e.g. --waivers FILE]
# Reports land in $AUDIT_OUT (default ./audit-reports): JSON, SARIF, JUnit, HTML, Markdown.
# Exit code: the auditor's (0 GO, 1 NO-GO, 2 bad input, 3 incomplete) — any non-zero blocks.
set -uo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 INVENTORY [auditor options]" >&2
  exit 2
fi
inventory=$1
shift
out=${AUDIT_OUT:-audit-reports}
auditor=${AUDITOR:-auditor}
mkdir -p "$out"
# shellcheck disable=SC2086 # AUDITOR may be a command with arguments ("python -m auditor")
$auditor audit "$inventory" \
  -f json -o "$out/report.json" \
  -f sarif -o "$out/report.sarif" \
  -f junit -o "$out/junit.xml" \
  -f html -o "$out/report.html" \
  -f markdown -o "$out/summary.md" \
  -f table "$@"
code=$?
case $code in
  0) echo "pre-deploy gate: GO" ;;
  1) echo "pre-deploy gate: NO-GO (blocking findings; see $out/report.html)" >&2 ;;
  3) echo "pre-deploy gate: NO-GO (audit incomplete; see errors in $out/report.json)" >&2 ;;
  *) echo "pre-deploy gate: bad input or usage (exit $code)" >&2 ;;
esac
exit $code
