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

"""Each failure branch of the ceph-native snapshot, with Ceph faked.

The functional tests run the happy path and an OSD outage against a real
Ceph; here every step that can fail is made to fail on purpose, and the
test shows what was removed, what was recorded for later, and what the
caller (nova's snapshot()) is told.
"""

import types

from nova import exception as nova_exception
from nova.virt.libvirt import imagebackend
from oslo_config import cfg
import pytest

from nova_glance_multistore import ceph_native
from nova_glance_multistore import exception
from nova_glance_multistore import opts
from nova_glance_multistore import pending_cleanups
from nova_glance_multistore import rbd_steps
from nova_glance_multistore import target as target_mod

FSID = '8ae43f1f-31db-454f-8373-6055cf34e1bf'
OTHER_FSID = '0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5'
IMAGE = '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9'
SOURCE_URL = 'rbd://%s/vms/disk/nova-snap' % FSID


class FakeRBDDriver:
    """nova's RBDDriver calls, recorded.

    ``fail`` maps a call name, or (call name, pool), to what it raises.
    """

    def __init__(self, fail=None, fsid=FSID, pool='vms'):
        self.fail = dict(fail or {})
        self.fsid = fsid
        self.pool = pool
        self.calls = []

    def _call(self, name, *args):
        self.calls.append((name,) + args)
        error = self.fail.get((name, args[0]), self.fail.get(name))
        if error is not None:
            raise error

    def get_fsid(self):
        return self.fsid

    def create_snap(self, image, snapshot, pool, protect):
        assert protect
        self._call('create_snap', pool, image, snapshot)

    def clone(self, source, image_id, dest_pool):
        self._call('clone', dest_pool, image_id, source['url'])

    def flatten(self, image_id, pool):
        self._call('flatten', pool, image_id)

    def remove_snap(self, image, snapshot, pool, force, ignore_errors):
        assert force and ignore_errors
        self._call('remove_snap', pool, image, snapshot)

    def destroy_volume(self, image, pool):
        self._call('destroy_volume', pool, image)


class FakePending:
    def __init__(self):
        self.added = []

    def add(self, kind, **fields):
        self.added.append(dict(fields, kind=kind))


def _snapshot(driver, pending):
    return rbd_steps.snapshot_into_pool(
        driver, 'vms', 'disk', 'nova-snap', FSID, 'images', IMAGE, pending)


MADE = [('create_snap', 'vms', 'disk', 'nova-snap'),
        ('clone', 'images', IMAGE, SOURCE_URL),
        ('flatten', 'images', IMAGE),
        ('create_snap', 'images', IMAGE, 'snap')]
CLONE_REMOVED = [('remove_snap', 'images', IMAGE, 'snap'),
                 ('destroy_volume', 'images', IMAGE)]
DISK_SNAPSHOT_REMOVED = [('remove_snap', 'vms', 'disk', 'nova-snap')]


def test_clone_into_the_target_pool_then_drop_the_disk_snapshot():
    driver, pending = FakeRBDDriver(), FakePending()
    url = _snapshot(driver, pending)
    assert url == 'rbd://%s/images/%s/snap' % (FSID, IMAGE)
    assert driver.calls == MADE + DISK_SNAPSHOT_REMOVED
    assert pending.added == []


def test_forbidden_clone_made_nothing_to_remove():
    denied = nova_exception.Forbidden('client.nova may not write images')
    driver, pending = FakeRBDDriver({'clone': denied}), FakePending()
    with pytest.raises(nova_exception.Forbidden):
        _snapshot(driver, pending)
    assert driver.calls == MADE[:2] + DISK_SNAPSHOT_REMOVED
    assert pending.added == []


@pytest.mark.parametrize('failing', ['flatten', 'create_snap'])
def test_failure_after_clone_removes_the_clone(failing):
    error = IOError('osd timed out')
    key = 'flatten' if failing == 'flatten' else (
        'create_snap', 'images')  # the clone's snapshot, not the disk's
    driver, pending = FakeRBDDriver({key: error}), FakePending()
    with pytest.raises(IOError, match='osd timed out'):
        _snapshot(driver, pending)
    made = MADE[:3] if failing == 'flatten' else MADE
    assert driver.calls == made + CLONE_REMOVED + DISK_SNAPSHOT_REMOVED
    assert pending.added == []


def test_clone_that_cannot_be_removed_is_left_behind_and_recorded():
    driver = FakeRBDDriver({'flatten': IOError('osd down'),
                            'destroy_volume': IOError('cluster gone')})
    pending = FakePending()
    with pytest.raises(exception.CephCloneLeftBehind) as left:
        _snapshot(driver, pending)
    assert 'images' in str(left.value) and IMAGE in str(left.value)
    assert 'osd down' in str(left.value)
    assert pending.added == [{'kind': pending_cleanups.RBD_CLONE,
                              'fsid': FSID, 'pool': 'images',
                              'image': IMAGE}]
    assert driver.calls[-1] == DISK_SNAPSHOT_REMOVED[0]


@pytest.fixture
def image_not_found(monkeypatch):
    """rbd's ImageNotFound, for a Ceph object already gone."""
    class ImageNotFound(Exception):
        pass

    monkeypatch.setattr(rbd_steps.rbd_utils, 'rbd',
                        types.SimpleNamespace(ImageNotFound=ImageNotFound),
                        raising=False)
    return ImageNotFound


def test_clone_already_gone_counts_as_removed(image_not_found):
    ImageNotFound = image_not_found
    driver = FakeRBDDriver({'flatten': IOError('osd down'),
                            'destroy_volume': ImageNotFound('gone')})
    pending = FakePending()
    with pytest.raises(IOError, match='osd down'):
        _snapshot(driver, pending)
    assert pending.added == []


def test_disk_snapshot_that_cannot_be_removed_is_recorded_not_raised():
    driver = FakeRBDDriver({('remove_snap', 'vms'): IOError('mon down')})
    pending = FakePending()
    assert _snapshot(driver, pending).endswith('/images/%s/snap' % IMAGE)
    assert pending.added == [{'kind': pending_cleanups.RBD_SNAPSHOT,
                              'fsid': FSID, 'pool': 'vms', 'image': 'disk',
                              'snapshot': 'nova-snap'}]


def test_disk_snapshot_already_gone_is_not_recorded(image_not_found):
    ImageNotFound = image_not_found
    driver = FakeRBDDriver({('remove_snap', 'vms'): ImageNotFound('gone')})
    pending = FakePending()
    _snapshot(driver, pending)
    assert pending.added == []


# -- StoreAwareDisk.direct_snapshot: which path nova's snapshot() takes --

class FakeRbdDisk(imagebackend.Rbd):
    """An Rbd disk of nova's image backend, without a cluster."""

    def __init__(self, driver):
        self.driver = driver
        self.rbd_name = 'disk'
        self.nova_calls = []

    def direct_snapshot(self, *args):
        self.nova_calls.append(args)
        return 'nova-own-url'


class FakeQcow2Disk:
    def __init__(self):
        self.nova_calls = []
        self.path = '/instances/disk'

    def direct_snapshot(self, *args):
        self.nova_calls.append(args)
        raise NotImplementedError()


class FakeGlance:
    def __init__(self, detail=None):
        self.detail = detail

    def stores_info_detail(self, context):
        if self.detail is None:
            raise RuntimeError('403: admin or service role needed')
        return self.detail


class FakeTargets:
    def __init__(self, target):
        self.target = target

    def get(self, image_id):
        assert image_id == IMAGE
        return self.target


def _conf(send_service_token=True, locations=()):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf.register_opts([cfg.BoolOpt('send_service_user_token'),
                        cfg.StrOpt('auth_type')], group='service_user')
    conf([])
    conf.set_override('send_service_user_token', send_service_token,
                      group='service_user')
    conf.set_override('rbd_store_locations', list(locations),
                      group='glance_multistore')
    return conf


USER = types.SimpleNamespace(roles=['member', 'reader'])


def _disk(disk, target=target_mod.UploadTarget('ceph0', 'configured'),
          conf=None, glance=None, pending=None):
    return ceph_native.StoreAwareDisk(disk, ceph_native.Collaborators(
        conf or _conf(locations=['ceph0:%s:images' % FSID]),
        FakeTargets(target), glance or FakeGlance(), pending or FakePending()))


def _direct(disk):
    return disk.direct_snapshot(USER, 'nova-snap', 'raw', IMAGE, 'base')


@pytest.mark.parametrize('target', [
    None, target_mod.UploadTarget(None, 'multi-store off')])
def test_no_planned_store_is_nova_own_direct_snapshot(target):
    rbd_disk = FakeRbdDisk(FakeRBDDriver())
    assert _direct(_disk(rbd_disk, target)) == 'nova-own-url'
    assert rbd_disk.nova_calls == [(USER, 'nova-snap', 'raw', IMAGE,
                                    'base')]
    assert rbd_disk.driver.calls == []


def test_a_disk_that_is_not_rbd_streams():
    disk = FakeQcow2Disk()
    with pytest.raises(NotImplementedError):
        _direct(_disk(disk))
    assert disk.nova_calls == []  # nova's own (base-pool) clone not tried
    assert _disk(disk).path == '/instances/disk'  # the rest is nova's


def test_without_the_service_role_it_streams():
    rbd_disk = FakeRbdDisk(FakeRBDDriver())
    with pytest.raises(NotImplementedError):
        _direct(_disk(rbd_disk, conf=_conf(
            send_service_token=False,
            locations=['ceph0:%s:images' % FSID])))
    assert rbd_disk.driver.calls == [] and rbd_disk.nova_calls == []


def test_a_store_of_unknown_location_streams():
    rbd_disk = FakeRbdDisk(FakeRBDDriver())
    with pytest.raises(NotImplementedError):
        _direct(_disk(rbd_disk, conf=_conf(locations=[])))
    assert rbd_disk.driver.calls == [] and rbd_disk.nova_calls == []


def test_a_store_on_another_cluster_streams():
    rbd_disk = FakeRbdDisk(FakeRBDDriver())
    with pytest.raises(NotImplementedError):
        _direct(_disk(rbd_disk, conf=_conf(
            locations=['ceph0:%s:images' % OTHER_FSID])))
    assert rbd_disk.driver.calls == [] and rbd_disk.nova_calls == []


def test_same_cluster_clones_into_the_store_pool():
    rbd_disk = FakeRbdDisk(FakeRBDDriver())
    url = _direct(_disk(rbd_disk))
    assert url == 'rbd://%s/images/%s/snap' % (FSID, IMAGE)
    assert rbd_disk.driver.calls == MADE + DISK_SNAPSHOT_REMOVED
    assert rbd_disk.nova_calls == []


def test_stores_detail_wins_over_the_configured_location():
    detail = {'stores': [{'id': 'ceph0', 'type': 'rbd', 'properties': {
        'fsid': FSID, 'pool': 'fast-images'}}]}
    rbd_disk = FakeRbdDisk(FakeRBDDriver())
    url = _direct(_disk(rbd_disk, glance=FakeGlance(detail)))
    assert url == 'rbd://%s/fast-images/%s/snap' % (FSID, IMAGE)


@pytest.mark.parametrize('fail', [
    {'clone': nova_exception.Forbidden('no write')},
    {'flatten': IOError('osd down')}])
def test_a_failed_clone_becomes_image_unacceptable_so_nova_streams(fail):
    rbd_disk = FakeRbdDisk(FakeRBDDriver(fail))
    with pytest.raises(nova_exception.ImageUnacceptable) as unacceptable:
        _direct(_disk(rbd_disk))
    assert 'ceph-native snapshot failed' in str(unacceptable.value)
    assert rbd_disk.nova_calls == []


def test_a_clone_left_behind_fails_the_snapshot():
    rbd_disk = FakeRbdDisk(FakeRBDDriver({
        'flatten': IOError('osd down'),
        'destroy_volume': IOError('cluster gone')}))
    pending = FakePending()
    with pytest.raises(exception.CephCloneLeftBehind):
        _direct(_disk(rbd_disk, pending=pending))
    assert [entry['kind'] for entry in pending.added] == [
        pending_cleanups.RBD_CLONE]


def test_the_image_backend_hands_out_store_aware_disks():
    class Backend:
        name = 'rbd'

        def by_libvirt_path(self, instance, path, image_type=None):
            return FakeQcow2Disk()

    targets = FakeTargets(None)
    backend = ceph_native.StoreAwareImageBackend(
        Backend(), ceph_native.Collaborators(_conf(), targets, FakeGlance(),
                                             FakePending()))
    disk = backend.by_libvirt_path('instance', '/path')
    assert isinstance(disk, ceph_native.StoreAwareDisk)
    assert disk._with.targets is targets
    assert backend.name == 'rbd'
