#!/usr/bin/env bash
# Three L4P nodes on loopback in one Akka cluster: traffic through all three; one frozen (SIGSTOP) past
# its downing keeps its relay and rejoins by itself after SIGCONT; one killed, the others keep serving
# and /cluster follows. Stops everything it started.
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
# down_after: 5s (default 20s) so the freeze below takes seconds, not a minute.
cluster: { enabled: true, hostname: 127.0.0.1, port: $((14053 + i)), seed_nodes: ["127.0.0.1:14053", "127.0.0.1:14054"], roles: [proxy], down_after: 5s }
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
state() { curl -s "http://127.0.0.1:$1/cluster" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
echo "a relay held through node 2, one echo a second (its log: $W/held.log)"
python3 -c "
import socket, sys, time
s = socket.create_connection(('127.0.0.1', 17172)); s.settimeout(60)
for i in range(90):
    s.sendall(b'ping'); print('held relay:', s.recv(4).decode(), flush=True); time.sleep(1)
" > "$W/held.log" 2>&1 &
PIDS+=($!); sleep 2
echo "freezing node 2 (SIGSTOP: a GC pause, a stalled VM) until the others have downed it..."
kill -STOP "${PIDS[2]}"
for _ in $(seq 60); do n=$(curl -s http://127.0.0.1:18180/cluster | grep -c 14055 || true); [ "$n" = 0 ] && break; sleep 1; done
echo "node 0 sees: $(fleet 18180)"
sleep 3
echo "SIGCONT: node 2 is downed on its side too, detaches, keeps serving and rejoins by itself"
kill -CONT "${PIDS[2]}"
seen=""
for t in $(seq 40); do
  s2=$(state 18182 2>/dev/null || echo "?")
  printf "  +%2ss node 2 state %-9s new connection: %s\n" "$t" "$s2" "$(printf hello | socat - TCP:127.0.0.1:17172,shut-down 2>/dev/null || echo FAILED)"
  [ "$s2" = detached ] && seen=1
  [ "$s2" = up ] && [ -n "$seen" ] && break
  sleep 1
done
sleep 1 # the console logger writes behind
echo "node 0 sees: $(fleet 18180)"
echo "node 2 logged: $(grep -h -o 'cluster: .* is \(out of the cluster\|a member again\)[^;]*' "$W/node2.log" | tr '\n' '|')"
echo "held relay answered $(grep -c 'held relay: ping' "$W/held.log") pings, last: $(tail -1 "$W/held.log")"
echo "killing node 2 (SIGKILL: no graceful leave; the split-brain resolver downs it)"
kill -9 "${PIDS[2]}"
for _ in $(seq 60); do n=$(curl -s http://127.0.0.1:18180/cluster | grep -c 14055 || true); [ "$n" = 0 ] && break; sleep 1; done
echo "node 0 sees: $(fleet 18180)"
for i in 0 1; do printf "echo through node %s: %s\n" $i "$(printf hello | socat - TCP:127.0.0.1:$((17170 + i)),shut-down 2>/dev/null || echo FAILED)"; done
