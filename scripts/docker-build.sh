#!/usr/bin/env bash
# Build the monitor image offline: wheels are downloaded on the host (which reaches the package
# registry) into ./wheels, and the image installs only from there.
# Usage: scripts/docker-build.sh [BASE_IMAGE] [TAG]    (default base: python:3.11-slim)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${1:-python:3.11-slim}"
TAG="${2:-monitor:latest}"
PY="${PYTHON:-python3.11}"
rm -rf wheels && mkdir -p wheels
"$PY" -m pip wheel --quiet --wheel-dir wheels .
docker build --network none --build-arg BASE_IMAGE="$BASE" --build-arg WHEELHOUSE=wheels -t "$TAG" .
echo "built $TAG from $BASE"
