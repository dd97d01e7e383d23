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

"""The fast-snapshot target checks: can this host clone into each store?"""

from nova_glance_multistore import checks
from nova_glance_multistore import rbd_stores
from tests.unit.test_rbd_stores import _store_conf
from tests.unit.test_rbd_stores import FSID


class ProbeDriver:
    pool = 'vms'

    def __init__(self, fsid=FSID, error=None):
        self.fsid, self.error = fsid, error

    def get_fsid(self):
        if self.error:
            raise self.error
        return self.fsid


def _targets(monkeypatch, driver, locations, probe=None):
    from nova.storage import rbd_utils
    monkeypatch.setattr(rbd_utils, 'RBDDriver', lambda: driver)
    monkeypatch.setattr(rbd_stores, 'known_locations',
                        lambda conf, glance, ctxt: locations)
    probed = []

    def fake_probe(drv, pool):
        probed.append(pool)
        if probe and pool in probe:
            raise probe[pool]
    monkeypatch.setattr(checks, '_probe_pool', fake_probe)
    return checks.fast_snapshot_targets(
        _store_conf(None), None, 'ctxt'), probed


def test_targets_on_a_host_without_rbd_disks_stream():
    conf = _store_conf(None)
    conf.libvirt.images_type = 'qcow2'
    assert checks.fast_snapshot_targets(conf, None, 'ctxt') == [
        (True, '[libvirt] images_type is qcow2: snapshots stream (no '
               'ceph-native path on this host)')]


def test_targets_unreachable_cluster_fails(monkeypatch):
    findings, probed = _targets(
        monkeypatch, ProbeDriver(error=OSError('timed out')), {})
    assert findings == [(False, 'Ceph cluster of the instance disks cannot '
                                'be reached as client.nova: timed out')]
    assert probed == []


def test_targets_without_rbd_stores_stream(monkeypatch):
    findings, _ = _targets(monkeypatch, ProbeDriver(), {})
    assert findings[1][0] and 'no rbd store is known' in findings[1][1]


def test_targets_per_store_cluster_and_pool_access(monkeypatch):
    other = '11111111-2222-3333-4444-555555555555'
    findings, probed = _targets(monkeypatch, ProbeDriver(), {
        'a-ok': (rbd_stores.RbdLocation(FSID, 'images'), 'detail'),
        'b-far': (rbd_stores.RbdLocation(other, 'images'), 'detail'),
        'c-denied': (rbd_stores.RbdLocation(FSID, 'locked'), 'config')},
        probe={'locked': PermissionError('EPERM')})
    assert probed == ['images', 'locked']
    assert findings == [
        (True, 'instance disks are on Ceph cluster %s (pool vms, '
               'client.nova)' % FSID),
        (True, 'rbd store a-ok: ceph-native snapshots into pool images'),
        (True, 'rbd store b-far is on another cluster (%s): snapshots to it '
               'stream' % other),
        (False, 'rbd store c-denied: pool locked is not usable by '
                'client.nova: EPERM')]
