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
# One summary line per test assembly ("Passed!  - Failed: 0, Passed: N, Skipped: 0, ..."): add them up,
# and count an assembly without one (it crashed or never ran) as a failure.
summaries=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" || true)
assemblies=$(dotnet sln L4P.sln list | tr '\\' / | grep '\.csproj$' | while read -r p; do grep -l '<IsTestProject>true' "$p" || true; done | wc -l)
if [ -z "$summaries" ]; then
  echo "tests: no summary found in the dotnet test output" >&2
  [ "$rc" -eq 0 ] && rc=1
  exit "$rc"
fi
read -r failed passed skipped < <(sed -E 's/Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+)/\1 \2 \3/' <<<"$summaries" |
  awk '{ f += $1; p += $2; s += $3 } END { print f, p, s }')
found=$(wc -l <<<"$summaries")
if [ "$found" -lt "$assemblies" ]; then
  echo "tests: $found of $assemblies test assemblies reported a summary" >&2
  failed=$((failed + assemblies - found))
fi
[ "$failed" -ne 0 ] && [ "$rc" -eq 0 ] && rc=1
# CI shows only the tail of a run: name every failed test (with its first message line) again here.
if [ "$failed" -ne 0 ]; then
  echo "failed tests:"
  grep -E -A3 '^ +Failed [A-Za-z_][A-Za-z0-9_.]+ \[' "$log" | grep -Ev '^( +Error Message:|--)$' | cut -c1-300 | head -40 || true
fi
# One plain summary line for CI: "tests: N passed, N failed, N skipped".
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
