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

"""The cephx caps of a user with read and write access to more pools.

Used by plugin.sh: reads ``ceph auth get client.<user> --format json`` on
stdin and, when the user cannot yet write one of the pools named on the
command line, prints the arguments of ``ceph auth caps`` (service, caps,
one per line) with ``allow rwx pool=<pool>`` added for each; prints
nothing when no pool is missing. Every other cap is kept as it is, since
``ceph auth caps`` replaces them all.
"""

import json
import re
import sys


def writable(grants, pool):
    pattern = r'(allow (rwx|\*)|profile rbd) pool=%s' % re.escape(pool)
    return any(re.fullmatch(pattern, grant) for grant in grants)


def extended_caps(entry, pools):
    """The caps with each missing pool added, or None if none is missing."""
    caps = dict(entry.get('caps') or {})
    grants = [g.strip() for g in caps.get('osd', '').split(',') if g.strip()]
    missing = ['allow rwx pool=%s' % pool for pool in pools
               if not writable(grants, pool)]
    if not missing:
        return None
    caps['osd'] = ', '.join(grants + missing)
    return caps


def main(argv):
    caps = extended_caps(json.load(sys.stdin)[0], argv)
    for service in sorted(caps or {}):
        print(service)
        print(caps[service])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
