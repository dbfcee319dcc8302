#!/usr/bin/env bash
# Build a local Debian base image with Python 3.11 (debootstrap + docker import), for machines
# where no base image can be pulled. Usage: scripts/base-image.sh [IMAGE_NAME]
# The Debian mirror is the one this machine's apt already uses (the first URI in its sources).
set -euo pipefail
IMAGE="${1:-local/bookworm-py}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE already present"; exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
MIRROR="$(grep -rhoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)"
ROOTFS="$(mktemp -d /tmp/monitor-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$ROOTFS" ${MIRROR:+"$MIRROR"} >/dev/null
tar -C "$ROOTFS" -c . | docker import - "$IMAGE" >/dev/null
echo "built $IMAGE"
