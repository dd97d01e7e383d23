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


"""How Glance's store list spells its facts, in one place.

Shared by nova-compute's side and the tempest plugin, so it imports
nothing from nova (a tempest venv may have no nova).
"""

# Glance's own stores (staging, tasks): never listed, never a target.
RESERVED_PREFIX = 'os_glance_'


def flag(value: object) -> bool:
    """A ``default``/``read-only`` flag of ``GET /v2/info/stores``.

    Glance sends the strings "true"/"false" (JSON booleans are accepted);
    anything else, a number included, is not a Glance answer and is false.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == 'true'
    return False


def is_reserved(store_id: object) -> bool:
    return isinstance(store_id, str) and store_id.startswith(RESERVED_PREFIX)
