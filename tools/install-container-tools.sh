#!/usr/bin/env bash
# The container tools the images and the container night need, from Debian's packages:
# podman with runc (its default runtime, crun, refuses these machines' hybrid cgroups),
# mmdebstrap for the base image, uidmap and fuse-overlayfs for podman's storage.
set -euo pipefail
missing=()
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing the container tools (missing: ${missing[*]})" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root, or install them yourself: apt-get install -y podman runc mmdebstrap uidmap fuse-overlayfs" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends podman runc mmdebstrap uidmap fuse-overlayfs >/dev/null
