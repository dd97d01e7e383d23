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

"""The clusters, Glance servers, disks and guests the ceph-native tests share.

The package's ``__init__`` says what runs where. ``clusters``,
``ceph_glance``, ``keystone`` and ``ks_glance`` are started once for the
whole package, ``fault_cluster`` once for the module that stops its OSD;
the rest is made for each test.
"""

import contextlib
import os

import pytest

from localenv import ceph as ceph_env
from localenv import libvirt as libvirt_env
from nova_glance_multistore.target import UploadTarget
from tests.functional.ceph_helpers import create_rbd_disk
from tests.functional.ceph_helpers import rbd_compute_host
from tests.functional.ceph_helpers import rbd_glance
from tests.functional.ceph_helpers import SERVICE_TOKEN
from tests.functional.ceph_helpers import snapshot_guest
from tests.functional.ceph_helpers import store_aware_disk


@pytest.fixture(scope='package')
def clusters(tmp_path_factory):
    base = tmp_path_factory.mktemp('ceph')
    c0 = ceph_env.CephCluster(str(base / 'c0'), 'c0')
    c1 = ceph_env.CephCluster(str(base / 'c1'), 'c1')
    for cluster in (c0, c1):
        os.makedirs(cluster.workdir)
        cluster.start()
    for pool in ('vms', 'images', 'snapshots'):
        c0.create_pool(pool)
    c1.create_pool('images')
    glance_caps = {'mon': 'profile rbd', 'osd': 'profile rbd pool=images, '
                                                'profile rbd pool=snapshots'}
    c0.create_user('glance', glance_caps)
    c1.create_user('glance', glance_caps)
    # nova's user: the instance pool and the snapshot store's pool only.
    c0.create_user('nova', {'mon': 'profile rbd',
                            'osd': 'profile rbd pool=vms, '
                                   'profile rbd pool=snapshots'})
    yield c0, c1
    c1.stop()
    c0.stop()


@pytest.fixture(scope='package')
def ceph_glance(clusters, tmp_path_factory):
    c0, c1 = clusters
    server = rbd_glance(str(tmp_path_factory.mktemp('ceph-glance')), [
        ('ceph0', c0, 'images'), ('ceph0snap', c0, 'snapshots'),
        ('ceph1', c1, 'images')])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rbd_compute(compute, clusters, ceph_glance):
    """The compute host on cluster c0, asking the Glance with rbd stores."""
    with rbd_compute_host(compute, clusters[0], ceph_glance.url) as host:
        yield host


@pytest.fixture
def rbd_disk(rbd_compute, clusters):
    return create_rbd_disk(rbd_compute, clusters[0])


@pytest.fixture
def queued(ceph_glance):
    """Makes images as nova-api does; deletes them after the test.

    A direct_snapshot() that declines leaves its image queued on purpose
    (nova streams into it next): the image is the test's to delete, before
    the check for unfinished images looks, and even when the test failed.
    """
    made = []

    def _create(name):
        image = ceph_glance.create_image(name)
        made.append(image['id'])
        return image
    yield _create
    for image_id in made:
        ceph_glance.delete_image(image_id)


class BackendDisk:
    """nova's ``Rbd`` image-backend object for an rbd disk, store-aware."""

    def __init__(self, compute, rbd_disk, queued, token):
        instance, name, _ = rbd_disk
        self.disk, self.targets, self.ctxt = store_aware_disk(
            compute, instance, name, token=token)
        self.queued = queued

    def snapshot(self, store):
        """direct_snapshot() into a queued image bound for ``store``.

        :returns: (image id, the location URL nova would register).
        """
        image = self.queued('snap-to-%s' % store)
        with self.targets.registered(image['id'], UploadTarget(store,
                                                               'test')):
            url = self.disk.direct_snapshot(self.ctxt, 'nova-snap', 'raw',
                                            image['id'], None)
        return image['id'], url


@pytest.fixture
def backend_disk(rbd_compute, rbd_disk, queued):
    """``backend_disk(token=...)``: a new BackendDisk for ``rbd_disk``."""
    def _make(token='localenv'):
        return BackendDisk(rbd_compute, rbd_disk, queued, token)
    return _make


class RbdGuest:
    """A QEMU guest running on nova's rbd disk in pool ``vms``."""

    def __init__(self, compute, libvirtd, cluster, rbd_disk):
        self.compute = compute
        self.libvirtd = libvirtd
        self.instance, self.name, self.content = rbd_disk
        libvirtd.define_rbd_guest(self.instance.name, self.instance.uuid,
                                  'vms/%s' % self.name, cluster.conf)

    @property
    def state(self):
        return libvirt_env.guest_state(self.libvirtd.uri, self.instance.name)

    def snapshot(self, ctxt):
        """nova-api's queued image, then the driver's snapshot(); its id."""
        image_id = self.compute.create_queued_image(ctxt, self.instance)
        self.compute.snapshot(ctxt, self.instance, image_id)
        return image_id

    def snapshot_into(self, store, token=SERVICE_TOKEN, kind='snapshot'):
        """``[glance] store = store``, then snapshot_guest(); the image id."""
        self.compute.set('glance', 'store', store)
        return snapshot_guest(self.compute, self.instance, token, kind=kind)


@contextlib.contextmanager
def running_guest(compute, libvirtd, cluster, rbd_disk):
    """An RbdGuest, checked running; removed before its cluster goes."""
    guest = RbdGuest(compute, libvirtd, cluster, rbd_disk)
    try:
        assert guest.state == 'running'
        yield guest
    finally:
        libvirtd.remove_guest(guest.instance.name)


@pytest.fixture
def rbd_guest(rbd_compute, libvirtd, clusters, rbd_disk):
    with running_guest(rbd_compute, libvirtd, clusters[0], rbd_disk) as guest:
        yield guest


# -- real Keystone: the service role comes from nova's service token ----

@pytest.fixture(scope='package')
def keystone(tmp_path_factory, real_keystone):
    from localenv import keystone as keystone_env
    server = keystone_env.KeystoneServer(
        str(tmp_path_factory.mktemp('keystone'))).start()
    server.user('glance', 'service', ['service', 'admin'])
    server.user('nova', 'service', ['service'])
    server.user('demo', 'demo', ['member', 'reader'])
    yield server
    server.stop()


@pytest.fixture(scope='package')
def ks_glance(clusters, keystone, tmp_path_factory):
    c0, c1 = clusters
    server = rbd_glance(str(tmp_path_factory.mktemp('ks-glance')), [
        ('ceph0snap', c0, 'snapshots'), ('ceph1', c1, 'images')],
        keystone=keystone)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=[True, False], ids=['service-token', 'user-only'])
def ks_compute(request, compute, clusters, keystone, ks_glance):
    """nova-compute against a Keystone-protected Glance.

    The user is a plain project member; nova sends its service token or
    not (the two parameters).
    """
    from keystoneauth1 import loading as ks_loading
    import nova.conf
    from nova import service_auth
    c0, _ = clusters
    # keystoneauth registers a plugin's options when it first loads it;
    # register the password plugin's now so they can be set.
    nova.conf.CONF.register_opts(
        ks_loading.get_auth_plugin_conf_options('password'),
        group='service_user')
    settings = {
        ('glance', 'store'): 'ceph0snap',
        ('service_user', 'send_service_user_token'): request.param,
        ('service_user', 'auth_type'): 'password',
        ('service_user', 'auth_url'): keystone.url,
        ('service_user', 'username'): 'nova',
        ('service_user', 'password'): keystone.passwords['nova'],
        ('service_user', 'project_name'): 'service',
        ('service_user', 'user_domain_id'): 'default',
        ('service_user', 'project_domain_id'): 'default',
        # A demo user may not read stores/detail: the operator lists the
        # rbd store's cluster and pool.
        ('glance_multistore', 'rbd_store_locations'): [
            'ceph0snap:%s:snapshots' % c0.fsid],
    }
    service_auth.reset_globals()
    try:
        with rbd_compute_host(compute, c0, ks_glance.url,
                              settings) as host:
            yield host, request.param
    finally:
        service_auth.reset_globals()


@pytest.fixture
def ks_guest(ks_compute, libvirtd, clusters):
    """An RbdGuest of the Keystone-protected compute host, on c0."""
    compute, _ = ks_compute
    disk = create_rbd_disk(compute, clusters[0])
    with running_guest(compute, libvirtd, clusters[0], disk) as guest:
        yield guest


# -- a Ceph OSD stopped in the middle of the ceph-native path -----------

# Module-scoped: one test module uses it, and as the first module of the
# package it would otherwise keep a third cluster running to the end.
@pytest.fixture(scope='module')
def fault_cluster(tmp_path_factory):
    """A cluster of its own, since its OSD gets stopped.

    Client operations give up after 5 s instead of 30.
    """
    cluster = ceph_env.CephCluster(
        str(tmp_path_factory.mktemp('ceph-fault')), 'cf',
        client_op_timeout=5)
    cluster.start()
    for pool in ('vms', 'snapshots'):
        cluster.create_pool(pool)
    cluster.create_user('glance', {'mon': 'profile rbd',
                                   'osd': 'profile rbd pool=snapshots'})
    cluster.create_user('nova', {'mon': 'profile rbd',
                                 'osd': 'profile rbd pool=vms, '
                                        'profile rbd pool=snapshots'})
    server = rbd_glance(str(tmp_path_factory.mktemp('fault-glance')), [
        ('faultsnap', cluster, 'snapshots')])
    server.start()
    yield cluster, server
    server.stop()
    cluster.stop()


@pytest.fixture
def fault_compute(compute, fault_cluster):
    """The compute host on the fault cluster, into store ``faultsnap``."""
    cluster, glance = fault_cluster
    settings = {('glance', 'store'): 'faultsnap'}
    with rbd_compute_host(compute, cluster, glance.url, settings) as host:
        yield host


@pytest.fixture
def fault_guest(fault_compute, libvirtd, fault_cluster):
    cluster, _ = fault_cluster
    disk = create_rbd_disk(fault_compute, cluster)
    with running_guest(fault_compute, libvirtd, cluster, disk) as guest:
        yield guest
