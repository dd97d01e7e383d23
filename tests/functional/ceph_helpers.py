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

"""Shared by the ceph-native tests: real Ceph, Glance and nova's rbd code.

Helpers that read a cluster with its admin key (pools, images, bytes), make
nova's rbd instance disks and Glance servers with rbd stores, and snapshot
through nova's real driver.
"""

import contextlib
import os

from localenv import ceph as ceph_env
from localenv import glance as glance_env
from localenv import nova_compute
from nova_glance_multistore import ceph_native
from nova_glance_multistore import glance_client
from nova_glance_multistore import image_api
from nova_glance_multistore import pending_cleanups


DISK_MIB = 8


def rbd_glance(workdir, stores, keystone=None):
    """A Glance with a default file store and ``stores`` as rbd stores.

    :param stores: (store id, cluster, pool) triples.
    """
    return glance_env.GlanceServer(
        workdir,
        stores=[glance_env.StoreSpec('fast', 'file', 'default file store')] +
        [glance_env.StoreSpec(store_id, 'rbd', store_id, {
            'rbd_store_pool': pool, 'rbd_store_user': 'glance',
            'rbd_store_ceph_conf': cluster.conf})
         for store_id, cluster, pool in stores],
        keystone=keystone, extra_pythonpath=[ceph_env.bindings_dir()])


@contextlib.contextmanager
def rbd_compute_host(compute, cluster, glance_url, extra=None):
    """The compute host with ``images_type = rbd`` on ``cluster``.

    A new driver, as after a restart, asking the Glance at
    ``glance_url``; ``extra`` maps (group, option) to more settings.
    Every setting is undone afterwards and the driver restarted again.
    """
    settings = {
        ('libvirt', 'images_type'): 'rbd',
        ('libvirt', 'images_rbd_pool'): 'vms',
        ('libvirt', 'images_rbd_ceph_conf'): cluster.conf,
        ('libvirt', 'rbd_user'): 'nova',
        ('glance', 'api_servers'): [glance_url],
    }
    settings.update(extra or {})
    compute.overrides.update(settings)
    compute.start()
    try:
        yield compute
    finally:
        for group, name in settings:
            del compute.overrides[(group, name)]
            compute.clear(group, name)
        compute.clear('glance_multistore', 'rbd_store_locations')
        compute.clear('glance', 'store')
        compute.start()


def admin(cluster):
    import rados
    client = rados.Rados(conffile=cluster.conf,
                         conf={'keyring': cluster.admin_keyring})
    client.connect()
    return client


def pool_state(cluster):
    """{pool: {image: [snapshot names]}} for every pool of a cluster."""
    import rbd
    state = {}
    client = admin(cluster)
    try:
        for pool in client.list_pools():
            with client.open_ioctx(pool) as ioctx:
                state[pool] = {}
                for name in rbd.RBD().list(ioctx):
                    with rbd.Image(ioctx, name, read_only=True) as image:
                        state[pool][name] = sorted(
                            s['name'] for s in image.list_snaps())
    finally:
        client.shutdown()
    return state


def read_image(cluster, pool, name, size, snapshot=None):
    import rbd
    client = admin(cluster)
    try:
        with client.open_ioctx(pool) as ioctx:
            with rbd.Image(ioctx, name, snapshot=snapshot,
                           read_only=True) as image:
                return image.read(0, size), image
    finally:
        client.shutdown()


# Our clone of the instance disk keeps the disk's 4 MiB objects; Glance's
# own rbd store writes 8 MiB objects (rbd_store_chunk_size): the object
# size of the stored image tells which path made it.
CLONED = 4 << 20


STREAMED = 8 << 20


def stored_object_size(cluster, pool, image_id):
    import rbd
    client = admin(cluster)
    try:
        with client.open_ioctx(pool) as ioctx:
            with rbd.Image(ioctx, image_id, snapshot='snap',
                           read_only=True) as stored:
                return stored.stat()['obj_size']
    finally:
        client.shutdown()


def create_rbd_disk(compute, cluster):
    """An instance whose root disk is nova's rbd disk in ``vms``."""
    import rbd
    instance = compute.make_instance(None)
    name = '%s_disk' % instance.uuid
    content = os.urandom(DISK_MIB << 20)
    client = admin(cluster)
    with client.open_ioctx('vms') as ioctx:
        rbd.RBD().create(ioctx, name, len(content), old_format=False,
                         features=rbd.RBD_FEATURE_LAYERING)
        with rbd.Image(ioctx, name) as image:
            image.write(content, 0)
    client.shutdown()
    return instance, name, content


def store_aware_disk(compute, instance, name, token='localenv'):
    import nova.conf
    from nova.virt.libvirt import imagebackend
    targets = image_api.UploadTargets()
    backend = ceph_native.StoreAwareImageBackend(
        imagebackend.Backend(False), ceph_native.Collaborators(
            nova.conf.CONF, targets, glance_client.GlanceFacts(),
            pending_cleanups.PendingCleanups(
                os.path.join(compute.workdir, 'pending-cleanups.json'))))
    disk = backend.by_libvirt_path(instance, 'vms/%s' % name,
                                   image_type='rbd')
    ctxt = compute.context()
    ctxt.auth_token = token
    # As with nova's service token: Glance will take the rbd location.
    ctxt.roles = ['member', 'reader', 'service']
    return disk, targets, ctxt


def wait_active(glance, image_id, timeout=30, token=None):
    """Wait until the image is active and Glance's tasks on it have ended.

    A location added through Glance 33's location API makes the image active
    before its ``location_import`` task has hashed the data; a delete that
    lands at either edge of the hashing answers 500 (``Operation file ...
    does not exist, cannot cancel``). Waiting as tempest does keeps the
    tests about our code, not that race.
    """
    import time
    deadline = time.monotonic() + timeout
    image = tasks = None
    while time.monotonic() < deadline:
        image = glance.image(image_id, token=token)
        if image['status'] == 'active':
            tasks = glance.image_tasks(image_id)
            if all(t['status'] in ('success', 'failure') for t in tasks):
                return image
        time.sleep(0.2)
    raise AssertionError('image %s not settled: %s, tasks %s' % (
        image_id, image, tasks))


def assert_stored(glance, image_id, store, content, token=None):
    """Glance says: active, in ``store``, holding the instance disk's bytes.

    :returns: the image.
    """
    image = wait_active(glance, image_id, token=token)
    assert image['stores'] == store, image
    assert glance.image_data(image_id, token=token) == content
    return image


SERVICE_TOKEN = 'roles:member,reader,service'


USER_TOKEN = 'roles:member,reader'


def snapshot_guest(compute, instance, token, kind='snapshot'):
    """nova-api's queued image of ``kind``, then the driver's snapshot()."""
    ctxt = compute.context()
    ctxt.auth_token = token
    ctxt.roles = token[len('roles:'):].split(',')
    instance.task_state = nova_compute.TASK_STATES[kind]
    image_id = compute.create_queued_image(ctxt, instance, kind)
    compute.snapshot(ctxt, instance, image_id)
    return image_id


def assert_only_the_image_left(cluster, image_id, disk_name):
    """Pool ``snapshots`` holds the image alone; no disk snapshot is left."""
    state = pool_state(cluster)
    assert state['snapshots'] == {image_id: ['snap']}
    assert state['vms'][disk_name] == []


def snap_of(cluster, pool, image_id):
    """Snapshot ``snap`` of an image: (is it protected, its parent or None).

    None: ``parent_info()`` says ImageNotFound, a flattened clone.
    """
    import rbd
    client = admin(cluster)
    try:
        with client.open_ioctx(pool) as ioctx:
            with rbd.Image(ioctx, image_id, snapshot='snap') as image:
                try:
                    parent = image.parent_info()
                except rbd.ImageNotFound:
                    parent = None
                return image.is_protected_snap('snap'), parent
    finally:
        client.shutdown()


def demo_context(compute, keystone):
    token, body = keystone.token('demo', 'demo')
    ctxt = compute.context(project_id=body['token']['project']['id'],
                           user_id=body['token']['user']['id'])
    ctxt.auth_token = token
    ctxt.roles = [r['name'] for r in body['token']['roles']]
    return ctxt
