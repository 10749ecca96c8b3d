#!/usr/bin/env bash
# Side-by-side benchmark on loopback: direct (no proxy) = 1.00, then HAProxy (mode tcp, req.ssl_sni),
# nginx stream (ssl_preread) and L4P (plain route, SNI route) in front of the same backends,
# measured in turns in one run. Prints one table of figures and ratios to direct. Installs what it needs
# (Debian packages), builds L4P in Release, and stops every process it started.
#
#   bench/run.sh [SECONDS_PER_RUN]     (default 10; the whole run takes about 20 x that)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
FDS=$(ulimit -n)
# Each idle connection costs the proxy two descriptors; HAProxy refuses to start when maxconn needs
# more than the limit, so both follow from it (20,000 on the machines this was written on).
IDLE=${IDLE_CONNS:-$(( FDS / 2 - 1000 < 10000 ? FDS / 2 - 1000 : 10000 ))}
MAXCONN=$(( (FDS - 100) / 2 ))
need=()
for t in haproxy nginx iperf3 wrk openssl python3; do command -v $t >/dev/null 2>&1 || need+=($t); done
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]/python3/python3}" >/dev/null
fi
dotnet build -c Release src/L4P.Host -v q -nologo >/dev/null

W=$(mktemp -d /tmp/l4p-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT

# Ports: backends 18xxx, HAProxy 20xxx, nginx stream 21xxx, L4P 22xxx.
HTTP=18080 TLS=18443 IPERF=15201
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
mkdir -p "$W/nginx-b" "$W/nginx-s"
cat > "$W/backend.conf" <<NGX
worker_processes 1;
daemon off;
pid $W/nginx-b/pid;
error_log $W/nginx-b/error.log crit;
events { worker_connections 30000; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  client_header_timeout 600s;
  server { listen 127.0.0.1:$HTTP reuseport backlog=4096; location / { return 200 "hello from the backend\n"; } }
  server {
    listen 127.0.0.1:$TLS ssl backlog=4096;
    ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem;
    ssl_session_cache off; ssl_session_tickets off;
    location / { return 200 "hello over tls\n"; }
  }
}
NGX
nginx -c "$W/backend.conf" -e "$W/nginx-b/error.log" & PIDS+=($!)
iperf3 -s -p $IPERF -B 127.0.0.1 >/dev/null 2>&1 & PIDS+=($!)

cat > "$W/haproxy.cfg" <<HAP
global
  maxconn $MAXCONN
defaults
  mode tcp
  timeout connect 10s
  timeout client 600s
  timeout server 600s
frontend plain
  bind 127.0.0.1:20080
  default_backend http
frontend sni
  bind 127.0.0.1:20443
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  use_backend tls if { req.ssl_sni -i localhost }
frontend bulk
  bind 127.0.0.1:25201
  default_backend iperf
backend http
  server b 127.0.0.1:$HTTP
backend tls
  server t 127.0.0.1:$TLS
backend iperf
  server i 127.0.0.1:$IPERF
HAP
haproxy -f "$W/haproxy.cfg" -db >/dev/null 2>&1 & PIDS+=($!)
HAPROXY_PID=$!

cat > "$W/stream.conf" <<NGX
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
daemon off;
pid $W/nginx-s/pid;
error_log $W/nginx-s/error.log crit;
events { worker_connections 30000; }
stream {
  map \$ssl_preread_server_name \$sni_upstream { localhost 127.0.0.1:$TLS; default 127.0.0.1:1; }
  server { listen 127.0.0.1:21080 backlog=4096; proxy_pass 127.0.0.1:$HTTP; proxy_timeout 600s; }
  server { listen 127.0.0.1:21443 backlog=4096; ssl_preread on; proxy_pass \$sni_upstream; proxy_timeout 600s; }
  server { listen 127.0.0.1:25202; proxy_pass 127.0.0.1:$IPERF; }
}
NGX
nginx -c "$W/stream.conf" -e "$W/nginx-s/error.log" & PIDS+=($!)
NGINX_PID=$!

cat > "$W/l4p.yaml" <<L4P
version: 2
log: warn
servers:
  plain: { listen: ["127.0.0.1:22080"], default: http, maxclients: 20000 }
  sni:
    listen: ["127.0.0.1:22443"]
    tls: true
    sni: { localhost: tls }
    default: ban
    maxclients: 20000
  bulk: { listen: ["127.0.0.1:25203"], default: iperf }
upstream:
  http: "tcp://127.0.0.1:$HTTP"
  tls: "tcp://127.0.0.1:$TLS"
  iperf: "tcp://127.0.0.1:$IPERF"
L4P
DOTNET_TieredPGO=1 dotnet src/L4P.Host/bin/Release/net10.0/L4P.Host.dll --config "$W/l4p.yaml" > "$W/l4p.log" 2>&1 & PIDS+=($!)
L4P_PID=$!

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
for p in $HTTP $TLS $IPERF 20080 20443 25201 21080 21443 25202 22080 22443 25203; do wait_port $p; done

# rss PID... -> sum of VmRSS in KiB over the process and its children
rss() { local t=0; for p in "$@"; do for c in $p $(pgrep -P "$p" || true); do t=$((t + $(awk '/VmRSS/{print $2}' /proc/$c/status 2>/dev/null || echo 0))); done; done; echo $t; }

wrk_rps() { wrk -t2 -c50 -d"${DUR}s" --latency "$@" 2>/dev/null | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r, p}'; }
iperf_gbps() { iperf3 -c 127.0.0.1 -p "$1" -t "$DUR" -P "$2" -J 2>/dev/null | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'; }
idle_kb() { # PORT PIDS... -> KiB of RSS per idle connection held through that port
  local port=$1; shift
  local before after
  before=$(rss "$@")
  coproc HOLD { python3 bench/hold_idle.py 127.0.0.1 "$port" "$IDLE"; }
  read -r line <&"${HOLD[0]}"
  sleep 2
  after=$(rss "$@")
  exec {HOLD[1]}>&-
  wait "$HOLD_PID" 2>/dev/null || true
  python3 -c "print('%.1f' % (($after - $before) / $IDLE))"
}

declare -A R
row() { # NAME PLAINPORT TLSPORT BULKPORT PIDS...
  local name=$1 plain=$2 tls=$3 bulk=$4; shift 4
  echo "measuring $name..." >&2
  # Memory first, on the freshly started process: measured after the load runs, RSS growth would hide
  # in what the load left committed (a garbage-collected heap's free space, allocator pools), which
  # flatters whoever kept the most.
  if [ $# -gt 0 ]; then R[$name,mem]=$(idle_kb "$plain" "$@"); else R[$name,mem]=-; fi
  # Warm-up (JIT tiering, connection pools) before anything else is measured.
  wrk -t2 -c50 -d2s -H "Connection: close" "http://127.0.0.1:$plain/" >/dev/null 2>&1 || true
  wrk -t2 -c50 -d2s "http://127.0.0.1:$plain/" >/dev/null 2>&1 || true
  read -r R[$name,ka] R[$name,p99] < <(wrk_rps "http://127.0.0.1:$plain/")
  read -r R[$name,nc] _ < <(wrk_rps -H "Connection: close" "http://127.0.0.1:$plain/")
  read -r R[$name,tls] _ < <(wrk_rps -H "Connection: close" "https://localhost:$tls/")
  R[$name,bulk1]=$(iperf_gbps "$bulk" 1)
  R[$name,bulk8]=$(iperf_gbps "$bulk" 8)
}

row direct $HTTP $TLS $IPERF
row haproxy 20080 20443 25201 $HAPROXY_PID
row nginx 21080 21443 25202 $NGINX_PID
row l4p 22080 22443 25203 $L4P_PID

python3 - "$DUR" <<PY
import sys
names = ["direct", "haproxy", "nginx", "l4p"]
R = {}
for kv in """$(for k in "${!R[@]}"; do echo "$k=${R[$k]}"; done)""".split():
    k, v = kv.split("=", 1)
    n, c = k.split(",")
    R[(n, c)] = v
cols = [("ka", "keep-alive req/s", True), ("nc", "new conn/s", True), ("tls", "TLS via SNI hs/s", True),
        ("bulk1", "bulk 1 stream Gbit/s", True), ("bulk8", "bulk 8 streams Gbit/s", True),
        ("p99", "keep-alive p99", False), ("mem", "KiB/idle conn", False)]
def num(v):
    try:
        if v.endswith("us"): return float(v[:-2]) / 1000
        if v.endswith("ms"): return float(v[:-2])
        if v.endswith("s"): return float(v[:-1]) * 1000
        return float(v)
    except Exception: return None
print(f"L4P benchmark, {sys.argv[1]}s per run, $IDLE idle connections for memory, loopback, ratios to direct in brackets")
print("| proxy | " + " | ".join(c[1] for c in cols) + " |")
print("|---" * (len(cols) + 1) + "|")
for n in names:
    cells = []
    for c, _, higher in cols:
        v = R.get((n, c), "-")
        d = num(R.get(("direct", c), "-"))
        x = num(v)
        if c == "mem" or c == "p99" or d in (None, 0) or x is None: cells.append(v)
        else: cells.append(f"{v} ({x / d:.2f})")
    print(f"| {n} | " + " | ".join(cells) + " |")
print()
for c, label, higher in cols:
    vals = [(num(R.get((n, c), "-")), n) for n in names[1:]]
    vals = [v for v in vals if v[0] is not None]
    if vals:
        best = max(vals) if higher else min(vals)
        print(f"leads {label}: {best[1]}")
PY
