"""Print an RGW user's S3 keys ("ACCESS SECRET") from radosgw-admin JSON.

``radosgw-admin user info|create`` prints the user as JSON on stdin; the
plugin reads the two words into shell variables (never a command line).
"""

import json
import sys


def main():
    user = json.load(sys.stdin)
    keys = user.get('keys') or []
    if not keys:
        sys.exit('RGW user %s has no S3 keys' % user.get('user_id'))
    sys.stdout.write('%s %s\n' % (keys[0]['access_key'],
                                  keys[0]['secret_key']))


if __name__ == '__main__':
    main()
