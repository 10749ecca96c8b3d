#!/usr/bin/env bash
# Where L4P's CPU goes under one load (perf, sampling the proxy only): the share per module (kernel,
# the runtime, the GC, JIT-compiled .NET code) and the hottest symbols. Loopback, nginx as the backend,
# the same L4P config as bench/ab.sh. Needs root for perf.
#
#   bench/profile.sh [keepalive|newconn] [SECONDS] [ENV=VALUE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD=${1:-keepalive}; DUR=${2:-10}; shift $(( $# > 2 ? 2 : $# )) || true
need=()
for t in nginx wrk perf; do command -v $t >/dev/null 2>&1 || need+=($t); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx wrk linux-perf >/dev/null
fi
dotnet build -c Release src/L4P.Host -v q -nologo >/dev/null

W=$(mktemp -d /tmp/l4p-prof.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$W"; }
trap cleanup EXIT
HTTP=18190 PORT=22190
mkdir -p "$W/nginx"
cat > "$W/backend.conf" <<NGX
worker_processes 1;
daemon off;
pid $W/nginx/pid;
error_log $W/nginx/error.log crit;
events { worker_connections 30000; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$HTTP reuseport backlog=4096; location / { return 200 "hello from the backend\n"; } } }
NGX
nginx -c "$W/backend.conf" -e "$W/nginx/error.log" & PIDS+=($!)
cat > "$W/l4p.yaml" <<L4P
version: 2
log: warn
servers:
  plain: { listen: ["127.0.0.1:$PORT"], default: http, maxclients: 20000 }
upstream:
  http: "tcp://127.0.0.1:$HTTP"
L4P
env DOTNET_TieredPGO=1 DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "$@" dotnet src/L4P.Host/bin/Release/net10.0/L4P.Host.dll --config "$W/l4p.yaml" > "$W/l4p.log" 2>&1 &
pid=$!; PIDS+=($pid)
for _ in $(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
hdr=(); [ "$LOAD" = newconn ] && hdr=(-H "Connection: close")
wrk -t2 -c50 -d3s "${hdr[@]}" "http://127.0.0.1:$PORT/" >/dev/null 2>&1   # warm up (JIT, tiering)
wrk -t2 -c50 -d"$((DUR + 2))s" "${hdr[@]}" "http://127.0.0.1:$PORT/" > "$W/wrk.txt" 2>&1 &
sleep 1
perf stat -e context-switches,task-clock -p "$pid" -o "$W/stat.txt" -- sleep 2 >/dev/null 2>&1
perf record -F 999 -g -p "$pid" -o "$W/perf.data" -- sleep "$((DUR - 2))" >/dev/null 2>&1
wait %% 2>/dev/null || true
rps=$(awk '/Requests\/sec/{print $2}' "$W/wrk.txt")
cs=$(awk '/context-switches/{gsub(",","",$1); print $1}' "$W/stat.txt")
cpu=$(awk '/task-clock/{gsub(",","",$1); print $1}' "$W/stat.txt")
echo "$LOAD, $DUR s: $rps req/s; per request: $(awk -v c="$cs" -v r="$rps" 'BEGIN{printf "%.2f", c/(r*2)}') context switches, $(awk -v t="$cpu" -v r="$rps" 'BEGIN{printf "%.1f", t*1000/(r*2)}') us of L4P CPU"
echo; echo "share of L4P's samples per module:"
perf report -i "$W/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -12
echo; echo "hottest symbols:"
perf report -i "$W/perf.data" --no-children --sort sym -g none --stdio 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-120 | head -30
