#!/usr/bin/env bash
# Build the image with podman, and run it: `deploy/container/build.sh [TAG]`.
# Where registries are reachable, `podman build -t lukhas-facade .` (or docker) is all it takes.
# Where they are not (only PyPI and Debian's archive), the base image is made here first: a
# Debian bookworm root file system from debootstrap with Python 3.11, imported as
# localhost/lukhas-python-base:bookworm (once; kept by podman). Prints build time and size.
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG=${1:-lukhas-facade:local}
BASE=localhost/lukhas-python-base:bookworm
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/container/containers.conf}

if ! podman image exists "$BASE"; then
  ROOTFS=$(mktemp -d)
  trap 'rm -rf "$ROOTFS"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
    bookworm "$ROOTFS" http://deb.debian.org/debian >/dev/null
  tar -C "$ROOTFS" -c . | podman import --change 'CMD ["python"]' - "$BASE" >/dev/null
fi

# The host's pip settings and certificate authorities (a mirror or a proxy's CA) for the build.
MOUNTS=(-v /etc/ssl/certs:/etc/ssl/certs:ro)
[ -f /etc/pip.conf ] && MOUNTS+=(-v /etc/pip.conf:/etc/pip.conf:ro)
START=$(date +%s)
podman build --quiet --format docker --network host "${MOUNTS[@]}" --build-arg PYTHON_IMAGE="$BASE" \
  -t "$TAG" . >/dev/null
SIZE=$(podman image inspect --format '{{.Size}}' "$TAG")
echo "built $TAG in $(( $(date +%s) - START )) s, $(awk -v s="$SIZE" 'BEGIN{printf "%.0f", s/1e6}') MB"
