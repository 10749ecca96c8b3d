#!/usr/bin/env bash
# The whole test suite (pure, TestKit simulation, real sockets), run once per TCP transport: Akka.IO
# and L4P's sockets transport (L4P_TRANSPORT, read when a config has no transport: key). Installs what
# the tests use on a fresh Debian machine (needs root for apt-get; dotnet must already be there). Long
# load, soak and fuzz runs are separate scripts, not part of this.
#
#   scripts/test.sh                 both transports
#   TRANSPORTS=sockets scripts/test.sh   one of them
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
dotnet build L4P.sln -c Release -v q -nologo

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
total_passed=0 total_failed=0 total_skipped=0
for transport in ${TRANSPORTS:-akka sockets}; do
  echo "=== tests on transport: $transport ==="
  set +e
  L4P_TRANSPORT=$transport dotnet test L4P.sln -c Release --no-build 2>&1 | tee "$log"
  run_rc=${PIPESTATUS[0]}
  set -e
  [ "$run_rc" -ne 0 ] && rc=$run_rc
  summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -1 || true)
  if [ -n "$summary" ]; then
    failed=$(sed -E 's/Failed: +([0-9]+).*/\1/' <<<"$summary")
    passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
    skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
    echo "tests on $transport: $passed passed, $failed failed, $skipped skipped"
    total_passed=$((total_passed + passed)) total_failed=$((total_failed + failed)) total_skipped=$((total_skipped + skipped))
  else
    rc=${rc:-1}; [ "$rc" -eq 0 ] && rc=1
  fi
done
# One plain summary line for CI: "N passed, N failed, N skipped".
echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
exit "$rc"
