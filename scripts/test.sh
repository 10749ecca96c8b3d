#!/usr/bin/env bash
# The whole test suite (pure, TestKit simulation, real sockets over Akka.IO), run once. Installs what
# the tests use on a fresh Debian machine (needs root for apt-get; dotnet must already be there). Long
# load, soak and fuzz runs are separate scripts, not part of this.
#
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
dotnet build L4P.sln -c Release -v q -nologo

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test L4P.sln -c Release --no-build 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -1 || true)
if [ -z "$summary" ]; then
  echo "tests: no summary found in the dotnet test output" >&2
  [ "$rc" -eq 0 ] && rc=1
  exit "$rc"
fi
failed=$(sed -E 's/Failed: +([0-9]+).*/\1/' <<<"$summary")
passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
[ "$failed" -ne 0 ] && [ "$rc" -eq 0 ] && rc=1
# One plain summary line for CI: "tests: N passed, N failed, N skipped".
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
