#!/usr/bin/env bash
# Three L4P nodes on loopback in one Akka cluster: traffic through all three, one killed, the others
# keep serving and /cluster follows. Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release src/L4P.Host -v q -nologo >/dev/null
W=$(mktemp -d /tmp/l4p-cluster.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
for i in 0 1 2; do
  cat > "$W/node$i.yaml" <<YAML
version: 1
log: warn
cluster: { enabled: true, hostname: 127.0.0.1, port: $((14053 + i)), seed_nodes: ["127.0.0.1:14053", "127.0.0.1:14054"], roles: [proxy] }
servers:
  admin: { listen: ["127.0.0.1:$((18180 + i))"], default: admin }   # /cluster: the admin built-in, loopback only
  echo: { listen: ["127.0.0.1:$((17170 + i))"], default: echo, maxclients: 4, maxclients_scope: cluster }
YAML
  dotnet src/L4P.Host/bin/Release/net10.0/L4P.Host.dll --config "$W/node$i.yaml" > "$W/node$i.log" 2>&1 &
  PIDS+=($!)
done
fleet() { curl -s "http://127.0.0.1:$1/cluster" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s=%s(active %s)" % (m["address"].split("@")[1], m["status"], m["active_connections"]) for m in d["members"]))'; }
echo "waiting for three members..."
for _ in $(seq 60); do n=$(curl -s http://127.0.0.1:18180/cluster | grep -o '"status": "up"' | wc -l || true); [ "$n" = 3 ] && break; sleep 1; done
echo "node 0 sees: $(fleet 18180)"
for i in 0 1 2; do printf "echo through node %s: %s\n" $i "$(printf hello | socat - TCP:127.0.0.1:$((17170 + i)),shut-down 2>/dev/null || echo FAILED)"; done
echo "holding 4 connections, two on node 0 and two on node 2 (echo has maxclients: 4 for the whole fleet)..."
HOLD=()
for port in 17170 17172 17170 17172; do
  python3 -c "import socket, time; s = socket.create_connection(('127.0.0.1', $port)); time.sleep(600)" >/dev/null 2>&1 &
  HOLD+=($!); PIDS+=($!); sleep 0.8
done
sleep 1
printf "a fifth through node 1: %s\n" "$(printf hello | socat - TCP:127.0.0.1:17171,shut-down 2>/dev/null | grep -q hello && echo admitted || echo refused)"
curl -s http://127.0.0.1:18181/cluster | python3 -c 'import json,sys; [print("node 1 limits: %s" % l) for l in json.load(sys.stdin)["limits"]]'
for p in "${HOLD[@]}"; do kill "$p" 2>/dev/null || true; done
echo "killing node 2 (SIGKILL: no graceful leave; the split-brain resolver downs it)"
kill -9 "${PIDS[2]}"
for _ in $(seq 60); do n=$(curl -s http://127.0.0.1:18180/cluster | grep -c 14055 || true); [ "$n" = 0 ] && break; sleep 1; done
echo "node 0 sees: $(fleet 18180)"
for i in 0 1; do printf "echo through node %s: %s\n" $i "$(printf hello | socat - TCP:127.0.0.1:$((17170 + i)),shut-down 2>/dev/null || echo FAILED)"; done
