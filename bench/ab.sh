#!/usr/bin/env bash
# Same-run A/B of two L4P variants, in alternating rounds on loopback (A, B, A, B, ...), each round on
# a freshly started process: idle memory first (as bench/run.sh), then keep-alive req/s and p99, new
# connections/s, bulk 1 stream. Prints each round and the medians, with B/A. A variant is environment
# assignments and/or L4P arguments (e.g. --akka-config FILE), split on spaces; @PATH runs another build
# (a copy of an earlier commit's bin/Release/net10.0/L4P.Host.dll) instead of the current one.
#
#   bench/ab.sh "A_SPEC" "B_SPEC" [ROUNDS] [SECONDS]      (default 3 rounds of 5 s per measurement)
#   bench/ab.sh "DOTNET_gcConcurrent=0" "DOTNET_gcConcurrent=1"
#   bench/ab.sh "" "--akka-config /tmp/frames-4k.hocon"
#   bench/ab.sh "@/tmp/l4p-before/L4P.Host.dll" ""          (a code change: the build before it vs now)
#   IDLE_CONNS=N (idle connections held first), SETTLE=S (seconds between closing them and the load)
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1-}; B=${2-}; ROUNDS=${3:-3}; DUR=${4:-5}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
IDLE=${IDLE_CONNS:-$(( $(ulimit -n) / 2 - 1000 < 9000 ? $(ulimit -n) / 2 - 1000 : 9000 ))}
need=()
for t in nginx iperf3 wrk python3; do command -v $t >/dev/null 2>&1 || need+=($t); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
dotnet build -c Release src/L4P.Host -v q -nologo >/dev/null

W=$(mktemp -d /tmp/l4p-ab.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT

HTTP=18180 IPERF=15301 PORT=22180 BULK=25303
mkdir -p "$W/nginx"
cat > "$W/backend.conf" <<NGX
worker_processes 1;
daemon off;
pid $W/nginx/pid;
error_log $W/nginx/error.log crit;
events { worker_connections 30000; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  server { listen 127.0.0.1:$HTTP reuseport backlog=4096; location / { return 200 "hello from the backend\n"; } }
}
NGX
nginx -c "$W/backend.conf" -e "$W/nginx/error.log" & PIDS+=($!)
iperf3 -s -p $IPERF -B 127.0.0.1 >/dev/null 2>&1 & PIDS+=($!)
cat > "$W/l4p.yaml" <<L4P
version: 2
log: warn
servers:
  plain: { listen: ["127.0.0.1:$PORT"], default: http, maxclients: 20000 }
  bulk: { listen: ["127.0.0.1:$BULK"], default: iperf }
upstream:
  http: "tcp://127.0.0.1:$HTTP"
  iperf: "tcp://127.0.0.1:$IPERF"
L4P

wait_port() { for _ in $(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# round SPEC -> "kib rps p99 newconn bulk"
round() {
  local envs=() args=() dll=src/L4P.Host/bin/Release/net10.0/L4P.Host.dll
  for w in $1; do
    if [[ $w == @* ]]; then dll=${w#@}
    elif [[ $w == *=* && $w != -* ]]; then envs+=("$w"); else args+=("$w"); fi
  done
  env DOTNET_TieredPGO=1 "${envs[@]}" dotnet "$dll" --config "$W/l4p.yaml" "${args[@]}" > "$W/l4p.log" 2>&1 &
  local pid=$!
  wait_port $PORT; wait_port $BULK
  local before after line
  before=$(rss $pid)
  coproc HOLD { python3 bench/hold_idle.py 127.0.0.1 "$PORT" "$IDLE"; }
  read -r line <&"${HOLD[0]}"
  sleep 2
  after=$(rss $pid)
  exec {HOLD[1]}>&-
  wait "$HOLD_PID" 2>/dev/null || true
  sleep "${SETTLE:-1}"   # after the idle connections close, before the load
  local kib rps p99 nc bulk
  kib=$(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN{printf "%.1f", (a-b)/n}')
  read -r rps p99 < <(wrk -t2 -c50 -d"${DUR}s" --latency "http://127.0.0.1:$PORT/" 2>/dev/null | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r, p}')
  nc=$(wrk -t2 -c50 -d"${DUR}s" -H "Connection: close" "http://127.0.0.1:$PORT/" 2>/dev/null | awk '/Requests\/sec/{print $2}')
  bulk=$(iperf3 -c 127.0.0.1 -p $BULK -t "$DUR" -P 1 -J 2>/dev/null | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
  kill $pid; wait $pid 2>/dev/null || true
  echo "$kib $rps $p99 $nc $bulk"
}

echo "A: '${A}'   B: '${B}'   $ROUNDS rounds, ${DUR}s per measurement, $IDLE idle connections"
echo "| round | variant | KiB/idle conn | keep-alive req/s | keep-alive p99 | new conn/s | bulk 1 stream Gbit/s |"
echo "|---|---|---|---|---|---|---|"
: > "$W/A"; : > "$W/B"
for r in $(seq 1 "$ROUNDS"); do
  for v in A B; do
    spec=$A; [ $v = B ] && spec=$B
    res=$(round "$spec")
    echo "$res" >> "$W/$v"
    read -r kib rps p99 nc bulk <<<"$res"
    echo "| $r | $v | $kib | $rps | $p99 | $nc | $bulk |"
  done
done
python3 - "$W/A" "$W/B" <<'PY'
import statistics, sys
def ms(s):
    s = s.strip()
    for suf, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if s.endswith(suf): return float(s[:-len(suf)]) * f
    return float(s)
cols = ["KiB/idle conn", "keep-alive req/s", "keep-alive p99 ms", "new conn/s", "bulk 1 stream Gbit/s"]
rows = {}
for v, path in (("A", sys.argv[1]), ("B", sys.argv[2])):
    data = [l.split() for l in open(path) if l.strip()]
    rows[v] = [statistics.median([(ms(d[i]) if i == 2 else float(d[i])) for d in data]) for i in range(5)]
print()
print("| median | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
for v in ("A", "B"):
    print(f"| {v} | " + " | ".join(f"{x:.2f}" for x in rows[v]) + " |")
print("| B/A | " + " | ".join(f"{b / a:.2f}" if a else "-" for a, b in zip(rows["A"], rows["B"])) + " |")
PY
