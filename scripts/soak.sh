#!/usr/bin/env bash
# Soak: L4P (Release) under mixed load for MINUTES with every payload checked, printing its RSS,
# descriptors and threads each minute; fails on any wrong byte or if one of them keeps growing.
#   scripts/soak.sh MINUTES [SAMPLE_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?usage: scripts/soak.sh MINUTES [SAMPLE_SECONDS]}
every=${2:-60}
scripts/install-test-deps.sh
command -v socat >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat >/dev/null; }
dotnet build -c Release src/L4P.Host -v q -nologo >/dev/null

W=$(mktemp -d /tmp/l4p-soak.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ECHO=$(free) TLSECHO=$(free) PROXY=$(free) PLAIN=$(free) SNI=$(free) VIA=$(free) BECHO=$(free) HEALTH=$(free)

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=soak.test -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
socat TCP-LISTEN:$ECHO,bind=127.0.0.1,reuseaddr,fork EXEC:cat & PIDS+=($!)
socat OPENSSL-LISTEN:$TLSECHO,bind=127.0.0.1,reuseaddr,fork,cert="$W/cert.pem",key="$W/key.pem",verify=0 EXEC:cat & PIDS+=($!)
cat > "$W/tinyproxy.conf" <<TP
Port $PROXY
Listen 127.0.0.1
Timeout 60
Allow 127.0.0.1
BasicAuth soak soakpass
ConnectPort $TLSECHO
MaxClients 200
TP
tinyproxy -d -c "$W/tinyproxy.conf" >/dev/null 2>&1 & PIDS+=($!)
cat > "$W/l4p.yaml" <<YAML
version: 1
log: warn
servers:
  plain: { listen: ["127.0.0.1:$PLAIN"], default: echo_backend, maxclients: 1000 }
  sni: { listen: ["127.0.0.1:$SNI"], tls: true, sni: { soak.test: tls_backend }, default: ban, maxclients: 1000 }
  via:
    listen: ["127.0.0.1:$VIA"]
    tls: true
    default: corp
    maxclients: 1000
    via: { target: "127.0.0.1:$TLSECHO", headers: { Proxy-Authorization: "Basic $(printf soak:soakpass | base64)" } }
  echo: { listen: ["127.0.0.1:$BECHO"], default: echo, maxclients: 1000 }
  health: { listen: ["127.0.0.1:$HEALTH"], default: health }
upstream:
  echo_backend: "tcp://127.0.0.1:$ECHO"
  tls_backend: "tcp://127.0.0.1:$TLSECHO"
  corp: "tcp://127.0.0.1:$PROXY"
YAML
dotnet src/L4P.Host/bin/Release/net10.0/L4P.Host.dll --config "$W/l4p.yaml" > "$W/l4p.log" 2>&1 & PIDS+=($!)
L4P=$!
for _ in $(seq 100); do grep -q "started with" "$W/l4p.log" && break; sleep 0.1; done
python3 scripts/soak_load.py "$L4P" "$minutes" "$every" plain=$PLAIN sni=$SNI via=$VIA echo=$BECHO health=$HEALTH
