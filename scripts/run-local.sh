#!/usr/bin/env bash
# Runs the gateway by hand against the mock config-server and mock controller on 127.0.0.1.
# Ctrl-C stops everything. Ports: gateway $GATEWAY_PORT (8080), its metrics $METRICS_PORT
# (9464), config-server 8435 (admin 18435), controller 8438 (admin 18438). The working dir is printed; it is removed on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/debug"
port="${GATEWAY_PORT:-8080}"
metrics_port="${METRICS_PORT:-9464}"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
# An unsigned JWT whose claims match the sample tuple in fixtures/config-server-data.
token="$(b64url '{"alg":"none","typ":"JWT"}').$(b64url '{"host":"local.test","sid":"com.example.mcp-gateway-1.0.0","env":"test"}')."

"$bin/mock-config-server" --data-dir "$root/fixtures/config-server-data" \
  --listen 127.0.0.1:8435 --admin-listen 127.0.0.1:18435 &
"$bin/mock-controller" --listen 127.0.0.1:8438 --admin-listen 127.0.0.1:18438 &

mkdir -p "$work/config"
cat > "$work/config/values.yml" <<VALUES
startup.host: local.test
server.serviceId: com.example.mcp-gateway-1.0.0
server.environment: test
light-config-server-uri: http://127.0.0.1:8435
startup.bootstrapCaCertPath: ""
client.caCertPath: ""
server.ip: 127.0.0.1
server.advertisedAddress: 127.0.0.1
server.httpPort: $port
metrics.prometheusPort: $metrics_port
portalRegistry.portalUrl: http://127.0.0.1:8438
VALUES

cat <<HELP
working dir: $work
try:
  curl -s http://127.0.0.1:$port/health
  curl -s http://127.0.0.1:$metrics_port/metrics
  curl -s http://127.0.0.1:18438/__admin/registrations
  curl -s http://127.0.0.1:18435/__admin/requests
  ls $work/config-cache
HELP
cd "$work"
LIGHT_PORTAL_AUTHORIZATION="Bearer $token" "$bin/light-gateway"
