#!/usr/bin/env bash
# The whole test suite (pure, TestKit simulation, real sockets). Installs what the tests use on a
# fresh Debian machine (needs root for apt-get; dotnet must already be there). Long load, soak and
# fuzz runs are separate scripts, not part of this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test L4P.sln -c Release 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One plain summary line for CI: "N passed, N failed, N skipped".
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -1 || true)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/Failed: +([0-9]+).*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
  echo "tests: $passed passed, $failed failed, $skipped skipped"
fi
exit "$rc"
