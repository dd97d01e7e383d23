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

"""tempest-aio's "green means it ran": which skips fail a phase."""

import json
import os
import subprocess
import sys
import textwrap

from localenv import tempest_aio

SNAP = 'nova_glance_multistore.tempest_plugin.tests.api.test_snapshot_stores'
PHASE1 = tempest_aio.EXPECTED_SKIPS['plugin + upstream']
PHASE3 = tempest_aio.EXPECTED_SKIPS['ceph-native']


class _Cloud:
    def __init__(self, cinder, object_stores=('fast',)):
        self.cinder, self.object_stores = cinder, list(object_stores)

    def has_cinder(self):
        return self.cinder

    def plugin_object_stores(self):
        return self.object_stores


VOLUME_BACKED_SKIP = (
    'nova_glance_multistore.tempest_plugin.tests.api.test_volume_snapshots.'
    'VolumeBackedSnapshotTest.test_volume_backed_snapshot[id-1234]',
    'cinder is not available')


def test_volume_backed_skip_is_expected_only_without_cinder():
    without = tempest_aio.expected_skips(_Cloud(False), 'plugin + upstream')
    assert tempest_aio.unexpected_skips([VOLUME_BACKED_SKIP], without) == []
    with_cinder = tempest_aio.expected_skips(_Cloud(True),
                                             'plugin + upstream')
    assert tempest_aio.unexpected_skips([VOLUME_BACKED_SKIP],
                                        with_cinder) == [VOLUME_BACKED_SKIP]


def test_store_phase_expects_the_skip_of_what_the_cloud_lacks():
    cinder_skip = ('setUpClass (nova_glance_multistore.tempest_plugin.tests.'
                   'api.test_volume_snapshots.CinderStoreSnapshotTest)', 'x')
    object_skip = ('setUpClass (%s.ObjectStoreSnapshotTest)' % SNAP, 'y')
    both = [cinder_skip, object_skip]
    assert tempest_aio.unexpected_skips(both, tempest_aio.expected_skips(
        _Cloud(True), 'object stores')) == both
    assert tempest_aio.unexpected_skips(both, tempest_aio.expected_skips(
        _Cloud(False), 'object stores')) == [object_skip]
    assert tempest_aio.unexpected_skips(both, tempest_aio.expected_skips(
        _Cloud(False, ()), 'object stores')) == []


def test_expected_skips_pass_as_test_or_class_level_skips():
    skips = [
        ('setUpClass (%s.CephNativeSnapshotTest)' % SNAP,
         'No ceph-native snapshots expected'),
        ('setUpClass (%s.DedicatedStoreSnapshotTest)' % SNAP,
         'No dedicated snapshot store configured'),
    ]
    assert tempest_aio.unexpected_skips(skips, PHASE1) == []


def test_a_skip_expected_in_one_phase_fails_another():
    skip = ('setUpClass (%s.CephNativeSnapshotTest)' % SNAP,
            'No ceph-native snapshots expected')
    assert tempest_aio.unexpected_skips([skip], PHASE3) == [skip]


def test_any_other_skip_is_unexpected():
    upstream = ('tempest.api.compute.images.test_images.ImagesTestJSON.'
                'test_create_image_from_paused_server[id-71bc]',
                'Pause is not available.')
    lookalike = ('other_plugin.VolumeBackedSnapshotTest.test_x', 'no')
    assert tempest_aio.unexpected_skips(
        [upstream, lookalike], PHASE1) == [upstream, lookalike]
    assert tempest_aio.check_skips([upstream], PHASE1) == 1
    assert tempest_aio.check_skips([], PHASE1) == 0


def test_every_expected_skip_says_why():
    for expected in list(tempest_aio.EXPECTED_SKIPS.values()) + [
            tempest_aio.NO_CINDER_SKIPS]:
        for regex, why in expected.items():
            assert regex.startswith(tempest_aio.PLUGIN_TESTS) and why


def test_ceph_phase_not_run_is_a_failure_when_ceph_is_installed():
    failed, why = tempest_aio.ceph_phase_skip(None, strict_mode=False)
    assert failed and '--no-ceph' in why
    failed, why = tempest_aio.ceph_phase_skip('ceph-mon is missing', True)
    assert failed and 'ceph-mon is missing' in why and 'NGM_STRICT' in why
    failed, why = tempest_aio.ceph_phase_skip('ceph-mon is missing', False)
    assert not failed and 'SKIPPED' in why and 'ceph-mon is missing' in why


def test_skips_script_reads_ids_and_reasons_from_a_real_subunit_stream(
        tmp_path):
    """The parser tempest-aio runs on ``stestr last --subunit``."""
    (tmp_path / 'test_sample.py').write_text(textwrap.dedent('''\
        import unittest

        class Skipped(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                raise unittest.SkipTest('class off')

            def test_a(self):
                pass

        class Mixed(unittest.TestCase):
            def test_ran(self):
                pass

            def test_skipped(self):
                self.skipTest('no cinder')
        '''))
    stream = subprocess.run(
        [sys.executable, '-m', 'subunit.run', 'test_sample'],
        cwd=str(tmp_path), capture_output=True, check=True,
        env=dict(os.environ, PYTHONPATH=str(tmp_path))).stdout
    done = subprocess.run([sys.executable, '-c', tempest_aio.SKIPS_SCRIPT],
                          input=stream, capture_output=True, check=True)
    skips = sorted(tuple(s) for s in json.loads(done.stdout))
    assert skips == [
        ('setUpClass (test_sample.Skipped)', 'class off'),
        ('test_sample.Mixed.test_skipped', 'no cinder'),
    ], skips
