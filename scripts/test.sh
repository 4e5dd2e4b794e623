#!/usr/bin/env bash
# The README's test command (`pnpm test`): static checks, then every test suite against the real
# servers. Each stage writes a JSON report under .reports/ for .ci/run's summary.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# a fresh clone has no node_modules yet; with them in place this takes a second
pnpm install --frozen-lockfile --prefer-offline >/dev/null || { echo "pnpm install failed"; exit 1; }
mkdir -p .reports
rm -f .reports/*.json
status=0
stage() { printf '\n== %s\n' "$1"; }

stage "typecheck";      pnpm -s typecheck || status=1
stage "lint";           pnpm -s exec eslint . || status=1
stage "format";         pnpm -s exec prettier --check . >/dev/null || { pnpm -s exec prettier --list-different .; status=1; }
stage "layer rules";    pnpm -s layers || status=1
stage "services";       bash test/peers/ensure-services.sh || status=1
stage "tests"
pnpm -s exec vitest run --exclude 'test/e2e/**' --reporter=default --reporter=json --outputFile.json=.reports/vitest.json "$@" || status=1
# End-to-end suites spawn the API and two workers each: one file at a time, so they do not
# compete with each other (and with the unit suites) for the machine's cores.
stage "end-to-end tests"
pnpm -s exec vitest run test/e2e --no-file-parallelism --reporter=default --reporter=json --outputFile.json=.reports/e2e.json "$@" || status=1

node scripts/report-summary.ts .reports
exit $status
