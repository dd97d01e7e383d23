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

"""Ceph-native snapshot into the target rbd store, on real Ceph clusters.

Two throwaway clusters: ``c0`` holds the instance disk (pool ``vms``) and
two Glance rbd stores (``ceph0`` on pool ``images``, ``ceph0snap`` on pool
``snapshots``); ``c1`` is another cluster with store ``ceph1``. nova's own
``Rbd`` image-backend object drives the disk, with nova's least-privilege
cephx user, and a real QEMU guest runs on that rbd disk for the end-to-end
tests through nova's ``LibvirtDriver.snapshot()``.

Glance here has no Keystone: registering an rbd location needs the
``service`` role, which the stand-in auth filter grants to a token
``roles:...,service``; real Keystone is not part of these tests yet.
"""

import os

import pytest

from localenv import ceph as ceph_env
from nova_glance_multistore import rbd_steps
from nova_glance_multistore.target import UploadTarget
from tests.functional.ceph_helpers import admin
from tests.functional.ceph_helpers import assert_stored
from tests.functional.ceph_helpers import CLONED
from tests.functional.ceph_helpers import create_rbd_disk
from tests.functional.ceph_helpers import pool_state
from tests.functional.ceph_helpers import rbd_compute_host
from tests.functional.ceph_helpers import rbd_glance
from tests.functional.ceph_helpers import read_image
from tests.functional.ceph_helpers import SERVICE_TOKEN
from tests.functional.ceph_helpers import snapshot_guest
from tests.functional.ceph_helpers import store_aware_disk
from tests.functional.ceph_helpers import stored_object_size
from tests.functional.ceph_helpers import STREAMED
from tests.functional.ceph_helpers import USER_TOKEN
from tests.functional.ceph_helpers import wait_active
from tests.functional import conftest as env

pytestmark = pytest.mark.usefixtures('real_ceph')


@pytest.fixture(scope='module')
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


@pytest.fixture(scope='module')
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


def snapshot(disk, targets, ctxt, queued, store):
    image = queued('snap-to-%s' % store)
    with targets.registered(image['id'], UploadTarget(store, 'test')):
        url = disk.direct_snapshot(ctxt, 'nova-snap', 'raw', image['id'],
                                   None)
    return image['id'], url


def test_same_cluster_clones_into_target_store_pool(
        rbd_compute, clusters, ceph_glance, rbd_disk, queued):
    c0, c1 = clusters
    instance, name, content = rbd_disk
    disk, targets, ctxt = store_aware_disk(rbd_compute, instance, name)
    image_id, url = snapshot(disk, targets, ctxt, queued, 'ceph0snap')
    assert url == 'rbd://%s/snapshots/%s/snap' % (c0.fsid, image_id)
    state = pool_state(c0)
    assert state['snapshots'] == {image_id: ['snap']}
    assert state['vms'][name] == []  # the source snapshot is gone
    assert state['images'] == {}
    data, _ = read_image(c0, 'snapshots', image_id, len(content), 'snap')
    assert data == content
    import rbd
    client = admin(c0)
    with client.open_ioctx('snapshots') as ioctx:
        with rbd.Image(ioctx, image_id, snapshot='snap') as image:
            assert image.is_protected_snap('snap')
            with pytest.raises(rbd.ImageNotFound):
                image.parent_info()  # flattened: no parent
    client.shutdown()
    # What nova does next: register the location; Glance files it under
    # the store whose fsid and pool match. (Adding an rbd location takes
    # the service role.)
    status, body = ceph_glance.request(
        'POST', '/v2/images/%s/locations' % image_id, {'url': url},
        headers={'X-Service-Roles': 'service'})
    assert status == 202, (status, body)  # async: a task adds it
    image = wait_active(ceph_glance, image_id)
    assert image['stores'] == 'ceph0snap'
    assert image['size'] == len(content)


def assert_only_the_image_left(cluster, image_id, disk_name):
    """Pool ``snapshots`` holds the image alone; no disk snapshot is left."""
    state = pool_state(cluster)
    assert state['snapshots'] == {image_id: ['snap']}
    assert state['vms'][disk_name] == []


def test_mapping_from_config_when_detail_is_not_readable(
        rbd_compute, clusters, ceph_glance, rbd_disk, queued):
    c0, _ = clusters
    instance, name, _ = rbd_disk
    status, _ = ceph_glance.request('GET', '/v2/info/stores/detail',
                                    token='roles:member,reader')
    assert status == 403
    disk, targets, ctxt = store_aware_disk(
        rbd_compute, instance, name, token='roles:member,reader')
    with pytest.raises(NotImplementedError):
        snapshot(disk, targets, ctxt, queued, 'ceph0snap')
    rbd_compute.set('glance_multistore', 'rbd_store_locations',
                    ['ceph0snap:%s:snapshots' % c0.fsid])
    image_id, url = snapshot(disk, targets, ctxt, queued, 'ceph0snap')
    assert url == 'rbd://%s/snapshots/%s/snap' % (c0.fsid, image_id)
    assert pool_state(c0)['snapshots'][image_id] == ['snap']
    assert rbd_steps.remove_clone(disk.driver, c0.fsid, 'snapshots',
                                  image_id, disk._with.pending)
    assert image_id not in pool_state(c0)['snapshots']


@pytest.mark.parametrize('store', ['ceph1', 'fast'])
def test_other_cluster_or_non_rbd_store_streams(
        rbd_compute, clusters, ceph_glance, rbd_disk, queued, store):
    c0, c1 = clusters
    instance, name, _ = rbd_disk
    before = (pool_state(c0), pool_state(c1))
    disk, targets, ctxt = store_aware_disk(rbd_compute, instance, name)
    image = queued('snap-to-%s' % store)
    with targets.registered(image['id'], UploadTarget(store, 'test')):
        with pytest.raises(NotImplementedError):  # nova then streams
            disk.direct_snapshot(ctxt, 'nova-snap', 'raw', image['id'],
                                 None)
    assert (pool_state(c0), pool_state(c1)) == before


def test_failed_ceph_step_leaves_nothing_behind(
        rbd_compute, clusters, ceph_glance, rbd_disk, queued):
    from nova import exception as nova_exception
    c0, c1 = clusters
    instance, name, _ = rbd_disk
    before = pool_state(c0)
    # nova's cephx user may not write to pool "images": the clone fails.
    disk, targets, ctxt = store_aware_disk(rbd_compute, instance, name)
    image = queued('snap-to-ceph0')
    with targets.registered(image['id'], UploadTarget('ceph0', 'test')):
        with pytest.raises(nova_exception.ImageUnacceptable) as failed:
            disk.direct_snapshot(ctxt, 'nova-snap', 'raw', image['id'],
                                 None)
    assert 'ceph-native snapshot failed' in str(failed.value)
    assert pool_state(c0) == before


@pytest.fixture
def rbd_guest(rbd_compute, libvirtd, clusters, rbd_disk):
    c0, _ = clusters
    instance, name, content = rbd_disk
    libvirtd.define_rbd_guest(instance.name, instance.uuid,
                              'vms/%s' % name, c0.conf)
    from localenv import libvirt as libvirt_env
    assert libvirt_env.guest_state(libvirtd.uri, instance.name) == 'running'
    yield instance, name, content
    libvirtd.remove_guest(instance.name)


def test_nova_snapshot_of_rbd_guest_is_ceph_native_into_target_store(
        rbd_compute, clusters, ceph_glance, rbd_guest, libvirtd):
    from localenv import libvirt as libvirt_env
    c0, c1 = clusters
    instance, name, content = rbd_guest
    rbd_compute.set('glance', 'store', 'ceph0snap')
    image_id = snapshot_guest(rbd_compute, instance, SERVICE_TOKEN,
                              ceph_glance)
    image = assert_stored(ceph_glance, image_id, 'ceph0snap', content)
    assert image['size'] == len(content)
    assert_only_the_image_left(c0, image_id, name)
    import rbd
    client = admin(c0)
    with client.open_ioctx('snapshots') as ioctx:
        with rbd.Image(ioctx, image_id, snapshot='snap') as clone:
            with pytest.raises(rbd.ImageNotFound):
                clone.parent_info()  # a flattened clone made by us
    client.shutdown()
    assert libvirt_env.guest_state(libvirtd.uri, instance.name) == 'running'


def test_ceph_native_snapshot_copied_to_another_cluster_through_glance(
        rbd_compute, clusters, ceph_glance, rbd_guest, caplog):
    """The upload stays ceph-native; its copy to c1 is Glance's copy-image."""
    import logging

    import rbd
    c0, c1 = clusters
    instance, name, content = rbd_guest
    rbd_compute.set('glance', 'store', 'ceph0snap')
    instance.flavor.extra_specs = {'glance_multistore:copy_to_stores':
                                   'ceph1'}
    with caplog.at_level(logging.INFO):
        image_id = snapshot_guest(rbd_compute, instance, SERVICE_TOKEN,
                                  ceph_glance)
        assert rbd_compute.driver._store_aware_uploads.copies.wait(120)
    assert any('ceph-native snapshot into pool snapshots' in r.getMessage()
               and image_id in r.getMessage() for r in caplog.records)
    image = ceph_glance.image(image_id)
    assert set(image['stores'].split(',')) == {'ceph0snap', 'ceph1'}, image
    client = admin(c1)
    try:
        with client.open_ioctx('images') as ioctx:
            with rbd.Image(ioctx, image_id, read_only=True) as copy:
                assert copy.read(0, len(content)) == content
    finally:
        client.shutdown()
    assert ceph_glance.image_data(image_id) == content


def test_without_service_role_nova_streams_into_target_store(
        rbd_compute, clusters, ceph_glance, rbd_guest, libvirtd):
    from localenv import libvirt as libvirt_env
    c0, _ = clusters
    instance, name, content = rbd_guest
    rbd_compute.set('glance', 'store', 'ceph0snap')
    image_id = snapshot_guest(rbd_compute, instance, USER_TOKEN,
                              ceph_glance)
    assert_stored(ceph_glance, image_id, 'ceph0snap', content)
    # Only Glance's own copy is in the pool; our clone was removed.
    assert_only_the_image_left(c0, image_id, name)
    assert libvirt_env.guest_state(libvirtd.uri, instance.name) == 'running'


@pytest.mark.parametrize('kind', ['snapshot', 'backup', 'shelve'])
def test_other_cluster_target_streams_from_rbd_guest(
        rbd_compute, clusters, ceph_glance, rbd_guest, libvirtd, kind):
    """The second site's rbd store: streamed, whole, and gone on delete."""
    from localenv import libvirt as libvirt_env
    c0, c1 = clusters
    instance, name, content = rbd_guest
    rbd_compute.set('glance', 'store', 'ceph1')
    before = pool_state(c0)
    before_c1 = pool_state(c1)['images']
    image_id = snapshot_guest(rbd_compute, instance, SERVICE_TOKEN,
                              ceph_glance, kind)
    image = assert_stored(ceph_glance, image_id, 'ceph1', content)
    assert image['image_type'] == ('backup' if kind == 'backup'
                                   else 'snapshot')
    assert pool_state(c0) == before
    assert pool_state(c1)['images'] == dict(before_c1, **{image_id: ['snap']})
    assert libvirt_env.guest_state(libvirtd.uri, instance.name) == 'running'
    ceph_glance.delete_image(image_id)
    ceph_glance.assert_image_gone(image_id)
    assert pool_state(c1)['images'] == before_c1


def test_cli_check_reports_which_rbd_stores_can_be_fast_snapshotted(
        clusters, ceph_glance, tmp_path):
    import subprocess
    import sys
    c0, c1 = clusters
    conf = tmp_path / 'nova.conf'
    conf.write_text('\n'.join([
        '[glance]', 'endpoint_override = %s' % ceph_glance.url,
        '[libvirt]', 'images_type = rbd', 'images_rbd_pool = vms',
        'images_rbd_ceph_conf = %s' % c0.conf, 'rbd_user = nova', '']))
    env = dict(os.environ, PYTHONPATH=ceph_env.bindings_dir())
    done = subprocess.run(
        [sys.executable, '-m', 'nova_glance_multistore.cli',
         '--config-file', str(conf), 'check'], capture_output=True,
        text=True, timeout=120, env=env, cwd=str(tmp_path))
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'OK   instance disks are on Ceph cluster %s (pool vms, ' \
           'client.nova)' % c0.fsid in lines
    assert 'OK   rbd store ceph0snap: ceph-native snapshots into pool ' \
           'snapshots' in lines
    assert 'OK   rbd store ceph1 is on another cluster (%s): snapshots to ' \
           'it stream' % c1.fsid in lines
    fails = [line for line in lines if line.startswith('FAIL')]
    assert len(fails) == 1 and 'rbd store ceph0: pool images is not ' \
        'usable by client.nova' in fails[0], done.stdout


# -- real Keystone: the service role comes from nova's service token ----

@pytest.fixture(scope='module')
def keystone(tmp_path_factory, real_keystone):
    from localenv import keystone as keystone_env
    server = keystone_env.KeystoneServer(
        str(tmp_path_factory.mktemp('keystone'))).start()
    server.user('glance', 'service', ['service', 'admin'])
    server.user('nova', 'service', ['service'])
    server.user('demo', 'demo', ['member', 'reader'])
    yield server
    server.stop()


@pytest.fixture(scope='module')
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


def demo_context(compute, keystone):
    token, body = keystone.token('demo', 'demo')
    ctxt = compute.context(project_id=body['token']['project']['id'],
                           user_id=body['token']['user']['id'])
    ctxt.auth_token = token
    ctxt.roles = [r['name'] for r in body['token']['roles']]
    return ctxt


def test_keystone_service_token_gates_the_ceph_native_path(
        ks_compute, clusters, keystone, ks_glance, libvirtd):
    from localenv import libvirt as libvirt_env
    compute, service_token = ks_compute
    c0, _ = clusters
    instance, name, content = create_rbd_disk(compute, c0)
    libvirtd.define_rbd_guest(instance.name, instance.uuid,
                              'vms/%s' % name, c0.conf)
    try:
        ctxt = demo_context(compute, keystone)
        assert 'service' not in ctxt.roles
        image_id = compute.create_queued_image(ctxt, instance)
        compute.snapshot(ctxt, instance, image_id)
        admin_token, _ = keystone.token('admin', 'admin')
        image = assert_stored(ks_glance, image_id, 'ceph0snap', content,
                              token=admin_token)
        assert image['owner'] == ctxt.project_id
        assert_only_the_image_left(c0, image_id, name)
        assert stored_object_size(c0, 'snapshots', image_id) == (
            CLONED if service_token else STREAMED)
        assert libvirt_env.guest_state(libvirtd.uri,
                                       instance.name) == 'running'
    finally:
        libvirtd.remove_guest(instance.name)


def test_glance_refusing_the_location_removes_the_clone_and_streams(
        rbd_compute, clusters, ceph_glance, rbd_guest, libvirtd):
    # nova believes it holds the service role, Glance does not agree: the
    # clone made in the target pool is removed and the disk is streamed.
    from localenv import libvirt as libvirt_env
    c0, _ = clusters
    instance, name, content = rbd_guest
    rbd_compute.set('glance', 'store', 'ceph0snap')
    rbd_compute.set('glance_multistore', 'rbd_store_locations',
                    ['ceph0snap:%s:snapshots' % c0.fsid])
    ctxt = rbd_compute.context()
    ctxt.auth_token = USER_TOKEN
    ctxt.roles = ['member', 'reader', 'service']
    image_id = rbd_compute.create_queued_image(ctxt, instance)
    rbd_compute.snapshot(ctxt, instance, image_id)
    assert_stored(ceph_glance, image_id, 'ceph0snap', content)
    assert_only_the_image_left(c0, image_id, name)
    assert stored_object_size(c0, 'snapshots', image_id) == STREAMED
    assert libvirt_env.guest_state(libvirtd.uri, instance.name) == 'running'


# -- a Ceph OSD stopped in the middle of the ceph-native path -----------

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


def pending_entries(compute):
    from nova_glance_multistore import pending_cleanups as pc
    import nova.conf
    return pc.PendingCleanups(
        nova.conf.CONF.glance_multistore.pending_cleanups_file).entries()


def test_osd_stopped_during_ceph_native_path(
        compute, fault_cluster, libvirtd, monkeypatch):
    """An OSD stopped after the clone is made.

    The snapshot fails with an error that says so (streaming would collide
    with the clone Ceph could not remove), no image is left in Glance, the
    guest runs on, and the clone and disk snapshot are recorded and removed
    once the OSD is back and nova-compute restarts; the next snapshot is
    ceph-native again.
    """
    from localenv import libvirt as libvirt_env
    from nova.storage import rbd_utils
    from nova_glance_multistore import exception
    cluster, glance = fault_cluster
    settings = {('glance', 'store'): 'faultsnap'}
    with rbd_compute_host(compute, cluster, glance.url, settings) as host:
        instance, name, content = create_rbd_disk(host, cluster)
        libvirtd.define_rbd_guest(instance.name, instance.uuid,
                                  'vms/%s' % name, cluster.conf)
        try:
            real_flatten = rbd_utils.RBDDriver.flatten

            def flatten_with_osd_down(driver, volume, pool=None):
                cluster.stop_osd()
                return real_flatten(driver, volume, pool=pool)

            monkeypatch.setattr(rbd_utils.RBDDriver, 'flatten',
                                flatten_with_osd_down)
            ctxt = host.context()
            ctxt.auth_token = SERVICE_TOKEN
            ctxt.roles = ['member', 'reader', 'service']
            image_id = host.create_queued_image(ctxt, instance)
            with pytest.raises(exception.CephCloneLeftBehind) as failed:
                host.snapshot(ctxt, instance, image_id)
            monkeypatch.undo()
            message = str(failed.value)
            assert image_id in message and 'snapshots' in message
            assert 'timeout' in message.lower()
            glance.assert_image_gone(image_id)  # no orphan image
            assert libvirt_env.guest_state(libvirtd.uri,
                                           instance.name) == 'running'
            recorded = pending_entries(host)
            assert sorted(entry['kind'] for _, entry in recorded) == [
                'rbd_clone', 'rbd_snapshot']
            assert all(entry['fsid'] == cluster.fsid
                       for _, entry in recorded)

            cluster.start_osd()
            left = pool_state(cluster)
            assert image_id in left['snapshots']
            assert left['vms'][name] != []  # the disk snapshot, too
            host.start()  # a restarted nova-compute: init_host cleans up
            assert pending_entries(host) == []
            assert pool_state(cluster) == {'vms': {name: []},
                                           'snapshots': {}}

            image_id = host.create_queued_image(ctxt, instance)
            host.snapshot(ctxt, instance, image_id)
            assert_stored(glance, image_id, 'faultsnap', content)
            state = pool_state(cluster)
            assert state['snapshots'] == {image_id: ['snap']}
            assert state['vms'] == {name: []}
        finally:
            libvirtd.remove_guest(instance.name)


def cephx_secrets(cluster):
    """The base64 keys of every keyring of a cluster.

    Admin, nova, glance, mon and osd keys: none may ever be logged.
    """
    import glob
    secrets = []
    for path in glob.glob(os.path.join(cluster.workdir, '*.keyring')):
        with open(path) as handle:
            secrets += [line.split('=', 1)[1].strip() for line in handle
                        if line.strip().startswith('key')]
    return secrets


def test_ceph_keys_never_logged(rbd_compute, clusters, ceph_glance,
                                rbd_guest, queued, caplog):
    """No cephx key in logs, nova-compute.log or errors.

    DEBUG everywhere, a ceph-native snapshot and a failing Ceph step.
    """
    from nova import exception as nova_exception
    c0, _ = clusters
    instance, name, content = rbd_guest
    secrets = cephx_secrets(c0)
    assert len(secrets) >= 3  # admin, nova, glance (a vacuous scan fails)
    logfile = os.path.join(rbd_compute.workdir, 'nova-compute.log')
    offset = os.path.getsize(logfile) if os.path.exists(logfile) else 0
    with env.debug_logging(caplog, 'nova', 'nova.storage.rbd_utils',
                           'nova_glance_multistore', 'glanceclient',
                           'keystoneauth'):
        rbd_compute.set('glance', 'store', 'ceph0snap')
        image_id = snapshot_guest(rbd_compute, instance, SERVICE_TOKEN,
                                  ceph_glance)
        # nova's cephx user may not write pool "images" (store ceph0).
        disk, targets, ctxt = store_aware_disk(rbd_compute, instance, name)
        failed_image = queued('fails')
        with targets.registered(failed_image['id'],
                                UploadTarget('ceph0', 'test')):
            with pytest.raises(nova_exception.ImageUnacceptable) as err:
                disk.direct_snapshot(ctxt, 'nova-snap', 'raw',
                                     failed_image['id'], None)
    assert wait_active(ceph_glance, image_id)['stores'] == 'ceph0snap'
    assert 'rbd' in caplog.text.lower()  # the Ceph steps were logged
    with open(logfile, errors='replace') as handle:
        handle.seek(offset)
        compute_log = handle.read()
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in compute_log
        assert secret not in str(err.value)


def test_store_detail_read_by_nova_service_user_for_a_member(
        ks_compute, clusters, keystone, ks_glance, libvirtd):
    """No ``rbd_store_locations``: a member may not read stores/detail.

    nova's service user reads it instead, so the store's cluster and pool
    are known; the snapshot is then ceph-native when nova sends its service
    token, and streamed when it does not (Glance refuses the location).
    """
    compute, service_token = ks_compute
    c0, _ = clusters
    compute.set('glance_multistore', 'rbd_store_locations', [])
    ctxt = demo_context(compute, keystone)
    status, _ = ks_glance.request('GET', '/v2/info/stores/detail',
                                  token=ctxt.auth_token)
    assert status == 403
    instance, name, content = create_rbd_disk(compute, c0)
    libvirtd.define_rbd_guest(instance.name, instance.uuid,
                              'vms/%s' % name, c0.conf)
    try:
        image_id = compute.create_queued_image(ctxt, instance)
        compute.snapshot(ctxt, instance, image_id)
        admin_token, _ = keystone.token('admin', 'admin')
        image = wait_active(ks_glance, image_id, token=admin_token)
        assert image['stores'] == 'ceph0snap'
        assert stored_object_size(c0, 'snapshots', image_id) == (
            CLONED if service_token else STREAMED)
    finally:
        libvirtd.remove_guest(instance.name)
