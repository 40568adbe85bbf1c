#!/usr/bin/env bash
# The container tools the images and the container night need, from Debian's packages:
# podman with runc (its default runtime, crun, refuses these machines' hybrid cgroups),
# mmdebstrap for the base image, uidmap and fuse-overlayfs for podman's storage.
set -euo pipefail
exec bash "$(dirname "$0")/install-debian-tools.sh" "podman runc mmdebstrap" podman runc mmdebstrap uidmap fuse-overlayfs
