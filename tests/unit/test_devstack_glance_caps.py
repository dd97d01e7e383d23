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

"""devstack/glance_caps.py: caps widened, never replaced or repeated."""

import importlib.util
import os

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', 'devstack',
                      'glance_caps.py')
_spec = importlib.util.spec_from_file_location('glance_caps', SCRIPT)
glance_caps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(glance_caps)

PLUGIN_CEPH = {'caps': {
    'mon': 'allow r',
    'osd': 'allow class-read object_prefix rbd_children, allow rwx '
           'pool=images'}}


def test_missing_pools_are_added_and_other_caps_kept():
    assert glance_caps.extended_caps(PLUGIN_CEPH, ['images', 'vms']) == {
        'mon': 'allow r',
        'osd': 'allow class-read object_prefix rbd_children, allow rwx '
               'pool=images, allow rwx pool=vms'}


def test_nothing_to_do_when_every_pool_is_writable():
    entry = {'caps': {'mon': 'profile rbd',
                      'osd': 'profile rbd pool=vms, allow rwx pool=images'}}
    assert glance_caps.extended_caps(entry, ['vms', 'images']) is None


def test_read_only_or_lookalike_grants_do_not_count():
    entry = {'caps': {'osd': 'allow r pool=vms, allow rwx pool=vms2'}}
    assert glance_caps.extended_caps(entry, ['vms'])['osd'] == (
        'allow r pool=vms, allow rwx pool=vms2, allow rwx pool=vms')
