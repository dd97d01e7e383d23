"""The on-disk record of cleanups an outage postponed."""

import json
import os

from nova_glance_multistore import ceph_native
from nova_glance_multistore import pending_cleanups as pc


def test_entries_survive_a_new_instance_and_come_in_retry_order(tmp_path):
    path = str(tmp_path / 'state' / 'pending.json')
    first = pc.PendingCleanups(path)
    snap = first.add(pc.RBD_SNAPSHOT, fsid='f', pool='vms', image='disk',
                     snapshot='s1')
    clone = first.add(pc.RBD_CLONE, fsid='f', pool='images', image='i1')
    image = first.add(pc.GLANCE_IMAGE, image_id='i1', instance_uuid='u')
    again = pc.PendingCleanups(path)
    assert [key for key, _ in again.entries()] == [image, clone, snap]
    assert oct(os.stat(os.path.dirname(path)).st_mode & 0o777) == '0o700'
    again.remove(clone)
    assert [key for key, _ in pc.PendingCleanups(path).entries()] == [
        image, snap]


def test_same_leftover_recorded_twice_is_one_entry(tmp_path):
    pending = pc.PendingCleanups(str(tmp_path / 'p.json'))
    pending.add(pc.RBD_CLONE, fsid='f', pool='p', image='i')
    pending.add(pc.RBD_CLONE, image='i', pool='p', fsid='f')
    assert len(pending.entries()) == 1


def test_corrupt_file_is_moved_aside_not_silently_lost(tmp_path):
    path = tmp_path / 'p.json'
    path.write_text('{not json')
    pending = pc.PendingCleanups(str(path))
    assert pending.entries() == []
    assert (tmp_path / 'p.json.corrupt').read_text() == '{not json'
    pending.add(pc.GLANCE_IMAGE, image_id='x', instance_uuid='u')
    assert json.loads(path.read_text())


class FakeRbd:
    """Pure stand-in: which removals are asked for and which fail."""

    def __init__(self, fsid, failing=()):
        self.fsid = fsid
        self.failing = set(failing)
        self.calls = []

    def get_fsid(self):
        return self.fsid

    def remove_snap(self, image, snapshot, pool, force, ignore_errors):
        self.calls.append(('remove_snap', pool, image, snapshot))
        if image in self.failing:
            raise IOError('timed out')

    def destroy_volume(self, image, pool):
        self.calls.append(('destroy', pool, image))


def test_rbd_retry_touches_only_its_cluster_and_keeps_failures(tmp_path):
    pending = pc.PendingCleanups(str(tmp_path / 'p.json'))
    pending.add(pc.RBD_SNAPSHOT, fsid='A', pool='vms', image='disk',
                snapshot='s')
    pending.add(pc.RBD_CLONE, fsid='A', pool='images', image='stuck')
    pending.add(pc.RBD_CLONE, fsid='A', pool='images', image='c1')
    other = pending.add(pc.RBD_CLONE, fsid='B', pool='images', image='c2')
    glance = pending.add(pc.GLANCE_IMAGE, image_id='g', instance_uuid='u')
    driver = FakeRbd('A', failing={'stuck'})
    ceph_native.retry_pending_rbd_cleanups(pending, pending.entries(),
                                           lambda: driver)
    left = [key for key, _ in pending.entries()]
    assert left == [glance, pc.entry_key(pc.RBD_CLONE, fsid='A',
                                         pool='images', image='stuck'),
                    other]
    # Clones before the disk snapshot they came from.
    assert driver.calls.index(('destroy', 'images', 'c1')) < \
        driver.calls.index(('remove_snap', 'vms', 'disk', 's'))
    assert not any('c2' in call for call in driver.calls)


def test_rbd_retry_with_ceph_unreachable_keeps_everything(tmp_path):
    pending = pc.PendingCleanups(str(tmp_path / 'p.json'))
    pending.add(pc.RBD_CLONE, fsid='A', pool='images', image='c1')

    def unreachable():
        raise IOError('connection timed out')
    ceph_native.retry_pending_rbd_cleanups(pending, pending.entries(),
                                           unreachable)
    assert len(pending.entries()) == 1


def test_retry_never_fails_the_upload_about_to_run(tmp_path, monkeypatch):
    """Keystone down: the leftover stays pending, nothing is raised."""
    from oslo_config import cfg

    from nova_glance_multistore import glance_client
    from nova_glance_multistore import opts
    from nova_glance_multistore import uploads

    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])

    class Glance:
        FAILED = 'failed'

        def stores_info(self, context):
            return []

        def discard_unfinished_image(self, context, image_id, instance=None):
            raise AssertionError('must not be asked without credentials')

    def keystone_down(conf):
        raise IOError('keystone unreachable')

    monkeypatch.setattr(glance_client, 'service_context', keystone_down)
    pending = pc.PendingCleanups(str(tmp_path / 'p.json'))
    key = pending.add(pc.GLANCE_IMAGE, image_id='i', instance_uuid='u')
    host = uploads.StoreAwareUploads(conf, glance=Glance(),
                                     pipeline=object(), pending=pending)
    host.retry_pending_cleanups()
    assert [k for k, _ in pending.entries()] == [key]
