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
