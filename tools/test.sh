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

# The test command: install what is needed, then lint, unit and functional
# tests (real Glance, libvirt/QEMU and nova code on 127.0.0.1), then an
# all-in-one cloud running our tempest plugin and upstream tempest.
# Strict: a test or phase that cannot run for a missing real part (root,
# libvirt/QEMU, Ceph, Keystone, ...) fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
export NGM_STRICT=1
exec "${PYTHON:-python3.11}" -m tox -e pep8,py3,docs,releasenotes,functional,tempest-aio "$@"
