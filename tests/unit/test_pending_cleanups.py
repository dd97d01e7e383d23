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

"""The on-disk record of cleanups an outage postponed."""

import json
import os

from nova_glance_multistore import cleanups
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


def _asides(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir()
                  if p.name.startswith('p.json.corrupt'))


def test_corrupt_files_are_moved_aside_never_over_each_other(tmp_path,
                                                             caplog):
    path = tmp_path / 'p.json'
    pending = pc.PendingCleanups(str(path))
    path.write_text('{not json')
    assert pending.entries() == []
    path.write_text('[1, 2]')  # JSON, but not an object
    pending.add(pc.GLANCE_IMAGE, image_id='x', instance_uuid='u')
    first, second = _asides(tmp_path)
    assert (tmp_path / first).read_text() == '{not json'
    assert (tmp_path / second).read_text() == '[1, 2]'
    assert first.startswith('p.json.corrupt-2')  # timestamped
    assert [k for k, _ in pending.entries()] == [
        pc.entry_key(pc.GLANCE_IMAGE, image_id='x', instance_uuid='u')]
    errors = [r.getMessage() for r in caplog.records
              if r.levelname == 'ERROR']
    assert len(errors) == 2
    for aside, error in zip((first, second), errors):
        assert str(path) in error and str(tmp_path / aside) in error


def test_unknown_entries_are_kept_when_rewriting_and_logged_once(
        tmp_path, caplog):
    path = tmp_path / 'p.json'
    theirs = {'future:x': {'kind': 'rgw_object', 'bucket': 'b'},
              'glance_image:broken': {'kind': 'glance_image'},
              'odd': 'not an entry'}
    path.write_text(json.dumps(theirs))
    pending = pc.PendingCleanups(str(path))
    key = pending.add(pc.RBD_CLONE, fsid='f', pool='p', image='i')
    assert [k for k, _ in pending.entries()] == [key]
    pending.remove(key)
    assert json.loads(path.read_text()) == theirs
    logged = [r.getMessage() for r in caplog.records
              if r.levelname == 'ERROR']
    assert len(logged) == 3  # one per unknown entry, not one per read
    assert all(str(path) in message for message in logged)
    assert _asides(tmp_path) == []


def test_remove_survives_an_unwritable_file(tmp_path, monkeypatch, caplog):
    pending = pc.PendingCleanups(str(tmp_path / 'p.json'))
    key = pending.add(pc.GLANCE_IMAGE, image_id='x', instance_uuid='u')

    def disk_full(*args):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(pc.os, 'replace', disk_full)
    pending.remove(key)
    monkeypatch.undo()
    assert [k for k, _ in pending.entries()] == [key]
    assert any(r.levelname == 'ERROR' and key in r.getMessage() and
               'No space left' in r.getMessage() for r in caplog.records)


def test_a_file_that_cannot_be_read_is_never_overwritten(tmp_path, caplog):
    path = tmp_path / 'p.json'
    path.mkdir()  # open() fails with IsADirectoryError, even as root
    (path / 'keep').write_text('x')
    pending = pc.PendingCleanups(str(path))
    pending.add(pc.GLANCE_IMAGE, image_id='x', instance_uuid='u')
    pending.remove('anything')
    assert pending.entries() == []
    assert (path / 'keep').read_text() == 'x'
    assert _asides(tmp_path) == []
    assert any(r.levelname == 'ERROR' and 'image_id' in r.getMessage()
               for r in caplog.records)  # the lost leftover is in the log


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
    stuck = pc.entry_key(pc.RBD_CLONE, fsid='A', pool='images',
                         image='stuck')
    attempted, kept = cleanups.retry_pending_rbd_cleanups(
        pending, pending.entries(), lambda: driver)
    assert len(attempted) == 3 and other not in attempted
    assert kept == [stuck, other]
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
    key = pending.entries()[0][0]
    assert cleanups.retry_pending_rbd_cleanups(
        pending, pending.entries(), unreachable) == ([key], [key])
    assert [k for k, _ in pending.entries()] == [key]


def test_retry_never_fails_the_upload_about_to_run(
        tmp_path, monkeypatch, caplog):
    """Keystone down: the leftover stays pending, nothing is raised.

    The fake records its calls instead of raising: the retry swallows
    every error, so an exception raised by a fake would prove nothing.
    """
    from oslo_config import cfg

    from nova_glance_multistore import glance_client
    from nova_glance_multistore import opts
    from nova_glance_multistore import uploads

    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])

    class Glance:
        FAILED, REFUSED = 'failed', 'refused'
        calls = []

        def stores_info(self, context):
            return []

        def discard_unfinished_image(self, context, image_id, instance=None):
            self.calls.append(image_id)
            return 'deleted'

    asked = []

    def keystone_down(conf):
        asked.append(conf)
        raise IOError('keystone unreachable')

    monkeypatch.setattr(glance_client, 'service_context', keystone_down)
    pending = pc.PendingCleanups(str(tmp_path / 'p.json'))
    key = pending.add(pc.GLANCE_IMAGE, image_id='i', instance_uuid='u')
    host = uploads.StoreAwareUploads(conf, glance=Glance(),
                                     pipeline=object(), pending=pending)
    host.retry_pending_cleanups()
    assert asked == [conf]
    assert Glance.calls == []  # never asked without credentials
    assert [k for k, _ in pending.entries()] == [key]
    assert any('keystone unreachable' in r.getMessage() and
               r.levelname == 'WARNING' for r in caplog.records)
