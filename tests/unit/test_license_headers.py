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

"""Every source file carries the Apache 2.0 header (empty ones excepted)."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HEADER = 'Licensed under the Apache License, Version 2.0'
SHELL = ('devstack/settings', '.ci/run')


def _sources():
    try:
        listed = subprocess.run(['git', 'ls-files'], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip('not a git checkout (%s): the file list is git\'s' % e)
    return [path for path in listed.split()
            if path.endswith(('.py', '.sh')) or path in SHELL]


def test_every_source_file_has_the_license_header():
    missing = []
    for path in _sources():
        with open(os.path.join(ROOT, path)) as handle:
            text = handle.read()
        if text.strip() and HEADER not in text[:1000]:
            missing.append(path)
    assert not missing, 'no Apache 2.0 header in: %s' % ', '.join(missing)
    assert os.path.exists(os.path.join(ROOT, 'LICENSE'))
