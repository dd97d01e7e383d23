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

"""Which images pin trashed disks, with the rbd command and librbd faked.

tests/functional/test_ceph_cow.py reads a real trash; here the filters are
driven on purpose: only USER_PARENT entries count, images without a parent
or with a parent elsewhere are not pins, and each disk's space is read once.
"""

import json
import types

from nova_glance_multistore import rbd_cow
from nova_glance_multistore import trash_pins


class ImageNotFound(Exception):
    pass


class Ceph:
    """Pools of images: {pool: {name: (image id, parent id or None)}}."""

    def __init__(self, pools, extents):
        self.pools, self.extents = pools, extents
        self.diffs, self.closed = [], []

    def rbd(self):
        ceph = self

        class RBD:
            def list(self, ioctx):
                return sorted(ceph.pools[ioctx.pool])

        class Image:
            def __init__(self, ioctx, name=None, image_id=None,
                         read_only=False):
                assert read_only
                self.ioctx, self.name, self.image_id = ioctx, name, image_id

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                ceph.closed.append(self.name or self.image_id)

            def parent_id(self):
                parent = ceph.pools[self.ioctx.pool][self.name][1]
                if parent is None:
                    raise ImageNotFound(self.name)
                return parent

            def size(self):
                return 1 << 30

            def diff_iterate(self, offset, length, from_snapshot, cb,
                             include_parent=True, whole_object=False):
                assert (offset, length, from_snapshot) == (0, 1 << 30, None)
                assert not include_parent and whole_object
                ceph.diffs.append((self.ioctx.pool, self.image_id))
                for extent in ceph.extents[self.image_id]:
                    cb(*extent)

        return types.SimpleNamespace(RBD=RBD, Image=Image,
                                     ImageNotFound=ImageNotFound)

    def connect(self, driver, conf=None):
        ceph = self

        class Ioctx:
            def __init__(self, pool):
                self.pool = pool

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                pass

        class Client:
            shut = False

            def open_ioctx(self, pool):
                return Ioctx(pool)

            def shutdown(self):
                ceph.shutdowns = getattr(ceph, 'shutdowns', 0) + 1
        return Client()


class Driver:
    pool = 'vms'

    def ceph_args(self):
        return ['--id', 'nova', '--conf', '/etc/ceph/ceph.conf']


TRASH = [
    {'id': 'd1', 'name': 'inst-1_disk', 'source': 'USER_PARENT'},
    {'id': 'd2', 'name': 'inst-2_disk', 'source': 'USER_PARENT'},
    {'id': 'u1', 'name': 'moved-by-hand', 'source': 'USER'},
]


def _patch(monkeypatch, ceph, trash):
    commands = []

    def execute(*cmd):
        commands.append(cmd)
        return json.dumps(trash), ''
    monkeypatch.setattr(trash_pins.processutils, 'execute', execute)
    monkeypatch.setattr(rbd_cow, '_rbd', ceph.rbd)
    monkeypatch.setattr(rbd_cow, 'connect', ceph.connect)
    return commands


def test_only_parents_trashed_by_ceph_are_read(monkeypatch):
    commands = _patch(monkeypatch, Ceph({}, {}), TRASH)
    assert trash_pins.trashed_disks(Driver(), 'vms') == {
        'd1': 'inst-1_disk', 'd2': 'inst-2_disk'}
    assert commands == [('rbd', 'trash', 'ls', '--all', '--long', '--format',
                         'json', '--pool', 'vms', '--id', 'nova', '--conf',
                         '/etc/ceph/ceph.conf')]


def test_an_empty_trash_opens_no_connection(monkeypatch):
    ceph = Ceph({}, {})
    _patch(monkeypatch, ceph, [])
    assert trash_pins.pins(Driver(), ['images']) == []
    assert not hasattr(ceph, 'shutdowns')


def test_pins_name_each_image_and_read_each_disk_once(monkeypatch):
    ceph = Ceph({'images': {'img-a': ('ia', 'd1'), 'img-b': ('ib', 'd1'),
                            'flat': ('if', None), 'live': ('il', 'other')},
                 'snaps': {'img-c': ('ic', 'd2')}},
                {'d1': [(0, 4 << 20, True), (4 << 20, 4 << 20, False),
                        (8 << 20, 4 << 20, True)],
                 'd2': [(0, 4 << 20, True)]})
    _patch(monkeypatch, ceph, TRASH)
    assert trash_pins.pins(Driver(), ['images', 'snaps']) == [
        trash_pins.Pin('images', 'img-a', 'vms', 'inst-1_disk', 'd1',
                       8 << 20),
        trash_pins.Pin('images', 'img-b', 'vms', 'inst-1_disk', 'd1',
                       8 << 20),
        trash_pins.Pin('snaps', 'img-c', 'vms', 'inst-2_disk', 'd2',
                       4 << 20)]
    assert ceph.diffs == [('vms', 'd1'), ('vms', 'd2')]
    assert ceph.shutdowns == 1
    assert sorted(ceph.closed) == ['d1', 'd2', 'flat', 'img-a', 'img-b',
                                   'img-c', 'live']
