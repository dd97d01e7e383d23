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

"""Ceph as the copy-on-write tests read it, and the instances they make.

``World`` boots instances on rbd disks cloned by nova's own code and takes
their snapshots; the readers say what Ceph holds (parents, trash, snapshot
namespaces) from outside nova, as an operator's ``rbd`` command would.
"""

import os

from tests.functional.ceph_helpers import admin
from tests.functional.ceph_helpers import SERVICE_TOKEN
from tests.functional.ceph_helpers import wait_active

MIB = 1 << 20


# -- reading Ceph --------------------------------------------------------

def rbd_info(cluster, pool, name):
    return cluster.rbd('info', '%s/%s' % (pool, name))


def parent_of(cluster, pool, name):
    """(pool, image name, in trash) of the image's parent, or None."""
    parent = rbd_info(cluster, pool, name).get('parent')
    if not parent:
        return None
    return parent['pool'], parent['image'], bool(parent.get('trash'))


def snaps(cluster, pool, name):
    """(user snapshot names, number of trash snapshots) of an image."""
    listed = cluster.rbd('snap', 'ls', '--all', '%s/%s' % (pool, name))
    kinds = [(s['name'], _namespace(s)) for s in listed]
    assert {kind for _, kind in kinds} <= {'user', 'trash'}, listed
    return (sorted(n for n, kind in kinds if kind == 'user'),
            sum(1 for _, kind in kinds if kind == 'trash'))


def _namespace(snapshot):
    namespace = snapshot.get('namespace', 'user')
    if isinstance(namespace, dict):
        namespace = namespace.get('type', '')
    return namespace.split()[0] if namespace else 'user'


def images(cluster, pool):
    return sorted(cluster.rbd('ls', pool) or [])


def read(cluster, pool, name, snapshot=None):
    import rbd
    client = admin(cluster)
    try:
        with client.open_ioctx(pool) as ioctx:
            with rbd.Image(ioctx, name, snapshot=snapshot,
                           read_only=True) as image:
                return image.read(0, image.size())
    finally:
        client.shutdown()


def write(cluster, pool, name, offset, data):
    """What the guest writes to its disk (another librbd client)."""
    import rbd
    client = admin(cluster)
    try:
        with client.open_ioctx(pool) as ioctx:
            with rbd.Image(ioctx, name) as image:
                image.write(data, offset)
    finally:
        client.shutdown()


def assert_nothing_left(cluster):
    for pool in ('vms', 'snapshots'):
        assert images(cluster, pool) == [], pool
        assert cluster.trash(pool) == {}, pool
    assert len(images(cluster, 'images')) == 1  # the base image alone


# -- instances and their disks, made and deleted by nova's code ----------

class World:
    """Instances on rbd disks and snapshot images, removed in order.

    Instances are deleted by nova's own ``_cleanup_rbd`` (their disks go
    to the trash when a snapshot depends on them), then images by Glance.
    """

    def __init__(self, compute, cluster, glance, libvirtd):
        self.compute, self.cluster = compute, cluster
        self.glance, self.libvirtd = glance, libvirtd
        self.instances, self.images = [], []

    def boot(self, image_id, pool, guest_writes=MIB, running=True):
        """An instance cloned by nova from ``pool/image_id@snap``.

        The guest then writes ``guest_writes`` random bytes at offset 0.

        :returns: (instance, disk name, disk content)
        """
        from nova.storage import rbd_utils
        instance = self.compute.make_instance(image_id)
        name = '%s_disk' % instance.uuid
        rbd_utils.RBDDriver().clone(
            {'url': 'rbd://%s/%s/%s/snap' % (self.cluster.fsid, pool,
                                             image_id)}, name)
        self.instances.append(instance)
        if guest_writes:
            write(self.cluster, 'vms', name, 0, os.urandom(guest_writes))
        if running:
            self.libvirtd.define_rbd_guest(instance.name, instance.uuid,
                                           'vms/%s' % name,
                                           self.cluster.conf)
        return instance, name, read(self.cluster, 'vms', name)

    def snapshot(self, instance, kind='snapshot'):
        ctxt = self.compute.context()
        ctxt.auth_token = SERVICE_TOKEN
        ctxt.roles = ['member', 'reader', 'service']
        image_id = self.compute.create_queued_image(ctxt, instance, kind)
        self.images.append(image_id)
        self.compute.snapshot(ctxt, instance, image_id)
        # Glance imports the location in a task: deleting the image before
        # it ends leaves the clone behind, or answers 500 while it hashes
        # (Glance's, whatever the mode).
        wait_active(self.glance, image_id)
        return image_id

    def delete_instance(self, instance):
        """What nova-compute does to an instance's rbd disks on delete."""
        self.libvirtd.remove_guest(instance.name)
        self.compute.driver._cleanup_rbd(instance)
        self.instances.remove(instance)

    def delete_image(self, image_id):
        status = self.glance.delete_image(image_id)
        if status == 204:
            self.images.remove(image_id)
        return status

    def clean(self):
        for instance in list(self.instances):
            self.delete_instance(instance)
        for image_id in reversed(list(self.images)):
            self.delete_image(image_id)
