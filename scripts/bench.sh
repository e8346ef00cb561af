#!/usr/bin/env bash
# make bench: the gateway as shipped (`dist` profile), release builds of the fixtures and the
# bench driver (a separate cargo call, so features do not unify into the gateway), then the driver
# (bench/src/main.rs), which starts everything on 127.0.0.1 and writes bench/results/.
# Installs wrk, nginx-light and a TTF font (for the chart) from Debian packages when missing.
# Settings (environment): BENCH_DURATION (s, 5), BENCH_WARMUP (s, 1), BENCH_RUNS (3),
# BENCH_CONCURRENCY (1,16,64), BENCH_WORKLOADS (stateless,stateless-jwt,legacy,health), BENCH_STARTS (20),
# BENCH_OUT (bench/results); BENCH_ARGS passes more flags (see --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo="${CARGO:-cargo}"
"$cargo" build --profile dist -p light-gateway --bin light-gateway
"$cargo" build --release -p light-gateway-fixtures -p light-gateway-bench --bins
target_dir="${CARGO_TARGET_DIR:-$root/target}"

echo "bench: load before the start: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(nproc) cores"
# shellcheck disable=SC2086
exec "$target_dir/release/light-gateway-bench" --bin-dir "$target_dir/release" \
  --gateway-bin "$target_dir/dist/light-gateway" ${BENCH_ARGS:-}
