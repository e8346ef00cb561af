#!/usr/bin/env bash
# `make conformance`: picks the target (kind when kind and a Docker engine are present, else
# docker, else local), says which and why, and runs the suite. TARGET=... forces one; extra
# flags go in CONFORMANCE_ARGS (for example "--values fixtures/values/pvc-cache.yaml --keep").
set -euo pipefail
cd "$(dirname "$0")/.."

target="${TARGET:-}"
if [ -z "$target" ]; then
  docker_ok=false
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then docker_ok=true; fi
  if command -v kind >/dev/null 2>&1 && $docker_ok; then
    target=kind; why="kind and a Docker engine are present"
  elif $docker_ok; then
    target=docker; why="a Docker engine is present but kind is not"
  else
    target=local; why="neither kind nor a Docker engine is available"
  fi
  echo "conformance: target $target ($why; TARGET= forces one)"
else
  echo "conformance: target $target (forced by TARGET)"
fi
if [ "$target" = docker ] || [ "$target" = kind ]; then
  ./scripts/image.sh   # version-tagged images; no registry needed
fi
# shellcheck disable=SC2086
exec target/debug/light-gateway-conformance run --target "$target" ${CONFORMANCE_ARGS:-}
