#!/usr/bin/env bash
# Build the monitor image offline: wheels for the base image's Python are downloaded on the host
# (which reaches the package registry) into ./wheels, and the image installs only from there.
# Usage: scripts/docker-build.sh [BASE_IMAGE] [TAG]    (default base: python:3.11-slim)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${1:-python:3.11-slim}"
TAG="${2:-monitor:latest}"
PY="${PYTHON:-python3.11}"
TARGET="$(docker run --rm --network none "$BASE" python3 -c \
  'import platform; print(platform.python_version())')"
rm -rf wheels && mkdir -p wheels
"$PY" -m pip wheel --quiet --no-deps --wheel-dir wheels .
"$PY" -m pip download --quiet --dest wheels --only-binary=:all: --implementation cp \
  --python-version "$TARGET" --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform linux_x86_64 wheels/monitor-*.whl
docker build --network none --build-arg BASE_IMAGE="$BASE" --build-arg WHEELHOUSE=wheels -t "$TAG" .
echo "built $TAG from $BASE (Python $TARGET)"
