#!/usr/bin/env bash
# make soak: 10 minutes of mixed load on the gateway at about 1000 requests/s (stateless
# tools/call, legacy sessions opened and closed, tools/list), every answer checked, the gateway's
# RSS and open fds sampled; a table per minute and the verdict go to bench/results/soak.md, and a
# failed verdict exits non-zero. The driver is bench/src/soak/ (`light-gateway-bench soak`).
# The gateway is the release build: the shipped `dist` profile links with fat LTO for many
# minutes (SOAK_PROFILE=dist measures it anyway). The mocks and the driver are release builds in a
# separate cargo call, as make bench does, so their features do not unify into the gateway.
# Settings (environment): SOAK_RATE (requests/s, 1000), SOAK_DURATION (s, 600), SOAK_PERIOD
# (s per reported minute, 60; shorter only to try it out), SOAK_SAMPLE_EVERY (s, 5),
# SOAK_OUT (bench/results/soak.md), SOAK_PROFILE (release); SOAK_ARGS passes more flags
# (see light-gateway-bench soak --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cargo="${CARGO:-cargo}"
profile="${SOAK_PROFILE:-release}"
"$cargo" build --profile "$profile" -p light-gateway --bin light-gateway
"$cargo" build --release -p light-gateway-fixtures -p light-gateway-bench --bins
target_dir="${CARGO_TARGET_DIR:-$root/target}"

echo "soak: load before the start: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(nproc) cores"
# shellcheck disable=SC2086
exec "$target_dir/release/light-gateway-bench" soak --bin-dir "$target_dir/release" \
  --gateway-bin "$target_dir/$profile/light-gateway" --build "$profile" ${SOAK_ARGS:-}
