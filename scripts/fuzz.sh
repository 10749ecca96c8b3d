#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser with SharpFuzz + AFL++:
#   scripts/fuzz.sh TARGET MINUTES     TARGET: clienthello | connectreply | httphead | config | proxyprotocol
# Seeds: fuzz/seeds/TARGET. Findings: artifacts/fuzz/TARGET/findings. Exits 1 if a crash or hang
# was found (each becomes a bug fix plus a regression test; replay one with
#   dotnet artifacts/fuzz/TARGET/bin/L4P.Fuzz.dll TARGET --replay FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET MINUTES}
minutes=${2:-5}
[ -d "fuzz/seeds/$target" ] || { echo "fuzz.sh: unknown target '$target' (see fuzz/seeds/)" >&2; exit 2; }
if ! command -v afl-fuzz >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi
dotnet tool restore >/dev/null

out=artifacts/fuzz/$target
rm -rf "$out/bin"
dotnet publish fuzz/L4P.Fuzz -c Release -o "$out/bin" -v q -nologo >/dev/null
# Instrument the library under test (not the harness) for AFL's coverage map.
dotnet sharpfuzz "$out/bin/L4P.Actors.dll" >/dev/null

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
resume=fuzz/seeds/$target
[ -d "$out/findings/default/queue" ] && resume=-   # continue an earlier campaign
afl-fuzz -i "$resume" -o "$out/findings" -t 5000 -m none -V $((minutes * 60)) -- dotnet "$out/bin/L4P.Fuzz.dll" "$target" >"$out/afl.log" 2>&1 || true

stats=$out/findings/default/fuzzer_stats
[ -f "$stats" ] || { echo "fuzz.sh: afl-fuzz did not run; see $out/afl.log" >&2; tail -20 "$out/afl.log" >&2; exit 1; }
echo "target $target, $minutes min:"
grep -E '^(execs_done|execs_per_sec|corpus_count|bitmap_cvg|edges_found|total_edges|saved_crashes|saved_hangs) ' "$stats" | sed 's/^/  /'
crashes=$(find "$out/findings/default/crashes" "$out/findings/default/hangs" -type f ! -name README.txt | wc -l)
if [ "$crashes" -gt 0 ]; then
  echo "fuzz.sh: $crashes crash/hang input(s) in $out/findings/default/{crashes,hangs}" >&2
  exit 1
fi
