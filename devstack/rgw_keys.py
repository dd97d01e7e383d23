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
