#!/bin/bash
# The demo: a real multi-store Glance, libvirtd with a guest booted from an
# image in a non-default store, and nova's driver with our plugin; then a
# snapshot, a backup, a snapshot to a configured store and a refused one.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
exec "${PYTHON:-python3.11}" -m tox -e demo "$@"
