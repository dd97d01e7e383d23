#!/bin/bash
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

# Install what the tests and the demo need on a fresh Debian 12 machine:
# libvirt + QEMU (a real hypervisor), a C compiler and the headers
# libvirt-python and uWSGI build against, Ceph 16.2 (mon, OSD and the
# rados/rbd Python bindings), MariaDB and RabbitMQ (the all-in-one cloud,
# localenv/cloud.py; never started as system services), and tox. OpenStack
# itself comes from PyPI inside tox and the local environment's own venvs.
set -euo pipefail

cd "$(dirname "$0")/.."
# bindep.txt is the list: its package names, without profiles or comments.
PACKAGES=$(sed -e 's/#.*//' -e 's/\[.*\]//' bindep.txt | awk 'NF {print $1}')
if [ -z "$PACKAGES" ]; then
    echo "[install-deps] no package in bindep.txt" >&2
    exit 1
fi

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "[install-deps] apt-get install:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi

PYTHON=${PYTHON:-python3.11}
if ! "$PYTHON" -m tox --version >/dev/null 2>&1; then
    echo "[install-deps] pip install tox"
    "$PYTHON" -m pip install -q --disable-pip-version-check 'tox>=4'
fi
