#!/usr/bin/env bash
# Profiles the gateway's request path for the stateless tools/call workload with callgrind.
#
# Builds the gateway as shipped (the dist profile: fat LTO, one codegen unit) with debug symbols
# into $PROFILE_TARGET_DIR (/tmp/bench-target, so the workspace's target dir stays as it is), starts the rmcp backend, the mock
# config-server and controller from target/release, runs the gateway under callgrind with
# instrumentation off until it is ready, sends $PROFILE_REQUESTS (4000) stateless tools/call over
# $PROFILE_CONNECTIONS (4) keep-alive connections with wrk, switches instrumentation off, stops the
# gateway, and writes callgrind.out plus callgrind_annotate's inclusive and self tops to
# $PROFILE_OUT (bench/results/profile), and the instructions per call (the run's total over the
# calls sent; everything the gateway did while instrumented is charged to the calls).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tdir="${PROFILE_TARGET_DIR:-/tmp/bench-target}"
out="${PROFILE_OUT:-$root/bench/results/profile}"
requests="${PROFILE_REQUESTS:-4000}"
connections="${PROFILE_CONNECTIONS:-4}"
bin="${CARGO_TARGET_DIR:-$root/target}/release"

missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

CARGO_TARGET_DIR="$tdir" CARGO_PROFILE_DIST_DEBUG=true cargo build --profile dist -p light-gateway
# The same package set as scripts/bench.sh, so features unify alike and nothing rebuilds.
cargo build --release -p light-gateway -p light-gateway-fixtures -p light-gateway-bench --bins

work=$(mktemp -d)
pids=()
cleanup() {
  # The mocks' pids come from a file: start_mock runs in a command substitution's subshell,
  # whose additions to `pids` never reach this shell (they were left running before).
  [ -f "$work/mock.pids" ] && mapfile -t -O "${#pids[@]}" pids <"$work/mock.pids"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a mock with its stdout in $work/<name>.out and prints its main URL.
start_mock() {
  local name=$1; shift
  RUST_LOG=warn "$bin/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  echo $! >>"$work/mock.pids"
  for _ in $(seq 100); do
    if grep -q LISTENING "$work/$name.out" 2>/dev/null; then
      sed -n 's/.*main=\([^ ]*\).*/\1/p' "$work/$name.out"
      return
    fi
    sleep 0.05
  done
  echo "$name did not start" >&2; cat "$work/$name.err" >&2; exit 1
}

backend=$(start_mock mock-mcp-server --instance backend --session-mode legacy)
tuple="$work/data/local.test/com.example.mcp-gateway-1.0.0/test"
mkdir -p "$tuple"
# The audit line off, as in make bench (nginx runs with access_log off); metrics on, as shipped.
cat >"$tuple/values.yml" <<VALUES
mcpAudit.enabled: false
handler.handlers: [mcp]
handler.chains: {mcp-chain: [mcp]}
handler.paths: [{path: /mcp, method: POST, exec: [mcp-chain]}]
handler.defaultHandlers: []
mcp-router.tools:
  - {name: echo, apiType: mcp, backendMcpProtocol: stateless, targetHost: '$backend', path: /mcp, toolMetadata: {runtime: {allowPrivateTargetHost: true}}}
VALUES
config_server=$(start_mock mock-config-server --data-dir "$work/data")
controller=$(start_mock mock-controller)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/app/config" "$out"
cat >"$work/app/config/values.yml" <<VALUES
startup.host: local.test
server.serviceId: com.example.mcp-gateway-1.0.0
server.environment: test
light-config-server-uri: $config_server
startup.bootstrapCaCertPath: ""
client.caCertPath: ""
server.ip: 127.0.0.1
server.advertisedAddress: 127.0.0.1
server.httpPort: $port
portalRegistry.portalUrl: $controller
VALUES
b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
token="$(b64url '{"alg":"none","typ":"JWT"}').$(b64url '{"host":"local.test","sid":"com.example.mcp-gateway-1.0.0","env":"test"}')."

(cd "$work/app" && LIGHT_PORTAL_AUTHORIZATION="Bearer $token" RUST_LOG=warn exec valgrind --tool=callgrind \
  --instr-atstart=no --callgrind-out-file="$out/callgrind.out" "$tdir/dist/light-gateway" \
  >"$work/gateway.out" 2>"$work/gateway.err") &
gateway=$!
pids+=("$gateway")

body='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"msg":"bench"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
call() {
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' -d "$body" || true
}
for _ in $(seq 600); do
  [ "$(call)" = 200 ] && break
  sleep 0.1
done
[ "$(call)" = 200 ] || { echo "the gateway did not become ready"; tail -20 "$work/gateway.err"; exit 1; }

cat >"$work/calls.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "echo"
local seen = 0
function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then print("status " .. status) end
  if seen == $requests then
    wrk.thread:stop()
    io.open("$work/calls.done", "w"):close()
  end
end
LUA
callgrind_control -i on "$gateway" >/dev/null
# wrk's main thread sleeps for -d even after its thread stopped: SIGINT ends it (and it reports).
wrk -t1 -c"$connections" -d600s --timeout 30s -s "$work/calls.lua" "http://127.0.0.1:$port/mcp" >"$out/wrk.txt" &
wrk_pid=$!
pids+=("$wrk_pid")
until [ -e "$work/calls.done" ] || ! kill -0 "$wrk_pid" 2>/dev/null; do sleep 0.2; done
callgrind_control -i off "$gateway" >/dev/null
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
cat "$out/wrk.txt"
kill -TERM "$gateway"
wait "$gateway" || true

# The tops (first 120 lines) are what results are read from; callgrind.out stays local
# (gitignored) for kcachegrind or callgrind_annotate --tree=caller.
# Whole annotations first, then cut: `| head` under pipefail would fail on SIGPIPE.
callgrind_annotate --inclusive=yes "$out/callgrind.out" >"$work/inclusive.txt"
callgrind_annotate "$out/callgrind.out" >"$work/self.txt"
head -120 "$work/inclusive.txt" >"$out/inclusive.txt"
head -120 "$work/self.txt" >"$out/self.txt"
total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out/callgrind.out" | head -1)
if [ -n "$total" ]; then
  echo "instructions per call: $((total / requests)) ($total over $requests calls)" | tee "$out/per-call.txt"
fi
echo "profile: $out/callgrind.out; tops in $out/inclusive.txt and $out/self.txt"
head -40 "$out/self.txt"
