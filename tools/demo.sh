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

# The demo: a real multi-store Glance, libvirtd with a guest booted from an
# image in a non-default store, and nova's driver with our plugin; then a
# snapshot, a backup, a snapshot to a configured store and a refused one.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
exec "${PYTHON:-python3.11}" -m tox -e demo "$@"
