#!/usr/bin/env bash
# Builds the images with version tags (never `latest`): light-gateway:<version> and
# light-gateway-fixtures:<version>. Binaries are built on the host (the gateway with the `dist`
# profile, whole-program optimised; the fixtures with `release`, in a separate cargo call so
# their features do not unify into the gateway) and wrapped by the Dockerfiles' `prebuilt`
# stage, so no builder image has to be pulled; the base image is made from Debian packages when
# it is missing (scripts/base-image.sh).
#   usage: scripts/image.sh            prints the two image references on the last line
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || { echo "image: no version in Cargo.toml [workspace.package]" >&2; exit 1; }
gateway="light-gateway:$version"
fixtures="light-gateway-fixtures:$version"

./scripts/base-image.sh debian:bookworm-slim
cargo build --profile dist --locked -p light-gateway --bin light-gateway
cargo build --release --locked -p light-gateway-fixtures --bins
docker build -q -f gateway/Dockerfile --target prebuilt -t "$gateway" . >/dev/null
docker build -q -f fixtures/Dockerfile --target prebuilt -t "$fixtures" . >/dev/null
for image in "$gateway" "$fixtures"; do
  size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}')
  echo "image: $image ($size)"
done
echo "$gateway $fixtures"
