#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and test this repo.
# Idempotent: skips what is already there. Needs root or sudo for apt-get.
set -euo pipefail

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)      # pingora's zlib-ng build
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)

if [ "${#need_apt[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo is missing: install Rust from https://rustup.rs" >&2; exit 1; }
echo "setup: ok (cmake $(cmake --version | head -n1 | awk '{print $3}'), $(cargo --version))"
