#!/usr/bin/env bash
# Debian packages the checks need, installed when one of their commands is missing.
# Usage: install-debian-tools.sh "COMMAND..." PACKAGE...  (the commands to look for, then the packages)
set -euo pipefail
commands=$1
shift
missing=()
for tool in $commands; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing $* (missing: ${missing[*]})" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root, or install them yourself: apt-get install -y $*" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
