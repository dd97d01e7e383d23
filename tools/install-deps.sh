#!/bin/bash
# Install what the tests and the demo need on a fresh Debian 12 machine:
# libvirt + QEMU (a real hypervisor), a C compiler and the headers
# libvirt-python and uWSGI build against, Ceph 16.2 (mon, OSD and the
# rados/rbd Python bindings), MariaDB and RabbitMQ (the all-in-one cloud,
# localenv/cloud.py; never started as system services), and tox. OpenStack
# itself comes from PyPI inside tox and the local environment's own venvs.
set -euo pipefail

PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
qemu-system-x86 qemu-utils libvirt-dev pkg-config
ceph-mon ceph-osd ceph-mgr ceph-common python3-rbd python3-rados qemu-block-extra radosgw
mariadb-server mariadb-client rabbitmq-server gcc libc6-dev"

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
