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

"""Checks of the ceph-native snapshot outside tempest, for tempest-aio.

What tempest cannot see through the APIs: the clone in the store's pool
(``rbd ls``/``rbd info`` with the admin keyring), nova-compute's log line,
and in copy-on-write mode the deleted disk waiting in the trash until its
last image goes.
"""

import json
import time

from localenv import cloud_ceph
from localenv import cloud_tempest
from localenv import common

CEPH_NATIVE_LOG = 'ceph-native snapshot into pool'


def check_ceph_native(cloud, store, copy_on_write=False):
    """Outside tempest: one snapshot's clone in the store's pool.

    A server, a snapshot, ``rbd ls`` of the store's pool with the admin
    keyring, ``rbd info`` (flattened: no parent; copy-on-write: the
    instance disk's snapshot), nova-compute's log. Then the server and the
    image are deleted; in copy-on-write mode the deleted server's disk must
    wait in the trash until the image goes, then be purged (Glance's user
    may write nova's pool: the plugin's post-config).
    """
    pool = cloud.rbd_stores()[store][0]
    cluster = cloud.ceph_cluster
    nova_pool = cloud_ceph.DEVSTACK_PLUGIN_CEPH_NOVA['NOVA_CEPH_POOL']
    server = json.loads(cloud.openstack(
        'server', 'create', '--flavor', cloud_tempest.FLAVORS[0][0], '--image',
        cloud.state['images'][0], '--nic', 'none', '--wait', '-f', 'json',
        'ngm-ceph-native'))['id']
    image = None
    try:
        start = time.monotonic()
        image = json.loads(cloud.openstack(
            'server', 'image', 'create', '--wait', '-f', 'json', '--name',
            'ngm-ceph-native-snap', server))['id']
        common.log('snapshot of %s: image %s in %.1f s' % (
            server, image, time.monotonic() - start))
        listed = cluster.rbd('ls', pool)
        if image not in listed:
            raise RuntimeError('no clone %s in pool %s: %s' % (image, pool,
                                                               listed))
        parent = cluster.rbd('info', '%s/%s' % (pool, image)).get('parent')
        common.log('image %s: rbd info parent %s' % (image, parent))
        disk = '%s_disk' % server
        if copy_on_write and (parent or {}).get('image') != disk:
            raise RuntimeError('copy-on-write image %s is not a clone of '
                               'disk %s/%s: parent %s' % (
                                   image, nova_pool, disk, parent))
        if not copy_on_write and parent:
            raise RuntimeError('flattened image %s has a parent: %s' % (
                image, parent))
        with open(cloud.compute_log(), errors='replace') as handle:
            lines = [line.strip() for line in handle
                     if CEPH_NATIVE_LOG in line and image in line]
        if not lines:
            raise RuntimeError('nova-compute did not log "%s" for %s' % (
                CEPH_NATIVE_LOG, image))
        common.log('nova-compute: %s' % lines[-1])
        if copy_on_write:
            cloud.openstack('server', 'delete', '--wait', server)
            server = None
            trashed = cluster.trash(nova_pool)
            if trashed.get(disk) != 'USER_PARENT':
                raise RuntimeError('deleted disk %s is not in the trash of '
                                   '%s: %s' % (disk, nova_pool, trashed))
            cloud.openstack('image', 'delete', image)
            image = None
            trashed = cluster.trash(nova_pool)
            if disk in trashed:
                raise RuntimeError('disk %s stays in the trash of %s after '
                                   'its last image went: %s' % (
                                       disk, nova_pool, trashed))
            common.log('disk %s: trashed while the image lived, purged '
                       'with it' % disk)
    finally:
        if image:
            cloud.openstack('image', 'delete', image)
        if server:
            cloud.openstack('server', 'delete', '--wait', server)
    return 0
