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

"""devstack/rgw_keys.py: the first S3 key pair of radosgw-admin's JSON."""

import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', 'devstack',
                      'rgw_keys.py')


def _run(user):
    return subprocess.run([sys.executable, SCRIPT], input=json.dumps(user),
                          capture_output=True, text=True, timeout=30)


def test_prints_access_and_secret_of_the_first_key():
    done = _run({'user_id': 'glance-fast', 'keys': [
        {'user': 'glance-fast', 'access_key': 'AK1', 'secret_key': 'SK1'},
        {'user': 'glance-fast', 'access_key': 'AK2', 'secret_key': 'SK2'}]})
    assert (done.returncode, done.stdout) == (0, 'AK1 SK1\n')


def test_a_user_without_keys_fails_with_its_name():
    done = _run({'user_id': 'glance-fast', 'keys': []})
    assert done.returncode == 1
    assert 'glance-fast has no S3 keys' in done.stderr
    assert done.stdout == ''
