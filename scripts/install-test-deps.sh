#!/usr/bin/env bash
# Installs the real peers the tests talk to, from Debian packages, when missing.
set -euo pipefail
need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v tinyproxy >/dev/null 2>&1 || need+=(tinyproxy)
command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
/usr/bin/python3 -c "import prometheus_client" >/dev/null 2>&1 || need+=(python3 python3-prometheus-client)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing ${need[*]}; run as root or install them (apt-get install ${need[*]})" >&2
  exit 1
fi
echo "install-test-deps: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
