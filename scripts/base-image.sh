#!/usr/bin/env bash
# Makes the Dockerfiles' base image from Debian packages when no registry can supply it:
# debootstrap (minbase) of Debian bookworm, trimmed like the official slim image, then
# `docker import` under the name the Dockerfiles use. Does nothing when the image exists.
#   usage: scripts/base-image.sh [image]   (default debian:bookworm-slim)
set -euo pipefail
image="${1:-debian:bookworm-slim}"
suite="${DEBIAN_SUITE:-bookworm}"

# The Debian mirror this machine's apt uses (no host is baked in here): the first `deb` source
# in /etc/apt whose URI is a Debian archive (its path ends in /debian) and that carries a plain
# release suite (not -security or -updates). DEBIAN_MIRROR overrides it.
apt_mirror() {
  local f
  # deb822 files: a stanza's Types, URIs and Suites, in any order.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush() { if (types ~ /(^| )deb( |$)/ && plain && uri ~ /\/debian\/?$/) { print uri; found = 1; exit } types = ""; uri = ""; plain = 0 }
      /^[[:space:]]*$/ { flush(); next }
      /^Types:/ { types = $0; sub(/^Types:[[:space:]]*/, "", types) }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
      END { if (!found) flush() }
    ' "$f"
  done
  # One-line files: deb [options] URI suite components...
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($i ~ /\/debian\/?$/ && $(i + 1) !~ /-/) { print $i; exit } }' "$f"
  done
}
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  found=$(apt_mirror)
  mirror="${found%%$'\n'*}"
fi

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base-image: $image is present"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "base-image: installing debootstrap"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq debootstrap >/dev/null
fi
if [ -z "$mirror" ]; then
  echo "base-image: no Debian mirror found in /etc/apt (sources.list, sources.list.d); set DEBIAN_MIRROR" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap $suite from $mirror (about a minute)"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { cat "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Trim what the slim image leaves out.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
       "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$image" >/dev/null
echo "base-image: imported $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
