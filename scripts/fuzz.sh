#!/usr/bin/env bash
# make fuzz: every fuzz target of fuzz/ under AFL++ for FUZZ_SECONDS (default 60) each, one after
# another, then a table of execs, crashes and hangs per target. Exits 1 when a target crashed.
#
# AFL++ comes from the afl crate's bundled sources (cargo-afl, built into .tools/afl); cargo-fuzz
# would need a nightly toolchain, which cannot be installed here. Findings go to target/fuzz/.
#
#   FUZZ_SECONDS=300 make fuzz              longer runs
#   FUZZ_TARGETS="jsonrpc placeholder" ...  a subset
#   FUZZ_TIMEOUT_MS=1000                    an input slower than this is a hang
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${FUZZ_SECONDS:-60}
TIMEOUT_MS=${FUZZ_TIMEOUT_MS:-1000}
TOOLS=$ROOT/.tools/afl
FINDINGS=$ROOT/target/fuzz
# The instrumented build has its own target dir: its RUSTFLAGS would otherwise rebuild the
# workspace's ordinary artefacts.
export CARGO_TARGET_DIR=$ROOT/target/afl
# cargo-afl keeps AFL++ under $XDG_DATA_HOME/afl.rs.
export XDG_DATA_HOME=$TOOLS/share
export PATH=$TOOLS/bin:$PATH

say() { printf 'fuzz: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# make and a C compiler build AFL++; both are usually there.
need_debian_packages() {
  local missing=()
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from Debian"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# The afl crate's version in Cargo.lock: cargo-afl must match it.
afl_version() {
  awk '/^name = "afl"$/ { found = 1; next } found && /^version = / { gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

install_cargo_afl() {
  local version
  version=$(afl_version)
  if [ -z "$version" ]; then
    say "Cargo.lock has no afl crate; run 'cargo build -p light-gateway-fuzz' first" >&2
    exit 2
  fi
  if ! "$TOOLS/bin/cargo-afl" afl --version 2>/dev/null | grep -q "$version"; then
    say "installing cargo-afl $version into .tools/afl"
    cargo install --locked --quiet --root "$TOOLS" --version "$version" cargo-afl
  fi
  if ! compgen -G "$XDG_DATA_HOME/afl.rs/*/afl.rs-$version/afl/bin/afl-fuzz" >/dev/null; then
    # Without --plugins: the LLVM plugins need a nightly rustc; rustc's own SanitizerCoverage
    # (trace-pc-guard, trace-compares) gives AFL its edge coverage instead.
    say "building AFL++ from the afl crate's sources"
    cargo afl config --build
  fi
}

build() {
  say "building the instrumented targets (release, sancov) into target/afl"
  cargo afl build --release --locked -p light-gateway-fuzz --features afl --bin light-gateway-fuzz
}

# One key of a fuzzer_stats file.
stat() {
  awk -F' *: *' -v key="$2" '$1 == key { print $2 }' "$1"
}

# AFL++ ships dictionaries next to its sources; JSON and YAML help most targets.
dictionaries() {
  local target=$1 afl_dicts
  afl_dicts=$(compgen -G "$XDG_DATA_HOME/afl.rs/AFLplusplus/dictionaries" | head -n1 || true)
  printf -- '-x\n%s\n' "$ROOT/fuzz/dict/$target.dict"
  case $target in
    placeholder | values_layers | config_server) [ -n "$afl_dicts" ] && printf -- '-x\n%s\n' "$afl_dicts/yaml.dict" ;;
    jwt_header) ;;
    *) [ -n "$afl_dicts" ] && printf -- '-x\n%s\n' "$afl_dicts/json.dict" ;;
  esac
  return 0
}

run_target() {
  local target=$1 out=$FINDINGS/$1 dicts
  rm -rf "$out"
  mkdir -p "$out"
  mapfile -t dicts < <(dictionaries "$target")
  say "$target: ${SECONDS_EACH}s"
  # AFL_NO_UI: a log, not a screen; AFL_SKIP_CPUFREQ and AFL_NO_AFFINITY: a container can
  # neither set the governor nor pin cores; the crash check of core_pattern is not ours to fix.
  if ! AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    cargo afl fuzz -i "fuzz/corpus/$target" -o "$out" -V "$SECONDS_EACH" -t "$TIMEOUT_MS" \
    "${dicts[@]}" -- "$CARGO_TARGET_DIR/release/light-gateway-fuzz" "$target" >"$out/afl.log" 2>&1; then
    say "$target: afl-fuzz failed; the end of $out/afl.log:" >&2
    tail -n 20 "$out/afl.log" >&2
    return 1
  fi
}

report() {
  local failed=0 target stats crashes
  printf '\n%-18s %12s %10s %8s %8s %8s %10s\n' target execs execs/s crashes hangs corpus seconds
  for target in "${TARGETS[@]}"; do
    stats=$FINDINGS/$target/default/fuzzer_stats
    if [ ! -f "$stats" ]; then
      printf '%-18s %s\n' "$target" "no fuzzer_stats: the run failed (see $FINDINGS/$target/afl.log)"
      failed=1
      continue
    fi
    crashes=$(stat "$stats" saved_crashes)
    printf '%-18s %12s %10s %8s %8s %8s %10s\n' "$target" "$(stat "$stats" execs_done)" \
      "$(stat "$stats" execs_per_sec)" "$crashes" "$(stat "$stats" saved_hangs)" \
      "$(stat "$stats" corpus_count)" "$(stat "$stats" run_time)"
    if [ "${crashes:-0}" -gt 0 ]; then
      failed=1
      find "$FINDINGS/$target/default/crashes" -type f -name 'id:*' -printf '  crash: %p\n'
    fi
  done
  if [ "$failed" -ne 0 ]; then
    say "findings above; reproduce one with: cargo run -p light-gateway-fuzz -- <target> <crash file>"
  fi
  return "$failed"
}

read -r -a TARGETS <<<"${FUZZ_TARGETS:-placeholder values_layers config_server jsonrpc mcp_request backend_reply controller_frame jwt_header}"
need_debian_packages
install_cargo_afl
build
status=0
for target in "${TARGETS[@]}"; do
  run_target "$target" || status=1
done
report || status=1
exit "$status"
