#!/usr/bin/env bash
# Chaos: L4P (Release) on loopback for MINUTES under randomized misbehaving clients (leave mid-ClientHello,
# RST, half-close, stall, slow read) against misbehaving upstreams (refuse, accept and hang, connect that
# hangs, reply late, RST mid-stream, a CONNECT proxy that never answers, health targets that hang), then
# quiet: active connections 0, open sockets back to baseline, every maxclients slot free, RSS bounded.
# Exits 1 with one line per failed check (scripts/chaos_load.py states the bounds).
#   scripts/chaos.sh MINUTES [SEED]      (MINUTES may be fractional: 0.5)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?usage: scripts/chaos.sh MINUTES [SEED]}
seed=${2:-$RANDOM}
scripts/install-test-deps.sh
command -v ss >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
dotnet build -c Release src/L4P.Host -v q -nologo >/dev/null

W=$(mktemp -d /tmp/l4p-chaos.XXXXXX)
OUT=artifacts/chaos
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  [ -f "$W/l4p.log" ] && cp "$W/l4p.log" "$OUT/l4p.log"
  rm -rf "$W"
}
trap cleanup EXIT
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# L4P's servers, then the peers (REFUSE is a port nobody listens on).
POOL=$(free) CHECKED=$(free) SNI=$(free) DEAD=$(free) TINY=$(free) ECHO=$(free) ADMIN=$(free)
P_ECHO=$(free) P_HANG=$(free) P_LATE=$(free) P_RST=$(free) P_BLACK=$(free) P_DEADPROXY=$(free) P_REFUSE=$(free) P_TINY=$(free)

python3 scripts/chaos_peers.py echo=$P_ECHO hang=$P_HANG hang=$P_DEADPROXY late=$P_LATE rst=$P_RST blackhole=$P_BLACK \
  > "$W/peers.log" 2>&1 & PIDS+=($!)
cat > "$W/tinyproxy.conf" <<TP
Port $P_TINY
Listen 127.0.0.1
Timeout 30
Allow 127.0.0.1
ConnectPort $P_ECHO
MaxClients 500
TP
tinyproxy -d -c "$W/tinyproxy.conf" > "$W/tinyproxy.log" 2>&1 & PIDS+=($!)
T='timeouts: { idle: 2s, connect: 1500ms, client_hello: 1s }'
cat > "$W/l4p.yaml" <<YAML
version: 1
log: warn
shutdown_timeout: 2s
servers:
  pool: { listen: ["127.0.0.1:$POOL"], default: pool, maxclients: 200, $T }
  checked: { listen: ["127.0.0.1:$CHECKED"], default: checked, maxclients: 200, $T }
  sni:
    listen: ["127.0.0.1:$SNI"]
    tls: true
    sni: { good.test: echo_up, hang.test: hang_up, late.test: late_up, rst.test: rst_up, "*.pool.test": pool }
    default: ban
    maxclients: 200
    $T
  dead: { listen: ["127.0.0.1:$DEAD"], default: deadproxy, maxclients: 200, $T, via: { target: "127.0.0.1:$P_ECHO", connect_timeout: 1500ms } }
  # The good path through a real proxy: tinyproxy's CONNECT answer took over 1.5 s under load here (1 of 200 at once).
  tiny:
    listen: ["127.0.0.1:$TINY"]
    default: tinyproxy
    maxclients: 200
    timeouts: { idle: 5s, client_hello: 1s }
    via: { target: "127.0.0.1:$P_ECHO", connect_timeout: 5s }
  echo: { listen: ["127.0.0.1:$ECHO"], default: echo, maxclients: 200, $T }
  admin: { listen: ["127.0.0.1:$ADMIN"], default: admin }
upstream:
  pool:
    targets: ["tcp://127.0.0.1:$P_REFUSE", "tcp://127.0.0.1:$P_BLACK", "tcp://127.0.0.1:$P_HANG",
              "tcp://127.0.0.1:$P_LATE", "tcp://127.0.0.1:$P_RST", "tcp://127.0.0.1:$P_ECHO"]
    balance: roundrobin
    outlier: { failures: 3, eject_for: 2s }
  checked:
    targets: ["tcp://127.0.0.1:$P_ECHO", "tcp://127.0.0.1:$P_HANG", "tcp://127.0.0.1:$P_LATE", "tcp://127.0.0.1:$P_BLACK"]
    balance: roundrobin
    check: { interval: 1s, timeout: 500ms, rise: 2, fall: 2, send: "PING\n", expect: "PING" }
  echo_up: "tcp://127.0.0.1:$P_ECHO"
  hang_up: "tcp://127.0.0.1:$P_HANG"
  late_up: "tcp://127.0.0.1:$P_LATE"
  rst_up: "tcp://127.0.0.1:$P_RST"
  deadproxy: "tcp://127.0.0.1:$P_DEADPROXY"
  tinyproxy: "tcp://127.0.0.1:$P_TINY"
YAML
for _ in $(seq 100); do grep -q "peers ready" "$W/peers.log" && break; sleep 0.1; done
grep -q "peers ready" "$W/peers.log" || { echo "chaos: the peers did not start: $(tail -1 "$W/peers.log")" >&2; exit 1; }
dotnet src/L4P.Host/bin/Release/net10.0/L4P.Host.dll --config "$W/l4p.yaml" > "$W/l4p.log" 2>&1 & PIDS+=($!)
L4P=$!
up() { curl -sf --noproxy '*' -m 2 "http://127.0.0.1:$ADMIN/health" >/dev/null 2>&1; }
for _ in $(seq 300); do up && break; kill -0 $L4P 2>/dev/null || break; sleep 0.1; done
up || { echo "chaos: L4P did not answer /health on admin within 30 s: $(tail -1 "$W/l4p.log")" >&2; exit 1; }
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $P_TINY), 1).close()" 2>/dev/null && break; sleep 0.1; done
sleep 3 # two health-check rounds: the checked upstream's verdicts settle before the baseline
set +e
python3 scripts/chaos_load.py "$L4P" "$minutes" "$seed" workers=50 maxclients=200 \
  echo=$ECHO tiny=$TINY sni=$SNI pool=$POOL checked=$CHECKED dead=$DEAD admin=$ADMIN
rc=$?
set -e
kill -0 $L4P 2>/dev/null || { echo "chaos: L4P exited during the run: $(tail -1 "$W/l4p.log")" >&2; rc=1; }
echo "L4P log: $(grep -c . "$W/l4p.log" || true) lines ($OUT/l4p.log); warnings and errors by message:"
grep -E '(warn|fail|crit|error)' "$W/l4p.log" | sed -E 's/^[^ ]+ //; s/[0-9]+(\.[0-9]+){3}:[0-9]+/ADDR/g; s/\b[0-9]+(ms|s)?\b/N\1/g' | sort | uniq -c | sort -rn | head -15 || true
exit "$rc"
