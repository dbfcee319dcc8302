#!/usr/bin/env bash
# Start a Docker daemon that creates no bridge network (containers run with --network none
# or --network host only). Usage: scripts/dockerd.sh
set -euo pipefail
if docker info >/dev/null 2>&1; then echo "dockerd already running"; exit 0; fi
command -v dockerd >/dev/null || { apt-get update -qq && apt-get install -y -qq docker.io; }
nohup dockerd --bridge=none --iptables=false >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 50); do docker info >/dev/null 2>&1 && { echo "dockerd started"; exit 0; }; sleep 0.2; done
echo "dockerd did not start; see /tmp/dockerd.log" >&2; exit 1
