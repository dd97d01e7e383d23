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

"""The copy-on-write branches of the ceph-native snapshot, Ceph faked.

Functional tests run them against a real cluster; here each decision is
driven on purpose: which clone is made, when the chain limit flattens,
what a missing precondition does, and how the preconditions are read.
"""

import types

import pytest

from nova_glance_multistore import ceph_native
from nova_glance_multistore import checks
from nova_glance_multistore import rbd_cow
from nova_glance_multistore import rbd_steps
from tests.unit.test_ceph_native import CLONE_REMOVED
from tests.unit.test_ceph_native import DISK_SNAPSHOT_REMOVED
from tests.unit.test_ceph_native import FakePending
from tests.unit.test_ceph_native import FakeRBDDriver
from tests.unit.test_ceph_native import FSID
from tests.unit.test_ceph_native import IMAGE

FAKE_RBD = types.SimpleNamespace(
    RBD_FEATURE_LAYERING=1, RBD_FEATURE_STRIPINGV2=2,
    RBD_FEATURE_EXCLUSIVE_LOCK=4, RBD_FEATURE_OBJECT_MAP=8,
    RBD_FEATURE_FAST_DIFF=16, RBD_FEATURE_DEEP_FLATTEN=32,
    RBD_FEATURE_JOURNALING=64, RBD_FEATURE_DATA_POOL=128)


@pytest.fixture(autouse=True)
def fake_rbd(monkeypatch):
    monkeypatch.setattr(rbd_cow, '_rbd', lambda: FAKE_RBD)


class Client:
    def __init__(self, conf):
        self.conf = conf

    def conf_get(self, name):
        return self.conf.get(name)


@pytest.mark.parametrize('value,mask', [
    ('61', 61), ('0', 1), ('', 1),
    ('layering,exclusive-lock,object-map,fast-diff,deep-flatten', 61),
    ('layering striping', 3), ('nonsense', 1)])
def test_default_features_read_as_numbers_or_names(value, mask):
    assert rbd_cow.features_of(Client(
        {'rbd_default_features': value})) == mask


def _cow_snapshot(driver, pending, monkeypatch, depth, max_depth):
    made = []

    def clone(drv, src_pool, src_name, snapshot, dest_pool, dest_name):
        made.append((src_pool, src_name, snapshot, dest_pool, dest_name))
        drv.calls.append(('clone-v2', dest_pool, dest_name))
        return depth
    monkeypatch.setattr(rbd_cow, 'clone', clone)
    url = rbd_steps.snapshot_into_pool(
        driver, 'vms', 'disk', 'nova-snap', FSID, 'images', IMAGE, pending,
        max_depth)
    return url, made


def test_copy_on_write_clone_is_not_flattened(monkeypatch):
    driver, pending = FakeRBDDriver(), FakePending()
    url, made = _cow_snapshot(driver, pending, monkeypatch, 2, 4)
    assert url == 'rbd://%s/images/%s/snap' % (FSID, IMAGE)
    assert made == [('vms', 'disk', 'nova-snap', 'images', IMAGE)]
    assert driver.calls == [
        ('create_snap', 'vms', 'disk', 'nova-snap'),
        ('clone-v2', 'images', IMAGE),
        ('create_snap', 'images', IMAGE, 'snap')] + DISK_SNAPSHOT_REMOVED


@pytest.mark.parametrize('depth,flattened', [(4, False), (5, True)])
def test_chain_longer_than_the_limit_is_flattened(monkeypatch, depth,
                                                  flattened):
    driver, pending = FakeRBDDriver(), FakePending()
    _cow_snapshot(driver, pending, monkeypatch, depth, 4)
    assert (('flatten', 'images', IMAGE) in driver.calls) == flattened


def test_failed_copy_on_write_step_removes_the_clone(monkeypatch):
    driver = FakeRBDDriver({('create_snap', 'images'): IOError('osd down')})
    pending = FakePending()
    with pytest.raises(IOError):
        _cow_snapshot(driver, pending, monkeypatch, 1, 4)
    assert driver.calls[-3:] == CLONE_REMOVED + DISK_SNAPSHOT_REMOVED
    assert pending.added == []


class Conf:
    def __init__(self, mode, depth=4, ttl=0):
        self.glance_multistore = types.SimpleNamespace(
            ceph_native_snapshot=mode, copy_on_write_max_chain_depth=depth,
            stores_cache_ttl=ttl)


def _disk(conf):
    disk = ceph_native.StoreAwareDisk.__new__(ceph_native.StoreAwareDisk)
    disk._disk = types.SimpleNamespace(driver=object())
    disk._conf = conf
    return disk


def test_flatten_mode_never_reads_the_preconditions(monkeypatch):
    monkeypatch.setattr(rbd_cow, 'missing_preconditions',
                        pytest.fail)
    assert _disk(Conf('flatten'))._copy_on_write_depth(IMAGE) is None


def test_missing_precondition_flattens_with_one_warning(monkeypatch,
                                                        caplog):
    missing = rbd_cow.Precondition('rbd_move_parent_to_trash_on_remove',
                                   False, 'false for client.nova',
                                   'ceph config set ...')
    monkeypatch.setattr(rbd_cow, 'missing_preconditions',
                        lambda driver, ttl: [missing])
    with caplog.at_level('WARNING'):
        assert _disk(Conf('copy-on-write'))._copy_on_write_depth(
            IMAGE) is None
    assert len(caplog.records) == 1
    text = caplog.records[0].getMessage()
    assert IMAGE in text and 'false for client.nova' in text \
        and 'ceph config set' in text


def test_unreadable_preconditions_flatten(monkeypatch, caplog):
    def broken(driver, ttl):
        raise IOError('mon unreachable')
    monkeypatch.setattr(rbd_cow, 'missing_preconditions', broken)
    with caplog.at_level('WARNING'):
        assert _disk(Conf('copy-on-write'))._copy_on_write_depth(
            IMAGE) is None
    assert 'mon unreachable' in caplog.text


def test_all_preconditions_met_gives_the_depth_limit(monkeypatch):
    monkeypatch.setattr(rbd_cow, 'missing_preconditions',
                        lambda driver, ttl: [])
    assert _disk(Conf('copy-on-write', depth=6))._copy_on_write_depth(
        IMAGE) == 6


def test_preconditions_are_cached_per_client(monkeypatch):
    reads = []

    def check(driver):
        reads.append(driver)
        return [rbd_cow.Precondition('x', True, 'ok')]
    monkeypatch.setattr(rbd_cow, 'check_preconditions', check)
    monkeypatch.setattr(rbd_cow, 'in_native_thread',
                        lambda fn, *a: fn(*a))
    cache = rbd_cow.PreconditionCache()
    nova = types.SimpleNamespace(ceph_conf='/etc/ceph/ceph.conf',
                                 rbd_user='nova')
    other = types.SimpleNamespace(ceph_conf='/etc/ceph/ceph.conf',
                                  rbd_user='other')
    for _ in range(3):
        cache.get(nova, 60)
    cache.get(other, 60)
    assert reads == [nova, other]
    uncached = rbd_cow.PreconditionCache()
    uncached.get(nova, 0)
    uncached.get(nova, 0)  # a TTL of 0 reads every time
    assert reads == [nova, other, nova, nova]


def test_findings_say_the_mode_and_each_precondition(monkeypatch):
    found = [rbd_cow.Precondition('clone format 2', True, 'pacific'),
             rbd_cow.Precondition('deep-flatten', False, 'missing', 'add')]
    monkeypatch.setattr(rbd_cow, 'check_preconditions', lambda d: found)
    lines = checks.copy_on_write(Conf('copy-on-write'), None)
    assert lines[0] == (False, 'ceph-native snapshots: copy-on-write '
                               'configured but NOT in force: snapshots are '
                               'flattened (chains of up to 4 images)')
    assert lines[1:] == [
        (True, 'copy-on-write precondition clone format 2: pacific'),
        (False, 'copy-on-write precondition deep-flatten: missing (add)')]
    assert checks.copy_on_write(Conf('flatten'), None) == [
        (True, 'ceph-native snapshots are flattened clones '
               '([glance_multistore] ceph_native_snapshot = flatten)')]
