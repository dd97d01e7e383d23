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

"""Which snapshot images keep deleted instance disks in Ceph's trash.

A copy-on-write snapshot depends on its instance disk: when the instance is
deleted, the disk moves to the trash of its pool (``USER_PARENT``) and
stays there, with its data, until the last image cloned from it goes. This
is what copy-on-write costs an operator, so it is listed, with the space.

librbd's Python ``trash_list()`` raises IndexError on ``USER_PARENT``
entries on Ceph 16.2, so the trash is read with the ``rbd`` command.
"""

import dataclasses
import json

from oslo_concurrency import processutils

from nova_glance_multistore import rbd_cow


@dataclasses.dataclass(frozen=True)
class Pin:
    image_pool: str
    image: str          # the Glance image id (the rbd image's name)
    disk_pool: str
    disk: str           # the deleted instance disk's name
    disk_id: str
    allocated: int      # bytes the trashed disk still holds


def trashed_disks(driver, pool):
    """{image id: name} of the parents waiting in ``pool``'s trash."""
    out, _err = processutils.execute(
        'rbd', 'trash', 'ls', '--all', '--long', '--format', 'json',
        '--pool', pool, *driver.ceph_args())
    return {entry['id']: entry['name'] for entry in json.loads(out or '[]')
            if entry.get('source') == 'USER_PARENT'}


def pins(driver, image_pools):
    """Every image of ``image_pools`` whose parent is a trashed disk."""
    trash = trashed_disks(driver, driver.pool)
    if not trash:
        return []
    return rbd_cow.in_native_thread(_pins, driver, image_pools, trash)


def _pins(driver, image_pools, trash):
    rbd = rbd_cow._rbd()
    found, allocated = [], {}
    client = rbd_cow.connect(driver)
    try:
        with client.open_ioctx(driver.pool) as disks:
            for pool in image_pools:
                with client.open_ioctx(pool) as ioctx:
                    for name in rbd.RBD().list(ioctx):
                        with rbd.Image(ioctx, name, read_only=True) as image:
                            try:
                                parent = image.parent_id()
                            except rbd.ImageNotFound:
                                continue
                        if parent not in trash:
                            continue
                        if parent not in allocated:  # once per disk
                            allocated[parent] = _allocated(disks, parent)
                        found.append(Pin(pool, name, driver.pool,
                                         trash[parent], parent,
                                         allocated[parent]))
    finally:
        client.shutdown()
    return found


def _allocated(ioctx, image_id):
    """Bytes the image's own objects hold, its parent's not counted."""
    rbd = rbd_cow._rbd()
    total = [0]

    def count(_offset, length, exists):
        if exists:
            total[0] += length

    with rbd.Image(ioctx, image_id=image_id, read_only=True) as image:
        image.diff_iterate(0, image.size(), None, count,
                           include_parent=False, whole_object=True)
    return total[0]
