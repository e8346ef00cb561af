#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and test this repo, and the
# repo-local .venv with the Python tools of the chart tests.
# Idempotent: skips what is already there. Needs root or sudo for apt-get.
set -euo pipefail

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)      # pingora's zlib-ng build
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v make >/dev/null 2>&1 || need_apt+=(make)
# The chart tests' tools (helm-python-sdk, kubernetes-validate) go into a venv: python3 with
# its venv and ensurepip modules.
if ! command -v python3 >/dev/null 2>&1; then
  need_apt+=(python3 python3-venv)
elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi

if [ "${#need_apt[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo is missing: install Rust from https://rustup.rs" >&2; exit 1; }

# Repo-local .venv for the chart tests; a no-op when it is current.
cd "$(dirname "$0")/.."
make --no-print-directory venv
# The helm CLI the chart tests compare with libhelm_c (and kubectl), into .tools/bin.
./scripts/install-helm.sh
echo "setup: ok (cmake $(cmake --version | head -n1 | awk '{print $3}'), $(cargo --version), $(.venv/bin/python --version), .venv has helm-python-sdk and kubernetes-validate, .tools/bin has helm $(.tools/bin/helm version --short))"
