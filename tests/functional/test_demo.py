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

"""The README's demo runs, and every operation in its table is as expected.

It is the project's main job on the embedded local environment (its own
Glance, libvirtd and nova-compute driver), so it is run here as an
operator runs it: ``python -m localenv.demo``, its exit code and table.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

pytestmark = pytest.mark.usefixtures('real_libvirt', 'real_glance')


def test_demo_runs_every_operation_as_expected():
    done = subprocess.run([sys.executable, '-m', 'localenv.demo'], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split('  ')[0]: line for line in done.stdout.splitlines()}
    refused = rows['snapshot, [glance] store=nowhere']
    assert 'refused (it is not enabled in Glance); no image left' in refused
    assert rows['snapshot'].rstrip().endswith('yes')
    assert '5 operations, 5 as expected' in done.stdout, done.stdout
